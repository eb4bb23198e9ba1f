"""Who is calling: HTTP Basic (password or API token) and Bearer tokens.

Passwords are checked with Argon2 (deliberately slow); a successful check is remembered for
a minute, keyed by a hash of the credentials, so a client paging with Basic auth is not
slowed by one Argon2 verification per page. A disabled user can therefore keep access for at
most that minute. Tokens are looked up by their SHA-256, which is fast.

An account may be bound to a client certificate (``User.certificate``, its SHA-256
fingerprint; a partner node's, set at ``partner add``): its credentials then prove nothing
on a connection that did not present that certificate, so a stolen token alone is not
enough. The certificate of a request is its TLS connection's, which ``diapason serve``
verified against ``client_ca`` and hands to the application in the ASGI ``tls`` extension
(``client_certificate(scope)`` reads it). ``authenticate`` is given that fingerprint; when
it is not, it reads ``CLIENT_CERTIFICATE``, which the application sets for each request
(``web.app.ClientCertificate``). A refusal is audited here, with why.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from diapason.accounts import TOKEN_PREFIX, USERNAME_RE, Accounts, User
from diapason.audit import AuditLog
from diapason.tls import pem_fingerprint

PASSWORD_CACHE_SECONDS = 60.0
PASSWORD_CACHE_SIZE = 1024

# The fingerprint of the client certificate of the request being served (None: none), set
# for each request by the application (``web.app.ClientCertificate``) and seen by the worker
# threads the request runs in (each gets a copy of the request's context).
CLIENT_CERTIFICATE: ContextVar[str | None] = ContextVar("client_certificate", default=None)


def client_certificate(scope: Mapping[str, Any]) -> str | None:
    """The SHA-256 fingerprint of the client certificate a request's TLS connection
    presented (and the server verified), from the ASGI ``tls`` extension; None without."""
    extensions = scope.get("extensions") or {}
    chain = (extensions.get("tls") or {}).get("client_cert_chain") or []
    return pem_fingerprint(chain[0]) if chain else None


class Authenticator:
    def __init__(self, accounts: Accounts, audit: AuditLog | None = None) -> None:
        self.accounts = accounts
        self.audit = audit
        self._verified: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, header: str | None, certificate: str | None = None) -> User | None:
        """The user an ``Authorization`` header proves, or None (missing, malformed, wrong,
        or an account bound to a client certificate other than ``certificate``, the
        request's; by default the one in ``CLIENT_CERTIFICATE``)."""
        user = self._credentials(header)
        if user is None or user.certificate is None:
            return user
        presented = certificate or CLIENT_CERTIFICATE.get()
        if presented == user.certificate:
            return user
        why = (
            "no client certificate"
            if presented is None
            else f"the client certificate {presented}, not the one bound ({user.certificate})"
        )
        if self.audit is not None:
            self.audit.append(
                user.username,
                "access_denied",
                details={"why": f"valid credentials over {why}; refused"},
            )
        return None

    def _credentials(self, header: str | None) -> User | None:
        """The user the header's credentials prove, whatever the connection."""
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            if not value or not value.isascii() or not value.isprintable():
                return None
            return self.accounts.authenticate_token(value)
        if scheme.lower() != "basic" or not value or len(value) > 4096:
            return None
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # ValueError: non-ASCII in the header value
            return None
        username, colon, secret = decoded.partition(":")
        if not colon or not secret or not USERNAME_RE.match(username):
            return None
        if "\x00" in secret:
            return None
        if secret.startswith(TOKEN_PREFIX):
            user = self.accounts.authenticate_token(secret)
            return user if user is not None and user.username == username else None
        return self._password(username, secret)

    def _password(self, username: str, password: str) -> User | None:
        key = hashlib.sha256(f"{username}\x00{password}".encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(key)
        if cached is not None and now - cached[1] < PASSWORD_CACHE_SECONDS:
            return cached[0]
        user = self.accounts.check_password(username, password)
        if user is not None:
            with self._lock:
                if len(self._verified) >= PASSWORD_CACHE_SIZE:
                    self._verified.clear()
                self._verified[key] = (user, now)
        return user

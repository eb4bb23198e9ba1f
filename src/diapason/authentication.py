"""Who is calling: HTTP Basic (password or API token), Bearer tokens, the sign-in form.

Password sign-ins go through the ``SignInThrottle``: an account name or client address with
recent failures waits longer at each one, then is locked for a while; an attempt refused for
that raises ``SignInThrottled`` before the password is looked at, so the answer is the same
whether it was right or not. Failures, refusals and locks are audited here (``login_failed``,
``login_throttled``, ``login_locked``), for every way in alike; never the password.

Passwords are checked with Argon2 (deliberately slow); a successful check is remembered for
a minute, keyed by a hash of the credentials, so a client paging with Basic auth is not
slowed by one Argon2 verification per page. A disabled user can therefore keep access for at
most that minute; a locked one cannot (the throttle is asked first). Tokens are looked up by
their SHA-256, which is fast, and are not throttled: they are 256-bit random secrets.

An account may be bound to a client certificate (``User.certificate``, its SHA-256
fingerprint; a partner node's, set at ``partner add``): its credentials then prove nothing
on a connection that did not present that certificate, so a stolen token alone is not
enough. The certificate of a request is its TLS connection's, which ``diapason serve``
verified against ``client_ca`` and hands to the application in the ASGI ``tls`` extension
(``client_certificate(scope)`` reads it); the request pipeline gives its fingerprint to
``authenticate``. A refusal is audited here, with why.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Mapping
from typing import Any

from diapason.accounts import (
    ACCOUNT,
    MAX_PASSWORD_LENGTH,
    TOKEN_PREFIX,
    USERNAME_RE,
    AccountError,
    Accounts,
    Attempt,
    Failures,
    SignInThrottle,
    User,
    address_key,
)
from diapason.audit.log import AuditLog
from diapason.errors import DiapasonError
from diapason.tls import pem_fingerprint

PASSWORD_CACHE_SECONDS = 60.0
PASSWORD_CACHE_SIZE = 1024


def client_certificate(scope: Mapping[str, Any]) -> str | None:
    """The SHA-256 fingerprint of the client certificate a request's TLS connection
    presented (and the server verified), from the ASGI ``tls`` extension; None without."""
    extensions = scope.get("extensions") or {}
    chain = (extensions.get("tls") or {}).get("client_cert_chain") or []
    return pem_fingerprint(chain[0]) if chain else None


class SignInThrottled(DiapasonError):
    """A password sign-in refused without being checked: too many failures before it, of
    its account or from its address. ``retry_after``: whole seconds until attempts are
    accepted again; ``locked``: whether that is the end of a lock (else a wait).

    Not a ``ValueError``: callers that treat bad credentials as "no user" must answer this
    one differently (429 with ``Retry-After``, a message on the form)."""

    def __init__(self, retry_after: int, locked: bool) -> None:
        super().__init__(
            "too many failed sign-ins for this account or from this address: "
            f"try again in {retry_after} seconds"
        )
        self.retry_after = retry_after
        self.locked = locked


class Authenticator:
    def __init__(self, accounts: Accounts, audit: AuditLog, throttle: SignInThrottle) -> None:
        self.accounts = accounts
        self.audit = audit
        self.throttle = throttle
        self._verified: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    def authenticate(
        self,
        header: str | None,
        *,
        certificate: str | None = None,
        client: str | None = None,
        via: str = "http",
    ) -> User | None:
        """The user an ``Authorization`` header proves, or None (missing, malformed, wrong,
        or an account bound to a client certificate other than ``certificate``, the
        fingerprint of the one the request's connection presented).

        ``client``: the caller's address (the ASGI scope's client host); ``via``: the way in,
        for the audit trail ("taxii", "api"). Raises ``SignInThrottled`` for a Basic password
        attempt that the throttle refuses."""
        user = self._credentials(header, client, via)
        if user is None or user.certificate is None:
            return user
        if certificate == user.certificate:
            return user
        why = (
            "no client certificate"
            if certificate is None
            else f"the client certificate {certificate}, not the one bound ({user.certificate})"
        )
        self.audit.append(
            user.username,
            "access_denied",
            details={"why": f"valid credentials over {why}; refused"},
        )
        return None

    def _credentials(self, header: str | None, client: str | None, via: str) -> User | None:
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
        if not colon or not secret:
            return None
        if secret.startswith(TOKEN_PREFIX):
            user = self.accounts.authenticate_token(secret)
            return user if user is not None and user.username == username else None
        return self.sign_in(username, secret, client=client, via=via)

    def sign_in(
        self, username: str, password: str, *, client: str | None = None, via: str = "web"
    ) -> User | None:
        """The user if ``password`` is right for ``username`` and the throttle lets the
        attempt be checked; None if wrong (or malformed). Raises ``SignInThrottled``."""
        address = address_key(client)
        actor = f"anonymous@{address}"
        tried = {"via": via, "username": username[:100], "address": address}
        if (
            not USERNAME_RE.match(username)
            or not 0 < len(password) <= MAX_PASSWORD_LENGTH
            or "\x00" in password
        ):
            # Cannot be anyone's credentials: refused unchecked (the rules are public).
            self.audit.append(actor, "login_failed", details={**tried, "why": "malformed"})
            return None
        key = hashlib.sha256(f"{username}\x00{password}".encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(key)
        if (
            cached is not None
            and now - cached[1] < PASSWORD_CACHE_SECONDS
            and not self.throttle.wait(username, address)
        ):
            return cached[0]
        attempt = self.throttle.attempt(username, address)
        if not attempt.admitted:
            retry_after = attempt.retry_after(self.throttle.clock())
            self.audit.append(
                actor,
                "login_throttled",
                details={**tried, "retry_after": retry_after, "locked": attempt.locked},
            )
            self._audit_locks(actor, attempt, via)
            raise SignInThrottled(retry_after, attempt.locked)
        user = self.accounts.check_password(username, password)
        if user is None:
            failures = {f.scope: f.failures for f in attempt.counts}
            self.audit.append(actor, "login_failed", details={**tried, "failures": failures})
            self._audit_locks(actor, attempt, via)
            return None
        self.throttle.succeeded(username, address)
        with self._lock:
            if len(self._verified) >= PASSWORD_CACHE_SIZE:
                self._verified.clear()
            self._verified[key] = (user, now)
        return user

    def wait(self, username: str, client: str | None) -> int:
        """Seconds before a password attempt for ``username`` from ``client`` would be
        checked (0: at once), to tell whoever just failed."""
        return self.throttle.wait(username, address_key(client))

    def unlock(
        self, actor: str, *, username: str | None = None, address: str | None = None, via: str
    ) -> list[Failures]:
        """An administrator (``actor``, through ``via``) lifts the lock or wait of a user or
        of a client address: its failures are forgotten, and that is audited
        (``user_unlock``). Returns what was forgotten; ``AccountError`` for no such user."""
        if username is not None and self.accounts.get_user(username) is None:
            raise AccountError(f"no user named {username!r}")
        forgotten = self.throttle.unlock(username=username, address=address)
        now = self.throttle.clock()
        named = {"username": username} if username is not None else {"address": address}
        self.audit.append(
            actor,
            "user_unlock",
            details={
                "via": via,
                **named,
                "failures": sum(f.failures for f in forgotten),
                "was_locked": any(f.locked(now) for f in forgotten),
            },
        )
        return forgotten

    def _audit_locks(self, actor: str, attempt: Attempt, via: str) -> None:
        """One ``login_locked`` entry for each account or address this attempt locked."""
        for locked in attempt.locking:
            assert locked.locked_until is not None
            name = "username" if locked.scope == ACCOUNT else "address"
            self.audit.append(
                actor,
                "login_locked",
                details={
                    "via": via,
                    "scope": locked.scope,
                    name: locked.subject,
                    "failures": locked.failures,
                    "until": locked.locked_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )

"""Who is calling: HTTP Basic (password or API token) and Bearer tokens.

Passwords are checked with Argon2 (deliberately slow); a successful check is remembered for
a minute, keyed by a hash of the credentials, so a client paging with Basic auth is not
slowed by one Argon2 verification per page. A disabled user can therefore keep access for at
most that minute. Tokens are looked up by their SHA-256, which is fast.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time

from diapason.accounts import TOKEN_PREFIX, USERNAME_RE, Accounts, User

PASSWORD_CACHE_SECONDS = 60.0
PASSWORD_CACHE_SIZE = 1024


class Authenticator:
    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self._verified: dict[str, tuple[User, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, header: str | None) -> User | None:
        """The user an ``Authorization`` header proves, or None (missing, malformed, wrong)."""
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

"""Users, passwords and API tokens of a node.

Passwords are hashed with Argon2id (argon2-cffi). API tokens are random secrets shown once
when created; the database keeps only their SHA-256, and a short prefix to recognise them
in listings. Nothing here logs or prints a secret.

Recording these actions in the audit trail is the caller's job (the CLI and the web layer
know who the actor is).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from diapason.domain.roles import ROLES
from diapason.domain.timestamps import store_now, store_timestamp
from diapason.errors import DiapasonError
from diapason.store.db import write_transaction
from diapason.store.schema import api_tokens, users

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase; the bound keeps hashing cost in check.
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "dia_"  # noqa: S105 - a public marker, not a secret
TOKEN_PREFIX_LENGTH = 12  # "dia_" and 8 random characters: enough to tell tokens apart
MAX_TOKEN_NAME = 100
# last_used_at is written at most this often per token, so authenticating a busy API
# client does not turn every request into a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


# A result row of any width (SQLAlchemy types rows by their columns).
_Row: TypeAlias = sa.Row[*tuple[Any, ...]]


class AccountError(DiapasonError, ValueError):
    """A refused account operation; the message says why and never contains a secret."""


@dataclass(frozen=True)
class User:
    """A person (or a service) that can sign in to the node."""

    id: int
    username: str
    role: str
    disabled: bool
    created_at: str
    # The SHA-256 fingerprint of the client certificate its requests must come over, if
    # the account is bound to one (a partner node's; see authentication.py).
    certificate: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What is known about an API token once issued: everything except the secret."""

    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


@dataclass(frozen=True, repr=False)
class IssuedToken:
    """A newly created token: the only time its secret exists in clear.

    ``repr`` (and so ``str``) leaves the secret out, so printing or logging the object by
    mistake does not leak it.
    """

    info: TokenInfo
    secret: str

    def __repr__(self) -> str:
        return f"IssuedToken(info={self.info!r}, secret=<hidden>)"


def _token_hash(secret: str) -> str:
    # A token is 32 random bytes: nobody can guess it, so a fast hash is enough and is the
    # right choice (every API request checks one). Slow hashes are for low-entropy passwords.
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: _Row) -> User:
    return User(
        id=int(row.id),
        username=row.username,
        role=row.role,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        certificate=row.certificate,
    )


_TOKEN_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.user_id,
    users.c.username,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
    api_tokens.c.last_used_at,
)
_TOKENS_WITH_USERS = api_tokens.join(users, api_tokens.c.user_id == users.c.id)


def _token(row: _Row) -> TokenInfo:
    return TokenInfo(
        id=int(row.id),
        user_id=int(row.user_id),
        username=row.username,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password can have at most {MAX_PASSWORD_LENGTH} characters")


class Accounts:
    """Users and API tokens stored in the node's database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None

    # -- users ----------------------------------------------------------------------------
    def add_user(self, username: str, role: str, password: str | None = None) -> User:
        """Create an enabled user. Without a password the user can only use API tokens."""
        if not isinstance(username, str) or not USERNAME_RE.match(username):
            raise AccountError(
                f"invalid username {username!r}: 2 to 63 characters, lower-case letters, "
                "digits, '.', '_' or '-', starting with a letter or digit"
            )
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
        password_hash = None
        if password is not None:
            _check_password(password)
            # Hashed before the transaction: Argon2 is slow on purpose, the write lock is not.
            password_hash = self._hasher.hash(password)
        created_at = store_now()
        try:
            with write_transaction(self.engine) as connection:
                taken = connection.execute(
                    sa.select(users.c.id).where(users.c.username == username)
                ).first()
                if taken is not None:
                    raise AccountError(f"user {username!r} already exists")
                user_id = connection.execute(
                    users.insert()
                    .values(
                        username=username,
                        role=role,
                        password_hash=password_hash,
                        disabled=False,
                        created_at=created_at,
                    )
                    .returning(users.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            # Two concurrent adds of the same name on PostgreSQL: the unique index decides.
            raise AccountError(f"user {username!r} already exists") from None
        return User(int(user_id), username, role, False, created_at)

    def get_user(self, username: str) -> User | None:
        """The user with that name, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(users).where(users.c.username == username)).first()
        return _user(row) if row is not None else None

    def _existing(self, connection: sa.Connection, username: str) -> _Row:
        row = connection.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None:
            raise AccountError(f"no user named {username!r}")
        return row

    def list_users(self) -> list[User]:
        """All users, by name."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(users).order_by(users.c.username)).all()
        return [_user(row) for row in rows]

    def disable_user(self, username: str) -> User:
        """Disable a user and revoke all its tokens (idempotent)."""
        now = store_now()
        with write_transaction(self.engine) as connection:
            row = self._existing(connection, username)
            connection.execute(users.update().where(users.c.id == row.id).values(disabled=True))
            connection.execute(
                api_tokens.update()
                .where(api_tokens.c.user_id == row.id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return User(int(row.id), row.username, row.role, True, row.created_at, row.certificate)

    def bind_certificate(self, username: str, fingerprint: str | None) -> None:
        """Bind an account to a client certificate (its SHA-256 fingerprint, 64 lower-case
        hex digits), or unbind it with None: a bound account's credentials are refused on
        a connection that did not present that certificate."""
        if fingerprint is not None and not re.match(r"^[0-9a-f]{64}\Z", fingerprint):
            raise AccountError("a certificate fingerprint is 64 lower-case hex digits")
        with write_transaction(self.engine) as connection:
            row = self._existing(connection, username)
            connection.execute(
                users.update().where(users.c.id == row.id).values(certificate=fingerprint)
            )

    def set_password(self, username: str, password: str) -> None:
        """Set (or replace) a user's password."""
        _check_password(password)
        password_hash = self._hasher.hash(password)
        with write_transaction(self.engine) as connection:
            row = self._existing(connection, username)
            connection.execute(
                users.update().where(users.c.id == row.id).values(password_hash=password_hash)
            )

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def check_password(self, username: str, password: str) -> User | None:
        """The user if the password is right and the user enabled; None otherwise.

        Unknown users, users without a password and disabled users cost one Argon2
        verification as well, so the answer time does not tell which names exist.
        """
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(users).where(users.c.username == username)).first()
        stored = row.password_hash if row is not None else None
        try:
            self._hasher.verify(stored or self._dummy(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or stored is None or row.disabled:
            return None
        if self._hasher.check_needs_rehash(stored):
            # Parameters were raised since this hash was made: upgrade it while we hold the
            # password in clear, guarded so a concurrent password change is not overwritten.
            fresh = self._hasher.hash(password)
            with write_transaction(self.engine) as connection:
                connection.execute(
                    users.update()
                    .where(users.c.id == row.id, users.c.password_hash == stored)
                    .values(password_hash=fresh)
                )
        return _user(row)

    # -- tokens ---------------------------------------------------------------------------
    def create_token(self, username: str, name: str = "default") -> IssuedToken:
        """Issue an API token for an enabled user; its secret is in the result, and only there."""
        if not isinstance(name, str) or not name.strip():
            raise AccountError("a token needs a name")
        if len(name) > MAX_TOKEN_NAME:
            raise AccountError(f"a token name can have at most {MAX_TOKEN_NAME} characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        prefix = secret[:TOKEN_PREFIX_LENGTH]
        created_at = store_now()
        with write_transaction(self.engine) as connection:
            row = self._existing(connection, username)
            if row.disabled:
                raise AccountError(f"user {username!r} is disabled")
            token_id = connection.execute(
                api_tokens.insert()
                .values(
                    user_id=row.id,
                    name=name,
                    prefix=prefix,
                    token_hash=_token_hash(secret),
                    created_at=created_at,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
        info = TokenInfo(
            int(token_id), int(row.id), row.username, name, prefix, created_at, None, None
        )
        return IssuedToken(info, secret)

    def revoke_token(self, token_id: int) -> TokenInfo:
        """Revoke a token (idempotent: revoking it again keeps the first revocation time)."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=store_now())
            )
            row = connection.execute(
                sa.select(*_TOKEN_COLUMNS)
                .select_from(_TOKENS_WITH_USERS)
                .where(api_tokens.c.id == token_id)
            ).first()
            if row is None:
                raise AccountError(f"no token with id {token_id}")
        return _token(row)

    def list_tokens(self, username: str | None = None) -> list[TokenInfo]:
        """Tokens of one user, or of everyone, oldest first (revoked ones included)."""
        statement = sa.select(*_TOKEN_COLUMNS).select_from(_TOKENS_WITH_USERS)
        with self.engine.connect() as connection:
            if username is not None:
                row = self._existing(connection, username)
                statement = statement.where(api_tokens.c.user_id == row.id)
            rows = connection.execute(statement.order_by(api_tokens.c.id)).all()
        return [_token(row) for row in rows]

    def authenticate_token(self, secret: str) -> User | None:
        """The user a token belongs to; None if unknown, revoked, or the user is disabled."""
        # Cheap refusal of what cannot be one of our tokens, before touching the database.
        if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(
                    api_tokens.c.id.label("token_id"),
                    api_tokens.c.revoked_at,
                    api_tokens.c.last_used_at,
                    users.c.id,
                    users.c.username,
                    users.c.role,
                    users.c.disabled,
                    users.c.created_at,
                    users.c.certificate,
                )
                .select_from(_TOKENS_WITH_USERS)
                .where(api_tokens.c.token_hash == _token_hash(secret))
            ).first()
        if row is None or row.revoked_at is not None or row.disabled:
            return None
        now = datetime.now(UTC)
        threshold = store_timestamp(now - LAST_USED_RESOLUTION)
        if row.last_used_at is None or row.last_used_at < threshold:
            with write_transaction(self.engine) as connection:
                # The condition is repeated in SQL so that concurrent requests write once.
                connection.execute(
                    api_tokens.update()
                    .where(
                        api_tokens.c.id == row.token_id,
                        sa.or_(
                            api_tokens.c.last_used_at.is_(None),
                            api_tokens.c.last_used_at < threshold,
                        ),
                    )
                    .values(last_used_at=store_timestamp(now))
                )
        return _user(row)

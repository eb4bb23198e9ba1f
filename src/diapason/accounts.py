"""Users, passwords and API tokens of a node, and the throttling of password sign-ins.

Passwords are hashed with Argon2id (argon2-cffi). API tokens are random secrets shown once
when created; the database keeps only their SHA-256, and a short prefix to recognise them
in listings. Nothing here logs or prints a secret.

``SignInThrottle`` counts failed password sign-ins per account name and per client address
in the database (every worker process sees them, a restart keeps them), and answers whether
an attempt may be checked at all: after a few failures each attempt waits longer, after
more the account or address is locked for a while (docs/security.md).

Recording these actions in the audit trail is the caller's job (the CLI, the web layer and
the authenticator know who the actor is).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from diapason.domain.roles import ROLES
from diapason.domain.timestamps import store_now, store_timestamp
from diapason.errors import DiapasonError
from diapason.settings import Settings
from diapason.store.db import write_transaction
from diapason.store.schema import api_tokens, signin_failures, users

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


# -- sign-in throttling -------------------------------------------------------------------

ACCOUNT = "account"
ADDRESS = "address"
# The key of the requests whose client address is not known (no peer in the ASGI scope).
UNKNOWN_ADDRESS = "unknown"
# The advisory lock serialising the throttle's writers on PostgreSQL (7246001 guards
# migrations, 7246002 the audit trail, 7246003 the leases; 22: the issue that asked for it).
_PG_THROTTLE_LOCK = 7246022
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def address_key(host: str | None) -> str:
    """The key failures from a client address are counted under: an IPv4 address as it is;
    an IPv6 address by its /64 network (what one site or machine holds, so an attacker cannot
    take a fresh address per attempt); anything else printable (a Unix socket, a test
    client) as it is, cut at 100 characters; ``unknown`` otherwise."""
    if not host:
        return UNKNOWN_ADDRESS
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100] if host.isascii() and host.isprintable() else UNKNOWN_ADDRESS
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


@dataclass(frozen=True)
class Limits:
    """After how many failed sign-ins of one account (or from one address) each further
    attempt waits, and after how many the account (or address) is locked."""

    delay_after: int
    lock_after: int


@dataclass(frozen=True)
class ThrottlePolicy:
    """The throttle's settings (``signin_*``, docs/settings.md, where their defaults are)."""

    account: Limits
    address: Limits
    delay: timedelta
    max_delay: timedelta
    lock: timedelta
    forget: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            Limits(settings.signin_delay_after, settings.signin_lock_after),
            Limits(settings.signin_address_delay_after, settings.signin_address_lock_after),
            timedelta(seconds=settings.signin_delay_seconds),
            timedelta(seconds=settings.signin_max_delay_seconds),
            timedelta(seconds=settings.signin_lock_seconds),
            timedelta(seconds=settings.signin_forget_seconds),
        )

    def after(self, scope: str, failures: int, now: datetime) -> tuple[datetime, datetime | None]:
        """When the next attempt may come after failure number ``failures``, and until when
        that is a lock (None: no lock). Before ``delay_after`` failures at once; from it on
        after ``delay``, doubled at each further failure up to ``max_delay``; from
        ``lock_after`` on, a lock of ``lock``."""
        limits = self.account if scope == ACCOUNT else self.address
        if failures >= limits.lock_after:
            return now + self.lock, now + self.lock
        if failures < limits.delay_after:
            return now, None
        # The exponent is bounded by lock_after, so the product stays a small integer.
        wait = min(self.delay * 2 ** (failures - limits.delay_after), self.max_delay)
        return now + wait, None


@dataclass(frozen=True)
class Failures:
    """The failed sign-ins counted against one account name (``scope`` "account"; the name
    need not exist) or one client address ("address")."""

    scope: str
    subject: str
    failures: int
    last_failure_at: datetime
    not_before: datetime
    locked_until: datetime | None

    def holds(self, now: datetime) -> bool:
        """Whether attempts are refused, unchecked, at ``now`` (a wait or a lock)."""
        return now < self.not_before

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class Attempt:
    """The throttle's answer to one password attempt, before the password is checked.

    ``admitted``: the password may be checked; the attempt is already counted as a failure
    (so that attempts made at once are counted before any of them is checked), and
    ``SignInThrottle.succeeded`` forgets the failures if it proves right. Otherwise it is
    refused until ``until``, the end of a lock if ``locked``. ``counts`` are the failures
    counted now; ``locking`` those this attempt locks (if it fails)."""

    admitted: bool
    until: datetime | None
    locked: bool
    counts: tuple[Failures, ...]
    locking: tuple[Failures, ...]

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until attempts are accepted again (0 if admitted)."""
        return _seconds_until(self.until, now)


def _seconds_until(until: datetime | None, now: datetime) -> int:
    """Whole seconds from ``now`` to ``until``, rounded up; 0 if None or past."""
    if until is None or until <= now:
        return 0
    return math.ceil((until - now).total_seconds())


def _moment(text: str) -> datetime:
    return datetime.strptime(text, _STAMP_FORMAT).replace(tzinfo=UTC)


def _failures(row: _Row) -> Failures:
    return Failures(
        scope=row.scope,
        subject=row.subject,
        failures=int(row.failures),
        last_failure_at=_moment(row.last_failure_at),
        not_before=_moment(row.not_before),
        locked_until=_moment(row.locked_until) if row.locked_until else None,
    )


def _system_clock() -> datetime:
    return datetime.now(UTC)


class SignInThrottle:
    """Failed password sign-ins per account name and per client address, in the database.

    An attempt that comes while its account or address must wait is refused unchecked and
    counted (so hammering ends in a lock); one that comes during a lock is refused unchecked
    and changes nothing (so the lock ends on time). An admitted attempt is counted before the
    password is checked and forgotten if it was right. Failures are forgotten ``forget``
    after the last one, and by ``unlock``. ``clock`` is the time the throttle sees.
    """

    def __init__(
        self,
        engine: sa.Engine,
        policy: ThrottlePolicy,
        *,
        clock: Callable[[], datetime] = _system_clock,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock

    @staticmethod
    def _keys(username: str | None, address: str) -> list[tuple[str, str]]:
        keys = [(ACCOUNT, username)] if username else []
        return [*keys, (ADDRESS, address)]

    @staticmethod
    def _where(keys: Sequence[tuple[str, str]]) -> sa.ColumnElement[bool]:
        return sa.or_(
            *(
                sa.and_(signin_failures.c.scope == scope, signin_failures.c.subject == subject)
                for scope, subject in keys
            )
        )

    def _live(
        self, connection: sa.Connection, keys: Sequence[tuple[str, str]], now: datetime
    ) -> list[Failures]:
        """The failures counted under these keys that are not forgotten at ``now``."""
        rows = connection.execute(sa.select(signin_failures).where(self._where(keys))).all()
        return self._remembered(rows, now)

    def _remembered(self, rows: Sequence[_Row], now: datetime) -> list[Failures]:
        """The rows' failures that are not forgotten at ``now`` (a wait or lock running, or
        the last failure less than ``forget`` before); ``_forget_old`` drops the others."""
        found = [_failures(row) for row in rows]
        return [f for f in found if f.holds(now) or now - f.last_failure_at < self.policy.forget]

    def wait(self, username: str | None, address: str) -> int:
        """Whole seconds before an attempt for ``username`` from ``address`` would be
        admitted; 0: at once. A read only (for credentials verified a moment ago and
        remembered, and to tell whoever just failed how long to wait)."""
        now = self.clock()
        with self.engine.connect() as connection:
            live = self._live(connection, self._keys(username, address), now)
        until = max((f.not_before for f in live if f.holds(now)), default=None)
        return _seconds_until(until, now)

    def attempt(self, username: str | None, address: str) -> Attempt:
        """Admit or refuse one password attempt for ``username`` (None: a name that cannot
        exist, counted against the address only) from ``address`` (an ``address_key``)."""
        now = self.clock()
        keys = self._keys(username, address)
        with write_transaction(self.engine) as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_THROTTLE_LOCK)))
            self._forget_old(connection, now)
            held = {(f.scope, f.subject): f for f in self._live(connection, keys, now)}
            holding = [f for f in held.values() if f.holds(now)]
            if any(f.locked(now) for f in holding):
                until = max(f.not_before for f in holding)
                return Attempt(False, until, True, tuple(held.values()), ())
            counted = [(f.scope, f.subject) for f in holding] or keys
            counts = [self._count(connection, key, held.get(key), now) for key in counted]
        locking = tuple(f for f in counts if f.locked(now))
        if holding:
            until = max(f.not_before for f in counts)
            return Attempt(False, until, bool(locking), tuple(counts), locking)
        return Attempt(True, None, False, tuple(counts), locking)

    def _count(
        self,
        connection: sa.Connection,
        key: tuple[str, str],
        before: Failures | None,
        now: datetime,
    ) -> Failures:
        scope, subject = key
        failures = (before.failures if before is not None else 0) + 1
        not_before, locked_until = self.policy.after(scope, failures, now)
        values = {
            "failures": failures,
            "last_failure_at": store_timestamp(now),
            "not_before": store_timestamp(not_before),
            "locked_until": store_timestamp(locked_until) if locked_until is not None else None,
        }
        if before is None:
            connection.execute(
                signin_failures.insert().values(scope=scope, subject=subject, **values)
            )
        else:
            connection.execute(signin_failures.update().where(self._where([key])).values(**values))
        return Failures(scope, subject, failures, now, not_before, locked_until)

    def _forget_old(self, connection: sa.Connection, now: datetime) -> None:
        """Drop the rows past ``forget`` (names tried once long ago, addresses gone)."""
        connection.execute(
            signin_failures.delete().where(
                signin_failures.c.last_failure_at <= store_timestamp(now - self.policy.forget),
                signin_failures.c.not_before <= store_timestamp(now),
            )
        )

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: forget the failures of the account and of the address."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                signin_failures.delete().where(self._where(self._keys(username, address)))
            )

    def unlock(self, *, username: str | None = None, address: str | None = None) -> list[Failures]:
        """Forget the failures of an account name or an address (an administrator lifting a
        lock); returns what was forgotten (nothing: there was nothing to lift)."""
        keys = ([(ACCOUNT, username)] if username else []) + (
            [(ADDRESS, address_key(address))] if address else []
        )
        if not keys:
            raise AccountError("name an account or an address to unlock")
        now = self.clock()
        with write_transaction(self.engine) as connection:
            live = self._live(connection, keys, now)
            connection.execute(signin_failures.delete().where(self._where(keys)))
        return live

    def records(self) -> list[Failures]:
        """Every account name and address with failures not yet forgotten: locked ones
        first, then those waiting, each group by scope and name."""
        now = self.clock()
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(signin_failures).order_by(
                    signin_failures.c.scope, signin_failures.c.subject
                )
            ).all()
        live = self._remembered(rows, now)
        return sorted(live, key=lambda f: (not f.locked(now), not f.holds(now)))

"""Browser sessions of the web interface: kept on the server, ended by logout or expiry.

The browser holds only a random session id (an HttpOnly cookie); the node keeps the
SHA-256 of that id with who signed in and when, in its ``node_meta`` table, so that every
worker of a node sees the same sessions and logging out really ends a session (a signed
cookie alone would stay valid until it expires). A session ends after ``idle`` seconds
without a request, and in any case ``lifetime`` seconds after sign-in.

CSRF tokens are derived from the session id with the node's secret key (HMAC), so a form
is accepted only from a page this node served to that session. Before sign-in, a random
"anonymous" cookie plays the same role for the login form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from diapason.store.db import write_transaction
from diapason.store.schema import node_meta

SESSION_COOKIE = "diapason_session"
ANONYMOUS_COOKIE = "diapason_anon"
KEY_PREFIX = "web-session:"
IDLE_SECONDS = 30 * 60
LIFETIME_SECONDS = 12 * 3600
# The last-seen time is written at most this often, so browsing is not a write per page.
SEEN_RESOLUTION = 60.0


@dataclass(frozen=True)
class Session:
    """A live session: its id (only in the browser's cookie and here), who, since when."""

    sid: str
    username: str
    created: float
    seen: float


def _key(sid: str) -> str:
    return KEY_PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def well_formed(value: str | None) -> bool:
    """Whether a cookie value can be one of our random ids (checked before any lookup)."""
    return (
        value is not None
        and 20 <= len(value) <= 64
        and value.replace("-", "").replace("_", "").isalnum()
        and value.isascii()
    )


class Sessions:
    """The node's web sessions and the CSRF tokens bound to them."""

    def __init__(
        self,
        engine: sa.Engine,
        key: bytes,
        *,
        idle: float = IDLE_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
    ) -> None:
        self.engine = engine
        self.key = key
        self.idle = idle
        self.lifetime = lifetime

    def create(self, username: str) -> Session:
        """Start a session for ``username`` (already authenticated) and drop expired ones."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        value = orjson.dumps({"user": username, "created": now, "seen": now}).decode()
        with write_transaction(self.engine) as connection:
            self._purge(connection, now)
            connection.execute(node_meta.insert().values(key=_key(sid), value=value))
        return Session(sid, username, now, now)

    def resolve(self, sid: str | None) -> Session | None:
        """The live session with this id, or None (unknown, expired: then removed)."""
        if not well_formed(sid):
            return None
        assert sid is not None
        key = _key(sid)
        with self.engine.connect() as connection:
            raw = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
        if raw is None:
            return None
        stored = orjson.loads(raw)
        session = Session(sid, str(stored["user"]), float(stored["created"]), float(stored["seen"]))
        now = time.time()
        if self.expired(session, now):
            self.end(sid)
            return None
        if now - session.seen >= SEEN_RESOLUTION:
            value = orjson.dumps(
                {"user": session.username, "created": session.created, "seen": now}
            ).decode()
            with write_transaction(self.engine) as connection:
                connection.execute(
                    node_meta.update().where(node_meta.c.key == key).values(value=value)
                )
            session = Session(sid, session.username, session.created, now)
        return session

    def expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle or now - session.created > self.lifetime

    def end(self, sid: str) -> None:
        """Forget a session (logout): its cookie is worthless from now on."""
        with write_transaction(self.engine) as connection:
            connection.execute(node_meta.delete().where(node_meta.c.key == _key(sid)))

    def end_all(self, username: str) -> int:
        """End every session of a user (disabled, or password changed); how many ended."""
        ended = 0
        with write_transaction(self.engine) as connection:
            for key, raw in connection.execute(
                sa.select(node_meta.c.key, node_meta.c.value).where(
                    node_meta.c.key.startswith(KEY_PREFIX)
                )
            ).all():
                if orjson.loads(raw).get("user") == username:
                    connection.execute(node_meta.delete().where(node_meta.c.key == key))
                    ended += 1
        return ended

    def _purge(self, connection: sa.Connection, now: float) -> None:
        for key, raw in connection.execute(
            sa.select(node_meta.c.key, node_meta.c.value).where(
                node_meta.c.key.startswith(KEY_PREFIX)
            )
        ).all():
            stored = orjson.loads(raw)
            if (
                now - float(stored["seen"]) > self.idle
                or now - float(stored["created"]) > self.lifetime
            ):
                connection.execute(node_meta.delete().where(node_meta.c.key == key))

    # -- CSRF -----------------------------------------------------------------------------
    def csrf_token(self, binding: str) -> str:
        """The token forms must carry for this session id (or anonymous cookie value)."""
        return hmac.new(self.key, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, binding: str | None, token: str | None) -> bool:
        if not binding or not token:
            return False
        return hmac.compare_digest(self.csrf_token(binding), token)


def new_anonymous_id() -> str:
    return secrets.token_urlsafe(24)

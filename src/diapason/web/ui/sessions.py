"""Browser sessions of the web interface: kept on the server, ended by logout or expiry.

The browser holds only a random session id (an HttpOnly cookie); the node keeps the
SHA-256 of that id with who signed in and when, in its ``node_meta`` table (``NodeMeta``,
``node.facts``), so that every
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

from diapason.store.node_meta import NodeMeta

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


def _stored(sid: str, raw: str) -> Session:
    """A session as its ``node_meta`` entry holds it."""
    stored = orjson.loads(raw)
    return Session(sid, str(stored["user"]), float(stored["created"]), float(stored["seen"]))


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
        facts: NodeMeta,
        key: bytes,
        *,
        idle: float = IDLE_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
    ) -> None:
        self.facts = facts
        self.key = key
        self.idle = idle
        self.lifetime = lifetime

    def create(self, username: str) -> Session:
        """Start a session for ``username`` (already authenticated) and drop expired ones."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        value = orjson.dumps({"user": username, "created": now, "seen": now}).decode()
        self.facts.add(
            _key(sid),
            value,
            prefix=KEY_PREFIX,
            stale=lambda raw: self.expired(_stored("", raw), now),
        )
        return Session(sid, username, now, now)

    def resolve(self, sid: str | None) -> Session | None:
        """The live session with this id, or None (unknown, expired: then removed)."""
        if not well_formed(sid):
            return None
        assert sid is not None
        key = _key(sid)
        raw = self.facts.get(key)
        if raw is None:
            return None
        session = _stored(sid, raw)
        now = time.time()
        if self.expired(session, now):
            self.end(sid)
            return None
        if now - session.seen >= SEEN_RESOLUTION:
            value = orjson.dumps(
                {"user": session.username, "created": session.created, "seen": now}
            ).decode()
            self.facts.update(key, value)
            session = Session(sid, session.username, session.created, now)
        return session

    def expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle or now - session.created > self.lifetime

    def end(self, sid: str) -> None:
        """Forget a session (logout): its cookie is worthless from now on."""
        self.facts.delete(_key(sid))

    def end_all(self, username: str) -> int:
        """End every session of a user (disabled, or password changed); how many ended."""
        return self.facts.delete_under(
            KEY_PREFIX, lambda raw: orjson.loads(raw).get("user") == username
        )

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

"""The audit trail: append-only, hash-chained, keyed, verifiable end to end.

Every entry carries a hash of its own content and the hash of the entry before it, so
altering, removing or reordering any entry breaks the chain from that point on. The table
also has database triggers refusing UPDATE and DELETE; the chain is what still catches an
attacker who can drop those triggers.

The hash is keyed: an HMAC-SHA256 under the node's audit key (``audit/key.py``), kept
outside the database, so someone who can write the database cannot recompute the chain
after changing an entry. Entries written before the node had a key (nodes upgraded from a
version without one) keep their plain SHA-256; the first keyed entry introduces the key
(action ``audit_key``, ``details.keyed_from``) and covers, through its ``prev_hash``, the
whole unkeyed prefix. ``verify`` checks the prefix as before and the rest with the key.

The chain proves the log was not altered *inside* by someone without the key. Against
someone holding the key too, or cutting the last entries off, the node's partners keep
witnessed heads (``exchange/witness.py``): ``check_witnessed`` compares the trail with
them. docs/security.md ("Audit trail") says what each protection does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.audit.key import AuditKey, AuditKeyError
from diapason.domain.timestamps import store_now
from diapason.errors import DiapasonError
from diapason.store.db import write_transaction
from diapason.store.rows import allocate, among
from diapason.store.schema import audit_log, audit_polls, counters

GENESIS_HASH = "0" * 64

ACTIONS: frozenset[str] = frozenset(
    {
        # objects and the data they hold
        "create",
        "update",
        "delete",
        "erase",
        "correct",
        "review",
        "protect",
        "consult",
        "search",
        # exchange with partners
        "release",
        "withhold",
        "disclose",
        # empty polls by a partner in one hour, counted (``AuditLog.record_poll``)
        "poll_summary",
        "receive",
        "sync",
        "export",
        "import",
        # open sources: articles ingested, analysts' gazetteer corrections
        "ingest",
        "gazetteer_correct",
        "partner_add",
        "partner_update",
        "partner_remove",
        "collection_create",
        "collection_update",
        "collection_delete",
        # people and credentials
        "login",
        "login_failed",
        "login_throttled",
        "login_locked",
        "logout",
        "access_denied",
        "request_refused",
        "user_add",
        "user_disable",
        "user_enable",
        "user_unlock",
        "user_role",
        "password_change",
        "token_create",
        "token_revoke",
        # the node itself
        "init",
        "config",
        "migrate",
        "backup",
        "restore",
        "key_rotate",
        "audit_key",
        "audit_verify",
        "audit_export",
    }
)

# The advisory lock that serialises appenders on PostgreSQL (7246001 guards migrations).
_PG_AUDIT_LOCK = 7246002
# Rows fetched per round trip by ``verify``; memory stays flat whatever the table size.
_VERIFY_BATCH = 5000
_PROGRESS_EVERY = 5000
_MAX_ACTOR = 200  # the width of audit_log.actor
# The entry that introduces the audit key: the first keyed entry of the trail.
KEY_ACTION = "audit_key"
KEY_ALGORITHM = "HMAC-SHA256"
# Witnessed heads compared per query by ``check_witnessed``.
_WITNESS_BATCH = 5000


class AuditError(DiapasonError, ValueError):
    """An entry the audit log refuses to write; the message says why."""


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the trail, as written; ``keyed``: its hash is an HMAC under the key."""

    seq: int
    at: str
    actor: str
    action: str
    object_ids: tuple[str, ...]
    reason: str | None
    details: dict[str, Any] = field(hash=False)
    prev_hash: str
    hash: str
    keyed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain JSON-ready values (``object_ids`` as a list)."""
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "object_ids": list(self.object_ids),
            "reason": self.reason,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "keyed": self.keyed,
        }


@dataclass(frozen=True)
class Verification:
    """The outcome of ``AuditLog.verify``: ``broken_seq`` is the first entry found wrong."""

    ok: bool
    checked: int
    broken_seq: int | None
    message: str


@dataclass(frozen=True)
class Head:
    """The head of a trail: its last entry's sequence number and hash."""

    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}


@dataclass(frozen=True)
class WitnessedHead:
    """A head of this node's trail as a partner keeps it: when it was witnessed there."""

    seq: int
    hash: str
    witnessed_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "witnessed_at": self.witnessed_at}


@dataclass(frozen=True)
class WitnessCheck:
    """The trail against the heads one partner witnessed (``AuditLog.check_witnessed``).

    ``broken_seq``: the first witnessed entry whose hash differs or that is gone;
    ``last_match``: the last witnessed head found as witnessed before it."""

    partner: str
    ok: bool
    checked: int
    broken_seq: int | None
    last_match: WitnessedHead | None
    message: str
    # False: the partner could not be asked (``message`` says why); nothing was compared.
    asked: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "asked": self.asked,
            "ok": self.ok,
            "checked": self.checked,
            "broken_seq": self.broken_seq,
            "last_match": self.last_match.as_dict() if self.last_match else None,
            "message": self.message,
        }


def entry_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_ids: Sequence[str],
    reason: str | None,
    details: Mapping[str, Any],
    prev_hash: str,
    key: AuditKey | None = None,
) -> str:
    """The hash (hex) of the canonical JSON of an entry's content, ``prev_hash`` included:
    HMAC-SHA256 under ``key``, or SHA-256 for an entry written before the node had one."""
    content = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "object_ids": list(object_ids),
        "reason": reason,
        "details": details,
        "prev_hash": prev_hash,
    }
    canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    if key is not None:
        return key.digest(canonical)
    return hashlib.sha256(canonical).hexdigest()


def _canonical_details(details: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The stored text and the value of ``details``, normalised through one JSON round trip.

    The round trip makes the value hashed now equal to the value ``verify`` will read back
    (tuples become lists, dates become strings), so a valid entry always verifies.
    """
    try:
        text = orjson.dumps(dict(details or {}), option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError) as error:
        raise AuditError(
            f"audit details must be JSON (string keys, plain values): {error}"
        ) from None
    value: dict[str, Any] = orjson.loads(text)
    return text.decode(), value


def _check_entry(
    actor: str,
    action: str,
    object_ids: Sequence[str],
    reason: str | None,
    details: Mapping[str, Any],
) -> tuple[tuple[str, ...], str | None]:
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}")
    if not isinstance(actor, str) or not actor.strip():
        raise AuditError("an audit entry needs an actor")
    if len(actor) > _MAX_ACTOR:
        raise AuditError(f"audit actor is longer than {_MAX_ACTOR} characters")
    # PostgreSQL text cannot hold NUL; refusing it on both backends keeps them alike.
    if "\x00" in actor or (reason is not None and "\x00" in reason):
        raise AuditError("audit actor and reason cannot contain NUL characters")
    # A bare string is a Sequence[str] too: refusing it avoids logging "i", "d", "s", …
    if isinstance(object_ids, str | bytes):
        raise AuditError("object_ids must be a sequence of identifiers, not a single string")
    ids = tuple(object_ids)
    for object_id in ids:
        if not isinstance(object_id, str) or not object_id:
            raise AuditError(f"object id {object_id!r} is not a non-empty string")
    cleaned = reason.strip() if reason is not None else None
    if not cleaned:
        cleaned = None
    # A TAXII client is a program: it gives a reason in a header where it can, and its
    # reads of personal data are recorded as such either way (exchange/taxii/context.py).
    interactive = not details.get("taxii")
    if (
        action in ("consult", "export")
        and details.get("personal_data")
        and cleaned is None
        and interactive
    ):
        raise AuditError(
            f"{'consulting' if action == 'consult' else 'exporting'} personal data needs a "
            "reason: say why (purpose or case reference)"
        )
    return ids, cleaned


def _entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_ids=tuple(orjson.loads(row.object_ids)),
        reason=row.reason,
        details=orjson.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
        keyed=bool(row.keyed),
    )


def _row_hash(row: sa.Row[Any], key: AuditKey | None) -> str | None:
    """What a stored row's hash should be under ``key`` (None: its content is not JSON)."""
    try:
        object_ids = orjson.loads(row.object_ids)
        details = orjson.loads(row.details)
    except orjson.JSONDecodeError:
        return None
    return entry_hash(
        seq=int(row.seq),
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_ids=object_ids,
        reason=row.reason,
        details=details,
        prev_hash=row.prev_hash,
        key=key,
    )


class AuditLog:
    """The node's audit trail over one database (SQLite or PostgreSQL).

    ``key``: the node's audit key; every entry appended with it is keyed, the first one
    after the unkeyed entries (or of an empty trail) preceded by the entry introducing the
    key. Without a key the trail can be read and its unkeyed entries verified, and entries
    appended only while none is keyed (tests of the trail itself; a node always has one).
    """

    def __init__(self, engine: sa.Engine, key: AuditKey | None = None) -> None:
        self.engine = engine
        self.key = key

    # -- writing --------------------------------------------------------------------------
    def append(
        self,
        actor: str,
        action: str,
        object_ids: Sequence[str] = (),
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        connection: sa.Connection | None = None,
    ) -> AuditEntry:
        """Write one entry at the end of the chain and return it.

        With ``connection``, the entry is written inside the caller's (write) transaction,
        so it commits or rolls back with the change it records. ``AuditError`` for an
        unknown action, a missing actor, details that are not JSON, or a consultation of
        personal data (``details["personal_data"]`` truthy) without a reason; and, without
        the audit key, when the trail is keyed already.
        """
        details_text, details_value = _canonical_details(details)
        ids, cleaned_reason = _check_entry(actor, action, object_ids, reason, details_value)
        with write_transaction(self.engine, connection) as conn:
            previous = self._lock_end(conn)
            if self.key is None and previous is not None and previous.keyed:
                raise AuditError(
                    f"the audit trail is keyed (entry {previous.seq} is): appending to it "
                    "needs the audit key"
                )
            if self.key is not None and (previous is None or not previous.keyed):
                intro = self._introduce(conn, actor, previous)
                previous = _End(intro.seq, intro.hash, True)
            seq = allocate(conn, "audit", 1)
            return self._write(
                conn, seq, actor, action, ids, cleaned_reason, details_text, details_value, previous
            )

    # -- empty polls ----------------------------------------------------------------------
    def record_poll(
        self, actor: str, collection_id: str, endpoint: str, *, at: str | None = None
    ) -> None:
        """Count one poll by ``actor`` (a partner) that disclosed nothing, instead of an
        entry of its own: a partner polling every few seconds would otherwise write tens of
        thousands of empty ``disclose`` entries a day.

        The count lives in ``audit_polls``, one row per partner, hour, collection and
        endpoint, bumped by an upsert (atomic, so several ``serve`` processes lose no
        count). The hours that have closed are then summed up in the trail
        (``close_polls``), in the same transaction: one ``poll_summary`` entry per partner
        and hour, with the number of polls, the first and the last."""
        if not isinstance(actor, str) or not actor.strip() or len(actor) > _MAX_ACTOR:
            raise AuditError("a poll needs an actor of 1 to 200 characters")
        at = at or store_now()
        values = {
            "actor": actor,
            "hour": at[:13],
            "collection_id": collection_id,
            "endpoint": endpoint,
            "at": at,
        }
        with write_transaction(self.engine) as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_polls (actor, hour, collection_id, endpoint, polls, "
                    "first_at, last_at) VALUES (:actor, :hour, :collection_id, :endpoint, 1, "
                    ":at, :at) ON CONFLICT (actor, hour, collection_id, endpoint) DO UPDATE "
                    "SET polls = audit_polls.polls + 1, "
                    "first_at = CASE WHEN excluded.first_at < audit_polls.first_at "
                    "THEN excluded.first_at ELSE audit_polls.first_at END, "
                    "last_at = CASE WHEN excluded.last_at > audit_polls.last_at "
                    "THEN excluded.last_at ELSE audit_polls.last_at END"
                ),
                values,
            )
            closed = conn.execute(
                sa.select(audit_polls.c.hour).where(audit_polls.c.hour < at[:13]).limit(1)
            ).first()
            if closed is not None:
                self._close_polls(conn, at[:13])

    def close_polls(self, *, before: str | None = None) -> list[AuditEntry]:
        """Write the ``poll_summary`` entries of every hour before ``before``'s (a store
        timestamp; default now) still counted in ``audit_polls``, and drop those counts.
        ``record_poll`` does it as polls come; the audit commands do it before they read
        the trail, so that a partner that stopped polling is summed up too."""
        with write_transaction(self.engine) as conn:
            return self._close_polls(conn, (before or store_now())[:13])

    def pending_polls(self) -> list[dict[str, Any]]:
        """The counts of the hour still open (not in the trail yet), per partner."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(audit_polls).order_by(
                    audit_polls.c.actor,
                    audit_polls.c.hour,
                    audit_polls.c.collection_id,
                    audit_polls.c.endpoint,
                )
            ).all()
        return [dict(row._mapping) for row in rows]

    def _close_polls(self, conn: sa.Connection, hour: str) -> list[AuditEntry]:
        # The trail's lock first, then the rows locked: a concurrent closer waits and finds
        # them gone; a concurrent poll of a closed hour (one that began just before it
        # closed) waits for the row, then inserts a fresh one, summed up next time.
        self._lock_end(conn)
        rows = conn.execute(
            sa.select(audit_polls)
            .where(audit_polls.c.hour < hour)
            .order_by(
                audit_polls.c.hour,
                audit_polls.c.actor,
                audit_polls.c.collection_id,
                audit_polls.c.endpoint,
            )
            .with_for_update()
        ).all()
        if not rows:
            return []
        groups: dict[tuple[str, str], list[sa.Row[Any]]] = {}
        for row in rows:
            groups.setdefault((row.hour, row.actor), []).append(row)
        written = []
        for (closed_hour, actor), group in groups.items():
            details = {
                "taxii": "poll",
                "hour": closed_hour,
                "polls": sum(int(row.polls) for row in group),
                "first": min(row.first_at for row in group),
                "last": max(row.last_at for row in group),
                "asked": [
                    {
                        "collection": row.collection_id,
                        "taxii": row.endpoint,
                        "polls": int(row.polls),
                    }
                    for row in group
                ],
                "recipient": actor,
            }
            written.append(self.append(actor, "poll_summary", details=details, connection=conn))
            # The rows read, by key: a row of this hour inserted meanwhile stays, counted.
            for row in group:
                conn.execute(
                    audit_polls.delete().where(
                        (audit_polls.c.actor == actor)
                        & (audit_polls.c.hour == closed_hour)
                        & (audit_polls.c.collection_id == row.collection_id)
                        & (audit_polls.c.endpoint == row.endpoint)
                    )
                )
        return written

    def require_key(self, where: Path) -> None:
        """Refuse to go on without the key when the trail has entries (``where``: the key
        file this node would read): ``AuditKeyError`` says what to do."""
        if self.key is not None:
            return
        with self.engine.connect() as connection:
            last = connection.execute(
                sa.select(audit_log.c.seq, audit_log.c.keyed)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
        if last is None:
            return
        if last.keyed:
            raise AuditKeyError(
                f"the audit trail is keyed and this node has no audit key: the key file "
                f"{where} is missing. Restore it from your backups (or set "
                "DIAPASON_AUDIT_KEY to the key); without it the trail can neither be "
                "verified nor extended"
            )
        raise AuditKeyError(
            f"the audit trail has {int(last.seq):,} entries and this node has no audit key "
            f"yet (it was written by a version without one): run `diapason init` once to "
            f"create it ({where}) and seal the trail under it"
        )

    def introduce_key(self, actor: str) -> AuditEntry | None:
        """Seal the trail under the key now: append the entry introducing it unless the
        trail is keyed already; returns that entry, or None.

        When the trail is keyed already, its last entry must verify under this key:
        ``AuditKeyError`` otherwise (the key is not the one the trail was written with, or
        that entry was altered; ``diapason audit verify`` tells which)."""
        if self.key is None:
            raise AuditKeyError("this node has no audit key to introduce")
        with write_transaction(self.engine) as conn:
            previous = self._lock_end(conn)
            if previous is None or not previous.keyed:
                return self._introduce(conn, actor, previous)
            row = conn.execute(sa.select(audit_log).where(audit_log.c.seq == previous.seq)).one()
        if _row_hash(row, self.key) != row.hash:
            raise AuditKeyError(
                f"the audit key ({self.key.origin}, key id {self.key.key_id}) is not the key "
                f"the audit trail was written with: its last entry, {row.seq}, does not verify "
                "under it. Restore the node's key from your backups (docs/security.md); if the "
                "key is the right one, that entry was altered: run `diapason audit verify`"
            )
        return None

    def _lock_end(self, conn: sa.Connection) -> _End | None:
        """Serialise appenders and read the last entry (None: the trail is empty)."""
        if conn.dialect.name == "postgresql":
            # The counter row lock alone would serialise appenders too; the advisory lock
            # makes the ordering explicit and independent of how ``allocate`` is written.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_AUDIT_LOCK)))
        row = conn.execute(
            sa.select(audit_log.c.seq, audit_log.c.hash, audit_log.c.keyed)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).first()
        return _End(int(row.seq), row.hash, bool(row.keyed)) if row is not None else None

    def _introduce(self, conn: sa.Connection, actor: str, previous: _End | None) -> AuditEntry:
        """Append the entry introducing the key (the first keyed one) after ``previous``."""
        assert self.key is not None
        seq = allocate(conn, "audit", 1)
        details = {
            "keyed_from": seq,
            "algorithm": KEY_ALGORITHM,
            "key_id": self.key.key_id,
            "unkeyed_entries": previous.seq if previous is not None else 0,
        }
        details_text, details_value = _canonical_details(details)
        return self._write(
            conn, seq, actor, KEY_ACTION, (), None, details_text, details_value, previous
        )

    def _write(
        self,
        conn: sa.Connection,
        seq: int,
        actor: str,
        action: str,
        ids: tuple[str, ...],
        reason: str | None,
        details_text: str,
        details_value: dict[str, Any],
        previous: _End | None,
    ) -> AuditEntry:
        # The latest entry before ours, not seq - 1: if an entry was removed, new entries
        # still chain to what exists, and ``verify`` reports the gap.
        prev_hash = previous.hash if previous is not None else GENESIS_HASH
        at = store_now()
        digest = entry_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object_ids=ids,
            reason=reason,
            details=details_value,
            prev_hash=prev_hash,
            key=self.key,
        )
        conn.execute(
            audit_log.insert().values(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                object_ids=orjson.dumps(list(ids)).decode(),
                reason=reason,
                details=details_text,
                prev_hash=prev_hash,
                hash=digest,
                keyed=self.key is not None,
            )
        )
        return AuditEntry(
            seq,
            at,
            actor,
            action,
            ids,
            reason,
            details_value,
            prev_hash,
            digest,
            self.key is not None,
        )

    # -- reading --------------------------------------------------------------------------
    def entries(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        actor: str | None = None,
        action: str | None = None,
        object_id: str | None = None,
        since: str | None = None,
    ) -> list[AuditEntry]:
        """Entries with ``seq > after``, oldest first, at most ``limit`` of them.

        Filters combine: ``actor`` and ``action`` match exactly, ``object_id`` must be one
        of the entry's object ids, ``since`` keeps entries at or after that timestamp (any
        prefix of the store's format works, e.g. ``"2026-01-31"``). Page on by passing the
        last ``seq`` returned as ``after``.
        """
        limit = max(1, limit)
        conditions: list[sa.ColumnElement[bool]] = []
        if actor is not None:
            conditions.append(audit_log.c.actor == actor)
        if action is not None:
            conditions.append(audit_log.c.action == action)
        if since is not None:
            conditions.append(audit_log.c.at >= since)
        if object_id is not None:
            # object_ids is a JSON array in a text column: a substring match on the quoted
            # id narrows the rows, and the exact test below drops the rare false positive.
            quoted = orjson.dumps(object_id).decode()
            conditions.append(audit_log.c.object_ids.contains(quoted, autoescape=True))
        found: list[AuditEntry] = []
        cursor = after
        with self.engine.connect() as connection:
            while len(found) < limit:
                rows = connection.execute(
                    sa.select(audit_log)
                    .where(audit_log.c.seq > cursor, *conditions)
                    .order_by(audit_log.c.seq)
                    .limit(limit - len(found))
                ).all()
                if not rows:
                    break
                for row in rows:
                    entry = _entry(row)
                    if object_id is None or object_id in entry.object_ids:
                        found.append(entry)
                cursor = int(rows[-1].seq)
        return found

    def latest(self) -> AuditEntry | None:
        """The last entry of the chain (its hash is the one to keep elsewhere), or None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)
            ).first()
        return _entry(row) if row is not None else None

    def head(self) -> Head | None:
        """The trail's head (its last entry's seq and hash), or None while it is empty."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(audit_log.c.seq, audit_log.c.hash)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
        return Head(int(row.seq), row.hash) if row is not None else None

    # -- verifying ------------------------------------------------------------------------
    def verify(self, *, progress: Callable[[int], None] | None = None) -> Verification:
        """Check the whole chain and report the first broken entry, if any.

        Streams the table in ``seq`` order (batches of a few thousand rows, so memory does
        not grow with the log), recomputes every hash (SHA-256 for the entries written
        before the key, HMAC under the key from the entry introducing it on), checks every
        ``prev_hash`` link, that no ``seq`` is missing, and that no entry after a keyed one
        is unkeyed. ``progress`` is called with the number of entries checked so far every
        few thousand entries, and once at the end.
        """
        walk = _Walk(self.key)

        def broken(seq: int, message: str) -> Verification:
            if progress is not None:
                progress(walk.checked)
            return Verification(False, walk.checked, seq, message)

        with self.engine.connect() as connection:
            # Read before streaming: entries committed meanwhile only make the table longer,
            # so a count above what is streamed can only mean entries were removed.
            written = int(
                connection.execute(
                    sa.select(counters.c.value).where(counters.c.name == "audit")
                ).scalar_one()
            )
            result = connection.execution_options(
                stream_results=True, yield_per=_VERIFY_BATCH
            ).execute(sa.select(audit_log).order_by(audit_log.c.seq))
            try:
                for row in result:
                    problem = walk.step(row)
                    if problem is not None:
                        return broken(*problem)
                    if progress is not None and walk.checked % _PROGRESS_EVERY == 0:
                        progress(walk.checked)
            finally:
                result.close()
        expected, checked = walk.expected, walk.checked
        if written >= expected:
            return broken(
                expected,
                f"entry {expected} is missing (the log counter says {written} entries "
                f"were written, {checked} are present)",
            )
        if progress is not None and checked % _PROGRESS_EVERY != 0:
            progress(checked)
        if checked == 0:
            return Verification(True, 0, None, "the audit log is empty")
        if self.key is not None and walk.keyed_from is None:
            return Verification(
                False,
                checked,
                checked,
                f"no entry is keyed although this node has an audit key ({self.key.origin}): "
                "entries written after the key was introduced may have been rewritten "
                "without it. If the key was only just set, `diapason init` introduces it",
            )
        return Verification(True, checked, None, walk.summary())

    def check_witnessed(self, partner: str, heads: Iterable[WitnessedHead]) -> WitnessCheck:
        """Compare the trail with the heads ``partner`` witnessed (oldest first): each
        witnessed entry must still be in the trail with the hash the partner saw.

        Every hash depends on every entry before it, so a head found as witnessed vouches
        for the whole trail up to it, and the first head that differs bounds the rewrite:
        it lies after the last head that matches, at or before that one. The hashes held
        here are read as they are: run ``verify`` too, for the links between them.
        """
        checked = 0
        last_match: WitnessedHead | None = None
        with self.engine.connect() as connection:
            end = connection.execute(sa.select(sa.func.max(audit_log.c.seq))).scalar()
            for batch in _batches(heads, _WITNESS_BATCH):
                held = _hashes(connection, [head.seq for head in batch])
                for head in batch:
                    found = held.get(head.seq)
                    if found == head.hash:
                        checked += 1
                        last_match = head
                        continue
                    message = _witness_problem(partner, head, found, end, last_match)
                    return WitnessCheck(partner, False, checked, head.seq, last_match, message)
        if last_match is None:
            return WitnessCheck(
                partner, True, 0, None, None, f"partner {partner} holds no head of this trail"
            )
        return WitnessCheck(
            partner,
            True,
            checked,
            None,
            last_match,
            f"{checked:,} head(s) witnessed by partner {partner} match, the last entry "
            f"{last_match.seq} witnessed at {last_match.witnessed_at}",
        )


@dataclass(frozen=True)
class _End:
    """The last entry of the trail, as an appender needs it."""

    seq: int
    hash: str
    keyed: bool


class _Walk:
    """``verify``'s state along the chain: what it expects next, what it has seen."""

    def __init__(self, key: AuditKey | None) -> None:
        self.key = key
        self.checked = 0
        self.expected = 1
        self.previous_hash = GENESIS_HASH
        self.keyed_from: int | None = None

    def step(self, row: sa.Row[Any]) -> tuple[int, str] | None:
        """Check the next row; ``(seq, why)`` when it is wrong."""
        seq = int(row.seq)
        if seq != self.expected:
            return self.expected, f"entry {self.expected} is missing"
        if row.prev_hash != self.previous_hash:
            return seq, (
                f"entry {seq}: prev_hash does not match entry {seq - 1}"
                if seq > 1
                else f"entry {seq}: prev_hash is not the genesis hash"
            )
        keyed = bool(row.keyed)
        if not keyed and self.keyed_from is not None:
            return seq, (
                f"entry {seq} is not keyed although the trail is keyed from entry "
                f"{self.keyed_from}: it was rewritten without the audit key"
            )
        if keyed and self.key is None:
            return seq, (
                f"entry {seq} is keyed: verifying it needs the audit key, which this node "
                "does not have"
            )
        digest = _row_hash(row, self.key if keyed else None)
        if digest is None:
            return seq, f"entry {seq}: stored content is not valid JSON (altered)"
        if digest != row.hash:
            return seq, self._mismatch(row, keyed)
        if keyed and self.keyed_from is None:
            self.keyed_from = seq
        self.previous_hash = row.hash
        self.expected += 1
        self.checked += 1
        return None

    def _mismatch(self, row: sa.Row[Any], keyed: bool) -> str:
        seq = int(row.seq)
        if not keyed:
            return f"entry {seq}: content does not match its hash (altered)"
        assert self.key is not None
        if self.keyed_from is None and row.action == KEY_ACTION:
            try:
                written_with = orjson.loads(row.details).get("key_id")
            except (orjson.JSONDecodeError, AttributeError):
                written_with = None
            if isinstance(written_with, str) and written_with != self.key.key_id:
                return (
                    f"entry {seq} introduced the audit key with key id {written_with}; this "
                    f"node's key ({self.key.origin}) has key id {self.key.key_id}: it is not "
                    "the key the trail was written with"
                )
        return (
            f"entry {seq}: content does not match its keyed hash (altered, or written with "
            "another audit key)"
        )

    def summary(self) -> str:
        head = f"chain head is entry {self.checked} with hash {self.previous_hash}"
        if self.keyed_from is None:
            return f"{self.checked} entries verified (none keyed); {head}"
        assert self.key is not None
        keyed = f"keyed from entry {self.keyed_from} (key id {self.key.key_id})"
        return f"{self.checked} entries verified, {keyed}; {head}"


def _batches(heads: Iterable[WitnessedHead], size: int) -> Iterator[list[WitnessedHead]]:
    batch: list[WitnessedHead] = []
    for head in heads:
        batch.append(head)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _hashes(connection: sa.Connection, seqs: list[int]) -> dict[int, str]:
    """The stored hash of each of these entries that exists."""
    fragment, value = among(connection.dialect.name, seqs)
    rows = connection.exec_driver_sql(
        f"SELECT seq, hash FROM audit_log WHERE seq {fragment}", (value,)
    )
    return {int(seq): str(digest) for seq, digest in rows}


def _witness_problem(
    partner: str,
    head: WitnessedHead,
    found: str | None,
    end: int | None,
    last_match: WitnessedHead | None,
) -> str:
    """What a witnessed head that does not match tells, in words."""
    if found is None:
        if end is None or head.seq > end:
            where = f"the trail ends at entry {end}" if end else "the trail is empty"
            message = (
                f"entry {head.seq} is gone: partner {partner} witnessed it at "
                f"{head.witnessed_at}, and {where} (entries were cut off)"
            )
        else:
            message = (
                f"entry {head.seq} is gone: partner {partner} witnessed it at "
                f"{head.witnessed_at} (entries were removed)"
            )
    else:
        message = (
            f"entry {head.seq} was rewritten: its hash differs from the head partner "
            f"{partner} witnessed at {head.witnessed_at}"
        )
    if last_match is None:
        return f"{message}; no earlier head of partner {partner} matches"
    return (
        f"{message}; the change lies in entries {last_match.seq + 1} to {head.seq} (entry "
        f"{last_match.seq} matches the head witnessed at {last_match.witnessed_at})"
    )

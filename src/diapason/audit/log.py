"""The audit trail: append-only, hash-chained, verifiable end to end.

Every entry carries the SHA-256 of its own content and the hash of the entry before it, so
altering, removing or reordering any entry breaks the chain from that point on. The table
also has database triggers refusing UPDATE and DELETE; the chain is what still catches an
attacker who can drop those triggers.

The chain proves the log was not altered *inside*; it cannot prove that its last entries
were not cut off together with the counter. Keep a copy of the head hash (the message of
``verify`` shows it) somewhere else to detect that as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.errors import DiapasonError
from diapason.store.db import write_transaction
from diapason.store.rows import allocate, utc_now
from diapason.store.schema import audit_log, counters

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
        "consult",
        "search",
        # exchange with partners
        "release",
        "withhold",
        "disclose",
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


class AuditError(DiapasonError, ValueError):
    """An entry the audit log refuses to write; the message says why."""


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the trail, as written."""

    seq: int
    at: str
    actor: str
    action: str
    object_ids: tuple[str, ...]
    reason: str | None
    details: dict[str, Any] = field(hash=False)
    prev_hash: str
    hash: str

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
        }


@dataclass(frozen=True)
class Verification:
    """The outcome of ``AuditLog.verify``: ``broken_seq`` is the first entry found wrong."""

    ok: bool
    checked: int
    broken_seq: int | None
    message: str


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
) -> str:
    """SHA-256 (hex) of the canonical JSON of an entry's content, ``prev_hash`` included."""
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
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


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
    if action == "consult" and details.get("personal_data") and cleaned is None:
        raise AuditError(
            "consulting personal data needs a reason: say why it is consulted "
            "(purpose or case reference)"
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
    )


class AuditLog:
    """The node's audit trail over one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

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
        personal data (``details["personal_data"]`` truthy) without a reason.
        """
        details_text, details_value = _canonical_details(details)
        ids, cleaned_reason = _check_entry(actor, action, object_ids, reason, details_value)
        ids_text = orjson.dumps(list(ids)).decode()
        with write_transaction(self.engine, connection) as conn:
            if conn.dialect.name == "postgresql":
                # The counter row lock alone would serialise appenders too; the advisory lock
                # makes the ordering explicit and independent of how ``allocate`` is written.
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_AUDIT_LOCK)))
            seq = allocate(conn, "audit", 1)
            # The latest entry before ours, not seq - 1: if an entry was removed, new entries
            # still chain to what exists, and ``verify`` reports the gap.
            prev_hash = conn.execute(
                sa.select(audit_log.c.hash)
                .where(audit_log.c.seq < seq)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
            if prev_hash is None:
                prev_hash = GENESIS_HASH
            at = utc_now()
            digest = entry_hash(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                object_ids=ids,
                reason=cleaned_reason,
                details=details_value,
                prev_hash=prev_hash,
            )
            conn.execute(
                audit_log.insert().values(
                    seq=seq,
                    at=at,
                    actor=actor,
                    action=action,
                    object_ids=ids_text,
                    reason=cleaned_reason,
                    details=details_text,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )
        return AuditEntry(
            seq, at, actor, action, ids, cleaned_reason, details_value, prev_hash, digest
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

    # -- verifying ------------------------------------------------------------------------
    def verify(self, *, progress: Callable[[int], None] | None = None) -> Verification:
        """Check the whole chain and report the first broken entry, if any.

        Streams the table in ``seq`` order (batches of a few thousand rows, so memory does
        not grow with the log), recomputes every hash, checks every ``prev_hash`` link and
        that no ``seq`` is missing. ``progress`` is called with the number of entries
        checked so far every few thousand entries, and once at the end.
        """
        checked = 0
        previous_hash = GENESIS_HASH
        expected = 1

        def broken(seq: int, message: str) -> Verification:
            if progress is not None:
                progress(checked)
            return Verification(False, checked, seq, message)

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
                    seq = int(row.seq)
                    if seq != expected:
                        return broken(expected, f"entry {expected} is missing")
                    if row.prev_hash != previous_hash:
                        return broken(
                            seq,
                            f"entry {seq}: prev_hash does not match entry {seq - 1}"
                            if seq > 1
                            else f"entry {seq}: prev_hash is not the genesis hash",
                        )
                    try:
                        object_ids = orjson.loads(row.object_ids)
                        details = orjson.loads(row.details)
                    except orjson.JSONDecodeError:
                        return broken(
                            seq, f"entry {seq}: stored content is not valid JSON (altered)"
                        )
                    digest = entry_hash(
                        seq=seq,
                        at=row.at,
                        actor=row.actor,
                        action=row.action,
                        object_ids=object_ids,
                        reason=row.reason,
                        details=details,
                        prev_hash=row.prev_hash,
                    )
                    if digest != row.hash:
                        return broken(
                            seq, f"entry {seq}: content does not match its hash (altered)"
                        )
                    previous_hash = row.hash
                    expected += 1
                    checked += 1
                    if progress is not None and checked % _PROGRESS_EVERY == 0:
                        progress(checked)
            finally:
                result.close()
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
        return Verification(
            True,
            checked,
            None,
            f"{checked} entries verified; chain head is entry {checked} with hash {previous_hash}",
        )

"""The store over SQLAlchemy Core: one implementation of the logic, two dialects.

``SQLiteStore`` and ``PostgresStore`` differ only in full-text search; everything else
(versions, currency, markings, edges, tombstones, keyset paging) is shared here.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.domain.stix import Memo, Prepared, Problem, prepare, stored_links
from diapason.domain.timestamps import store_now
from diapason.domain.trust import Candidate, Held, Sender, screen
from diapason.store.db import (
    Database,
    open_database,
    read_connection,
    write_transaction,
)
from diapason.store.interface import (
    Edge,
    Page,
    PutReport,
    Query,
    StoredObject,
    Tombstone,
)
from diapason.store.rows import (
    BULK_ROWS,
    AnalysisSchedule,
    allocate,
    among,
    copy_rows,
    insert_tuples,
    lock_counter,
    placeholder,
)
from diapason.store.schema import edges, object_markings, objects, tombstones

# Called inside a batch's write transaction with the ids written (e.g. to audit them).
WriteHook = Callable[[sa.Connection, list[str]], None]

# Objects per write transaction. A version lands in a few B-trees keyed by random values
# (its id, its ``modified``, the ids it references); a transaction dirties about one page
# per row and tree until the batch covers the tree, so larger batches write far fewer
# pages per object (CHANGELOG.md, 2026-11-29, second session).
DEFAULT_BATCH_SIZE = 50_000
# A batch also ends once it holds this many characters of JSON: it is kept in memory
# until it commits, and objects may be up to ``max_object_bytes`` each.
DEFAULT_BATCH_CHARS = 64 * 1_048_576

# The width of the ``source`` and tombstone ``actor`` columns.
MAX_NAME = 200

_OBJECT_COLUMNS = (
    objects.c.seq,
    objects.c.id,
    objects.c.type,
    objects.c.modified,
    objects.c.date_added,
    objects.c.revoked,
    objects.c.is_current,
    objects.c.source,
    objects.c.content,
)
_OBJECT_COLUMN_LIST = ", ".join(column.name for column in _OBJECT_COLUMNS)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a bulk write runs.

    A batch keeps tens of thousands of new objects alive until it commits, and the caller
    often holds its whole input: each full collection walks all of them again, to free
    nothing (they hold no cycles). It was a tenth of an import. Re-enabled on the way out
    only if it was enabled on the way in, so nested or concurrent writes are safe.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def add_link_rows(
    seq: int,
    markings: Iterable[str],
    references: Iterable[tuple[str, str]],
    marking_rows: list[tuple[str, int]],
    edge_rows: list[tuple[str, int, str]],
) -> None:
    """Append the ``object_markings`` and ``edges`` rows of version ``seq`` (in the tables'
    column order). The write and ``delete`` both use this, so they always agree on the
    keys."""
    marking_rows += zip(markings, repeat(seq))
    # created_by_ref is already an indexed column of objects: neighbours() reads it from
    # there, and a second copy would be a quarter of all edges.
    edge_rows += [(target, seq, prop) for prop, target in references if prop != "created_by_ref"]


def neighbour_edges(engine: sa.Engine, object_id: str, limit: int | None = None) -> list[Edge]:
    """The references leaving and reaching an object's current version.

    Those leaving it are read from its content; those reaching it from the edges (keyed by
    target) and the authors column. With ``limit``, at most that many of each kind (an
    object page draws only a few, and an identity may author tens of thousands of objects).
    """
    source = objects.alias("source")
    reaching = (
        sa.select(source.c.id, edges.c.property, edges.c.target_id)
        .join_from(edges, source, source.c.seq == edges.c.source_seq)
        .where((edges.c.target_id == object_id) & source.c.is_current)
        .limit(limit)
    )
    authored = (
        sa.select(objects.c.id, sa.literal("created_by_ref"), objects.c.created_by_ref)
        .where(objects.c.is_current & (objects.c.created_by_ref == object_id))
        .limit(limit)
    )
    current = sa.select(objects.c.content).where((objects.c.id == object_id) & objects.c.is_current)
    found: list[Edge] = []
    with read_connection(engine) as connection:
        content = connection.execute(current).scalar()
        if content is not None:
            leaving = stored_links(content)[1]
            found.extend(Edge(object_id, prop, target) for prop, target in leaving[:limit])
        for statement in (reaching, authored):
            found.extend(Edge(*row) for row in connection.execute(statement))
    return found


def _stored(row: sa.Row[*tuple[Any, ...]]) -> StoredObject:
    return StoredObject(
        seq=row.seq,
        id=row.id,
        type=row.type,
        modified=row.modified,
        date_added=row.date_added,
        revoked=bool(row.revoked),
        current=bool(row.is_current),
        source=row.source,
        object=orjson.loads(row.content),
    )


@dataclass(slots=True)
class _Holding:
    """What the store holds of a batch's ids, read in the batch's write transaction.

    Deciding adds each fresh version of the batch to it (``add``), so that a later version
    of the same id in the batch sees the earlier ones as held.
    """

    # (id, modified) -> seq, for every version held.
    stored: dict[tuple[str, str], int] = field(default_factory=dict)
    # id -> (modified, seq) of its current version; seq is None for a version of the batch.
    current: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # id -> where each version came from and who each says created it: the trust rules
    # (domain/trust.py) read them.
    provenance: dict[str, tuple[set[str | None], set[str | None]]] = field(default_factory=dict)
    # The seqs of the marking-definitions held, and their contents by id (never versioned:
    # any other content under their id is refused).
    definitions: list[int] = field(default_factory=list)
    definition_contents: dict[str, set[str]] = field(default_factory=dict)
    # (id, modified) -> content of each version sent again (held, or earlier in the batch),
    # to tell a repeat (unchanged) from a different content under the same version.
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    # id -> when it was last deleted, for the ids with a tombstone.
    deleted: dict[str, str] = field(default_factory=dict)

    def held(self, object_id: str) -> Held | None:
        """What the trust rules read of an id; None when no version of it is held."""
        found = self.provenance.get(object_id)
        if found is None:
            return None
        return Held(
            frozenset(found[0]),
            frozenset(found[1]),
            frozenset(self.definition_contents.get(object_id, ())),
        )

    def add(self, prepared: Prepared, source: str | None) -> None:
        """Count a fresh version of the batch as held, for the versions after it."""
        self.known[(prepared.id, prepared.modified)] = prepared.content
        sources, authors = self.provenance.setdefault(prepared.id, (set(), set()))
        sources.add(source)
        authors.add(prepared.created_by_ref)
        if prepared.type == "marking-definition":
            self.definition_contents.setdefault(prepared.id, set()).add(prepared.content)


@dataclass(slots=True)
class _Fresh:
    """The versions a batch writes, and which of them become current."""

    versions: list[Prepared] = field(default_factory=list)
    # id -> the version of the batch that is current (the newest held or written).
    winners: dict[str, Prepared] = field(default_factory=dict)
    # The seqs of held versions that a version of the batch replaces as current.
    demoted_seqs: list[int] = field(default_factory=list)

    def add(self, prepared: Prepared, current: dict[str, tuple[str, int | None]]) -> None:
        """Write ``prepared``, current if newer than its id's current version (in
        ``current``, updated); that version, if held, is demoted."""
        self.versions.append(prepared)
        holder = current.get(prepared.id)
        if holder is None or prepared.modified > holder[0]:
            if holder is not None and holder[1] is not None:
                self.demoted_seqs.append(holder[1])
            current[prepared.id] = (prepared.modified, None)
            self.winners[prepared.id] = prepared


@dataclass(slots=True)
class _Rows:
    """The rows a batch inserts, each in its table's column order."""

    versions: list[tuple[Any, ...]] = field(default_factory=list)  # objects
    fts: list[tuple[int, str]] = field(default_factory=list)
    markings: list[tuple[str, int]] = field(default_factory=list)
    edges: list[tuple[str, int, str]] = field(default_factory=list)


def _decide(
    batch: list[Prepared],
    holding: _Holding,
    source: str | None,
    sender: Sender,
    report: PutReport,
) -> _Fresh:
    """Decide each version of the batch, in order, and report it: unchanged (held with
    this very content), refused (``_refusal``) or fresh, to be written."""
    fresh = _Fresh()
    known, current = holding.known, holding.current
    for prepared in batch:
        held = known.get((prepared.id, prepared.modified))
        if held is not None and held == prepared.content:
            report.unchanged.append(prepared.id)
            report.versions.append((prepared.index, prepared.id, prepared.modified))
            continue
        problem = _refusal(prepared, held is not None, holding, sender)
        if problem is not None:
            report.refused.append(problem)
            continue
        holding.add(prepared, source)
        fresh.add(prepared, current)
        report.written.append(prepared.id)
        report.versions.append((prepared.index, prepared.id, prepared.modified))
    return fresh


def _refusal(
    prepared: Prepared, conflict: bool, holding: _Holding, sender: Sender
) -> Problem | None:
    """Why a version not held as it is may not be written, if it may not, in this order:
    the trust rules refuse it; another content is held under its ``(id, modified)``
    (``conflict``); its object was deleted at or after its ``modified``."""
    refusal = screen(
        Candidate(prepared.id, prepared.type, prepared.created_by_ref, prepared.content),
        holding.held(prepared.id),
        sender,
    )
    if refusal is not None:
        return Problem(
            prepared.index, prepared.id, refusal.field, refusal.message, str(refusal.rule)
        )
    if conflict:
        return Problem(
            prepared.index,
            prepared.id,
            "modified",
            "a different content is already stored for version "
            f"{prepared.modified}; a change needs a new 'modified'",
            "conflict",
        )
    erased = holding.deleted.get(prepared.id)
    if erased is not None and prepared.modified <= erased:
        return Problem(
            prepared.index,
            prepared.id,
            "modified",
            f"the object was deleted at {erased}; only a newer version can bring it back",
            "conflict",
        )
    return None


def _version_rows(fresh: _Fresh, first: int, added: str, source: str | None) -> _Rows:
    """The rows of the fresh versions, numbered from ``first`` in the batch's order: an
    ``objects`` row each, and for those now current their marking and reference rows and,
    unless revoked, their full text."""
    rows = _Rows()
    for offset, prepared in enumerate(fresh.versions):
        seq = first + offset
        is_current = fresh.winners.get(prepared.id) is prepared
        rows.versions.append(
            (
                seq,
                prepared.id,
                prepared.modified,
                prepared.type,
                prepared.spec_version,
                prepared.created,
                prepared.created_by_ref,
                prepared.revoked,
                is_current,
                added,
                source,
                prepared.content,
            )
        )
        if not is_current:
            continue
        if prepared.text and not prepared.revoked:
            rows.fts.append((seq, prepared.text))
        add_link_rows(seq, prepared.markings, prepared.edges, rows.markings, rows.edges)
    return rows


class SqlStore:
    """Shared implementation; subclasses provide the full-text part."""

    dialect = "sql"

    def __init__(
        self,
        database: Database,
        *,
        max_object_bytes: int = 1_048_576,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_chars: int = DEFAULT_BATCH_CHARS,
    ) -> None:
        self.database = database
        self.engine = database.engine
        self.max_object_bytes = max_object_bytes
        self.batch_size = batch_size
        self.batch_chars = batch_chars

    # -- full text: dialect hooks -------------------------------------------------------
    def _fts_insert(self, connection: sa.Connection, rows: list[tuple[int, str]]) -> None:
        raise NotImplementedError

    def _fts_delete(self, connection: sa.Connection, seqs: list[int]) -> None:
        raise NotImplementedError

    def _fts_match(self, text: str) -> sa.ColumnElement[bool] | None:
        """A condition on ``objects.c.seq``; None when the text has no searchable word."""
        raise NotImplementedError

    # -- writing --------------------------------------------------------------------------
    def put_many(
        self,
        objects_in: Iterable[Any],
        *,
        source: str | None = None,
        start_index: int = 0,
        on_write: WriteHook | None = None,
        sender: Sender | None = None,
    ) -> PutReport:
        if source is not None and not 0 < len(source) <= MAX_NAME:
            raise ValueError(f"source: must be 1 to {MAX_NAME} characters")
        if sender is None:
            sender = Sender.from_source(source)
        report = PutReport()
        batch: list[Prepared] = []
        chars = 0
        memo = Memo()  # this call's own: put_many runs on the web server's worker threads
        with collection_paused():
            for index, obj in enumerate(objects_in, start_index):
                prepared = prepare(obj, index, self.max_object_bytes, memo)
                if isinstance(prepared, Problem):
                    report.refused.append(prepared)
                    continue
                batch.append(prepared)
                chars += len(prepared.content)
                if len(batch) >= self.batch_size or chars >= self.batch_chars:
                    self._write_batch(batch, source, sender, report, on_write)
                    batch = []
                    chars = 0
            if batch:
                self._write_batch(batch, source, sender, report, on_write)
        report.refused.sort(key=lambda problem: problem.index)
        return report

    def _write_batch(
        self,
        batch: list[Prepared],
        source: str | None,
        sender: Sender,
        report: PutReport,
        on_write: WriteHook | None,
    ) -> None:
        before = len(report.written)
        self._write_one_batch(batch, source, sender, report, on_write)
        self._after_write(len(report.written) - before)

    def _write_one_batch(
        self,
        batch: list[Prepared],
        source: str | None,
        sender: Sender,
        report: PutReport,
        on_write: WriteHook | None,
    ) -> None:
        """Write one batch in one transaction, alone among the writers of objects: read
        what is held of its ids, decide each version, write the fresh ones and call
        ``on_write`` with their ids. A batch with nothing fresh writes nothing more."""
        written_before = len(report.written)
        with write_transaction(self.engine, bulk=len(batch) >= BULK_ROWS) as connection:
            lock_counter(connection, "objects")
            holding = self._read_holding(connection, batch)
            fresh = _decide(batch, holding, source, sender, report)
            if not fresh.versions:
                return
            self._write_fresh(connection, fresh, source)
            if on_write is not None:
                # In the same transaction: the batch and its audit entry commit together.
                on_write(connection, report.written[written_before:])

    def _read_holding(self, connection: sa.Connection, batch: list[Prepared]) -> _Holding:
        """What the store holds of the batch's ids: their versions, the contents of the
        marking-definitions among them and of the versions sent again, their tombstones."""
        holding = _Holding()
        # One statement for the whole batch, the ids bound as a single parameter.
        in_ids, ids_value = among(self.dialect, list(dict.fromkeys(p.id for p in batch)))
        self._read_versions(connection, in_ids, ids_value, holding)
        if holding.definitions:
            self._read_definition_contents(connection, holding)
        self._read_sent_again(connection, batch, holding)
        holding.deleted = self._read_deleted(connection, in_ids, ids_value)
        return holding

    def _read_versions(
        self, connection: sa.Connection, in_ids: str, ids_value: Any, holding: _Holding
    ) -> None:
        """Every version held of these ids (``among``): its seq, whether it is current,
        where it came from and who it says created it, whether it is a marking-definition."""
        stored, current, provenance = holding.stored, holding.current, holding.provenance
        for (
            object_id,
            modified,
            is_current,
            seq,
            kind,
            held_source,
            author,
        ) in connection.exec_driver_sql(
            "SELECT id, modified, is_current, seq, type, source, created_by_ref "
            f"FROM objects WHERE id {in_ids}",
            (ids_value,),
        ):
            stored[(object_id, modified)] = seq
            if is_current:
                current[object_id] = (modified, seq)
            sources, authors = provenance.setdefault(object_id, (set(), set()))
            sources.add(held_source)
            authors.add(author)
            if kind == "marking-definition":
                holding.definitions.append(seq)

    def _read_definition_contents(self, connection: sa.Connection, holding: _Holding) -> None:
        """The contents of the marking-definitions held (``holding.definitions``)."""
        in_seqs, seqs_value = among(self.dialect, holding.definitions)
        for object_id, content in connection.exec_driver_sql(
            f"SELECT id, content FROM objects WHERE seq {in_seqs}", (seqs_value,)
        ):
            holding.definition_contents.setdefault(object_id, set()).add(content)

    def _read_sent_again(
        self, connection: sa.Connection, batch: list[Prepared], holding: _Holding
    ) -> None:
        """The stored content of each version the batch sends again (nothing is read for
        the versions it sends for the first time)."""
        stored = holding.stored
        again: set[int] = set()
        if stored:
            again = {stored[k] for p in batch if (k := (p.id, p.modified)) in stored}
        if again:
            in_seqs, seqs_value = among(self.dialect, list(again))
            for object_id, modified, content in connection.exec_driver_sql(
                f"SELECT id, modified, content FROM objects WHERE seq {in_seqs}",
                (seqs_value,),
            ):
                holding.known[(object_id, modified)] = content

    def _read_deleted(
        self, connection: sa.Connection, in_ids: str, ids_value: Any
    ) -> dict[str, str]:
        """When each of these ids (``among``) was last deleted, for those deleted."""
        # Most stores never delete: one row read then spares a lookup for every id.
        if not connection.exec_driver_sql("SELECT 1 FROM tombstones LIMIT 1").first():
            return {}
        return {
            object_id: deleted_at
            for object_id, deleted_at in connection.exec_driver_sql(
                "SELECT object_id, max(deleted_at) FROM tombstones "
                f"WHERE object_id {in_ids} GROUP BY object_id",
                (ids_value,),
            )
        }

    def _write_fresh(self, connection: sa.Connection, fresh: _Fresh, source: str | None) -> None:
        """Number the fresh versions, demote the held versions they replace as current,
        then insert their rows."""
        first = allocate(connection, "objects", len(fresh.versions))
        rows = _version_rows(fresh, first, store_now(), source)
        if fresh.demoted_seqs:
            self._demote(connection, fresh.demoted_seqs)
        self._insert_rows(connection, rows)

    def _demote(self, connection: sa.Connection, seqs: list[int]) -> None:
        """Mark these versions current no more.

        A demoted version keeps its full-text, marking and reference rows: every read of
        them keeps current versions only (is_current), and deleting them here cost more
        than it saved (docs/store.md). delete() erases them all.
        """
        in_seqs, seqs_value = among(self.dialect, seqs)
        connection.exec_driver_sql(
            f"UPDATE objects SET is_current = FALSE WHERE seq {in_seqs}", (seqs_value,)
        )

    def _insert_rows(self, connection: sa.Connection, rows: _Rows) -> None:
        """Insert a batch's rows: the versions, then markings, references and full text."""
        # Plain DB-API executemany with tuples: the bulk path, several times faster than
        # compiling a Core insert for every row.
        insert_tuples(connection, objects, rows.versions)
        if rows.markings:
            insert_tuples(connection, object_markings, rows.markings)
        if rows.edges:
            insert_tuples(connection, edges, rows.edges)
        if rows.fts:
            self._fts_insert(connection, rows.fts)

    def _after_write(self, written: int) -> None:
        """Dialect hook after a ``put_many``; nothing by default."""

    def _clear_links(self, connection: sa.Connection, seqs: list[int]) -> None:
        """Erase the markings and references rows of these versions (an object deleted).

        The rows are keyed by marking and by target, not by version: each version's content
        says which keys it wrote (the same ``add_link_rows`` as the write), and those rows
        are deleted by key. A version that never was current wrote none; deleting its keys
        finds nothing.
        """
        marking_keys: list[tuple[str, int]] = []
        edge_keys: list[tuple[str, int, str]] = []
        in_seqs, seqs_value = among(self.dialect, seqs)
        memo = Memo()
        for seq, content in connection.exec_driver_sql(
            f"SELECT seq, content FROM objects WHERE seq {in_seqs}", (seqs_value,)
        ):
            markings, references = stored_links(content, memo)
            add_link_rows(seq, markings, references, marking_keys, edge_keys)
        mark = placeholder(connection)
        if edge_keys:
            connection.exec_driver_sql(
                f"DELETE FROM edges WHERE target_id = {mark} AND source_seq = {mark} "
                f"AND property = {mark}",
                edge_keys,
            )
        if marking_keys:
            connection.exec_driver_sql(
                f"DELETE FROM object_markings WHERE marking_ref = {mark} AND object_seq = {mark}",
                marking_keys,
            )

    def delete(self, object_id: str, *, actor: str, reason: str) -> Tombstone | None:
        if not 0 < len(actor) <= MAX_NAME:
            raise ValueError(f"actor: must be 1 to {MAX_NAME} characters")
        with write_transaction(self.engine) as connection:
            lock_counter(connection, "objects")
            rows = connection.execute(
                sa.select(objects.c.seq, objects.c.type).where(objects.c.id == object_id)
            ).all()
            if not rows:
                return None
            seqs = [row.seq for row in rows]
            self._fts_delete(connection, seqs)
            self._clear_links(connection, seqs)
            connection.execute(objects.delete().where(objects.c.id == object_id))
            deleted_at = store_now()
            seq = connection.execute(
                tombstones.insert()
                .values(
                    object_id=object_id,
                    type=rows[0].type,
                    deleted_at=deleted_at,
                    actor=actor,
                    reason=reason,
                )
                .returning(tombstones.c.seq)
            ).scalar_one()
        return Tombstone(seq, object_id, rows[0].type, deleted_at, actor, reason)

    # -- reading --------------------------------------------------------------------------
    def _one(self, where: str, *values: str) -> StoredObject | None:
        """The version matching a condition in raw SQL (``{}`` for each bound value).

        Gets by id are the most frequent read (every page of an object, every consultation
        audited). Raw SQL skips building and compiling a Core statement for each: on
        PostgreSQL that was half of a get's time (CHANGELOG.md, 2026-11-30, ninth session).
        """
        with read_connection(self.engine) as connection:
            mark = placeholder(connection)
            row = connection.exec_driver_sql(
                f"SELECT {_OBJECT_COLUMN_LIST} FROM objects WHERE "
                + where.format(*(mark for _ in values)),
                values,
            ).first()
        return _stored(row) if row is not None else None

    def get(self, object_id: str) -> StoredObject | None:
        return self._one("id = {} AND is_current", object_id)

    def get_version(self, object_id: str, modified: str) -> StoredObject | None:
        return self._one("id = {} AND modified = {}", object_id, modified)

    def versions(self, object_id: str) -> list[StoredObject]:
        statement = (
            sa.select(*_OBJECT_COLUMNS)
            .where(objects.c.id == object_id)
            .order_by(objects.c.modified)
        )
        with read_connection(self.engine) as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def query(self, query: Query) -> Page:
        conditions: list[sa.ColumnElement[bool]] = [objects.c.is_current]
        if not query.include_revoked:
            conditions.append(objects.c.revoked.is_(False))
        if query.types:
            conditions.append(objects.c.type.in_(query.types))
        if query.created_by:
            conditions.append(objects.c.created_by_ref == query.created_by)
        if query.marking:
            conditions.append(
                objects.c.seq.in_(
                    sa.select(object_markings.c.object_seq).where(
                        object_markings.c.marking_ref == query.marking
                    )
                )
            )
        column = objects.c[query.time_field]
        if query.since:
            conditions.append(column >= query.since)
        if query.until:
            conditions.append(column < query.until)
        if query.text is not None:
            match = self._fts_match(query.text)
            if match is None:
                return Page([], None)
            conditions.append(match)
        if query.after is not None:
            conditions.append(objects.c.seq > query.after)
        limit = max(1, query.limit)
        statement = (
            sa.select(*_OBJECT_COLUMNS).where(*conditions).order_by(objects.c.seq).limit(limit + 1)
        )
        with read_connection(self.engine) as connection:
            rows = connection.execute(statement).all()
        found = [_stored(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(found, found[-1].seq if more and found else None)

    def provenance(self, ids: Sequence[str]) -> list[tuple[str, str, str | None, str | None]]:
        """``(id, modified, source, created_by_ref)`` of every version held of these ids."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        in_ids, ids_value = among(self.dialect, wanted)
        with read_connection(self.engine) as connection:
            return [
                (row[0], row[1], row[2], row[3])
                for row in connection.exec_driver_sql(
                    f"SELECT id, modified, source, created_by_ref FROM objects WHERE id {in_ids}",
                    (ids_value,),
                )
            ]

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these ids the store holds a version of."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        in_ids, ids_value = among(self.dialect, wanted)
        with read_connection(self.engine) as connection:
            return {
                row[0]
                for row in connection.exec_driver_sql(
                    f"SELECT DISTINCT id FROM objects WHERE id {in_ids}", (ids_value,)
                )
            }

    def count(self, *, include_revoked: bool = False) -> int:
        statement = sa.select(sa.func.count()).select_from(objects).where(objects.c.is_current)
        if not include_revoked:
            statement = statement.where(objects.c.revoked.is_(False))
        with read_connection(self.engine) as connection:
            return int(connection.execute(statement).scalar_one())

    def neighbours(self, object_id: str) -> list[Edge]:
        return neighbour_edges(self.engine, object_id)

    def tombstones(self, after: int = 0, limit: int = 1000) -> list[Tombstone]:
        statement = (
            sa.select(tombstones).where(tombstones.c.seq > after).order_by(tombstones.c.seq)
        ).limit(limit)
        with read_connection(self.engine) as connection:
            return [Tombstone(*row) for row in connection.execute(statement)]

    def close(self) -> None:
        self.database.close()


_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(text: str) -> list[str]:
    """The words of a search query; every other character is ignored, never interpreted."""
    return _WORD.findall(text.lower())


class SQLiteStore(SqlStore):
    dialect = "sqlite"

    def _fts_insert(self, connection: sa.Connection, rows: list[tuple[int, str]]) -> None:
        connection.exec_driver_sql("INSERT INTO object_fts(rowid, body) VALUES (?, ?)", rows)

    def _fts_delete(self, connection: sa.Connection, seqs: list[int]) -> None:
        connection.exec_driver_sql(
            "DELETE FROM object_fts WHERE rowid = ?", [(seq,) for seq in seqs]
        )

    def _fts_match(self, text: str) -> sa.ColumnElement[bool] | None:
        words = search_words(text)
        if not words:
            return None
        expression = " ".join(f'"{word}"' for word in words)
        return objects.c.seq.in_(
            sa.select(sa.column("rowid"))
            .select_from(sa.table("object_fts"))
            .where(sa.text("object_fts MATCH :fts").bindparams(fts=expression))
        )


class PostgresStore(SqlStore):
    dialect = "postgresql"

    def __init__(self, database: Database, **options: Any) -> None:
        super().__init__(database, **options)
        self._analysis = AnalysisSchedule()

    def _after_write(self, written: int) -> None:
        # A bulk load into a fresh table leaves the planner without statistics: it then
        # scans the whole table for every "id IN (...)" lookup. Autovacuum catches up only
        # later, so a store that has just written many rows analyses them itself.
        if self._analysis.due(written):
            with self.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE objects, edges, object_markings, object_fts")
                connection.commit()

    def _fts_insert(self, connection: sa.Connection, rows: list[tuple[int, str]]) -> None:
        copy_rows(
            connection, "object_fts (seq, body)", [(seq, tsvector_body(body)) for seq, body in rows]
        )

    def _fts_delete(self, connection: sa.Connection, seqs: list[int]) -> None:
        in_seqs, seqs_value = among(self.dialect, seqs)
        connection.exec_driver_sql(f"DELETE FROM object_fts WHERE seq {in_seqs}", (seqs_value,))

    def _fts_match(self, text: str) -> sa.ColumnElement[bool] | None:
        words = search_words(fold(text))
        if not words:
            return None
        return objects.c.seq.in_(
            sa.select(sa.column("seq"))
            .select_from(sa.table("object_fts"))
            .where(
                sa.text("tsv @@ plainto_tsquery('simple', :fts)").bindparams(fts=" ".join(words))
            )
        )


# Estimated tsvector bytes per lexeme besides its own: entry header, one position, padding.
_LEXEME_OVERHEAD = 10
# PostgreSQL refuses a tsvector over 1 MiB (and with it the whole write); stay under it.
TSVECTOR_BUDGET = 1_000_000
_TS_WORD = re.compile(r"[^\W_]+")


def tsvector_body(text: str) -> str:
    """The text PostgreSQL indexes: the words FTS5 would see, each once, within the budget.

    PostgreSQL's parser keeps ``evil.example.com`` or ``a@b.org`` as one token where FTS5
    splits them, so the same search would find different objects on the two databases;
    splitting here makes them agree (and drops NUL characters, which PostgreSQL text cannot
    hold). Queries are an AND of words and never use positions, so repeats are dropped.
    """
    kept: list[str] = []
    size = 0
    for word in dict.fromkeys(_TS_WORD.findall(fold(text))):
        size += len(word.encode()) + _LEXEME_OVERHEAD
        if size > TSVECTOR_BUDGET:
            break
        kept.append(word)
    return " ".join(kept)


def fold(text: str) -> str:
    """Lower-case without diacritics, as SQLite's ``remove_diacritics`` tokenizer sees it."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def open_store(
    url: str,
    *,
    max_object_bytes: int = 1_048_576,
    batch_size: int = DEFAULT_BATCH_SIZE,
    upgrade: bool = True,
) -> SqlStore:
    """Open (and by default migrate) the store behind a database URL."""
    return store_on(
        open_database(url, upgrade=upgrade),
        max_object_bytes=max_object_bytes,
        batch_size=batch_size,
    )


def store_on(
    database: Database,
    *,
    max_object_bytes: int = 1_048_576,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> SqlStore:
    """The store of an open database (``Node.open`` shares the database with the state
    layer); closing the store closes the database."""
    kind = SQLiteStore if database.dialect == "sqlite" else PostgresStore
    return kind(database, max_object_bytes=max_object_bytes, batch_size=batch_size)

"""TAXII API roots and collections over the store: what each holds, who may use it.

A collection is a list of object versions (``collection_entries``) over the one store:
adding a version to a collection does not copy it. Entries are numbered by a store-wide
counter, so a collection's order by date added is its ``seq`` order and a keyset cursor on
``seq`` pages it whatever its size.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.domain.timestamps import consecutive_store_timestamps, parse_timestamp, store_now
from diapason.errors import DiapasonError
from diapason.store.db import write_transaction
from diapason.store.rows import (
    AnalysisSchedule,
    allocate,
    among,
    insert_tuples,
    lock_counter,
    placeholder,
)
from diapason.store.schema import (
    api_roots,
    collection_access,
    collection_entries,
    collections,
    objects,
    taxii_statuses,
)

DEFAULT_API_ROOT = "main"
DEFAULT_MAX_CONTENT_LENGTH = 104_857_600
API_ROOT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\Z")
ALIAS_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}\Z")

Entry = tuple[int, str, str, str]  # (seq, object id, modified, date added)


# The most object JSON one page of a listing holds (the sync agent's answer cap is sized
# from it: settings.sync_max_answer_bytes).
PAGE_BYTES = 64 * 1_048_576


class CollectionError(DiapasonError, ValueError):
    """A refused operation on API roots, collections or grants; the message says why."""


@dataclass(frozen=True)
class ApiRoot:
    name: str
    title: str
    description: str | None
    max_content_length: int


@dataclass(frozen=True)
class Collection:
    id: str
    api_root: str
    alias: str | None
    title: str
    description: str | None


@dataclass(frozen=True)
class Grant:
    collection_id: str
    username: str
    can_read: bool
    can_write: bool


@dataclass(frozen=True)
class EntryFilter:
    """TAXII filters, already validated; values within a field OR, fields AND."""

    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    # "first", "last", "all" or normalised timestamps; empty means the default, "last".
    versions: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()
    added_after: str | None = None


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    contents: list[str] | None  # the objects' JSON text, when asked for
    more: bool


def _distinct_stamps(connection: sa.Connection, count: int) -> list[str]:
    """``count`` date-added values, each later than every one given before (a microsecond
    apart). Every entry then has its own date added, so ``added_after`` alone can resume a
    listing exactly where it stopped, with no tie at the boundary to read twice or miss."""
    last = connection.execute(
        sa.select(collection_entries.c.date_added)
        .order_by(collection_entries.c.seq.desc())
        .limit(1)
    ).scalar()
    moment = datetime.now(UTC)
    if last is not None:
        moment = max(moment, parse_timestamp(last) + timedelta(microseconds=1))
    return consecutive_store_timestamps(moment, count)


# Object seqs scanned per INSERT … SELECT of ``Collections.fill`` (a progress step).
FILL_SLICE = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _fill_condition(types: Sequence[str], all_versions: bool) -> str:
    """Which versions of ``objects o`` in the slice ``:low < seq <= :high`` a fill adds:
    not in collection ``:cid`` yet, of an object whose current version is not revoked."""
    held = (
        "NOT EXISTS (SELECT 1 FROM collection_entries e WHERE e.collection_id = :cid "
        "AND e.object_id = o.id AND e.modified = o.modified)"
    )
    if all_versions:
        alive = (
            "EXISTS (SELECT 1 FROM objects c WHERE c.id = o.id AND c.is_current = :yes "
            "AND c.revoked = :no)"
        )
    else:
        alive = "o.is_current = :yes AND o.revoked = :no"
    typed = " AND o.type IN :types" if types else ""
    return f"o.seq > :low AND o.seq <= :high AND {alive}{typed} AND {held}"


def _bind(statement: str, types: Sequence[str]) -> sa.TextClause:
    clause = sa.text(statement)
    return clause.bindparams(sa.bindparam("types", expanding=True)) if types else clause


def _stamp_sql(dialect: str, micros: str) -> str:
    """SQL for the store form of a timestamp given in microseconds since the epoch."""
    if dialect == "postgresql":
        return (
            f"to_char(TIMESTAMP '1970-01-01 00:00:00' + (({micros}) / 1000000) * "
            f"INTERVAL '1 second' + (({micros}) % 1000000) * INTERVAL '1 microsecond', "
            '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
        )
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', ({micros}) / 1000000, 'unixepoch') || '.' || "
        f"printf('%06d', ({micros}) % 1000000) || 'Z'"
    )


def _collection(row: sa.Row[Any]) -> Collection:
    return Collection(row.id, row.api_root, row.alias, row.title, row.description)


class Collections:
    """API roots, collections, grants, entries and add statuses of one node."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._analysis = AnalysisSchedule()

    # -- API roots ----------------------------------------------------------------------
    def add_api_root(
        self,
        name: str,
        title: str,
        description: str | None = None,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
    ) -> ApiRoot:
        if not API_ROOT_NAME_RE.match(name):
            raise CollectionError(
                f"API root name {name!r}: use 1-63 lower-case letters, digits, '-' or '_'"
            )
        if not title.strip():
            raise CollectionError("API root title: must not be empty")
        if max_content_length <= 0:
            raise CollectionError("max_content_length: must be positive")
        with write_transaction(self.engine) as connection:
            if connection.execute(
                sa.select(api_roots.c.name).where(api_roots.c.name == name)
            ).first():
                raise CollectionError(f"API root {name!r} exists already")
            connection.execute(
                api_roots.insert().values(
                    name=name,
                    title=title,
                    description=description,
                    max_content_length=max_content_length,
                    created_at=store_now(),
                )
            )
        return ApiRoot(name, title, description, max_content_length)

    def api_roots(self) -> list[ApiRoot]:
        statement = sa.select(
            api_roots.c.name,
            api_roots.c.title,
            api_roots.c.description,
            api_roots.c.max_content_length,
        ).order_by(api_roots.c.name)
        with self.engine.connect() as connection:
            return [ApiRoot(*row) for row in connection.execute(statement)]

    def api_root(self, name: str) -> ApiRoot | None:
        return next((root for root in self.api_roots() if root.name == name), None)

    def ensure_default(self, node_name: str) -> ApiRoot:
        """The default API root, created on first use."""
        found = self.api_root(DEFAULT_API_ROOT)
        if found is not None:
            return found
        return self.add_api_root(DEFAULT_API_ROOT, f"{node_name} TAXII 2.1")

    # -- collections ----------------------------------------------------------------------
    def add(
        self,
        api_root: str,
        title: str,
        *,
        alias: str | None = None,
        description: str | None = None,
        collection_id: str | None = None,
    ) -> Collection:
        if self.api_root(api_root) is None:
            raise CollectionError(f"no API root {api_root!r}")
        if not title.strip() or len(title) > 200:
            raise CollectionError("collection title: 1 to 200 characters")
        if alias is not None and not ALIAS_RE.match(alias):
            raise CollectionError(
                f"alias {alias!r}: use lower-case letters, digits, '.', '-' or '_'"
            )
        if collection_id is None:
            collection_id = str(uuid.uuid4())
        else:
            try:
                collection_id = str(uuid.UUID(collection_id))
            except ValueError:
                raise CollectionError(f"collection id {collection_id!r} is not a UUID") from None
        with write_transaction(self.engine) as connection:
            same: sa.ColumnElement[bool] = collections.c.id == collection_id
            if alias is not None:
                same = same | (
                    (collections.c.api_root == api_root) & (collections.c.alias == alias)
                )
            clash = connection.execute(sa.select(collections.c.id).where(same)).first()
            if clash is not None:
                raise CollectionError(
                    f"a collection with id {collection_id} or alias {alias!r} exists already"
                )
            connection.execute(
                collections.insert().values(
                    id=collection_id,
                    api_root=api_root,
                    alias=alias,
                    title=title,
                    description=description,
                    created_at=store_now(),
                )
            )
        return Collection(collection_id, api_root, alias, title, description)

    def all(self, api_root: str | None = None) -> list[Collection]:
        statement = sa.select(collections).order_by(collections.c.created_at, collections.c.id)
        if api_root is not None:
            statement = statement.where(collections.c.api_root == api_root)
        with self.engine.connect() as connection:
            return [_collection(row) for row in connection.execute(statement)]

    def get(self, api_root: str, key: str) -> Collection | None:
        """A collection of an API root by id or alias."""
        statement = sa.select(collections).where(
            (collections.c.api_root == api_root)
            & ((collections.c.id == key) | (collections.c.alias == key))
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return _collection(row) if row is not None else None

    def find_alias(self, api_root: str, alias: str) -> Collection | None:
        statement = sa.select(collections).where(
            (collections.c.api_root == api_root) & (collections.c.alias == alias)
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return _collection(row) if row is not None else None

    def find(self, key: str) -> Collection:
        """A collection by id or alias across API roots, for the CLI."""
        statement = sa.select(collections).where(
            (collections.c.id == key) | (collections.c.alias == key)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        if not rows:
            raise CollectionError(f"no collection {key!r}")
        if len(rows) > 1:
            raise CollectionError(f"{key!r} names several collections: use its id")
        return _collection(rows[0])

    # -- grants ---------------------------------------------------------------------------
    def grant(self, collection_id: str, username: str, *, read: bool, write: bool) -> Grant:
        """Set what a user (or a partner node's account) may do in a collection."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                collection_access.delete().where(
                    (collection_access.c.collection_id == collection_id)
                    & (collection_access.c.username == username)
                )
            )
            if read or write:
                connection.execute(
                    collection_access.insert().values(
                        collection_id=collection_id,
                        username=username,
                        can_read=read,
                        can_write=write,
                    )
                )
        return Grant(collection_id, username, read, write)

    def grants(self, collection_id: str | None = None) -> list[Grant]:
        statement = sa.select(
            collection_access.c.collection_id,
            collection_access.c.username,
            collection_access.c.can_read,
            collection_access.c.can_write,
        ).order_by(collection_access.c.collection_id, collection_access.c.username)
        if collection_id is not None:
            statement = statement.where(collection_access.c.collection_id == collection_id)
        with self.engine.connect() as connection:
            return [Grant(*row) for row in connection.execute(statement)]

    def grant_for(self, collection_id: str, username: str) -> Grant:
        statement = sa.select(collection_access.c.can_read, collection_access.c.can_write).where(
            (collection_access.c.collection_id == collection_id)
            & (collection_access.c.username == username)
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return Grant(collection_id, username, False, False)
        return Grant(collection_id, username, bool(row[0]), bool(row[1]))

    # -- entries --------------------------------------------------------------------------
    def add_entries(
        self,
        collection_id: str,
        versions: Sequence[tuple[str, str]],
        *,
        connection: sa.Connection | None = None,
        object_seqs: Mapping[tuple[str, str], int] | None = None,
    ) -> int:
        """Put stored object versions ``(id, modified)`` in a collection; returns how many
        were new there. Versions already in the collection are left as they are.

        ``connection``: write inside the caller's write transaction. ``object_seqs``: each
        version's ``objects.seq``, when the caller has just read them (else read here); a
        version missing from it is not stored and is skipped.
        """
        wanted = set(versions)
        if not wanted:
            return 0
        ids = sorted({object_id for object_id, _ in wanted})
        with write_transaction(self.engine, connection) as conn:
            lock_counter(conn, "entries")
            in_ids, ids_value = among(conn.dialect.name, ids)
            if object_seqs is None:
                object_seqs = {
                    (object_id, modified): seq
                    for object_id, modified, seq in conn.exec_driver_sql(
                        f"SELECT id, modified, seq FROM objects WHERE id {in_ids}", (ids_value,)
                    )
                }
            stored = {key: object_seqs[key] for key in wanted if key in object_seqs}
            held: dict[str, dict[str, tuple[int, bool, bool]]] = {}
            mark = placeholder(conn)
            for object_id, modified, seq, is_first, is_latest in conn.exec_driver_sql(
                "SELECT object_id, modified, seq, is_first, is_latest FROM collection_entries "
                f"WHERE collection_id = {mark} AND object_id {in_ids}",
                (collection_id, ids_value),
            ):
                held.setdefault(object_id, {})[modified] = (seq, bool(is_first), bool(is_latest))
            fresh = sorted(
                (key for key in wanted if key in stored and key[1] not in held.get(key[0], {})),
                key=stored.__getitem__,
            )
            if not fresh:
                return 0
            first = allocate(conn, "entries", len(fresh))
            stamps = _distinct_stamps(conn, len(fresh))
            # seq and date added follow the objects' own order.
            new_rows = {key: (first + offset, stamps[offset]) for offset, key in enumerate(fresh)}
            flag_changes: list[tuple[int, bool, bool]] = []
            insert_rows: list[tuple[Any, ...]] = []
            fresh_by_id: dict[str, set[str]] = {}
            for object_id, modified in fresh:
                fresh_by_id.setdefault(object_id, set()).add(modified)
            for object_id, new_modifieds in fresh_by_id.items():
                existing = held.get(object_id, {})
                modifieds = sorted(existing.keys() | new_modifieds)
                oldest, newest = modifieds[0], modifieds[-1]
                for modified, (seq, was_first, was_latest) in existing.items():
                    if (modified == oldest, modified == newest) != (was_first, was_latest):
                        flag_changes.append((seq, modified == oldest, modified == newest))
                for modified in new_modifieds:
                    seq, added = new_rows[(object_id, modified)]
                    insert_rows.append(
                        (
                            seq,
                            collection_id,
                            object_id,
                            modified,
                            stored[(object_id, modified)],
                            added,
                            modified == oldest,
                            modified == newest,
                        )
                    )
            if flag_changes:
                conn.execute(
                    collection_entries.update()
                    .where(collection_entries.c.seq == sa.bindparam("b_seq"))
                    .values(is_first=sa.bindparam("b_first"), is_latest=sa.bindparam("b_latest")),
                    [
                        {"b_seq": seq, "b_first": is_first, "b_latest": is_latest}
                        for seq, is_first, is_latest in flag_changes
                    ],
                )
            insert_rows.sort()
            insert_tuples(conn, collection_entries, insert_rows)
            self._after_add(conn, len(fresh))
        return len(fresh)

    def fill(
        self,
        collection_id: str,
        *,
        types: Sequence[str] = (),
        all_versions: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Put every stored object's current version (or, ``all_versions``, every version
        of it) in a collection, as set operations in the database; returns how many entries
        were new. Objects whose current version is revoked are left out, as in listings;
        ``types`` keeps only those STIX types.

        One write transaction: per slice of ``FILL_SLICE`` object seqs, one ``INSERT …
        SELECT`` numbers the versions not held yet in the objects' order (``seq`` from the
        entries counter, date added a microsecond apart, as ``add_entries`` does) with first
        and latest among the slice's versions; then one ``UPDATE … FROM`` corrects first and
        latest where the object had entries already (or in another slice). Nothing goes
        through Python row by row. ``progress(done, total)``: object seqs scanned.
        """
        with write_transaction(self.engine) as conn:
            lock_counter(conn, "entries")
            top = int(conn.execute(sa.select(sa.func.max(objects.c.seq))).scalar() or 0)
            moment = parse_timestamp(_distinct_stamps(conn, 1)[0])
            base = int((moment - _EPOCH) / timedelta(microseconds=1))
            wanted = _fill_condition(types, all_versions)
            params: dict[str, Any] = {"cid": collection_id, "yes": True, "no": False}
            if types:
                params["types"] = list(types)
            first_seq: int | None = None
            added = 0
            for low in range(0, top, FILL_SLICE):
                high = min(low + FILL_SLICE, top)
                bounds = {**params, "low": low, "high": high}
                count = int(
                    conn.execute(
                        _bind(f"SELECT COUNT(*) FROM objects o WHERE {wanted}", types), bounds
                    ).scalar_one()
                )
                if count:
                    first = allocate(conn, "entries", count)
                    first_seq = first if first_seq is None else first_seq
                    stamp = _stamp_sql(conn.dialect.name, ":base + n - 1")
                    inserted = conn.execute(
                        _bind(
                            "INSERT INTO collection_entries (seq, collection_id, object_id, "
                            "modified, object_seq, date_added, is_first, is_latest) "
                            f"SELECT :first + n - 1, :cid, id, modified, seq, {stamp}, "
                            "modified = lo, modified = hi "
                            "FROM (SELECT o.id, o.modified, o.seq, "
                            "ROW_NUMBER() OVER (ORDER BY o.seq) AS n, "
                            "MIN(o.modified) OVER (PARTITION BY o.id) AS lo, "
                            "MAX(o.modified) OVER (PARTITION BY o.id) AS hi "
                            f"FROM objects o WHERE {wanted}) fresh",
                            types,
                        ),
                        {**bounds, "first": first, "base": base + added},
                    ).rowcount
                    if inserted != count:
                        raise CollectionError(
                            f"collection fill: {inserted} entries written where {count} were "
                            "counted (the store changed meanwhile); nothing was added"
                        )
                    added += count
                if progress is not None:
                    progress(high, top)
            if first_seq is None:
                return 0
            if conn.dialect.name == "postgresql":
                # Fresh rows without statistics: the planner would join them in loops.
                conn.exec_driver_sql("ANALYZE collection_entries")
            # First and latest over each object that gained an entry (its entries held
            # before, and those of other slices): only the rows whose flags are wrong.
            conn.execute(
                sa.text(
                    "UPDATE collection_entries SET "
                    "is_first = (collection_entries.modified = m.lo), "
                    "is_latest = (collection_entries.modified = m.hi) "
                    "FROM (SELECT object_id, MIN(modified) AS lo, MAX(modified) AS hi "
                    "FROM collection_entries WHERE collection_id = :cid GROUP BY object_id "
                    "HAVING MAX(seq) >= :first) m "
                    "WHERE collection_entries.collection_id = :cid "
                    "AND collection_entries.object_id = m.object_id "
                    "AND (collection_entries.is_first <> (collection_entries.modified = m.lo) "
                    "OR collection_entries.is_latest <> (collection_entries.modified = m.hi))"
                ),
                {"cid": collection_id, "first": first_seq},
            )
        return added

    def _after_add(self, connection: sa.Connection, added: int) -> None:
        # As for objects (PostgresStore._after_write): a bulk load leaves PostgreSQL without
        # statistics, and the "object_id IN (...)" lookups above then scan the collection.
        # ANALYZE runs inside the write transaction, which sees its own new rows.
        if self.engine.dialect.name != "postgresql":
            return
        if self._analysis.due(added):
            connection.exec_driver_sql("ANALYZE collection_entries")

    def remove_entries(
        self, collection_id: str, object_id: str, versions: tuple[str, ...] = ()
    ) -> int:
        """Take an object (or some of its versions) out of a collection; returns how many.

        ``versions`` as in ``EntryFilter``; empty means every version.
        """
        with write_transaction(self.engine) as connection:
            lock_counter(connection, "entries")
            rows = connection.execute(
                sa.select(
                    collection_entries.c.seq,
                    collection_entries.c.modified,
                    collection_entries.c.is_first,
                    collection_entries.c.is_latest,
                ).where(
                    (collection_entries.c.collection_id == collection_id)
                    & (collection_entries.c.object_id == object_id)
                )
            ).all()
            doomed = [
                row.seq
                for row in rows
                if not versions
                or "all" in versions
                or ("first" in versions and row.is_first)
                or ("last" in versions and row.is_latest)
                or row.modified in versions
            ]
            if not doomed:
                return 0
            connection.execute(
                collection_entries.delete().where(collection_entries.c.seq.in_(doomed))
            )
            left = sorted((row.modified, row.seq) for row in rows if row.seq not in doomed)
            for position, (_modified, seq) in enumerate(left):
                connection.execute(
                    collection_entries.update()
                    .where(collection_entries.c.seq == seq)
                    .values(is_first=position == 0, is_latest=position == len(left) - 1)
                )
        return len(doomed)

    def page(
        self,
        collection_id: str,
        entry_filter: EntryFilter,
        *,
        after: int = 0,
        limit: int = 1000,
        object_id: str | None = None,
        with_content: bool = True,
        default_versions: tuple[str, ...] = ("last",),
    ) -> EntryPage:
        """One page of a collection's entries in date-added order, keyset on ``seq``."""
        e = collection_entries
        columns: list[Any] = [e.c.seq, e.c.object_id, e.c.modified, e.c.date_added]
        if with_content:
            columns.append(objects.c.content)
        conditions: list[sa.ColumnElement[bool]] = [e.c.collection_id == collection_id]
        if after:
            conditions.append(e.c.seq > after)
        if object_id is not None:
            conditions.append(e.c.object_id == object_id)
        if entry_filter.ids:
            conditions.append(e.c.object_id.in_(entry_filter.ids))
        if entry_filter.added_after is not None:
            conditions.append(e.c.date_added > entry_filter.added_after)
            # Date added grows with seq, so the first entry added after the time bounds the
            # range scan: a poll for what is new reads only that, however long the list.
            first_after = (
                sa.select(e.c.seq)
                .where(
                    (e.c.collection_id == collection_id)
                    & (e.c.date_added > entry_filter.added_after)
                )
                .order_by(e.c.date_added, e.c.seq)
                .limit(1)
                .scalar_subquery()
            )
            conditions.append(e.c.seq >= first_after)
        join_objects = with_content
        if entry_filter.types:
            conditions.append(objects.c.type.in_(entry_filter.types))
            join_objects = True
        if entry_filter.spec_versions:
            spec = sa.func.coalesce(objects.c.spec_version, "2.1")
            conditions.append(spec.in_(entry_filter.spec_versions))
            join_objects = True
        versions = entry_filter.versions or default_versions
        if "all" not in versions:
            alternatives: list[sa.ColumnElement[bool]] = []
            if "first" in versions:
                alternatives.append(e.c.is_first)
            if "last" in versions:
                alternatives.append(e.c.is_latest)
            stamps = [v for v in versions if v not in ("first", "last")]
            if stamps:
                alternatives.append(e.c.modified.in_(stamps))
            conditions.append(sa.or_(*alternatives))
        source: Any = e
        if join_objects:
            source = e.join(objects, objects.c.seq == e.c.object_seq)
        statement = (
            sa.select(*columns).select_from(source).where(*conditions).order_by(e.c.seq)
        ).limit(limit + 1)
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        more = len(rows) > limit
        rows = rows[:limit]
        if with_content:
            # A page ends at PAGE_BYTES of objects (at least one object): what a reader
            # must hold in memory stays bounded whatever the limit asked.
            size = 0
            for position, row in enumerate(rows):
                size += len(row[4])
                if size > PAGE_BYTES and position > 0:
                    rows, more = rows[:position], True
                    break
        return EntryPage(
            entries=[(row[0], row[1], row[2], row[3]) for row in rows],
            contents=[row[4] for row in rows] if with_content else None,
            more=more,
        )

    def holds(self, collection_id: str, object_id: str) -> bool:
        statement = sa.select(collection_entries.c.seq).where(
            (collection_entries.c.collection_id == collection_id)
            & (collection_entries.c.object_id == object_id)
        )
        with self.engine.connect() as connection:
            return connection.execute(statement.limit(1)).first() is not None

    # -- statuses ---------------------------------------------------------------------------
    def save_status(
        self, status: dict[str, Any], api_root: str, collection_id: str, actor: str
    ) -> None:
        details = {
            key: status[key] for key in ("successes", "failures", "pendings") if key in status
        }
        with write_transaction(self.engine) as connection:
            connection.execute(
                taxii_statuses.insert().values(
                    id=status["id"],
                    api_root=api_root,
                    collection_id=collection_id,
                    actor=actor,
                    request_timestamp=status["request_timestamp"],
                    total_count=status["total_count"],
                    success_count=status["success_count"],
                    failure_count=status["failure_count"],
                    pending_count=status["pending_count"],
                    details=orjson.dumps(details).decode(),
                )
            )

    def status(self, api_root: str, status_id: str) -> tuple[dict[str, Any], str, str] | None:
        """A saved status resource, with the collection it concerns and who posted it."""
        statement = sa.select(taxii_statuses).where(
            (taxii_statuses.c.id == status_id) & (taxii_statuses.c.api_root == api_root)
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            return None
        resource: dict[str, Any] = {
            "id": row.id,
            "status": "complete" if row.pending_count == 0 else "pending",
            "request_timestamp": row.request_timestamp,
            "total_count": row.total_count,
            "success_count": row.success_count,
            "failure_count": row.failure_count,
            "pending_count": row.pending_count,
            **orjson.loads(row.details),
        }
        return resource, row.collection_id, row.actor

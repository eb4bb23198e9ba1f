"""Read-only queries beyond the ``ObjectStore`` interface: what the web pages list (what
came from and went to each partner lately, objects added per day, titles of many objects
at once, the newest or every current object of a type), the records past their review
date, the joint records' reference lookups, and whether the database answers.

Each is one indexed query (bounded by ``limit``, a date range or a type), so the pages
stay fast with hundreds of thousands of objects. Callers reach it as ``node.read``; no
module above the state layer holds an engine or imports the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.domain.extensions import PROTECTION_EXTENSION_ID
from diapason.domain.protection import (
    ProtectionError,
    is_about_person,
    protection_of,
    review_overdue,
)
from diapason.domain.timestamps import store_timestamp
from diapason.store.db import Database
from diapason.store.interface import Edge
from diapason.store.schema import audit_log, collection_entries, edges, objects
from diapason.store.sql import neighbour_edges

_TITLE_KEYS = ("name", "value", "abstract", "content", "opinion", "relationship_type")
TITLE_LENGTH = 80
# What travels with objects so they can be read, not what a reader looks for.
PLUMBING = ("marking-definition", "extension-definition", "x-diapason-receipt")
# Ids bound per ``IN`` list.
ID_CHUNK = 500


def title_of(obj: Mapping[str, Any]) -> str:
    """A short human title of a STIX object (its name, value, abstract, …), or ''."""
    for key in _TITLE_KEYS:
        value = obj.get(key)
        if isinstance(value, str):
            return value if len(value) <= TITLE_LENGTH else value[: TITLE_LENGTH - 1] + "…"
    return ""


@dataclass(frozen=True)
class Brief:
    """An object as a line of a list: enough to recognise it and link to it."""

    id: str
    type: str
    title: str
    when: str
    person: bool  # a record about a person: its title is personal data


def brief(object_id: str, object_type: str, content: str, when: str) -> Brief:
    obj = orjson.loads(content)
    return Brief(object_id, object_type, title_of(obj), when, is_about_person(obj))


class ReadModel:
    """The read-only queries of one node's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def answers(self) -> bool:
        """Whether the database answers a trivial query (the health check)."""
        try:
            with self.database.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except sa.exc.DBAPIError:
            return False
        return True

    # -- the pages' lists -----------------------------------------------------------------
    def received_from(self, partner: str, limit: int = 5) -> list[Brief]:
        """The newest object versions written with provenance ``partner:NAME``."""
        statement = (
            sa.select(objects.c.id, objects.c.type, objects.c.content, objects.c.date_added)
            .where(objects.c.source == f"partner:{partner}", objects.c.type.not_in(PLUMBING))
            .order_by(objects.c.seq.desc())
            .limit(limit)
        )
        with self.database.engine.connect() as connection:
            return [brief(*row) for row in connection.execute(statement)]

    def released_to(self, outbox: str, limit: int = 5) -> list[Brief]:
        """The newest versions appended to a partner's outbox (its disclosure ledger)."""
        statement = (
            sa.select(
                collection_entries.c.object_id,
                objects.c.type,
                objects.c.content,
                collection_entries.c.date_added,
            )
            .select_from(
                collection_entries.join(
                    objects,
                    (objects.c.id == collection_entries.c.object_id)
                    & (objects.c.modified == collection_entries.c.modified),
                )
            )
            .where(collection_entries.c.collection_id == outbox, objects.c.type.not_in(PLUMBING))
            .order_by(collection_entries.c.seq.desc())
            .limit(limit)
        )
        with self.database.engine.connect() as connection:
            return [brief(*row) for row in connection.execute(statement)]

    def added_per_day(self, today: date, days: int = 30) -> list[tuple[date, int]]:
        """How many object versions the store took in on each of the last ``days`` days
        (today included), zeros included: the dashboard's trend.

        One range count per day on the ``date_added`` index, all in one statement:
        counting reads only the index, where grouping by a computed day would read every
        row."""
        first = today - timedelta(days=days - 1)
        bounds = [(first + timedelta(days=offset)).isoformat() for offset in range(days + 1)]
        counts = self._counts_between(objects.c.date_added, bounds)
        return [(first + timedelta(days=offset), counts[offset]) for offset in range(days)]

    def _counts_between(self, column: sa.Column[Any], bounds: list[str]) -> list[int]:
        """How many rows have ``column`` in each interval ``[bounds[i], bounds[i + 1])``.

        One range count per interval on the column's index, all in one statement:
        counting reads only the index, where grouping by a computed day or hour would read
        every row."""
        counts = sa.union_all(
            *(
                sa.select(sa.literal(slot).label("slot"), sa.func.count().label("n"))
                .select_from(column.table)
                .where(column >= bounds[slot], column < bounds[slot + 1])
                for slot in range(len(bounds) - 1)
            )
        )
        with self.database.engine.connect() as connection:
            found = {int(slot): int(count) for slot, count in connection.execute(counts)}
        return [found.get(slot, 0) for slot in range(len(bounds) - 1)]

    def briefs_of(self, ids: Iterable[str]) -> dict[str, Brief]:
        """The current version of each of these objects as a ``Brief`` (unknown ids
        absent)."""
        wanted = sorted(set(ids))
        found: dict[str, Brief] = {}
        with self.database.engine.connect() as connection:
            for start in range(0, len(wanted), ID_CHUNK):
                statement = sa.select(
                    objects.c.id, objects.c.type, objects.c.content, objects.c.date_added
                ).where(objects.c.is_current & objects.c.id.in_(wanted[start : start + ID_CHUNK]))
                for row in connection.execute(statement):
                    found[row[0]] = brief(*row)
        return found

    def current_objects(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The current version of each of these objects, parsed (unknown ids absent)."""
        wanted = sorted(set(ids))
        found: dict[str, dict[str, Any]] = {}
        with self.database.engine.connect() as connection:
            for start in range(0, len(wanted), ID_CHUNK):
                statement = sa.select(objects.c.id, objects.c.content).where(
                    objects.c.is_current & objects.c.id.in_(wanted[start : start + ID_CHUNK])
                )
                for object_id, content in connection.execute(statement):
                    found[object_id] = orjson.loads(content)
        return found

    def newest_of_type(
        self, object_type: str, limit: int, *, source: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest current objects of one type (optionally of one provenance), parsed:
        the OSINT page's latest articles, the dashboard's new alerts."""
        statement = (
            sa.select(objects.c.content)
            .where(objects.c.is_current, objects.c.type == object_type)
            .order_by(objects.c.seq.desc())
            .limit(limit)
        )
        if source is not None:
            statement = statement.where(objects.c.source == source)
        with self.database.engine.connect() as connection:
            return [orjson.loads(content) for (content,) in connection.execute(statement)]

    def type_state(self, object_type: str) -> tuple[int, int]:
        """The highest ``seq`` and the number of the versions of one type held: it changes
        whenever an object of the type is added, versioned, revoked or deleted, so results
        computed from those objects can be kept until it does (the anticipation page)."""
        statement = sa.select(sa.func.max(objects.c.seq), sa.func.count()).where(
            objects.c.type == object_type
        )
        with self.database.engine.connect() as connection:
            highest, count = connection.execute(statement).one()
        return int(highest or 0), int(count)

    def current_of_type(self, object_type: str) -> list[dict[str, Any]]:
        """Every current object of one type, parsed: one indexed query, without the store's
        per-object bookkeeping (the anticipation page reads every event)."""
        statement = sa.select(objects.c.content).where(
            objects.c.is_current, objects.c.type == object_type, objects.c.revoked.is_(False)
        )
        with self.database.engine.connect() as connection:
            return [orjson.loads(content) for (content,) in connection.execute(statement)]

    def versions_since(
        self, object_type: str, after_seq: int
    ) -> list[tuple[str, dict[str, Any] | None, bool]]:
        """The versions of one type added after ``after_seq``: (id, the object if it is
        the current, unrevoked version else None, whether it is current). What changed
        since a page last read every object of the type."""
        statement = (
            sa.select(objects.c.id, objects.c.content, objects.c.is_current, objects.c.revoked)
            .where(objects.c.type == object_type, objects.c.seq > after_seq)
            .order_by(objects.c.seq)
        )
        with self.database.engine.connect() as connection:
            return [
                (object_id, orjson.loads(content) if current and not revoked else None, current)
                for object_id, content, current, revoked in connection.execute(statement)
            ]

    def neighbours(self, object_id: str, limit: int) -> list[Edge]:
        """At most ``limit`` references of each kind leaving and reaching an object (the
        object page's graph; ``ObjectStore.neighbours`` gives them all)."""
        return neighbour_edges(self.database.engine, object_id, limit)

    # -- what other services look up ------------------------------------------------------
    def referring(self, source_type: str, prop: str, target_type: str) -> list[str]:
        """The ids, sorted, of the current objects of ``source_type`` whose reference
        ``prop`` (a property path such as ``object_refs[0]``) names an object of
        ``target_type``: one range query on the store's reference index."""
        statement = (
            sa.select(objects.c.id)
            .join_from(edges, objects, objects.c.seq == edges.c.source_seq)
            .where(
                edges.c.property == prop,
                edges.c.target_id >= f"{target_type}--",
                edges.c.target_id < f"{target_type}-.",  # "." follows "-": every id of the type
                objects.c.type == source_type,
                objects.c.is_current,
            )
        )
        with self.database.engine.connect() as connection:
            return sorted({row[0] for row in connection.execute(statement)})

    def overdue_reviews(self, today: date) -> list[tuple[str, str, str]]:
        """Records about persons past their review-by date: (id, name, review-by date).

        They are withheld from release until reviewed (a new version with a new date)."""
        found: list[tuple[str, str, str]] = []
        pattern = f"%{PROTECTION_EXTENSION_ID}%"
        statement = sa.select(objects.c.content).where(
            objects.c.is_current & objects.c.content.like(pattern)
        )
        with self.database.engine.connect() as connection:
            for (content,) in connection.execute(statement):
                obj = orjson.loads(content)
                try:
                    protection = protection_of(obj)
                except ProtectionError:
                    continue
                if protection is not None and review_overdue(protection, today):
                    found.append(
                        (obj["id"], str(obj.get("name", "")), protection.review_by.isoformat())
                    )
        return found

    # -- the operations figures (/metrics, the dashboard's Operations section) -----------
    def audit_per_hour(self, until: datetime, hours: int = 48) -> list[tuple[datetime, int]]:
        """How many audit entries were written in each of the last ``hours`` hours (UTC, the
        hour holding ``until`` last), zeros included: range counts on ``ix_audit_log_at``."""
        last = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        starts = [last - timedelta(hours=hours - 1 - offset) for offset in range(hours + 1)]
        counts = self._counts_between(audit_log.c.at, [store_timestamp(at) for at in starts])
        return list(zip(starts[:-1], counts, strict=True))

    def audit_entries(self) -> int:
        """How many entries the audit trail holds (its last ``seq``: entries are never
        deleted and their numbers have no gaps)."""
        with self.database.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.max(audit_log.c.seq))).scalar() or 0)

    def entries_in(self, collection_id: str) -> int:
        """How many object versions a collection holds (a partner's outbox: the versions
        released to it)."""
        statement = (
            sa.select(sa.func.count())
            .select_from(collection_entries)
            .where(collection_entries.c.collection_id == collection_id)
        )
        with self.database.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def osint_articles(self) -> int:
        """How many articles were ingested from open sources (the current OSINT reports)."""
        statement = (
            sa.select(sa.func.count())
            .select_from(objects)
            .where(objects.c.source == "osint", objects.c.type == "report", objects.c.is_current)
        )
        with self.database.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

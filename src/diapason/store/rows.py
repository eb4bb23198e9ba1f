"""Rows in raw SQL, for the store and the packages keeping their state in its database.

The object store (``store.sql``), the collections, receipts and release ledger
(``exchange``), the audit trail and the accounts share these: bulk inserts, ids bound as
one parameter, and the counters (values reserved, writers serialised). The timestamps they
write are in the store form of :mod:`diapason.domain.timestamps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.store.schema import counters

# From this many rows, a write is a bulk write (``write_transaction(bulk=True)``).
BULK_ROWS = 1_000


def allocate(connection: sa.Connection, counter: str, count: int) -> int:
    """Reserve ``count`` values of a counter; returns the first. Call inside a write."""
    row = connection.execute(
        counters.update()
        .where(counters.c.name == counter)
        .values(value=counters.c.value + count)
        .returning(counters.c.value)
    ).one()
    return int(row[0]) - count + 1


def lock_counter(connection: sa.Connection, name: str) -> None:
    """Make this write transaction, until it ends, the only one of those locking the
    counter ``name``: the writers that read what is held and then decide what to write.

    Two PostgreSQL transactions deciding at once on what each read would both act on it:

    - ``"objects"``: the store's writes and deletes read the versions held of their ids
      (which is current, the tombstones); two at once would both mark their version
      current, or both insert the same ``(id, modified)``.
    - ``"entries"``: the collections' writers (adding and removing entries, the release
      ledger's steps) read a collection's entries or a partner's position; two runs of the
      ledger at once would both decide the same versions. A step that finds its rows
      decided meanwhile starts again after the other.

    The lock is the counter's row (``SELECT … FOR UPDATE``). SQLite's ``BEGIN IMMEDIATE``
    already serialises writers; there the row lock is a no-op.
    """
    connection.execute(sa.select(counters.c.value).where(counters.c.name == name).with_for_update())


def insert_tuples(
    connection: sa.Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in the table's column order) with one DB-API executemany.

    The bulk path: several times faster than a Core insert, which processes every value of
    every row in Python first.
    """
    names = ", ".join(column.name for column in table.columns)
    if connection.dialect.name == "postgresql":
        copy_rows(connection, f"{table.name} ({names})", rows)
        return
    marks = ", ".join([placeholder(connection)] * len(table.columns))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


def copy_rows(connection: sa.Connection, target: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: ``COPY target FROM STDIN`` with these rows, in the connection's
    transaction. One stream of rows, faster than an INSERT per row even in a pipeline."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_dicts(
    connection: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (one mapping per row, a value for every column) in bulk."""
    names = [column.name for column in table.columns]
    insert_tuples(connection, table, [tuple(row[name] for name in names) for row in rows])


def placeholder(connection: sa.Connection) -> str:
    """The driver's mark for a bound parameter in raw SQL (``?`` or ``%s``)."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def among(dialect: str, values: Sequence[str] | Sequence[int]) -> tuple[str, Any]:
    """``column {fragment}`` is true for these values (ids or seqs), bound as one
    parameter: one statement for any number of them, where ``IN (?, ?, …)`` needs one per
    few hundred (and each is planned anew). Returns the fragment and the parameter's value."""
    if dialect == "sqlite":
        return "IN (SELECT value FROM json_each(?))", orjson.dumps(list(values)).decode()
    return "= ANY(%s)", list(values)


def partner_versions(
    connection: sa.Connection,
    table: sa.Table,
    partner: str,
    ids: Sequence[str],
    *,
    released_only: bool = False,
) -> set[tuple[str, str]]:
    """The ``(object_id, modified)`` pairs ``table`` (a per-partner record of versions, such
    as release decisions or deliveries) holds for ``partner`` among these object ids
    (``released_only``: the rows whose ``released`` is true)."""
    in_ids, ids_value = among(connection.dialect.name, sorted(set(ids)))
    mark = placeholder(connection)
    released = " AND released" if released_only else ""
    return {
        (object_id, modified)
        for object_id, modified in connection.exec_driver_sql(
            f"SELECT object_id, modified FROM {table.name} "
            f"WHERE partner = {mark}{released} AND object_id {in_ids}",
            (partner, ids_value),
        )
    }


class AnalysisSchedule:
    """When a PostgreSQL writer should ANALYZE the tables it fills: once 20,000 rows are
    written, then each time it has written as many again as it had at the last analysis
    (20,000, 40,000, 80,000…). The first gives the planner the table's shape (index lookups,
    not scans); later ones matter less and less, and each costs a sample of the table."""

    FIRST = 20_000

    def __init__(self) -> None:
        self.written = 0
        self.next_at = self.FIRST

    def due(self, written: int) -> bool:
        self.written += written
        if not written or self.written < self.next_at:
            return False
        self.next_at = 2 * self.written
        return True

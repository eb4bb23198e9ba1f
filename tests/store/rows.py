"""How many rows the store's tables hold: whether a write changed anything."""

from __future__ import annotations

import sqlalchemy as sa

from diapason.store.sql import SqlStore

# Tables whose row counts show whether a write changed anything.
COUNTED_TABLES = ("objects", "edges", "object_markings", "object_fts", "tombstones")


def row_counts(store: SqlStore) -> dict[str, int]:
    """How many rows each table of the store holds."""
    with store.engine.connect() as connection:
        return {
            table: int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
            )
            for table in COUNTED_TABLES
        }

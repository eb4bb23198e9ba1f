"""The migrations and ``store/schema.py`` describe one schema: a database upgraded from
nothing to the newest revision has exactly the tables, columns and indexes the code declares
(after warehouse's ``bin/db-check``). On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from diapason.store.schema import metadata

# Tables made by the migrations that the Core schema leaves to the dialect: the full-text
# indexes (an FTS5 virtual table on SQLite, a tsvector table on PostgreSQL) and Alembic's own.
DIALECT_TABLES = {"object_fts", "alembic_version"}


def _named(difference: Any) -> str:
    """A difference's table name, wherever alembic puts it in the tuple."""
    for part in difference if isinstance(difference, tuple) else (difference,):
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, sa.Table):
            return part.name
        if isinstance(part, str) and part in DIALECT_TABLES:
            return part
    return ""


def test_a_migrated_database_is_the_declared_schema(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        differences = compare_metadata(context, metadata)
    drift = []
    for difference in differences:
        flat = difference if isinstance(difference, tuple) else (difference,)
        if any(_named(part) in DIALECT_TABLES for part in flat):
            continue
        if flat[0] == "remove_table" and flat[1].name.startswith("object_fts"):
            continue  # the FTS5 table's shadow tables
        drift.append(difference)
    assert drift == []


def test_the_check_sees_a_column_the_migrations_lack(engine: sa.Engine) -> None:
    declared = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(declared)
    declared.tables["partners"].append_column(sa.Column("forgotten", sa.Integer))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), declared)
    added = [d for d in differences if isinstance(d, tuple) and d[0] == "add_column"]
    assert [(d[2], d[3].name) for d in added] == [("partners", "forgotten")]

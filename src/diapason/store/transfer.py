"""Copying a node's database into another one, table by table (``diapason migrate-to``).

The target gets the schema from the migrations (Alembic, as any new node), then every
table of ``schema.metadata`` in dependency order, in batches, in ONE write transaction of
the target: a copy that fails leaves the target without rows, and can be run again. The
source is read inside one read transaction, so its tables are copied as they were at one
moment. The full-text index (``object_fts``: an FTS5 table on SQLite, a table with a
generated ``tsvector`` on PostgreSQL) is not in the metadata: it is copied from its
source form into the target's. Row counts are compared table by table before the target
transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from diapason.errors import DiapasonError
from diapason.settings import mask_url_password
from diapason.store.db import DatabaseError, migrate, open_engine, write_transaction
from diapason.store.rows import copy_rows, insert_tuples
from diapason.store.schema import counters, metadata
from diapason.store.sql import tsvector_body

# Rows read and written per batch.
BATCH_ROWS = 5_000
FTS = "object_fts"

# ``(table, rows copied so far, rows of the table)``
TransferProgress = Callable[[str, int, int], None]


class TransferError(DiapasonError):
    """A copy refused or failed; the message says which table and why."""


@dataclass
class Transfer:
    """What was copied: rows per table, in the order copied."""

    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _unknown_tables(engine: sa.Engine) -> list[str]:
    """Tables of the source that this version would not copy (a newer or foreign schema)."""
    known = {table.name for table in metadata.sorted_tables} | {"alembic_version", FTS}
    return sorted(
        name for name in _tables(engine) if name not in known and not name.startswith(f"{FTS}_")
    )


def holds_rows(engine: sa.Engine) -> str | None:
    """The first reason the database at ``engine`` is not an empty target: a table that
    holds rows (counters at zero and the schema's version aside); None if it is empty."""
    present = _tables(engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name not in present:
                continue
            statement = sa.select(sa.func.count()).select_from(table)
            if table is counters:
                statement = statement.where(counters.c.value != 0)
            count = int(connection.execute(statement).scalar_one())
            if count:
                return f"table {table.name} holds {count:,} rows"
        others = sorted(present - {t.name for t in metadata.sorted_tables} - {"alembic_version"})
        others = [name for name in others if name != FTS and not name.startswith(f"{FTS}_")]
        if others:
            return f"it holds tables that are not Diapason's: {', '.join(others[:5])}"
    return None


def _fts_rows(connection: sa.Connection) -> Iterator[tuple[int, str]]:
    if connection.dialect.name == "sqlite":
        query = f"SELECT rowid, body FROM {FTS} ORDER BY rowid"
    else:
        query = f"SELECT seq, body FROM {FTS} ORDER BY seq"
    result = connection.execution_options(yield_per=BATCH_ROWS).exec_driver_sql(query)
    for seq, body in result:
        yield int(seq), str(body)


def _write_fts(connection: sa.Connection, rows: list[tuple[int, str]]) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"INSERT INTO {FTS}(rowid, body) VALUES (?, ?)", rows)
    else:
        copy_rows(connection, f"{FTS} (seq, body)", [(seq, tsvector_body(b)) for seq, b in rows])


def _batches(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reset_sequences(connection: sa.Connection) -> None:
    """PostgreSQL: serial columns copied with their values; their sequences go on after."""
    if connection.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) "
                    f"FROM {table.name}"
                )


def copy_database(
    source_url: str,
    target_url: str,
    *,
    progress: TransferProgress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Transfer:
    """Copy every table of the database at ``source_url`` (at the schema's head revision)
    into the empty database at ``target_url``, which gets the schema first.

    ``TransferError`` when the target holds rows, when the source has tables this
    version does not know, or when a table's row count differs after the copy (nothing
    is then committed on the target)."""
    source, target = _engines(source_url, target_url)
    try:
        _check(source, target, target_url)
        migrate(target)
        return _copy(source, target, progress, batch_rows)
    finally:
        source.dispose()
        target.dispose()


def check_transfer(source_url: str, target_url: str) -> None:
    """``TransferError`` now if ``copy_database`` would refuse these databases."""
    source, target = _engines(source_url, target_url)
    try:
        _check(source, target, target_url)
    finally:
        source.dispose()
        target.dispose()


def _engines(source_url: str, target_url: str) -> tuple[sa.Engine, sa.Engine]:
    """Both engines; ``TransferError`` naming the one that does not answer."""
    try:
        source = open_engine(source_url)
    except DatabaseError as error:
        raise TransferError(str(error)) from None
    try:
        return source, open_engine(target_url)
    except DatabaseError as error:
        source.dispose()
        raise TransferError(str(error)) from None


def _check(source: sa.Engine, target: sa.Engine, target_url: str) -> None:
    unknown = _unknown_tables(source)
    if unknown:
        raise TransferError(
            f"the source database holds tables this version does not know: "
            f"{', '.join(unknown[:5])}: upgrade Diapason first"
        )
    reason = holds_rows(target)
    if reason is not None:
        shown = mask_url_password(target_url)
        raise TransferError(f"database {shown} is not empty ({reason}): give an empty one")


def _copy(
    source: sa.Engine, target: sa.Engine, progress: TransferProgress | None, batch_rows: int
) -> Transfer:
    done = Transfer()
    with source.connect() as reading, write_transaction(target, bulk=True) as writing:
        if reading.dialect.name == "sqlite":
            # One read transaction: every table as it was at the same moment.
            reading.exec_driver_sql("BEGIN")
        else:
            reading.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # What the migrations put in: the counters, at zero, come from the source.
        writing.execute(counters.delete())
        for table in metadata.sorted_tables:
            total = int(reading.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            copied = 0
            if progress is not None:
                progress(table.name, 0, total)
            rows = reading.execution_options(yield_per=batch_rows).execute(
                sa.select(table).order_by(*table.primary_key.columns)
            )
            for batch in _batches(iter(rows), batch_rows):
                insert_tuples(writing, table, [tuple(row) for row in batch])
                copied += len(batch)
                if progress is not None:
                    progress(table.name, copied, total)
            written = int(
                writing.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
            if written != total:
                raise TransferError(
                    f"table {table.name}: {total:,} rows in the source, {written:,} in the "
                    "target after the copy; nothing was committed"
                )
            done.rows[str(table.name)] = total
        total = int(reading.exec_driver_sql(f"SELECT COUNT(*) FROM {FTS}").scalar_one())
        copied = 0
        for batch in _batches(_fts_rows(reading), batch_rows):
            _write_fts(writing, batch)
            copied += len(batch)
            if progress is not None:
                progress(FTS, copied, total)
        written = int(writing.exec_driver_sql(f"SELECT COUNT(*) FROM {FTS}").scalar_one())
        if written != total:
            raise TransferError(
                f"the full-text index: {total:,} rows in the source, {written:,} in the target"
            )
        done.rows[FTS] = total
        _reset_sequences(writing)
        if writing.dialect.name == "postgresql":
            writing.exec_driver_sql("ANALYZE")
    return done

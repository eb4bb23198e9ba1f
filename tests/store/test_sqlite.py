"""What is particular to the SQLite store: WAL journal, one writer and parallel readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from diapason.store.db import (
    SQLITE_AUTOCHECKPOINT,
    checkpointer,
    close_engine,
    open_engine,
    write_transaction,
)
from diapason.store.sql import BULK_ROWS, SQLiteStore, open_store
from tests.store.builders import sdo


def test_a_store_opened_with_open_store_runs_in_wal_mode(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        assert isinstance(store, SQLiteStore)
        assert store.dialect == "sqlite"
        with store.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        assert str(mode).lower() == "wal"
        assert int(timeout) > 0
        store.put_many([sdo()])
    finally:
        store.close()
    # WAL is a property of the file: any later connection, ours or not, finds it on.
    path = sa.make_url(sqlite_url).database
    assert path is not None and Path(path).is_file()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        raw.close()


def test_a_new_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        with store.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        assert str(mode).lower() == "wal"
        assert store.count() == 0
    finally:
        store.close()


def test_a_reader_sees_what_another_store_on_the_file_wrote(sqlite_url: str) -> None:
    writer, reader = open_store(sqlite_url), open_store(sqlite_url)
    try:
        actor = sdo()
        with reader.engine.connect() as connection:
            connection.exec_driver_sql("SELECT count(*) FROM objects").scalar_one()
            assert writer.put_many([actor]).written == [actor["id"]]
        stored = reader.get(actor["id"])
        assert stored is not None and stored.object == actor
    finally:
        writer.close()
        reader.close()


def _rows_in_database_file(path: str) -> int:
    """Objects in the database file itself, not counting what is still only in the WAL."""
    raw = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(raw.execute("SELECT count(*) FROM objects").fetchone()[0])
    finally:
        raw.close()


def test_a_bulk_write_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    path = str(tmp_path / "bulk.sqlite3")
    store = open_store(f"sqlite:///{path}", batch_size=BULK_ROWS)
    try:
        report = store.put_many([sdo() for _ in range(BULK_ROWS)])
        assert len(report.written) == BULK_ROWS
        checkpointer(store.engine).wait()
        # The checkpoint copied the batch (and the schema before it) from the WAL into the
        # database file...
        assert _rows_in_database_file(path) == BULK_ROWS
        # ...and the connection that wrote it checkpoints by itself again for small writes.
        with store.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        assert pages == SQLITE_AUTOCHECKPOINT
    finally:
        store.close()


def test_a_small_write_keeps_sqlites_own_checkpoints(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    try:
        store.put_many([sdo() for _ in range(3)])
        with store.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        assert pages == SQLITE_AUTOCHECKPOINT
        assert checkpointer(store.engine)._thread is None
    finally:
        store.close()


def test_a_failed_bulk_write_restores_checkpoints_and_writes_nothing(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'failed.sqlite3'}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with (
            pytest.raises(RuntimeError, match="stop"),
            write_transaction(engine, bulk=True) as connection,
        ):
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise RuntimeError("stop")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        assert pages == SQLITE_AUTOCHECKPOINT
    finally:
        close_engine(engine)

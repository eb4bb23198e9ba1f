"""What is particular to the SQLite store: WAL journal, one writer and parallel readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from diapason.store.db import (
    SQLITE_AUTOCHECKPOINT,
    _checkpointers,
    checkpointer,
    close_engine,
    open_engine,
    write_transaction,
)
from diapason.store.rows import BULK_ROWS
from diapason.store.sql import SQLiteStore, open_store
from tests.builders import sdo


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


def _autocheckpoints(engine: sa.Engine) -> set[int]:
    """``wal_autocheckpoint`` of every connection the engine's pool holds."""
    held = [engine.connect() for _ in range(engine.pool.checkedin())]  # type: ignore[attr-defined]
    assert held, "no connection in the pool to ask"
    try:
        return {int(c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()) for c in held}
    finally:
        for connection in held:
            connection.close()


def test_a_bulk_write_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    path = str(tmp_path / "bulk.sqlite3")
    store = open_store(f"sqlite:///{path}", batch_size=BULK_ROWS)
    try:
        report = store.put_many([sdo() for _ in range(BULK_ROWS)])
        assert len(report.written) == BULK_ROWS
        assert store.engine in _checkpointers
        # The background checkpoint borrows a pooled connection (the writer's, often the
        # only one): once it is back, every pooled connection, the writer's included,
        # checkpoints by itself again.
        _checkpointers[store.engine].wait()
        assert _autocheckpoints(store.engine) == {SQLITE_AUTOCHECKPOINT}
    finally:
        store.close()
    # The checkpoint copied the batch (and the schema before it) from the WAL into the
    # database file.
    assert _rows_in_database_file(path) == BULK_ROWS


def test_a_small_write_keeps_sqlites_own_checkpoints(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    try:
        store.put_many([sdo() for _ in range(3)])
        assert store.engine not in _checkpointers  # no background checkpoint was asked for
        assert _autocheckpoints(store.engine) == {SQLITE_AUTOCHECKPOINT}
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
        assert _autocheckpoints(engine) == {SQLITE_AUTOCHECKPOINT}
        assert engine not in _checkpointers
    finally:
        close_engine(engine)


def test_a_failed_checkpoint_is_logged_and_the_next_one_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "flaky.sqlite3")
    engine = open_engine(f"sqlite:///{path}")
    failures = [sa.exc.OperationalError("PRAGMA", (), Exception("disk I/O error"))]

    # The database refuses the first checkpoint, as a full or failing disk would.
    def refuse_once(*args: object) -> None:
        if "wal_checkpoint" in str(args[2]) and failures:
            raise failures.pop()

    sa.event.listen(engine, "before_cursor_execute", refuse_once)
    try:
        with write_transaction(engine, bulk=True) as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with caplog.at_level("WARNING", logger="diapason.store.db"):
            checkpointer(engine).wait()
        assert "SQLite checkpoint failed: OperationalError" in caplog.text
        assert not failures
        with write_transaction(engine, bulk=True) as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        checkpointer(engine).wait()
        raw = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            assert raw.execute("SELECT count(*) FROM t").fetchone()[0] == 2
        finally:
            raw.close()
    finally:
        close_engine(engine)

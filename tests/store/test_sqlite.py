"""What is particular to the SQLite store: WAL journal, one writer and parallel readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from diapason.store.sql import SQLiteStore, open_store
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

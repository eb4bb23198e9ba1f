"""Shared fixtures: real SQLite files and the machine's real PostgreSQL, never mocks.

PostgreSQL tests use ``DIAPASON_TEST_POSTGRES_URL`` (``.ci/run`` sets it). Without it they
skip, except when ``CI`` is set: there a PostgreSQL test that cannot run fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from diapason.store.db import migrate, open_engine
from diapason.store.schema import metadata
from diapason.store.sql import SqlStore, open_store

POSTGRES_URL_VARIABLE = "DIAPASON_TEST_POSTGRES_URL"


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
    pytest.skip(reason)


@contextmanager
def new_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server, dropped on leaving."""
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        _postgres_unavailable(f"{POSTGRES_URL_VARIABLE} is not set")
        raise AssertionError("unreachable")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        _postgres_unavailable(f"PostgreSQL at {POSTGRES_URL_VARIABLE} does not answer: {error}")
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; dropped at the end."""
    with new_postgres_database("diapason_test") as url:
        engine = open_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(table.name for table in metadata.sorted_tables if table.name != "counters")
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {names}, object_fts RESTART IDENTITY CASCADE")
        connection.exec_driver_sql("UPDATE counters SET value = 0")
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating every time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database: a temporary SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "node.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_server_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated SQLite database only (for tests about SQLite itself)."""
    path = tmp_path / "node.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = open_store(database_url)
    yield store
    store.close()

"""Engines, migrations and write transactions for both supported databases.

SQLite runs in WAL mode with the driver's implicit transactions turned off: reads run in
autocommit, and every write opens ``BEGIN IMMEDIATE`` so that two processes writing to the
same file queue on the busy timeout instead of failing on a lock upgrade. PostgreSQL runs
ordinary transactions.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from diapason.errors import DiapasonError
from diapason.settings import mask_url_password

SUPPORTED = ("sqlite", "postgresql")

logger = logging.getLogger(__name__)


class DatabaseError(DiapasonError, RuntimeError):
    """The database cannot be used: the message says which one and why, never a password."""


# The page size of a new SQLite file (an existing file keeps its own). 16 KiB instead of the
# default 4 KiB: a bulk write touches a quarter as many pages, and each commit writes each
# touched page to the WAL once (CHANGELOG.md, 2026-11-29, second session).
SQLITE_PAGE_SIZE = 16_384


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Only takes effect on a file without tables yet: before WAL mode fixes the page size.
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


# A pooled PostgreSQL connection idle for longer than this is checked with one round trip
# before it is handed out; one used more recently is trusted, as HikariCP's
# aliveBypassWindowMs (500 ms) does. SQLAlchemy's pool_pre_ping would check every checkout:
# a second round trip for every get by id.
POSTGRES_PING_AFTER_IDLE_S = 0.5


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: sa.Dialect) -> Callable[[Any, Any, Any], None]:
    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < POSTGRES_PING_AFTER_IDLE_S:
            return  # new, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # As pool_pre_ping does: the pool discards every connection it holds (a server
            # that dropped this one has likely dropped the others) and opens a new one.
            reason = next(iter(str(error).strip().splitlines()), "")
            raise sa.exc.InvalidatePoolError(
                f"stale connection: {type(error).__name__}: {reason}"
            ) from error

    return checkout


def open_engine(url: str) -> sa.Engine:
    """An engine for a ``sqlite:///PATH`` or ``postgresql+psycopg://…`` URL, checked to answer."""
    shown = mask_url_password(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise DatabaseError(f"database URL {shown!r} is not a valid URL") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise DatabaseError(
            f"database URL {shown!r}: backend {backend!r} is not supported "
            "(use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
        )
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise DatabaseError("database URL: SQLite needs a file path (sqlite:///PATH)")
        folder = Path(database).parent
        if not folder.is_dir():
            raise DatabaseError(f"database folder {folder} does not exist")
        engine = sa.create_engine(parsed, poolclass=sa.pool.QueuePool, pool_size=8)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Last in, first out: under a light load the same few connections stay busy (and
        # unchecked, below) while the others idle.
        engine = sa.create_engine(
            parsed, pool_size=8, pool_use_lifo=True, connect_args={"connect_timeout": 5}
        )
        sa.event.listen(engine, "checkin", _note_checkin)
        sa.event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseError(f"database {shown} does not answer: {reason}") from None
    return engine


# SQLite's default: a commit that leaves the WAL over this many pages checkpoints it.
SQLITE_AUTOCHECKPOINT = 1000


class Checkpointer:
    """Copies an SQLite file's WAL into the database on a background thread.

    By default SQLite checkpoints on the committing thread, once the WAL holds 1,000 pages:
    after a bulk write, that thread copies every page it wrote a second time and waits for
    the disk (a fifth of an import). A bulk write turns that off for its own commit and
    asks for a checkpoint here instead, as PostgreSQL leaves its checkpoints to a
    checkpointer process. Nothing changes for durability: with ``synchronous=NORMAL`` a WAL
    commit is on disk once a checkpoint has synced it, whichever thread runs it.

    One short-lived thread at a time: requests made while it runs are served by one more
    pass, and the thread ends when none is left.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = weakref.ref(engine)
        self._lock = threading.Lock()
        self._pending = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Ask for a checkpoint. Never raises: the commit before it has happened, and
        SQLite's checkpoints are an optimisation of space, not of safety."""
        with self._lock:
            self._pending = True
            if self._thread is not None:
                return  # the running thread makes one more pass
            thread = threading.Thread(
                target=self._run, name="diapason-sqlite-checkpoint", daemon=True
            )
            try:
                thread.start()
            except RuntimeError as error:  # no thread to be had (or the interpreter exits)
                logger.warning("SQLite checkpoint not started: %s", error)
                return
            self._thread = thread

    def wait(self) -> None:
        """Return once no checkpoint is pending or running (including one asked for
        while waiting)."""
        while True:
            with self._lock:
                thread = self._thread
            if thread is None:
                return
            thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                engine = self._engine()
                if not self._pending or engine is None:
                    self._thread = None
                    return
                self._pending = False
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception as error:
                # The next request copies what this one left; the thread must live on to
                # clear its slot, or no checkpoint would ever be started again.
                logger.warning("SQLite checkpoint failed: %s: %s", type(error).__name__, error)
            del engine


_checkpointers: weakref.WeakKeyDictionary[sa.Engine, Checkpointer] = weakref.WeakKeyDictionary()


def checkpointer(engine: sa.Engine) -> Checkpointer:
    """The background checkpointer of an SQLite engine (made on first use)."""
    found = _checkpointers.get(engine)
    if found is None:
        found = _checkpointers.setdefault(engine, Checkpointer(engine))
    return found


def close_engine(engine: sa.Engine) -> None:
    """Finish a pending background checkpoint, then close the engine's connections."""
    found = _checkpointers.get(engine)
    if found is not None:
        found.wait()
    engine.dispose()


@contextmanager
def read_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for reads that need no transaction of their own (one statement, or
    several that need not agree with each other).

    On PostgreSQL it runs in autocommit: no ``BEGIN`` before the statement and no
    ``ROLLBACK`` when the pool takes it back, two round trips of the four a get by id
    made. SQLite connections already read in autocommit.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@contextmanager
def write_transaction(
    engine: sa.Engine, within: sa.Connection | None = None, *, bulk: bool = False
) -> Iterator[sa.Connection]:
    """One write transaction; commits on success, rolls back on any exception.

    ``within``: a connection already in a write transaction, which is used as it is (the
    work then commits or rolls back with the caller's).
    ``bulk``: a large write (tens of thousands of rows). On SQLite its commit leaves the
    WAL checkpoint to the engine's background ``Checkpointer``.
    """
    if within is not None:
        yield within
    elif engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            if bulk:
                connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.exec_driver_sql("ROLLBACK")
                    raise
                connection.exec_driver_sql("COMMIT")
            finally:
                if bulk:
                    connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT}")
        if bulk:
            checkpointer(engine).request()
    else:
        with engine.begin() as connection:
            yield connection


@dataclass(frozen=True)
class Database:
    """An open database, migrated: the engine the object store and the state layer
    (accounts, audit trail, collections, partners, ledger, receipts) share.

    ``Node.open`` gets it from ``open_database`` and hands it to each of them; nothing
    above the state layer holds an engine (docs/architecture.md)."""

    engine: sa.Engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        close_engine(self.engine)


def open_database(url: str, *, upgrade: bool = True) -> Database:
    """The database behind a URL, checked to answer and (by default) migrated."""
    engine = open_engine(url)
    if upgrade:
        migrate(engine)
    return Database(engine)


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    location = resources.files("diapason.store") / "migrations"
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    with resources.as_file(resources.files("diapason.store") / "migrations") as location:
        config = Config()
        config.set_main_option("script_location", str(location))
        head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    if current_revision(engine) == head_revision():
        return
    with write_transaction(engine) as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7246001)")
        command.upgrade(_alembic_config(connection), "head")

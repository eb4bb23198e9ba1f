"""A consistent copy of a running node's database, and loading one back (``diapason
backup`` and ``restore``, docs/operations.md).

SQLite: the online backup API, run inside one read transaction of the source that lasts
the whole copy. In WAL mode writers go on meanwhile, and the copy is the database as of
that transaction's start; without it, each write by another connection would restart the
copy (and a running import would keep it from ever ending). PostgreSQL: ``pg_dump`` (one
snapshot, custom format) and ``pg_restore``, of the server's major version or newer.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from diapason.settings import mask_url_password
from diapason.store.db import DatabaseError, current_revision, open_engine

# The copy's file name in a backup, by dialect.
COPY_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}

# done, total (None: unknown): pages of an SQLite copy, bytes of a dump written so far.
CopyProgress = Callable[[int, int | None], None]

SQLITE_PAGES_PER_STEP = 1024


def dialect_of(url: str) -> str:
    try:
        return sa.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        raise DatabaseError(f"database URL {mask_url_password(url)!r} is not a valid URL") from None


def sqlite_path(url: str) -> Path:
    return Path(sa.make_url(url).database or "")


def copy_database(url: str, target: Path, progress: CopyProgress) -> str | None:
    """Write a consistent copy of the database at ``url`` to ``target`` (owner-only);
    returns the copy's schema revision."""
    if dialect_of(url) == "sqlite":
        return _sqlite_copy(sqlite_path(url), target, progress)
    return _pg_dump(url, target, progress)


def _sqlite_copy(path: Path, target: Path, progress: CopyProgress) -> str | None:
    if not path.is_file():
        raise DatabaseError(f"database {path} does not exist")
    source = sqlite3.connect(path, isolation_level=None)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # the snapshot
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(descriptor)
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            source.backup(
                copy,
                pages=SQLITE_PAGES_PER_STEP,
                progress=lambda _status, remaining, total: progress(total - remaining, total),
            )
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            checked = copy.execute("PRAGMA quick_check").fetchone()
            if checked is None or checked[0] != "ok":
                raise DatabaseError(f"the copy of {path} does not check: {checked}")
            return _sqlite_revision(copy)
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise DatabaseError(f"database {path} cannot be copied: {error}") from None
    finally:
        source.close()


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq URI of a URL (without its password) and the environment giving the
    password: never on a command line, where ``ps`` shows it."""
    parsed = sa.make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def _server_major(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        number = connection.exec_driver_sql("SHOW server_version_num").scalar_one()
    return int(number) // 10_000


def _tool_major(tool: str) -> int | None:
    try:
        shown = subprocess.run(
            [tool, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", shown)
    return int(found.group(1)) if found else None


def postgres_tool(name: str, server_major: int) -> str:
    """``pg_dump`` or ``pg_restore`` able to work with a server of this major version:
    that version's (Debian keeps each under /usr/lib/postgresql/N/bin), else the one on
    PATH, else any newer one installed."""
    candidates = [f"/usr/lib/postgresql/{server_major}/bin/{name}", shutil.which(name)]
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    seen: list[str] = []
    for tool in candidates:
        if not tool or tool in seen or not os.access(tool, os.X_OK):
            continue
        major = _tool_major(tool)
        if major is not None and major >= server_major:
            return tool
        seen.append(f"{tool} (PostgreSQL {major})")
    raise DatabaseError(
        f"{name} of PostgreSQL {server_major} or newer is needed (the server runs "
        f"{server_major}), found {', '.join(seen) or 'none'}: install the PostgreSQL "
        f"{server_major} client programs (Debian: postgresql-client-{server_major})"
    )


def _run(command: list[str], env: dict[str, str], what: str, watch: Callable[[], None]) -> None:
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    while process.poll() is None:
        watch()
        time.sleep(0.2)
    errors = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        reason = next((line for line in errors.splitlines() if line.strip()), "no message")
        raise DatabaseError(f"{what} failed (exit {process.returncode}): {reason}")


def _pg_dump(url: str, target: Path, progress: CopyProgress) -> str | None:
    engine = open_engine(url)
    try:
        tool = postgres_tool("pg_dump", _server_major(engine))
        revision = current_revision(engine)
    finally:
        engine.dispose()
    uri, env = _libpq(url)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)

    def watch() -> None:
        progress(target.stat().st_size, None)

    command = [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
    _run([*command, f"--dbname={uri}"], env, f"pg_dump of {mask_url_password(url)}", watch)
    watch()
    return revision


def database_is_empty(url: str) -> bool:
    """Whether the database has no tables (an SQLite file that does not exist is empty)."""
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    engine = open_engine(url)
    try:
        return not sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def load_database(url: str, copy: Path, *, force: bool) -> None:
    """Load a copy made by ``copy_database`` into the database at ``url``, which must be
    empty unless ``force`` (then what it holds is dropped first)."""
    shown = mask_url_password(url)
    if not force and not database_is_empty(url):
        raise DatabaseError(f"database {shown} is not empty: restore into an empty one, or --force")
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        temporary = path.with_name(f".{path.name}.restoring")
        temporary.unlink(missing_ok=True)
        shutil.copyfile(copy, temporary)
        temporary.chmod(0o600)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, path)
        return
    engine = open_engine(url)
    try:
        tool = postgres_tool("pg_restore", _server_major(engine))
        if force:
            with engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    uri, env = _libpq(url)
    command = [tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run([*command, f"--dbname={uri}", str(copy)], env, f"pg_restore into {shown}", lambda: None)

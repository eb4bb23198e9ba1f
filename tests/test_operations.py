"""Operations as an operator runs them: backup and restore while the node works, the data
folder's memory of its database, and ``serve --workers 2`` killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from diapason.node import init_node
from diapason.settings import load_settings
from diapason.store.schema import objects, partners
from tests.conftest import new_postgres_database
from tests.exchange.build import Clock, graded, sdo
from tests.exchange.nodes import FedNode, base_env, federate, wait_for
from tests.taxii.servers import free_port


def cli(
    data: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        env=base_env(**(env or {})),
        timeout=300,
        check=False,
    )


def rows(url: str, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement)]
    finally:
        engine.dispose()


@contextmanager
def target_database(dialect: str, folder: Path) -> Iterator[str | None]:
    """Where a restore goes: a fresh PostgreSQL database, or the folder's own SQLite file."""
    if dialect == "postgresql":
        with new_postgres_database("diapason_restore") as url:
            yield url
    else:
        yield None


def restored_url(folder: Path) -> str:
    return load_settings(folder, environ={}).database_url.reveal()


@pytest.mark.slow
def test_backup_during_an_import_restores_a_consistent_node(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "node"
    settings = load_settings(data, environ={}, node_name="rabat", database_url=database_url)
    node, _ = init_node(settings, "tests")
    assert (data / "audit.key").exists()  # init wrote the audit key: it is backed up
    clock = Clock()
    own = node.identity_id or ""
    batches: list[list[dict[str, Any]]] = []  # each written, in order
    refused: list[str] = []
    stop = threading.Event()

    def importing() -> None:
        while not stop.is_set() and len(batches) < 5000:
            batch = [graded(sdo("threat-actor", own, "green", clock)) for _ in range(100)]
            report = node.store.put_many(batch, source="local")
            refused.extend(str(problem) for problem in report.refused)
            batches.append(batch)

    worker = threading.Thread(target=importing)
    worker.start()
    try:
        wait_for(lambda: len(batches) >= 3, 60, "the import writes")
        assert not refused
        result = cli(data, "backup", str(tmp_path / "backup"))
        still_running = worker.is_alive()
    finally:
        stop.set()
        worker.join()
    assert result.returncode == 0, result.stderr
    assert still_running, "the import ended before the backup: make it longer"
    manifest = orjson.loads((tmp_path / "backup" / "manifest.json").read_bytes())
    assert manifest["node_name"] == "rabat"
    assert {entry["path"] for entry in manifest["files"]} >= {
        "files/diapason.toml",
        "files/audit.key",
    }
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700

    dialect = settings.database_dialect
    fresh = tmp_path / "restored"
    with target_database(dialect, fresh) as target:
        env = {"DIAPASON_DATABASE_URL": target} if target else {}
        restored = cli(fresh, "restore", str(tmp_path / "backup"), env=env)
        assert restored.returncode == 0, restored.stderr
        assert "audit trail intact" in restored.stdout
        # Consistent: the objects restored are exactly the first batches written.
        ids = {row[0] for row in rows(restored_url(fresh), sa.select(objects.c.id))}
        everything = {obj["id"] for batch in batches for obj in batch}
        # Every batch written before the copy's snapshot, none after (on a loaded machine
        # the importer may write nothing between the snapshot and its stop: then all).
        count = next(
            (k for k, batch in enumerate(batches) if batch[0]["id"] not in ids), len(batches)
        )
        assert ids & everything == {obj["id"] for batch in batches[:count] for obj in batch}
        assert count >= 3, (count, len(batches))
        assert (fresh / "audit.key").read_bytes() == (data / "audit.key").read_bytes()
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
        assert stat.S_IMODE((fresh / "diapason.toml").stat().st_mode) == 0o600
        verified = cli(fresh, "audit", "verify", "--json")
        assert verified.returncode == 0 and orjson.loads(verified.stdout)["ok"]
        # Refusals: a non-empty target, a corrupt backup, a partial one.
        again = cli(fresh, "restore", str(tmp_path / "backup"), env=env)
        assert again.returncode == 1 and "not an empty folder" in again.stderr
    node.close()
    copy = tmp_path / "backup" / "files" / "diapason.toml"
    copy.write_text(copy.read_text() + "# changed\n")
    corrupt = cli(tmp_path / "other", "restore", str(tmp_path / "backup"))
    assert corrupt.returncode == 1 and "corrupt backup" in corrupt.stderr
    (tmp_path / "backup" / "manifest.json").unlink()
    partial = cli(tmp_path / "other", "restore", str(tmp_path / "backup"))
    assert partial.returncode == 1 and "partial" in partial.stderr
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_backup_during_a_sync_restores_the_watermarks(database_url: str, tmp_path: Path) -> None:
    """A backup taken while a node pulls from its partner, restored: the restored node's
    watermark goes with its objects, so the next sync pulls the rest, nothing twice."""
    there = FedNode.create(tmp_path, "paris", None)
    here = FedNode.create(tmp_path, "rabat", database_url)
    try:
        federate(here, there)
        clock = Clock()
        there.put(graded(sdo("threat-actor", there.identity, "green", clock)) for _ in range(3000))
        there.node.ledger.run("tests")
        there.start()
        pulling = here.sync_process(page_size=50)
        try:
            wait_for(
                lambda: here.partner_row("paris")["watermark"] is not None, 60, "the first pages"
            )
            result = here.cli("backup", str(tmp_path / "backup"))
            assert result.returncode == 0, result.stderr
            assert pulling.poll() is None, "the sync ended before the backup: make it longer"
        finally:
            pulling.wait(timeout=300)
        with target_database(here.node.database.dialect, tmp_path / "restored") as target:
            fresh = tmp_path / "restored"
            env = {"DIAPASON_DATABASE_URL": target} if target else {}
            restored = cli(fresh, "restore", str(tmp_path / "backup"), env=env)
            assert restored.returncode == 0, restored.stderr
            url = restored_url(fresh)
            watermark = rows(url, sa.select(partners.c.watermark))[0][0]
            assert watermark is not None
            before = rows(url, sa.select(objects.c.id, objects.c.modified))
            assert 0 < len(before) < len(here.versions())
            assert cli(fresh, "sync").returncode == 0
            after = rows(url, sa.select(objects.c.id, objects.c.modified))
            assert len(after) == len(set(after)), "a version pulled twice"
            assert set(after) == {(v[0], v[1]) for v in here.versions()}
            assert rows(url, sa.select(partners.c.watermark)) == [
                (here.partner_row("paris")["watermark"],)
            ]
            verified = cli(fresh, "audit", "verify")
            assert verified.returncode == 0, verified.stdout
    finally:
        here.close()
        there.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_the_data_folder_remembers_its_database(tmp_path: Path) -> None:
    with new_postgres_database("diapason_memory") as url, new_postgres_database("other") as other:
        data = tmp_path / "node"
        parsed = sa.make_url(url).set(password="s3cret-pw")  # the server trusts: any works
        with_password = parsed.render_as_string(hide_password=False)
        init = cli(data, "init", env={"DIAPASON_DATABASE_URL": with_password})
        assert init.returncode == 0, init.stderr
        config = (data / "diapason.toml").read_text()
        assert "s3cret-pw" not in config and "database_url" in config
        password_file = data / "database.password"
        assert password_file.read_text().strip() == "s3cret-pw"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        listed = cli(data, "user", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [user["username"] for user in orjson.loads(listed.stdout)] == ["admin"]
        assert not (data / "diapason.sqlite3").exists()
        refused = cli(data, "user", "list", env={"DIAPASON_DATABASE_URL": other})
        assert refused.returncode == 1
        assert "belongs to the database" in refused.stderr and "s3cret" not in refused.stderr
        # A folder whose config file records no database (made before it did).
        (data / "diapason.toml").write_text('node_name = "rabat"\nsecret_key = "k"\n')
        legacy = cli(data, "user", "list")
        assert legacy.returncode == 1 and "has no database" in legacy.stderr
        assert not (data / "diapason.sqlite3").exists()


def test_a_sqlite_folder_refuses_another_database(tmp_path: Path) -> None:
    data = tmp_path / "node"
    assert cli(data, "init").returncode == 0
    refused = cli(
        data,
        "user",
        "list",
        env={"DIAPASON_DATABASE_URL": "postgresql+psycopg://x:pw@127.0.0.1:1/x"},
    )
    assert refused.returncode == 1 and "holds its own SQLite database" in refused.stderr


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    data = tmp_path / "node"
    port = free_port()
    command = [sys.executable, "-m", "diapason", "serve", "--data", str(data)]
    command += ["--port", str(port), "--workers", "2"]

    def serve() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=base_env()
        )
        wait_for(lambda: not _port_free(port), 60, "serve answers")
        return process

    parent = serve()
    wait_for(lambda: len(_children(parent.pid)) >= 2, 30, "two workers")
    workers = _children(parent.pid)
    time.sleep(2)  # both workers have loaded the application (and asked for the signal)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    wait_for(lambda: not any(_alive(pid) for pid in workers), 10, "the workers end")
    wait_for(lambda: _port_free(port), 10, "the port is free")
    again = serve()
    again.send_signal(signal.SIGTERM)
    again.wait(timeout=30)

"""The exchange lease after a crash: a dead process of this host gives its lease up at
once; a live one, or one on another host, keeps it until it expires."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from diapason.store.db import open_database
from diapason.store.node_meta import NodeMeta
from tests.exchange.nodes import FedNode, wait_for
from tests.taxii.servers import free_port

HOST = socket.gethostname()


def test_a_killed_holder_of_this_host_gives_the_lease_up_at_once(database_url: str) -> None:
    # A real process takes the lease for 300 s, as a serve worker does, then is killed.
    script = textwrap.dedent(
        f"""
        import os, socket, sys, time
        from diapason.store.db import open_database
        from diapason.store.node_meta import NodeMeta
        database = open_database({database_url!r}, upgrade=False)
        holder = f"{{socket.gethostname()}}:{{os.getpid()}}"
        assert NodeMeta(database).take_lease("exchange", holder, 300.0)
        print(holder, flush=True)
        time.sleep(600)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        dead_holder = process.stdout.readline().strip()
        assert dead_holder == f"{HOST}:{process.pid}"
        database = open_database(database_url, upgrade=False)
        meta = NodeMeta(database)
        restarted = f"{HOST}:{os.getpid()}"
        # Alive: the lease is its own until it expires.
        assert not meta.take_lease("exchange", restarted, 30.0)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    try:
        assert meta.take_lease("exchange", restarted, 30.0)
        assert meta.get("lease:exchange").startswith(f"{restarted}@")  # type: ignore[union-attr]
    finally:
        database.close()


def test_a_holder_on_another_host_keeps_the_lease_until_it_expires(database_url: str) -> None:
    database = open_database(database_url, upgrade=False)
    try:
        meta = NodeMeta(database)
        # A pid that does not exist here: on another host it may well be alive.
        assert meta.take_lease("exchange", "elsewhere.example:4194304", 300.0)
        assert not meta.take_lease("exchange", f"{HOST}:{os.getpid()}", 30.0)
        # Expired: taken whoever held it.
        assert meta.take_lease("exchange", "elsewhere.example:4194304", -1.0)
        assert meta.take_lease("exchange", f"{HOST}:{os.getpid()}", 30.0)
    finally:
        database.close()


@pytest.mark.slow
def test_a_node_restarted_after_a_kill_syncs_at_once(tmp_path: Path) -> None:
    """``diapason serve`` holding the lease is killed (SIGKILL) and started again: the new
    process runs the exchange loop before the dead one's lease would have expired."""
    fed = FedNode.create(tmp_path, "alpha", None)
    # A partner that does not answer: the loop takes the lease and tries it every turn.
    fed.node.partners.add(
        "paris", f"http://127.0.0.1:{free_port()}", "dia_" + "p" * 40, insecure=True
    )
    try:
        fed.start(sync_interval=1)
        assert fed.process is not None
        first = f"{HOST}:{fed.process.pid}@"
        wait_for(
            lambda: (fed.node.facts.get("lease:exchange") or "").startswith(first), 30, "lease"
        )
        fed.process.send_signal(signal.SIGKILL)
        fed.process.wait()
        held = fed.node.facts.get("lease:exchange") or ""
        expires = float(held.rpartition("@")[2])
        fed.start(sync_interval=1)
        second = f"{HOST}:{fed.process.pid}@"
        wait_for(
            lambda: (fed.node.facts.get("lease:exchange") or "").startswith(second),
            25,
            "the restarted node taking the lease",
        )
        assert time.time() < expires, "taken only once the dead process's lease expired"
    finally:
        fed.close()

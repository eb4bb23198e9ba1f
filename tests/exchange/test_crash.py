"""The receiving node killed with SIGKILL in the middle of a sync, again and again: the next
sync resumes from the stored watermark, with no loss and no duplicate."""

from __future__ import annotations

import random
import signal
import sqlite3
import time

import pytest

from tests.exchange.build import Clock, graded, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode, federate, version_key

COUNT = 8000


def received_count(node: FedNode) -> int:
    # A plain sqlite3 reader: it never blocks the writer being killed.
    with sqlite3.connect(node.data / "diapason.sqlite3", timeout=5) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM objects WHERE source = 'partner:alpha'"
        ).fetchone()
    return int(count)


@pytest.mark.slow
def test_sync_killed_mid_way_resumes_without_loss_or_duplicate(make_node: MakeNode) -> None:
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    sent = [
        graded(sdo("threat-actor", a.identity, "green", clock, name=f"T{n}")) for n in range(COUNT)
    ]
    a.put(sent)
    a.node.ledger.run("tests")
    a.start(sync_interval=0)
    expected = {version_key(obj) for obj in sent} | {
        version_key(a.node.store.versions(a.identity)[0].object)
    }

    chance = random.Random(7)
    kills: list[int] = []  # objects held when each kill landed
    # Killed as soon as its first page is written; at a random moment (often before any
    # write: discovery, the first request); after a random number of objects; late, but
    # two pages or more from the end: between this loop seeing a page and the kill landing,
    # the sync may write the next page, and with a threshold one page from the end it
    # sometimes finished first.
    for when in ("first page", "random moment", "random count", "late"):
        # Pages of 1,000: the kills land between pages as well as inside them.
        process = b.sync_process(page_size=1000)
        floor = received_count(b)
        delay = chance.uniform(0.0, 1.2)
        count = floor + chance.randint(1, 1500)
        started = time.monotonic()
        while process.poll() is None and time.monotonic() - started < 60:
            held = received_count(b)
            if (
                (when == "first page" and held > floor)
                or (when == "random moment" and time.monotonic() - started > delay)
                or (when == "random count" and held >= count)
                or (when == "late" and held >= COUNT - 2500)
            ):
                break
            time.sleep(0.005)
        assert process.poll() is None, f"the sync ended before the {when} kill"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        kills.append(received_count(b))
    assert 0 < kills[0] < kills[-1] < len(expected), kills

    result = b.cli_json("sync", "--partner", "alpha")["partners"][0]
    assert result["status"] == "ok"
    stored = [(object_id, modified) for object_id, modified, _ in b.versions("partner:alpha")]
    assert len(stored) == len(set(stored)), "a version stored twice"
    assert set(stored) == expected
    # And the audit trail says so: every version received is recorded as received.
    audited = {i for ids, d in b.audit("receive") if d.get("partner") == "alpha" for i in ids}
    assert audited == {object_id for object_id, _ in expected}
    assert b.cli_json("audit", "verify")["ok"] is True
    with sqlite3.connect(b.data / "diapason.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

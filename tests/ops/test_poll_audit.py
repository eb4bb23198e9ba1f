"""Empty polls by a partner: counted per hour, one ``poll_summary`` entry per partner and
hour in the trail, never an empty ``disclose``; what is disclosed is audited as before.
Real polls over the TAXII server, in process and on a ``serve --workers 2`` node."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from diapason.exchange.collections import Collection
from diapason.node import Node
from tests.builders import sdo
from tests.exchange.nodes import TAXII, FedNode, version_key, wait_for

# Any store timestamp of a later hour closes every hour counted by these tests.
LATER = "2999-01-01T00:00:00.000000Z"


@dataclass
class Served:
    """A node served by ``diapason serve`` (no exchange loop), a collection, a partner."""

    fed: FedNode
    collection: Collection
    token: str

    def get(self, endpoint: str) -> dict[str, Any]:
        answer = httpx.get(
            f"{self.fed.url}/taxii2/main/collections/{self.collection.id}/{endpoint}/",
            headers={"Accept": TAXII, "Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


def _partner(fed: FedNode, name: str = "paris") -> tuple[Collection, str]:
    collection = fed.node.collections.add("main", "Shared", alias="shared")
    fed.node.accounts.add_user(name, "partner", None)
    token = fed.node.accounts.create_token(name, "tests").secret
    fed.node.collections.grant(collection.id, name, read=True, write=False)
    return collection, token


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    fed = FedNode.create(tmp_path, "alpha", database_url)
    try:
        collection, token = _partner(fed)
        fed.start()
        yield Served(fed, collection, token)
    finally:
        fed.close()


def _actions(node: Node, after: int, actor: str) -> list[tuple[str, str | None]]:
    entries = node.audit.entries(after=after, limit=10_000, actor=actor)
    return [(e.action, e.details.get("taxii")) for e in entries]


def test_empty_polls_are_summed_up_per_hour(served: Served) -> None:
    node = served.fed.node
    after = node.audit.head().seq  # type: ignore[union-attr]
    for _ in range(5):
        assert "objects" not in served.get("objects")
        assert "objects" not in served.get("manifest")
    obj = sdo("indicator")
    assert not node.store.put_many([obj]).refused
    node.collections.add_entries(served.collection.id, [version_key(obj)])
    assert [o["id"] for o in served.get("objects")["objects"]] == [obj["id"]]
    assert [r["id"] for r in served.get("manifest")["objects"]] == [obj["id"]]
    # Nothing empty in the trail: the disclosures, and counts of the hour still open.
    assert _actions(node, after, "paris") == [("disclose", "objects"), ("disclose", "manifest")]
    pending = node.audit.pending_polls()
    assert {(p["actor"], p["endpoint"], p["polls"]) for p in pending} == {
        ("paris", "objects", 5),
        ("paris", "manifest", 5),
    }

    written = node.audit.close_polls(before=LATER)

    assert len(written) == 1
    summary = written[0]
    assert (summary.actor, summary.action, summary.object_ids) == ("paris", "poll_summary", ())
    assert summary.details["polls"] == 10
    assert summary.details["recipient"] == "paris"
    assert summary.details["first"] <= summary.details["last"]
    assert summary.details["hour"] == summary.details["first"][:13]
    assert sorted((a["taxii"], a["polls"]) for a in summary.details["asked"]) == [
        ("manifest", 5),
        ("objects", 5),
    ]
    assert {a["collection"] for a in summary.details["asked"]} == {served.collection.id}
    assert node.audit.pending_polls() == []
    assert node.audit.close_polls(before=LATER) == []
    verification = node.audit.verify()
    assert verification.ok, verification.message
    # The CLI sums up closed hours before it verifies or lists.
    listed = served.fed.cli_json("audit", "list", "--action", "poll_summary")
    assert [entry["details"]["polls"] for entry in listed] == [10]


def test_a_poll_in_a_new_hour_sums_up_the_closed_one(database_url: str, tmp_path: Path) -> None:
    fed = FedNode.create(tmp_path, "alpha", database_url)
    try:
        audit = fed.node.audit
        for at in ("2026-03-01T10:00:01.000000Z", "2026-03-01T10:59:59.999999Z"):
            audit.record_poll("paris", "c1", "objects", at=at)
        audit.record_poll("rabat", "c1", "manifest", at="2026-03-01T10:30:00.000000Z")
        after = audit.head().seq  # type: ignore[union-attr]
        # The first poll of 11:00 writes the summaries of 10:00, one per partner.
        audit.record_poll("paris", "c1", "objects", at="2026-03-01T11:00:00.000000Z")
        summaries = audit.entries(after=after, action="poll_summary")
        assert [(e.actor, e.details["hour"], e.details["polls"]) for e in summaries] == [
            ("paris", "2026-03-01T10", 2),
            ("rabat", "2026-03-01T10", 1),
        ]
        assert summaries[0].details["first"] == "2026-03-01T10:00:01.000000Z"
        assert summaries[0].details["last"] == "2026-03-01T10:59:59.999999Z"
        assert [(p["hour"], p["polls"]) for p in audit.pending_polls()] == [("2026-03-01T11", 1)]
        assert audit.verify().ok
    finally:
        fed.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_several_serve_workers_lose_no_poll(tmp_path: Path, postgres_server_url: str) -> None:
    """Two worker processes over one PostgreSQL answer 200 concurrent empty polls: the
    summary counts every one."""
    from tests.conftest import _empty_postgres

    _empty_postgres(postgres_server_url)
    fed = FedNode.create(tmp_path, "alpha", postgres_server_url)
    try:
        collection, token = _partner(fed)
        log = (tmp_path / "serve.log").open("wb")
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "diapason", "serve", "--data", str(fed.data)),
                *("--port", str(fed.port), "--workers", "2"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=fed.env(DIAPASON_SYNC_INTERVAL="0"),
        )
        try:
            base = f"{fed.url}/taxii2/main/collections/{collection.id}/"

            def up() -> bool:
                try:
                    return httpx.get(f"{fed.url}/health", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_for(up, 60, "serve --workers 2 answering")
            headers = {"Accept": TAXII, "Authorization": f"Bearer {token}"}

            def poll(i: int) -> int:
                path = "objects/" if i % 2 else "manifest/"
                with httpx.Client(timeout=30) as client:
                    answer = client.get(base + path, headers=headers)
                return answer.status_code

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(pool.map(poll, range(200)))
            assert statuses == [200] * 200, (statuses, time.monotonic() - started)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            log.close()
        fed.node.audit.close_polls(before=LATER)
        written = fed.node.audit.entries(action="poll_summary", limit=100)
        # One summary, or two if the run crossed the hour.
        assert sum(e.details["polls"] for e in written) == 200
        assert {e.actor for e in written} == {"paris"} and len(written) <= 2
        assert fed.node.audit.pending_polls() == []
        assert not fed.node.audit.entries(action="disclose", actor="paris")
        assert fed.node.audit.verify().ok
    finally:
        fed.close()

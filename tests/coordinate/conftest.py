"""Fixtures of the joint mechanism's tests: a real node (SQLite file or PostgreSQL) with a
partner, a fixed clock the tests move (``tests.clock``), and real nodes served on loopback
(``make_node``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from diapason.cli import main
from diapason.coordinate import Coordination
from diapason.coordinate.meetings import moment
from diapason.domain.coordination import RFI_TYPE
from diapason.domain.extensions import COORDINATION_EXTENSION_IDS, TLP_2_0_IDS
from diapason.domain.stix import new_id
from diapason.domain.timestamps import stix_timestamp
from diapason.node import Node, init_node
from diapason.settings import load_settings
from tests.clock import Clock, RunningClock
from tests.exchange.conftest import (
    MakeNode,
    make_node,  # noqa: F401  (a fixture, used here too)
)
from tests.exchange.nodes import FedNode

PARIS_IDENTITY = "identity--0b6cf3f5-8a2e-4f43-9a5b-1f6f0f9c2d11"


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Diapason:
    """``diapason ARGS --data FOLDER`` with the joint mechanism at the time of ``clock``:
    its exit code and what it printed, as the shell sees them."""

    data: Path
    clock: Callable[[], datetime]
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Ran:
        self.capsys.readouterr()
        try:
            main([*args, "--data", str(self.data)], clock=self.clock)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        printed = self.capsys.readouterr()
        return Ran(code, printed.out, printed.err)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
        return orjson.loads(result.stdout)


@dataclass
class CliNode:
    """A node's data folder and ``diapason … --data`` run on it."""

    node: FedNode
    diapason: Diapason


@pytest.fixture
def rabat_cli(
    make_node: MakeNode,  # noqa: F811 - the fixture imported above
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> CliNode:
    """Node ``rabat`` with partner ``paris`` (not running), and its command line in the
    environment of a user of this node only (as ``FedNode.cli`` gives its processes),
    the joint mechanism at the time of a ``RunningClock``."""
    rabat = make_node("rabat")
    rabat.node.partners.add("paris", "http://127.0.0.1:9", "unused", identity_id=PARIS_IDENTITY)
    for name in [name for name in os.environ if name.startswith("DIAPASON_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DIAPASON_DATABASE_URL", rabat.database_url)
    return CliNode(rabat, Diapason(rabat.data, RunningClock(), capsys))


@dataclass
class Joint:
    node: Node
    clock: Clock
    service: Coordination


@pytest.fixture
def joint(database_url: str, tmp_path: Path) -> Iterator[Joint]:
    """Node ``rabat`` with partner ``paris`` (not running: nothing here needs it)."""
    settings = load_settings(
        tmp_path / "rabat", environ={}, node_name="rabat", database_url=database_url
    )
    node, _ = init_node(settings, "tests")
    node.partners.add("paris", "http://127.0.0.1:9", "unused", identity_id=PARIS_IDENTITY)
    clock = Clock()  # tests.clock.NOW, moved by the tests that need it
    yield Joint(node, clock, node.coordination(actor="tests", editor="nadia", clock=clock))
    node.close()


def partner_request(
    joint: Joint, deadline: str, *, status: str = "open", based_on: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A request from ``paris`` to ``rabat`` (or a revision of one), stored as the sync
    agent stores what a partner sends (provenance ``partner:paris``)."""
    stamp = stix_timestamp(joint.clock.now)
    obj: dict[str, Any] = {
        "type": RFI_TYPE,
        "spec_version": "2.1",
        "id": new_id(RFI_TYPE),
        "created": stamp,
        "modified": stamp,
        "created_by_ref": PARIS_IDENTITY,
        "title": "Réseau de Nador",
        "question": "Quels relais ?",
        "priority": "high",
        "deadline": moment(deadline, "deadline"),
        "requester": "paris",
        "addressed_to": "rabat",
        "status": status,
        "object_marking_refs": [TLP_2_0_IDS["green"]],
        "extensions": {COORDINATION_EXTENSION_IDS[RFI_TYPE]: {"extension_type": "new-sdo"}},
    }
    if based_on is not None:
        obj["item_ref"] = based_on["id"]
        obj["based_on_refs"] = [based_on["id"]]
    report = joint.node.store.put_many([obj], source="partner:paris")
    assert not report.refused, report.refused
    return obj


def assert_valid_stix(obj: dict[str, Any]) -> None:
    """The OASIS validator finds no error (warnings about Diapason's deterministic UUIDv5
    ids aside, which are not on these objects)."""
    results = validate_instance(obj, ValidationOptions(version="2.1"))
    assert results.is_valid, [str(error) for error in results.errors]

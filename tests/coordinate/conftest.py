"""Fixtures of the joint mechanism's tests: a real node (SQLite file or PostgreSQL) with a
partner, a clock the tests move, and real nodes served on loopback (``make_node``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from stix2validator import ValidationOptions, validate_instance

from diapason.coordinate import Coordination
from diapason.node import Node, init_node
from diapason.settings import load_settings
from tests.federation.conftest import make_node  # noqa: F401  (a fixture, used here too)

PARIS_IDENTITY = "identity--0b6cf3f5-8a2e-4f43-9a5b-1f6f0f9c2d11"


@dataclass
class Clock:
    """The time the service sees; tests move it to make deadlines pass without waiting."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


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
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    yield Joint(node, clock, Coordination(node, actor="tests", editor="nadia", clock=clock))
    node.close()


def assert_valid_stix(obj: dict[str, Any]) -> None:
    """The OASIS validator finds no error (warnings about Diapason's deterministic UUIDv5
    ids aside, which are not on these objects)."""
    results = validate_instance(obj, ValidationOptions(version="2.1"))
    assert results.is_valid, [str(error) for error in results.errors]

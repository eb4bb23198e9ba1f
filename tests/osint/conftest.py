"""Fixtures of the OSINT tests: the seed article, a real node (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diapason.node import Node, init_node
from diapason.osint.gazetteer import Gazetteer, load_gazetteer
from diapason.settings import load_settings
from tests.shared import DEV_CORPUS, SEED

DEV = DEV_CORPUS


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    settings = load_settings(tmp_path / "node", environ={}, database_url=database_url)
    opened, _ = init_node(settings, "tests")
    try:
        yield opened
    finally:
        opened.close()

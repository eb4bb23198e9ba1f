"""Fixtures of the OSINT tests: the seed article, a real node (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diapason.node import Node, init_node
from diapason.osint.gazetteer import Gazetteer, load_gazetteer
from diapason.settings import load_settings

# shared/ lies beside the repository (CI) or further up (a worktree): the nearest one.
SHARED = next(
    (p / "shared" for p in Path(__file__).resolve().parents if (p / "shared" / "seed").is_dir()),
    Path(__file__).resolve().parents[2] / "shared",
)
SEED = SHARED / "seed" / "000_fdb49ce0c2db047b.txt"
DEV = SHARED / "corpus" / "dev"


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

"""Across packages: news articles ingested by the OSINT pipeline become the event series that
anticipation counts (the two packages share only the store and the event's STIX form)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diapason.anticipate.events import store_series
from diapason.node import Node, init_node
from diapason.settings import load_settings
from tests.shared import SHARED

ARTICLES = (
    SHARED / "seed" / "000_fdb49ce0c2db047b.txt",  # Rabat, Monday 2024-04-22: a meeting
    SHARED / "corpus" / "dev" / "articles" / "03.md",  # Niger, June 2024: an attack
)


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    opened, _ = init_node(
        load_settings(tmp_path / "node", environ={}, database_url=database_url), "tests"
    )
    try:
        yield opened
    finally:
        opened.close()


@pytest.mark.slow
def test_ingested_events_are_counted_per_place_type_and_month(node: Node) -> None:
    written = []
    for path in ARTICLES:
        result = node.ingestor("osint").ingest_text(
            path.read_text(encoding="utf-8"), origin=str(path)
        )
        written += [obj for obj in result.objects if obj["type"] == "x-diapason-event"]
    assert written, "the articles report events"

    built = store_series(node.store, places=["all", "NE", "MA"], categories=["all", "ASSAULT"])
    assert built.events_read == len(written) == built.events_counted
    assert not built.skipped
    series = {s.name: dict(zip(s.labels(), s.counts.tolist(), strict=True)) for s in built.series}
    attacks = [e for e in written if e["plover_type"] == "ASSAULT"]
    # Every event of the store is counted in its month; empty months are zeros.
    assert sum(series["all/all"].values()) == len(written)
    assert series["all/all"]["2024-05"] == 0
    assert series["NE/event_type:ASSAULT"]["2024-06"] == len(attacks) > 0
    assert series["MA/event_type:ASSAULT"] == dict.fromkeys(series["MA/all"], 0)
    # The Rabat meeting of Monday 2024-04-22 is counted for Morocco in April.
    assert series["MA/all"]["2024-04"] >= 1

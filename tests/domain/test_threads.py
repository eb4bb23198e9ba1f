"""``prepare`` from several threads at once gives what it gives from one, and never raises.

``put_many`` and ``neighbour_edges`` run on the web server's worker threads: whatever
``prepare`` remembers to go faster must not be shared between them unguarded.
"""

from __future__ import annotations

import random
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest

from diapason.domain.stix import Memo, Prepared, Problem, prepare, stored_links
from tests.builders import TLP_GREEN

MAX_BYTES = 1_048_576
THREADS = 6


def _objects(count: int) -> list[dict[str, Any]]:
    """Reports citing objects under many list-reference keys of many lengths (longer
    and shorter lists under one key, some past a thousand entries), single references,
    and some refused objects."""
    rng = random.Random(21)

    def new_id(stix_type: str) -> str:
        return f"{stix_type}--{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    targets = [new_id(rng.choice(("location", "identity", "malware"))) for _ in range(400)]
    objects: list[dict[str, Any]] = []
    for number in range(count):
        obj: dict[str, Any] = {
            "type": "report",
            "spec_version": "2.1",
            "id": new_id("report"),
            "created": "2024-04-22T10:00:00.000Z",
            "modified": "2024-04-22T10:00:00.000Z",
            "published": "2024-04-22T10:00:00Z",
            "name": f"report {number}",
            "object_marking_refs": [TLP_GREEN],
            "object_refs": rng.sample(targets, rng.randint(1, 30)),
        }
        for _ in range(rng.randint(1, 6)):
            key = f"x_list{rng.randrange(60)}_refs"
            length = rng.choice((1, 2, 5, 40, 300, 1_000, 1_200))
            obj[key] = [rng.choice(targets) for _ in range(length)]
        if rng.random() < 0.3:
            obj[f"x_one{rng.randrange(30)}_ref"] = rng.choice(targets)
        if rng.random() < 0.05:
            obj["x_list0_refs"] = [*targets[:3], "location--not-an-id"]  # refused
        objects.append(obj)
    return objects


@pytest.fixture
def quick_switches() -> Iterator[None]:
    """Threads switched every microsecond, so that a race shows within the test's time."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _prepare_all(objects: list[dict[str, Any]], order: list[int]) -> dict[int, Any]:
    """``prepare`` of every object, in this order, as one batch (``put_many`` makes one
    memo per call)."""
    memo = Memo()
    return {index: prepare(objects[index], index, MAX_BYTES, memo) for index in order}


@pytest.mark.usefixtures("quick_switches")
def test_prepare_from_threads_gives_the_single_threaded_results() -> None:
    objects = _objects(200)
    expected = _prepare_all(objects, list(range(len(objects))))
    assert any(isinstance(result, Problem) for result in expected.values())
    assert any(isinstance(result, Prepared) for result in expected.values())
    orders = []
    for seed in range(THREADS):
        order = list(range(len(objects)))
        random.Random(seed).shuffle(order)
        orders.append(order)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda order: _prepare_all(objects, order), orders))
    for found in results:
        assert found == expected


@pytest.mark.usefixtures("quick_switches")
def test_stored_links_from_threads_gives_the_single_threaded_links() -> None:
    contents = [
        orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
        for obj in _objects(200)
        if "location--not-an-id" not in obj.get("x_list0_refs", ())
    ]
    expected = [stored_links(content) for content in contents]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: [stored_links(text) for text in contents], range(6)))
    for found in results:
        assert found == expected

"""Two real nodes, 5,000 objects of mixed markings: the receiving node ends with exactly the
set it is entitled to, byte for byte, and both audit trails agree."""

from __future__ import annotations

import time

import orjson
import pytest

from diapason.domain.extensions import SHIPPED_IDS
from diapason.exchange.receipts import RECEIPT_TYPE
from tests.exchange.build import Generator
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import federate, version_key, wait_for

COUNT = 5000


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_receiving_node_ends_with_exactly_its_entitled_set(
    make_node: MakeNode, backend: str
) -> None:
    a, b = make_node("alpha", backend), make_node("bravo", backend)
    generator = Generator(a.identity, "bravo", seed=20240422)
    versions, allowed, refused = generator.objects(COUNT)
    a.put([*generator.third, *generator.definitions(), *versions])
    # The mixture is what the test means it to be: every kind of marking, both outcomes.
    assert len(versions) > COUNT and len(allowed) > 500 and len(refused) > 2000
    me = version_key(a.node.store.versions(a.identity)[0].object)
    definitions = {
        version_key(d)
        for d in generator.definitions()
        if d["id"] in generator.entitled_definitions()
    }
    expected = allowed | definitions | {me}
    ids_from_a = {object_id for object_id, _ in expected}

    federate(a, b)
    started = time.monotonic()
    a.start(sync_interval=1)  # its loop runs the policy for bravo
    b.start(sync_interval=1)  # its loop pulls from alpha
    wait_for(
        lambda: len(b.versions("partner:alpha")) >= len(expected),
        120,
        "bravo's serve loop receives alpha's releases",
        interval=0.5,
    )
    took = time.monotonic() - started
    b.stop()
    # One more round by hand: nothing more is due.
    assert b.cli_json("sync", "--partner", "alpha")["partners"][0]["received"] == 0

    received: list[tuple[str, str, str]] = []
    acknowledgements: list[tuple[str, str, str]] = []
    for row in b.versions("partner:alpha"):
        (acknowledgements if row[0].startswith(RECEIPT_TYPE) else received).append(row)
    # alpha also posts its receipts for what it pulled from bravo: acknowledgements by alpha
    # of bravo's own releases, not alpha's intelligence.
    for _i, _m, content in acknowledgements:
        receipt = orjson.loads(content)
        assert (receipt["created_by_ref"], receipt["receiver"]) == (a.identity, "alpha")
        assert {entry["id"] for entry in receipt["received"]} <= {
            object_id for object_id, _m, _c in b.versions() if object_id not in ids_from_a
        }
    keys = [(object_id, modified) for object_id, modified, _ in received]
    assert len(keys) == len(set(keys)), "a version stored twice"
    assert set(keys) == expected, (
        f"missing {sorted(expected - set(keys))[:5]}, extra {sorted(set(keys) - expected)[:5]}"
    )
    # The originator's markings and everything else, byte for byte.
    held_by_a = {(object_id, modified): content for object_id, modified, content in a.versions()}
    assert all(content == held_by_a[(i, m)] for i, m, content in received)

    # Both trails agree on what went across.
    ids = {object_id for object_id, _ in expected}
    released = {i for ids_, d in a.audit("release") if d["partner"] == "bravo" for i in ids_}
    disclosed = {
        i for ids_, d in a.audit("disclose") if d.get("recipient") == "bravo" for i in ids_
    }
    receipts = {i for ids_, d in b.audit("receive") if d.get("partner") == "alpha" for i in ids_}
    assert released == disclosed == ids | SHIPPED_IDS  # bravo ships the definitions too
    assert receipts == ids
    for node in (a, b):
        verified = node.cli_json("audit", "verify")
        assert verified["ok"] is True, verified
    assert took < 90, f"{took:.0f} s"

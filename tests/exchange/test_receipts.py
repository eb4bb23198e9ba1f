"""Receipts are exact: after a complete sync the sender knows the receiver stored every
version it released, even when a round carries far more versions than one receipt holds."""

from __future__ import annotations

import orjson
import pytest

from diapason.exchange.receipts import MAX_PER_RECEIPT, MAX_RECEIPT_BYTES, make_receipts
from tests.exchange.build import Clock, graded, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import federate


def test_receipts_fit_the_receivers_limits() -> None:
    long_type = "x-" + "a" * 240
    versions = [
        (f"{long_type}--00000000-0000-4000-8000-{n:012d}", "2026-01-01T00:00:00.000000Z")
        for n in range(12_001)
    ]
    receipts = make_receipts("bravo", None, versions)
    assert sum(len(r["received"]) for r in receipts) == len(versions)
    assert [(e["id"], e["version"]) for r in receipts for e in r["received"]] == versions
    for receipt in receipts:
        assert len(receipt["received"]) <= MAX_PER_RECEIPT
        assert len(orjson.dumps(receipt)) <= MAX_RECEIPT_BYTES


@pytest.mark.slow
def test_after_a_sync_of_100000_versions_none_is_unacknowledged(make_node: MakeNode) -> None:
    alpha, bravo = make_node("alpha"), make_node("bravo")
    federate(alpha, bravo)
    clock = Clock()
    alpha.put(
        graded(sdo("threat-actor", alpha.identity, "green", clock, name=f"n{n}"))
        for n in range(100_000)
    )
    alpha.node.ledger.run("tests")
    before = alpha.cli_json("partner", "list")
    assert before[0]["unacknowledged"] > 100_000
    alpha.start()
    [result] = bravo.node.sync_agent().round(only="alpha")
    assert result.status == "ok" and result.received >= 100_000, result
    assert bravo.node.outgoing_receipts.count("alpha") == 0
    [after] = alpha.cli_json("partner", "list")
    assert (after["name"], after["unacknowledged"]) == ("bravo", 0)

"""The sync agent between two real nodes: ``diapason partner add``, ``diapason sync`` (one
round) and the loop of ``diapason serve``; provenance, byte-identical content, idempotence,
exponential back-off while a partner is down."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from diapason.domain.extensions import SHIPPED_IDS
from diapason.domain.markings import releasability_marking
from tests.exchange.build import Clock, graded, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode, federate, version_key, wait_for


def samples(node: FedNode, partner: str) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """A few objects of ``node``, and the versions ``partner`` is entitled to among them."""
    clock = Clock()
    own = node.identity
    rel_to = releasability_marking([partner])
    green = [graded(sdo("threat-actor", own, "green", clock, name=f"G{n}")) for n in range(30)]
    amber = graded(sdo("intrusion-set", own, "amber", clock, markings=(rel_to["id"],), name="A"))
    withheld = [
        graded(sdo("threat-actor", own, "red", clock, name="rouge")),
        graded(sdo("threat-actor", own, "amber", clock, name="sans REL TO")),
        sdo("threat-actor", own, "green", clock, name="non évalué"),
    ]
    objects = [rel_to, *green, amber, *withheld]
    return objects, {version_key(obj) for obj in (rel_to, *green, amber)}


@pytest.mark.slow
def test_partner_add_and_sync_with_the_cli(make_node: MakeNode) -> None:
    a, b = make_node("alpha"), make_node("bravo")
    objects, entitled = samples(a, "bravo")
    a.put(objects)

    # Two administrators partner their nodes with the CLI: each token is given by the side
    # that will be read, and shown once.
    added = a.cli_json(
        "partner", "add", "bravo", "--url", b.url, "--token", "dia_later", "--identity", b.identity
    )
    assert (added["released"], added["withheld"]) == (len(entitled) + 1 + len(SHIPPED_IDS), 3)
    for_bravo = added["token_for_partner"]
    added = b.cli_json(
        "partner", "add", "alpha", "--url", a.url, "--token", for_bravo, "--identity", a.identity
    )
    for_alpha = added["token_for_partner"]
    result = a.cli("partner", "update", "bravo", "--token", for_alpha)
    assert result.returncode == 0, result.stderr
    listed = b.cli("partner", "list", "--json")
    assert for_bravo not in listed.stdout and for_alpha not in listed.stdout

    a.start(sync_interval=0)
    me = {version_key(a.node.store.versions(a.identity)[0].object)}
    first = b.cli_json("sync")
    assert first["partners"] == [
        {
            "partner": "alpha",
            "status": "ok",
            "received": len(entitled | me),
            "unchanged": len(SHIPPED_IDS),  # the definitions both ship, already held
            "refused": 0,
            "corrections": 0,
            "pages": 1,
            "untrusted": 0,
            "unfinished": False,
            "error": None,
        }
    ]
    # Everything entitled arrived, with its provenance, byte for byte what alpha holds.
    received = b.versions(source="partner:alpha")
    assert {(i, m) for i, m, _ in received} == entitled | me
    held_by_a = {(i, m): content for i, m, content in a.versions()}
    for object_id, modified, content in received:
        assert content == held_by_a[(object_id, modified)]

    # Idempotent: the next round asks only for what is newer, and finds nothing.
    again = b.cli_json("sync")["partners"][0]
    assert (again["status"], again["received"], again["unchanged"]) == ("ok", 0, 0)
    # Even reading everything again from the start stores nothing twice.
    b.node.partners.update("alpha", watermark=None)
    replay = b.cli_json("sync")["partners"][0]
    assert (replay["received"], replay["unchanged"]) == (0, len(entitled | me | SHIPPED_IDS))
    versions = [(i, m) for i, m, _ in b.versions()]
    assert len(versions) == len(set(versions))
    assert {(i, m) for i, m, _ in b.versions(source="partner:alpha")} == entitled | me

    # Both trails agree: what alpha released to bravo and bravo read is what bravo received.
    released = {i for ids, d in a.audit("release") if d.get("partner") == "bravo" for i in ids}
    disclosed = {i for ids, d in a.audit("disclose") if d.get("recipient") == "bravo" for i in ids}
    receipts = {i for ids, d in b.audit("receive") if d.get("partner") == "alpha" for i in ids}
    assert released == disclosed == {i for i, _ in entitled | me} | SHIPPED_IDS
    assert receipts == {i for i, _ in entitled | me}
    for node in (a, b):
        assert node.cli_json("audit", "verify")["ok"] is True


@pytest.mark.slow
def test_serve_loop_pulls_and_backs_off_while_the_partner_is_down(
    make_node: MakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    objects, entitled = samples(a, "bravo")
    a.put(objects)
    a.node.ledger.run("tests")

    # alpha is down: each attempt fails and doubles the wait before the next one.
    agent = b.node.sync_agent()
    with caplog.at_level(logging.WARNING, logger="diapason.sync"):
        for failures in (1, 2, 3, 4):
            started = datetime.now(UTC)
            (result,) = agent.round(force=True)
            assert result.status == "failed" and "ConnectError" in (result.error or "")
            row = b.partner_row("alpha")
            assert row["failures"] == failures
            wait = (
                datetime.strptime(row["next_attempt_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                    tzinfo=UTC
                )
                - started
            )
            assert 2.0 * 2 ** (failures - 1) <= wait.total_seconds() < 2.0 * 2 ** (failures - 1) + 2
    assert [r.status for r in agent.round()] == ["skipped"]  # still backing off
    assert "sync with alpha failed (ConnectError" in caplog.text
    assert "next try in 8 s" in caplog.text
    failed = [d for _ids, d in b.audit("sync") if d.get("partner") == "alpha" and not d["ok"]]
    assert len(failed) == 4

    # The serve loop, every second, backs off the same way: two attempts in 3.5 s.
    assert b.cli("partner", "update", "alpha").returncode == 0  # retry at once
    b.start(sync_interval=1)
    wait_for(lambda: b.partner_row("alpha")["failures"] >= 1, 10, "a first failed attempt")
    first_failure = datetime.now(UTC)
    while (datetime.now(UTC) - first_failure).total_seconds() < 3.5:
        assert b.partner_row("alpha")["failures"] <= 2
    assert "sync with alpha failed" in b.log_text()

    # alpha comes up: at its next attempt bravo gets everything, and the failures are reset.
    a.start(sync_interval=0)
    me = {version_key(a.node.store.versions(a.identity)[0].object)}
    wait_for(
        lambda: {(i, m) for i, m, _ in b.versions("partner:alpha")} == entitled | me,
        30,
        "bravo's serve loop receives what it is entitled to",
    )
    wait_for(lambda: b.partner_row("alpha")["failures"] == 0, 10, "failures reset")
    assert b.partner_row("alpha")["last_error"] is None


@pytest.mark.slow
def test_consecutive_pages_are_written_and_acknowledged_together(make_node: MakeNode) -> None:
    """Pages of 100 gathered up to ``batch_size`` objects: one transaction (one ``receive``
    audit entry) and one receipt on the sender's side for the group; with ``batch_size``
    equal to the page, one of each per page."""
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    sent = [graded(sdo("threat-actor", a.identity, "green", clock)) for _ in range(450)]
    a.put(sent)
    a.node.ledger.run("tests")
    a.start(sync_interval=0)

    def receipts_on_a() -> int:
        return sum(1 for row in a.versions() if row[0].startswith("x-diapason-receipt--"))

    grouped = b.cli("sync", env=b.env(DIAPASON_SYNC_PAGE_SIZE="100"))
    assert grouped.returncode == 0, grouped.stderr
    receives = [ids for ids, d in b.audit("receive") if d.get("partner") == "alpha"]
    assert len(receives) == 1 and len(receives[0]) >= len(sent)
    assert receipts_on_a() == 1

    more = [graded(sdo("threat-actor", a.identity, "green", clock)) for _ in range(250)]
    a.put(more)
    a.node.ledger.run("tests")
    paged = b.cli("sync", env=b.env(DIAPASON_SYNC_PAGE_SIZE="100", DIAPASON_BATCH_SIZE="100"))
    assert paged.returncode == 0, paged.stderr
    receives = [ids for ids, d in b.audit("receive") if d.get("partner") == "alpha"]
    assert [len(ids) for ids in receives[1:]] == [100, 100, 50]
    assert receipts_on_a() == 4
    held = {(i, m) for i, m, _ in b.versions("partner:alpha")}
    assert {version_key(obj) for obj in sent + more} <= held

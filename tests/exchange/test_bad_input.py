"""Partners that send what they may not, or answer garbage, or nothing: each is refused with
a clear log line and an audit entry, nothing already stored is damaged, and sync with the
other partners goes on."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from diapason.store.schema import objects
from tests.exchange.build import Clock, graded, identity, new_version, sdo
from tests.exchange.conftest import MakeFake, MakeNode
from tests.exchange.nodes import FedNode, federate, version_key

Row = tuple[int, str, str, str, bool]


def snapshot(node: FedNode) -> set[Row]:
    """Every stored version with its content and currency."""
    statement = sa.select(
        objects.c.seq,
        objects.c.id,
        objects.c.modified,
        objects.c.content,
        objects.c.is_current,
    )
    with node.node.database.engine.connect() as connection:
        return {(r[0], r[1], r[2], r[3], bool(r[4])) for r in connection.execute(statement)}


def results_by_partner(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {result["partner"]: result for result in payload["partners"]}


def failed_syncs(node: FedNode, partner: str) -> list[str]:
    return [
        d["error"] for _ids, d in node.audit("sync") if d.get("partner") == partner and not d["ok"]
    ]


def malformed_page(held: dict[str, Any], third: str, clock: Clock) -> list[Any]:
    """A page of a partner that sends broken objects, and one good one (by a third party)."""
    broken = sdo("threat-actor", third, "green", clock, name="x")
    return [
        42,
        {"type": "threat-actor", "spec_version": "2.1", "name": "no id"},
        {**broken, "id": "threat-actor--not-a-uuid"},
        {**sdo("threat-actor", third, "green", clock, name="y"), "modified": "yesterday"},
        {**sdo("threat-actor", third, "green", clock, name="z"), "created_by_ref": [third]},
        {**sdo("threat-actor", third, "green", clock, name="w"), "id": ["threat-actor--x"]},
        {**sdo("threat-actor", third, "green", clock, name="v"), "type": "intrusion-set"},
        # The same version as one bravo holds, with other content: the stored one stays.
        {**held, "name": "Altered by the partner"},
        graded(sdo("threat-actor", third, "green", clock, name="Rapport valable")),
    ]


def test_bad_partners_are_refused_and_the_others_go_on(
    make_node: MakeNode, make_fake: MakeFake
) -> None:
    a, b, evil = make_node("alpha"), make_node("bravo"), make_node("evil")
    federate(a, b)
    federate(evil, b)
    clock = Clock()
    # bravo's own objects, and what it already received from alpha.
    mine = graded(sdo("threat-actor", b.identity, "green", clock, name="Notre dossier"))
    b.put([mine])
    from_alpha = [
        graded(sdo("threat-actor", a.identity, "green", clock, name=f"A{n}")) for n in range(5)
    ]
    a.put(from_alpha)
    a.node.ledger.run("tests")
    a.start(sync_interval=0)
    first = results_by_partner(b.cli_json("sync", "--partner", "alpha"))
    assert first["alpha"]["status"] == "ok" and first["alpha"]["received"] == 6
    before = snapshot(b)

    # evil is a real node that releases to bravo objects claiming to be bravo's own (its
    # ledger gives an organisation back what it created), a new version of an object bravo
    # created, and one object of its own that it may well send.
    spoofed = [
        graded(sdo("threat-actor", b.identity, "green", clock, name=f"Faux {n}")) for n in range(3)
    ]
    takeover = new_version(mine, clock, created_by_ref=evil.identity, name="Notre dossier (bis)")
    honest = graded(sdo("threat-actor", evil.identity, "green", clock, name="Signalement"))
    evil.put([*spoofed, takeover, honest])
    evil.node.ledger.run("tests")
    evil.start(sync_interval=0)

    # Misbehaving partners on loopback.
    third = identity("Agence tierce", clock)
    held = from_alpha[0]
    fakes = {
        "bad-garbage": make_fake("garbage", "bravo"),
        "bad-json": make_fake("json-not-taxii", "bravo"),
        "bad-listing": make_fake("collections-not-list", "bravo"),
        "bad-objects": make_fake("objects", "bravo", malformed_page(held, third["id"], clock)),
        "bad-taxii-json": make_fake("taxii-not-json", "bravo"),
    }
    for name, fake in fakes.items():
        b.node.partners.add(name, fake.url, "dia_a-token-they-gave-us")
    # alpha has something new for bravo too.
    fresh = graded(sdo("campaign", a.identity, "green", clock, name="Nouveau"))
    a.put([fresh])
    a.node.ledger.run("tests")

    result = b.cli("sync", "--json")
    assert result.returncode == 1, result.stderr  # some partners failed
    round_1 = results_by_partner(orjson.loads(result.stdout))
    assert {name: r["status"] for name, r in round_1.items()} == {
        "alpha": "ok",
        "bad-garbage": "failed",
        "bad-json": "failed",
        "bad-listing": "failed",
        "bad-objects": "ok",
        "bad-taxii-json": "failed",
        "evil": "ok",
    }
    assert round_1["alpha"]["received"] == 1
    assert "not a TAXII 2.1 answer" in round_1["bad-garbage"]["error"]
    assert "not a TAXII 2.1 answer" in round_1["bad-json"]["error"]
    assert "'collections' is not a list" in round_1["bad-listing"]["error"]
    assert "the answer is not JSON" in round_1["bad-taxii-json"]["error"]
    assert (round_1["bad-objects"]["received"], round_1["bad-objects"]["refused"]) == (1, 8)
    assert (round_1["evil"]["received"], round_1["evil"]["refused"]) == (2, 4)  # + identity

    # A clear line for each, on the log...
    for name in ("bad-garbage", "bad-json", "bad-listing", "bad-taxii-json"):
        assert f"sync with {name} failed (" in result.stderr
    assert "bad-objects sent an invalid object: object #0: expected a JSON object" in (
        result.stderr
    )
    assert "evil sent 4 object version(s) it may not send; refused (own-object x4)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    # ... and in the audit trail.
    for name in ("bad-garbage", "bad-json", "bad-listing", "bad-taxii-json"):
        assert len(failed_syncs(b, name)) == 1
    refused = [(ids, d) for ids, d in b.audit("request_refused") if d.get("partner") == "evil"]
    assert len(refused) == 1
    assert set(refused[0][0]) == {obj["id"] for obj in spoofed} | {mine["id"]}
    receipts = [d for _ids, d in b.audit("receive") if d.get("partner") == "bad-objects"]
    assert len(receipts) == 1 and len(receipts[0]["refused"]) == 7
    # The altered version of what alpha created is not bad-objects' to send: a trust refusal.
    [(altered, why)] = [e for e in b.audit("request_refused") if e[1]["partner"] == "bad-objects"]
    assert altered == [held["id"]] and why["rules"] == {"other-partner": 1}

    # Nothing already stored was changed; what was refused is not there; the rest is.
    after = snapshot(b)
    assert before <= after
    assert b.node.store.get(mine["id"]).object == mine  # type: ignore[union-attr]
    assert b.node.store.get(held["id"]).object == held  # type: ignore[union-attr]
    assert b.node.store.known_ids([obj["id"] for obj in spoofed]) == set()
    assert version_key(fresh) in {(i, m) for i, m, _ in b.versions("partner:alpha")}
    assert version_key(honest) in {(i, m) for i, m, _ in b.versions("partner:evil")}
    assert b.cli_json("audit", "verify")["ok"] is True

    # evil revokes bravo's token: 401, a clear error, back-off, audit entries on both sides.
    for issued in evil.node.accounts.list_tokens("bravo"):
        evil.node.accounts.revoke_token(issued.id)
    for attempt, wait in ((1, 2), (2, 4)):
        result = b.cli("sync", "--partner", "evil", "--force", "--json")
        assert result.returncode == 1
        (outcome,) = orjson.loads(result.stdout)["partners"]
        assert outcome["status"] == "failed"
        assert "the partner refused our credentials (401)" in outcome["error"]
        assert "sync with evil failed (" in result.stderr
        assert f"next try in {wait} s" in result.stderr
        assert b.partner_row("evil")["failures"] == attempt
    assert [r.status for r in b.node.sync_agent().round(only="evil")] == ["skipped"]
    assert len(failed_syncs(b, "evil")) == 2
    denied = [
        d for _ids, d in evil.audit("access_denied") if d.get("why") == "no valid credentials"
    ]
    assert len(denied) == 2
    assert snapshot(b) == after

    # A new token from evil's administrator; the next sync goes through at once.
    token = evil.node.accounts.create_token("bravo", "bravo reads evil, again").secret
    assert b.cli("partner", "update", "evil", "--token", token).returncode == 0
    outcome = results_by_partner(b.cli_json("sync", "--partner", "evil"))["evil"]
    assert (outcome["status"], outcome["received"]) == ("ok", 0)
    assert b.partner_row("evil")["failures"] == 0


def test_a_partner_that_hangs_times_out(
    make_node: MakeNode, make_fake: MakeFake, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    a.put([graded(sdo("threat-actor", a.identity, "green", clock, name="A"))])
    a.node.ledger.run("tests")
    a.start(sync_interval=0)
    b.node.partners.add("bad-hang", make_fake("hang", "bravo").url, "dia_x")
    b.node.partners.add("bad-trickle", make_fake("trickle", "bravo").url, "dia_x")

    agent = b.node.sync_agent()
    agent.timeout, agent.deadline = httpx.Timeout(1.0), 3.0
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="diapason.sync"):
        results = {result.partner: result for result in agent.round()}
    assert time.monotonic() - started < 15
    assert results["alpha"].status == "ok" and results["alpha"].received == 2
    assert results["bad-hang"].status == "failed"
    assert "no answer in time (ReadTimeout)" in (results["bad-hang"].error or "")
    assert results["bad-trickle"].status == "failed"
    assert "no complete answer within 3 s" in (results["bad-trickle"].error or "")
    for name in ("bad-hang", "bad-trickle"):
        assert f"sync with {name} failed (" in caplog.text
        assert len(failed_syncs(b, name)) == 1
        assert b.partner_row(name)["failures"] == 1

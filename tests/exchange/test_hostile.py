"""A partner can only speak for itself: a node syncing from a hostile partner (a small TAXII
server, tests/exchange/hostile.py) stores nothing that partner may not say, releases
nothing more because of it, tells the operator what was tried, and keeps syncing its honest
partners meanwhile. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from diapason.domain.extensions import FIXED_HANDLING_IDS, MARKING_EXTENSION_ID, TLP_2_0_IDS
from diapason.domain.markings import h3_marking, releasability_marking
from diapason.exchange.collections import DEFAULT_API_ROOT
from diapason.exchange.receipts import make_receipts
from diapason.exchange.sync import MAX_CURSOR, Listing, SyncError, SyncResult
from tests.exchange.build import Clock, graded, identity, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.hostile import (
    HostilePartner,
    forged_version,
    h3_as_statement,
    spoofed,
    widened_rel_to,
)
from tests.exchange.nodes import FedNode, federate, version_key, wait_for

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def hostiles() -> Iterator[list[HostilePartner]]:
    made: list[HostilePartner] = []
    yield made
    for partner in made:
        partner.close()


def partner_with(
    node: FedNode, hostiles: list[HostilePartner], mode: str, objects: list[Any], **options: Any
) -> tuple[HostilePartner, str]:
    """A hostile partner ``mallory`` of ``node`` serving ``objects``; returns it and its
    identity id (as the operator confirmed it at ``partner add``)."""
    mallory = HostilePartner(mode, node.name, objects, **options)
    hostiles.append(mallory)
    identity_id = f"identity--{uuid.uuid4()}"
    node.node.partners.add("mallory", mallory.url, "dia_unused", identity_id=identity_id)
    return mallory, identity_id


def pull(node: FedNode, **options: Any) -> SyncResult:
    """One pull from ``mallory``, by the node's own agent (real HTTP to the partner)."""
    agent = node.node.sync_agent()
    for name, value in options.items():
        setattr(agent, name, value)
    [result] = agent.round(only="mallory", force=True)
    return result


def current(node: FedNode, object_id: str) -> dict[str, Any]:
    found = node.node.store.get(object_id)
    assert found is not None
    return found.object


def decision(node: FedNode, object_id: str, partner: str) -> str:
    codes = {d.code for d in node.node.ledger.decisions(object_id) if d.partner == partner}
    assert len(codes) == 1, codes
    return codes.pop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_redefined_marking_definitions_are_refused_and_release_nothing_more(
    make_node: MakeNode, hostiles: list[HostilePartner], backend: str
) -> None:
    rabat = make_node("rabat", backend)
    clock = Clock()
    rel_to_paris = releasability_marking(["paris"])
    not_for_court = h3_marking("Not for court")
    for_paris = graded(
        sdo(
            "intrusion-set",
            rabat.identity,
            "amber",
            clock,
            markings=(rel_to_paris["id"],),
            name="A",
        )
    )
    restricted = graded(
        sdo(
            "threat-actor",
            rabat.identity,
            "green",
            clock,
            markings=(not_for_court["id"], releasability_marking(["mallory"])["id"]),
            name="H3",
        )
    )
    rabat.put([rel_to_paris, not_for_court, releasability_marking(["mallory"]), for_paris])
    rabat.put([restricted])
    # A REL TO list whose id is not what its names derive, new to rabat.
    mismatched = releasability_marking(["charlie"])
    mismatched["extensions"][MARKING_EXTENSION_ID]["releasable_to"] = ["charlie", "mallory"]
    h2 = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": FIXED_HANDLING_IDS["H2"],
        "created": "2026-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "No restriction."},
    }
    attack = [
        widened_rel_to(rel_to_paris, "mallory"),
        h3_as_statement(not_for_court),
        mismatched,
        h2,
    ]
    mallory, _ = partner_with(rabat, hostiles, "honest", attack)

    result = pull(rabat)
    assert (result.status, result.received, result.untrusted) == ("ok", 0, 4), result
    # What rabat holds under those ids is what it held before.
    assert current(rabat, rel_to_paris["id"]) == rel_to_paris
    assert current(rabat, not_for_court["id"]) == not_for_court
    assert rabat.node.store.get(mismatched["id"]) is None
    assert len(rabat.node.store.versions(FIXED_HANDLING_IDS["H2"])) == 1
    # ... so it releases to mallory exactly what it did before.
    rabat.node.ledger.run("tests")
    assert decision(rabat, for_paris["id"], "mallory") == "not-rel-to"
    assert decision(rabat, restricted["id"], "mallory") == "h3-review"
    # The operator sees who tried what: counted, the last kept, audited.
    row = rabat.partner_row("mallory")
    assert row["refused"] == 4
    assert row["last_refusal"].startswith("shipped-definition: " + FIXED_HANDLING_IDS["H2"])
    [(ids, details)] = rabat.audit("request_refused")
    assert details["partner"] == "mallory"
    assert details["rules"] == {
        # The widened REL TO and the mismatched one are not what their names derive.
        "definition-derivation": 2,
        "definition-immutable": 1,
        "shipped-definition": 1,
    }
    assert set(ids) == {obj["id"] for obj in attack}
    listed = rabat.cli_json("partner", "list")
    assert listed[0]["refused"] == 4 and listed[0]["last_refusal"] == row["last_refusal"]
    # Nothing refused is acknowledged.
    assert not mallory.acknowledged()


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_the_originator_versions_an_object(
    make_node: MakeNode, hostiles: list[HostilePartner], backend: str
) -> None:
    rabat = make_node("rabat", backend)
    clock = Clock()
    paris_id = f"identity--{uuid.uuid4()}"
    rabat.node.partners.add("paris", "http://127.0.0.1:9", "dia_unused", identity_id=paris_id)
    europol = identity("Europol", clock)
    ours = graded(sdo("threat-actor", rabat.identity, "green", clock, name="ours"))
    third = graded(sdo("threat-actor", europol["id"], "green", clock, name="third"))
    rabat.put([europol, ours, third])
    from_paris = graded(sdo("threat-actor", paris_id, "green", clock, name="from paris"))
    report = rabat.node.store.put_many([from_paris], source="partner:paris")
    assert report.written == [from_paris["id"]]

    mallory_id = f"identity--{uuid.uuid4()}"
    own_new = graded(sdo("threat-actor", mallory_id, "green", clock, name="mallory's"))
    relayed = graded(sdo("threat-actor", f"identity--{uuid.uuid4()}", "green", clock, name="r"))
    attack = [
        forged_version(ours, name="rewritten"),  # this node's own object
        forged_version(ours, name="taken", created_by_ref=mallory_id),  # and its author
        forged_version(third, name="rewritten"),  # a third party's, held from this node
        forged_version(from_paris, name="rewritten"),  # another partner's
        spoofed(graded(sdo("threat-actor", paris_id, "green", clock, name="fake")), paris_id),
        spoofed(graded(sdo("tool", rabat.identity, "green", clock, name="f")), rabat.identity),
        # Allowed: its own objects and their versions; a third party's, relayed unchanged.
        own_new,
        forged_version(own_new, name="mallory's, v2"),
        relayed,
    ]
    mallory = HostilePartner("honest", "rabat", attack)
    hostiles.append(mallory)
    rabat.node.partners.add("mallory", mallory.url, "dia_unused", identity_id=mallory_id)

    result = pull(rabat)
    assert (result.received, result.untrusted) == (3, 6), result.refusals
    rules = [d["rules"] for _ids, d in rabat.audit("request_refused")]
    assert rules == [{"own-object": 3, "not-originator": 1, "other-partner": 2}]
    for obj in (ours, third, from_paris):
        assert current(rabat, obj["id"]) == obj  # unchanged, still the originator's
    assert current(rabat, own_new["id"])["name"] == "mallory's, v2"
    assert current(rabat, relayed["id"]) == relayed
    # What was stored is acknowledged, and only that.
    assert mallory.acknowledged() == {
        version_key(own_new),
        version_key(attack[7]),
        version_key(relayed),
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalid_partner_objects_are_not_stored(
    make_node: MakeNode, hostiles: list[HostilePartner], backend: str
) -> None:
    rabat = make_node("rabat", backend)
    clock = Clock()
    author = f"identity--{uuid.uuid4()}"
    string_markings = graded(sdo("threat-actor", author, None, clock, name="s"))
    string_markings["object_marking_refs"] = TLP_2_0_IDS["green"]
    null_name = graded(sdo("threat-actor", author, "green", clock, name=None))
    good = graded(sdo("threat-actor", author, "green", clock, name="good"))
    partner_with(rabat, hostiles, "honest", [string_markings, null_name, good])
    rabat.node.partners.update("mallory", identity_id=author)

    result = pull(rabat)
    assert (result.received, result.refused, result.untrusted) == (1, 2, 0)
    assert rabat.node.store.get(string_markings["id"]) is None
    assert rabat.node.store.get(null_name["id"]) is None
    [(_ids, details)] = [e for e in rabat.audit("receive") if e[1].get("partner") == "mallory"]
    assert {problem["field"] for problem in details["refused"]} == {
        "object_marking_refs",
        "name",
    }


@pytest.mark.parametrize(
    ("mode", "options", "message"),
    [
        ("loop-same-next", {}, "the same 'next' cursor came back"),
        ("loop-new-next", {}, "a page read before came back"),
        ("endless", {"max_pages": 20}, "goes past 20 pages"),
        ("oversized-page", {"page_size": 5}, "a page of 12 objects where at most 5"),
        ("dates-back", {"page_size": 5}, "dates added go back"),
    ],
)
def test_a_listing_that_does_not_progress_ends_the_round_with_a_clear_error(
    make_node: MakeNode,
    hostiles: list[HostilePartner],
    mode: str,
    options: dict[str, Any],
    message: str,
) -> None:
    rabat = make_node("rabat")
    clock = Clock()
    author = f"identity--{uuid.uuid4()}"
    objects = [graded(sdo("threat-actor", author, "green", clock, name=f"n{n}")) for n in range(12)]
    partner_with(rabat, hostiles, mode, objects)
    rabat.node.partners.update("mallory", identity_id=author)
    started = time.monotonic()
    result = pull(rabat, **options)
    assert result.status == "failed" and message in str(result.error), result
    assert time.monotonic() - started < 30
    row = rabat.partner_row("mallory")
    assert message in row["last_error"] and row["failures"] == 1
    listed = rabat.cli("partner", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    if mode == "oversized-page":
        assert rabat.node.store.get(objects[0]["id"]) is None  # refused whole


def test_an_answer_over_the_byte_cap_is_refused_while_it_is_read(
    make_node: MakeNode, hostiles: list[HostilePartner]
) -> None:
    rabat = make_node("rabat")
    mallory, _ = partner_with(rabat, hostiles, "huge-body", [], huge_bytes=100 * 1_048_576)
    agent = rabat.node.sync_agent()
    assert agent.max_answer_bytes < 100 * 1_048_576  # the default cap
    [result] = agent.round(only="mallory")
    assert result.status == "failed"
    assert f"goes over {agent.max_answer_bytes:,} bytes" in str(result.error)
    # Refused as it was read: the partner could not send it all.
    wait_for(lambda: hasattr(mallory, "huge_sent"), 10, "the partner's answer ended")
    assert mallory.huge_sent < 100 * 1_048_576


def test_receipts_are_kept_until_stored_and_sent_again(
    make_node: MakeNode, hostiles: list[HostilePartner]
) -> None:
    rabat = make_node("rabat")
    clock = Clock()
    author = f"identity--{uuid.uuid4()}"
    objects = [graded(sdo("threat-actor", author, "green", clock, name=f"n{n}")) for n in range(7)]
    mallory, _ = partner_with(rabat, hostiles, "honest", objects, inbox_answers=[503] * 6)
    rabat.node.partners.update("mallory", identity_id=author)
    result = pull(rabat, page_size=3, group_size=3)
    assert (result.status, result.received) == ("ok", 7)
    # The inbox refused every POST of this round (six tries of three receipts): what is
    # owed waits for the next round.
    owed = rabat.node.outgoing_receipts.pending("mallory")
    assert [r.entries for r in owed] == [3, 3, 1]
    assert [r.attempts for r in owed] == [3, 2, 1]
    assert not mallory.acknowledged()
    again = pull(rabat)
    assert again.received == 0
    assert rabat.node.outgoing_receipts.count("mallory") == 0
    assert mallory.acknowledged() == {version_key(o) for o in objects}


def test_an_honest_partner_is_not_held_up_by_a_hostile_one(
    make_node: MakeNode, hostiles: list[HostilePartner]
) -> None:
    rabat, paris = make_node("rabat"), make_node("paris")
    federate(rabat, paris)
    clock = Clock()
    author = f"identity--{uuid.uuid4()}"
    endless = [graded(sdo("threat-actor", author, "green", clock, name=f"n{n}")) for n in range(3)]
    mallory, _ = partner_with(rabat, hostiles, "slow-endless", endless, delay=1.0)
    paris.start(sync_interval=1)
    rabat.start(sync_interval=1)
    # rabat is busy with mallory's listing that never ends; paris's news still arrives.
    time.sleep(3)
    news = graded(sdo("threat-actor", paris.identity, "green", clock, name="news"))
    paris.put([news])
    started = time.monotonic()
    wait_for(lambda: rabat.node.store.get(news["id"]) is not None, 15, "paris's news at rabat")
    assert time.monotonic() - started < 15
    # All along, rabat was reading mallory's listing, page after slow page.
    assert mallory.pages >= 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_definition_poisoned_at_one_node_never_widens_what_another_releases(
    make_node: MakeNode, hostiles: list[HostilePartner], backend: str
) -> None:
    """rabat and paris are partners; mallory is paris's partner only, and sends paris a
    REL TO charlie widened to name paris. rabat holds an AMBER object REL TO charlie."""
    rabat, paris = make_node("rabat", backend), make_node("paris", backend)
    federate(rabat, paris)
    clock = Clock()
    rel_to_charlie = releasability_marking(["charlie"])
    for_charlie = graded(
        sdo(
            "intrusion-set",
            rabat.identity,
            "amber",
            clock,
            markings=(rel_to_charlie["id"],),
            name="C",
        )
    )
    rabat.put([rel_to_charlie, for_charlie])
    poisoned = widened_rel_to(rel_to_charlie, "paris")
    partner_with(paris, hostiles, "honest", [poisoned])

    [result] = paris.node.sync_agent().round(only="mallory")
    assert (result.received, result.untrusted) == (0, 1)
    assert paris.node.store.get(rel_to_charlie["id"]) is None  # never stored
    # paris releases nothing poisoned to rabat, and rabat releases nothing more to paris.
    paris.node.ledger.run("tests")
    rabat.node.ledger.run("tests")
    rabat.start()
    paris.start()
    [pulled] = rabat.node.sync_agent().round(only="paris")
    assert pulled.status == "ok" and pulled.untrusted == 0
    assert current(rabat, rel_to_charlie["id"]) == rel_to_charlie
    rabat.node.ledger.run("tests")
    assert decision(rabat, for_charlie["id"], "paris") == "not-rel-to"
    [back] = paris.node.sync_agent().round(only="rabat")
    assert back.status == "ok"
    assert paris.node.store.get(for_charlie["id"]) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_partners_taxii_post_is_screened_like_a_pull(make_node: MakeNode, backend: str) -> None:
    """One validation path: what a partner pushes to its inbox here meets the same rules."""
    rabat, paris = make_node("rabat", backend), make_node("paris", backend)
    federate(rabat, paris)
    clock = Clock()
    rel_to = releasability_marking(["paris"])
    ours = graded(sdo("threat-actor", rabat.identity, "green", clock, name="ours"))
    rabat.put([rel_to, ours])
    rabat.start()
    inbox = rabat.node.collections.find_alias(DEFAULT_API_ROOT, "from-paris")
    assert inbox is not None
    token = paris.node.partners.get("rabat")
    assert token is not None
    own = graded(sdo("threat-actor", paris.identity, "green", clock, name="theirs"))
    pushed = [widened_rel_to(rel_to, "mallory"), forged_version(ours, name="x"), own]
    response = httpx.post(
        f"{rabat.url}/taxii2/{DEFAULT_API_ROOT}/collections/{inbox.id}/objects/",
        content=orjson.dumps({"objects": pushed}),
        headers={
            "Content-Type": "application/taxii+json;version=2.1",
            "Accept": "application/taxii+json;version=2.1",
            "Authorization": f"Bearer {token.token.reveal()}",
        },
        timeout=30,
    )
    assert response.status_code == 202, response.text
    status = response.json()
    assert (status["success_count"], status["failure_count"]) == (1, 2)
    messages = [failure["message"] for failure in status["failures"]]
    assert "derives the id" in messages[0] and "created by this node" in messages[1]
    assert current(rabat, rel_to["id"]) == rel_to and current(rabat, ours["id"]) == ours
    row = rabat.partner_row("paris")
    assert row["refused"] == 2 and row["last_refusal"].startswith("own-object")


def test_a_receipt_acknowledges_only_what_was_released(make_node: MakeNode) -> None:
    rabat, paris = make_node("rabat"), make_node("paris")
    federate(rabat, paris)
    clock = Clock()
    released = graded(sdo("threat-actor", rabat.identity, "green", clock, name="shared"))
    withheld = graded(sdo("threat-actor", rabat.identity, "red", clock, name="kept"))
    rabat.put([released, withheld])
    rabat.node.ledger.run("tests")
    rabat.start()
    inbox = rabat.node.collections.find_alias(DEFAULT_API_ROOT, "from-paris")
    partner = paris.node.partners.get("rabat")
    assert inbox is not None and partner is not None
    receipt = make_receipts(
        "paris", paris.identity, [version_key(released), version_key(withheld)]
    )[0]
    response = httpx.post(
        f"{rabat.url}/taxii2/{DEFAULT_API_ROOT}/collections/{inbox.id}/objects/",
        content=orjson.dumps({"objects": [receipt]}),
        headers={
            "Content-Type": "application/taxii+json;version=2.1",
            "Accept": "application/taxii+json;version=2.1",
            "Authorization": f"Bearer {partner.token.reveal()}",
        },
        timeout=30,
    )
    assert response.status_code == 202 and response.json()["success_count"] == 1
    assert [d.partner for d in rabat.node.deliveries.of_object(released["id"])] == ["paris"]
    assert rabat.node.deliveries.of_object(withheld["id"]) == []


def test_an_overlong_cursor_is_not_followed() -> None:
    listing = Listing("https://partner/collection/", limit=10, max_pages=5)
    envelope = {"objects": [{"id": "x"}], "more": True, "next": "n" * (MAX_CURSOR + 1)}
    with pytest.raises(SyncError, match="a 'next' cursor of 4,097 characters"):
        listing.check(httpx.Response(200, content=orjson.dumps(envelope)), envelope, [{"id": "x"}])

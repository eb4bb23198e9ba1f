"""Corrections travel (Directive 2016/680 Art. 7): a corrected or revoked version goes to
every partner that received an earlier one, and the receiving node flags it."""

from __future__ import annotations

import pytest

from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.markings import releasability_marking
from tests.exchange.build import Clock, graded, new_version, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode, federate, version_key, wait_for


def held(node: FedNode, object_id: str) -> list[str]:
    return sorted(modified for i, modified, _ in node.versions() if i == object_id)


def flagged(node: FedNode, partner: str) -> set[str]:
    return {i for ids, d in node.audit("correct") if d.get("partner") == partner for i in ids}


@pytest.mark.slow
def test_corrections_and_revocations_reach_every_earlier_recipient(make_node: MakeNode) -> None:
    a, b, c = make_node("alpha"), make_node("bravo"), make_node("charlie")
    federate(a, b)
    federate(a, c)
    clock = Clock()
    own = a.identity
    rel_to = releasability_marking(["bravo"])
    only_b = (rel_to["id"],)
    corrected = graded(sdo("threat-actor", own, "amber", clock, markings=only_b, name="X"))
    revoked = graded(sdo("threat-actor", own, "green", clock, name="Y"))
    secret = graded(sdo("threat-actor", own, "amber", clock, markings=only_b, name="Z"))
    a.put([rel_to, corrected, revoked, secret])
    a.start(sync_interval=1)
    wait_for(lambda: len(a.node.ledger.decisions(secret["id"])) == 2, 30, "first decisions")
    for node in (b, c):
        assert node.cli_json("sync")["partners"][0]["status"] == "ok"
    assert held(b, secret["id"]) == [version_key(secret)[1]]
    assert held(c, secret["id"]) == []  # charlie never received Z
    assert held(c, revoked["id"]) == [version_key(revoked)[1]]

    # X is corrected; Y is revoked; Z is revoked and its last version is marked RED.
    corrected_2 = new_version(corrected, clock, name="X (corrigé)", description="Erreur de date")
    revoked_2 = new_version(revoked, clock, revoked=True)
    secret_2 = new_version(
        secret, clock, revoked=True, object_marking_refs=[TLP_2_0_IDS["red"]], name="Z (retiré)"
    )
    a.put([corrected_2, revoked_2, secret_2])
    wait_for(lambda: len(a.node.ledger.decisions(secret["id"])) == 4, 30, "the new decisions")
    decisions = {
        (d.partner, d.modified): (d.released, d.code) for d in a.node.ledger.decisions(secret["id"])
    }
    # The revocation reaches bravo, which received Z; charlie, which did not, is not told.
    assert decisions[("bravo", version_key(secret_2)[1])] == (True, "correction")
    assert decisions[("charlie", version_key(secret_2)[1])] == (False, "tlp-red")

    result = b.cli_json("sync")["partners"][0]
    assert (result["status"], result["received"], result["corrections"]) == ("ok", 3, 3)
    for first, second in ((corrected, corrected_2), (revoked, revoked_2), (secret, secret_2)):
        assert held(b, first["id"]) == [version_key(first)[1], version_key(second)[1]]
    assert flagged(b, "alpha") == {corrected["id"], revoked["id"], secret["id"]}
    current = b.node.store.get(revoked["id"])
    assert current is not None and current.revoked and current.source == "partner:alpha"

    result = c.cli_json("sync")["partners"][0]
    assert (result["received"], result["corrections"]) == (1, 1)
    assert held(c, revoked["id"]) == [version_key(revoked)[1], version_key(revoked_2)[1]]
    assert held(c, secret["id"]) == [] and held(c, corrected["id"]) == []
    assert flagged(c, "alpha") == {revoked["id"]}
    for node in (a, b, c):
        assert node.node.audit.verify().ok

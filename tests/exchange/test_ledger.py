"""The disclosure ledger: the policy runs for every partner when a version is written, each
release is appended to that partner's outbox with a monotonic sequence, and each partner
reads its own TAXII collection, served from its ledger, and no other."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import orjson
import sqlalchemy as sa

from diapason.domain.extensions import SHIPPED_IDS, TLP_2_0_IDS
from diapason.domain.markings import releasability_marking
from diapason.domain.protection import protect
from diapason.exchange.ledger import Ledger
from diapason.store.schema import collection_entries
from tests.exchange.build import Clock, graded, new_version, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import (
    FedNode,
    federate,
    read_collection,
    taxii_get,
    version_key,
    wait_for,
)

Entry = tuple[int, str, str, str]  # seq, object id, modified, date added


def outbox_entries(node: FedNode, partner: str) -> list[Entry]:
    outbox = node.node.partners.get(partner)
    assert outbox is not None
    with node.node.database.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                collection_entries.c.seq,
                collection_entries.c.object_id,
                collection_entries.c.modified,
                collection_entries.c.date_added,
            )
            .where(collection_entries.c.collection_id == outbox.outbox)
            .order_by(collection_entries.c.seq)
        ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def token_for(reader: FedNode, server: str) -> str:
    """The token ``reader`` uses to read ``server`` (given by ``server``'s administrator)."""
    partner = reader.node.partners.get(server)
    assert partner is not None
    return partner.token.reveal()


def outbox_of(node: FedNode, partner: str) -> str:
    found = node.node.partners.get(partner)
    assert found is not None
    return found.outbox


def test_each_partner_reads_only_its_own_ledger(make_node: MakeNode) -> None:
    a, b, c = make_node("alpha"), make_node("bravo"), make_node("charlie")
    federate(a, b)
    federate(a, c)
    clock = Clock()
    own = a.identity
    to_b, to_c, to_both = (
        releasability_marking(names) for names in (["bravo"], ["charlie"], ["Bravo", "CHARLIE"])
    )
    green = graded(sdo("threat-actor", own, "green", clock, name="Réseau côtier"))
    amber_b = graded(sdo("intrusion-set", own, "amber", clock, markings=(to_b["id"],), name="B"))
    amber_c = graded(sdo("intrusion-set", own, "amber", clock, markings=(to_c["id"],), name="C"))
    strict_both = graded(
        sdo("campaign", own, "amber+strict", clock, markings=(to_both["id"],), name="B et C")
    )
    red = graded(sdo("note", own, "red", clock, content="source humaine", object_refs=[own]))
    a.put([to_b, to_c, to_both, green, amber_b, amber_c, strict_both, red])

    # The serve loop runs the policy for every partner (bravo and charlie are not up: their
    # pulls fail and back off, the releases are decided all the same).
    a.start(sync_interval=1)
    wait_for(lambda: len(outbox_entries(a, "bravo")) > 0, 30, "alpha's ledger for bravo")
    wait_for(lambda: len(outbox_entries(a, "charlie")) > 0, 30, "alpha's ledger for charlie")
    shipped = {
        (row[0], row[1])
        for row in a.versions(source="diapason")
        if row[0] in SHIPPED_IDS  # the definitions every node ships: released to all
    }
    me = {(own, a.node.store.versions(own)[0].modified)}
    expected = {
        "bravo": shipped
        | me
        | {version_key(o) for o in (to_b, to_both, green, amber_b, strict_both)},
        "charlie": shipped
        | me
        | {version_key(o) for o in (to_c, to_both, green, amber_c, strict_both)},
    }
    wait_for(
        lambda: (
            {e[1:3] for e in outbox_entries(a, "bravo")} == expected["bravo"]
            and {e[1:3] for e in outbox_entries(a, "charlie")} == expected["charlie"]
        ),
        30,
        "both ledgers complete",
    )

    # Each partner reads its own collection over TAXII, with the token it was given.
    token = {"bravo": token_for(b, "alpha"), "charlie": token_for(c, "alpha")}
    outbox = {name: outbox_of(a, name) for name in ("bravo", "charlie")}
    base = f"{a.url}/taxii2/main/collections/"
    for name, other in (("bravo", "charlie"), ("charlie", "bravo")):
        seen = read_collection(f"{base}{outbox[name]}/", token[name])
        assert sorted(version_key(obj) for obj in seen) == sorted(expected[name])
        # ... and not the other's: it does not exist for it, not even in the listing.
        for alias_or_id in (outbox[other], f"to-{other}"):
            refused = taxii_get(f"{base}{alias_or_id}/objects/", token[name])
            assert refused.status_code == 404, refused.text
        listing = orjson.loads(taxii_get(base, token[name]).content)["collections"]
        readable = {col["alias"] for col in listing if col["can_read"]}
        assert readable == {f"to-{name}"}, listing
    # The node's own administrator may read both (and is audited as consulting them).
    assert taxii_get(f"{base}to-bravo/objects/", a.admin_token).status_code == 200

    # Reading is a disclosure, audited on alpha, per recipient.
    disclosed = {
        object_id
        for ids, details in a.audit("disclose")
        if details.get("recipient") == "bravo"
        for object_id in ids
    }
    assert disclosed == {object_id for object_id, _ in expected["bravo"]}

    # New versions while alpha serves: appended after everything already in the ledger, with
    # a larger sequence; what is there is never rewritten.
    before = {name: outbox_entries(a, name) for name in ("bravo", "charlie")}
    green_2 = new_version(green, clock, description="Corrigé: trois passeurs, pas deux")
    a.put([green_2])
    wait_for(
        lambda: (
            len(outbox_entries(a, "bravo")) == len(before["bravo"]) + 1
            and len(outbox_entries(a, "charlie")) == len(before["charlie"]) + 1
        ),
        30,
        "the new version released to both",
    )
    for name in ("bravo", "charlie"):
        after = outbox_entries(a, name)
        assert after[: len(before[name])] == before[name]
        assert after[-1][1:3] == version_key(green_2)
        assert after[-1][0] > before[name][-1][0]
        assert after[-1][3] >= before[name][-1][3]
        seqs = [entry[0] for entry in after]
        assert seqs == sorted(set(seqs))


def test_a_partner_that_loses_a_release_gets_nothing_more(make_node: MakeNode) -> None:
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    rel_to = releasability_marking(["bravo"])
    v1 = graded(sdo("threat-actor", a.identity, "amber", clock, markings=(rel_to["id"],), name="X"))
    a.put([rel_to, v1])
    a.start(sync_interval=1)
    assert b.cli_json("sync")["partners"][0]["status"] == "ok"
    assert (v1["id"], version_key(v1)[1]) in {(i, m) for i, m, _ in b.versions("partner:alpha")}

    # The marking is raised to RED in a new version, then that version is corrected again.
    v2 = new_version(v1, clock, object_marking_refs=[TLP_2_0_IDS["red"]], name="X (source)")
    v3 = new_version(v2, clock, description="Identité confirmée")
    a.put([v2, v3])
    wait_for(
        lambda: len([d for d in a.node.ledger.decisions(v1["id"]) if d.partner == "bravo"]) == 3,
        30,
        "the ledger decides the new versions",
    )
    decisions = {
        d.modified: (d.released, d.code)
        for d in a.node.ledger.decisions(v1["id"])
        if d.partner == "bravo"
    }
    assert decisions == {
        version_key(v1)[1]: (True, "cleared"),
        version_key(v2)[1]: (False, "tlp-red"),
        version_key(v3)[1]: (False, "tlp-red"),
    }
    assert b.cli_json("sync")["partners"][0]["status"] == "ok"
    held = [(i, m) for i, m, _ in b.versions() if i == v1["id"]]
    assert held == [version_key(v1)]
    # What bravo received stays in its ledger as history, served as before.
    assert [e[1:3] for e in outbox_entries(a, "bravo") if e[1] == v1["id"]] == [version_key(v1)]
    base = f"{a.url}/taxii2/main/collections/to-bravo/objects/{v1['id']}/"
    versions = taxii_get(f"{base}versions/", token_for(b, "alpha"))
    assert orjson.loads(versions.content)["versions"] == [version_key(v1)[1]]


def test_a_marking_written_while_the_ledger_runs_is_understood(make_node: MakeNode) -> None:
    """An import that commits a new REL TO marking and objects using it while a ledger run
    is under way (after the run read the marking-definitions it knows, before it read the
    new versions): the objects are decided with the marking known, not withheld for good as
    carrying an unknown marking."""
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    rel_to = releasability_marking(["bravo"])
    shared = graded(sdo("threat-actor", a.identity, "amber", clock, markings=(rel_to["id"],)))
    pending = [[rel_to, shared]]

    def identities() -> frozenset[str]:
        # Called by the run once it has read the definitions: the import commits now.
        if pending:
            a.put(pending.pop())
        return a.node.own_identities()

    ledger = Ledger(
        a.node.database.engine, a.node.partners, a.node.collections, a.node.audit, identities
    )
    ledger.run("tests")
    assert not pending
    decisions = [(d.released, d.code) for d in a.node.ledger.decisions(shared["id"])]
    assert decisions == [(True, "cleared")]
    assert version_key(shared) in {e[1:3] for e in outbox_entries(a, "bravo")}


def test_two_runs_at_once_release_each_version_once(make_node: MakeNode) -> None:
    """The server's loop and `diapason sync` may run the ledger at the same moment: both
    read the same undecided versions, and the one that commits second finds them decided
    and goes on after them. Each version is decided, put in the outbox and audited once."""
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    objects = [graded(sdo("threat-actor", a.identity, "green", clock)) for _ in range(2_000)]
    a.put(objects)
    both_started = threading.Barrier(2, timeout=30)

    def identities() -> frozenset[str]:
        both_started.wait()  # each run has read what it knows; both now read the versions
        return a.node.own_identities()

    runs = [
        Ledger(
            a.node.database.engine, a.node.partners, a.node.collections, a.node.audit, identities
        )
        for _ in range(2)
    ]
    summaries: list[int] = []
    threads = [
        threading.Thread(
            target=lambda ledger=ledger: summaries.append(
                ledger.run("tests").released.get("bravo", 0)
            )
        )
        for ledger in runs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    expected = {version_key(obj) for obj in objects}
    # One run released everything (the node's own identity and definitions too), the other
    # nothing.
    assert len(summaries) == 2 and min(summaries) == 0 and max(summaries) >= len(objects)
    entries = [e[1:3] for e in outbox_entries(a, "bravo")]
    assert len(entries) == len(set(entries)) == max(summaries)
    assert set(entries) >= expected
    released = [
        object_id
        for entry in a.node.audit.entries(action="release", limit=100_000)
        for object_id in entry.object_ids
    ]
    assert len(released) == len(set(released)) == max(summaries)
    with a.node.database.engine.connect() as connection:
        decided = connection.exec_driver_sql(
            "SELECT count(*) FROM release_decisions WHERE partner = 'bravo'"
        ).scalar_one()
    assert decided == max(summaries)


def decided(node: FedNode, object_id: str, partner: str = "bravo") -> list[tuple[bool, str]]:
    return [
        (d.released, d.code) for d in node.node.ledger.decisions(object_id) if d.partner == partner
    ]


def test_a_relationship_goes_as_soon_as_both_ends_are_released(make_node: MakeNode) -> None:
    """A relationship whose end is withheld is withheld too (``end-withheld``); once a new
    version of that end is released, the ledger decides the relationship again and it goes,
    in the same run. A report referring to the withheld end goes at once."""
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    own = a.identity
    person = graded(
        sdo("identity", own, "green", clock, name="Karim B.", identity_class="individual")
    )
    group = graded(sdo("intrusion-set", own, "green", clock, name="Réseau"))
    link = graded(
        sdo(
            "relationship",
            own,
            "green",
            clock,
            relationship_type="related-to",
            source_ref=person["id"],
            target_ref=group["id"],
        )
    )
    # Written before its end: decided first in the run, and again once the end goes.
    early = graded(
        sdo(
            "relationship",
            own,
            "green",
            clock,
            relationship_type="related-to",
            source_ref=group["id"],
            target_ref=f"intrusion-set--{'0' * 8}-0000-4000-8000-{'0' * 12}",
        )
    )
    report = graded(
        sdo("report", own, "green", clock, published=clock.tick(), object_refs=[person["id"]])
    )
    a.put([early, person, group, link, report])
    a.node.ledger.run("tests")
    assert decided(a, person["id"]) == [(False, "protection-incomplete")]
    assert decided(a, group["id"]) == [(True, "cleared")]
    assert decided(a, link["id"]) == [(False, "end-withheld")]
    reason = next(d.reason for d in a.node.ledger.decisions(link["id"]))
    assert person["id"] in reason and "bravo" in reason
    assert decided(a, report["id"]) == [(True, "cleared")]
    # The end it lacks is not held anywhere: withheld until it is.
    assert decided(a, early["id"]) == [(False, "end-withheld")]

    protected = new_version(person, clock)
    protected = protect(protected, "victim", date.today() + timedelta(days=30))
    a.put([protected])
    run = a.node.ledger.run("tests")
    assert run.released["bravo"] == 2  # the person's new version and the relationship
    assert decided(a, link["id"]) == [(True, "cleared")]
    entries = {e[1:3] for e in outbox_entries(a, "bravo")}
    assert version_key(link) in entries and version_key(protected) in entries
    assert version_key(person) not in entries
    released_with_ends = [
        ids for ids, details in a.audit("release") if details.get("ends_released")
    ]
    assert released_with_ends == [[link["id"]]]
    # Deciding again changes nothing.
    again = a.node.ledger.run("tests")
    assert again.released["bravo"] == 0
    assert decided(a, link["id"]) == [(True, "cleared")]


def test_a_relationship_to_the_partners_own_object_goes(make_node: MakeNode) -> None:
    a, b = make_node("alpha"), make_node("bravo")
    federate(a, b)
    clock = Clock()
    theirs = graded(sdo("intrusion-set", b.identity, "green", clock, name="Leur groupe"))
    a.node.store.put_many([theirs], source="partner:bravo")
    ours = graded(sdo("intrusion-set", a.identity, "green", clock, name="Notre groupe"))
    link = graded(
        sdo(
            "relationship",
            a.identity,
            "green",
            clock,
            relationship_type="related-to",
            source_ref=ours["id"],
            target_ref=theirs["id"],
        )
    )
    a.put([ours, link])
    a.node.ledger.run("tests")
    assert decided(a, link["id"]) == [(True, "cleared")]

"""The trust rules as the store applies them, in the write's transaction, whoever writes:
an import by this node, a partner's TAXII POST, a page pulled from a partner. On SQLite and
PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.markings import h3_marking, releasability_marking
from diapason.domain.policy import PartnerContext, ReleaseContext, decide
from diapason.domain.trust import Sender
from diapason.store.db import write_transaction
from diapason.store.schema import objects
from diapason.store.sql import SqlStore
from tests.exchange.hostile import forged_version, h3_as_statement, widened_rel_to

OWN = f"identity--{uuid.uuid4()}"
PARIS = f"identity--{uuid.uuid4()}"
MALLORY = f"identity--{uuid.uuid4()}"


def partner(name: str, identity: str) -> Sender:
    return Sender(name, identity, frozenset({OWN}), {PARIS: "paris", MALLORY: "mallory"})


def actor(author: str, name: str = "X", modified: str = "2026-02-01T00:00:00.000Z") -> Any:
    return {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": f"threat-actor--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "created_by_ref": author,
        "name": name,
        "object_marking_refs": [TLP_2_0_IDS["green"]],
    }


def test_a_redefined_marking_is_refused_whoever_sends_it(store: SqlStore) -> None:
    rel_to = releasability_marking(["paris"])
    h3 = h3_marking("Not for court")
    assert not store.put_many([rel_to, h3], source="local").refused
    for source, sender in (
        ("import", Sender()),
        ("partner:mallory", partner("mallory", MALLORY)),
    ):
        report = store.put_many(
            [widened_rel_to(rel_to, "mallory"), h3_as_statement(h3)], source=source, sender=sender
        )
        assert not report.written
        assert [(p.index, p.rule, p.field) for p in report.refused] == [
            (0, "definition-derivation", "id"),
            (1, "definition-immutable", "id"),
        ]
        assert "derives the id" in report.refused[0].message
    for definition in (rel_to, h3):
        [held] = store.versions(definition["id"])
        assert held.object == definition
    # Sent again as it is, a definition changes nothing and is no refusal.
    again = store.put_many([rel_to], source="partner:mallory", sender=partner("mallory", MALLORY))
    assert (again.unchanged, again.refused) == ([rel_to["id"]], [])


def test_versions_follow_the_originator(store: SqlStore) -> None:
    ours, theirs = actor(OWN, "ours"), actor(PARIS, "theirs")
    assert not store.put_many([ours], source="local").refused
    assert not store.put_many([theirs], source="partner:paris").refused
    mallory = partner("mallory", MALLORY)
    report = store.put_many(
        [forged_version(ours, name="x"), forged_version(theirs, name="x")],
        source="partner:mallory",
        sender=mallory,
    )
    assert [p.rule for p in report.refused] == ["own-object", "other-partner"]
    # This node may not rewrite a partner's object either; the partner may.
    local = store.put_many([forged_version(theirs, name="x")], source="local")
    assert [p.rule for p in local.refused] == ["not-originator"]
    own = store.put_many(
        [forged_version(theirs, name="v2")], source="partner:paris", sender=partner("paris", PARIS)
    )
    assert own.written == [theirs["id"]]
    # The creator of an object never changes, even in its originator's hands.
    moved = store.put_many([forged_version(ours, created_by_ref=PARIS)], source="local")
    assert [p.rule for p in moved.refused] == ["author-changed"]


def test_two_versions_in_one_batch_see_each_other(store: SqlStore) -> None:
    """A relay's first two versions of a third party's object arrive together: the second
    is a version of what the same sender just provided."""
    third = f"identity--{uuid.uuid4()}"
    first = actor(third, "v1")
    second = forged_version(first, name="v2")
    mallory = partner("mallory", MALLORY)
    report = store.put_many([first, second], source="partner:mallory", sender=mallory)
    assert (report.written, report.refused) == ([first["id"], first["id"]], [])
    forged = store.put_many(
        [forged_version(first, name="v3", modified="2027-01-01T00:00:00.000Z")],
        source="partner:paris",
        sender=partner("paris", PARIS),
    )
    assert [p.rule for p in forged.refused] == ["not-originator"]


def test_a_definition_poisoned_before_the_rules_is_neither_believed_nor_passed_on(
    store: SqlStore,
) -> None:
    """A store written before the trust rules may hold a redefinition as current: the
    release policy reads a REL TO whose id its names do not derive as a marking it cannot
    interpret."""
    rel_to = releasability_marking(["paris"])
    poisoned = widened_rel_to(rel_to, "mallory")
    store.put_many([rel_to], source="local")
    with write_transaction(store.engine) as connection:
        # As an older node would have stored it: a second version under the same id.
        connection.execute(
            objects.update().where(objects.c.id == rel_to["id"]).values(is_current=False)
        )
        connection.execute(
            objects.insert().values(
                seq=10_000_000,
                id=poisoned["id"],
                modified="2030-01-01T00:00:00.000000Z",
                type="marking-definition",
                spec_version="2.1",
                created=poisoned["created"],
                created_by_ref=poisoned["created_by_ref"],
                revoked=False,
                is_current=True,
                date_added="2030-01-01T00:00:00.000000Z",
                source="partner:mallory",
                content=orjson.dumps(poisoned, option=orjson.OPT_SORT_KEYS).decode(),
            )
        )
    with store.engine.connect() as connection:
        [(content,)] = connection.execute(
            sa.select(objects.c.content).where(
                (objects.c.id == rel_to["id"]) & objects.c.is_current
            )
        ).all()
    definitions = {rel_to["id"]: orjson.loads(content)}
    assert definitions[rel_to["id"]] == poisoned
    context = ReleaseContext(frozenset({OWN}), date(2026, 6, 1), definitions=definitions)
    amber = actor(OWN)
    amber["object_marking_refs"] = [TLP_2_0_IDS["amber"], rel_to["id"]]
    decision = decide(amber, PartnerContext("mallory", MALLORY), context)
    assert decision.code == "unknown-marking"
    assert decide(poisoned, PartnerContext("paris", PARIS), context).code == (
        "untrusted-definition"
    )

"""The trust rules (domain/trust.py): what a sender may say, as plain functions, tried with
property-based tests over senders, authors and what is held."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from diapason.domain.extensions import (
    FIXED_HANDLING_IDS,
    MARKING_EXTENSION_ID,
    SHIPPED_CONTENT,
    canonical,
    shipped_objects,
)
from diapason.domain.markings import (
    derivation_problem,
    effective_markings,
    h3_marking,
    interpret_marking,
    releasability_marking,
)
from diapason.domain.trust import (
    Candidate,
    Held,
    Sender,
    TrustRule,
    definition_problem,
    partner_of_source,
    screen,
)

OWN = "identity--6a1b5f0e-5a4e-4d3b-8c4a-1a2b3c4d5e6f"
PARIS = "identity--7b2c6f1e-6b5f-4e4c-9d5b-2b3c4d5e6f70"
MALLORY = "identity--8c3d7f2e-7c6f-4f5d-8e6c-3c4d5e6f7081"
THIRD = "identity--9d4e8f3e-8d7f-4f6e-9f7d-4d5e6f708192"
PARTNERS = {PARIS: "paris", MALLORY: "mallory"}

names = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz -", min_size=1, max_size=12).filter(
        lambda n: n.strip()
    ),
    min_size=1,
    max_size=5,
)


def sender(partner: str | None) -> Sender:
    if partner is None:
        return Sender()
    identity = {v: k for k, v in PARTNERS.items()}[partner]
    return Sender(partner, identity, frozenset({OWN}), PARTNERS)


def candidate(obj: dict[str, Any]) -> Candidate:
    return Candidate(obj["id"], obj["type"], obj.get("created_by_ref"), canonical(obj))


def threat_actor(author: str | None, object_id: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": object_id or f"threat-actor--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-02-01T00:00:00.000Z",
        "name": "X",
    }
    if author is not None:
        obj["created_by_ref"] = author
    return obj


@given(names)
def test_a_derived_marking_is_what_its_content_derives(partners: list[str]) -> None:
    definition = releasability_marking(partners)
    assert derivation_problem(definition) is None
    assert definition_problem(definition) is None
    assert screen(candidate(definition), None, sender("mallory")) is None


@given(names, st.text(alphabet="abcdefghij", min_size=1, max_size=8))
def test_a_widened_rel_to_list_under_the_old_id_is_refused_and_not_believed(
    partners: list[str], extra: str
) -> None:
    definition = releasability_marking(partners)
    widened = releasability_marking([*partners, f"zz{extra}"])
    forged = {**widened, "id": definition["id"]}
    refusal = screen(candidate(forged), None, sender("mallory"))
    assert refusal is not None and refusal.rule is TrustRule.DEFINITION_DERIVATION
    # Read by the release policy, it restricts everything: its meaning is not believed.
    meaning = interpret_marking(definition["id"], {definition["id"]: forged})
    assert isinstance(meaning, str) and "derives" in meaning
    markings = effective_markings(
        {"object_marking_refs": [definition["id"]]}, {definition["id"]: forged}
    )
    assert markings.problems


@given(st.text(min_size=1, max_size=40).filter(str.strip))
def test_an_h3_text_derives_its_id(text: str) -> None:
    definition = h3_marking(text)
    assert derivation_problem(definition) is None
    changed = {
        **definition,
        "extensions": {
            MARKING_EXTENSION_ID: {
                **definition["extensions"][MARKING_EXTENSION_ID],
                "handling_text": text + " (or not)",
            }
        },
    }
    assert derivation_problem(changed) is not None


@given(st.sampled_from(sorted(SHIPPED_CONTENT)), st.sampled_from([None, "paris", "mallory"]))
def test_shipped_objects_are_never_replaced(object_id: str, who: str | None) -> None:
    shipped = next(obj for obj in shipped_objects() if obj["id"] == object_id)
    assert screen(candidate(shipped), None, sender(who)) is None
    changed = {**shipped, "name": "Something else"}
    refusal = screen(candidate(changed), None, sender(who))
    assert refusal is not None and refusal.rule is TrustRule.SHIPPED_DEFINITION


def test_a_handling_code_has_only_its_shipped_definition() -> None:
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": FIXED_HANDLING_IDS["H2"],
        "created": "2026-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "none"},
    }
    refusal = screen(candidate(statement), None, sender("paris"))
    assert refusal is not None and refusal.rule is TrustRule.SHIPPED_DEFINITION


@given(st.sampled_from([None, "paris", "mallory"]))
def test_a_marking_definition_is_never_versioned(who: str | None) -> None:
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": f"marking-definition--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "Copyright"},
    }
    held = Held(frozenset({"partner:paris"}), frozenset({None}), frozenset({canonical(statement)}))
    later = {**statement, "created": "2026-02-01T00:00:00.000Z"}
    refusal = screen(candidate(later), held, sender(who))
    assert refusal is not None and refusal.rule is TrustRule.DEFINITION_IMMUTABLE


sources = st.sampled_from(["local", "import", "partner:paris", "partner:mallory", "osint"])
authors = st.sampled_from([None, OWN, PARIS, MALLORY, THIRD])


@given(
    held_sources=st.sets(sources, min_size=1, max_size=3),
    held_author=authors,
    author=authors,
    who=st.sampled_from([None, "paris", "mallory"]),
)
def test_only_the_originator_versions_an_object(
    held_sources: set[str], held_author: str | None, author: str | None, who: str | None
) -> None:
    """An independent statement of the rules for a new version of a held object."""
    held = Held(frozenset(held_sources), frozenset({held_author}))
    refusal = screen(candidate(threat_actor(author)), held, sender(who))
    me = sender(who)
    if who is not None and (author == OWN or held_author == OWN):
        expected: TrustRule | None = TrustRule.OWN_OBJECT
    elif who is not None and author in PARTNERS and PARTNERS[author] != who:
        expected = TrustRule.OTHER_PARTNER
    elif author != held_author:
        expected = TrustRule.AUTHOR_CHANGED
    elif who is not None and author is not None and author == me.identity_id:
        expected = None  # the originator itself
    elif all(partner_of_source(source) == who for source in held_sources):
        expected = None  # a copy this sender alone provided
    else:
        expected = TrustRule.NOT_ORIGINATOR
    assert (refusal.rule if refusal else None) is expected, refusal


@given(author=authors, who=st.sampled_from(["paris", "mallory"]))
def test_a_new_object_from_a_partner(author: str | None, who: str) -> None:
    refusal = screen(candidate(threat_actor(author)), None, sender(who))
    if author == OWN:
        assert refusal is not None and refusal.rule is TrustRule.OWN_OBJECT
    elif author in PARTNERS and PARTNERS[author] != who:
        assert refusal is not None and refusal.rule is TrustRule.OTHER_PARTNER
    else:
        assert refusal is None  # its own, or a third party's relayed


@given(author=authors)
def test_this_node_may_write_anything_new(author: str | None) -> None:
    assert screen(candidate(threat_actor(author)), None, Sender()) is None

"""The release policy: one example per row of the decision table, then the table's
invariants checked over thousands of random objects and partners."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diapason.domain.extensions import (
    DIAPASON_IDENTITY_ID,
    GRADING_EXTENSION_ID,
    MARKING_EXTENSION_ID,
    PROTECTION_EXTENSION_ID,
    diapason_identity,
    extension_definitions,
    shipped_objects,
)
from diapason.domain.grading import grade, mark_osint
from diapason.domain.markings import (
    add_granular_marking,
    add_markings,
    definitions_by_id,
    h3_marking,
    handling_marking_id,
    releasability_marking,
)
from diapason.domain.policy import (
    RULE_ORDER,
    Consent,
    PartnerContext,
    Release,
    ReleaseCode,
    ReleaseContext,
    Withhold,
    WithholdCode,
    decide,
    ends_of,
)
from diapason.domain.protection import protect
from tests.shared import REPOSITORY

DOCS = REPOSITORY / "docs" / "release.md"

TODAY = date(2025, 6, 15)
OWN = "identity--6f4b3a38-4f0e-4c3e-9d0a-0d6f1e8a1a01"
OWN_ALSO = "identity--6f4b3a38-4f0e-4c3e-9d0a-0d6f1e8a1a02"
PARTNER_IDS = {
    "France": "identity--0b1c8f7e-2a4d-4e6f-8a9b-111111111111",
    "Spain": "identity--0b1c8f7e-2a4d-4e6f-8a9b-222222222222",
    "Mali": "identity--0b1c8f7e-2a4d-4e6f-8a9b-333333333333",
    "Senegal": "identity--0b1c8f7e-2a4d-4e6f-8a9b-444444444444",
}
STRANGER = "identity--0b1c8f7e-2a4d-4e6f-8a9b-999999999999"
PARTNERS = tuple(PARTNER_IDS)

# Written out here rather than imported, so the checks do not lean on the code under test.
TLP_RANK = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": 0,  # 2.0 CLEAR
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": 1,  # 2.0 GREEN
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": 2,  # 2.0 AMBER
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": 3,  # 2.0 AMBER+STRICT
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": 4,  # 2.0 RED
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": 0,  # 1.0 WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": 1,  # 1.0 GREEN
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": 2,  # 1.0 AMBER
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": 4,  # 1.0 RED
}
CLEAR, GREEN, AMBER, AMBER_STRICT, RED = (
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
)
UNKNOWN_MARKING = "marking-definition--00000000-0000-4000-8000-00000000dead"


def key(name: str) -> str:
    return " ".join(name.split()).casefold()


def report(author: str | None = OWN, **properties: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": "2025-06-01T08:00:00.000Z",
        "modified": "2025-06-01T08:00:00.000Z",
        "name": "Crossings near the border post",
        "description": "Three crossings observed at night.",
        "published": "2025-06-01T08:00:00.000Z",
        "object_refs": [f"location--{uuid.uuid4()}"],
    }
    if author is not None:
        obj["created_by_ref"] = author
    obj.update(properties)
    return obj


def graded(obj: dict[str, Any]) -> dict[str, Any]:
    return grade(obj, "admiralty", "B", "2")


def context(**changes: Any) -> ReleaseContext:
    arguments: dict[str, Any] = {"own_identities": frozenset({OWN, OWN_ALSO}), "today": TODAY}
    arguments.update(changes)
    return ReleaseContext(**arguments)


FRANCE = PartnerContext("France", PARTNER_IDS["France"])


def code_of(decision: Release | Withhold) -> str:
    return decision.code.value


# --- one example per row -----------------------------------------------------------------


@pytest.mark.parametrize("version", [{"id": "report--x"}, {"type": "report"}, {"type": 3, "id": 4}])
def test_row_0_malformed(version: dict[str, Any]) -> None:
    assert decide(version, FRANCE, context()) == Withhold(
        WithholdCode.MALFORMED, "not a STIX object with a type and an id"
    )


def test_row_1a_a_rel_to_definition_goes_only_to_the_partners_it_names() -> None:
    definition = releasability_marking(["Spain", "Mali"])
    decision = decide(definition, FRANCE, context())
    assert isinstance(decision, Withhold)
    assert decision.code is WithholdCode.REL_TO_DEFINITION
    assert decide(definition, PartnerContext(" mali"), context()).released
    # A malformed list is shown to nobody: it is not what its id derives either.
    payload = definition["extensions"][MARKING_EXTENSION_ID]
    payload["releasable_to"] = ["Mali", ""]
    assert code_of(decide(definition, PartnerContext("Mali"), context())) == "untrusted-definition"


def test_row_0b_a_redefined_marking_is_never_released_as_a_definition() -> None:
    """A definition this node would refuse on receipt goes to no partner: a REL TO list
    widened under the old id, an H3 turned into a statement under the same id, a shipped
    definition with another content, or a definition other than the one held."""
    widened = releasability_marking(["Spain"])
    widened["extensions"][MARKING_EXTENSION_ID]["releasable_to"] = ["Spain", "Mallory"]
    assert code_of(decide(widened, PartnerContext("Mallory"), context())) == "untrusted-definition"
    h3 = h3_marking("Not for court")
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": h3["id"],
        "created": "2025-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "free to use"},
    }
    held = context(definitions={h3["id"]: h3})
    assert code_of(decide(statement, FRANCE, held)) == "untrusted-definition"
    assert decide(h3, FRANCE, held).released
    shipped = next(o for o in shipped_objects() if o["type"] == "extension-definition")
    assert code_of(decide({**shipped, "name": "other"}, FRANCE, context())) == (
        "untrusted-definition"
    )


@pytest.mark.parametrize(
    "version",
    [
        *shipped_objects(),
        h3_marking("Not to be used in court."),
        {
            "type": "extension-definition",
            "id": f"extension-definition--{uuid.uuid4()}",
            "created_by_ref": STRANGER,
        },
        {
            "type": "marking-definition",
            "id": f"marking-definition--{uuid.uuid4()}",
            "definition_type": "statement",
            "definition": {"statement": "Copyright someone"},
        },
    ],
    ids=lambda obj: str(obj.get("name", obj["type"])),
)
def test_row_1b_definitions_are_released(version: dict[str, Any]) -> None:
    decision = decide(version, FRANCE, context())
    assert isinstance(decision, Release)
    assert decision.code is ReleaseCode.DEFINITION


def test_row_2_unknown_marking() -> None:
    obj = graded(report(object_marking_refs=[GREEN, UNKNOWN_MARKING]))
    decision = decide(obj, FRANCE, context())
    assert code_of(decision) == "unknown-marking"
    assert UNKNOWN_MARKING in decision.reason
    # A run-time marking the node has not been given is unknown too.
    rel_to = releasability_marking(["France"])
    obj = graded(report(object_marking_refs=[AMBER, rel_to["id"]]))
    assert code_of(decide(obj, FRANCE, context())) == "unknown-marking"
    assert decide(obj, FRANCE, context(definitions=definitions_by_id([rel_to]))).released


def test_row_2_unknown_granular_marking() -> None:
    obj = graded(
        add_granular_marking(
            report(object_marking_refs=[CLEAR]),
            "marking-definition--" + str(uuid.uuid4()),
            ["description"],
        )
    )
    assert code_of(decide(obj, FRANCE, context())) == "unknown-marking"


def test_row_3_unattributed() -> None:
    obj = graded(report(author=None, object_marking_refs=[CLEAR]))
    assert code_of(decide(obj, FRANCE, context())) == "unattributed"


def test_row_4_third_party_rule() -> None:
    spanish = graded(report(author=PARTNER_IDS["Spain"], object_marking_refs=[CLEAR]))
    decision = decide(spanish, FRANCE, context())
    assert code_of(decision) == "third-party"
    assert PARTNER_IDS["Spain"] in decision.reason
    # With Spain's consent for France, it goes.
    consent = Consent(spanish["id"], PARTNER_IDS["Spain"], "france")
    assert decide(spanish, FRANCE, context(consents=frozenset({consent}))).released
    # A consent for another partner, object or originator is no consent.
    for other in (
        (spanish["id"], PARTNER_IDS["Spain"], "Mali"),
        (f"report--{uuid.uuid4()}", PARTNER_IDS["Spain"], "France"),
        (spanish["id"], STRANGER, "France"),
    ):
        assert code_of(decide(spanish, FRANCE, context(consents=frozenset({other})))) == (
            "third-party"
        )
    # Spain may have its own object back.
    spain = PartnerContext("Spain", PARTNER_IDS["Spain"])
    assert decide(spanish, spain, context()).released


def test_row_4_covers_h2_from_a_foreign_provider() -> None:
    obj = graded(report(author=STRANGER, object_marking_refs=[GREEN, handling_marking_id("H2")]))
    decision = decide(obj, FRANCE, context())
    assert code_of(decision) == "third-party"
    assert "H2" in decision.reason
    consent = frozenset({(obj["id"], STRANGER, "France")})
    assert decide(obj, FRANCE, context(consents=consent)).released


def test_h2_on_our_own_object_needs_no_consent() -> None:
    obj = graded(report(object_marking_refs=[GREEN, handling_marking_id("H2")]))
    assert decide(obj, FRANCE, context()).released


def test_row_5_tlp_red_only_to_named_recipients() -> None:
    obj = graded(report(object_marking_refs=[RED]))
    assert code_of(decide(obj, FRANCE, context())) == "tlp-red"
    named = PartnerContext("France", named_recipient=True)
    assert decide(obj, named, context()).released
    recipients = {obj["id"]: frozenset({" FRANCE"})}
    assert decide(obj, FRANCE, context(red_recipients=recipients)).released
    assert decide(obj, FRANCE, context(red_recipients={obj["id"]: "France"})).released
    assert code_of(decide(obj, FRANCE, context(red_recipients={obj["id"]: "F"}))) == "tlp-red"
    assert code_of(decide(obj, PartnerContext("Mali"), context(red_recipients=recipients))) == (
        "tlp-red"
    )


def test_row_5_tlp_1_0_red_and_granular_red() -> None:
    old_red = graded(
        report(object_marking_refs=["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"])
    )
    assert code_of(decide(old_red, FRANCE, context())) == "tlp-red"
    granular = graded(add_granular_marking(report(object_marking_refs=[GREEN]), RED, ["name"]))
    assert code_of(decide(granular, FRANCE, context())) == "tlp-red"


def test_row_6_rel_to_must_name_the_partner() -> None:
    rel_to = releasability_marking(["Spain", "Mali"])
    definitions = definitions_by_id([rel_to])
    for level in (CLEAR, GREEN, AMBER, AMBER_STRICT):
        obj = graded(report(object_marking_refs=[level, rel_to["id"]]))
        decision = decide(obj, FRANCE, context(definitions=definitions))
        assert code_of(decision) == "not-rel-to"
        assert "Mali, Spain" in decision.reason
        assert decide(obj, PartnerContext("SPAIN"), context(definitions=definitions)).released


def test_row_6_every_rel_to_list_must_name_the_partner() -> None:
    wide, narrow = releasability_marking(["France", "Spain"]), releasability_marking(["Spain"])
    obj = graded(
        add_granular_marking(
            report(object_marking_refs=[GREEN, wide["id"]]), narrow["id"], ["description"]
        )
    )
    ctx = context(definitions=definitions_by_id([wide, narrow]))
    assert code_of(decide(obj, FRANCE, ctx)) == "not-rel-to"
    assert decide(obj, PartnerContext("Spain"), ctx).released


@pytest.mark.parametrize("markings", [[AMBER], [AMBER_STRICT], [], [GREEN, AMBER]])
def test_row_7_amber_needs_a_rel_to_list(markings: list[str]) -> None:
    obj = graded(report(object_marking_refs=markings) if markings else report())
    decision = decide(obj, FRANCE, context())
    assert code_of(decision) == "amber-no-rel-to"
    if not markings:
        assert "no TLP marking" in decision.reason
    rel_to = releasability_marking(["France"])
    marked = add_markings(obj, rel_to["id"])
    assert decide(marked, FRANCE, context(definitions=definitions_by_id([rel_to]))).released


@pytest.mark.parametrize("level", [CLEAR, GREEN])
def test_clear_and_green_go_to_every_partner(level: str) -> None:
    obj = graded(report(object_marking_refs=[level]))
    for name in PARTNERS:
        assert decide(obj, PartnerContext(name), context()).released


def test_row_8_h3_needs_a_recorded_consent() -> None:
    h3 = h3_marking("Not to be used in judicial proceedings.")
    obj = graded(report(object_marking_refs=[GREEN, h3["id"]]))
    ctx = context(definitions=definitions_by_id([h3]))
    decision = decide(obj, FRANCE, ctx)
    assert code_of(decision) == "h3-review"
    assert "Not to be used in judicial proceedings." in decision.reason
    consent = frozenset({(obj["id"], OWN, "France")})
    assert decide(obj, FRANCE, context(definitions=ctx.definitions, consents=consent)).released


def test_row_8_h3_goes_back_to_its_originator() -> None:
    h3 = h3_marking("Only for the border police.")
    obj = graded(report(author=PARTNER_IDS["France"], object_marking_refs=[GREEN, h3["id"]]))
    assert decide(obj, FRANCE, context(definitions=definitions_by_id([h3]))).released


def person(**properties: Any) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid4()}",
        "created": "2025-06-01T08:00:00.000Z",
        "modified": "2025-06-01T08:00:00.000Z",
        "created_by_ref": OWN,
        "name": "A. B.",
        "identity_class": "individual",
        "object_marking_refs": [GREEN],
        **properties,
    }


def test_row_9_person_records_need_protection_metadata() -> None:
    decision = decide(graded(person()), FRANCE, context())
    assert code_of(decision) == "protection-incomplete"
    broken = graded(person(extensions={PROTECTION_EXTENSION_ID: {"extension_type": "x"}}))
    assert code_of(decide(broken, FRANCE, context())) == "protection-incomplete"
    protected = graded(protect(person(), "suspect", TODAY))
    assert decide(protected, FRANCE, context()).released


def test_row_10_review_overdue() -> None:
    overdue = graded(protect(person(), "suspect", TODAY - timedelta(days=1)))
    decision = decide(overdue, FRANCE, context())
    assert code_of(decision) == "review-overdue"
    assert "2025-06-14" in decision.reason
    # Any object carrying the metadata, not only identities.
    overdue_report = graded(
        protect(report(object_marking_refs=[GREEN]), "victim", TODAY - timedelta(days=30))
    )
    assert code_of(decide(overdue_report, FRANCE, context())) == "review-overdue"


def test_row_11_ungraded() -> None:
    obj = report(object_marking_refs=[GREEN])
    assert code_of(decide(obj, FRANCE, context())) == "ungraded"
    assert decide(mark_osint(obj), FRANCE, context()).released
    assert decide(grade(obj, "europol-4x4", "X", "4"), FRANCE, context()).released
    broken = report(
        object_marking_refs=[GREEN],
        extensions={
            GRADING_EXTENSION_ID: {
                "extension_type": "property-extension",
                "scheme": "admiralty",
                "source_reliability": "Z",
                "information_credibility": "1",
                "osint": True,
            }
        },
    )
    decision = decide(broken, FRANCE, context())
    assert code_of(decision) == "ungraded"
    assert "not valid" in decision.reason


def relationship(source: str, target: str) -> dict[str, Any]:
    return mark_osint(
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": f"relationship--{uuid.uuid4()}",
            "created": "2025-06-01T08:00:00.000Z",
            "modified": "2025-06-01T08:00:00.000Z",
            "created_by_ref": OWN,
            "relationship_type": "x-diapason-acts-in",
            "source_ref": source,
            "target_ref": target,
            "object_marking_refs": [GREEN],
        }
    )


def test_row_12_a_relationship_goes_only_with_both_ends() -> None:
    person = f"identity--{uuid.uuid4()}"
    event = f"x-diapason-event--{uuid.uuid4()}"
    obj = relationship(person, event)
    assert ends_of(obj) == (person, event)
    withheld = PartnerContext("France", PARTNER_IDS["France"], withheld_ends=frozenset({person}))
    decision = decide(obj, withheld, context())
    assert code_of(decision) == "end-withheld"
    assert person in decision.reason and event not in decision.reason
    assert "France" in decision.reason
    # Both ends held: released; ends of other objects do not matter.
    assert code_of(decide(obj, FRANCE, context())) == "cleared"
    other = PartnerContext("France", withheld_ends=frozenset({f"identity--{uuid.uuid4()}"}))
    assert code_of(decide(obj, other, context())) == "cleared"


def test_row_12_a_sighting_goes_only_with_every_end() -> None:
    place = f"identity--{uuid.uuid4()}"
    sighting = mark_osint(
        {
            "type": "sighting",
            "spec_version": "2.1",
            "id": f"sighting--{uuid.uuid4()}",
            "created": "2025-06-01T08:00:00.000Z",
            "modified": "2025-06-01T08:00:00.000Z",
            "created_by_ref": OWN,
            "sighting_of_ref": f"indicator--{uuid.uuid4()}",
            "where_sighted_refs": [place],
            "object_marking_refs": [GREEN],
        }
    )
    assert ends_of(sighting) == (sighting["sighting_of_ref"], place)
    partner = PartnerContext("France", withheld_ends=frozenset({place}))
    assert code_of(decide(sighting, partner, context())) == "end-withheld"


def test_row_12_containers_go_with_references_to_withheld_objects() -> None:
    obj = graded(report(object_marking_refs=[GREEN]))
    assert ends_of(obj) == ()
    partner = PartnerContext("France", withheld_ends=frozenset(obj["object_refs"]))
    assert code_of(decide(obj, partner, context())) == "cleared"


def test_row_12_comes_after_every_other_rule() -> None:
    person = f"identity--{uuid.uuid4()}"
    obj = relationship(person, f"location--{uuid.uuid4()}")
    del obj["extensions"]
    partner = PartnerContext("France", withheld_ends=frozenset({person}))
    assert code_of(decide(obj, partner, context())) == "ungraded"


def test_row_13_cleared() -> None:
    decision = decide(graded(report(object_marking_refs=[GREEN])), FRANCE, context())
    assert decision == Release(
        ReleaseCode.CLEARED, "TLP:GREEN, B2: every release rule is met", correction=False
    )


def test_revoked_versions_are_flagged_as_corrections() -> None:
    released = decide(graded(report(object_marking_refs=[GREEN], revoked=True)), FRANCE, context())
    assert released.released and released.correction
    withheld = decide(graded(report(object_marking_refs=[RED], revoked=True)), FRANCE, context())
    assert not withheld.released and withheld.correction
    assert not decide(graded(report(object_marking_refs=[GREEN])), FRANCE, context()).correction


def test_the_most_fundamental_reason_is_given() -> None:
    # Foreign, RED, H3, overdue, ungraded: the third-party rule is named.
    h3 = h3_marking("Restricted.")
    obj = protect(
        report(author=STRANGER, object_marking_refs=[RED, h3["id"]]),
        "suspect",
        TODAY - timedelta(days=1),
    )
    ctx = context(definitions=definitions_by_id([h3]))
    assert code_of(decide(obj, FRANCE, ctx)) == "third-party"
    consent = frozenset({(obj["id"], STRANGER, "France")})
    ctx = context(definitions=ctx.definitions, consents=consent)
    assert code_of(decide(obj, FRANCE, ctx)) == "tlp-red"
    named = PartnerContext("France", named_recipient=True)
    assert code_of(decide(obj, named, ctx)) == "review-overdue"


def test_contexts_check_their_arguments() -> None:
    with pytest.raises(ValueError):
        PartnerContext("  ")
    with pytest.raises(ValueError):
        ReleaseContext(own_identities=frozenset(), today=TODAY)
    with pytest.raises(ValueError):
        ReleaseContext(own_identities=frozenset({"organisation-7"}), today=TODAY)
    ctx = ReleaseContext(own_identities={OWN}, today=TODAY, consents={("a", "b", "c")})  # type: ignore[arg-type]
    assert ctx.own_identities == frozenset({OWN})
    assert ctx.has_consent("a", "b", " C ")


def test_the_shipped_identity_is_released() -> None:
    assert decide(diapason_identity(), FRANCE, context()).released
    assert all(
        decide(definition, FRANCE, context()).released for definition in extension_definitions()
    )
    assert diapason_identity()["id"] == DIAPASON_IDENTITY_ID


def test_docs_list_the_rules_in_order() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("## Decision table", 1)[1].split("\n## ", 1)[0]
    codes = re.findall(r"^\|[^|]*\|[^|]*\|[^|]*\|\s*`([a-z0-9-]+)`", table, re.MULTILINE)
    assert tuple(codes) == RULE_ORDER


# --- the table's invariants over random objects and partners ------------------------------


@dataclass
class Scenario:
    """A random version, partner and context, with the facts the generator put in."""

    version: dict[str, Any]
    partner: PartnerContext
    context: ReleaseContext
    kind: str = "object"
    tlp_ranks: list[int] = field(default_factory=list)
    rel_to_lists: list[list[str]] = field(default_factory=list)
    unknown: bool = False
    author: str | None = None
    consent: bool = False
    named: bool = False
    h3: bool = False
    person: bool = False
    protection_valid: bool = False
    review_by: date | None = None
    graded_validly: bool = False
    grading_broken: bool = False
    osint: bool = False
    revoked: bool = False


# True nine times in ten (hypothesis favours small integers, so not integers(0, 9) > 0).
MOSTLY_TRUE = st.sampled_from([True] * 9 + [False])


def name_variant(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.upper(), f"  {name.lower()} ", name])


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    partner_name = draw(st.sampled_from(PARTNERS))
    partner_identity = draw(st.sampled_from([PARTNER_IDS[partner_name], None]))
    named_flag = draw(st.booleans())
    partner = PartnerContext(draw(name_variant(partner_name)), partner_identity, named_flag)
    kind = draw(
        st.sampled_from(
            ["object"] * 12 + ["rel-to-definition", "definition", "extension", "malformed"]
        )
    )
    if kind != "object":
        return _definition_scenario(draw, kind, partner)

    definitions: list[dict[str, Any]] = []
    object_level: list[str] = []
    granular: list[tuple[str, list[str]]] = []
    facts: dict[str, Any] = {}

    def place(ref: str) -> None:
        if draw(st.booleans()):
            object_level.append(ref)
        else:
            selectors = draw(
                st.sampled_from([["name"], ["description"], ["object_refs.[0]"], ["id"]])
            )
            granular.append((ref, selectors))

    tlp_refs = draw(st.lists(st.sampled_from(list(TLP_RANK)), max_size=3))
    for ref in tlp_refs:
        place(ref)
    tlp_ranks = [TLP_RANK[ref] for ref in tlp_refs]

    # Run-time markings placed, and whether the context is given each one's definition.
    run_time: list[tuple[str, bool]] = []
    rel_to_lists: list[list[str]] = []
    for names in draw(
        st.lists(st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=3), max_size=2)
    ):
        marking = releasability_marking([draw(name_variant(name)) for name in names])
        place(marking["id"])
        rel_to_lists.append(names)
        given_definition = draw(MOSTLY_TRUE)
        run_time.append((marking["id"], given_definition))
        if given_definition:
            definitions.append(marking)

    h3 = False
    for code in draw(st.lists(st.sampled_from(["H0", "H1", "H2", "H3"]), max_size=2)):
        if code == "H3":
            marking = h3_marking(draw(st.sampled_from(["Not for court.", "Desk only."])))
            place(marking["id"])
            h3 = True
            given_definition = draw(MOSTLY_TRUE)
            run_time.append((marking["id"], given_definition))
            if given_definition:
                definitions.append(marking)
        else:
            place(handling_marking_id(code))
    unknown = not draw(MOSTLY_TRUE)
    if unknown:
        place(UNKNOWN_MARKING)
    # The same marking may be placed twice: unknown only if no copy was given.
    given_ids = {ref for ref, given_definition in run_time if given_definition}
    unknown = unknown or any(ref not in given_ids for ref, _ in run_time)

    stix_type = draw(st.sampled_from(["report", "identity", "identity-individual"]))
    author = draw(st.sampled_from([OWN, OWN, OWN, OWN_ALSO, None, STRANGER, *PARTNER_IDS.values()]))
    version = report(author=author)
    if stix_type.startswith("identity"):
        version["type"] = "identity"
        version["id"] = f"identity--{uuid.uuid4()}"
        version["identity_class"] = (
            "individual" if stix_type == "identity-individual" else "organization"
        )
        for unused in ("published", "object_refs", "description"):
            version.pop(unused)
        granular = [(ref, ["name"]) for ref, _ in granular]
    if object_level:
        version["object_marking_refs"] = object_level
    for ref, selectors in granular:
        version = add_granular_marking(version, ref, selectors)

    person = stix_type == "identity-individual"
    protection = draw(st.sampled_from(["none", "none", "valid", "valid", "broken"]))
    review_by: date | None = None
    protection_valid = False
    if protection == "valid":
        review_by = TODAY + timedelta(days=draw(st.integers(-400, 400)))
        version = protect(version, draw(st.sampled_from(["suspect", "victim", "other"])), review_by)
        person = protection_valid = True
    elif protection == "broken":
        extensions = dict(version.get("extensions", {}))
        extensions[PROTECTION_EXTENSION_ID] = {
            "extension_type": "property-extension",
            "review_by": "2030-01-01",
        }
        version["extensions"] = extensions
        person = True

    osint = draw(st.booleans())
    grading = draw(st.sampled_from(["admiralty", "europol", "none", "broken"]))
    graded_validly = grading in ("admiralty", "europol")
    if grading == "admiralty":
        version = grade(
            version,
            "admiralty",
            draw(st.sampled_from("ABCDEF")),
            draw(st.sampled_from("123456")),
            osint=osint,
        )
    elif grading == "europol":
        version = grade(
            version,
            "europol-4x4",
            draw(st.sampled_from("ABCX")),
            draw(st.sampled_from("1234")),
            osint=osint,
        )
    elif grading == "broken":
        extensions = dict(version.get("extensions", {}))
        extensions[GRADING_EXTENSION_ID] = {
            "extension_type": "property-extension",
            "scheme": "admiralty",
            "source_reliability": "B",
            "osint": osint,
        }
        version["extensions"] = extensions
    elif osint:
        version = mark_osint(version)

    revoked = draw(st.booleans())
    if revoked:
        version["revoked"] = True

    consents: set[tuple[str, str, str]] = set()
    consent = author is not None and draw(st.booleans())
    if consent and author is not None:
        consents.add((version["id"], author, draw(name_variant(partner_name))))
    # Noise: consents for other objects, originators and partners.
    other = draw(st.sampled_from([p for p in PARTNERS if p != partner_name]))
    consents.add((version["id"], STRANGER if author != STRANGER else OWN, partner_name))
    consents.add((version["id"], author or STRANGER, other))
    consents.add((f"report--{uuid.uuid4()}", author or STRANGER, partner_name))

    red_recipients: dict[str, frozenset[str]] = {}
    in_list = draw(st.booleans())
    if in_list:
        red_recipients[version["id"]] = frozenset({draw(name_variant(partner_name)), other})
    else:
        red_recipients[version["id"]] = frozenset({other})

    facts.update(
        tlp_ranks=tlp_ranks,
        rel_to_lists=rel_to_lists,
        unknown=unknown,
        author=author,
        consent=consent,
        named=named_flag or in_list,
        h3=h3,
        person=person,
        protection_valid=protection_valid,
        review_by=review_by,
        graded_validly=graded_validly,
        grading_broken=grading == "broken",
        osint=osint,
        revoked=revoked,
    )
    ctx = ReleaseContext(
        own_identities=frozenset({OWN, OWN_ALSO}),
        today=TODAY,
        consents=frozenset(consents),
        red_recipients=red_recipients,
        definitions=definitions_by_id(definitions),
    )
    return Scenario(version=version, partner=partner, context=ctx, **facts)


def _definition_scenario(draw: st.DrawFn, kind: str, partner: PartnerContext) -> Scenario:
    rel_to_lists: list[list[str]] = []
    version: dict[str, Any]
    if kind == "rel-to-definition":
        names = draw(st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=3))
        rel_to_lists.append(names)
        version = releasability_marking(names)
    elif kind == "definition":
        version = draw(st.sampled_from([*shipped_objects(), h3_marking("Desk only.")]))
    elif kind == "extension":
        version = {
            "type": "extension-definition",
            "id": f"extension-definition--{uuid.uuid4()}",
            "created_by_ref": draw(st.sampled_from([STRANGER, OWN])),
        }
    else:
        version = draw(st.sampled_from([{"type": "report"}, {"id": "x"}, {"type": 1, "id": 2}]))
    ctx = ReleaseContext(own_identities=frozenset({OWN}), today=TODAY)
    return Scenario(
        version=version, partner=partner, context=ctx, kind=kind, rel_to_lists=rel_to_lists
    )


def partner_in(scenario: Scenario, names: list[str]) -> bool:
    return key(scenario.partner.name) in {key(name) for name in names}


def expected_code(s: Scenario) -> str:
    """The decision table, row by row, from the facts the generator put in."""
    if s.kind == "malformed":
        return "malformed"
    if s.kind == "rel-to-definition":
        return "definition" if partner_in(s, s.rel_to_lists[0]) else "rel-to-definition"
    if s.kind != "object":
        return "definition"
    if s.unknown:
        return "unknown-marking"
    if s.author is None:
        return "unattributed"
    ours = s.author in (OWN, OWN_ALSO)
    theirs = s.author == s.partner.identity_id
    if not (ours or theirs or s.consent):
        return "third-party"
    top = max(s.tlp_ranks, default=None)
    if top == 4 and not s.named:
        return "tlp-red"
    if not all(partner_in(s, names) for names in s.rel_to_lists):
        return "not-rel-to"
    if (top is None or top in (2, 3)) and not s.rel_to_lists:
        return "amber-no-rel-to"
    if s.h3 and not (theirs or s.consent):
        return "h3-review"
    if s.person and not s.protection_valid:
        return "protection-incomplete"
    if s.review_by is not None and s.review_by < TODAY:
        return "review-overdue"
    if not s.graded_validly and (s.grading_broken or not s.osint):
        return "ungraded"
    return "cleared"


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@pytest.mark.slow
@given(scenarios())
def test_no_decision_breaks_the_table(s: Scenario) -> None:
    decision = decide(s.version, s.partner, s.context)
    released = isinstance(decision, Release)
    assert decision.released is released
    top = max(s.tlp_ranks, default=None)

    # Invariants, each on its own: what a release implies.
    if released and s.kind == "object":
        assert not s.unknown, "released with a marking this node cannot interpret"
        assert s.author is not None, "released without a known originator"
        assert s.author in (OWN, OWN_ALSO) or s.author == s.partner.identity_id or s.consent, (
            "foreign-authored released without the originator's consent"
        )
        if top == 4:
            assert s.named, "TLP:RED released to a partner who is not a named recipient"
        for names in s.rel_to_lists:
            assert partner_in(s, names), "released to a partner not on a REL TO list"
        if top in (2, 3) or top is None:
            assert s.rel_to_lists, "AMBER (or unmarked) released without a REL TO list"
        if s.h3:
            assert s.author == s.partner.identity_id or s.consent, "H3 released unreviewed"
        if s.person:
            assert s.protection_valid, "person record released without its metadata"
        if s.review_by is not None:
            assert s.review_by >= TODAY, "released after the review date"
        assert s.graded_validly or (s.osint and not s.grading_broken), (
            "released without a valid grade and not OSINT"
        )
    if released and s.kind == "rel-to-definition":
        assert partner_in(s, s.rel_to_lists[0]), "REL TO list shown to a partner not on it"
    if released and s.kind == "malformed":
        raise AssertionError("a malformed object was released")
    # ... what each reason implies.
    if decision.code is WithholdCode.TLP_RED:
        assert top == 4 and not s.named
    if decision.code is WithholdCode.THIRD_PARTY:
        assert s.author not in (OWN, OWN_ALSO, None) and not s.consent
    if decision.code is WithholdCode.NOT_REL_TO:
        assert any(not partner_in(s, names) for names in s.rel_to_lists)
    if decision.code is WithholdCode.REVIEW_OVERDUE:
        assert s.review_by is not None and s.review_by < TODAY
    # Corrections are flagged for every revoked version, and only for them.
    assert decision.correction is s.revoked
    # CLEAR and GREEN, own, graded, unrestricted otherwise: released to every partner.
    if (
        s.kind == "object"
        and s.tlp_ranks
        and top is not None
        and top <= 1
        and not s.rel_to_lists
        and not s.unknown
        and s.author in (OWN, OWN_ALSO)
        and not s.h3
        and not s.person
        and s.graded_validly
    ):
        assert released, decision.reason

    # The whole table, in order: the code is the first row that applies.
    assert decision.code.value == expected_code(s), decision.reason

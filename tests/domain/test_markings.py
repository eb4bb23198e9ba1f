"""Markings: TLP 2.0 (and 1.0), handling codes, releasability, PAP; the shipped definitions."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from diapason.domain.extensions import (
    COORDINATION_EXTENSION_IDS,
    DIAPASON_IDENTITY_ID,
    FIXED_HANDLING_IDS,
    GRADING_EXTENSION_ID,
    MARKING_EXTENSION_ID,
    NAMESPACE,
    PAP_IDS,
    PROTECTION_EXTENSION_ID,
    SHIPPED_IDS,
    TLP_2_0_EXTENSION_ID,
    diapason_marking_definition,
    extension_definitions,
    extension_schema,
    fixed_marking_definitions,
    shipped_objects,
    tlp_marking_definitions,
)
from diapason.domain.markings import (
    TLP_BY_ID,
    HandlingCode,
    Markings,
    Meaning,
    Pap,
    Tlp,
    add_granular_marking,
    add_markings,
    definitions_by_id,
    effective_markings,
    h3_marking,
    handling_marking_id,
    interpret_marking,
    marking_refs,
    partner_key,
    releasability_marking,
)
from diapason.domain.stix import Prepared, new_id, prepare
from tests import builders

# From REFERENCE.md, checked against oasis-open/cti-stix-common-objects (tlp-2.0).
TLP2 = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1 = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
UNKNOWN = "marking-definition--00000000-0000-4000-8000-000000000000"


def sdo(**properties: Any) -> dict[str, Any]:
    """A report at a fixed time (``tests.builders.sdo``); ``properties`` override."""
    obj = builders.sdo(
        "report",
        created="2024-05-02T10:00:00.000Z",
        name="Smuggling route through the Sahel",
        object_refs=[new_id("location")],
    )
    obj.update(properties)
    return obj


def no_errors(obj: dict[str, Any]) -> None:
    results = validate_instance(obj, ValidationOptions(version="2.1"))
    assert results.is_valid, [str(error) for error in results.errors]
    # Strict: every SHOULD becomes an error; the only one we accept is {103}, UUIDv4
    # recommended for meta objects, since our ids are deterministic UUIDv5s on purpose.
    strict = validate_instance(obj, ValidationOptions(version="2.1", strict=True, disabled=["103"]))
    assert strict.is_valid, [str(error) for error in strict.errors]
    assert not strict.warnings, [str(warning) for warning in strict.warnings]


# --- TLP -------------------------------------------------------------------------------


def test_official_tlp_2_0_ids() -> None:
    for level, marking_id in TLP2.items():
        assert level.marking_id == marking_id
        assert TLP_BY_ID[marking_id] is level
    assert TLP_2_0_EXTENSION_ID == "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"


@pytest.mark.parametrize(
    ("old", "new"),
    [("white", Tlp.CLEAR), ("green", Tlp.GREEN), ("amber", Tlp.AMBER), ("red", Tlp.RED)],
)
def test_tlp_1_0_ids_read_as_tlp_2_0(old: str, new: Tlp) -> None:
    assert effective_markings(sdo(object_marking_refs=[TLP1[old]])).tlp is new


def test_tlp_order_and_labels() -> None:
    ordered = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED]
    assert [level.rank for level in ordered] == [0, 1, 2, 3, 4]
    assert Tlp.AMBER_STRICT.label == "TLP:AMBER+STRICT"


def test_no_marking_is_read_as_amber_for_release() -> None:
    markings = effective_markings(sdo())
    assert markings == Markings()
    assert markings.tlp is None
    assert markings.release_tlp is Tlp.AMBER
    assert markings.releasable_to("anyone")


def test_most_restrictive_object_level_tlp_wins() -> None:
    obj = sdo(object_marking_refs=[TLP2[Tlp.GREEN], TLP1["amber"], TLP2[Tlp.CLEAR]])
    assert effective_markings(obj).tlp is Tlp.AMBER


def test_granular_marking_counts_for_the_whole_object() -> None:
    obj = add_granular_marking(
        sdo(object_marking_refs=[TLP2[Tlp.GREEN]]), TLP2[Tlp.RED], ["description"]
    )
    markings = effective_markings(obj)
    assert markings.tlp is Tlp.RED
    assert markings.release_tlp is Tlp.RED


def test_granular_lang_entries_carry_no_marking() -> None:
    obj = sdo(granular_markings=[{"selectors": ["name"], "lang": "fr"}])
    assert effective_markings(obj) == Markings()


@given(
    st.lists(st.sampled_from([*TLP2.values(), *TLP1.values()]), max_size=4),
    st.lists(st.sampled_from([*TLP2.values(), *TLP1.values()]), max_size=3),
)
def test_tlp_is_the_highest_of_every_marking(object_level: list[str], granular: list[str]) -> None:
    obj = sdo(object_marking_refs=object_level) if object_level else sdo()
    for ref in granular:
        obj = add_granular_marking(obj, ref, ["name"])
    levels = [TLP_BY_ID[ref] for ref in object_level + granular]
    expected = max(levels, key=lambda level: level.rank) if levels else None
    assert effective_markings(obj).tlp is expected


# --- what cannot be interpreted ----------------------------------------------------------


def test_unknown_marking_is_a_problem_and_reads_as_red() -> None:
    markings = effective_markings(sdo(object_marking_refs=[TLP2[Tlp.CLEAR], UNKNOWN]))
    assert markings.tlp is Tlp.CLEAR
    assert not markings.understood
    assert markings.release_tlp is Tlp.RED
    assert "object_marking_refs[1]" in markings.problems[0]
    assert UNKNOWN in markings.problems[0]


@pytest.mark.parametrize(
    ("properties", "where"),
    [
        ({"object_marking_refs": TLP2[Tlp.CLEAR]}, "object_marking_refs"),
        ({"object_marking_refs": [42]}, "object_marking_refs[0]"),
        ({"object_marking_refs": ["identity--" + str(uuid.uuid4())]}, "object_marking_refs[0]"),
        ({"granular_markings": {"selectors": ["name"]}}, "granular_markings"),
        ({"granular_markings": ["x"]}, "granular_markings[0]"),
        ({"granular_markings": [{"marking_ref": TLP2[Tlp.RED]}]}, "granular_markings[0]"),
        (
            {"granular_markings": [{"selectors": [], "marking_ref": TLP2[Tlp.RED]}]},
            "granular_markings[0]",
        ),
        (
            {
                "granular_markings": [
                    {"selectors": ["name"], "marking_ref": TLP2[Tlp.RED], "lang": "fr"}
                ]
            },
            "granular_markings[0]",
        ),
        ({"granular_markings": [{"selectors": ["name"]}]}, "granular_markings[0]"),
        (
            {"granular_markings": [{"selectors": ["name"], "marking_ref": 7}]},
            "granular_markings[0]",
        ),
        ({"granular_markings": [{"selectors": ["name"], "marking_ref": UNKNOWN}]}, "granular"),
    ],
)
def test_malformed_markings_are_problems(properties: dict[str, Any], where: str) -> None:
    markings = effective_markings(sdo(**properties))
    assert markings.problems
    assert markings.problems[0].startswith(where)
    assert markings.release_tlp is Tlp.RED


def test_marking_refs_lists_object_level_and_granular_references() -> None:
    obj = add_granular_marking(
        sdo(object_marking_refs=[TLP2[Tlp.GREEN]]), TLP2[Tlp.RED], ["name", "description"]
    )
    found, problems = marking_refs(obj)
    assert found == [
        ("object_marking_refs[0]", TLP2[Tlp.GREEN]),
        ("granular_markings[0].marking_ref", TLP2[Tlp.RED]),
    ]
    assert problems == []


def test_a_home_made_tlp_2_0_definition_is_not_trusted() -> None:
    fake_id = "marking-definition--" + str(uuid.uuid4())
    fake = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": fake_id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:CLEAR",
        "extensions": {
            TLP_2_0_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "clear"}
        },
    }
    meaning = interpret_marking(fake_id, {fake_id: fake})
    assert isinstance(meaning, str)
    assert "official" in meaning


def test_a_home_made_tlp_1_0_definition_is_not_trusted() -> None:
    fake_id = "marking-definition--" + str(uuid.uuid4())
    fake = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": fake_id,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "white"},
    }
    assert isinstance(interpret_marking(fake_id, {fake_id: fake}), str)


def statement(text: str = "Copyright 2024 Ministry of the Interior") -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--" + str(uuid.uuid4()),
        "created": "2024-01-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": text},
    }


def test_a_known_statement_marking_restricts_nothing() -> None:
    copyright_statement = statement()
    obj = sdo(object_marking_refs=[copyright_statement["id"], TLP2[Tlp.GREEN]])
    markings = effective_markings(obj, definitions_by_id([copyright_statement]))
    assert markings == Markings(tlp=Tlp.GREEN)
    # Without the definition, the same reference is unknown.
    assert effective_markings(obj).problems


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(type="identity"),
        lambda d: d.update(id="marking-definition--" + str(uuid.uuid4())),
        lambda d: d.update(definition={"text": "no statement"}),
        lambda d: d.update(definition_type="acs-marking"),
        lambda d: d.update(extensions={}),
        lambda d: d.update(extensions=["x"]),
        lambda d: d.update(
            extensions={
                "extension-definition--" + str(uuid.uuid4()): {
                    "extension_type": "property-extension"
                }
            }
        ),
    ],
)
def test_definitions_this_node_does_not_understand(mutate: Any) -> None:
    definition = statement()
    marking_id = definition["id"]
    mutate(definition)
    assert isinstance(interpret_marking(marking_id, {marking_id: definition}), str)


# --- handling codes, releasability, PAP --------------------------------------------------


def test_fixed_handling_and_pap_markings_need_no_lookup() -> None:
    for code in ("H0", "H1", "H2"):
        marking_id = handling_marking_id(code)
        assert interpret_marking(marking_id) == Meaning(handling=HandlingCode(code))
    for pap in Pap:
        assert interpret_marking(pap.marking_id) == Meaning(pap=pap)
    with pytest.raises(ValueError, match="h3_marking"):
        handling_marking_id(HandlingCode.H3)


def test_highest_handling_code_and_pap_win() -> None:
    h3 = h3_marking("Not to be used in court.")
    obj = sdo(
        object_marking_refs=[
            handling_marking_id("H2"),
            Pap.GREEN.marking_id,
            Pap.RED.marking_id,
            handling_marking_id("H0"),
        ]
    )
    assert effective_markings(obj) == Markings(handling=HandlingCode.H2, pap=Pap.RED)
    with_h3 = add_markings(obj, h3["id"])
    markings = effective_markings(with_h3, definitions_by_id([h3]))
    assert markings.handling is HandlingCode.H3
    assert markings.h3_text == "Not to be used in court."


def test_several_h3_texts_are_all_kept() -> None:
    first, second = h3_marking("Not for court."), h3_marking("Only for the Sahel desk.")
    obj = add_granular_marking(sdo(object_marking_refs=[first["id"]]), second["id"], ["name"])
    markings = effective_markings(obj, definitions_by_id([first, second]))
    assert markings.h3_text == "Not for court.\nOnly for the Sahel desk."


def test_h3_marking_is_deterministic() -> None:
    marking = h3_marking("  Not for court. ")
    assert marking == h3_marking("Not for court.")
    assert marking["name"] == "H3: Not for court."
    assert marking["extensions"][MARKING_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "handling_code": "H3",
        "handling_text": "Not for court.",
    }
    assert marking["id"] != h3_marking("Not for the press.")["id"]
    for bad in ("", "   "):
        with pytest.raises(ValueError):
            h3_marking(bad)


def test_releasability_marking_is_deterministic() -> None:
    marking = releasability_marking(["Morocco", "France"])
    assert marking["name"] == "REL TO France, Morocco"
    assert marking["extensions"][MARKING_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "releasable_to": ["France", "Morocco"],
    }
    same = releasability_marking([" france ", "MOROCCO", "Morocco"])
    assert same["id"] == marking["id"]
    assert releasability_marking(["France"])["id"] != marking["id"]


@pytest.mark.parametrize("partners", [[], [""], ["France", "  "], [None]])
def test_releasability_marking_needs_partner_names(partners: list[Any]) -> None:
    with pytest.raises(ValueError):
        releasability_marking(partners)


def test_releasability_marking_refuses_one_string() -> None:
    with pytest.raises(TypeError):
        releasability_marking("France")


def test_rel_to_lists_intersect() -> None:
    both = releasability_marking(["France", "Morocco", "Spain"])
    one = releasability_marking(["morocco", "Mali"])
    obj = add_granular_marking(sdo(object_marking_refs=[both["id"]]), one["id"], ["name"])
    markings = effective_markings(obj, definitions_by_id([both, one]))
    assert markings.rel_to == frozenset({"Morocco"})
    assert markings.releasable_to(" MOROCCO")
    assert not markings.releasable_to("France")
    disjoint = releasability_marking(["Spain"])
    none_left = add_markings(obj, disjoint["id"])
    markings = effective_markings(none_left, definitions_by_id([both, one, disjoint]))
    assert markings.rel_to == frozenset()
    assert not markings.releasable_to("Morocco")


def test_partner_key_ignores_case_and_spacing() -> None:
    assert partner_key("  Burkina   Faso ") == partner_key("burkina faso")


def diapason_definition(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    marking_id = "marking-definition--" + str(uuid.uuid4())
    return marking_id, diapason_marking_definition(marking_id, "test", payload)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"handling_code": "H4"},
        {"handling_code": ["H2"]},
        {"handling_code": "H3"},
        {"handling_code": "H3", "handling_text": "  "},
        {"handling_code": "H2", "handling_text": "why"},
        {"pap": "white"},
        {"pap": "amber", "handling_text": "why"},
        {"releasable_to": []},
        {"releasable_to": "France"},
        {"releasable_to": ["France", ""]},
        {"handling_code": "H0", "pap": "red"},
        {"pap": "red", "colour": "red"},
    ],
)
def test_malformed_diapason_markings_are_not_understood(payload: dict[str, Any]) -> None:
    marking_id, definition = diapason_definition(payload)
    assert isinstance(interpret_marking(marking_id, {marking_id: definition}), str)
    # ... and the shipped schema says the same.
    validator = jsonschema.Draft202012Validator(extension_schema(MARKING_EXTENSION_ID))
    assert not validator.is_valid(definition["extensions"][MARKING_EXTENSION_ID])


def test_diapason_marking_must_be_a_property_extension() -> None:
    marking_id, definition = diapason_definition({"pap": "red"})
    definition["extensions"][MARKING_EXTENSION_ID]["extension_type"] = "new-sdo"
    assert isinstance(interpret_marking(marking_id, {marking_id: definition}), str)
    definition["extensions"][MARKING_EXTENSION_ID] = "H2"
    assert isinstance(interpret_marking(marking_id, {marking_id: definition}), str)
    marking_id, definition = diapason_definition({"pap": "red"})
    definition.update(definition_type="statement", definition={"statement": "x"})
    assert isinstance(interpret_marking(marking_id, {marking_id: definition}), str)


def test_run_time_markings_match_their_schema() -> None:
    validator = jsonschema.Draft202012Validator(extension_schema(MARKING_EXTENSION_ID))
    for marking in (
        releasability_marking(["France", "Morocco"]),
        h3_marking("Not for court."),
        *fixed_marking_definitions(),
    ):
        validator.validate(marking["extensions"][MARKING_EXTENSION_ID])


def test_add_markings_copies() -> None:
    obj = sdo(object_marking_refs=[TLP2[Tlp.GREEN]])
    before = copy.deepcopy(obj)
    marked = add_markings(obj, TLP2[Tlp.GREEN], handling_marking_id("H1"))
    assert obj == before
    assert marked["object_marking_refs"] == [TLP2[Tlp.GREEN], handling_marking_id("H1")]
    granular = add_granular_marking(marked, TLP2[Tlp.RED], ["name"])
    assert "granular_markings" not in marked
    assert granular["granular_markings"] == [{"selectors": ["name"], "marking_ref": TLP2[Tlp.RED]}]
    with pytest.raises(ValueError):
        add_markings(obj, "identity--" + str(uuid.uuid4()))
    with pytest.raises(ValueError):
        add_granular_marking(obj, TLP2[Tlp.RED], [])
    with pytest.raises(ValueError):
        add_granular_marking(obj, "tlp-red", ["name"])


# --- what every node ships ---------------------------------------------------------------


def test_shipped_ids_never_change() -> None:
    # Other nodes recognise our markings by these ids: changing one breaks the exchange.
    assert uuid.UUID("b9729abd-e870-43de-bd53-76fdd55da06a") == NAMESPACE
    derived = "identity--" + str(uuid.uuid5(NAMESPACE, "identity:diapason"))
    assert derived == DIAPASON_IDENTITY_ID
    expected = {
        MARKING_EXTENSION_ID: "marking",
        GRADING_EXTENSION_ID: "grading",
        PROTECTION_EXTENSION_ID: "data-protection",
    }
    for extension_id, name in expected.items():
        assert extension_id == "extension-definition--" + str(
            uuid.uuid5(NAMESPACE, f"extension-definition:{name}")
        )
    for code, marking_id in FIXED_HANDLING_IDS.items():
        assert marking_id == "marking-definition--" + str(
            uuid.uuid5(NAMESPACE, f"marking-definition:handling:{code}")
        )
    for level, marking_id in PAP_IDS.items():
        assert marking_id == "marking-definition--" + str(
            uuid.uuid5(NAMESPACE, f"marking-definition:pap:{level}")
        )
    # Pinned literally too, as they are written in docs/release.md.
    assert DIAPASON_IDENTITY_ID == "identity--a97c7dac-44f3-5ae1-9ef0-bab872fca57e"
    assert MARKING_EXTENSION_ID == "extension-definition--b0b89590-c1b8-5904-8b48-44491957b9bf"
    assert GRADING_EXTENSION_ID == "extension-definition--a1c8a9a7-886c-587b-a7bf-82b906c2bbc6"
    assert PROTECTION_EXTENSION_ID == "extension-definition--76c0e092-a16e-5191-9073-8d8a766bc595"
    assert FIXED_HANDLING_IDS == {
        "H0": "marking-definition--15b6a789-286c-574f-8bfe-424bb9b0ada8",
        "H1": "marking-definition--6d42f97e-3745-5b45-b56f-6ff32156dedb",
        "H2": "marking-definition--55da0bdb-462b-5cb2-b4c8-3e8b2ca4c5bf",
    }
    assert PAP_IDS == {
        "clear": "marking-definition--c463b322-f27e-5439-af5d-9df75785a1a1",
        "green": "marking-definition--3ae449d2-3bc2-50bb-9797-d49ebfd4f34d",
        "amber": "marking-definition--04b592f0-0ebf-52ec-9dbe-060ab081250c",
        "red": "marking-definition--0cafe939-a548-5cae-991d-33d149ca15b3",
    }


def test_shipped_objects_are_fresh_copies() -> None:
    first = shipped_objects()
    first[0]["name"] = "changed"
    first[1]["extension_types"].append("new-sdo")
    assert shipped_objects()[0]["name"] == "Diapason"
    assert shipped_objects()[1]["extension_types"] == ["property-extension"]
    assert {obj["id"] for obj in shipped_objects()} == SHIPPED_IDS
    # identity; marking, grading, data protection, receipt, alert, event; the joint
    # mechanism's 5 SDOs; 7 fixed markings; 5 TLP 2.0; 4 TLP 1.0
    assert len(SHIPPED_IDS) == 1 + 6 + 5 + 7 + 5 + 4


def test_shipped_tlp_definitions_are_the_official_ones() -> None:
    by_id = definitions_by_id(tlp_marking_definitions())
    amber_strict = by_id[TLP2[Tlp.AMBER_STRICT]]
    assert amber_strict == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:AMBER+STRICT",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "amber+strict",
            }
        },
    }
    assert by_id[TLP1["white"]]["definition"] == {"tlp": "white"}


@pytest.mark.parametrize(
    "obj",
    [
        *shipped_objects(),
        releasability_marking(["France", "Morocco"]),
        h3_marking("Not to be used in judicial proceedings in either country."),
    ],
    ids=lambda obj: obj.get("name", obj["id"]),
)
def test_shipped_and_run_time_objects_validate_as_stix_2_1(obj: dict[str, Any]) -> None:
    no_errors(obj)
    # ... and the node's own import checks accept it.
    assert isinstance(prepare(obj, 0, 1_000_000), Prepared)


def test_extension_definitions_declare_what_stix_requires() -> None:
    for definition in extension_definitions():
        assert definition["created_by_ref"] == DIAPASON_IDENTITY_ID
        assert definition["extension_types"] == (
            ["new-sdo"]
            if definition["name"] in ("Diapason receipt", "Diapason alert", "Diapason event")
            or definition["id"] in COORDINATION_EXTENSION_IDS.values()
            else ["property-extension"]
        )
        assert definition["version"] == "1.0.0"
        schema = extension_schema(definition["id"])
        jsonschema.Draft202012Validator.check_schema(schema)
        assert definition["schema"].startswith("{")
    with pytest.raises(KeyError):
        extension_schema("extension-definition--" + str(uuid.uuid4()))


def test_an_object_marked_with_diapason_markings_validates() -> None:
    rel_to = releasability_marking(["France"])
    obj = add_granular_marking(
        add_markings(sdo(), TLP2[Tlp.AMBER], rel_to["id"], handling_marking_id("H2")),
        Pap.AMBER.marking_id,
        ["description"],
    )
    obj["description"] = "Route observed twice in March."
    no_errors(obj)
    markings = effective_markings(obj, definitions_by_id([rel_to]))
    assert markings == Markings(
        tlp=Tlp.AMBER,
        handling=HandlingCode.H2,
        rel_to=frozenset({"France"}),
        pap=Pap.AMBER,
    )

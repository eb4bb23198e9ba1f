"""STIX helpers: identifiers, new objects, the checks of ``prepare``, refs and search text."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diapason.domain.extensions import canonical
from diapason.domain.stix import (
    ID_RE,
    Memo,
    Prepared,
    Problem,
    StixError,
    _check_links,
    _links,
    _walk_refs,
    new_id,
    new_object,
    new_organisation,
    prepare,
)
from diapason.domain.timestamps import STORE_EPOCH, stix_timestamp
from tests import builders
from tests.builders import TLP_AMBER, TLP_GREEN
from tests.clock import NOW

MAX_BYTES = 1_048_576


def sdo(stix_type: str = "threat-actor", **properties: Any) -> dict[str, Any]:
    """``tests.builders.sdo`` at a fixed time; ``properties`` override, None included."""
    obj = builders.sdo(
        stix_type, created="2024-04-22T10:00:00.000Z", name="Groupe Migratoire Mixte Permanent"
    )
    obj.update(properties)
    return obj


def is_valid_id(value: Any) -> bool:
    return isinstance(value, str) and ID_RE.match(value) is not None


def accepted(obj: Any, index: int = 0, max_bytes: int = MAX_BYTES) -> Prepared:
    result = prepare(obj, index, max_bytes)
    assert isinstance(result, Prepared), str(result)
    return result


def refused(obj: Any, index: int = 0, max_bytes: int = MAX_BYTES) -> Problem:
    result = prepare(obj, index, max_bytes)
    assert isinstance(result, Problem), f"accepted: {obj!r}"
    return result


# -- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize("stix_type", ["threat-actor", "x-diapason-meeting", "ipv4-addr", "abc"])
def test_new_id_is_a_valid_uuid4_id_of_its_type(stix_type: str) -> None:
    identifier = new_id(stix_type)
    assert is_valid_id(identifier)
    prefix, _, rest = identifier.partition("--")
    assert prefix == stix_type
    assert uuid.UUID(rest).version == 4
    assert new_id(stix_type) != identifier


@pytest.mark.parametrize(
    "stix_type",
    [
        *("", "ab", "Threat-Actor", "threat_actor", "-abc", "abc-", "abc\n", "x" * 251, "thrêat"),
        *("1abc", "a--b", "x--diapason"),  # a letter first; no "--" (it ends the type in an id)
    ],
)
def test_new_id_refuses_bad_type_names(stix_type: str) -> None:
    with pytest.raises(StixError) as refused:
        new_id(stix_type)
    assert refused.value.field == "type"


@pytest.mark.parametrize(
    "value",
    [
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "x-diapason-rfi--00000000-0000-1000-8000-000000000000",  # version 1, RFC 4122 variant
        "abc--ffffffff-ffff-5fff-bfff-ffffffffffff",
        "a-b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    ],
)
def test_valid_ids(value: str) -> None:
    assert is_valid_id(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],
        "",
        "indicator",
        "indicator--",
        "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",  # no hyphens
        "indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f}",
        "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f",  # not the RFC 4122 variant
        "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",  # no version RFC 4122 defines
        "indicator--8e2e2d2b-17d4-6cbf-938f-98ee46b3cd3f",
        "abc--ffffffff-ffff-ffff-bfff-ffffffffffff",
        "1abc--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",  # a type name begins with a letter
        "a--b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",  # and has no "--" in it
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3",
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3fa",
        "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",  # type names have three characters or more
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\n",
        " indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f ",
    ],
)
def test_invalid_ids(value: Any) -> None:
    assert not is_valid_id(value)


TYPE_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,4}", fullmatch=True).filter(
    lambda name: len(name) >= 3
)


@given(stix_type=TYPE_NAMES, value=st.uuids(version=4), other=st.uuids(version=4))
def test_ids_are_a_type_and_an_rfc_4122_uuid(
    stix_type: str, value: uuid.UUID, other: uuid.UUID
) -> None:
    assert is_valid_id(f"{stix_type}--{value}")
    assert is_valid_id(new_id(stix_type))
    assert not is_valid_id(f"{stix_type}--{value}\n")
    assert not is_valid_id(f"{stix_type}-{value}")
    assert not is_valid_id(f"{stix_type}--{value}{str(other)[:4]}")
    # Any other variant than RFC 4122's is refused.
    text = str(value)
    assert not is_valid_id(f"{stix_type}--{text[:19]}c{text[20:]}")


_TYPE_OR_PREFIX = st.one_of(TYPE_NAMES, st.sampled_from(["a--b", "x-thing", "-x", "X", ""]))


@settings(max_examples=300)
@given(
    stix_type=_TYPE_OR_PREFIX,
    prefix=_TYPE_OR_PREFIX,
    value=st.one_of(
        st.uuids(version=4).map(str),
        st.sampled_from(["z" * 36, "00000000-0000-4000-0000-000000000000"]),  # not UUIDs
    ),
    tail=st.sampled_from(["", "\n", "0", "--"]),
)
def test_prepare_takes_an_id_when_the_pattern_does(
    stix_type: str, prefix: str, value: str, tail: str
) -> None:
    """prepare remembers the ids it has checked, and takes an id seen before by comparing
    its first part with the type: exactly what matching the pattern gives, whether the id
    was seen before (the second object) or not."""
    object_id = f"{prefix}--{value}{tail}"
    match = ID_RE.match(object_id)
    expected = match is not None and match.group(1) == stix_type
    memo = Memo()
    for _ in range(2):
        result = prepare({**sdo(), "type": stix_type, "id": object_id}, 0, MAX_BYTES, memo)
        assert isinstance(result, Prepared) == expected, result
        if not expected:
            assert isinstance(result, Problem) and result.field in ("type", "id")


def test_a_remembered_id_under_another_type_is_refused() -> None:
    memo = Memo()
    actor = prepare(sdo(), 0, MAX_BYTES, memo)
    assert isinstance(actor, Prepared)
    problem = prepare({**sdo("malware"), "id": actor.id}, 1, MAX_BYTES, memo)
    assert isinstance(problem, Problem)
    assert (problem.field, problem.object_id) == ("id", actor.id)
    assert "does not match type 'malware'" in problem.message


def test_an_id_first_seen_as_a_reference_is_checked_against_the_type() -> None:
    target = new_id("location")
    memo = Memo()
    report = sdo("report", object_refs=[target], published="2024-04-22T10:00:00Z")
    assert isinstance(prepare(report, 0, MAX_BYTES, memo), Prepared)
    problem = prepare({**sdo("malware"), "id": target}, 1, MAX_BYTES, memo)
    assert isinstance(problem, Problem) and problem.field == "id"
    assert "prefix 'location' does not match type 'malware'" in problem.message


def test_a_stix_error_carries_its_field_and_message() -> None:
    error = StixError("external_references[2].url", "'x' is not an absolute URI")
    assert (error.field, error.message) == (
        "external_references[2].url",
        "'x' is not an absolute URI",
    )
    assert str(error) == "external_references[2].url: 'x' is not an absolute URI"
    assert str(StixError("", "expected a JSON object")) == "expected a JSON object"


def test_a_field_holding_a_colon_reaches_the_problem_whole() -> None:
    """The problem takes the error's field and message as they are, never parsed back from
    its text: a path with ": " in it stays whole."""
    problem = refused(sdo(**{"x: y_ref": new_id("location")}))
    assert problem.field == "x: y_ref"
    assert problem.message.startswith("a reference property path must be")


def test_remembered_list_paths_stay_within_their_budget() -> None:
    """Hundreds of distinct long list keys of a thousand entries each, even in an object
    refused for its size, leave at most the budget of paths remembered."""
    target = new_id("location")
    refs = {f"k{number:04d}".ljust(275, "y") + "_refs": [target] * 1_000 for number in range(300)}
    report = sdo("report", published="2024-04-22T10:00:00Z", object_refs=[target])
    memo = Memo()
    problem = prepare({**report, **refs}, 0, 1_000, memo)
    # Refused for its first name (a property name has at most 250 characters), after its
    # references were walked.
    assert isinstance(problem, Problem)
    assert problem.field == next(iter(refs))[:120] + "…"
    assert "property name" in problem.message
    held = sum(map(len, memo.list_paths.lists.values()))
    assert 0 < held == memo.list_paths.held <= memo.list_paths.BUDGET


def test_list_reference_paths_at_any_length() -> None:
    """The paths of list entries are remembered by key up to a length; a longer list, and
    a shorter one after it, still get every path in order."""
    memo = Memo()
    for count in (3, 1_500, 2, 40):
        targets = [new_id("location") for _ in range(count)]
        report = sdo("report", object_refs=targets, published="2024-04-22T10:00:00Z")
        prepared = prepare(report, 0, MAX_BYTES, memo)
        assert isinstance(prepared, Prepared)
        assert prepared.edges == tuple(
            (f"object_refs[{position}]", target) for position, target in enumerate(targets)
        )


# -- new objects ------------------------------------------------------------------------------


def test_a_new_object_has_the_common_properties_then_its_own() -> None:
    stamp = stix_timestamp(NOW)
    obj = new_object(
        "threat-actor",
        created_by_ref="identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        markings=[TLP_GREEN],
        now=stamp,
        name="Réseau",
        threat_actor_types=["crime-syndicate"],
    )
    assert obj == {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": obj["id"],
        "created": "2026-06-15T10:00:00.000Z",
        "modified": "2026-06-15T10:00:00.000Z",
        "created_by_ref": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "name": "Réseau",
        "threat_actor_types": ["crime-syndicate"],
        "object_marking_refs": [TLP_GREEN],
    }
    prefix, _, rest = obj["id"].partition("--")
    assert prefix == "threat-actor" and uuid.UUID(rest).version == 4
    assert new_object("threat-actor", now=stamp)["id"] != obj["id"]
    accepted(obj)


def test_a_new_object_without_author_nor_markings_has_neither_property() -> None:
    obj = new_object("identity", created_by_ref=None, markings=[], name="Agence")
    assert "created_by_ref" not in obj and "object_marking_refs" not in obj
    assert obj["created"] == obj["modified"] and len(obj["created"]) == 24
    accepted(obj)


def test_a_new_version_keeps_its_id_and_creation() -> None:
    fixed = "x-diapason-alert--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    obj = new_object(
        "x-diapason-alert",
        object_id=fixed,
        created="2026-06-01T00:00:00.000Z",
        now=stix_timestamp(NOW),
    )
    assert obj["id"] == fixed
    assert (obj["created"], obj["modified"]) == (
        "2026-06-01T00:00:00.000Z",
        "2026-06-15T10:00:00.000Z",
    )


def test_a_new_organisation_authors_itself() -> None:
    identity = new_organisation("Agence", [TLP_GREEN])
    assert identity["created_by_ref"] == identity["id"]
    assert identity["id"].startswith("identity--")
    assert (identity["name"], identity["identity_class"]) == ("Agence", "organization")
    assert identity["object_marking_refs"] == [TLP_GREEN]
    accepted(identity)


def test_a_new_object_of_a_bad_type_is_refused() -> None:
    with pytest.raises(StixError) as refused:
        new_object("Threat_Actor")
    assert refused.value.field == "type"


# -- prepare: what a valid object yields ------------------------------------------------------


def test_prepare_computes_what_the_store_indexes() -> None:
    author = new_id("identity")
    target = new_id("location")
    obj = sdo(
        "intrusion-set",
        created="2024-04-22T10:00:00.000Z",
        modified="2024-04-23T11:12:13.1000Z",
        created_by_ref=author,
        object_marking_refs=[TLP_GREEN],
        x_base_ref=target,
        description="Région sahélo-saharienne",
    )
    prepared = accepted(obj, index=7)
    assert prepared.index == 7
    assert prepared.id == obj["id"]
    assert prepared.type == "intrusion-set"
    assert prepared.spec_version == "2.1"
    assert prepared.created == "2024-04-22T10:00:00.000000Z"
    assert prepared.modified == "2024-04-23T11:12:13.100000Z"
    assert prepared.created_by_ref == author
    assert prepared.revoked is False
    assert prepared.markings == (TLP_GREEN,)
    assert prepared.edges == (("created_by_ref", author), ("x_base_ref", target))
    assert prepared.text == "Groupe Migratoire Mixte Permanent\nRégion sahélo-saharienne"
    assert prepared.content == canonical(obj)
    assert orjson.loads(prepared.content) == obj
    assert list(orjson.loads(prepared.content)) == sorted(obj)


def test_the_content_does_not_depend_on_key_order() -> None:
    obj = sdo(aliases=["b", "a"], extensions={"x-e-ext": {"zzz": 1, "aaa": 2}})
    reordered = dict(reversed(list(obj.items())))
    assert accepted(obj).content == accepted(reordered).content
    assert accepted(obj).content != accepted(dict(obj, aliases=["a", "b"])).content


def test_revoked_objects_are_prepared_as_revoked() -> None:
    assert accepted(sdo(revoked=True)).revoked is True
    assert accepted(sdo(revoked=False)).revoked is False


def test_cyber_observables_need_no_spec_version_nor_dates() -> None:
    observable = {"type": "ipv4-addr", "id": new_id("ipv4-addr"), "value": "203.0.113.9"}
    prepared = accepted(observable)
    assert prepared.modified == STORE_EPOCH
    assert prepared.created is None
    assert prepared.spec_version is None
    assert prepared.text == "203.0.113.9"
    assert accepted(dict(observable, spec_version="2.1")).spec_version == "2.1"


def test_marking_definitions_are_versioned_by_created() -> None:
    marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": new_id("marking-definition"),
        "created": "2022-10-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "Diapason"},
    }
    assert accepted(marking).modified == "2022-10-01T00:00:00.000000Z"
    without_spec = dict(marking)
    del without_spec["spec_version"]
    assert refused(without_spec).field == "spec_version"


def test_size_is_measured_on_the_canonical_json() -> None:
    obj = sdo(description="é" * 100)
    size = len(canonical(obj).encode())
    assert accepted(obj, max_bytes=size).content == canonical(obj)
    problem = refused(obj, max_bytes=size - 1)
    assert problem.field == "size"
    assert f"{size:,}" in problem.message


# -- prepare: what is refused, and how it is reported -----------------------------------------


def _without(key: str) -> dict[str, Any]:
    obj = sdo()
    del obj[key]
    return obj


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (_without("type"), "type"),
        (sdo(type="Threat-Actor"), "type"),
        (sdo(type=7), "type"),
        (_without("id"), "id"),
        (sdo(id=12), "id"),
        (sdo(id="threat-actor--1234"), "id"),
        (sdo(id=new_id("intrusion-set")), "id"),
        (_without("spec_version"), "spec_version"),
        (sdo(spec_version="2.0"), "spec_version"),
        (sdo(spec_version=2.1), "spec_version"),
        (_without("created"), "created"),
        (sdo(created="yesterday"), "created"),
        (sdo(created="2024-02-30T00:00:00Z"), "created"),
        (_without("modified"), "modified"),
        (sdo(modified=None), "modified"),
        (sdo(modified="2024-04-21T23:59:59.999Z"), "modified"),  # earlier than created
        (sdo(revoked="false"), "revoked"),
        (sdo(revoked=1), "revoked"),
        (sdo(created_by_ref=new_id("threat-actor")), "created_by_ref"),
        (sdo(created_by_ref="identity--nope"), "created_by_ref"),
        (sdo(created_by_ref=7), "created_by_ref"),
        (sdo(object_refs=[new_id("location"), "location--x"]), "object_refs[1]"),
        (sdo(object_refs=5), "object_refs"),
        (sdo(x_target_ref=None), "x_target_ref"),
        (sdo(x_target_ref={"id": new_id("location")}), "x_target_ref"),
        (sdo(object_marking_refs=[new_id("identity")]), "object_marking_refs[0]"),
        (sdo(object_marking_refs=[TLP_GREEN, "marking-definition--x"]), "object_marking_refs[1]"),
        (
            sdo(granular_markings=[{"marking_ref": new_id("identity"), "selectors": ["name"]}]),
            "granular_markings[0].marking_ref",
        ),
        (sdo(granular_markings={"marking_ref": TLP_GREEN}), "granular_markings"),
        (sdo(granular_markings=[{"marking_ref": TLP_GREEN}]), "granular_markings[0].selectors"),
        (sdo(granular_markings=[{"selectors": ["name"]}]), "granular_markings[0]"),
        (sdo(granular_markings=["x"]), "granular_markings[0]"),
        (sdo(x_numbers={1, 2}), "content"),
        (sdo(x_huge=2**70), "content"),
    ],
)
def test_prepare_names_the_field_at_fault(obj: dict[str, Any], field: str) -> None:
    problem = refused(obj, index=3)
    assert problem.field == field
    assert problem.index == 3
    assert problem.message
    assert problem.object_id == (obj["id"] if isinstance(obj.get("id"), str) else None)


@pytest.mark.parametrize("value", [None, 1, "threat-actor", [], [{}], True, 1.5])
def test_prepare_refuses_what_is_not_an_object(value: Any) -> None:
    problem = refused(value, index=4)
    assert (problem.index, problem.object_id, problem.field) == (4, None, "")
    assert "expected a JSON object" in problem.message
    assert str(problem).startswith("object #4: expected a JSON object")


def test_problems_read_well() -> None:
    obj = sdo(modified="2024-02-30T00:00:00Z")
    problem = refused(obj, index=12)
    assert str(problem) == f"object #12 ({obj['id']}): modified: {problem.message}"
    assert problem.as_dict() == {
        "index": 12,
        "id": obj["id"],
        "field": "modified",
        "message": problem.message,
        "rule": "invalid",
    }


def test_a_long_bad_id_is_clipped_in_the_report() -> None:
    problem = refused(sdo(id="threat-actor--" + "x" * 500))
    assert problem.field == "id"
    assert problem.object_id is not None and len(problem.object_id) <= 121
    assert len(problem.message) < 200


def test_a_deeply_nested_object_is_refused_not_raised() -> None:
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(1000):  # orjson reads up to 1024 levels
        level["a"] = {}
        level = level["a"]
    assert refused(sdo(x_deep=deep)).field == "content"


@pytest.mark.parametrize("value", [5, True, "text", {"source_name": "x"}, [1, None, "a"]])
def test_malformed_external_references_do_not_break_prepare(value: Any) -> None:
    result = prepare(sdo(external_references=value), 0, MAX_BYTES)
    assert isinstance(result, Prepared | Problem)


# -- references -------------------------------------------------------------------------------


def test_refs_are_found_at_any_depth() -> None:
    ids = [new_id("location") for _ in range(5)]
    extension = "extension-definition--" + str(uuid.uuid4())
    obj = sdo(
        object_refs=ids[:2],
        extensions={
            extension: {
                "extension_type": "property-extension",
                "lead_ref": ids[2],
                "steps": [{"actor_refs": [ids[3]]}, [{"place_ref": ids[4]}]],
            }
        },
        description="Sahel",
        external_references=[{"source_name": "doc", "external_id": "7", "x_copy_ref": ids[0]}],
        granular_markings=[
            {"marking_ref": TLP_AMBER, "selectors": ["description"]},
            {"lang": "fr", "selectors": ["name"]},
            {"marking_ref": TLP_GREEN, "selectors": ["name"]},
        ],
        object_marking_refs=[TLP_GREEN],
    )
    prepared = accepted(obj)
    assert prepared.edges == (
        ("object_refs[0]", ids[0]),
        ("object_refs[1]", ids[1]),
        (f"extensions.{extension}.lead_ref", ids[2]),
        (f"extensions.{extension}.steps[0].actor_refs[0]", ids[3]),
        (f"extensions.{extension}.steps[1][0].place_ref", ids[4]),
        ("external_references[0].x_copy_ref", ids[0]),
    )
    # Each marking once, in order of first appearance; markings are never edges.
    assert prepared.markings == (TLP_AMBER, TLP_GREEN)


def test_an_object_without_refs_has_no_edges() -> None:
    prepared = accepted(sdo(x_reference="threat-actor--nope", x_refs_count=3, x_prefs=[1]))
    assert prepared.edges == ()
    assert prepared.markings == ()


PLAIN_KEYS = st.from_regex(r"x_[a-z]{1,6}", fullmatch=True).filter(
    lambda key: not key.endswith(("_ref", "_refs"))
)
# No null and no empty list: STIX has neither.
LEAVES = st.one_of(st.booleans(), st.integers(-1000, 1000), st.text(max_size=5))
REF_TYPES = st.sampled_from(["location", "identity", "x-diapason-event"])


@st.composite
def ref_tree(
    draw: st.DrawFn, path: str = "x_tree", depth: int = 0
) -> tuple[Any, list[tuple[str, str]], list[str]]:
    """A JSON value holding refs, with the (path, id) edges and markings it should yield."""
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(LEAVES), [], []
    edges: list[tuple[str, str]] = []
    markings: list[str] = []
    if draw(st.booleans()):
        items: list[Any] = []
        for position in range(draw(st.integers(1, 3))):
            value, more_edges, more_markings = draw(ref_tree(f"{path}[{position}]", depth + 1))
            items.append(value)
            edges += more_edges
            markings += more_markings
        return items, edges, markings
    mapping: dict[str, Any] = {}
    for key in draw(st.lists(PLAIN_KEYS, max_size=4, unique=True)):
        kind = draw(st.sampled_from(["plain", "ref", "refs", "marking"]))
        if kind == "plain":
            value, more_edges, more_markings = draw(ref_tree(f"{path}.{key}", depth + 1))
            mapping[key] = value
            edges += more_edges
            markings += more_markings
        elif kind == "ref":
            target = f"{draw(REF_TYPES)}--{draw(st.uuids(version=4))}"
            mapping[f"{key}_ref"] = target
            edges.append((f"{path}.{key}_ref", target))
        elif kind == "refs":
            uuids = draw(st.lists(st.uuids(version=4), min_size=1, max_size=3))
            targets = [f"{draw(REF_TYPES)}--{value}" for value in uuids]
            mapping[f"{key}_refs"] = targets
            edges += [(f"{path}.{key}_refs[{n}]", target) for n, target in enumerate(targets)]
        elif "marking_ref" not in mapping:
            marking = draw(st.sampled_from([TLP_GREEN, TLP_AMBER]))
            mapping["marking_ref"] = marking
            markings.append(marking)
    return mapping, edges, markings


@given(tree=ref_tree())
def test_ref_walking_finds_every_ref_and_nothing_else(
    tree: tuple[Any, list[tuple[str, str]], list[str]],
) -> None:
    value, edges, markings = tree
    prepared = accepted(sdo(x_tree=value))
    assert prepared.edges == tuple(edges)
    assert prepared.markings == tuple(dict.fromkeys(markings))


# -- search text ------------------------------------------------------------------------------


def test_text_gathers_the_text_properties_in_a_fixed_order() -> None:
    obj = sdo(
        description="Réseau actif au Sahel",
        aliases=["Katiba", "كتيبة"],
        labels=["smuggling"],
        x_diapason_title="Titre",
        x_diapason_body="Corps",
        pattern="[ipv4-addr:value = '203.0.113.9']",
        x_other="not searched",
        external_references=[
            {
                "source_name": "MAP",
                "external_id": "N-42",
                "url": "https://example.org/x",
                "description": "dépêche",
            },
        ],
    )
    assert accepted(obj).text.split("\n") == [
        "Groupe Migratoire Mixte Permanent",
        "Réseau actif au Sahel",
        "Katiba",
        "كتيبة",
        "smuggling",
        "Titre",
        "Corps",
        "MAP",
        "N-42",
        "dépêche",
    ]


@pytest.mark.parametrize(
    ("stix_type", "properties", "expected"),
    [
        ("note", {"abstract": "Résumé", "content": "Texte"}, "Résumé\nTexte"),
        ("opinion", {"explanation": "Parce que", "opinion": "agree"}, "Parce que"),
        (
            "identity",
            {"roles": ["ministry"], "sectors": ["government"], "contact_information": "Rabat"},
            "ministry\ngovernment\nRabat",
        ),
        ("threat-actor", {"goals": ["control routes"]}, "control routes"),
        ("intrusion-set", {"x_mitre_aliases": ["G0001"]}, "G0001"),
    ],
)
def test_text_of_other_properties(
    stix_type: str, properties: dict[str, Any], expected: str
) -> None:
    obj = sdo(stix_type, **properties)
    if stix_type in ("note", "opinion"):  # which have no name, and cite objects
        del obj["name"]
        obj["object_refs"] = [new_id("location")]
    else:  # which need their name
        expected = f"{obj['name']}\n{expected}"
    assert accepted(obj).text == expected


def test_an_object_without_text_has_empty_text() -> None:
    obj = sdo(
        "relationship",
        relationship_type="uses",
        source_ref=new_id("threat-actor"),
        target_ref=new_id("location"),
    )
    del obj["name"]
    assert accepted(obj).text == ""


# -- prepare never raises ---------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
PROPERTY_NAMES = st.sampled_from(
    [
        "type",
        "id",
        "spec_version",
        "created",
        "modified",
        "revoked",
        "created_by_ref",
        "object_refs",
        "object_marking_refs",
        "granular_markings",
        "external_references",
        "extensions",
        "name",
        "aliases",
        "labels",
        "x_thing_ref",
        "x_things_refs",
    ]
) | st.text(max_size=10)


@given(obj=JSON)
def test_prepare_never_raises_on_any_json(obj: Any) -> None:
    result = prepare(obj, 0, MAX_BYTES)
    assert isinstance(result, Prepared | Problem)


@given(changes=st.dictionaries(PROPERTY_NAMES, JSON, max_size=4), index=st.integers(0, 10**6))
def test_prepare_never_raises_on_damaged_objects(changes: dict[str, Any], index: int) -> None:
    obj = sdo()
    obj.update(changes)
    result = prepare(obj, index, MAX_BYTES)
    assert result.index == index
    if isinstance(result, Prepared):
        assert orjson.loads(result.content) == obj
        assert len(result.modified) == 27
        assert is_valid_id(result.id)
    else:
        assert isinstance(result.field, str) and result.message


_keys = st.sampled_from(
    [
        "name",
        "x_ref",
        "source_ref",
        "object_refs",
        "a_refs",
        "ref",
        "x",
        'q_ref"',
        "b\\_ref",
        "object_marking_refs",
        "object_marking_refs_ref",
        "x.marking_ref",
        "é_ref",
        "k" * 290 + "_refs",
        # Hold "_ref" without being reference keys (the shortcut counts "_ref" in the text).
        "external_references",
        "x_reference",
    ]
)
_leaves = st.one_of(
    st.text(max_size=12),
    st.sampled_from(['x_ref":', 'a_refs":"', 'b_ref\\":', "_ref"]),
    st.sampled_from(
        [
            "identity--11111111-1111-4111-8111-111111111111",
            "location--22222222-2222-4222-8222-222222222222",
            TLP_GREEN,
            TLP_AMBER,
            "identity--not-a-uuid",
        ]
    ),
    st.uuids(version=4).map(lambda value: f"x-thing--{value}"),
    st.integers(-(2**63), 2**63 - 1),  # orjson's range
    st.booleans(),
    st.none(),
)
_values = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)
    ),
    max_leaves=20,
)


def _outcome(links: Callable[[], tuple[list[str], list[tuple[str, str]]]]) -> tuple[Any, ...]:
    try:
        return ("links", *links())
    except StixError as error:
        return ("refused", error.field, error.message)


@given(st.dictionaries(_keys, _values, max_size=8))
def test_links_from_the_top_level_are_the_whole_walk(obj: dict[str, Any]) -> None:
    """The shortcuts (top-level keys when the serialised text shows no deeper reference;
    each key checked once, ids by the set) give exactly what checking every entry of the
    whole walk gives: the same markings and edges in the same order, or the same error.
    Strings that merely contain ``_ref":`` are part of the generated text."""
    content = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    assert _outcome(lambda: _links(obj, content, Memo())) == _outcome(
        lambda: _check_links(_walk_refs(obj, ""), Memo())
    )


_ids = st.one_of(
    st.sampled_from(
        [
            "identity--11111111-1111-4111-8111-111111111111",
            TLP_GREEN,
            TLP_AMBER,
            "identity--not-a-uuid",
            "",
        ]
    ),
    st.uuids(version=4).map(lambda value: f"x-thing--{value}"),
    st.uuids(version=4).map(lambda value: f"marking-definition--{value}"),
)


@settings(max_examples=500)
@given(st.dictionaries(_keys, st.one_of(_ids, st.lists(_ids, max_size=4), _leaves), max_size=6))
def test_links_of_flat_objects_are_the_whole_walk(obj: dict[str, Any]) -> None:
    """As above, on objects whose references are all at the top level and mostly valid:
    the case the set-based shortcut serves."""
    content = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    assert _outcome(lambda: _links(obj, content, Memo())) == _outcome(
        lambda: _check_links(_walk_refs(obj, ""), Memo())
    )


def test_links_of_an_object_with_thousands_of_reference_keys_are_the_whole_walk() -> None:
    """An object may carry thousands of reference keys among thousands of others; the
    shortcut still gives the walk's lists, in the object's order (found in one pass over
    its keys, not one per reference key)."""
    target = "x-thing--11111111-1111-4111-8111-111111111111"
    obj: dict[str, Any] = {f"a{number}": number for number in range(3_000)}
    obj.update({f"k{number}_refs": [target] for number in range(3_000, 0, -1)})
    obj["object_marking_refs"] = [TLP_GREEN]
    content = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    links = _links(obj, content, Memo())
    assert links == _check_links(_walk_refs(obj, ""), Memo())
    markings, edges = links
    assert markings == [TLP_GREEN]
    assert edges[0] == ("k3000_refs[0]", target) and len(edges) == 3_000

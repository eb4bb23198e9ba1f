"""The STIX 2.1 property rules of ``prepare`` (domain/validation.py): precise refusals, and
the OASIS validator as an oracle, whatever it refuses being refused too."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from diapason.domain.property_rules import LANGUAGE_TAG_RE, is_uri
from diapason.domain.stix import Prepared, Problem, StixError, prepare
from diapason.domain.timestamps import as_store_timestamp, check_timestamp
from diapason.domain.validation import TYPES
from tests.builders import TLP_AMBER, TLP_GREEN
from tests.domain.stix_examples import (
    EXAMPLES,
    EXTENSION,
    common,
    indicator,
    ipv4_addr,
    location,
    malware,
    marking_definition,
    new,
    observed_data,
    relationship,
    report,
    sighting,
    threat_actor,
)

MAX_BYTES = 1_048_576


def refusal(obj: Any) -> tuple[str, str]:
    """The (field, message) ``prepare`` refuses ``obj`` with."""
    result = prepare(obj, 0, MAX_BYTES)
    assert isinstance(result, Problem), f"accepted: {obj!r}"
    return result.field, result.message


def test_every_example_is_valid() -> None:
    """Every example passes prepare and the validator: the ground the oracle stands on."""
    for stix_type, make in EXAMPLES.items():
        obj = make()
        assert isinstance(prepare(obj, 0, MAX_BYTES), Prepared), stix_type
        assert validate_instance(obj, ValidationOptions()).errors == [], stix_type


def test_the_table_covers_the_types_of_stix() -> None:
    assert set(TYPES) == set(EXAMPLES) - {"ipv4-addr", "x-diapason-meeting"}


# -- 1. nulls ---------------------------------------------------------------------------------

NULL = "null is not a STIX value (leave the property out)"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"description": None}, "description"),
        ({"x_custom": None}, "x_custom"),
        ({"x_custom": {"a": [1, {"b": None}]}}, "x_custom.a[1].b"),
        ({"x_custom": [float("nan")]}, "x_custom[0]"),
        ({"labels": ["a", None]}, "labels[1]"),
        (
            {"external_references": [{"source_name": "a", "url": None}]},
            "external_references[0].url",
        ),
        (
            {"external_references": [{"source_name": "a", "external_id": "1", "x_n": [None]}]},
            "external_references[0].x_n[0]",
        ),
        (
            {"kill_chain_phases": [{"kill_chain_name": "k", "phase_name": None}]},
            "kill_chain_phases[0].phase_name",
        ),
        (
            {"granular_markings": [{"lang": None, "selectors": ["name"]}]},
            "granular_markings[0].lang",
        ),
        (
            {"extensions": {EXTENSION: {"extension_type": "property-extension", "x_n": None}}},
            f"extensions.{EXTENSION}.x_n",
        ),
        (
            {
                "extensions": {
                    EXTENSION: {"extension_type": "property-extension", "x_n": {"a": None}}
                }
            },
            f"extensions.{EXTENSION}.x_n.a",
        ),
    ],
)
def test_null_is_refused_anywhere(change: dict[str, Any], field: str) -> None:
    assert refusal({**EXAMPLES["attack-pattern"](), **change}) == (field, NULL)


def test_null_where_prepare_reads_a_property_as_absent() -> None:
    observable = {**ipv4_addr(), "spec_version": None}
    assert refusal(observable) == ("spec_version", NULL)
    assert refusal({**threat_actor(), "x_place_ref": None}) == (
        "x_place_ref",
        "'null' is not a valid STIX identifier",
    )


# -- 2. the common properties -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"labels": "sahel"}, "labels", "expected a non-empty list of strings, got str"),
        ({"labels": []}, "labels", "an empty list is not allowed (leave the property out)"),
        ({"labels": ["a", 3]}, "labels[1]", "expected a string, got int"),
        ({"confidence": 101}, "confidence", "101 is not an integer from 0 to 100"),
        ({"confidence": "50"}, "confidence", "expected an integer from 0 to 100, got str"),
        ({"confidence": True}, "confidence", "expected an integer from 0 to 100, got bool"),
        ({"confidence": 50.0}, "confidence", "expected an integer from 0 to 100, got float"),
        ({"lang": ["fr"]}, "lang", "expected a string, got list"),
        (
            {"external_references": {"source_name": "a"}},
            "external_references",
            "expected a non-empty list of external references, got dict",
        ),
        (
            {"external_references": ["a"]},
            "external_references[0]",
            "expected an external reference (JSON object), got str",
        ),
        (
            {"external_references": [{"url": "https://example.org/"}]},
            "external_references[0].source_name",
            "required property missing",
        ),
        (
            {"external_references": [{"source_name": 4, "external_id": "x"}]},
            "external_references[0].source_name",
            "expected a string, got int",
        ),
        (
            {"external_references": [{"source_name": "a"}]},
            "external_references[0]",
            "needs at least one of description, url and external_id",
        ),
        (
            {"external_references": [{"source_name": "a", "url": "pas une URL"}]},
            "external_references[0].url",
            "'pas une URL' is not an absolute URI (RFC 3986)",
        ),
        (
            {"external_references": [{"source_name": "a", "url": "u:", "hashes": "ab"}]},
            "external_references[0].hashes",
            "expected a dictionary of hashes, got str",
        ),
        (
            {"external_references": [{"source_name": "a", "url": "u:", "hashes": {"MD5": "x"}}]},
            "external_references[0].hashes.MD5",
            "'x' is not a MD5 value",
        ),
        (
            {"external_references": [{"source_name": "a", "url": "u:", "hashes": {"sha": "x"}}]},
            "external_references[0].hashes",
            "'sha' is not a hash algorithm of hash-algorithm-ov (MD5, SHA-1, SHA-256, "
            "SHA-512, SHA3-256, SHA3-512, SSDEEP, TLSH)",
        ),
        (
            {"external_references": [{"source_name": "cve", "description": "x"}]},
            "external_references[0].external_id",
            "required when source_name is 'cve'",
        ),
        (
            {"external_references": [{"source_name": "cve", "external_id": "2024-1"}]},
            "external_references[0].external_id",
            "'2024-1' is not a cve id (like CVE-2024-1234)",
        ),
        (
            {"external_references": [{"source_name": "a", "external_id": ["x"]}]},
            "external_references[0].external_id",
            "expected a string, got list",
        ),
        (
            {"object_marking_refs": TLP_GREEN},
            "object_marking_refs",
            "expected a non-empty list of STIX identifiers, got str",
        ),
        (
            {"object_marking_refs": []},
            "object_marking_refs",
            "an empty list is not allowed (leave the property out)",
        ),
        (
            {"granular_markings": []},
            "granular_markings",
            "an empty list is not allowed (leave the property out)",
        ),
        (
            {
                "granular_markings": [
                    {"marking_ref": TLP_GREEN, "lang": "fr", "selectors": ["name"]}
                ]
            },
            "granular_markings[0]",
            "needs exactly one of marking_ref and lang",
        ),
        (
            {"granular_markings": [{"marking_ref": TLP_GREEN, "selectors": "name"}]},
            "granular_markings[0].selectors",
            "expected a non-empty list of strings, got str",
        ),
        (
            {"granular_markings": [{"marking_ref": TLP_GREEN, "selectors": ["Name"]}]},
            "granular_markings[0].selectors[0]",
            "'Name' is not a selector (property names and [index] joined by '.')",
        ),
        (
            {"granular_markings": [{"marking_ref": TLP_GREEN, "selectors": ["aliases.[3]"]}]},
            "granular_markings[0].selectors[0]",
            "'aliases.[3]' selects nothing: [3] is past the end of the list",
        ),
        (
            {"granular_markings": [{"marking_ref": TLP_GREEN, "selectors": ["objective"]}]},
            "granular_markings[0].selectors[0]",
            "'objective' selects nothing: there is no property 'objective' there",
        ),
        ({"extensions": []}, "extensions", "expected a dictionary of extensions, got list"),
        (
            {"extensions": {"x-e": {"x_n": 1}}},
            "extensions.x-e",
            "an extension is named by an extension-definition id or a predefined '…-ext' name",
        ),
        (
            {"extensions": {EXTENSION: {"x_n": 1}}},
            f"extensions.{EXTENSION}.extension_type",
            "required property missing",
        ),
        (
            {"extensions": {EXTENSION: {"extension_type": "new-thing"}}},
            f"extensions.{EXTENSION}.extension_type",
            "'new-thing' is not one of new-sco, new-sdo, new-sro, property-extension, "
            "toplevel-property-extension",
        ),
        (
            {"extensions": {"x-e-ext": {"x_n": []}}},
            "extensions.x-e-ext.x_n",
            "an empty list is not allowed (leave the property out)",
        ),
        (
            {"created": "2024-04-22T10:00:00Z"},
            "created",
            "2024-04-22T10:00:00Z is not precise to the millisecond (HH:MM:SS.sssZ)",
        ),
        (
            {"modified": "2024-04-23T11:00:00.1Z"},
            "modified",
            "2024-04-23T11:00:00.1Z is not precise to the millisecond (HH:MM:SS.sssZ)",
        ),
        ({"x_custom": []}, "x_custom", "an empty list is not allowed (leave the property out)"),
        (
            {"Name": "x"},
            "Name",
            "a property name is 3 to 250 ASCII lowercase letters, digits or '_', beginning "
            "with a letter",
        ),
        (
            {"x": 1},
            "x",
            "a property name is 3 to 250 ASCII lowercase letters, digits or '_', beginning "
            "with a letter",
        ),
        ({"severity": "high"}, "severity", "a name STIX 2.1 reserves; no object may use it"),
    ],
)
def test_common_properties(change: dict[str, Any], field: str, message: str) -> None:
    assert refusal({**threat_actor(), **change}) == (field, message)


def test_defanged_is_a_boolean_on_observables() -> None:
    assert refusal({**ipv4_addr(), "defanged": "no"}) == (
        "defanged",
        "expected true or false, got str",
    )


def test_a_reserved_type() -> None:
    obj = {**threat_actor(), "type": "action", "id": new("action")}
    assert refusal(obj) == ("type", "'action' is a type name STIX 2.1 reserves")


@pytest.mark.parametrize(
    "value",
    [
        "location--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",  # no UUID version of RFC 4122
        "location--8e2e2d2b-17d4-7cbf-938f-98ee46b3cd3f",
        "1abc--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",  # a type name begins with a letter
        "a--b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    ],
)
def test_identifiers_are_rfc_4122_uuids_of_a_type(value: str) -> None:
    assert refusal({**threat_actor(), "x_place_ref": value}) == (
        "x_place_ref",
        f"{value!r} is not a valid STIX identifier",
    )
    obj = {**threat_actor(), "id": value.replace("location", "threat-actor")}
    assert refusal(obj)[0] in ("id", "type")


# -- 3. references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"x_place_refs": new("location")},
            "x_place_refs",
            "expected a non-empty list of STIX identifiers, got str",
        ),
        (
            {"x_place_refs": []},
            "x_place_refs",
            "an empty list is not allowed (leave the property out)",
        ),
        (
            {"x_place_refs": {"a": 1}},
            "x_place_refs",
            "expected a non-empty list of STIX identifiers, got dict",
        ),
        (
            {"x_place_ref": [new("location")]},
            "x_place_ref",
            "'list' is not a valid STIX identifier",
        ),
        (
            {"x_place_refs": ["location"]},
            "x_place_refs[0]",
            "'location' is not a valid STIX identifier",
        ),
        (
            {"x_deep": {"x_place_refs": new("location")}},
            "x_deep.x_place_refs",
            "expected a non-empty list of STIX identifiers, got str",
        ),
        (
            {"extensions": {EXTENSION: {"extension_type": "property-extension", "x_refs": []}}},
            f"extensions.{EXTENSION}.x_refs",
            "an empty list is not allowed (leave the property out)",
        ),
    ],
)
def test_references(change: dict[str, Any], field: str, message: str) -> None:
    assert refusal({**threat_actor(), **change}) == (field, message)


def test_a_refs_list_of_one_is_still_a_list() -> None:
    """What the store keeps: a list of one marking is the marking; a string is refused."""
    prepared = prepare({**threat_actor(), "object_marking_refs": [TLP_AMBER]}, 0, MAX_BYTES)
    assert isinstance(prepared, Prepared)
    assert TLP_AMBER in prepared.markings


# -- 4. the types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "field", "message"),
    [
        ({**threat_actor(), "name": ""}, "name", "must not be empty"),
        ({**threat_actor(), "name": ["a"]}, "name", "expected a string, got list"),
        (
            {**threat_actor(), "aliases": "Cobra"},
            "aliases",
            "expected a non-empty list of strings, got str",
        ),
        (
            {**threat_actor(), "first_seen": "hier"},
            "first_seen",
            "'hier' is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)",
        ),
        (
            {**threat_actor(), "last_seen": "2022-01-01T00:00:00Z"},
            "last_seen",
            "2022-01-01T00:00:00Z must be at or later than first_seen 2023-01-01T00:00:00Z",
        ),
        (
            {**report(), "published": 2024},
            "published",
            "expected an RFC 3339 timestamp string, got int",
        ),
        (
            {key: value for key, value in report().items() if key != "published"},
            "published",
            "required property missing",
        ),
        (
            {**report(), "object_refs": []},
            "object_refs",
            "an empty list is not allowed (leave the property out)",
        ),
        (
            {key: value for key, value in relationship().items() if key != "target_ref"},
            "target_ref",
            "required property missing",
        ),
        (
            {**relationship(), "relationship_type": "Uses"},
            "relationship_type",
            "'Uses' is not lowercase ASCII letters, digits and '-'",
        ),
        (
            {**relationship(), "source_ref": TLP_GREEN},
            "source_ref",
            "may not refer to a marking-definition",
        ),
        (
            {**relationship(), "stop_time": "2023-01-01T00:00:00Z"},
            "stop_time",
            "2023-01-01T00:00:00Z must be later than start_time 2023-01-01T00:00:00Z",
        ),
        ({**sighting(), "count": -1}, "count", "-1 is not an integer from 0 to 999999999"),
        ({**sighting(), "summary": "no"}, "summary", "expected true or false, got str"),
        (
            {**sighting(), "sighting_of_ref": new("relationship")},
            "sighting_of_ref",
            "may not refer to a relationship",
        ),
        (
            {**sighting(), "where_sighted_refs": [new("identity"), new("malware")]},
            "where_sighted_refs[1]",
            None,
        ),
        (
            {**observed_data(), "number_observed": 0},
            "number_observed",
            "0 is not an integer from 1 to 999999999",
        ),
        (
            {**observed_data(), "objects": {"0": {"type": "ipv4-addr", "value": "203.0.113.9"}}},
            "object_refs",
            "observed-data needs exactly one of object_refs and objects",
        ),
        (
            {**observed_data(), "object_refs": [new("indicator")]},
            "object_refs[0]",
            "may not refer to a indicator",
        ),
        ({**indicator(), "pattern": 5}, "pattern", "expected a string, got int"),
        (
            {**indicator(), "valid_until": "2024-01-01T00:00:00Z"},
            "valid_until",
            "2024-01-01T00:00:00Z must be later than valid_from 2024-01-01T00:00:00Z",
        ),
        (
            {**EXAMPLES["opinion"](), "opinion": "maybe"},
            "opinion",
            "'maybe' is not one of strongly-disagree, disagree, neutral, agree, strongly-agree",
        ),
        ({**location(), "latitude": 91}, "latitude", "91 is not a number from -90 to 90"),
        (
            {**location(), "longitude": "8"},
            "longitude",
            "expected a number from -180 to 180, got str",
        ),
        ({**location(), "precision": -1.0}, "precision", "-1.0 is not a number ≥ 0"),
        (
            {key: value for key, value in location().items() if key != "longitude"},
            "longitude",
            "required when latitude is present",
        ),
        (
            {key: value for key, value in malware().items() if key != "is_family"},
            "is_family",
            "required property missing",
        ),
        (
            {key: value for key, value in malware().items() if key != "name"},
            "name",
            "required when is_family is true",
        ),
        ({**malware(), "sample_refs": [new("url")]}, "sample_refs[0]", None),
        (
            {**marking_definition(), "definition": "x"},
            "definition",
            "expected a JSON object, got str",
        ),
        (
            {**marking_definition(), "definition": {"text": "x"}},
            "definition.statement",
            "required property missing",
        ),
        (
            {**marking_definition(), "definition_type": "tlp", "definition": {"tlp": "green"}},
            "definition_type",
            "'tlp' is only for the four TLP 1.0 markings of STIX",
        ),
        (
            {
                key: value
                for key, value in EXAMPLES["extension-definition"]().items()
                if key != "created_by_ref"
            },
            "created_by_ref",
            "required property missing",
        ),
        (
            {**EXAMPLES["language-content"](), "contents": {"en": {"Name": "x"}}},
            "contents.en",
            "'Name' is not a property name",
        ),
    ],
)
def test_types(obj: dict[str, Any], field: str, message: str | None) -> None:
    refused_field, refused_message = refusal(obj)
    assert refused_field == field
    if message is not None:
        assert refused_message == message


def test_a_marking_definition_may_not_mark_itself() -> None:
    marking = marking_definition()
    marking["object_marking_refs"] = [marking["id"]]
    assert refusal(marking) == (
        "object_marking_refs",
        "a marking-definition may not mark itself",
    )


def test_custom_types_and_properties_are_left_as_stix_leaves_them() -> None:
    obj = common("x-diapason-event", x_diapason_whatever={"a": [1, "b", {"c": True}]}, xyz=5)
    del obj["labels"], obj["granular_markings"]
    assert isinstance(prepare(obj, 0, MAX_BYTES), Prepared)
    assert refusal({**obj, "labels": 5})[0] == "labels"  # a common property all the same


# -- the validator as an oracle ---------------------------------------------------------------

Path = tuple[str | int, ...]
OTHER_VALUES: tuple[Any, ...] = (None, "abc", ["abc"], {"abc": "abc"}, 7, 1.5, True, [])


def _paths(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every value inside ``value`` (not ``value`` itself), with where it is."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield (*path, key), item
        yield from _paths(item, (*path, key))


def _replaced(obj: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    parent: Any = changed
    for key in path[:-1]:
        parent = parent[key]
    if value is _REMOVED:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return changed


_REMOVED = object()


# The properties the oracle changes in a cyber-observable: the common ones (those of each
# type are not checked by prepare).
OBSERVABLE_COMMON = {"spec_version", "object_marking_refs", "granular_markings", "defanged"}


# The common properties whose insides the oracle changes in one type only (the same rules
# check them in every type).
NESTED_COMMON = {"external_references", "granular_markings", "extensions"}


def _changed_paths(obj: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    """The paths the oracle changes: all but type and id (the validator cannot tell what
    such an object is; test_stix tests them); in an observable the common properties; the
    insides of the common properties in a threat-actor only."""
    for path, value in _paths(obj):
        if path in (("type",), ("id",)):
            continue
        if obj["type"] == "ipv4-addr" and path[0] not in OBSERVABLE_COMMON:
            continue
        if len(path) > 1 and path[0] in NESTED_COMMON and obj["type"] != "threat-actor":
            continue
        yield path, value


def _mutants(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property at any depth set to null and to values of each other JSON type, and
    every member of an object removed."""
    for path, value in _changed_paths(obj):
        shown = ".".join(map(str, path))
        for other in OTHER_VALUES:
            if type(other) is not type(value) or other == []:
                yield f"{shown} = {other!r}", _replaced(obj, path, other)
        if isinstance(path[-1], str):
            yield f"del {shown}", _replaced(obj, path, _REMOVED)


def _validator_errors(obj: dict[str, Any]) -> list[str]:
    try:
        return [str(error) for error in validate_instance(obj, ValidationOptions()).errors]
    except Exception as error:  # a crash of the validator is no acceptance
        return [f"validator crashed: {error!r}"]


@pytest.mark.slow
@pytest.mark.parametrize("stix_type", list(EXAMPLES))
def test_prepare_refuses_whatever_the_validator_refuses(stix_type: str) -> None:
    base = EXAMPLES[stix_type]()
    missed: list[str] = []
    refused_by_validator = 0
    for change, mutant in _mutants(base):
        errors = _validator_errors(mutant)
        if not errors:
            continue
        refused_by_validator += 1
        if isinstance(prepare(mutant, 0, MAX_BYTES), Prepared):
            missed.append(f"{change}: {errors[0]}")
    assert not missed, "\n".join(missed)
    assert refused_by_validator > 20  # the mutations do reach the validator's rules


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), children, max_size=3)
    ),
    max_leaves=6,
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_changes_the_validator_refuses_are_refused(data: st.DataObject) -> None:
    stix_type = data.draw(st.sampled_from(sorted(EXAMPLES)))
    base = EXAMPLES[stix_type]()
    paths = [path for path, _ in _changed_paths(base)]
    path = data.draw(st.sampled_from(paths))
    value = data.draw(JSON_VALUES)
    mutant = _replaced(base, path, value)
    errors = _validator_errors(mutant)
    if path[-1] == "lang" and isinstance(value, str) and LANGUAGE_TAG_RE.fullmatch(value):
        # The validator compares lang with its own list of 232 tags; prepare takes every
        # well-formed RFC 5646 tag (fr-MA is not in that list).
        return
    if errors:
        assert isinstance(prepare(mutant, 0, MAX_BYTES), Problem), errors[0]


# -- URLs -------------------------------------------------------------------------------------

URI_TEXT = st.text(
    alphabet=st.sampled_from(list("aZ09-._~:/?#[]@!$&'()*+,;=% é\\\"<>^`{|}v")), max_size=30
)


@settings(max_examples=500)
@given(
    text=URI_TEXT
    | st.from_regex(r"[a-z]{1,5}://[a-z0-9.\[\]:@%-]{0,12}(/[a-z%0-9]{0,5}){0,3}", fullmatch=True)
)
def test_urls_are_the_uris_of_rfc_3986(text: str) -> None:
    """is_uri agrees with the format checker the validator uses for ``url``."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    assert is_uri(text) == checker.conforms(text, "uri"), text


def test_nan_is_refused_as_null() -> None:
    assert refusal({**threat_actor(), "x_score": math.inf}) == ("x_score", NULL)


# -- timestamps -------------------------------------------------------------------------------

TIMESTAMP_LIKE = st.from_regex(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,10})?Z", fullmatch=True
) | st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(27, "0"))


@settings(max_examples=500)
@given(text=TIMESTAMP_LIKE | st.from_regex(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fullmatch=True))
def test_check_timestamp_is_as_store_timestamp_without_the_text(text: str) -> None:
    """The quick check of timestamps that are only checked refuses what as_store_timestamp
    refuses, and nothing else."""
    try:
        as_store_timestamp(text)
        valid = True
    except StixError:
        valid = False
    try:
        check_timestamp(text, "first_seen")
        checked = True
    except StixError as error:
        checked = False
        assert error.field == "first_seen"
    assert checked == valid, text


@pytest.mark.parametrize("lang", ["fr", "ar-MA", "en-GB", "zh-Hant-TW", "es-419", "x-private"])
def test_lang_takes_well_formed_language_tags(lang: str) -> None:
    assert isinstance(prepare({**threat_actor(), "lang": lang}, 0, MAX_BYTES), Prepared)


@pytest.mark.parametrize("lang", ["", " fr", "fr_FR", "f", "123", "fr-", "en--GB"])
def test_lang_refuses_what_is_no_language_tag(lang: str) -> None:
    problem = prepare({**threat_actor(), "lang": lang}, 0, MAX_BYTES)
    assert isinstance(problem, Problem) and problem.field == "lang", problem
    assert _validator_errors({**threat_actor(), "lang": lang})

"""Grading: Admiralty and Europol 4x4 as a property extension; the OSINT flag."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from diapason.domain.extensions import GRADING_EXTENSION_ID, extension_schema
from diapason.domain.grading import (
    CREDIBILITY_VALUES,
    RELIABILITY_VALUES,
    Grading,
    GradingError,
    Scheme,
    format_grading,
    grade,
    grading_of,
    is_osint,
    make_grading,
    mark_osint,
)
from diapason.domain.stix import new_id

OTHER_EXTENSION = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"


def threat_actor(**properties: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": new_id("threat-actor"),
        "created": "2024-05-02T10:00:00.000Z",
        "modified": "2024-05-02T10:00:00.000Z",
        "name": "Network smuggling migrants across the Sahara",
    }
    obj.update(properties)
    return obj


def test_grade_adds_the_extension_and_copies() -> None:
    obj = threat_actor()
    before = copy.deepcopy(obj)
    graded = grade(obj, "admiralty", "B", "2")
    assert obj == before
    assert graded["extensions"] == {
        GRADING_EXTENSION_ID: {
            "extension_type": "property-extension",
            "scheme": "admiralty",
            "source_reliability": "B",
            "information_credibility": "2",
        }
    }
    assert grading_of(graded) == Grading(Scheme.ADMIRALTY, "B", "2")
    assert graded["modified"] == obj["modified"]


def test_grade_keeps_other_extensions() -> None:
    obj = threat_actor(
        extensions={OTHER_EXTENSION: {"extension_type": "property-extension", "x": 1}}
    )
    graded = grade(obj, Scheme.EUROPOL_4X4, "x", 3)
    assert set(graded["extensions"]) == {OTHER_EXTENSION, GRADING_EXTENSION_ID}
    assert grading_of(graded) == Grading(Scheme.EUROPOL_4X4, "X", "3")
    assert "extensions" in obj and GRADING_EXTENSION_ID not in obj["extensions"]


@pytest.mark.parametrize(
    ("scheme", "reliability", "credibility"),
    [
        ("admiralty", "G", "1"),
        ("admiralty", "A", "7"),
        ("admiralty", "A", 0),
        ("europol-4x4", "D", "1"),
        ("europol-4x4", "A", "5"),
        ("nato", "A", "1"),
        ("admiralty", "", "1"),
        ("admiralty", "AB", "1"),
        ("admiralty", 1, "1"),
        ("admiralty", "A", True),
        ("admiralty", "A", 1.0),
    ],
)
def test_grade_refuses_values_off_the_scale(
    scheme: str, reliability: Any, credibility: Any
) -> None:
    with pytest.raises(GradingError):
        grade(threat_actor(), scheme, reliability, credibility)


def test_scales() -> None:
    assert RELIABILITY_VALUES[Scheme.ADMIRALTY] == ("A", "B", "C", "D", "E", "F")
    assert CREDIBILITY_VALUES[Scheme.ADMIRALTY] == ("1", "2", "3", "4", "5", "6")
    assert RELIABILITY_VALUES[Scheme.EUROPOL_4X4] == ("A", "B", "C", "X")
    assert CREDIBILITY_VALUES[Scheme.EUROPOL_4X4] == ("1", "2", "3", "4")


def test_ungraded_object_has_no_grading() -> None:
    assert grading_of(threat_actor()) is None
    assert grading_of(threat_actor(extensions={OTHER_EXTENSION: {}})) is None
    assert not is_osint(threat_actor())


@pytest.mark.parametrize(
    "payload",
    [
        "B2",
        {"scheme": "admiralty", "source_reliability": "B", "information_credibility": "2"},
        {"extension_type": "property-extension"},
        {"extension_type": "property-extension", "osint": False},
        {"extension_type": "property-extension", "osint": "yes"},
        {"extension_type": "property-extension", "scheme": "admiralty"},
        {
            "extension_type": "property-extension",
            "source_reliability": "B",
            "information_credibility": "2",
        },
        {
            "extension_type": "property-extension",
            "scheme": "admiralty",
            "source_reliability": "B",
            "information_credibility": 2,
        },
        {
            "extension_type": "property-extension",
            "scheme": "admiralty",
            "source_reliability": "b",
            "information_credibility": "2",
        },
        {
            "extension_type": "property-extension",
            "scheme": "europol-4x4",
            "source_reliability": "F",
            "information_credibility": "2",
        },
        {
            "extension_type": "property-extension",
            "scheme": ["admiralty"],
            "source_reliability": "B",
            "information_credibility": "2",
        },
        {
            "extension_type": "property-extension",
            "scheme": "admiralty",
            "source_reliability": "B",
            "information_credibility": "2",
            "confidence": 80,
        },
    ],
)
def test_malformed_grading_extension_is_refused(payload: Any) -> None:
    obj = threat_actor(extensions={GRADING_EXTENSION_ID: payload})
    with pytest.raises(GradingError):
        grading_of(obj)
    # The shipped schema agrees with the code.
    if isinstance(payload, dict):
        validator = jsonschema.Draft202012Validator(extension_schema(GRADING_EXTENSION_ID))
        assert not validator.is_valid(payload)


def test_osint_flag_alone() -> None:
    obj = mark_osint(threat_actor())
    assert is_osint(obj)
    assert grading_of(obj) is None
    assert obj["extensions"][GRADING_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "osint": True,
    }
    assert mark_osint(obj, False) == threat_actor(id=obj["id"])


def test_osint_flag_beside_a_grade() -> None:
    graded = grade(threat_actor(), "admiralty", "C", "3", osint=True)
    assert is_osint(graded)
    regraded = grade(graded, "admiralty", "B", "2")
    assert is_osint(regraded), "regrading keeps the flag"
    assert not is_osint(grade(regraded, "admiralty", "B", "2", osint=False))
    unflagged = mark_osint(regraded, False)
    assert not is_osint(unflagged)
    assert grading_of(unflagged) == Grading(Scheme.ADMIRALTY, "B", "2")
    assert grading_of(mark_osint(unflagged)) == Grading(Scheme.ADMIRALTY, "B", "2")


def test_a_malformed_extension_is_not_an_osint_flag() -> None:
    assert not is_osint(threat_actor(extensions={GRADING_EXTENSION_ID: "osint"}))
    assert not is_osint(threat_actor(extensions="osint"))


def test_code() -> None:
    assert make_grading("admiralty", " b ", 2).code == "B2"


@pytest.mark.parametrize(
    ("grading", "lang", "text"),
    [
        (
            Grading(Scheme.ADMIRALTY, "B", "2"),
            "en",
            "B2 (Admiralty: usually reliable, probably true)",
        ),
        (
            Grading(Scheme.ADMIRALTY, "B", "2"),
            "fr",
            "B2 (Amirauté : habituellement fiable, probablement vraie)",
        ),
        (
            Grading(Scheme.ADMIRALTY, "F", "6"),
            "en",
            "F6 (Admiralty: reliability cannot be judged, truth cannot be judged)",
        ),
        (
            Grading(Scheme.EUROPOL_4X4, "A", "1"),
            "en",
            "A1 (Europol 4x4: reliable in all instances, accuracy not in doubt)",
        ),
        (
            Grading(Scheme.EUROPOL_4X4, "C", "4"),
            "fr",
            "C4 (Europol 4x4 : non fiable dans la plupart des cas, non connue "
            "personnellement de la source et non corroborée)",
        ),
    ],
)
def test_format_grading(grading: Grading, lang: Any, text: str) -> None:
    assert format_grading(grading, lang) == text


def test_format_grading_languages() -> None:
    with pytest.raises(ValueError):
        format_grading(Grading(Scheme.ADMIRALTY, "A", "1"), "de")  # type: ignore[arg-type]


@given(st.data())
def test_every_grade_round_trips_and_formats(data: st.DataObject) -> None:
    scheme = data.draw(st.sampled_from(list(Scheme)))
    reliability = data.draw(st.sampled_from(RELIABILITY_VALUES[scheme]))
    credibility = data.draw(st.sampled_from(CREDIBILITY_VALUES[scheme]))
    osint = data.draw(st.booleans())
    graded = grade(threat_actor(), scheme, reliability, credibility, osint=osint)
    assert grading_of(graded) == Grading(scheme, reliability, credibility)
    assert is_osint(graded) is osint
    jsonschema.Draft202012Validator(extension_schema(GRADING_EXTENSION_ID)).validate(
        graded["extensions"][GRADING_EXTENSION_ID]
    )
    for lang in ("en", "fr"):
        text = format_grading(Grading(scheme, reliability, credibility), lang)
        assert text.startswith(f"{reliability}{credibility} (")


@pytest.mark.parametrize(
    "obj",
    [
        grade(threat_actor(), "admiralty", "B", "2"),
        grade(threat_actor(), "europol-4x4", "X", "4", osint=True),
        mark_osint(threat_actor()),
    ],
)
def test_graded_objects_validate_as_stix_2_1(obj: dict[str, Any]) -> None:
    results = validate_instance(obj, ValidationOptions(version="2.1"))
    assert results.is_valid, [str(error) for error in results.errors]
    strict = validate_instance(obj, ValidationOptions(version="2.1", strict=True))
    assert strict.is_valid, [str(error) for error in strict.errors]

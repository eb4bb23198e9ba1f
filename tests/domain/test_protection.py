"""Data-protection metadata: category of data subject, fact or assessment, review dates."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from diapason.domain.extensions import PROTECTION_EXTENSION_ID, extension_schema
from diapason.domain.protection import (
    Nature,
    Protection,
    ProtectionError,
    SubjectCategory,
    is_about_person,
    protect,
    protection_of,
    protection_problems,
    review_overdue,
)
from diapason.domain.stix import new_id

REVIEW = date(2026, 3, 31)


def person(**properties: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": new_id("identity"),
        "created": "2024-05-02T10:00:00.000Z",
        "modified": "2024-05-02T10:00:00.000Z",
        "name": "A. B.",
        "identity_class": "individual",
    }
    obj.update(properties)
    return obj


def test_protect_attaches_and_reads_back() -> None:
    obj = person()
    before = copy.deepcopy(obj)
    protected = protect(
        obj,
        "suspect",
        REVIEW,
        nature="assessment",
        legal_basis=" Law 09-08, art. 4 ",
        purpose="Investigation of a smuggling network",
    )
    assert obj == before
    assert protected["extensions"][PROTECTION_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "data_subject_category": "suspect",
        "review_by": "2026-03-31",
        "nature": "assessment",
        "legal_basis": "Law 09-08, art. 4",
        "purpose": "Investigation of a smuggling network",
    }
    assert protection_of(protected) == Protection(
        category=SubjectCategory.SUSPECT,
        review_by=REVIEW,
        nature=Nature.ASSESSMENT,
        legal_basis="Law 09-08, art. 4",
        purpose="Investigation of a smuggling network",
    )
    assert protection_problems(protected) == ()


def test_minimal_protection() -> None:
    protected = protect(person(), SubjectCategory.WITNESS, REVIEW)
    assert protection_of(protected) == Protection(SubjectCategory.WITNESS, REVIEW)


@pytest.mark.parametrize(
    "arguments",
    [
        {"category": "informant"},
        {"review_by": "2026-03-31"},
        {"nature": "opinion"},
        {"legal_basis": "   "},
        {"purpose": 3},
    ],
)
def test_protect_refuses_bad_values(arguments: dict[str, Any]) -> None:
    call: dict[str, Any] = {"category": "victim", "review_by": REVIEW, **arguments}
    with pytest.raises(ProtectionError):
        protect(person(), **call)


def test_about_a_person() -> None:
    assert is_about_person(person())
    assert not is_about_person(person(identity_class="organization"))
    report: dict[str, Any] = {"type": "report", "id": new_id("report")}
    assert not is_about_person(report)
    assert is_about_person(protect(report, "contact", REVIEW))


def test_a_person_record_needs_the_extension() -> None:
    problems = protection_problems(person())
    assert len(problems) == 1
    assert "category" in problems[0]
    assert protection_of(person()) is None
    assert protection_problems(person(identity_class="organization")) == ()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("suspect", "dictionary"),
        ({"data_subject_category": "suspect", "review_by": "2026-03-31"}, "extension_type"),
        ({"extension_type": "property-extension", "review_by": "2026-03-31"}, "category"),
        (
            {"extension_type": "property-extension", "data_subject_category": "suspect"},
            "review_by",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "informant",
                "review_by": "2026-03-31",
            },
            "informant",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "suspect",
                "review_by": "31/03/2026",
            },
            "YYYY-MM-DD",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "suspect",
                "review_by": "2026-02-30",
            },
            "calendar",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "suspect",
                "review_by": "2026-03-31T00:00:00Z",
            },
            "YYYY-MM-DD",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "suspect",
                "review_by": "2026-03-31",
                "nature": "rumour",
            },
            "nature",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "suspect",
                "review_by": "2026-03-31",
                "legal_basis": "",
            },
            "legal_basis",
        ),
        (
            {
                "extension_type": "property-extension",
                "data_subject_category": "suspect",
                "review_by": "2026-03-31",
                "retention": "5y",
            },
            "retention",
        ),
    ],
)
def test_malformed_protection(payload: Any, message: str) -> None:
    obj = person(extensions={PROTECTION_EXTENSION_ID: payload})
    with pytest.raises(ProtectionError, match=message):
        protection_of(obj)
    problems = protection_problems(obj)
    assert len(problems) == 1
    assert message in problems[0]
    if isinstance(payload, dict):
        validator = jsonschema.Draft202012Validator(
            extension_schema(PROTECTION_EXTENSION_ID),
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        assert not validator.is_valid(payload)


def test_review_overdue_from_the_day_after() -> None:
    protection = Protection(SubjectCategory.SUSPECT, REVIEW)
    assert not review_overdue(protection, REVIEW - timedelta(days=1))
    assert not review_overdue(protection, REVIEW)
    assert review_overdue(protection, REVIEW + timedelta(days=1))
    assert not review_overdue(None, REVIEW + timedelta(days=1000))


@given(
    st.sampled_from(list(SubjectCategory)),
    st.dates(),
    st.none() | st.sampled_from(list(Nature)),
    st.dates(),
)
def test_round_trip_and_overdue(
    category: SubjectCategory, review_by: date, nature: Nature | None, today: date
) -> None:
    protected = protect(person(), category, review_by, nature=nature)
    protection = protection_of(protected)
    assert protection == Protection(category, review_by, nature)
    assert review_overdue(protection, today) is (today > review_by)
    jsonschema.Draft202012Validator(
        extension_schema(PROTECTION_EXTENSION_ID),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(protected["extensions"][PROTECTION_EXTENSION_ID])


def test_protected_record_validates_as_stix_2_1() -> None:
    obj = protect(
        person(), "convicted", REVIEW, nature="fact", legal_basis="Directive 2016/680 art. 8"
    )
    results = validate_instance(obj, ValidationOptions(version="2.1", strict=True))
    assert results.is_valid, [str(error) for error in results.errors]

"""Data-protection metadata of records about persons, as a STIX property extension.

What Directive (EU) 2016/680 and Moroccan law 09-08 ask of a record about a person:

- the **category of data subject** (Art. 6): suspect, convicted, victim, witness, contact,
  other;
- whether it states a **fact** or a personal **assessment** (Art. 7);
- the **legal basis** and **purpose** of the processing (free text);
- the **review-by date** (Art. 5): the date by which the need to keep the record must be
  reviewed. Past that date the record is *overdue*; the release policy withholds it.

A record is **about a person** when it is an ``identity`` whose ``identity_class`` is
``individual``, or when it carries this extension (whoever attached it said so). A record
about a person must carry the extension with at least a category and a review-by date:
the Directive makes the category mandatory, and Art. 5 gives every record a time limit.

The review-by date is a calendar date (``YYYY-MM-DD``), not a timestamp: a review is due on
a day. The record is overdue from the day after.

A **proposal** is what the OSINT pipeline suggests for a person it found in an article: a
category and a review-by date from the node's settings, kept in the custom property
``x_diapason_protection_proposal`` (the same two keys as the extension). It protects
nothing: the record stays incomplete, and withheld, until an analyst confirms it, which
writes the extension and drops the proposal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from diapason.domain.extensions import PROTECTION_EXTENSION_ID


class SubjectCategory(StrEnum):
    SUSPECT = "suspect"
    CONVICTED = "convicted"
    VICTIM = "victim"
    WITNESS = "witness"
    CONTACT = "contact"
    OTHER = "other"


class Nature(StrEnum):
    """Whether the record states a fact or a personal assessment (Art. 7)."""

    FACT = "fact"
    ASSESSMENT = "assessment"


class ProtectionError(ValueError):
    """Malformed or incomplete data-protection metadata."""


PROPOSAL_PROPERTY = "x_diapason_protection_proposal"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_KEYS = frozenset(
    {"extension_type", "data_subject_category", "nature", "legal_basis", "purpose", "review_by"}
)


@dataclass(frozen=True, slots=True)
class Protection:
    """The data-protection metadata of one record."""

    category: SubjectCategory
    review_by: date
    nature: Nature | None = None
    legal_basis: str | None = None
    purpose: str | None = None


def _clean_text(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProtectionError(f"{field}: expected some text")
    return value.strip()


def protect(
    obj: Mapping[str, Any],
    category: SubjectCategory | str,
    review_by: date,
    *,
    nature: Nature | str | None = None,
    legal_basis: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """A copy of ``obj`` carrying this data-protection metadata (replacing any it had).

    Raises :class:`ProtectionError` for a category or nature outside the vocabularies.
    ``modified`` is not touched: making a new version is the caller's business.
    """
    try:
        chosen = SubjectCategory(category)
    except ValueError:
        allowed = ", ".join(c.value for c in SubjectCategory)
        raise ProtectionError(
            f"data_subject_category: {category!r} is not one of {allowed}"
        ) from None
    if not isinstance(review_by, date):
        raise ProtectionError(f"review_by: expected a date, got {review_by!r}")
    payload: dict[str, Any] = {
        "extension_type": "property-extension",
        "data_subject_category": chosen.value,
        "review_by": review_by.isoformat(),
    }
    if nature is not None:
        try:
            payload["nature"] = Nature(nature).value
        except ValueError:
            raise ProtectionError(f"nature: {nature!r} is not one of fact, assessment") from None
    for field, value in (("legal_basis", legal_basis), ("purpose", purpose)):
        text = _clean_text(field, value)
        if text is not None:
            payload[field] = text
    current = obj.get("extensions")
    extensions = dict(current) if isinstance(current, Mapping) else {}
    extensions[PROTECTION_EXTENSION_ID] = payload
    protected = {**obj, "extensions": extensions}
    protected.pop(PROPOSAL_PROPERTY, None)  # confirmed, or replaced by what was chosen
    return protected


def protection_of(obj: Mapping[str, Any]) -> Protection | None:
    """The data-protection metadata ``obj`` carries, or ``None`` if it carries none.

    Raises :class:`ProtectionError` when the extension is malformed or lacks the category
    or the review-by date.
    """
    extensions = obj.get("extensions")
    if not isinstance(extensions, Mapping) or PROTECTION_EXTENSION_ID not in extensions:
        return None
    payload = extensions[PROTECTION_EXTENSION_ID]
    if not isinstance(payload, Mapping):
        raise ProtectionError("data-protection extension: expected a dictionary")
    if payload.get("extension_type") != "property-extension":
        raise ProtectionError(
            "data-protection extension: extension_type must be 'property-extension'"
        )
    unknown = sorted(str(key) for key in payload if key not in _KEYS)
    if unknown:
        raise ProtectionError(f"data-protection extension: unknown property {unknown[0]!r}")
    category = payload.get("data_subject_category")
    if category is None:
        raise ProtectionError("data_subject_category: required on a record about a person")
    if not isinstance(category, str) or category not in SubjectCategory._value2member_map_:
        allowed = ", ".join(c.value for c in SubjectCategory)
        raise ProtectionError(f"data_subject_category: {category!r} is not one of {allowed}")
    review_by = payload.get("review_by")
    if review_by is None:
        raise ProtectionError("review_by: required on a record about a person")
    nature = payload.get("nature")
    if nature is not None and (
        not isinstance(nature, str) or nature not in Nature._value2member_map_
    ):
        raise ProtectionError(f"nature: {nature!r} is not one of fact, assessment")
    return Protection(
        category=SubjectCategory(category),
        review_by=_parse_date(review_by),
        nature=None if nature is None else Nature(nature),
        legal_basis=_clean_text("legal_basis", payload.get("legal_basis")),
        purpose=_clean_text("purpose", payload.get("purpose")),
    )


def _parse_date(value: Any) -> date:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise ProtectionError(f"review_by: {value!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ProtectionError(f"review_by: {value!r} is not a real calendar date") from None


def is_about_person(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a record about a person: an individual's identity, or any object
    carrying the data-protection extension."""
    if obj.get("type") == "identity" and obj.get("identity_class") == "individual":
        return True
    extensions = obj.get("extensions")
    return isinstance(extensions, Mapping) and PROTECTION_EXTENSION_ID in extensions


def protection_problems(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """Why ``obj``'s data-protection metadata is not acceptable; empty when it is.

    A record about a person needs the extension, with a category and a review-by date; a
    record not about a person needs nothing.
    """
    if not is_about_person(obj):
        return ()
    try:
        protection = protection_of(obj)
    except ProtectionError as error:
        return (str(error),)
    if protection is None:
        return (
            "a record about a person needs data-protection metadata "
            "(category of data subject, review-by date)",
        )
    return ()


def review_overdue(protection: Protection | None, today: date) -> bool:
    """Whether the review-by date has passed (the day itself is still in time)."""
    return protection is not None and today > protection.review_by


def propose_protection(
    obj: Mapping[str, Any], category: SubjectCategory | str, review_days: int, today: date
) -> dict[str, Any]:
    """``obj`` with a proposal (``category``, review by ``today`` + ``review_days``) when it
    is an individual's identity without data-protection metadata; otherwise unchanged."""
    if not is_about_person(obj) or PROTECTION_EXTENSION_ID in (obj.get("extensions") or {}):
        return dict(obj)
    proposal = {
        "data_subject_category": SubjectCategory(category).value,
        "review_by": (today + timedelta(days=review_days)).isoformat(),
    }
    return {**obj, PROPOSAL_PROPERTY: proposal}


def proposal_of(obj: Mapping[str, Any]) -> Protection | None:
    """The proposal ``obj`` carries, or ``None`` (none, or not a readable one)."""
    proposal = obj.get(PROPOSAL_PROPERTY)
    if not isinstance(proposal, Mapping):
        return None
    category = proposal.get("data_subject_category")
    if not isinstance(category, str) or category not in SubjectCategory._value2member_map_:
        return None
    try:
        review_by = _parse_date(proposal.get("review_by"))
    except ProtectionError:
        return None
    return Protection(SubjectCategory(category), review_by)

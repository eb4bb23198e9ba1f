"""STIX objects for the web tests (valid: checked with the OASIS validator where made)."""

from __future__ import annotations

from datetime import date
from typing import Any

from stix2validator import ValidationOptions, validate_instance

from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.grading import grade
from diapason.domain.protection import protect
from tests.builders import new_id, sdo, stamp

SCRIPT = "<script>window.__xss = 1;</script>"
IMAGE = '<img src="x" onerror="window.__xss = 2">'


def valid(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` after checking it with ``stix2-validator`` (Diapason's own extensions known)."""
    result = validate_instance(obj, ValidationOptions(strict=False))
    assert result.is_valid, [str(error) for error in result.errors]
    return obj


def actor(name: str = "Katiba du Sahel", tlp: str = "amber", **extra: Any) -> dict[str, Any]:
    obj = sdo(
        "threat-actor",
        name=name,
        threat_actor_types=["terrorist"],
        object_marking_refs=[TLP_2_0_IDS[tlp]],
        **extra,
    )
    return valid(grade(obj, "admiralty", "B", "2"))


def hostile(tlp: str = "green") -> dict[str, Any]:
    """A partner's object whose text tries to run scripts in the reader's browser."""
    return valid(
        sdo(
            "threat-actor",
            name=f"{SCRIPT} Groupe",
            description=f"{IMAGE} and {SCRIPT}",
            threat_actor_types=["criminal"],
            object_marking_refs=[TLP_2_0_IDS[tlp]],
        )
    )


def person(name: str = "Ahmed Exemple") -> dict[str, Any]:
    obj = sdo(
        "identity",
        name=name,
        identity_class="individual",
        object_marking_refs=[TLP_2_0_IDS["amber"]],
    )
    return protect(obj, "suspect", date(2099, 1, 1), nature="fact")


def relationship(source: str, target: str, kind: str = "targets") -> dict[str, Any]:
    return valid(
        {
            "type": "relationship",
            "spec_version": "2.1",
            "id": new_id("relationship"),
            "created": stamp(2),
            "modified": stamp(2),
            "relationship_type": kind,
            "source_ref": source,
            "target_ref": target,
            "object_marking_refs": [TLP_2_0_IDS["green"]],
        }
    )

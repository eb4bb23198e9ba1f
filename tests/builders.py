"""Small builders of valid STIX 2.1 objects, shared by every test package.

``sdo`` fills in what each type requires (an indicator's pattern, a report's references,
a name where the type has one); keyword arguments add or override properties.
"""

from __future__ import annotations

import uuid
from typing import Any

TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"

# A record about a person (an individual's identity): personal data on every path.
PERSON = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--5d3a4c3e-0a4b-4c52-9d43-2f4e8f0a6b11",
    "created": "2024-04-22T10:00:00.000Z",
    "modified": "2024-04-22T10:00:00.000Z",
    "name": "Karim B.",
    "identity_class": "individual",
}

# Types without a name property: the builder leaves them unnamed.
UNNAMED = frozenset({"relationship", "sighting", "observed-data", "note", "opinion"})


def new_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def stamp(day: int = 1, month: int = 1, year: int = 2024, hour: int = 0) -> str:
    """A STIX timestamp as producers write it (millisecond precision)."""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00.000Z"


def normalised(timestamp: str) -> str:
    """What the TAXII server answers as a version: the same instant at microseconds."""
    head, _, fraction = timestamp.rstrip("Z").partition(".")
    return f"{head}.{fraction.ljust(6, '0')[:6]}Z"


def sdo(
    stix_type: str = "threat-actor",
    *,
    object_id: str | None = None,
    created: str | None = None,
    modified: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A STIX domain object with what its type requires; ``properties`` add or override."""
    created = created or stamp(1)
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": object_id or new_id(stix_type),
        "created": created,
        "modified": modified or created,
    }
    if stix_type == "indicator":
        obj.update(
            name="bad address",
            pattern="[ipv4-addr:value = '198.51.100.7']",
            pattern_type="stix",
            valid_from=created,
        )
    elif stix_type == "malware":
        obj.update(name="dropper", is_family=False)
    elif stix_type == "report":
        obj.update(name="a report", published=created, object_refs=[new_id("threat-actor")])
    elif stix_type not in UNNAMED:
        obj["name"] = f"{stix_type} {obj['id'][-12:]}"
    if stix_type == "location":
        obj["region"] = "western-africa"
    obj.update(properties)
    return obj


def version(obj: dict[str, Any], modified: str, **changes: Any) -> dict[str, Any]:
    """Another version of ``obj``: same id and created, a new ``modified``."""
    return {**obj, "modified": modified, **changes}


def relationship(
    source: str, target: str, relationship_type: str = "related-to", **properties: Any
) -> dict[str, Any]:
    return sdo(
        "relationship",
        relationship_type=relationship_type,
        source_ref=source,
        target_ref=target,
        **properties,
    )


def ipv4(value: str) -> dict[str, Any]:
    """A cyber-observable: no created, no modified."""
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{uuid.uuid5(uuid.NAMESPACE_URL, value)}",
        "value": value,
    }


def key(obj: dict[str, Any]) -> tuple[str, str]:
    """(id, modified) as the object carries them; an SCO's version is its id alone."""
    return obj["id"], str(obj.get("modified", ""))

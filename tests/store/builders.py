"""Small builders of STIX 2.1 objects and helpers shared by the store's tests."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from diapason.store.sql import SqlStore

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"

# Tables whose row counts show whether a write changed anything.
COUNTED_TABLES = ("objects", "edges", "object_markings", "object_fts", "tombstones")


def stamp(day: int = 1, month: int = 1, year: int = 2024, hour: int = 0) -> str:
    """A STIX timestamp as producers write it (millisecond precision)."""
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00.000Z"


def new_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def sdo(
    stix_type: str = "threat-actor",
    *,
    object_id: str | None = None,
    created: str | None = None,
    modified: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A STIX domain object with the common properties set; ``properties`` add or override."""
    created = created or stamp(1)
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": object_id or new_id(stix_type),
        "created": created,
        "modified": modified or created,
    }
    if stix_type in ("threat-actor", "intrusion-set", "identity", "location", "campaign"):
        obj["name"] = f"{stix_type} {obj['id'][-12:]}"
    if stix_type == "location":
        obj.setdefault("region", "western-africa")
    if stix_type == "report":
        obj.setdefault("name", "a report")
        obj.setdefault("published", created)
        obj.setdefault("object_refs", [new_id("threat-actor")])
    obj.update(properties)
    return obj


def version(obj: dict[str, Any], modified: str, **changes: Any) -> dict[str, Any]:
    """Another version of ``obj``: same id and created, a new ``modified``."""
    newer = dict(obj)
    newer["modified"] = modified
    newer.update(changes)
    return newer


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


def row_counts(store: SqlStore) -> dict[str, int]:
    """How many rows each table of the store holds."""
    with store.engine.connect() as connection:
        return {
            table: int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
            )
            for table in COUNTED_TABLES
        }

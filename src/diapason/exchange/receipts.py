"""Receipts: the receiving node acknowledges what it stored; the sender records deliveries.

After writing a page pulled from a partner, the sync agent posts an ``x-diapason-receipt``
(a STIX custom object declared by Diapason's receipt extension-definition) to the partner's
inbox collection for us (alias ``from-<our name>``), through the same TAXII channel as
everything else. The partner, on receiving it from our account, records each version as
delivered: ``diapason release show ID`` then says to whom and when.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from diapason.domain.extensions import RECEIPT_EXTENSION_ID, TLP_2_0_IDS
from diapason.domain.grading import grade
from diapason.domain.stix import normalise_timestamp, now_timestamp
from diapason.store.db import write_transaction
from diapason.store.schema import deliveries
from diapason.store.sql import insert_dicts, partner_versions, utc_now

RECEIPT_TYPE = "x-diapason-receipt"
MAX_PER_RECEIPT = 5000


@dataclass(frozen=True)
class Delivery:
    partner: str
    object_id: str
    modified: str
    stored_at: str
    acknowledged_at: str


def make_receipt(
    receiver: str, identity_id: str | None, versions: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """A receipt for these ``(id, modified)`` versions, stored now by ``receiver``."""
    now = now_timestamp()
    stored = utc_now()
    receipt: dict[str, Any] = {
        "type": RECEIPT_TYPE,
        "spec_version": "2.1",
        "id": f"{RECEIPT_TYPE}--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "receiver": receiver,
        "received": [
            {"id": object_id, "version": modified, "stored": stored}
            for object_id, modified in versions
        ],
        "object_marking_refs": [TLP_2_0_IDS["green"]],
        "extensions": {RECEIPT_EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    if identity_id:
        receipt["created_by_ref"] = identity_id
    # Graded A1: a node is the best source on what it stored itself.
    return grade(receipt, "admiralty", "A", "1")


class Deliveries:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, partner: str, objects: Iterable[Any]) -> int:
        """Record the versions acknowledged by the receipts among ``objects`` (sent by the
        partner's own account); returns how many were new. Malformed entries are skipped."""
        rows: dict[tuple[str, str], dict[str, str]] = {}
        now = utc_now()
        for obj in objects:
            if not isinstance(obj, dict) or obj.get("type") != RECEIPT_TYPE:
                continue
            received = obj.get("received")
            if not isinstance(received, list):
                continue
            for entry in received[:MAX_PER_RECEIPT]:
                if not isinstance(entry, dict):
                    continue
                object_id, version, stored = (
                    entry.get("id"),
                    entry.get("version"),
                    entry.get("stored"),
                )
                if not isinstance(object_id, str) or len(object_id) > 300:
                    continue
                try:
                    modified = normalise_timestamp(version, "version")
                    stored_at = normalise_timestamp(stored, "stored")
                except ValueError:
                    continue
                rows[(object_id, modified)] = {
                    "partner": partner,
                    "object_id": object_id,
                    "modified": modified,
                    "stored_at": stored_at,
                    "acknowledged_at": now,
                    "receipt_id": str(obj.get("id"))[:300],
                }
        if not rows:
            return 0
        keys = sorted(rows)
        with write_transaction(self.engine) as connection:
            held = partner_versions(
                connection, deliveries, partner, [object_id for object_id, _ in keys]
            )
            fresh = [rows[key] for key in keys if key not in held]
            if fresh:
                insert_dicts(connection, deliveries, fresh)
        return len(fresh)

    def of_object(self, object_id: str) -> list[Delivery]:
        statement = (
            sa.select(
                deliveries.c.partner,
                deliveries.c.object_id,
                deliveries.c.modified,
                deliveries.c.stored_at,
                deliveries.c.acknowledged_at,
            )
            .where(deliveries.c.object_id == object_id)
            .order_by(deliveries.c.partner, deliveries.c.modified)
        )
        with self.engine.connect() as connection:
            return [Delivery(*row) for row in connection.execute(statement)]

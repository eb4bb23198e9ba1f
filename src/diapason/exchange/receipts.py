"""Receipts: the receiving node acknowledges what it stored; the sender records deliveries.

After writing a group of pages pulled from a partner, the sync agent makes
``x-diapason-receipt`` objects (STIX custom objects declared by Diapason's receipt
extension-definition) for every version it now holds, and keeps them in
``outgoing_receipts`` before it moves its watermark. It posts them to the partner's inbox
collection for us (alias ``from-<our name>``), through the same TAXII channel as everything
else, and forgets one only when the partner's TAXII status says it was stored: a failed
POST, or a receipt refused in the status, is sent again at the next round. Each receipt
holds at most ``MAX_PER_RECEIPT`` entries and ``MAX_RECEIPT_BYTES`` of JSON, so it fits
every limit of the receiving side. The partner, on receiving one from our account, records
each version as delivered: ``diapason release show ID`` then says to whom and when, and
``partner list`` how many released versions are not acknowledged yet.

Each receipt also carries the head of the receiving node's audit trail when it was made
(``audit_head: {seq, hash}``), which the partner keeps as a witness (``exchange/witness.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.audit import Head
from diapason.domain.extensions import RECEIPT_EXTENSION_ID, TLP_2_0_IDS
from diapason.domain.grading import grade
from diapason.domain.stix import new_object
from diapason.domain.timestamps import as_store_timestamp, store_now
from diapason.store.db import write_transaction
from diapason.store.rows import insert_dicts, partner_versions
from diapason.store.schema import collection_entries, deliveries, outgoing_receipts, partners

RECEIPT_TYPE = "x-diapason-receipt"
# Entries one receipt may hold: what the receiving side reads of one receipt.
MAX_PER_RECEIPT = 5000
# The JSON of one receipt stays well under the smallest object size limit a node is
# expected to set (1 MiB by default), whatever the length of the ids it lists.
MAX_RECEIPT_BYTES = 512 * 1024
# Room for a receipt's own properties besides its entries.
_RECEIPT_OVERHEAD = 2048


@dataclass(frozen=True)
class Delivery:
    partner: str
    object_id: str
    modified: str
    stored_at: str
    acknowledged_at: str


@dataclass(frozen=True)
class PendingReceipt:
    id: str
    partner: str
    entries: int
    attempts: int
    content: str


def make_receipt(
    receiver: str,
    identity_id: str | None,
    versions: Iterable[tuple[str, str]],
    audit_head: Head | None = None,
) -> dict[str, Any]:
    """One receipt for these ``(id, modified)`` versions, stored now by ``receiver``, with
    the head of ``receiver``'s audit trail (``audit_head``) when given.

    It holds them all: :func:`make_receipts` splits a larger set to fit the limits."""
    stored = store_now()
    receipt = new_object(
        RECEIPT_TYPE,
        created_by_ref=identity_id,
        markings=[TLP_2_0_IDS["green"]],
        receiver=receiver,
        received=[
            {"id": object_id, "version": modified, "stored": stored}
            for object_id, modified in versions
        ],
        extensions={RECEIPT_EXTENSION_ID: {"extension_type": "new-sdo"}},
    )
    if audit_head is not None:
        receipt["audit_head"] = audit_head.as_dict()
    # Graded A1: a node is the best source on what it stored itself.
    return grade(receipt, "admiralty", "A", "1")


def _chunks(versions: Sequence[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """The versions in consecutive runs that fit one receipt (entries and bytes)."""
    chunk: list[tuple[str, str]] = []
    size = _RECEIPT_OVERHEAD
    for object_id, modified in versions:
        # An entry's JSON: the id, two timestamps of at most 27 characters, the keys.
        entry = len(object_id) + 100
        if chunk and (len(chunk) >= MAX_PER_RECEIPT or size + entry > MAX_RECEIPT_BYTES):
            yield chunk
            chunk, size = [], _RECEIPT_OVERHEAD
        chunk.append((object_id, modified))
        size += entry
    if chunk:
        yield chunk


def make_receipts(
    receiver: str,
    identity_id: str | None,
    versions: Sequence[tuple[str, str]],
    audit_head: Head | None = None,
) -> list[dict[str, Any]]:
    """Receipts for these versions, each within ``MAX_PER_RECEIPT`` entries and
    ``MAX_RECEIPT_BYTES`` of JSON, each with ``audit_head``."""
    return [make_receipt(receiver, identity_id, chunk, audit_head) for chunk in _chunks(versions)]


class OutgoingReceipts:
    """Receipts this node owes its partners, kept until each is stored by the partner."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def keep(self, partner: str, receipts: Sequence[dict[str, Any]]) -> None:
        if not receipts:
            return
        now = store_now()
        with write_transaction(self.engine) as connection:
            insert_dicts(
                connection,
                outgoing_receipts,
                [
                    {
                        "id": receipt["id"],
                        "partner": partner,
                        "created_at": now,
                        "entries": len(receipt["received"]),
                        "attempts": 0,
                        "last_error": None,
                        "content": orjson.dumps(receipt).decode(),
                    }
                    for receipt in receipts
                ],
            )

    def pending(self, partner: str) -> list[PendingReceipt]:
        """The receipts not yet stored by ``partner``, oldest first."""
        statement = (
            sa.select(
                outgoing_receipts.c.id,
                outgoing_receipts.c.partner,
                outgoing_receipts.c.entries,
                outgoing_receipts.c.attempts,
                outgoing_receipts.c.content,
            )
            .where(outgoing_receipts.c.partner == partner)
            .order_by(outgoing_receipts.c.created_at, outgoing_receipts.c.id)
        )
        with self.engine.connect() as connection:
            return [PendingReceipt(*row) for row in connection.execute(statement)]

    def count(self, partner: str) -> int:
        statement = sa.select(sa.func.count()).where(outgoing_receipts.c.partner == partner)
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def delivered(self, receipt_id: str) -> None:
        with write_transaction(self.engine) as connection:
            connection.execute(
                outgoing_receipts.delete().where(outgoing_receipts.c.id == receipt_id)
            )

    def failed(self, receipt_id: str, error: str) -> None:
        with write_transaction(self.engine) as connection:
            connection.execute(
                outgoing_receipts.update()
                .where(outgoing_receipts.c.id == receipt_id)
                .values(attempts=outgoing_receipts.c.attempts + 1, last_error=error[:1000])
            )


class Deliveries:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, partner: str, objects: Iterable[Any]) -> int:
        """Record the versions acknowledged by the receipts among ``objects`` (sent by the
        partner's own account); returns how many were new. Malformed entries are skipped."""
        rows: dict[tuple[str, str], dict[str, str]] = {}
        now = store_now()
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
                    modified = as_store_timestamp(version, "version")
                    stored_at = as_store_timestamp(stored, "stored")
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
        ids = sorted({object_id for object_id, _ in keys})
        with write_transaction(self.engine) as connection:
            held = partner_versions(connection, deliveries, partner, ids)
            # A partner acknowledges only what was released to it: an entry for anything
            # else (a version never in its outbox) is not a delivery.
            released = self._released(connection, partner, ids)
            fresh = [rows[key] for key in keys if key not in held and key in released]
            if fresh:
                insert_dicts(connection, deliveries, fresh)
        return len(fresh)

    @staticmethod
    def _released(connection: sa.Connection, partner: str, ids: list[str]) -> set[tuple[str, str]]:
        outbox = sa.select(partners.c.outbox).where(partners.c.name == partner).scalar_subquery()
        e = collection_entries
        found: set[tuple[str, str]] = set()
        for start in range(0, len(ids), 1000):
            statement = sa.select(e.c.object_id, e.c.modified).where(
                (e.c.collection_id == outbox) & e.c.object_id.in_(ids[start : start + 1000])
            )
            found.update((row[0], row[1]) for row in connection.execute(statement))
        return found

    def unacknowledged(self, partner: str) -> int:
        """How many versions released to ``partner`` it has not acknowledged storing."""
        outbox = sa.select(partners.c.outbox).where(partners.c.name == partner).scalar_subquery()
        e, d = collection_entries, deliveries
        statement = (
            sa.select(sa.func.count())
            .select_from(e)
            .where(
                (e.c.collection_id == outbox)
                & ~sa.exists().where(
                    (d.c.partner == partner)
                    & (d.c.object_id == e.c.object_id)
                    & (d.c.modified == e.c.modified)
                )
            )
        )
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

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

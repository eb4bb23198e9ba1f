"""What arrives through this node's TAXII server (a POST to a collection), and where it goes.

An account of role ``partner`` speaks for its partner node: what it sends is written with
the provenance ``partner:NAME`` under the trust rules with that partner as the sender (so
the ledger never echoes it back, and the third-party rule knows where it came from), its
receipts are recorded as deliveries (and the head of its audit trail each carries is kept
as a witness), and what the trust rules refused is reported against the partner. An
account of role ``partner`` whose node is not a partner here yet (``partner invite`` made
it; the other side has not paired back) speaks for that node as an unknown partner:
provenance ``partner:USERNAME``, the trust rules of a partner, never this node's. Any other
account writes as this node (provenance ``taxii:USERNAME``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diapason.accounts import User
from diapason.audit import AuditLog
from diapason.domain.trust import Sender
from diapason.exchange.partners import Partners, report_untrusted
from diapason.exchange.receipts import RECEIPT_TYPE, Deliveries
from diapason.exchange.witness import Witnesses, parse_head, report_conflict
from diapason.store.interface import ObjectStore, PutReport


class Inbound:
    def __init__(
        self,
        store: ObjectStore,
        partners: Partners,
        deliveries: Deliveries,
        audit: AuditLog,
        identities: Callable[[], frozenset[str]],
        witnesses: Witnesses,
    ) -> None:
        self.store = store
        self.partners = partners
        self.deliveries = deliveries
        self.audit = audit
        self.identities = identities
        self.witnesses = witnesses

    def receive(self, received: list[Any], user: User) -> PutReport:
        """Write what ``user`` posted; returns the store's report (what was written,
        unchanged, refused and why)."""
        partner = self.partners.speaking_for(user)
        if partner is None and user.role == "partner":
            # Invited, not paired yet: a partner all the same, never this node.
            return self.store.put_many(
                received,
                source=f"partner:{user.username}",
                sender=Sender(
                    partner=user.username,
                    own_identities=self.identities(),
                    partner_identities={
                        p.identity_id: p.name for p in self.partners.all() if p.identity_id
                    },
                ),
            )
        if partner is None:
            return self.store.put_many(received, source=f"taxii:{user.username}", sender=Sender())
        report = self.store.put_many(
            received,
            source=f"partner:{partner.name}",
            sender=self.partners.sender(partner, self.identities()),
        )
        # A partner acknowledging what it stored: the receipts accepted here (a refused one
        # acknowledges nothing) are recorded as deliveries.
        accepted = sorted({index for index, _id, _modified in report.versions})
        receipts = [received[index] for index in accepted]
        self.deliveries.record(partner.name, receipts)
        self._witness(partner.name, user.username, receipts)
        report_untrusted(self.partners, self.audit, partner.name, user.username, report.refused)
        return report

    def _witness(self, partner: str, actor: str, objects: list[Any]) -> None:
        """Keep the audit heads the partner's receipts carry; one that contradicts a head
        witnessed before is reported (the receipt itself stays accepted)."""
        for obj in objects:
            if not isinstance(obj, dict) or obj.get("type") != RECEIPT_TYPE:
                continue
            head = parse_head(obj.get("audit_head"))
            if head is None:
                continue
            recorded = self.witnesses.record(partner, head, "receipt")
            if recorded.outcome == "conflict":
                report_conflict(self.audit, partner, actor, recorded)

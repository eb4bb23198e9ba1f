"""Data-protection metadata put on records about persons: a new version, audited.

What the CLI (``diapason protect``), the person page and the OSINT article page share.
``Persons.protect(ids, metadata)`` checks every record first and writes all of them or
none: each gets a new STIX version (same id, a later ``modified``) carrying the
data-protection extension (``domain/protection.py``), written through the store with one
audit entry (``protect``) in the same transaction.

Refused, with a message naming the record: an id the node does not hold; a record that
is not about a person (an individual's identity, or an object carrying the extension); a
revoked record; a record another organisation created (a partner's: only its originator
may version it, ``domain/trust.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from diapason.audit import AuditLog
from diapason.domain.protection import (
    Nature,
    Protection,
    ProtectionError,
    SubjectCategory,
    is_about_person,
    proposal_of,
    protect,
    protection_of,
)
from diapason.domain.timestamps import parse_timestamp, stix_now, stix_timestamp
from diapason.domain.trust import partner_of_source
from diapason.errors import DiapasonError
from diapason.store.interface import ObjectStore, StoredObject

SOURCE = "local"
AUDIT_ACTION = "protect"


class ProtectRefused(DiapasonError, ValueError):
    """A record cannot be protected (the message names it and says why)."""


def parse_metadata(
    category: str,
    review_by: str,
    *,
    nature: str | None = None,
    legal_basis: str | None = None,
    purpose: str | None = None,
) -> Protection:
    """What an analyst typed (a form, options) as the metadata a record will carry;
    :class:`ProtectRefused` says what is wrong."""
    try:
        chosen = SubjectCategory((category or "").strip())
    except ValueError:
        allowed = ", ".join(c.value for c in SubjectCategory)
        raise ProtectRefused(f"category: {category!r} is not one of {allowed}") from None
    try:
        day = date.fromisoformat((review_by or "").strip())
    except ValueError:
        raise ProtectRefused(f"review-by: {review_by!r} is not a date (YYYY-MM-DD)") from None
    kind: Nature | None = None
    if nature:
        try:
            kind = Nature(nature.strip())
        except ValueError:
            raise ProtectRefused(f"nature: {nature!r} is not one of fact, assessment") from None
    return Protection(
        chosen, day, kind, (legal_basis or "").strip() or None, (purpose or "").strip() or None
    )


@dataclass(frozen=True, slots=True)
class Protected:
    """What one call wrote: the new versions, by id."""

    versions: dict[str, dict[str, Any]]


class Persons:
    """Records about persons of this node's store, protected as ``actor``."""

    def __init__(
        self,
        store: ObjectStore,
        audit: AuditLog,
        own_identities: Callable[[], frozenset[str]],
        actor: str,
    ) -> None:
        self.store = store
        self.audit = audit
        self.own_identities = own_identities
        self.actor = actor

    def refusal(self, held: StoredObject | None, object_id: str) -> str | None:
        """Why the record cannot be protected by this node, or None when it can."""
        if held is None:
            return f"{object_id}: no such object on this node"
        obj = held.object
        if not is_about_person(obj):
            return (
                f"{object_id}: not a record about a person (an individual's identity, or "
                "an object carrying data-protection metadata)"
            )
        if held.revoked:
            return f"{object_id}: revoked; a revoked record is not versioned again"
        author = obj.get("created_by_ref")
        if author not in self.own_identities():
            partner = partner_of_source(held.source)
            by = f"partner {partner}" if partner else f"{author or 'an unknown originator'}"
            return (
                f"{object_id}: created by {by}, not by this node; only its originator may "
                "version it (ask them to add the data-protection metadata)"
            )
        return None

    def protect(
        self,
        ids: Sequence[str],
        metadata: Protection | Callable[[dict[str, Any]], Protection],
        *,
        details: dict[str, Any] | None = None,
    ) -> Protected:
        """Protect every record of ``ids`` (all, or none when one is refused).

        ``metadata``: the same for all, or chosen per record (the OSINT confirm action
        takes each record's proposal)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            raise ProtectRefused("no record to protect")
        problems: list[str] = []
        versions: dict[str, dict[str, Any]] = {}
        chosen: dict[str, Protection] = {}
        for object_id in wanted:
            held = self.store.get(object_id)
            problem = self.refusal(held, object_id)
            if problem is not None or held is None:
                problems.append(problem or object_id)
                continue
            meta = metadata if isinstance(metadata, Protection) else metadata(held.object)
            try:
                version = protect(
                    held.object,
                    meta.category,
                    meta.review_by,
                    nature=meta.nature,
                    legal_basis=meta.legal_basis,
                    purpose=meta.purpose,
                )
            except ProtectionError as error:
                problems.append(f"{object_id}: {error}")
                continue
            version["modified"] = _later(str(held.object.get("modified", "")))
            versions[object_id] = version
            chosen[object_id] = meta
        if problems:
            raise ProtectRefused("; ".join(problems))
        entry = {
            "records": {
                object_id: {
                    "category": meta.category.value,
                    "review_by": meta.review_by.isoformat(),
                    "nature": meta.nature.value if meta.nature else None,
                    "legal_basis": meta.legal_basis,
                    "purpose": meta.purpose,
                }
                for object_id, meta in chosen.items()
            },
            **(details or {}),
        }

        def audit(connection: Any, written: list[str]) -> None:
            self.audit.append(
                self.actor, AUDIT_ACTION, written, details=entry, connection=connection
            )

        report = self.store.put_many(list(versions.values()), source=SOURCE, on_write=audit)
        if report.refused:
            raise ProtectRefused("; ".join(str(problem) for problem in report.refused))
        return Protected(versions)

    def confirm_proposals(
        self, ids: Sequence[str], fallback: Protection, *, details: dict[str, Any]
    ) -> Protected:
        """Protect the records of ``ids`` lacking metadata with what was proposed for each
        (``fallback`` where nothing was)."""

        def proposed(obj: dict[str, Any]) -> Protection:
            proposal = proposal_of(obj)
            return fallback if proposal is None else proposal

        return self.protect(ids, proposed, details=details)


def needs_confirmation(obj: dict[str, Any]) -> bool:
    """A record about a person still without (valid) data-protection metadata."""
    if not is_about_person(obj):
        return False
    try:
        return protection_of(obj) is None
    except ProtectionError:
        return True


def _later(previous: str) -> str:
    """Now, or a millisecond after ``previous`` if the clock is not past it."""
    now = stix_now()
    if not previous:
        return now
    try:
        before = parse_timestamp(previous, "modified")
    except DiapasonError:
        return now
    if now > stix_timestamp(before):
        return now
    return stix_timestamp(before + timedelta(milliseconds=1))

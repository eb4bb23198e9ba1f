"""The trust boundary: what a sender may say, decided before anything is written.

Every write has a sender: this node itself (its users, file imports, the OSINT pipeline,
the joint mechanism) or one partner node (a TAXII POST from that partner's account, a page
the sync agent pulled from it). A node believes what it verified and nothing else. A
partner speaks for itself only: it may send objects it created, relay a third party's
objects unchanged, and acknowledge what it stored. :func:`screen` applies the rules below
to one object version that is not already held as it is (an identical repeat changes
nothing and is never refused here); the store runs it inside the write's transaction, so
import, TAXII POST and sync share one path.

==========================  ==============================================================
rule                        refused when
==========================  ==============================================================
``shipped-definition``      an object every node ships (Diapason's identity, extension- and
                            marking-definitions, the TLP definitions) comes with any other
                            content: what Diapason ships is never replaced
``definition-derivation``   a marking-definition carrying Diapason's marking extension
                            (``REL TO`` list, H3 text, handling code, PAP) is not exactly
                            what its content derives, id included
``definition-immutable``    a marking-definition whose id is held already comes with any
                            other content: marking-definitions are never versioned
                            (STIX 2.1 section 7.2)
``own-object``              a partner sends an object created by this node, or a version of
                            one: nobody else speaks for this node
``other-partner``           a partner sends an object created by another partner of this
                            node, which speaks for itself
``author-changed``          ``created_by_ref`` differs from the versions held:
                            it never changes between versions
``not-originator``          a new version of an object held from someone else, sent by a
                            sender that is not its originator: only the originator versions
                            an object; a relayed object is relayed, never changed
==========================  ==============================================================

"From someone else" compares where the held versions came from: the provenance
``partner:NAME`` is that partner; any other provenance is this node. So a partner may keep
versioning what it alone has sent (its own objects, or a third party's it relays), and this
node may version what it holds from no partner; nobody may version another's copy unless
it is the object's originator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from diapason.domain.extensions import SHIPPED_CONTENT, canonical
from diapason.domain.markings import derivation_problem

PARTNER_SOURCE = "partner:"


class TrustRule(StrEnum):
    SHIPPED_DEFINITION = "shipped-definition"
    DEFINITION_DERIVATION = "definition-derivation"
    DEFINITION_IMMUTABLE = "definition-immutable"
    OWN_OBJECT = "own-object"
    OTHER_PARTNER = "other-partner"
    AUTHOR_CHANGED = "author-changed"
    NOT_ORIGINATOR = "not-originator"


TRUST_RULES: frozenset[str] = frozenset(TrustRule)


def partner_of_source(source: str | None) -> str | None:
    """The partner a provenance names (``partner:NAME``), or None: this node's own."""
    if source is not None and source.startswith(PARTNER_SOURCE):
        return source[len(PARTNER_SOURCE) :]
    return None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who speaks in a write.

    ``partner`` is None for this node itself. For a partner: ``identity_id`` is its STIX
    identity when known (then it may version its own objects wherever they came from),
    ``own_identities`` this node's identities, and ``partner_identities`` the identities of
    all this node's partners, by id (value: the partner's name).
    """

    partner: str | None = None
    identity_id: str | None = None
    own_identities: frozenset[str] = frozenset()
    partner_identities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: str | None) -> Sender:
        """The sender a provenance alone tells (a partner without its identities known)."""
        return cls(partner=partner_of_source(source))

    @property
    def label(self) -> str:
        return f"partner {self.partner}" if self.partner is not None else "this node"


@dataclass(frozen=True, slots=True)
class Held:
    """What the store holds of one object id: where each version came from, who each
    says created it, and (marking-definitions only) each version's canonical content."""

    sources: frozenset[str | None]
    authors: frozenset[str | None]
    contents: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One version about to be written: what the rules read of it."""

    id: str
    type: str
    created_by_ref: str | None
    content: str  # canonical JSON


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: TrustRule
    field: str
    message: str


def definition_problem(obj: Mapping[str, Any]) -> tuple[TrustRule, str] | None:
    """What makes a shipped object or a Diapason marking-definition untrustworthy, if
    anything: the checks that need nothing but the object itself (also what the release
    policy asks before it releases a definition)."""
    object_id = obj.get("id")
    if isinstance(object_id, str) and object_id in SHIPPED_CONTENT:
        if canonical(obj) != SHIPPED_CONTENT[object_id]:
            return (
                TrustRule.SHIPPED_DEFINITION,
                "every node ships this object; no other content may replace it",
            )
        return None
    if obj.get("type") == "marking-definition":
        problem = derivation_problem(obj)
        if problem is not None:
            return TrustRule.DEFINITION_DERIVATION, problem
    return None


def screen(candidate: Candidate, held: Held | None, sender: Sender) -> Refusal | None:
    """Whether ``sender`` may write this version (not already held as it is); the refusal
    names the rule and says why. ``held`` is what the store holds of the id, if anything."""
    author = candidate.created_by_ref
    if candidate.id in SHIPPED_CONTENT or candidate.type == "marking-definition":
        found = definition_problem(orjson.loads(candidate.content))
        if found is not None:
            return Refusal(found[0], "id", found[1])
        if (
            held is not None
            and candidate.type == "marking-definition"
            and candidate.content not in held.contents
        ):
            return Refusal(
                TrustRule.DEFINITION_IMMUTABLE,
                "id",
                "a marking-definition with this id is held already with another content; "
                "marking-definitions are never versioned",
            )
    if sender.partner is not None:
        ours = sender.own_identities
        if (author is not None and author in ours) or (
            held is not None and not ours.isdisjoint(a for a in held.authors if a)
        ):
            return Refusal(
                TrustRule.OWN_OBJECT,
                "created_by_ref",
                "created by this node: no partner may send it or a version of it",
            )
        other = sender.partner_identities.get(author) if author is not None else None
        if other is not None and other != sender.partner:
            return Refusal(
                TrustRule.OTHER_PARTNER,
                "created_by_ref",
                f"created by partner {other}, which sends its own objects itself",
            )
    if held is None:
        return None
    if held.authors != {author}:
        before = ", ".join(sorted(str(a) for a in held.authors))
        return Refusal(
            TrustRule.AUTHOR_CHANGED,
            "created_by_ref",
            f"{author} differs from the versions held ({before}): the creator of an "
            "object never changes",
        )
    originator = sender.partner is not None and author is not None and author == sender.identity_id
    if not originator and any(partner_of_source(s) != sender.partner for s in held.sources):
        holders = sorted({partner_of_source(s) or "this node" for s in held.sources})
        return Refusal(
            TrustRule.NOT_ORIGINATOR,
            "modified",
            f"a new version of an object held from {', '.join(holders)}, sent by "
            f"{sender.label}, which did not create it: only its originator versions it",
        )
    return None

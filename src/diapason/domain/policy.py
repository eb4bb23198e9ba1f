"""The release policy: may this version of an object go to this partner?

``decide(version, partner, context)`` answers with :class:`Release` or :class:`Withhold`,
each with a reason code and a sentence for people. It is a pure function of its arguments:
the exchange layer calls it when an object version is written or its markings change, and
appends releases to the partner's disclosure ledger.

The rules, in order; the first that applies gives the decision, so the reason given is the
most fundamental one (the one that would still hold after the later ones were fixed):

====  ========================================================  ==========================
row   condition                                                 decision, code
====  ========================================================  ==========================
0     not an object with a string ``type`` and ``id``           withhold ``malformed``
0b    a definition this node would refuse on receipt: a         withhold
      shipped object with other content, a Diapason marking     ``untrusted-definition``
      that is not what its content derives, or a marking-
      definition other than the one held under its id
1a    a Diapason ``REL TO`` marking-definition not naming       withhold
      the partner (who else we share with is ours to know)      ``rel-to-definition``
1b    an ``extension-definition``, a ``marking-definition`` or  release ``definition``
      an object every node ships (no intelligence in them)
2     a marking this node cannot interpret                      withhold ``unknown-marking``
3     no ``created_by_ref``: the originator is unknown          withhold ``unattributed``
4     created by another organisation, the partner is not that  withhold ``third-party``
      organisation and no consent of it is recorded (this also
      covers H2, whose provider is the originator)
5     TLP:RED (object-level or granular) and the partner is     withhold ``tlp-red``
      not a named recipient of the object
6     a ``REL TO`` list that does not name the partner          withhold ``not-rel-to``
7     TLP:AMBER or AMBER+STRICT (an object with no TLP counts   withhold ``amber-no-rel-to``
      as AMBER) and no ``REL TO`` list
8     H3, unless the partner is the originator, and no consent  withhold ``h3-review``
      recorded for this object, originator and partner
9     about a person, without valid data-protection metadata    withhold
      (at least a category of data subject, a review-by date)   ``protection-incomplete``
10    review-by date passed                                     withhold ``review-overdue``
11    no valid grade and not flagged OSINT                      withhold ``ungraded``
12    a relationship or sighting one of whose ends the partner  withhold ``end-withheld``
      does not hold (``PartnerContext.withheld_ends``)
13    otherwise                                                 release ``cleared``
====  ========================================================  ==========================

**Revoked versions** follow the same rules: a revocation must reach the partners who
received an earlier version (Directive 2016/680 Art. 7: recipients of incorrect data are
told), but its content must not reach anyone the rules exclude. Every decision therefore
carries ``correction=True`` for a revoked version; the ledger layer, which knows who
received what, makes sure earlier recipients learn of the revocation even when the revoked
version itself is withheld from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from diapason.domain.extensions import MARKING_EXTENSION_ID, SHIPPED_IDS, canonical
from diapason.domain.grading import GradingError, grading_of, is_osint
from diapason.domain.markings import (
    HandlingCode,
    Tlp,
    effective_markings,
    interpret_marking,
    partner_key,
)
from diapason.domain.protection import protection_of, protection_problems, review_overdue
from diapason.domain.trust import definition_problem

DEFINITION_TYPES = frozenset({"extension-definition", "marking-definition"})


class WithholdCode(StrEnum):
    MALFORMED = "malformed"
    UNTRUSTED_DEFINITION = "untrusted-definition"
    REL_TO_DEFINITION = "rel-to-definition"
    UNKNOWN_MARKING = "unknown-marking"
    UNATTRIBUTED = "unattributed"
    THIRD_PARTY = "third-party"
    TLP_RED = "tlp-red"
    NOT_REL_TO = "not-rel-to"
    AMBER_NO_REL_TO = "amber-no-rel-to"
    H3_REVIEW = "h3-review"
    PROTECTION_INCOMPLETE = "protection-incomplete"
    REVIEW_OVERDUE = "review-overdue"
    UNGRADED = "ungraded"
    END_WITHHELD = "end-withheld"


class ReleaseCode(StrEnum):
    DEFINITION = "definition"
    CLEARED = "cleared"


# Every reason code in the order the rules are tried (the table above).
RULE_ORDER: tuple[str, ...] = (
    WithholdCode.MALFORMED,
    WithholdCode.UNTRUSTED_DEFINITION,
    WithholdCode.REL_TO_DEFINITION,
    ReleaseCode.DEFINITION,
    WithholdCode.UNKNOWN_MARKING,
    WithholdCode.UNATTRIBUTED,
    WithholdCode.THIRD_PARTY,
    WithholdCode.TLP_RED,
    WithholdCode.NOT_REL_TO,
    WithholdCode.AMBER_NO_REL_TO,
    WithholdCode.H3_REVIEW,
    WithholdCode.PROTECTION_INCOMPLETE,
    WithholdCode.REVIEW_OVERDUE,
    WithholdCode.UNGRADED,
    WithholdCode.END_WITHHELD,
    ReleaseCode.CLEARED,
)


class Consent(NamedTuple):
    """An originator's recorded consent to pass one object on to one partner.

    A plain ``(object_id, originator, partner)`` tuple is accepted wherever a Consent is.
    """

    object_id: str
    originator: str
    partner: str


@dataclass(frozen=True, slots=True)
class PartnerContext:
    """The partner a release is decided for.

    ``identity_id`` is the partner organisation's STIX identity, if known: an object that
    partner created may go back to it without a consent. ``named_recipient`` says the
    partner is a named recipient of this object (for TLP:RED). ``withheld_ends``: the ends
    of this version (``ends_of``) the partner does not hold, neither released to it nor
    received from it; the ledger, which knows what went where, fills it in.
    """

    name: str
    identity_id: str | None = None
    named_recipient: bool = False
    withheld_ends: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("partner: a partner has a name")


@dataclass(frozen=True)
class ReleaseContext:
    """What this node knows when it decides.

    ``own_identities``: this node's organisation identity ids (what ``created_by_ref`` of
    its own objects holds). ``consents``: recorded ``(object id, originator identity id,
    partner name)`` consents. ``red_recipients``: object id → names of the partners named
    as recipients of that TLP:RED object. ``definitions``: known marking-definition objects
    by id (run-time ``REL TO`` and H3 markings, statements, other producers' markings).
    Partner names compare without regard to case or repeated spaces.
    """

    own_identities: frozenset[str]
    today: date
    consents: frozenset[tuple[str, str, str]] = frozenset()
    red_recipients: Mapping[str, Iterable[str]] = field(default_factory=dict)
    definitions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _consent_keys: frozenset[tuple[str, str, str]] = field(
        init=False, repr=False, compare=False, default=frozenset()
    )

    def __post_init__(self) -> None:
        own = frozenset(self.own_identities)
        if not own or not all(
            isinstance(identity, str) and identity.startswith("identity--") for identity in own
        ):
            raise ValueError("own_identities: at least one identity id (identity--…)")
        object.__setattr__(self, "own_identities", own)
        object.__setattr__(self, "consents", frozenset(self.consents))
        object.__setattr__(
            self,
            "_consent_keys",
            frozenset(
                (object_id, originator, partner_key(partner))
                for object_id, originator, partner in self.consents
            ),
        )

    def has_consent(self, object_id: str, originator: str, partner_name: str) -> bool:
        return (object_id, originator, partner_key(partner_name)) in self._consent_keys

    def is_named_recipient(self, object_id: str, partner: PartnerContext) -> bool:
        if partner.named_recipient:
            return True
        names = self.red_recipients.get(object_id, ())
        if isinstance(names, str):  # one name, not a list of its letters
            names = (names,)
        key = partner_key(partner.name)
        return any(partner_key(name) == key for name in names)


@dataclass(frozen=True, slots=True)
class Release:
    """The version may go to the partner. ``correction``: it revokes the object."""

    code: ReleaseCode
    reason: str
    correction: bool = False

    @property
    def released(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Withhold:
    """The version may not go to the partner, for ``reason`` (code ``code``).

    ``correction``: the version revokes the object; earlier recipients must still be told.
    """

    code: WithholdCode
    reason: str
    correction: bool = False

    @property
    def released(self) -> bool:
        return False


Decision = Release | Withhold


# The references that make an end of a relationship or a sighting: without them the object
# says something about objects the partner does not have.
END_PROPERTIES: dict[str, tuple[str, ...]] = {
    "relationship": ("source_ref", "target_ref"),
    "sighting": ("sighting_of_ref", "observed_data_refs", "where_sighted_refs"),
}


def ends_of(version: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids a relationship or a sighting joins (its ends); empty for any other object."""
    found: list[str] = []
    for prop in END_PROPERTIES.get(str(version.get("type")), ()):
        value = version.get(prop)
        values = value if isinstance(value, list) else [value]
        found += [ref for ref in values if isinstance(ref, str) and ref not in found]
    return tuple(found)


def _declares_rel_to(definition: Mapping[str, Any]) -> bool:
    extensions = definition.get("extensions")
    if not isinstance(extensions, Mapping):
        return False
    payload = extensions.get(MARKING_EXTENSION_ID)
    return isinstance(payload, Mapping) and "releasable_to" in payload


def decide(
    version: Mapping[str, Any], partner: PartnerContext, context: ReleaseContext
) -> Decision:
    """Whether ``version`` (one STIX object version) may go to ``partner``; see the table
    in this module's docstring and ``docs/release.md``."""
    if (
        not isinstance(version, Mapping)
        or not isinstance(version.get("type"), str)
        or not isinstance(version.get("id"), str)
    ):
        return Withhold(WithholdCode.MALFORMED, "not a STIX object with a type and an id")
    correction = version.get("revoked") is True
    object_id: str = version["id"]
    stix_type: str = version["type"]

    def withhold(code: WithholdCode, reason: str) -> Withhold:
        return Withhold(code, reason, correction)

    # 1. Definitions carry no intelligence, except the partner names of a REL TO list. A
    # definition this node would refuse on receipt is never passed on.
    if stix_type in DEFINITION_TYPES or object_id in SHIPPED_IDS:
        untrusted = definition_problem(version)
        if untrusted is not None:
            return withhold(WithholdCode.UNTRUSTED_DEFINITION, untrusted[1])
        held = context.definitions.get(object_id) if stix_type == "marking-definition" else None
        if held is not None and canonical(held) != canonical(version):
            return withhold(
                WithholdCode.UNTRUSTED_DEFINITION,
                "not the marking-definition this node holds under this id: "
                "marking-definitions are never versioned",
            )
        if stix_type == "marking-definition" and _declares_rel_to(version):
            meaning = interpret_marking(object_id, {object_id: version})
            # A malformed list is not read at all: it may still name partners.
            names: tuple[str, ...] = () if isinstance(meaning, str) else (meaning.rel_to or ())
            if partner_key(partner.name) not in {partner_key(name) for name in names}:
                return withhold(
                    WithholdCode.REL_TO_DEFINITION,
                    f"this releasability marking does not name {partner.name}: "
                    "the partners it names are not theirs to know",
                )
        return Release(ReleaseCode.DEFINITION, f"a {stix_type} carries no intelligence", correction)

    # 2. Markings this node cannot read could say anything: the most restrictive reading.
    markings = effective_markings(version, context.definitions)
    if markings.problems:
        return withhold(
            WithholdCode.UNKNOWN_MARKING,
            "markings this node cannot interpret: " + "; ".join(markings.problems),
        )

    # 3-4. Each side stays master of its data: the third-party rule.
    originator = version.get("created_by_ref")
    if not isinstance(originator, str) or not originator:
        return withhold(
            WithholdCode.UNATTRIBUTED,
            "no created_by_ref: the originator, whose consent the third-party rule needs, "
            "is unknown",
        )
    ours = originator in context.own_identities
    theirs = partner.identity_id is not None and originator == partner.identity_id
    consented = context.has_consent(object_id, originator, partner.name)
    if not ours and not theirs and not consented:
        also = " (it is also H2)" if markings.handling is HandlingCode.H2 else ""
        return withhold(
            WithholdCode.THIRD_PARTY,
            f"created by {originator}, not by this node: passing it on to {partner.name} "
            f"needs that originator's recorded consent{also}",
        )

    # 5-7. TLP and releasability.
    tlp = markings.release_tlp
    if tlp is Tlp.RED and not context.is_named_recipient(object_id, partner):
        return withhold(
            WithholdCode.TLP_RED,
            f"TLP:RED goes only to named recipients, and {partner.name} is not one",
        )
    if not markings.releasable_to(partner.name):
        listed = ", ".join(sorted(markings.rel_to or ())) or "no partner"
        return withhold(WithholdCode.NOT_REL_TO, f"releasable to {listed}, not to {partner.name}")
    if tlp in (Tlp.AMBER, Tlp.AMBER_STRICT) and markings.rel_to is None:
        what = tlp.label if markings.tlp is not None else "no TLP marking (read as TLP:AMBER)"
        return withhold(
            WithholdCode.AMBER_NO_REL_TO,
            f"{what} goes only to partners on the object's REL TO list, and it has none",
        )

    # 8. H3: restrictions in free text need a person to read them.
    if markings.handling is HandlingCode.H3 and not (theirs or consented):
        return withhold(
            WithholdCode.H3_REVIEW,
            f"H3 ({markings.h3_text}): held for manual review until a consent for "
            f"{partner.name} is recorded",
        )

    # 9-10. Data protection.
    problems = protection_problems(version)
    if problems:
        return withhold(WithholdCode.PROTECTION_INCOMPLETE, "; ".join(problems))
    protection = protection_of(version)
    if protection is not None and review_overdue(protection, context.today):
        return withhold(
            WithholdCode.REVIEW_OVERDUE,
            f"review was due by {protection.review_by.isoformat()}: the record must be "
            "reviewed before it is shared again",
        )

    # 11. Grading: a recipient needs it to judge accuracy and reliability.
    try:
        grading = grading_of(version)
    except GradingError as error:
        return withhold(WithholdCode.UNGRADED, f"the grading is not valid: {error}")
    if grading is None and not is_osint(version):
        return withhold(
            WithholdCode.UNGRADED,
            "not graded (source reliability, information credibility) and not open-source",
        )

    # 12. A relationship or a sighting goes with its ends, or not at all.
    withheld_ends = [end for end in ends_of(version) if end in partner.withheld_ends]
    if withheld_ends:
        return withhold(
            WithholdCode.END_WITHHELD,
            f"joins {', '.join(withheld_ends)}, not released to {partner.name}: it goes as "
            "soon as both ends are released",
        )

    basis = grading.code if grading is not None else "OSINT"
    return Release(
        ReleaseCode.CLEARED, f"{tlp.label}, {basis}: every release rule is met", correction
    )

"""Meetings of a joint group: kind, date, place, delegations, agenda, minutes, decisions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from diapason.coordinate.documents import combined
from diapason.coordinate.editing import Kind
from diapason.coordinate.records import CoordinationError, NotFound, Records
from diapason.coordinate.texts import Party, state_named
from diapason.domain.coordination import GROUP_TYPE, MEETING_TYPE
from diapason.domain.markings import Markings, effective_markings
from diapason.domain.stix import StixError
from diapason.domain.timestamps import parse_timestamp, stix_midnight, stix_timestamp


def moment(value: Any, where: str) -> str:
    """A date (``YYYY-MM-DD``, read as midnight UTC) or an RFC 3339 timestamp, in the STIX
    form (``YYYY-MM-DDTHH:MM:SS.mmmZ``); ``CoordinationError`` naming ``where`` otherwise."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return stix_midnight(date.fromisoformat(value))
        except ValueError:
            raise CoordinationError(f"{where}: {value!r} is not a real date") from None
    try:
        return stix_timestamp(parse_timestamp(value))
    except StixError:
        raise CoordinationError(
            f"{where}: {str(value)[:40]!r} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp"
        ) from None


def group_state(records: Records, group_id: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(group_id, str):
        raise CoordinationError(f"{where}: a group id is required")
    try:
        return records.item(GROUP_TYPE, group_id).fields
    except NotFound:
        raise CoordinationError(f"{where}: {group_id} is not a known group") from None


def check_meeting(
    records: Records, state: dict[str, Any], base: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The group exists; the date reads; every delegation is from one of its partners."""
    group = group_state(records, state.get("group_ref"), "meeting: field group_ref")
    state["start"] = moment(state.get("start"), "meeting: field start")
    state.setdefault("status", "planned")
    delegations = state.get("delegations") or []
    if not isinstance(delegations, list):
        raise CoordinationError("meeting: field delegations: expected a list")
    for index, delegation in enumerate(delegations):
        where = f"meeting: field delegations[{index}]"
        if not isinstance(delegation, dict):
            raise CoordinationError(f"{where}: expected {{partner, members[, head]}}")
        side = records.check_partner(delegation.get("partner"), f"{where}.partner")
        if side not in group.get("partners", []):
            raise CoordinationError(f"{where}.partner: {side} is not a partner of the group")
        delegation["partner"] = side
        delegation.setdefault("members", [])
    for name in ("agenda", "decisions", "delegations"):
        if not state.get(name):
            state.pop(name, None)
    return state


def meeting_recipients(records: Records, state: Mapping[str, Any]) -> list[str]:
    group = group_state(records, state.get("group_ref"), "meeting: field group_ref")
    return list(group.get("partners") or [])


MEETING = Kind(
    MEETING_TYPE,
    "meeting",
    frozenset(
        {
            "group_ref",
            "title",
            "kind",
            "start",
            "place",
            "status",
            "delegations",
            "agenda",
            "minutes",
            "decisions",
        }
    ),
    check_meeting,
    meeting_recipients,
)


def parse_delegation(text: str) -> dict[str, Any]:
    """A delegation from the command line: ``PARTNER:HEAD[,MEMBER…]`` (the first name
    heads the delegation)."""
    partner, _, names = text.partition(":")
    people = [name.strip() for name in names.split(",") if name.strip()]
    if not partner.strip() or not people:
        raise CoordinationError(f"delegation {text!r}: expected PARTNER:HEAD[,MEMBER…]")
    return {"partner": partner.strip(), "head": people[0], "members": people}


# -- what a meeting's documents need ---------------------------------------------------------
def parties(records: Records, sides: Sequence[str]) -> list[Party]:
    """The parties of a document, this node first (each side puts itself first in its own
    copy), then the group's other partners in the group's order; each with the state it
    speaks for, known by its node name or by the name of its STIX identity (this node's own,
    or the one the partner was registered with) — see ``texts.STATES``."""
    identities = {p.name: p.identity_id for p in records.holdings.partners.all()}
    identities[records.me] = records.holdings.identity()
    ordered = sorted(sides, key=lambda side: side != records.me)
    found = []
    for side in ordered:
        names = [side]
        identity_id = identities.get(side)
        stored = records.holdings.store.get(identity_id) if identity_id else None
        if stored is not None and isinstance(stored.object.get("name"), str):
            names.append(stored.object["name"])
        found.append(Party(side, state_named(names)))
    return found


def sources_markings(records: Records, objects: Iterable[Mapping[str, Any]]) -> Markings:
    """The markings of a document made from these records: the most restrictive wins."""
    definitions = records.holdings.ledger.context().definitions
    return combined(effective_markings(obj, definitions) for obj in objects)

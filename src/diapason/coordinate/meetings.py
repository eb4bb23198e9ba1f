"""Meetings of a joint group: kind, date, place, delegations, agenda, minutes, decisions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from diapason.coordinate.editing import Kind
from diapason.coordinate.records import CoordinationError, NotFound, Records
from diapason.domain.coordination import GROUP_TYPE, MEETING_TYPE
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

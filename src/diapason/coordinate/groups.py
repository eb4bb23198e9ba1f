"""Joint groups: the GMMP, a security working group, any other; members and chairs per side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diapason.coordinate.editing import Kind
from diapason.coordinate.records import CoordinationError, Records
from diapason.domain.coordination import GROUP_TYPE


def check_group(
    records: Records, state: dict[str, Any], base: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Partners known, each member from one of the group's partners, one chair per side."""
    partners = state.get("partners")
    if not isinstance(partners, list) or not partners:
        raise CoordinationError("group: field partners: at least one partner is required")
    names = []
    for index, name in enumerate(partners):
        found = records.check_partner(name, f"group: field partners[{index}]")
        if found not in names:
            names.append(found)
    state["partners"] = names
    members = state.get("members") or []
    if not isinstance(members, list):
        raise CoordinationError("group: field members: expected a list")
    chairs: dict[str, str] = {}
    cleaned = []
    for index, member in enumerate(members):
        where = f"group: field members[{index}]"
        if not isinstance(member, dict) or not isinstance(member.get("name"), str):
            raise CoordinationError(f"{where}: expected {{name, partner[, function, chair]}}")
        side = records.check_partner(member.get("partner"), f"{where}.partner")
        if side not in names:
            raise CoordinationError(f"{where}.partner: {side} is not one of the group's partners")
        if member.get("chair"):
            if side in chairs:
                raise CoordinationError(
                    f"{where}: {side} already has a chair ({chairs[side]}); one chair per side"
                )
            chairs[side] = member["name"]
        cleaned.append({**member, "partner": side})
    if cleaned:
        state["members"] = cleaned
    else:
        state.pop("members", None)
    return state


def group_recipients(records: Records, state: Mapping[str, Any]) -> list[str]:
    return list(state.get("partners") or [])


GROUP = Kind(
    GROUP_TYPE,
    "group",
    frozenset({"name", "kind", "description", "partners", "members"}),
    check_group,
    group_recipients,
)


def chairs(state: Mapping[str, Any]) -> dict[str, str]:
    """The chair of each side, by partner name (sides without one are absent)."""
    return {
        member["partner"]: member["name"]
        for member in state.get("members") or []
        if member.get("chair")
    }


def group_flags(state: Mapping[str, Any]) -> dict[str, Any]:
    """What views add to a group: each side's chair, and the sides still without one."""
    found = chairs(state)
    return {
        "chairs": found,
        "sides_without_chair": [p for p in state.get("partners") or [] if p not in found],
    }


def parse_member(text: str) -> dict[str, Any]:
    """A member from the command line: ``PARTNER:NAME[:FUNCTION]``, a trailing ``*`` on the
    name marks the chair (``rabat:Nadia Benali*:Director``)."""
    partner, _, rest = text.partition(":")
    name, _, function = rest.partition(":")
    if not partner.strip() or not name.strip():
        raise CoordinationError(f"member {text!r}: expected PARTNER:NAME[:FUNCTION]")
    member: dict[str, Any] = {"partner": partner.strip(), "name": name.strip().rstrip("*")}
    if name.strip().endswith("*"):
        member["chair"] = True
    if function.strip():
        member["function"] = function.strip()
    return member

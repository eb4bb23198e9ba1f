"""Action items: owning partner, assignee, due date, status, links to any object.

An action is overdue when its due date has passed and it is neither done nor cancelled.
A new or changed due date in the past is refused; an action already overdue can still be
edited otherwise (marked done, reassigned) without moving its date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from diapason.coordinate.editing import Kind
from diapason.coordinate.records import CoordinationError, NotFound, Records
from diapason.coordinate.revisions import Item
from diapason.domain.coordination import ACTION_TYPE, MEETING_TYPE

CLOSED_STATUSES = frozenset({"done", "cancelled"})


def check_links(records: Records, refs: Any, where: str) -> list[str]:
    """Linked object ids: each one held by this node."""
    if refs is None:
        return []
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise CoordinationError(f"{where}: expected a list of STIX ids")
    for ref in refs:
        if not records.exists(ref):
            raise CoordinationError(f"{where}: {ref} is not an object this node holds")
    return list(dict.fromkeys(refs))


def set_links(records: Records, state: dict[str, Any], where: str) -> None:
    """Check ``state["linked_refs"]`` (each held here); an empty list is left out."""
    links = check_links(records, state.get("linked_refs"), f"{where}: field linked_refs")
    if links:
        state["linked_refs"] = links
    else:
        state.pop("linked_refs", None)


def check_due(value: Any, base: Any, today: date, where: str) -> str:
    """A due date (``YYYY-MM-DD``); a new or changed one may not be in the past."""
    try:
        due = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        due = None
    if due is None:
        raise CoordinationError(f"{where}: {str(value)[:40]!r} is not a date (YYYY-MM-DD)")
    if value != base and due < today:
        raise CoordinationError(f"{where}: {value} is in the past (today is {today.isoformat()})")
    return due.isoformat()


def check_action(
    records: Records, state: dict[str, Any], base: Mapping[str, Any] | None
) -> dict[str, Any]:
    state["owner"] = records.check_partner(state.get("owner"), "action: field owner")
    state["due"] = check_due(
        state.get("due"), (base or {}).get("due"), records.today(), "action: field due"
    )
    state.setdefault("status", "open")
    meeting = state.get("meeting_ref")
    if meeting is not None:
        try:
            records.item(MEETING_TYPE, meeting)
        except NotFound:
            raise CoordinationError(
                f"action: field meeting_ref: {meeting} is not a known meeting"
            ) from None
    set_links(records, state, "action")
    return state


def action_recipients(records: Records, state: Mapping[str, Any]) -> list[str]:
    """The owner, and the partners of the meeting's group when the action has a meeting."""
    names = [str(state["owner"])]
    meeting_id = state.get("meeting_ref")
    if meeting_id:
        from diapason.coordinate.meetings import meeting_recipients

        meeting = records.item(MEETING_TYPE, meeting_id).fields
        names.extend(meeting_recipients(records, meeting))
    return names


ACTION = Kind(
    ACTION_TYPE,
    "action",
    frozenset(
        {"title", "description", "meeting_ref", "owner", "assignee", "due", "status", "linked_refs"}
    ),
    check_action,
    action_recipients,
)


def is_overdue(state: Mapping[str, Any], today: date) -> bool:
    due = state.get("due")
    return (
        isinstance(due, str)
        and state.get("status") not in CLOSED_STATUSES
        and date.fromisoformat(due) < today
    )


def action_flags(item: Item, today: date) -> dict[str, Any]:
    """What the views add to an action: overdue, and by how many days."""
    state = item.fields
    overdue = is_overdue(state, today)
    late = (today - date.fromisoformat(str(state["due"]))).days if overdue else 0
    return {"overdue": overdue, "days_overdue": late}

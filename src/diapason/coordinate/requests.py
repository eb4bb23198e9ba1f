"""Requests for information and expertise, as in Europol's SIENA.

A request (``x-diapason-rfi``) is made by one side (the requester) and addressed to one
partner, with a priority, a deadline, a question and linked objects. Only the requester
edits or closes it. The addressed partner answers with STIX ``note`` objects labelled
``rfi-answer`` whose ``object_refs`` name the request first, then what the answer provides.
An answer to a closed or cancelled request is refused.

Time to answer: from the request's first revision to its first answer. The share answered
within the deadline, per addressed partner, counts every request already answered or whose
deadline has passed (a request still open and not yet due is not counted either way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diapason.coordinate.actions import check_links, set_links
from diapason.coordinate.editing import Edit, Kind, edit, item_view
from diapason.coordinate.meetings import moment
from diapason.coordinate.records import (
    ConflictError,
    CoordinationError,
    Records,
    Refused,
)
from diapason.coordinate.revisions import Item
from diapason.domain.coordination import RFI_TYPE
from diapason.domain.grading import grade
from diapason.domain.timestamps import parse_timestamp

ANSWER_LABEL = "rfi-answer"
# Europol's yardstick: about 80% of SIENA requests answered within 5 days.
BENCHMARK_DAYS = 5


def check_rfi(
    records: Records, state: dict[str, Any], base: Mapping[str, Any] | None
) -> dict[str, Any]:
    state.setdefault("requester", records.me)
    state["requester"] = records.check_partner(state["requester"], "rfi: field requester")
    addressed = records.check_partner(state.get("addressed_to"), "rfi: field addressed_to")
    if addressed == state["requester"]:
        raise CoordinationError("rfi: field addressed_to: a request goes to another partner")
    state["addressed_to"] = addressed
    state["deadline"] = moment(state.get("deadline"), "rfi: field deadline")
    if (
        state["deadline"] != (base or {}).get("deadline")
        and parse_timestamp(state["deadline"]) <= records.now()
    ):
        raise CoordinationError(f"rfi: field deadline: {state['deadline']} is in the past")
    state.setdefault("priority", "normal")
    state.setdefault("status", "open")
    set_links(records, state, "rfi")
    return state


def rfi_recipients(records: Records, state: Mapping[str, Any]) -> list[str]:
    return [str(state["requester"]), str(state["addressed_to"])]


RFI = Kind(
    RFI_TYPE,
    "request",
    frozenset(
        {"title", "question", "priority", "deadline", "addressed_to", "status", "linked_refs"}
    ),
    check_rfi,
    rfi_recipients,
    owner_field="requester",
)


@dataclass(frozen=True)
class Answer:
    id: str
    request: str
    created: str
    side: str | None
    text: str
    provided: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request": self.request,
            "created": self.created,
            "side": self.side,
            "text": self.text,
            "provided": self.provided,
        }


def answers(records: Records) -> dict[str, list[Answer]]:
    """Every answer held, by request id, oldest first."""
    found: dict[str, list[Answer]] = {}
    for stored in records.referring("note", "object_refs[0]", RFI_TYPE):
        note = stored.object
        refs = note.get("object_refs") or []
        if ANSWER_LABEL not in (note.get("labels") or []) or not refs:
            continue
        answer = Answer(
            note["id"],
            refs[0],
            note["created"],
            records.side_of(note.get("created_by_ref")),
            str(note.get("content", "")),
            list(refs[1:]),
        )
        found.setdefault(refs[0], []).append(answer)
    for listed in found.values():
        listed.sort(key=lambda a: a.created)
    return found


def answer(
    records: Records,
    request_id: str,
    text: str,
    provided: list[str] | None = None,
) -> Answer:
    """Answer a request addressed to this node; the answer links what it provides."""
    item = records.item(RFI_TYPE, request_id)
    state = item.fields
    if state.get("addressed_to") != records.me:
        raise Refused(f"{item.id}: addressed to {state.get('addressed_to')}; only they answer it")
    if state.get("status") in ("closed", "cancelled"):
        raise ConflictError(f"{item.id}: the request is {state['status']}; answers are refused")
    if not isinstance(text, str) or not text.strip():
        raise CoordinationError(f"{item.id}: answer: the text of the answer is required")
    links = check_links(records, provided, "answer: field provided")
    markings, rel_to = records.markings_for(
        rfi_recipients(records, state), records.tlp_of(item.current)
    )
    note: dict[str, Any] = {
        **records.new_object("note"),
        "abstract": f"Answer to: {state.get('title', item.id)}"[:300],
        "content": text,
        "authors": [records.editor],
        "object_refs": [item.id, *links],
        "labels": [ANSWER_LABEL],
        "object_marking_refs": markings,
    }
    records.put_object(grade(note, "admiralty", "A", "1"), [rel_to])
    return Answer(note["id"], item.id, note["created"], records.me, text, links)


def close(
    records: Records, request_id: str, status: str = "closed", note: str | None = None
) -> Edit:
    """Close (or cancel) a request this node made (or open it again)."""
    if status not in ("closed", "cancelled", "open"):
        raise CoordinationError(f"rfi: field status: {status!r} is not closed, cancelled or open")
    return edit(records, RFI, request_id, {"status": status}, note=note)


def _days(start: str, end: str) -> float:
    return (parse_timestamp(end) - parse_timestamp(start)).total_seconds() / 86400.0


def request_view(
    records: Records, item: Item, held: Mapping[str, list[Answer]], now: datetime
) -> dict[str, Any]:
    """A request with its answers, state, time to answer and whether it is late."""
    state = item.fields
    # Only the addressee answers: anything else naming the request is not an answer.
    found = [a for a in held.get(item.id, []) if a.side == state.get("addressed_to")]
    first = found[0] if found else None
    deadline = str(state["deadline"])
    status = str(state.get("status", "open"))
    shown = "answered" if first is not None and status == "open" else status
    return {
        **item_view(records, item),
        "state": shown,
        "asked": item.first.created,
        "answers": [a.as_dict() for a in found],
        "days_to_answer": round(_days(item.first.created, first.created), 2) if first else None,
        "answered_in_time": (first.created <= deadline) if first else None,
        "late": first is None and status == "open" and parse_timestamp(deadline) < now,
        "deadline_passed": parse_timestamp(deadline) < now,
    }


def statistics(records: Records, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per addressed partner: requests, answered, the share answered within the deadline
    and within five days (Europol's benchmark), the mean days to answer, late ones."""
    table: dict[str, dict[str, Any]] = {}
    for view in views:
        row = table.setdefault(
            view["addressed_to"],
            {
                "partner": view["addressed_to"],
                "requests": 0,
                "answered": 0,
                "counted": 0,
                "in_time": 0,
                "within_5_days": 0,
                "late": 0,
                "_days": [],
            },
        )
        row["requests"] += 1
        if view["late"]:
            row["late"] += 1
        if view["days_to_answer"] is not None:
            row["answered"] += 1
            row["_days"].append(view["days_to_answer"])
            row["within_5_days"] += view["days_to_answer"] <= BENCHMARK_DAYS
        # Answered, or due and unanswered (a failure unless the requester cancelled it).
        if view["days_to_answer"] is not None or (
            view["deadline_passed"] and view["state"] != "cancelled"
        ):
            row["counted"] += 1
            row["in_time"] += bool(view["answered_in_time"])
    result = []
    for row in table.values():
        days = row.pop("_days")
        counted = row["counted"]
        row["share_in_time"] = round(row["in_time"] / counted, 3) if counted else None
        row["share_within_5_days"] = round(row["within_5_days"] / counted, 3) if counted else None
        row["mean_days_to_answer"] = round(sum(days) / len(days), 2) if days else None
        result.append(row)
    return sorted(result, key=lambda r: r["partner"])

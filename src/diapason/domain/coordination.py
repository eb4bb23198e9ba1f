"""The STIX custom objects of the joint mechanism (groups, meetings, actions, requests for
information, indicator figures): their type names, vocabularies and JSON schemas.

Pure data: ``domain.extensions`` turns each schema into an extension-definition of type
``new-sdo`` shipped by every node, and ``coordinate/`` builds and reads the objects.

Every one of these objects is one **revision** of a joint item. An item's first revision
has no ``item_ref``; every later revision names the first one in ``item_ref`` and the
revision(s) it was based on in ``based_on_refs``. Two revisions based on the same revision
are concurrent edits: a conflict, until a revision based on both supersedes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GROUP_TYPE = "x-diapason-group"
MEETING_TYPE = "x-diapason-meeting"
ACTION_TYPE = "x-diapason-action"
RFI_TYPE = "x-diapason-rfi"
FIGURE_TYPE = "x-diapason-indicator-figure"

ITEM_TYPES: tuple[str, ...] = (GROUP_TYPE, MEETING_TYPE, ACTION_TYPE, RFI_TYPE, FIGURE_TYPE)

GROUP_KINDS: tuple[str, ...] = ("gmmp", "security", "other")
MEETING_KINDS: tuple[str, ...] = ("tete-a-tete", "working", "plenary")
MEETING_STATUSES: tuple[str, ...] = ("planned", "held", "cancelled")
ACTION_STATUSES: tuple[str, ...] = ("open", "in-progress", "done", "cancelled")
RFI_PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
RFI_STATUSES: tuple[str, ...] = ("open", "closed", "cancelled")

# Properties every revision may carry besides the STIX common ones.
REVISION_PROPERTIES: frozenset[str] = frozenset(
    {"item_ref", "based_on_refs", "revision_note", "edited_by"}
)

_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
_TEXT: dict[str, Any] = {"type": "string", "pattern": "\\S"}
_TEXTS: dict[str, Any] = {"type": "array", "items": _TEXT}
_ID: dict[str, Any] = {"type": "string", "pattern": "^[a-z0-9-]+--[0-9a-f-]{36}$"}
_IDS: dict[str, Any] = {"type": "array", "items": _ID, "uniqueItems": True}
_DATE: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_TIMESTAMP: dict[str, Any] = {
    "type": "string",
    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$",
}

_REVISION: dict[str, Any] = {
    "item_ref": {**_ID, "description": "the item's first revision (absent on it)"},
    "based_on_refs": {**_IDS, "minItems": 1, "description": "the revision(s) this one edits"},
    "revision_note": {**_TEXT, "description": "why this revision (a correction's reason)"},
    "edited_by": {**_TEXT, "description": "the user who made this revision, on its node"},
}


def _schema(title: str, properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": _SCHEMA,
        "title": title,
        "type": "object",
        "properties": {**_REVISION, **properties},
        "required": required,
        "dependentRequired": {"based_on_refs": ["item_ref"], "item_ref": ["based_on_refs"]},
    }


_MEMBER = {
    "type": "object",
    "required": ["name", "partner"],
    "properties": {
        "name": _TEXT,
        "partner": {**_TEXT, "description": "the partner (node name) the member belongs to"},
        "function": _TEXT,
        "chair": {"type": "boolean", "description": "chairs the group for their side"},
    },
    "additionalProperties": False,
}

GROUP_SCHEMA: dict[str, Any] = _schema(
    GROUP_TYPE,
    {
        "name": _TEXT,
        "kind": {"enum": list(GROUP_KINDS)},
        "description": _TEXT,
        "partners": {**_TEXTS, "minItems": 1, "description": "the partners (node names)"},
        "members": {"type": "array", "items": _MEMBER},
    },
    ["name", "kind", "partners"],
)

MEETING_SCHEMA: dict[str, Any] = _schema(
    MEETING_TYPE,
    {
        "group_ref": _ID,
        "title": _TEXT,
        "kind": {"enum": list(MEETING_KINDS)},
        "start": _TIMESTAMP,
        "place": _TEXT,
        "status": {"enum": list(MEETING_STATUSES)},
        "delegations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["partner", "members"],
                "properties": {"partner": _TEXT, "members": _TEXTS, "head": _TEXT},
                "additionalProperties": False,
            },
        },
        "agenda": _TEXTS,
        "minutes": {"type": "string"},
        "decisions": _TEXTS,
    },
    ["group_ref", "title", "kind", "start", "place", "status"],
)

ACTION_SCHEMA: dict[str, Any] = _schema(
    ACTION_TYPE,
    {
        "title": _TEXT,
        "description": {"type": "string"},
        "meeting_ref": _ID,
        "owner": {**_TEXT, "description": "the partner (node name) that owns the action"},
        "assignee": _TEXT,
        "due": _DATE,
        "status": {"enum": list(ACTION_STATUSES)},
        "linked_refs": {**_IDS, "description": "any object the action is about"},
    },
    ["title", "owner", "due", "status"],
)

RFI_SCHEMA: dict[str, Any] = _schema(
    RFI_TYPE,
    {
        "title": _TEXT,
        "question": _TEXT,
        "priority": {"enum": list(RFI_PRIORITIES)},
        "deadline": _TIMESTAMP,
        "requester": _TEXT,
        "addressed_to": _TEXT,
        "status": {"enum": list(RFI_STATUSES)},
        "linked_refs": _IDS,
    },
    ["title", "question", "priority", "deadline", "requester", "addressed_to", "status"],
)

FIGURE_SCHEMA: dict[str, Any] = _schema(
    FIGURE_TYPE,
    {
        "indicator": {**_TEXT, "description": "the code of a shared indicator definition"},
        "month": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
        "side": {**_TEXT, "description": "the partner (node name) whose figure this is"},
        "value": {"type": "integer", "minimum": 0},
        "comment": {"type": "string"},
    },
    ["indicator", "month", "side", "value"],
)

SCHEMAS: Mapping[str, Mapping[str, Any]] = {
    GROUP_TYPE: GROUP_SCHEMA,
    MEETING_TYPE: MEETING_SCHEMA,
    ACTION_TYPE: ACTION_SCHEMA,
    RFI_TYPE: RFI_SCHEMA,
    FIGURE_TYPE: FIGURE_SCHEMA,
}

DESCRIPTIONS: Mapping[str, str] = {
    GROUP_TYPE: "A joint group (the GMMP, a working group): its partners, members and chairs.",
    MEETING_TYPE: "A meeting of a joint group: kind, date, place, delegations, agenda, "
    "minutes and decisions.",
    ACTION_TYPE: "An action item: owning partner, assignee, due date, status, linked objects.",
    RFI_TYPE: "A request for information or expertise addressed to a partner: priority, "
    "deadline, question, linked objects, status.",
    FIGURE_TYPE: "A monthly aggregate figure of a shared migration-governance indicator, "
    "entered by one side. Aggregates only: never an individual.",
}

"""Coordination: joint groups, their meetings (decisions, minutes, action items) and the
action items with the overdue ones flagged.

Requests for information are in ``pages_coordinate_requests.py``; indicators, opinions
and conflicts in ``pages_coordinate_shared.py``. Every write goes through
``diapason.coordinate.Coordination``; a refused form comes back with what was typed.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from diapason.coordinate.documents import to_markdown
from diapason.coordinate.records import CoordinationError
from diapason.domain.coordination import (
    ACTION_STATUSES,
    GROUP_KINDS,
    MEETING_KINDS,
    MEETING_STATUSES,
)
from diapason.web.ui.coordination import attempt, context, lines, service, typed_fields
from diapason.web.ui.core import NavItem, Refused, Ui, View
from diapason.web.ui.i18n import N_

NAV = (NavItem(N_("Coordination"), "/coordination", "coordination:read", 50),)
GROUP_FIELDS = ("name", "kind", "partners", "description")
MEETING_FIELDS = ("group_ref", "title", "kind", "start", "place", "status", "agenda")
ACTION_FIELDS = ("title", "owner", "assignee", "due", "description", "meeting_ref")
RECORD_FIELDS = ("status", "minutes", "decisions", "based_on")


def _form_values(view: View, names: tuple[str, ...]) -> dict[str, str]:
    """Fields as typed; multi-line ones keep their lines."""
    return {name: view.form.get(name, "").strip() for name in names}


def groups_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """The joint groups and the form to create one."""
    return view.render(
        "coordinate/groups.html",
        status=status,
        **context(
            view,
            groups=service(view).groups(),
            kinds=GROUP_KINDS,
            typed=typed or {"name": "", "kind": "gmmp", "partners": "", "description": ""},
            problem=problem,
        ),
    )


def groups(view: View) -> Response:
    return groups_page(view)


def create_group(view: View) -> Response:
    """Create a group: name, kind and the partners (sides) taking part."""
    typed = typed_fields(view, GROUP_FIELDS)
    partners = [p for p in typed["partners"].replace(",", " ").split() if p]
    return attempt(
        lambda: service(view).create_group(
            typed["name"], typed["kind"], partners, description=typed["description"] or None
        ),
        lambda message, status: groups_page(view, typed, message, status),
        lambda _written: view.redirect("/coordination"),
    )


def meetings_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """Meetings, soonest first, and the form to plan one."""
    coordination = service(view)
    return view.render(
        "coordinate/meetings.html",
        status=status,
        **context(
            view,
            meetings=coordination.meetings(),
            groups=coordination.groups(),
            kinds=MEETING_KINDS,
            statuses=MEETING_STATUSES,
            typed=typed or {"kind": "working", "status": "planned"},
            problem=problem,
        ),
    )


def meetings(view: View) -> Response:
    return meetings_page(view)


def create_meeting(view: View) -> Response:
    """Plan (or record) a meeting of a group."""
    typed = _form_values(view, MEETING_FIELDS)
    return attempt(
        lambda: service(view).create_meeting(
            typed["group_ref"],
            typed["title"],
            typed["kind"],
            typed["start"],
            typed["place"],
            agenda=lines(typed["agenda"]),
            status=typed["status"] or "planned",
        ),
        lambda message, status: meetings_page(view, typed, message, status),
        lambda written: view.redirect(f"/coordination/meetings/{written.item_id}"),
    )


def meeting_page(
    view: View,
    typed: dict[str, Any] | None = None,
    problem: str | None = None,
    status: int = 200,
    action_typed: dict[str, Any] | None = None,
    action_problem: str | None = None,
) -> Response:
    """A meeting: details, decisions and minutes (editable), and its action items with the
    form to add one."""
    meeting_id = view.request.path_params["meeting_id"]
    try:
        shown = service(view).meeting(meeting_id)
    except CoordinationError as error:
        raise Refused(error.status, str(error)) from None
    record = typed or {
        "status": shown.get("status", "planned"),
        "minutes": shown.get("minutes") or "",
        "decisions": "\n".join(shown.get("decisions") or []),
        "based_on": shown["revision"],
    }
    return view.render(
        "coordinate/meeting.html",
        status=status,
        **context(
            view,
            meeting=shown,
            statuses=MEETING_STATUSES,
            action_statuses=ACTION_STATUSES,
            typed=record,
            problem=problem,
            action_typed=action_typed or {"owner": view.node.settings.node_name},
            action_problem=action_problem,
        ),
    )


def meeting(view: View) -> Response:
    return meeting_page(view)


def record_meeting(view: View) -> Response:
    """Record a meeting's status, minutes and decisions (a revision of the meeting, based
    on the one the user saw: a concurrent edit makes a conflict, not a silent loss)."""
    meeting_id = view.request.path_params["meeting_id"]
    typed = _form_values(view, RECORD_FIELDS)
    changes = {
        "status": typed["status"],
        "minutes": typed["minutes"] or None,
        "decisions": lines(typed["decisions"]),
    }
    return attempt(
        lambda: service(view).update(
            meeting_id, changes, based_on=typed["based_on"] or None, note="web: minutes"
        ),
        lambda message, status: meeting_page(view, typed, message, status),
        lambda _written: view.redirect(f"/coordination/meetings/{meeting_id}"),
    )


def add_meeting_action(view: View) -> Response:
    """An action item decided at this meeting."""
    meeting_id = view.request.path_params["meeting_id"]
    typed = _form_values(view, ACTION_FIELDS)
    return attempt(
        lambda: _create_action(view, typed, meeting_id),
        lambda message, status: meeting_page(
            view, status=status, action_typed=typed, action_problem=message
        ),
        lambda _written: view.redirect(f"/coordination/meetings/{meeting_id}"),
    )


def meeting_document(view: View) -> Response:
    """The meeting's minutes or draft joint communiqué, as Markdown, in the reader's
    language (the JSON API's documents, for a signed-in reader)."""
    meeting_id = view.request.path_params["meeting_id"]
    coordination = service(view)
    makers = {"minutes": coordination.minutes, "communique": coordination.communique}
    make = makers.get(view.request.path_params["document"])
    if make is None:
        raise Refused(404, str(view.gettext("No such document.")))
    try:
        document = make(meeting_id, view.lang)
    except CoordinationError as error:
        raise Refused(error.status, str(error)) from None
    return PlainTextResponse(to_markdown(document), media_type="text/markdown; charset=utf-8")


def _create_action(view: View, typed: dict[str, str], meeting_id: str | None) -> Any:
    return service(view).create_action(
        typed["title"],
        typed["owner"],
        typed["due"],
        meeting_ref=meeting_id,
        assignee=typed["assignee"] or None,
        description=typed["description"] or None,
    )


def actions_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """Action items, soonest due first, the overdue ones flagged (or only those)."""
    only_overdue = view.query.get("overdue") == "1"
    coordination = service(view)
    return view.render(
        "coordinate/actions.html",
        status=status,
        **context(
            view,
            actions=coordination.actions(overdue=only_overdue),
            only_overdue=only_overdue,
            action_statuses=ACTION_STATUSES,
            meetings=coordination.meetings(),
            typed=typed or {"owner": view.node.settings.node_name},
            problem=problem,
        ),
    )


def actions(view: View) -> Response:
    return actions_page(view)


def create_action(view: View) -> Response:
    """An action item, with or without a meeting."""
    typed = _form_values(view, ACTION_FIELDS)
    return attempt(
        lambda: _create_action(view, typed, typed["meeting_ref"] or None),
        lambda message, status: actions_page(view, typed, message, status),
        lambda _written: view.redirect("/coordination/actions"),
    )


def action_status(view: View) -> Response:
    """Change an action's status (done, in progress, …) from the list."""
    action_id = view.request.path_params["action_id"]
    typed = _form_values(view, ("status", "based_on"))
    return attempt(
        lambda: service(view).update(
            action_id, {"status": typed["status"]}, based_on=typed["based_on"] or None
        ),
        lambda message, status: actions_page(view, None, message, status),
        lambda _written: view.redirect("/coordination/actions"),
    )


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    read, write = "coordination:read", "coordination:write"
    return [
        ui.page("/coordination", groups, permission=read),
        ui.page("/coordination/groups", create_group, methods=("POST",), permission=write),
        ui.page("/coordination/meetings", meetings, permission=read),
        ui.page("/coordination/meetings", create_meeting, methods=("POST",), permission=write),
        ui.page("/coordination/meetings/{meeting_id}", meeting, permission=read),
        ui.page(
            "/coordination/meetings/{meeting_id}/record",
            record_meeting,
            methods=("POST",),
            permission=write,
        ),
        ui.page(
            "/coordination/meetings/{meeting_id}/actions",
            add_meeting_action,
            methods=("POST",),
            permission=write,
        ),
        ui.page(
            "/coordination/meetings/{meeting_id}/{document:str}.md",
            meeting_document,
            permission=read,
        ),
        ui.page("/coordination/actions", actions, permission=read),
        ui.page("/coordination/actions", create_action, methods=("POST",), permission=write),
        ui.page(
            "/coordination/actions/{action_id}/status",
            action_status,
            methods=("POST",),
            permission=write,
        ),
    ]

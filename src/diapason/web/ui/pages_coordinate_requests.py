"""Coordination: requests for information between partners (create, answer, close) and
the per-partner statistics of answers within the deadline and within five days."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from diapason.coordinate.records import CoordinationError
from diapason.domain.coordination import RFI_PRIORITIES
from diapason.web.ui.coordination import attempt, context, ids, service, typed_fields
from diapason.web.ui.core import NavItem, Refused, Ui, View

NAV: tuple[NavItem, ...] = ()  # reached from the coordination pages' sub-navigation
REQUEST_FIELDS = ("title", "question", "addressed_to", "deadline", "priority", "linked_refs")
STATES = ("open", "answered", "late", "closed", "cancelled")


def requests_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """Requests held (made here or received), soonest deadline first, filtered by state;
    the statistics per addressed partner; the form to make one."""
    state = view.query.get("state") or None
    if state not in (None, *STATES):
        state = None
    coordination = service(view)
    me = view.node.settings.node_name
    return view.render(
        "coordinate/requests.html",
        status=status,
        **context(
            view,
            requests=coordination.requests(state=state),
            statistics=coordination.request_statistics(),
            state=state or "",
            states=STATES,
            priorities=RFI_PRIORITIES,
            me=me,
            typed=typed or {"priority": "normal"},
            problem=problem,
        ),
    )


def requests(view: View) -> Response:
    return requests_page(view)


def create_request(view: View) -> Response:
    """A request to a partner: the deadline must be ahead, the addressee another side."""
    typed = typed_fields(view, REQUEST_FIELDS)
    return attempt(
        lambda: service(view).create_request(
            typed["title"],
            typed["question"],
            typed["addressed_to"],
            typed["deadline"],
            priority=typed["priority"] or "normal",
            linked_refs=ids(typed["linked_refs"]),
        ),
        lambda message, status: requests_page(view, typed, message, status),
        lambda written: view.redirect(f"/coordination/requests/{written.item_id}"),
    )


def request_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """One request with its answers; the addressee answers it, the requester closes it."""
    request_id = view.request.path_params["request_id"]
    try:
        shown = service(view).request(request_id)
    except CoordinationError as error:
        raise Refused(error.status, str(error)) from None
    me = view.node.settings.node_name
    return view.render(
        "coordinate/request.html",
        status=status,
        **context(
            view,
            request=shown,
            addressed_here=shown.get("addressed_to") == me,
            asked_here=shown.get("requester") == me,
            typed=typed or {},
            problem=problem,
        ),
    )


def request(view: View) -> Response:
    return request_page(view)


def answer(view: View) -> Response:
    """The addressee's answer (refused once the request is closed or cancelled)."""
    request_id = view.request.path_params["request_id"]
    typed = typed_fields(view, ("text", "provided"))
    return attempt(
        lambda: service(view).answer_request(request_id, typed["text"], ids(typed["provided"])),
        lambda message, status: request_page(view, typed, message, status),
        lambda _written: view.redirect(f"/coordination/requests/{request_id}"),
    )


def close(view: View) -> Response:
    """The requester closes (or cancels, or reopens) the request."""
    request_id = view.request.path_params["request_id"]
    typed = typed_fields(view, ("status", "note"))
    return attempt(
        lambda: service(view).close_request(
            request_id, typed["status"] or "closed", typed["note"] or None
        ),
        lambda message, status: request_page(view, typed, message, status),
        lambda _written: view.redirect(f"/coordination/requests/{request_id}"),
    )


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    read, write = "coordination:read", "coordination:write"
    return [
        ui.page("/coordination/requests", requests, permission=read),
        ui.page("/coordination/requests", create_request, methods=("POST",), permission=write),
        ui.page("/coordination/requests/{request_id}", request, permission=read),
        ui.page(
            "/coordination/requests/{request_id}/answers",
            answer,
            methods=("POST",),
            permission=write,
        ),
        ui.page(
            "/coordination/requests/{request_id}/close",
            close,
            methods=("POST",),
            permission=write,
        ),
    ]

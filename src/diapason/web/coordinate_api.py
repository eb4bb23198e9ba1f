"""The joint mechanism's JSON API, under ``/api/v1/coordinate/``.

Authentication as for TAXII (HTTP Basic with a password or token, or a Bearer token).
Reading needs ``coordination:read``, writing ``coordination:write`` (``domain/roles.py``).
Every request is audited: refused ones with why, reads as consultations, writes with the
objects they wrote. A client's mistake is a 4xx with ``{"error": "<one precise line>"}``,
never a 500. The routes are listed in docs/coordinate.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.coordinate import Coordination, CoordinationError
from diapason.coordinate.documents import to_markdown, to_pdf
from diapason.coordinate.editing import Edit
from diapason.coordinate.revisions import Revision
from diapason.domain.roles import has_permission
from diapason.http.pipeline import (
    Body,
    Credentials,
    Endpoint,
    Pipeline,
    Refused,
    Trail,
    json_error,
    json_response,
    read_bytes,
)
from diapason.node import Node

PREFIX = "/api/v1/coordinate"
# Joint records are short texts: a body this large is a mistake or an attack, whatever the
# (much larger) limit TAXII bundles need.
MAX_BODY = 1_048_576

Handler = Callable[[Coordination, Request, dict[str, Any]], Any]


_read_bytes = read_bytes(lambda limit: f"the body is over {limit} bytes")


async def read_object(request: Request, limit: int) -> dict[str, Any]:
    """The body: a JSON object, or nothing (an empty object)."""
    data = await _read_bytes(request, limit)
    if not data:
        return {}
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise Refused(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise Refused(400, "the body must be a JSON object")
    return value


def fields(
    body: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The body's fields, checked: every required one present, nothing unknown."""
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise CoordinationError(
            f"field {unknown[0]!r} is not accepted here (fields: "
            f"{', '.join((*required, *optional))})"
        )
    missing = [name for name in required if body.get(name) in (None, "")]
    if missing:
        raise CoordinationError(f"field {missing[0]!r} is required")
    return {k: v for k, v in body.items() if v is not None}


def written(result: Revision | Edit) -> dict[str, Any]:
    if isinstance(result, Edit):
        return result.as_dict()
    return {**result.as_dict(), "conflict": False}


class CoordinateApi:
    """The routes, bound to one node; ``clock`` is the time the service sees (None: now)."""

    def __init__(self, node: Node, *, clock: Callable[[], datetime] | None = None) -> None:
        self.node = node
        self.clock = clock
        self.trail = Trail(node.audit, "api", denial_status=True)
        self.credentials = Credentials(node.authenticator, self.trail)
        self.reading = Pipeline(
            partial(self._admit, "coordination:read"), json_error, self.trail.refused
        )
        self.writing = Pipeline(
            partial(self._admit, "coordination:write"), json_error, self.trail.refused
        )
        self.body = Body[User](
            read_object, limit=min(MAX_BODY, self.node.settings.max_request_bytes)
        )

    # -- plumbing ---------------------------------------------------------------------------
    def endpoint(self, handler: Handler, *, write: bool) -> Endpoint:
        if write:
            return self.writing.endpoint(partial(self._run, handler, True), body=self.body)
        return self.reading.endpoint(partial(self._run, handler, False))

    def _admit(self, permission: str, request: Request) -> User:
        user = self.credentials.user(request)
        if not has_permission(user.role, permission):
            raise self.trail.denied(
                request,
                user,
                f"role {user.role} lacks {permission}",
                Refused(403, f"this account may not do this ({permission} is needed)"),
            )
        return user

    def _run(self, handler: Handler, write: bool, request: Request, user: User) -> Response:
        """The handler's work, as this user; a refusal of the joint mechanism is a 4xx."""
        body: dict[str, Any] = request.state.body if write else {}
        joint = self.node.coordination(actor=user.username, editor=user.username, clock=self.clock)
        try:
            result = handler(joint, request, body)
        except CoordinationError as error:
            raise Refused(error.status, str(error)) from None
        if isinstance(result, Response):
            return result
        return json_response(result, 201 if request.method == "POST" else 200)

    # -- handlers ---------------------------------------------------------------------------
    @staticmethod
    def _query(request: Request, name: str) -> str | None:
        value = request.query_params.get(name)
        return value if value else None

    def routes(self) -> list[Route]:
        read = partial(self.endpoint, write=False)
        write = partial(self.endpoint, write=True)
        q = self._query
        p = PREFIX
        return [
            Route(f"{p}/groups", read(lambda c, r, b: c.groups()), methods=["GET"]),
            Route(f"{p}/groups", write(_create_group), methods=["POST"]),
            Route(
                f"{p}/meetings", read(lambda c, r, b: c.meetings(q(r, "group"))), methods=["GET"]
            ),
            Route(f"{p}/meetings", write(_create_meeting), methods=["POST"]),
            Route(
                f"{p}/meetings/{{item_id}}/minutes",
                read(partial(_document, "minutes")),
                methods=["GET"],
            ),
            Route(
                f"{p}/meetings/{{item_id}}/communique",
                read(partial(_document, "communique")),
                methods=["GET"],
            ),
            Route(
                f"{p}/actions",
                read(
                    lambda c, r, b: c.actions(
                        meeting=q(r, "meeting"),
                        owner=q(r, "owner"),
                        overdue=q(r, "overdue") in ("1", "true", "yes"),
                    )
                ),
                methods=["GET"],
            ),
            Route(
                f"{p}/meetings/{{item_id}}/communique",
                write(
                    lambda c, r, b: c.share_communique(
                        r.path_params["item_id"], fields(b, (), ("lang",)).get("lang", "fr")
                    )
                ),
                methods=["POST"],
            ),
            Route(f"{p}/actions", write(_create_action), methods=["POST"]),
            Route(
                f"{p}/requests",
                read(lambda c, r, b: c.requests(addressed_to=q(r, "to"), state=q(r, "state"))),
                methods=["GET"],
            ),
            Route(f"{p}/requests", write(_create_request), methods=["POST"]),
            Route(
                f"{p}/requests/statistics",
                read(lambda c, r, b: c.request_statistics()),
                methods=["GET"],
            ),
            Route(f"{p}/requests/{{item_id}}/answers", write(_answer), methods=["POST"]),
            Route(f"{p}/requests/{{item_id}}/close", write(_close), methods=["POST"]),
            Route(
                f"{p}/indicators", read(lambda c, r, b: c.indicator_definitions()), methods=["GET"]
            ),
            Route(
                f"{p}/figures", read(lambda c, r, b: c.figures(q(r, "indicator"))), methods=["GET"]
            ),
            Route(
                f"{p}/figures", write(lambda c, r, b: written(c.enter_figure(b))), methods=["POST"]
            ),
            Route(f"{p}/figures/corrections", write(_correct), methods=["POST"]),
            Route(f"{p}/figures/chart", read(_chart), methods=["GET"]),
            Route(
                f"{p}/opinions", read(lambda c, r, b: c.opinions(q(r, "topic"))), methods=["GET"]
            ),
            Route(f"{p}/opinions", write(_opinion), methods=["POST"]),
            Route(
                f"{p}/convergence",
                read(lambda c, r, b: c.convergence(q(r, "period") or "quarter", q(r, "topic"))),
                methods=["GET"],
            ),
            Route(f"{p}/conflicts", read(lambda c, r, b: c.conflicts()), methods=["GET"]),
            Route(
                f"{p}/items/{{item_id}}",
                read(lambda c, r, b: c.get(r.path_params["item_id"])),
                methods=["GET"],
            ),
            Route(f"{p}/items/{{item_id}}", write(_update), methods=["PATCH"]),
            Route(
                f"{p}/items/{{item_id}}/history",
                read(lambda c, r, b: c.history(r.path_params["item_id"])),
                methods=["GET"],
            ),
            Route(f"{p}/items/{{item_id}}/resolution", write(_resolve), methods=["POST"]),
        ]


def _create_group(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, ("name", "kind", "partners"), ("members", "description", "tlp"))
    return written(
        joint.create_group(
            f["name"],
            f["kind"],
            f["partners"],
            f.get("members", []),
            f.get("description"),
            tlp=f.get("tlp"),
        )
    )


def _create_meeting(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(
        body,
        ("group_ref", "title", "kind", "start", "place"),
        ("delegations", "agenda", "status", "tlp"),
    )
    return written(
        joint.create_meeting(
            f["group_ref"],
            f["title"],
            f["kind"],
            f["start"],
            f["place"],
            delegations=f.get("delegations", []),
            agenda=f.get("agenda", []),
            status=f.get("status", "planned"),
            tlp=f.get("tlp"),
        )
    )


def _create_action(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(
        body,
        ("title", "owner", "due"),
        ("meeting_ref", "assignee", "description", "linked_refs", "tlp"),
    )
    return written(
        joint.create_action(
            f["title"],
            f["owner"],
            f["due"],
            meeting_ref=f.get("meeting_ref"),
            assignee=f.get("assignee"),
            description=f.get("description"),
            linked_refs=f.get("linked_refs", []),
            tlp=f.get("tlp"),
        )
    )


def _create_request(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(
        body, ("title", "question", "addressed_to", "deadline"), ("priority", "linked_refs", "tlp")
    )
    return written(
        joint.create_request(
            f["title"],
            f["question"],
            f["addressed_to"],
            f["deadline"],
            priority=f.get("priority", "normal"),
            linked_refs=f.get("linked_refs", []),
            tlp=f.get("tlp"),
        )
    )


def _answer(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, ("text",), ("provided",))
    return joint.answer_request(request.path_params["item_id"], f["text"], f.get("provided", []))


def _close(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, (), ("status", "note"))
    return written(
        joint.close_request(
            request.path_params["item_id"], f.get("status", "closed"), f.get("note")
        )
    )


def _correct(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, ("indicator", "month", "value", "reason"))
    return written(joint.correct_figure(f["indicator"], f["month"], f["value"], f["reason"]))


def _chart(joint: Coordination, request: Request, body: dict[str, Any]) -> Response:
    indicator = request.query_params.get("indicator")
    if not indicator:
        raise CoordinationError("query parameter 'indicator' is required")
    svg = joint.figures_chart(indicator, request.query_params.get("lang", "en"))
    return Response(svg, media_type="image/svg+xml")


def _opinion(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, ("object_refs", "opinion", "topic"), ("explanation", "tlp"))
    refs = f["object_refs"]
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise CoordinationError("field 'object_refs': expected a list of STIX ids")
    return joint.record_opinion(
        refs, f["opinion"], f["topic"], f.get("explanation"), tlp=f.get("tlp", "amber")
    )


def _update(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, ("changes",), ("based_on", "note"))
    if not isinstance(f["changes"], dict) or not f["changes"]:
        raise CoordinationError("field 'changes': expected an object of field: value")
    return written(
        joint.update(
            request.path_params["item_id"],
            f["changes"],
            based_on=f.get("based_on"),
            note=f.get("note"),
        )
    )


def _resolve(joint: Coordination, request: Request, body: dict[str, Any]) -> Any:
    f = fields(body, (), ("take", "values", "note"))
    values = f.get("values", {})
    if not isinstance(values, dict):
        raise CoordinationError("field 'values': expected an object of field: value")
    return written(
        joint.resolve(
            request.path_params["item_id"], take=f.get("take"), values=values, note=f.get("note")
        )
    )


def _document(name: str, joint: Coordination, request: Request, body: dict[str, Any]) -> Response:
    lang = request.query_params.get("lang", "fr")
    form = request.query_params.get("format", "md")
    document = getattr(joint, name)(request.path_params["item_id"], lang)
    if form == "pdf":
        return Response(to_pdf(document), media_type="application/pdf")
    if form != "md":
        raise CoordinationError(f"query parameter 'format': {form[:20]!r} is not md or pdf")
    return Response(to_markdown(document), media_type="text/markdown; charset=utf-8")

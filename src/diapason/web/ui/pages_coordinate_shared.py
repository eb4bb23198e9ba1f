"""Coordination: what both sides build together — the migration-governance indicators
(each side's monthly figures side by side), opinions on the partner's assessments with the
convergence index, and the conflicts left by concurrent edits, with the form that resolves
them."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from diapason.coordinate.opinions import PERIODS, SCORES
from diapason.coordinate.records import CoordinationError
from diapason.web.ui.coordination import attempt, context, ids, service, typed_fields
from diapason.web.ui.core import NavItem, Refused, Ui, View

NAV: tuple[NavItem, ...] = ()  # reached from the coordination pages' sub-navigation


def indicators_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """One indicator: both sides' monthly figures side by side (chart and table), and the
    form to enter this side's figure of a month."""
    coordination = service(view)
    definitions = coordination.indicator_definitions()
    codes = [d["code"] for d in definitions]
    chosen = view.query.get("indicator") or codes[0]
    if chosen not in codes:
        raise Refused(404, str(view.gettext("No such indicator.")))
    if typed and typed.get("indicator") in codes:
        chosen = typed["indicator"]
    definition = next(d for d in definitions if d["code"] == chosen)
    unit = view.term("unit", str(definition.get("unit") or ""))
    # The chart is the service's SVG: every text in it is escaped there.
    chart = Markup(coordination.figures_chart(chosen, view.lang, unit))  # noqa: S704
    return view.render(
        "coordinate/indicators.html",
        status=status,
        **context(
            view,
            definitions=definitions,
            chosen=chosen,
            definition=definition,
            unit=unit,
            chart=chart,
            figures=coordination.figures(chosen),
            typed=typed or {"indicator": chosen},
            problem=problem,
        ),
    )


def indicators(view: View) -> Response:
    return indicators_page(view)


def enter_figure(view: View) -> Response:
    """This side's figure for a month (aggregates only: the service refuses personal
    data); a month already entered is corrected with a reason."""
    typed = typed_fields(view, ("indicator", "month", "value", "comment", "reason"))
    entry: dict[str, Any] = {
        "indicator": typed["indicator"],
        "month": typed["month"],
        "value": typed["value"],
    }
    if typed["comment"]:
        entry["comment"] = typed["comment"]
    coordination = service(view)

    def write() -> Any:
        if typed["reason"]:
            return coordination.correct_figure(
                typed["indicator"], typed["month"], typed["value"], typed["reason"]
            )
        return coordination.enter_figure(entry)

    return attempt(
        write,
        lambda message, status: indicators_page(view, typed, message, status),
        lambda _written: view.redirect(f"/coordination/indicators?indicator={typed['indicator']}"),
    )


def opinions_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """Opinions held (ours and the partner's) and the convergence index per topic and
    period; the form to record this side's opinion of partner assessments."""
    period = view.query.get("period") or "quarter"
    if period not in PERIODS:
        period = "quarter"
    coordination = service(view)
    return view.render(
        "coordinate/opinions.html",
        status=status,
        **context(
            view,
            opinions=coordination.opinions(),
            convergence=coordination.convergence(period),
            period=period,
            periods=PERIODS,
            levels=tuple(SCORES),
            typed=typed or {"opinion": "agree"},
            problem=problem,
        ),
    )


def opinions(view: View) -> Response:
    return opinions_page(view)


def record_opinion(view: View) -> Response:
    typed = typed_fields(view, ("object_refs", "opinion", "topic", "explanation"))
    return attempt(
        lambda: service(view).record_opinion(
            ids(typed["object_refs"]),
            typed["opinion"],
            typed["topic"],
            typed["explanation"] or None,
        ),
        lambda message, status: opinions_page(view, typed, message, status),
        lambda _written: view.redirect("/coordination/opinions"),
    )


def conflicts_page(
    view: View, typed: dict[str, Any] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """Every item edited on both sides at once: each side's changes since their common
    base, the clashing fields, and a form per item to settle them."""
    return view.render(
        "coordinate/conflicts.html",
        status=status,
        **context(
            view,
            conflicts=service(view).conflicts(),
            shown=lambda value: (
                value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            ),
            typed=typed or {},
            problem=problem,
        ),
    )


def conflicts(view: View) -> Response:
    return conflicts_page(view)


def resolve(view: View) -> Response:
    """Resolve a conflict: fields changed on one side are kept; each clash takes the value
    of the head chosen for it (``take:FIELD`` = a head id)."""
    item_id = view.request.path_params["item_id"]
    coordination = service(view)
    try:
        found = coordination.conflict(item_id)
    except CoordinationError as error:
        raise Refused(error.status, str(error)) from None
    typed = {key: value for key, value in view.form.items() if key != "csrf"}
    if found is None:
        return conflicts_page(
            view, typed, str(view.gettext("This item is not in conflict any more.")), 409
        )
    values: dict[str, Any] = {}
    for name, proposals in found["clashes"].items():
        head = typed.get(f"take:{name}", "")
        if head not in proposals:
            message = view.gettext("Choose one side's value for %(field)s.", field=name)
            return conflicts_page(view, typed | {"item": item_id}, str(message), 400)
        values[name] = proposals[head]
    return attempt(
        lambda: coordination.resolve(
            item_id, values=values, note=typed.get("note", "").strip() or "web: resolution"
        ),
        lambda message, status: conflicts_page(view, typed | {"item": item_id}, message, status),
        lambda _written: view.redirect("/coordination/conflicts"),
    )


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    read, write = "coordination:read", "coordination:write"
    return [
        ui.page("/coordination/indicators", indicators, permission=read),
        ui.page("/coordination/indicators", enter_figure, methods=("POST",), permission=write),
        ui.page("/coordination/opinions", opinions, permission=read),
        ui.page("/coordination/opinions", record_opinion, methods=("POST",), permission=write),
        ui.page("/coordination/conflicts", conflicts, permission=read),
        ui.page(
            "/coordination/conflicts/{item_id}/resolve",
            resolve,
            methods=("POST",),
            permission=write,
        ),
    ]

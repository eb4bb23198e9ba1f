"""The dashboard: what came from and went to each partner lately, their sync status, the
trend of objects added per day, the newest early-warning alerts, the overdue actions and
the open requests for information; for the roles with ``metrics:read``, the node's
operations (the figures of ``/metrics``, web/metrics.py) and its audit entries per hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from diapason.anticipate.alerts import ALERT_TYPE
from diapason.http.metrics import EndpointFigures, RequestMetrics
from diapason.web.metrics import PERMISSION as METRICS
from diapason.web.metrics import Operations
from diapason.web.ui.coordination import loose, service
from diapason.web.ui.core import NavItem, Ui, View
from diapason.web.ui.i18n import N_
from diapason.web.ui.pages_anticipate import alert_row
from diapason.web.ui.svg import bar_chart, trend_chart

NAV = (NavItem(N_("Dashboard"), "/", None, 10),)
TREND_DAYS = 30
AUDIT_HOURS = 48
LATEST = 5
ROWS = 10


@dataclass(frozen=True)
class OperationsView:
    """The Operations section: the figures, the busiest endpoints, the audit chart."""

    figures: Operations
    endpoints: list[EndpointFigures]
    audit_chart: Markup
    audit_recent: int


def elapsed(view: View, seconds: float | None) -> str:
    """A duration as a person reads it: ``42 s``, ``5 min 3 s``, ``3 h 02 min``, ``2 d 4 h``."""
    if seconds is None:
        return str(view.gettext("never"))
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return str(view.gettext("%(days)s d %(hours)s h", days=days, hours=hours))
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def operations(view: View) -> OperationsView:
    """The same figures ``/metrics`` gives, read now, for a person."""
    now = datetime.now(UTC)
    figures = Operations.of(view.node, view.ui.clock() if view.ui.clock else now)
    metrics = getattr(view.request.app.state, "metrics", None)
    endpoints = metrics.endpoints()[:ROWS] if isinstance(metrics, RequestMetrics) else []
    hours = view.node.read.audit_per_hour(now, AUDIT_HOURS)
    recent = sum(count for _, count in hours)
    chart = bar_chart(
        [(f"{hour:%Y-%m-%d %H}:00", count) for hour, count in hours],
        title=str(view.gettext("Audit entries per hour")),
        description=str(
            view.gettext(
                "%(total)s audit entries written over the last %(hours)s hours (UTC)",
                total=recent,
                hours=AUDIT_HOURS,
            )
        ),
        ident="audit-hours",
    )
    return OperationsView(figures, endpoints, chart, recent)


def dashboard(view: View) -> Response:
    """The home page; each section shows what the reader's role may see."""
    read = view.node.read
    partners = (
        view.node.partners.all() if view.can("objects:read") or view.can("partners:manage") else []
    )
    exchanges = []
    shown: list[str] = []
    for partner in partners:
        received = released = []
        if view.can("objects:read"):
            received = read.received_from(partner.name, LATEST)
            released = read.released_to(partner.outbox, LATEST)
            shown.extend(item.id for item in (*received, *released))
        # What the partner has not acknowledged storing, and receipts we still owe it.
        tally = (
            view.node.deliveries.unacknowledged(partner.name),
            view.node.outgoing_receipts.count(partner.name),
        )
        exchanges.append((partner, received, released, tally))
    trend = None
    if view.can("objects:read"):
        today = datetime.now(UTC).date()
        counts = read.added_per_day(today, TREND_DAYS)
        trend = trend_chart(
            counts,
            title=str(view.gettext("Objects added per day")),
            description=str(
                view.gettext(
                    "%(total)s object versions added over the last %(days)s days",
                    total=sum(count for _, count in counts),
                    days=TREND_DAYS,
                )
            ),
        )
    alerts = []
    if view.can("objects:read"):
        alerts = read.newest_of_type(ALERT_TYPE, LATEST)
        shown.extend(str(alert.get("id")) for alert in alerts)
    overdue: list[dict[str, object]] = []
    open_requests: list[dict[str, object]] = []
    if view.can("coordination:read"):
        # The service audits these listings itself (as a consultation of each item).
        coordination = service(view)
        overdue = coordination.actions(overdue=True)[:ROWS]
        open_requests = [r for r in coordination.requests() if r.get("status") == "open"][:ROWS]
    if shown:
        view.audit("consult", sorted(set(shown)), details={"page": "dashboard"})
    return view.render(
        "dashboard.html",
        exchanges=exchanges,
        trend=trend,
        alerts=[alert_row(alert) for alert in alerts],
        overdue=loose(overdue),
        open_requests=loose(open_requests),
        operations=operations(view) if view.can(METRICS) else None,
        elapsed=lambda seconds: elapsed(view, seconds),
    )


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [ui.page("/", dashboard)]

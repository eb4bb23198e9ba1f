"""The dashboard: what a reader opens first (the latest reports, the newest early-warning
alerts, open requests for information, meetings to come and overdue actions), what came
from and went to each partner lately, their sync status, and the trend of objects added
per day; for the roles with ``metrics:read``, the node's operations (the figures of
``/metrics``, web/metrics.py) and its audit entries per hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from diapason.anticipate.alerts import ALERT_TYPE
from diapason.http.metrics import EndpointFigures, RequestMetrics
from diapason.store.read_model import Brief, title_of
from diapason.web.metrics import PERMISSION as METRICS
from diapason.web.metrics import Operations
from diapason.web.ui.coordination import loose, service
from diapason.web.ui.core import NavItem, Ui, View
from diapason.web.ui.i18n import N_
from diapason.web.ui.pages_anticipate import alert_row
from diapason.web.ui.pages_objects import readable
from diapason.web.ui.svg import bar_chart, trend_chart
from diapason.web.ui.words import long_date

NAV = (NavItem(N_("Dashboard"), "/", None, 10),)
TREND_DAYS = 30
AUDIT_HOURS = 48
LATEST = 5
ROWS = 10
# What the partner lists skip: links between objects, reached from the objects they link
# (five "located-at" in a row tell a reader nothing), and what the node writes for itself.
SKIPPED_TYPES = frozenset({"relationship", "sighting", "x-diapason-indicator-figure"})
# How many newest versions are read to find LATEST worth listing.
SCANNED = 60


def _worth_opening(view: View, briefs: list[Brief]) -> list[Brief]:
    """The first ``LATEST`` objects a reader would open, each once, titled readably."""
    seen: set[str] = set()
    kept = []
    for item in briefs:
        if item.type in SKIPPED_TYPES or item.id in seen:
            continue
        seen.add(item.id)
        kept.append(item)
        if len(kept) == LATEST:
            break
    return readable(view, kept)


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
            received = _worth_opening(view, read.received_from(partner.name, SCANNED))
            released = _worth_opening(view, read.released_to(partner.outbox, SCANNED))
            shown.extend(item.id for item in (*received, *released))
        # What the partner has not acknowledged storing, and receipts we still owe it.
        # And the joint items it sent that no side can be given yet (its identity unknown).
        tally = (
            view.node.deliveries.unacknowledged(partner.name),
            view.node.outgoing_receipts.count(partner.name),
            view.node.partners.unattributed(partner.name, view.node.own_identities()),
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
                view.ngettext(
                    "%(total)s object version added over the last %(days)s days",
                    "%(total)s object versions added over the last %(days)s days",
                    sum(count for _, count in counts),
                    total=sum(count for _, count in counts),
                    days=TREND_DAYS,
                )
            ),
            day_label=lambda day: long_date(day, view.lang),
        )
    alerts = []
    reports: list[Brief] = []
    if view.can("objects:read"):
        alerts = read.newest_of_type(ALERT_TYPE, LATEST)
        shown.extend(str(alert.get("id")) for alert in alerts)
        reports = [
            Brief(
                str(obj.get("id")),
                "report",
                title_of(obj),
                str(obj.get("published") or obj.get("modified") or ""),
                False,
            )
            for obj in read.newest_of_type("report", LATEST)
        ]
        shown.extend(item.id for item in reports)
    overdue: list[dict[str, object]] = []
    open_requests: list[dict[str, object]] = []
    meetings: list[dict[str, object]] = []
    if view.can("coordination:read"):
        # The service audits these listings itself (as a consultation of each item).
        coordination = service(view)
        overdue = coordination.actions(overdue=True)[:ROWS]
        open_requests = [r for r in coordination.requests() if r.get("status") == "open"][:ROWS]
        meetings = _next_meetings(coordination.meetings(), _today(view))
    if shown:
        view.audit("consult", sorted(set(shown)), details={"page": "dashboard"})
    return view.render(
        "dashboard.html",
        exchanges=exchanges,
        trend=trend,
        alerts=[alert_row(alert) for alert in alerts],
        overdue=loose(overdue),
        open_requests=loose(open_requests),
        reports=reports,
        meetings=loose(meetings),
        own_identity=view.node.identity_id,
        operations=operations(view) if view.can(METRICS) else None,
        elapsed=lambda seconds: elapsed(view, seconds),
    )


def _today(view: View) -> str:
    """Today's date (the interface's clock, else now), as the meetings' dates begin."""
    now = view.ui.clock() if view.ui.clock is not None else datetime.now(UTC)
    return now.astimezone(UTC).date().isoformat()


def _next_meetings(meetings: list[dict[str, Any]], today: str) -> list[dict[str, Any]]:
    """The meetings to come, soonest first; when none is planned, the latest held."""
    coming = [m for m in meetings if str(m.get("start", ""))[:10] >= today]
    if coming:
        return coming[:LATEST]
    return list(reversed(meetings))[:LATEST]


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [ui.page("/", dashboard)]

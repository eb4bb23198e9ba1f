"""The dashboard: what came from and went to each partner lately, their sync status, the
trend of objects added per day, the newest early-warning alerts, the overdue actions and
the open requests for information."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from diapason.anticipate.alerts import ALERT_TYPE
from diapason.web.ui.coordination import loose, service
from diapason.web.ui.core import NavItem, Ui, View
from diapason.web.ui.i18n import N_
from diapason.web.ui.pages_anticipate import alert_row
from diapason.web.ui.svg import trend_chart

NAV = (NavItem(N_("Dashboard"), "/", None, 10),)
TREND_DAYS = 30
LATEST = 5
ROWS = 10


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
        own_identity=view.node.identity_id,
    )


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [ui.page("/", dashboard)]

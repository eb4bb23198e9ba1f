"""The anticipation page over real HTTP (SQLite and PostgreSQL): a series from the store's
events with its forecast and alerts, alerts written and shown on the dashboard and the map,
the map coloured per country, bad choices refused as typed, roles."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from stix2validator import ValidationOptions, validate_instance

from diapason.anticipate.alerts import ALERT_TYPE
from diapason.domain.extensions import ALERT_EXTENSION_ID, EVENT_EXTENSION_ID, TLP_2_0_IDS
from diapason.node import Node
from diapason.web.ui.svg import count_steps
from tests.web.conftest import Site
from tests.web.objects import SCRIPT
from tests.web.site import PASSWORD, WebClient, put, text_of
from tests.web.test_pages import audit_rows

# Six quiet years in Mali, then a surge: the last two months are far above the forecast.
QUIET = [2, 3, 1, 4, 2, 3, 2, 1, 3, 2, 4, 3]
SURGE = [30, 34]


def event(number: int, day: date, country: str) -> dict[str, Any]:
    stamp = "2024-06-01T00:00:00.000Z"
    return {
        "type": "x-diapason-event",
        "spec_version": "2.1",
        "id": f"x-diapason-event--{uuid.uuid5(uuid.NAMESPACE_URL, f'web-{number}')}",
        "created": stamp,
        "modified": stamp,
        "occurred": f"{day.isoformat()}T12:00:00Z",
        "country": country,
        "event_type": "COERCE",
        "topics": ["terrorism"],
        "object_marking_refs": [TLP_2_0_IDS["green"]],
        "extensions": {EVENT_EXTENSION_ID: {"extension_type": "new-sdo"}},
    }


def store_events(node: Node) -> int:
    """Mali's events (quiet years, then a surge) and three in Morocco; how many."""
    counts = QUIET * 6 + SURGE
    made: list[dict[str, Any]] = []
    for month, count in enumerate(counts):
        year, index = divmod(month, 12)
        day = date(2018 + year, index + 1, 10)
        made.extend(event(len(made), day, "ML") for _ in range(count))
    made.extend(event(len(made), date(2024, 1, 5), "MA") for _ in range(3))
    put(node, *made)
    return len(made)


def test_series_forecast_alerts_and_map(site: Site, admin: WebClient) -> None:
    total = store_events(site.node)
    page = admin.get("/anticipation", place="ML", category="all", frequency="month", horizon="3")
    assert page.status_code == 200, text_of(page.text)[:500]
    html = page.text
    assert f"{total} events read from the knowledge base" in html
    assert html.count("<svg") == 2  # the series chart and the map
    assert "<title>Mali · all events · per month</title>" in html
    forecast_rows = html.split("<caption>Forecast</caption>")[1].split("</table>")[0]
    assert forecast_rows.count("<tr>") == 4  # header and three periods
    assert "March 2024" in forecast_rows  # a month as a person names it
    axis = re.findall(r'<text class="period"[^>]*>([^<]*)</text>', html)
    assert axis and all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", label) for label in axis), axis
    assert "upper tail" in html  # the surge's alert, explained
    alert = html.split("Alerts of this series")[1].split("</ul>")[0]
    assert "Mali · all events: an observed count" in alert and "ML/all" not in alert
    # The map: Mali has events of the last year, Morocco too; a legend; no alert stored yet.
    assert re.search(r"<title>Mali: \d+ events</title>", html)
    assert "<title>Morocco: 3 events</title>" in html
    assert "<title>Spain: 0 events</title>" in html
    assert "No alert stored yet." in html
    consults = [row for row in audit_rows(site, "consult") if row[3].get("page") == "anticipation"]
    assert consults and consults[-1][3]["events"] == total


def test_alerts_written_reach_the_dashboard_and_the_map(site: Site, admin: WebClient) -> None:
    store_events(site.node)
    query = "/anticipation?place=ML&category=all&frequency=month&horizon=6"
    written = admin.post(
        "/anticipation/alerts",
        {"place": "ML", "category": "all", "frequency": "month", "horizon": "6"},
        page=query,
    )
    assert written.status_code == 200
    assert re.search(r"[1-9]\d* alerts? written to the knowledge base", written.text)
    alerts = [row for row in audit_rows(site, "create") if row[3].get("anticipate") == "alerts"]
    assert alerts and alerts[0][0] == "web:admin"
    for alert_id in alerts[0][1]:
        stored = site.node.store.get(alert_id)
        assert stored is not None and stored.object["type"] == ALERT_TYPE
        assert ALERT_EXTENSION_ID in stored.object["extensions"]
        result = validate_instance(stored.object, ValidationOptions(strict=False))
        assert result.is_valid, [str(error) for error in result.errors]
    page = admin.get(query).text
    assert re.search(r"<title>Mali: \d+ events?, \d+ alerts?</title>", page)
    assert 'stroke="#b42318" stroke-width="2.5"' in page
    dashboard = admin.get("/").text.split('id="actions-h"')[0]
    assert "ML/all" in dashboard and "No alerts" not in dashboard
    # Written again: nothing new.
    again = admin.post(
        "/anticipation/alerts",
        {"place": "ML", "category": "all", "frequency": "month", "horizon": "6"},
        page=query,
    )
    assert "0 alerts written" in again.text


def test_a_partners_alert_is_shown_as_text(site: Site, admin: WebClient) -> None:
    store_events(site.node)
    stamp = "2024-06-01T00:00:00.000Z"
    hostile = {
        "type": ALERT_TYPE,
        "spec_version": "2.1",
        "id": f"{ALERT_TYPE}--{uuid.uuid4()}",
        "created": stamp,
        "modified": stamp,
        "name": f"Early warning {SCRIPT}",
        "series": f"MA/all{SCRIPT}",
        "frequency": "month",
        "alert_kinds": ["upper-tail"],
        "period_start": "2024-01",
        "period_end": "2024-01",
        "peak_period": "2024-01",
        "observed": 3,
        "expected_mean": 0.2,
        "expected_low": 0,
        "expected_high": 1,
        "probability": 0.001,
        "object_marking_refs": [TLP_2_0_IDS["green"]],
        "extensions": {ALERT_EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    put(site.node, hostile, source="partner:paris")
    for page in (admin.get("/anticipation").text, admin.get("/").text):
        assert "<script>window" not in page
        assert "&lt;script&gt;window.__xss = 1;&lt;/script&gt;" in page


def test_bad_choices_are_refused_as_typed(site: Site, admin: WebClient) -> None:
    store_events(site.node)
    place = admin.get("/anticipation", place="Atlantis", category="all")
    assert place.status_code == 400 and "unknown place &#39;Atlantis&#39;" in place.text
    category = admin.get("/anticipation", place="ML", category="topic:weather")
    assert category.status_code == 400 and "unknown topic" in category.text
    assert '<option value="ML" selected>' in category.text
    horizon = admin.get("/anticipation", place="ML", horizon="99")
    assert horizon.status_code == 400 and "Horizon: 1 to 12 periods." in horizon.text
    frequency = admin.get("/anticipation", place="ML", frequency="day")
    assert frequency.status_code == 400
    refused = admin.post(
        "/anticipation/alerts", {"place": "Atlantis", "category": "all"}, page="/anticipation"
    )
    assert refused.status_code == 400
    assert not [row for row in audit_rows(site, "create") if row[3].get("anticipate")]


def test_without_events_the_page_says_so(admin: WebClient) -> None:
    page = admin.get("/anticipation")
    assert page.status_code == 200
    assert "0 events read" in page.text and "no events in the store" in page.text
    assert page.text.count("<svg") == 1  # the map alone


def test_roles_on_anticipation(site: Site, admin: WebClient) -> None:
    store_events(site.node)
    site.node.accounts.add_user("vera", "viewer", PASSWORD)
    site.node.accounts.add_user("otto", "auditor", PASSWORD)
    viewer = site.client()
    viewer.login("vera")
    page = viewer.get("/anticipation", place="ML")
    assert page.status_code == 200 and "/anticipation/alerts" not in page.text
    refused = viewer.post("/anticipation/alerts", {"place": "ML"}, page="/anticipation")
    assert refused.status_code == 403
    auditor = site.client()
    auditor.login("otto")
    assert auditor.get("/anticipation").status_code == 403


def test_colour_steps_cover_the_counts() -> None:
    assert count_steps(0) == [1]
    assert count_steps(3) == [1, 2, 3]
    steps = count_steps(1000)
    assert steps[0] == 1 and steps[-1] <= 1000 and steps == sorted(set(steps))


def test_new_events_are_counted_at_once(site: Site, admin: WebClient) -> None:
    """What the page keeps between requests is dropped when an event is added."""
    store_events(site.node)
    before = admin.get("/anticipation").text
    assert "<title>Morocco: 3 events</title>" in before
    put(site.node, event(10_000, date(2024, 1, 20), "MA"))
    after = admin.get("/anticipation").text
    assert "<title>Morocco: 4 events</title>" in after


def test_revoked_and_changed_events_are_counted_again(site: Site, admin: WebClient) -> None:
    """A new version of an event (moved to Algeria) and a revoked one change the counts."""
    store_events(site.node)
    assert "<title>Morocco: 3 events</title>" in admin.get("/anticipation").text
    moved = event(246, date(2024, 1, 5), "DZ") | {"modified": "2024-07-01T00:00:00.000Z"}
    revoked = event(245, date(2024, 1, 5), "MA") | {
        "modified": "2024-07-01T00:00:00.000Z",
        "revoked": True,
    }
    put(site.node, moved, revoked)
    page = admin.get("/anticipation").text
    assert "<title>Morocco: 1 event</title>" in page
    assert "<title>Algeria: 1 event</title>" in page

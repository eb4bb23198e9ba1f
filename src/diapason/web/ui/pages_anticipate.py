"""Anticipation: a series of event counts with its forecast band and alerts, and a map of
the region with each country's event count and the alerts standing on it.

Everything is computed from the store on request with ``diapason.anticipate`` (series,
forecast, alert detection, its SVG chart); the map is drawn here from the Natural Earth
outlines shipped in ``web/data/region.geojson`` (see its PROVENANCE.md).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from diapason.anticipate.alerts import ALERT_TYPE, Alert, detect_alerts
from diapason.anticipate.chart import chart_svg
from diapason.anticipate.events import (
    TOPICS,
    EventFacts,
    resolve_category,
    series_from_facts,
    store_facts,
)
from diapason.anticipate.forecast import MAX_HORIZON, forecast
from diapason.anticipate.places import PlaceError, countries, named_regions, resolve_place
from diapason.anticipate.publish import publish_alerts
from diapason.anticipate.series import SeriesError
from diapason.domain.extensions import TLP_2_0_IDS
from diapason.web.ui.core import NavItem, Ui, View
from diapason.web.ui.i18n import N_
from diapason.web.ui.queries import newest_of_type
from diapason.web.ui.svg import Country, region_map

NAV = (NavItem(N_("Anticipation"), "/anticipation", "objects:read", 40),)
FREQUENCIES = ("month", "week")
MAP_DAYS = 365
STORED_ALERTS = 500
# Alerts written from the web carry the markings of the events counted; without any, AMBER
# (as ``diapason anticipate alerts --write`` does).
DEFAULT_MARKINGS = (TLP_2_0_IDS["amber"],)


@cache
def map_countries() -> tuple[tuple[float, float, float, float], tuple[Country, ...]]:
    """The map's frame (west, south, east, north) and its countries, read once."""
    text = resources.files("diapason.web").joinpath("data/region.geojson").read_text("utf-8")
    data = json.loads(text)
    shapes = tuple(
        Country(
            feature["properties"].get("iso_a2"),
            feature["properties"]["name"],
            tuple(
                tuple(tuple((float(lon), float(lat)) for lon, lat in ring) for ring in polygon)
                for polygon in feature["geometry"]["coordinates"]
            ),
        )
        for feature in data["features"]
    )
    west, south, east, north = data["bbox"]
    return (west, south, east, north), shapes


def alert_row(obj: dict[str, Any]) -> dict[str, str]:
    """A stored alert (ours or a partner's, so untrusted) as the text of a table row."""

    def text(key: str) -> str:
        value = obj.get(key)
        return "" if value is None or isinstance(value, (dict, list)) else str(value)[:80]

    start, end = text("period_start"), text("period_end")
    probability = obj.get("probability")
    return {
        "id": str(obj.get("id", "")),
        "series": text("series") or text("name"),
        "periods": start if end in ("", start) else f"{start} \N{EN DASH} {end}",
        "observed": text("observed"),
        "expected": (
            f"{text('expected_mean')} "
            f"({text('expected_low')}\N{EN DASH}{text('expected_high')})"
        ),
        "probability": f"{probability:.2g}" if isinstance(probability, (int, float)) else "",
    }


def _choices(view: View) -> dict[str, Any]:
    regions = named_regions()
    return {
        "regions": [(key, value[f"name_{view.lang}"]) for key, value in sorted(regions.items())],
        "countries": sorted(countries().items(), key=lambda pair: pair[1]),
        "topics": TOPICS,
        "frequencies": FREQUENCIES,
        "horizons": range(1, MAX_HORIZON + 1),
    }


def _typed(view: View) -> dict[str, str]:
    source = view.form if view.request.method == "POST" else view.query
    return {
        "place": source.get("place", "sahel-saharan").strip() or "sahel-saharan",
        "category": source.get("category", "all").strip() or "all",
        "frequency": source.get("frequency", "month"),
        "horizon": source.get("horizon", "6"),
    }


def _series_of(
    view: View, typed: dict[str, str], facts: list[EventFacts]
) -> tuple[Any, str | None]:
    """The chosen series, or None and the one-line reason it cannot be made."""
    if typed["frequency"] not in FREQUENCIES:
        return None, str(view.gettext("Frequency: month or week."))
    if not typed["horizon"].isdigit() or not 1 <= int(typed["horizon"]) <= MAX_HORIZON:
        return None, str(view.gettext("Horizon: 1 to %(max)s periods.", max=MAX_HORIZON))
    try:
        place = resolve_place(typed["place"])
        category = resolve_category(typed["category"])
        series, markings = series_from_facts(
            facts,
            [place],
            [category],
            "week" if typed["frequency"] == "week" else "month",
        )
    except (PlaceError, SeriesError) as error:
        return None, str(error)
    return (series[0], markings), None


def _map(view: View, facts: list[EventFacts], stored_alerts: list[dict[str, Any]]) -> Markup:
    frame, shapes = map_countries()
    latest = max((fact.day for fact in facts), default=None)
    counts: Counter[str] = Counter()
    if latest is not None:
        since = latest - timedelta(days=MAP_DAYS - 1)
        counts.update(fact.country for fact in facts if fact.day >= since)
    alerted: Counter[str] = Counter()
    for alert in stored_alerts:
        place = str(alert.get("series", "")).split("/")[0]
        if len(place) == 2 and place.isupper():
            alerted[place] += 1
    names = countries()

    def label(country: Country, count: int, alerts: int) -> str:
        name = names.get(country.code or "", country.name)
        text = view.gettext("%(country)s: %(count)s events", country=name, count=count)
        if alerts:
            text = view.gettext("%(text)s, %(alerts)s alerts", text=text, alerts=alerts)
        return str(text)

    period = (
        view.gettext(
            "from %(start)s to %(end)s",
            start=(latest - timedelta(days=MAP_DAYS - 1)).isoformat(),
            end=latest.isoformat(),
        )
        if latest
        else view.gettext("no event yet")
    )
    return region_map(
        shapes,
        dict(counts),
        dict(alerted),
        frame,
        title=str(view.gettext("Events per country and alerts")),
        description=str(
            view.gettext(
                "Events counted per country over the 365 days up to the latest event (%(period)s); "
                "countries outlined in red have an alert.",
                period=period,
            )
        ),
        label=label,
        legend_title=str(view.gettext("Events")),
        alert_label=str(view.gettext("alert")),
    )


def anticipation_page(
    view: View, problem: str | None = None, status: int = 200, published: int | None = None
) -> Response:
    """The series form, the chosen series' chart with its forecast and alerts, and the
    map. A bad choice shows the form again as typed, with the reason."""
    typed = _typed(view)
    facts, read, skipped = store_facts(view.node.store)
    made, refusal = _series_of(view, typed, facts)
    chart = None
    alerts: list[Alert] = []
    notes: list[str] = []
    forecasts: list[Any] = []
    if made is not None:
        series, _markings = made
        predicted = forecast([series], int(typed["horizon"]))
        alerts, alert_notes = detect_alerts([series])
        forecasts = predicted.forecasts
        notes = [*predicted.notes, *alert_notes]
        # The package's SVG escapes every text it draws.
        chart = Markup(chart_svg(series, forecasts, alerts))  # noqa: S704
    elif (
        status == 200
        and refusal is not None
        and any(key in view.query for key in ("place", "category", "frequency", "horizon"))
    ):
        status = 400
    stored_alerts = newest_of_type(view.node.store.engine, ALERT_TYPE, STORED_ALERTS)
    view.audit(
        "consult",
        sorted({*(fact.id for fact in facts), *(a["id"] for a in stored_alerts)})[:1000],
        details={"page": "anticipation", "events": read},
    )
    return view.render(
        "anticipate/page.html",
        status=status,
        typed=typed,
        problem=problem or refusal,
        chart=chart,
        alerts=[(alert, alert.explanation(view.lang)) for alert in alerts],
        forecasts=forecasts,
        notes=notes,
        events_read=read,
        skipped=sum(skipped.values()),
        map=_map(view, facts, stored_alerts),
        stored_alerts=[alert_row(a) for a in stored_alerts[:20]],
        published=published,
        **_choices(view),
    )


def anticipation(view: View) -> Response:
    return anticipation_page(view)


def publish(view: View) -> Response:
    """Write the chosen series' alerts as ``x-diapason-alert`` objects (once each; audited),
    so that they reach the dashboard and travel to partners under the release policy."""
    view.require("objects:write")
    typed = _typed(view)
    facts, _read, _skipped = store_facts(view.node.store)
    made, refusal = _series_of(view, typed, facts)
    if made is None:
        return anticipation_page(view, refusal, 400)
    series, markings = made
    alerts, _notes = detect_alerts([series])
    result = publish_alerts(
        view.node.store,
        view.node.audit,
        alerts,
        actor=view.actor,
        created_by=view.node.ensure_identity(view.actor),
        markings=markings,
        default_markings=DEFAULT_MARKINGS,
    )
    return anticipation_page(view, published=len(result.written))


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/anticipation", anticipation, permission="objects:read"),
        ui.page("/anticipation/alerts", publish, methods=("POST",), permission="objects:read"),
    ]

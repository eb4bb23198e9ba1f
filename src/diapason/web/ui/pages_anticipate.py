"""Anticipation: a series of event counts with its forecast band and alerts, and a map of
the region with each country's event count and the alerts standing on it.

Everything is computed from the store on request with ``diapason.anticipate`` (series,
forecast, alert detection, its SVG chart); the map is drawn here from the Natural Earth
outlines shipped in ``web/data/region.geojson`` (see its PROVENANCE.md).
"""

from __future__ import annotations

import json
import threading
import uuid
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
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
    default_category,
    event_facts,
    location_ids,
    resolve_category,
    series_from_facts,
)
from diapason.anticipate.forecast import MAX_HORIZON, Forecast, forecast
from diapason.anticipate.places import PlaceError, countries, named_regions, resolve_place
from diapason.anticipate.publish import publish_alerts
from diapason.anticipate.series import Series, SeriesError
from diapason.anticipate.ucdp import UCDP_IDENTITY_ID, attribution
from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import TLP_2_0_IDS
from diapason.store.read_model import ReadModel
from diapason.web.ui.core import NavItem, Ui, View
from diapason.web.ui.i18n import N_
from diapason.web.ui.svg import Country, region_map
from diapason.web.ui.words import country_name, period_name

NAV = (NavItem(N_("Anticipation"), "/anticipation", "objects:read", 40),)
FREQUENCIES = ("month", "week")
MAP_DAYS = 365
STORED_ALERTS = 500
SHOWN_ALERTS = 20
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


# Reading every event and fitting the model take most of the page's time; their results
# are kept until an event or a location is added, changed or removed (``type_state``).
CACHED = 32
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()


def _cached(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    made = make()
    with _cache_lock:
        _cache[key] = made
        while len(_cache) > CACHED:
            _cache.popitem(last=False)
    return made


@dataclass(frozen=True)
class EventData:
    """The facts of every current event, how many were read, why some were skipped."""

    facts: list[EventFacts]
    read: int
    skipped: Counter[str]


@dataclass
class Outlook:
    """The chosen series with its forecast and alerts, or why it cannot be made."""

    series: Series | None = None
    markings: dict[str, set[str]] = field(default_factory=dict)
    forecasts: list[Forecast] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusal: str | None = None


@dataclass
class _Held:
    """Every current event's facts (or why it is skipped) by id, as of the state of the
    events and locations they were read at."""

    events: tuple[int, int]
    locations: tuple[int, int]
    facts: dict[str, EventFacts]
    skipped: dict[str, str]

    def data(self) -> EventData:
        return EventData(
            list(self.facts.values()),
            len(self.facts) + len(self.skipped),
            Counter(self.skipped.values()),
        )


# Per node read model (weakly: a closed node's entry goes with it), with a token that names
# the read model in the outlook cache's keys (an ``id`` could be reused by another).
_held: weakref.WeakKeyDictionary[ReadModel, _Held] = weakref.WeakKeyDictionary()
_tokens: weakref.WeakKeyDictionary[ReadModel, str] = weakref.WeakKeyDictionary()


def _read_events(
    read: ReadModel, held: _Held | None, events: tuple[int, int], locations: tuple[int, int]
) -> _Held:
    """The events' facts at this state: what was held plus the versions added since, when
    nothing else changed (no event deleted, no location changed); else read again."""
    if held is not None and held.locations == locations:
        added = read.versions_since(EVENT_TYPE, held.events[0])
        if held.events[1] + len(added) == events[1]:
            facts, skipped = dict(held.facts), dict(held.skipped)
            fresh = [obj for _id, obj, _current in added if obj is not None]
            places = read.current_objects(location_ids(fresh))
            for object_id, obj, current in added:
                if not current:
                    continue  # replaced by a later version, read below
                facts.pop(object_id, None)
                skipped.pop(object_id, None)
                if obj is None:
                    continue  # revoked
                found = event_facts(obj, places)
                if isinstance(found, str):
                    skipped[object_id] = found
                else:
                    facts[object_id] = found
            return _Held(events, locations, facts, skipped)
    objects = read.current_of_type(EVENT_TYPE)
    places = read.current_objects(location_ids(objects))
    facts, skipped = {}, {}
    for obj in objects:
        found = event_facts(obj, places)
        if isinstance(found, str):
            skipped[str(obj.get("id"))] = found
        else:
            facts[found.id] = found
    return _Held(events, locations, facts, skipped)


def event_data(view: View) -> tuple[tuple[Any, ...], EventData]:
    """Every event's facts, and the state they were read at (the key of what is computed
    from them). Kept between requests: a new event is read alone."""
    read = view.node.read
    events, locations = read.type_state(EVENT_TYPE), read.type_state("location")
    with _cache_lock:
        held = _held.get(read)
        token = _tokens.setdefault(read, uuid.uuid4().hex)
    if held is None or (held.events, held.locations) != (events, locations):
        held = _read_events(read, held, events, locations)
        with _cache_lock:
            _held[read] = held
    return (token, events, locations), held.data()


def outlook(view: View, typed: dict[str, str]) -> tuple[EventData, Outlook]:
    """The events and the chosen series' outlook (both cached, see ``event_data``)."""
    state, data = event_data(view)
    typed["category"] = typed["category"] or default_category(data.facts)
    if typed["frequency"] not in FREQUENCIES:
        return data, Outlook(refusal=str(view.gettext("Frequency: month or week.")))
    if not typed["horizon"].isdigit() or not 1 <= int(typed["horizon"]) <= MAX_HORIZON:
        message = view.gettext("Horizon: 1 to %(max)s periods.", max=MAX_HORIZON)
        return data, Outlook(refusal=str(message))
    choice = (typed["place"], typed["category"], typed["frequency"], typed["horizon"])
    return data, _cached(("outlook", *state, *choice), lambda: _outlook(typed, data.facts))


def _outlook(typed: dict[str, str], facts: list[EventFacts]) -> Outlook:
    try:
        place = resolve_place(typed["place"])
        category = resolve_category(typed["category"])
        made, markings = series_from_facts(
            facts, [place], [category], "week" if typed["frequency"] == "week" else "month"
        )
    except (PlaceError, SeriesError) as error:
        return Outlook(refusal=str(error))
    predicted = forecast(made, int(typed["horizon"]))
    alerts, notes = detect_alerts(made)
    return Outlook(made[0], markings, predicted.forecasts, alerts, [*predicted.notes, *notes])


def alert_row(obj: dict[str, Any]) -> dict[str, str]:
    """A stored alert (ours or a partner's, so untrusted) as the text of a table row."""

    def text(key: str) -> str:
        value = obj.get(key)
        if isinstance(value, float):
            return f"{value:.3g}"  # counts and means: 2.001 reads 2, 30.0 reads 30
        return "" if value is None or isinstance(value, (dict, list)) else str(value)[:80]

    start, end = text("period_start"), text("period_end")
    probability = obj.get("probability")
    return {
        "id": str(obj.get("id", "")),
        "series": text("series") or text("name"),
        "periods": start if end in ("", start) else f"{start} \N{EN DASH} {end}",
        "observed": text("observed"),
        "expected": (
            f"{text('expected_mean')} ({text('expected_low')}\N{EN DASH}{text('expected_high')})"
        ),
        "probability": f"{probability:.2g}" if isinstance(probability, (int, float)) else "",
    }


def _country(code: str, name: str, view: View) -> str:
    """A country's name in the reader's language (the data's English name otherwise)."""
    named = country_name(code, view.lang) if code else ""
    return named if named and named != code else name


def _choices(view: View) -> dict[str, Any]:
    regions = named_regions()
    return {
        "regions": [(key, value[f"name_{view.lang}"]) for key, value in sorted(regions.items())],
        "countries": sorted(
            ((code, _country(code, name, view)) for code, name in countries().items()),
            key=lambda pair: pair[1].casefold(),
        ),
        "topics": TOPICS,
        "frequencies": FREQUENCIES,
        "horizons": range(1, MAX_HORIZON + 1),
    }


def _typed(view: View) -> dict[str, str]:
    source = view.form if view.request.method == "POST" else view.query
    return {
        "place": source.get("place", "sahel-saharan").strip() or "sahel-saharan",
        "category": source.get("category", "").strip(),  # empty: see ``outlook``
        "frequency": source.get("frequency", "month"),
        "horizon": source.get("horizon", "6"),
    }


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
        name = _country(country.code or "", names.get(country.code or "", country.name), view)
        text = view.ngettext(
            "%(country)s: %(count)s event",
            "%(country)s: %(count)s events",
            count,
            country=name,
            count=count,
        )
        if alerts:
            text = view.ngettext(
                "%(text)s, %(alerts)s alert",
                "%(text)s, %(alerts)s alerts",
                alerts,
                text=text,
                alerts=alerts,
            )
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


def _title(view: View, typed: dict[str, str], *, per: bool = True) -> str:
    """The chart's heading in the reader's language: place, events and (``per``) periods."""
    place = typed["place"]
    regions = named_regions()
    if place == "all":
        where = str(view.gettext("everywhere"))
    elif place in regions:
        where = str(regions[place][f"name_{view.lang}"])
    else:
        where = country_name(place, view.lang)
    category = typed["category"]
    if category == "all":
        what = str(view.gettext("all events"))
    elif category == "deaths":
        what = str(view.gettext("deaths (UCDP)"))
    else:
        what = view.topic_name(category.removeprefix("topic:"))
    if not per:
        return f"{where} · {what}"
    periods = {"month": view.gettext("per month"), "week": view.gettext("per week")}
    return f"{where} · {what} · {periods.get(typed['frequency'], typed['frequency'])}"


def anticipation_page(
    view: View, problem: str | None = None, status: int = 200, published: int | None = None
) -> Response:
    """The series form, the chosen series' chart with its forecast and alerts, and the
    map. A bad choice shows the form again as typed, with the reason."""
    typed = _typed(view)
    data, shown = outlook(view, typed)
    chart = None
    if shown.series is not None:
        # The package's SVG escapes every text it draws.
        chart = Markup(  # noqa: S704
            chart_svg(
                shown.series,
                shown.forecasts,
                shown.alerts,
                title=_title(view, typed),
                period_name=lambda period: period_name(period, view.lang, short=True),
            )
        )
    elif status == 200 and any(key in view.query for key in typed):
        status = 400
    stored_alerts = view.node.read.newest_of_type(ALERT_TYPE, STORED_ALERTS)
    # Counts are shown, not events: the consultation names the series and how many events
    # it counted, and the alerts listed.
    view.audit(
        "consult",
        [str(a.get("id")) for a in stored_alerts[:SHOWN_ALERTS]],
        details={"page": "anticipation", "series": "/".join(typed.values()), "events": data.read},
    )
    return view.render(
        "anticipate/page.html",
        status=status,
        typed=typed,
        problem=problem or shown.refusal,
        chart=chart,
        alerts=[
            (
                alert,
                alert.explanation(
                    view.lang,
                    series=_title(view, typed, per=False),
                    period=view.period_name,
                    number=view.number,
                ),
            )
            for alert in shown.alerts
        ],
        forecasts=shown.forecasts,
        notes=shown.notes,
        events_read=data.read,
        skipped=sum(data.skipped.values()),
        map=_map(view, data.facts, stored_alerts),
        stored_alerts=[alert_row(a) for a in stored_alerts[:SHOWN_ALERTS]],
        published=published,
        ucdp=attribution(view.lang) if view.node.store.known_ids([UCDP_IDENTITY_ID]) else None,
        **_choices(view),
    )


def anticipation(view: View) -> Response:
    return anticipation_page(view)


def publish(view: View) -> Response:
    """Write the chosen series' alerts as ``x-diapason-alert`` objects (once each; audited),
    so that they reach the dashboard and travel to partners under the release policy."""
    view.require("objects:write")
    _data, shown = outlook(view, _typed(view))
    if shown.series is None:
        return anticipation_page(view, shown.refusal, 400)
    result = publish_alerts(
        view.node.store,
        view.node.audit,
        shown.alerts,
        actor=view.actor,
        created_by=view.node.ensure_identity(view.actor),
        markings=shown.markings,
        default_markings=DEFAULT_MARKINGS,
    )
    return anticipation_page(view, published=len(result.written))


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/anticipation", anticipation, permission="objects:read"),
        ui.page("/anticipation/alerts", publish, methods=("POST",), permission="objects:read"),
    ]

"""Count series from the events in the store (``x-diapason-event`` objects).

For whom: ``diapason anticipate`` and the web interface (``store_series``). Events come
from the OSINT pipeline, from partners and from analysts, so they are read defensively:
``event_facts`` is the one place that knows the event's properties (adapt it if they
change). An event without a usable date is skipped and counted; an unknown country,
event type or topic is counted under ``unknown``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from diapason.anticipate.periods import Frequency, period_of_date
from diapason.anticipate.places import ALL, Place, country_codes, resolve_place
from diapason.anticipate.series import Series, SeriesError, assemble
from diapason.domain.events import EVENT_TYPE, NO_TOPIC
from diapason.domain.events import TOPICS as EVENT_TOPICS
from diapason.domain.timestamps import timestamp_day
from diapason.store.interface import ObjectStore, Query

UNKNOWN = "unknown"
# The category prefix of series that sum deaths instead of counting events.
DEATHS = "deaths"
Measure = Literal["events", "deaths"]
# Every topic an event may carry, "none" included.
TOPICS = (*EVENT_TOPICS, NO_TOPIC)


@dataclass(frozen=True)
class EventFacts:
    """What a series needs of one event."""

    id: str
    day: date
    country: str  # ISO alpha-2 or "unknown"
    admin1: str | None
    event_type: str  # PLOVER type (upper case) or "unknown"
    topics: tuple[str, ...]
    markings: tuple[str, ...]
    # The deaths the record reports (``deaths_best``, as UCDP imports write it), if any.
    deaths: float | None = None
    # A record that sums a period (a UCDP country-month), not one event: it counts in
    # deaths series, never as an event.
    aggregate: bool = False


def _deaths_of(obj: Mapping[str, Any]) -> float | None:
    value = obj.get("deaths_best")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def location_refs(obj: Mapping[str, Any]) -> list[str]:
    """The location ids an event names: ``location_ref`` (as the OSINT pipeline writes it),
    then ``location_refs``."""
    refs = obj.get("location_refs")
    named = [obj.get("location_ref"), *(refs if isinstance(refs, list) else ())]
    return [ref for ref in named if isinstance(ref, str) and ref.startswith("location--")]


def event_facts(
    obj: Mapping[str, Any], locations: Mapping[str, Mapping[str, Any]]
) -> EventFacts | str:
    """The facts of one event, or why it cannot be counted (a short reason).

    Reads the date (``event_date``, as the OSINT pipeline writes it, or ``occurred``, a
    timestamp or date), ``country`` or else the ``country`` and ``administrative_area`` of
    its ``location_ref`` (or the first of its ``location_refs``) found in ``locations``, the
    PLOVER type (``plover_type``, or ``event_type``) and ``topics``.
    """
    day = timestamp_day(obj.get("event_date") or obj.get("occurred"))
    if day is None:
        return "no usable 'event_date' or 'occurred' date"
    known = country_codes()
    country: Any = obj.get("country")
    admin1: Any = obj.get("admin1")
    for ref in location_refs(obj):
        location = locations.get(ref) if isinstance(ref, str) else None
        if location is not None:
            country = country or location.get("country")
            admin1 = admin1 or location.get("administrative_area")
            break
    country = country.upper() if isinstance(country, str) and country.upper() in known else UNKNOWN
    event_type = obj.get("plover_type") or obj.get("event_type")
    event_type = (
        event_type.strip().upper()
        if isinstance(event_type, str) and event_type.strip()
        else UNKNOWN
    )
    raw_topics = obj.get("topics")
    topics = (
        tuple(sorted({t if t in TOPICS else UNKNOWN for t in raw_topics if isinstance(t, str)}))
        if isinstance(raw_topics, list) and raw_topics
        else (UNKNOWN,)
    )
    markings = tuple(m for m in obj.get("object_marking_refs") or () if isinstance(m, str))
    return EventFacts(
        str(obj.get("id")),
        day,
        country,
        admin1 if isinstance(admin1, str) else None,
        event_type,
        topics,
        markings,
        _deaths_of(obj),
        obj.get("aggregate") is not None,
    )


@dataclass(frozen=True)
class Category:
    """Which events a series counts (all, one PLOVER event type, or one topic), and what it
    counts of them (``measure``): the events, or the deaths they report."""

    key: str
    kind: str  # "all", "event_type" or "topic"
    value: str
    measure: Measure = "events"

    def amount(self, facts: EventFacts) -> float | None:
        """What ``facts`` adds to the series, or None if it does not count in it (a
        country-month aggregate is not an event; an event that reports no deaths adds
        nothing to a deaths series, nor its markings, nor its period to the calendar)."""
        if not self.holds(facts):
            return None
        if self.measure == "deaths":
            return facts.deaths
        return None if facts.aggregate else 1.0

    def holds(self, facts: EventFacts) -> bool:
        if self.kind == "event_type":
            return facts.event_type.upper() == self.value
        if self.kind == "topic":
            return self.value in facts.topics
        return True


def resolve_category(text: str) -> Category:
    """``all``, ``topic:NAME`` or a topic name, ``event_type:TYPE`` or an upper-case
    PLOVER type (``COERCE``); each counts events, or, prefixed ``deaths:`` (``deaths`` alone
    for all), sums the deaths those records report (UCDP imports)."""
    cleaned = text.strip()
    if cleaned.lower() == DEATHS or cleaned.lower().startswith(DEATHS + ":"):
        rest = cleaned[len(DEATHS) + 1 :] or ALL
        if rest.lower().startswith(DEATHS):
            raise SeriesError(f"unknown category {text!r}: 'deaths:' is given once")
        counted = resolve_category(rest)
        key = DEATHS if counted.key == ALL else f"{DEATHS}:{counted.key}"
        return Category(key, counted.kind, counted.value, "deaths")
    kind, _, value = cleaned.partition(":")
    if cleaned.lower() == ALL:
        return Category(ALL, ALL, ALL)
    if value and kind in ("topic", "event_type"):
        value = value.strip()
    elif cleaned.lower() in TOPICS or cleaned.lower() == UNKNOWN:
        kind, value = "topic", cleaned.lower()
    elif cleaned and cleaned.replace("_", "").isalpha():
        kind, value = "event_type", cleaned
    else:
        raise SeriesError(
            f"unknown category {text!r}: not 'all', a topic ({', '.join(TOPICS)}), "
            "'topic:NAME' nor a PLOVER event type ('COERCE' or 'event_type:COERCE')"
        )
    if kind == "topic" and value not in (*TOPICS, UNKNOWN):
        raise SeriesError(f"unknown topic {value!r}: one of {', '.join(TOPICS)}")
    value = value.upper() if kind == "event_type" else value
    return Category(f"{kind}:{value}", kind, value)


def default_category(facts: Sequence[EventFacts]) -> str:
    """The category to show first: every event, or the deaths when the store holds only
    records of deaths (a node that has imported UCDP history and has no events yet)."""
    if facts and all(fact.aggregate for fact in facts):
        return DEATHS
    return ALL


@dataclass
class StoreSeries:
    """Series built from the store, with what was left out and the markings to carry."""

    series: list[Series]
    events_read: int = 0
    events_counted: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    markings: dict[str, set[str]] = field(default_factory=dict)  # series name -> marking ids
    event_ids: list[str] = field(default_factory=list)


def iterate_events(store: ObjectStore) -> Iterator[dict[str, Any]]:
    """Every current, non-revoked event object in the store."""
    after: int | None = None
    while True:
        page = store.query(Query(types=(EVENT_TYPE,), limit=1000, after=after))
        for stored in page.objects:
            yield stored.object
        if page.next_after is None:
            return
        after = page.next_after


def series_from_facts(
    facts: Sequence[EventFacts],
    places: Sequence[Place],
    categories: Sequence[Category],
    frequency: Frequency,
    *,
    until: int | None = None,
) -> tuple[list[Series], dict[str, set[str]]]:
    """One series per (place, category), named ``place/category``, on one calendar (first
    event to ``until`` or the last event); and each series' event markings."""
    values: dict[str, dict[int, float]] = {}
    markings: dict[str, set[str]] = {}
    for place in places:
        for category in categories:
            name = f"{place.key}/{category.key}"
            values[name] = {}
            markings[name] = set()
    first: int | None = None
    last: int | None = None
    # The calendar runs over the records these categories could count, in any place: a
    # deaths series over the records that report deaths (the UCDP history, its zeros
    # included), not over events that say nothing of deaths (their month is no evidence
    # of zero deaths); an events series over events, not over the UCDP aggregates.
    counted = {category.measure for category in categories}
    for fact in facts:
        period = period_of_date(fact.day, frequency)
        if until is not None and period > until:
            continue
        if ("deaths" in counted and fact.deaths is not None) or (
            "events" in counted and not fact.aggregate
        ):
            first = period if first is None else min(first, period)
            last = period if last is None else max(last, period)
        for place in places:
            if not place.holds(fact.country, fact.admin1):
                continue
            for category in categories:
                amount = category.amount(fact)
                if amount is not None and fact.aggregate and frequency != "month":
                    raise SeriesError(
                        f"{place.key}/{category.key}: the store's UCDP deaths are totals per "
                        "country and month, which cannot be split into weeks: count by month"
                    )
                if amount is not None:
                    name = f"{place.key}/{category.key}"
                    values[name][period] = values[name].get(period, 0.0) + amount
                    markings[name].update(fact.markings)
    if first is None or last is None:
        held = any(fact.aggregate for fact in facts)
        raise SeriesError(
            "no events in the store for these places and categories"
            + (
                " (the store holds UCDP deaths per country and month: choose the category 'deaths')"
                if held and "deaths" not in counted
                else ""
            )
        )
    end = until if until is not None else last
    for by_period in values.values():
        # Pin the shared calendar: first event to the end, zeros where nothing happened.
        by_period.setdefault(first, 0.0)
        by_period.setdefault(end, 0.0)
    return assemble(values, frequency), markings


def location_ids(objects: Iterable[Mapping[str, Any]]) -> set[str]:
    """The locations the events refer to (``location_refs`` or the OSINT ``location_ref``)."""
    return {ref for obj in objects for ref in location_refs(obj)}


def facts_of(
    objects: Iterable[Mapping[str, Any]], locations: Mapping[str, Mapping[str, Any]]
) -> tuple[list[EventFacts], Counter[str]]:
    """The facts of these events, and why the others were skipped (reason -> count)."""
    skipped: Counter[str] = Counter()
    facts: list[EventFacts] = []
    for obj in objects:
        found = event_facts(obj, locations)
        if isinstance(found, str):
            skipped[found] += 1
        else:
            facts.append(found)
    return facts, skipped


def store_facts(store: ObjectStore) -> tuple[list[EventFacts], int, Counter[str]]:
    """The facts of every current event in the store, how many events were read, and why
    the others were skipped (the series and the web interface's map count from these)."""
    objects = list(iterate_events(store))
    locations: dict[str, Mapping[str, Any]] = {}
    for location_id in sorted(location_ids(objects)):
        stored = store.get(location_id)
        if stored is not None:
            locations[location_id] = stored.object
    facts, skipped = facts_of(objects, locations)
    return facts, len(objects), skipped


def store_series(
    store: ObjectStore,
    places: Sequence[str] = (ALL,),
    categories: Sequence[str] = (ALL,),
    frequency: Frequency = "month",
    *,
    until: int | None = None,
) -> StoreSeries:
    """Series of event counts per period for each place and category, from the store."""
    resolved_places = [resolve_place(place) for place in places]
    resolved_categories = [resolve_category(category) for category in categories]
    facts, read, skipped = store_facts(store)
    result = StoreSeries([], events_read=read, skipped=skipped)
    result.series, result.markings = series_from_facts(
        facts, resolved_places, resolved_categories, frequency, until=until
    )
    result.events_counted = len(facts)
    result.event_ids = [fact.id for fact in facts]
    return result

"""Series from x-diapason-event objects written to the store, read defensively."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from diapason.anticipate.events import (
    EventFacts,
    event_facts,
    resolve_category,
    store_series,
)
from diapason.anticipate.periods import parse_period
from diapason.anticipate.places import PlaceError, named_regions, resolve_place
from diapason.anticipate.series import SeriesError
from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import TLP_2_0_IDS, diapason_id
from diapason.store.sql import SqlStore

# The OSINT pipeline declares its event type with its own extension-definition.
EVENT_EXTENSION = diapason_id("extension-definition", "event")
LOCATION = "location--3b5a4d1e-8f2c-4a6b-9d7e-1c2b3a4d5e6f"


def event(number: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": EVENT_TYPE,
        "spec_version": "2.1",
        "id": f"{EVENT_TYPE}--{uuid.uuid5(uuid.NAMESPACE_URL, str(number))}",
        "created": "2024-06-01T00:00:00.000Z",
        "modified": "2024-06-01T00:00:00.000Z",
        "extensions": {EVENT_EXTENSION: {"extension_type": "new-sdo"}},
        **properties,
    }


def sample_events() -> list[dict[str, Any]]:
    green, amber = TLP_2_0_IDS["green"], TLP_2_0_IDS["amber"]
    return [
        {
            "type": "location",
            "spec_version": "2.1",
            "id": LOCATION,
            "created": "2024-06-01T00:00:00.000Z",
            "modified": "2024-06-01T00:00:00.000Z",
            "country": "ML",
            "administrative_area": "Gao",
        },
        event(
            1,
            event_type="COERCE",
            occurred="2024-01-03T10:00:00Z",
            country="ML",
            topics=["terrorism"],
            object_marking_refs=[green],
        ),
        event(
            2,
            event_type="coerce",
            occurred="2024-01-20",
            country="NE",
            topics=["terrorism", "border_security"],
            object_marking_refs=[amber],
        ),
        event(
            3,
            event_type="CONSULT",
            occurred="2024-03-05",
            location_refs=[LOCATION],
            topics=["security_cooperation"],
        ),
        event(4, event_type="ASSAULT", occurred="2024-03-09", country="FR", topics=["cyber"]),
        event(5, event_type="COERCE", occurred="2024-03-10", country="ZZ", topics=["weather"]),
        event(6, event_type="COERCE", country="ML"),  # no date: skipped
        event(7, event_type="COERCE", occurred="sometime", country="ML"),  # bad date
        event(8, occurred="2024-02-11", country="ml"),  # no type, no topics
    ]


def test_series_per_place_and_category(store: SqlStore) -> None:
    report = store.put_many(sample_events())
    assert not report.refused
    found = store_series(
        store,
        places=["all", "ML", "sahel-saharan", "ML/gao", "FR"],
        categories=["all", "terrorism", "COERCE"],
    )
    assert found.events_read == 8 and found.events_counted == 6
    assert found.skipped == {"no usable 'event_date' or 'occurred' date": 2}
    by_name = {s.name: s for s in found.series}
    assert by_name["all/all"].labels() == ["2024-01", "2024-02", "2024-03"]
    assert list(by_name["all/all"].counts) == [2, 1, 3]
    assert list(by_name["ML/all"].counts) == [1, 1, 1]
    assert list(by_name["sahel-saharan/topic:terrorism"].counts) == [2, 0, 0]
    assert list(by_name["sahel-saharan/event_type:COERCE"].counts) == [2, 0, 0]
    assert list(by_name["ML/gao/all"].counts) == [0, 0, 1]
    assert list(by_name["FR/all"].counts) == [0, 0, 1]
    # The alert of a series carries the markings of the events it counts.
    assert found.markings["sahel-saharan/all"] == {TLP_2_0_IDS["green"], TLP_2_0_IDS["amber"]}


def test_unknown_values_are_counted_under_unknown(store: SqlStore) -> None:
    store.put_many(sample_events())
    found = store_series(store, categories=["unknown", "event_type:unknown"])
    by_name = {s.name: s for s in found.series}
    # Event 5 has an unknown topic, event 8 none: both under topic "unknown".
    assert list(by_name["all/topic:unknown"].counts) == [0, 1, 1]
    assert list(by_name["all/event_type:UNKNOWN"].counts) == [0, 1, 0]


def test_until_extends_the_calendar_with_zeros(store: SqlStore) -> None:
    store.put_many(sample_events())
    found = store_series(store, places=["ML"], until=parse_period("2024-05", "month"))
    assert found.series[0].labels()[-1] == "2024-05"
    assert list(found.series[0].counts) == [1, 1, 1, 0, 0]
    weekly = store_series(store, frequency="week")
    assert weekly.series[0].label(0) == "2024-W01"


def test_empty_store_is_a_clear_error(store: SqlStore) -> None:
    with pytest.raises(SeriesError, match="no events in the store"):
        store_series(store)


@pytest.mark.parametrize("text", ["XX", "Sahel", "ML/", "", "mars"])
def test_unknown_places_are_refused_with_the_choices(text: str) -> None:
    if text == "ML/":
        assert resolve_place(text).key == "ML"
        return
    with pytest.raises(PlaceError, match="unknown place") as raised:
        resolve_place(text)
    assert "sahel-saharan" in str(raised.value)


def test_named_regions_and_categories() -> None:
    assert set(named_regions()["maghreb"]["countries"]) == {"MA", "DZ", "TN", "LY", "MR"}
    assert resolve_place("g5-sahel").countries == frozenset({"MR", "ML", "BF", "NE", "TD"})
    assert resolve_category("topic:migration").key == "topic:migration"
    assert resolve_category("COERCE").key == "event_type:COERCE"
    assert resolve_category("all").kind == "all"
    for bad in ("topic:weather", "12", "a-b"):
        with pytest.raises(SeriesError):
            resolve_category(bad)


def test_event_facts_reads_defensively() -> None:
    facts = event_facts({"id": "x", "occurred": "2024-02-30", "country": "ML"}, {})
    assert facts == "no usable 'event_date' or 'occurred' date"
    facts = event_facts(
        {
            "id": "x",
            "occurred": "2024-02-03",
            "country": 12,
            "topics": "terrorism",
            "event_type": ["COERCE"],
            "location_refs": "location--1",
        },
        {},
    )
    assert not isinstance(facts, str)
    assert (facts.country, facts.event_type, facts.topics) == ("unknown", "unknown", ("unknown",))


def test_events_written_by_the_osint_pipeline_are_counted() -> None:
    """The OSINT pipeline names the date, type and place ``event_date``, ``plover_type``
    and ``location_ref``, and leaves the date out when nothing dates the event."""
    osint = event(
        7,
        event_date="2024-04-22",
        plover_type="MEET",
        location_ref=LOCATION,
        topics=["security_cooperation"],
    )
    facts = event_facts(osint, {LOCATION: {"country": "ML", "administrative_area": "Gao"}})
    assert isinstance(facts, EventFacts)
    assert (facts.day, facts.country, facts.admin1, facts.event_type) == (
        date(2024, 4, 22),
        "ML",
        "Gao",
        "MEET",
    )
    undated = event(8, plover_type="MEET", location_ref=LOCATION)
    assert event_facts(undated, {}) == "no usable 'event_date' or 'occurred' date"

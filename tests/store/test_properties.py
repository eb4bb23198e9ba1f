"""Property-based tests of versioning, on every implementation.

Whatever versions of a few objects arrive, in whatever order, split into whatever batches,
repeated or not: each distinct version is stored once, the current one is the newest, the
index follows it, and sending everything again changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diapason.domain.timestamps import as_store_timestamp
from diapason.store.interface import Edge, Query
from diapason.store.sql import SqlStore
from tests.store.rows import row_counts

# The store fixture is shared by the examples of one test: each example uses fresh ids.
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

DAYS = st.integers(min_value=1, max_value=28)


def _version(object_id: str, day: int, micro: int) -> dict[str, Any]:
    """One version of an object: its content is a function of (id, modified) only."""
    tag = f"{object_id[-8:]}d{day}m{micro}"
    # Several precisions (STIX asks for the millisecond at least), so that versions are
    # compared once normalised.
    fraction = {0: ".000", 1: ".000001", 500_000: ".5000"}[micro]
    return {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": object_id,
        "created": "2024-01-01T00:00:00.000Z",
        "modified": f"2024-02-{day:02d}T12:00:00{fraction}Z",
        "name": f"word{tag}",
        "object_marking_refs": [f"marking-definition--{uuid.uuid5(uuid.NAMESPACE_DNS, tag)}"],
        "x_seen_ref": f"location--{uuid.uuid5(uuid.NAMESPACE_URL, tag)}",
    }


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[list[tuple[int, int, int]]], int]:
    """Batches of (object number, day, microsecond), and a batch size for the store."""
    objects = draw(st.integers(min_value=1, max_value=3))
    versions = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=objects - 1),
                DAYS,
                st.sampled_from([0, 1, 500_000]),
            ),
            min_size=1,
            max_size=12,
            unique=True,
        )
    )
    repeats = draw(st.lists(st.sampled_from(versions), max_size=6))
    sent = draw(st.permutations(versions + repeats))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=len(sent)), max_size=4)))
    batches = [sent[start:end] for start, end in zip([0, *cuts], [*cuts, len(sent)], strict=True)]
    return [batch for batch in batches if batch], draw(st.integers(min_value=1, max_value=4))


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(plan=arrivals())
def test_the_newest_version_is_current_whatever_the_arrival(
    store: SqlStore, plan: tuple[list[list[tuple[int, int, int]]], int]
) -> None:
    batches, batch_size = plan
    store.batch_size = batch_size
    ids = [f"threat-actor--{uuid.uuid4()}" for _ in range(3)]
    sent: list[dict[str, Any]] = []
    for batch in batches:
        objects = [_version(ids[number], day, micro) for number, day, micro in batch]
        report = store.put_many(objects)
        assert report.refused == []
        assert report.accepted == len(objects)
        sent.extend(objects)

    distinct = {(obj["id"], obj["modified"]): obj for obj in sent}
    for object_id in {obj["id"] for obj in sent}:
        held = sorted(
            (as_store_timestamp(modified), obj)
            for (other, modified), obj in distinct.items()
            if other == object_id
        )
        versions = store.versions(object_id)
        # Every distinct version exactly once, oldest first.
        assert [stored.modified for stored in versions] == [key for key, _ in held]
        assert [stored.object for stored in versions] == [obj for _, obj in held]
        assert [stored.current for stored in versions] == [False] * (len(held) - 1) + [True]
        newest = held[-1][1]
        current = store.get(object_id)
        assert current is not None and current.object == newest
        # The index describes the newest version only.
        assert [stored.id for stored in store.query(Query(text=newest["name"])).objects] == [
            object_id
        ]
        for _, older in held[:-1]:
            assert store.query(Query(text=older["name"])).objects == []
        assert store.neighbours(object_id) == [Edge(object_id, "x_seen_ref", newest["x_seen_ref"])]
        marked = store.query(Query(marking=newest["object_marking_refs"][0], limit=1000))
        assert object_id in {stored.id for stored in marked.objects}

    # Sending it all again, in one batch, changes nothing.
    counts = row_counts(store)
    again = store.put_many(sent)
    assert again.written == [] and again.refused == []
    assert len(again.unchanged) == len(sent)
    assert row_counts(store) == counts


@PROPERTY_SETTINGS
@given(
    days=st.lists(DAYS, min_size=1, max_size=6, unique=True),
    clash=st.data(),
)
def test_a_conflicting_version_never_changes_what_is_held(
    store: SqlStore, days: list[int], clash: st.DataObject
) -> None:
    object_id = f"threat-actor--{uuid.uuid4()}"
    originals = [_version(object_id, day, 0) for day in days]
    store.put_many(originals)
    before = store.versions(object_id)
    counts = row_counts(store)

    target = clash.draw(st.sampled_from(originals))
    altered = dict(target, name=clash.draw(st.text(min_size=1, max_size=20)))
    if altered == target:
        altered["description"] = "changed"
    report = store.put_many([altered])
    assert [(problem.index, problem.field) for problem in report.refused] == [(0, "modified")]
    assert store.versions(object_id) == before
    assert row_counts(store) == counts

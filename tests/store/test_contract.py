"""The store's contract: one suite, run against every implementation.

Every test takes the ``store`` fixture of ``tests/conftest.py``, which is parametrised over a
temporary SQLite file and the machine's PostgreSQL: what passes here holds for both.
(After medallion's ``test_backends.py`` and warehouse's interface tests.)
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from diapason.domain.stix import Problem
from diapason.domain.timestamps import STORE_EPOCH, as_store_timestamp
from diapason.store.interface import Edge, ObjectStore, Page, Query, StoredObject
from diapason.store.rows import AnalysisSchedule
from diapason.store.sql import SqlStore, open_store
from tests.builders import (
    TLP_AMBER,
    TLP_CLEAR,
    TLP_GREEN,
    new_id,
    relationship,
    sdo,
    stamp,
    version,
)
from tests.store.rows import row_counts

STORE_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def ids_of(page: Page | list[StoredObject]) -> list[str]:
    objects = page.objects if isinstance(page, Page) else page
    return [stored.id for stored in objects]


def found(store: ObjectStore, **filters: Any) -> set[str]:
    """The ids a query returns (on one page)."""
    page = store.query(Query(limit=1000, **filters))
    assert page.next_after is None
    return set(ids_of(page))


def refusals(problems: list[Problem]) -> list[tuple[int, str | None, str]]:
    return sorted((problem.index, problem.object_id, problem.field) for problem in problems)


def test_the_implementations_honour_the_interface(store: SqlStore) -> None:
    honours: ObjectStore = store
    assert honours.dialect in ("sqlite", "postgresql")


# -- writing and reading back ---------------------------------------------------------------


def test_put_then_get_keeps_the_json_exactly(store: SqlStore) -> None:
    identity = sdo("identity", identity_class="organization")
    actor = sdo(
        "threat-actor",
        created="2024-03-05T08:09:10.123Z",
        modified="2024-03-06T08:09:10.123456789Z",
        name="Katiba Macina — كتيبة ماسينا",
        description='Line one\nline "two"\ttabbed \\ back\u00a0slash',
        aliases=["FLM", "Front de libération du Macina"],
        threat_actor_types=["terrorist"],
        created_by_ref=identity["id"],
        object_marking_refs=[TLP_GREEN],
        confidence=85,
        x_score=0.125,
        x_flag=False,
        x_big=2**53 + 1,
        external_references=[{"source_name": "seed", "external_id": "000"}],
        extensions={"x-ext": {"extension_type": "property-extension", "deep": [[1, {"a": []}]]}},
    )
    report = store.put_many([identity, actor], source="unit-test")
    assert report.written == [identity["id"], actor["id"]]
    assert report.refused == [] and report.unchanged == [] and report.accepted == 2

    stored = store.get(actor["id"])
    assert stored is not None
    assert stored.object == actor
    # The version key is normalised; the object keeps the producer's own text.
    assert stored.object["modified"] == "2024-03-06T08:09:10.123456789Z"
    assert stored.object["x_big"] == 2**53 + 1 and stored.object["x_score"] == 0.125
    assert stored.id == actor["id"]
    assert stored.type == "threat-actor"
    assert stored.modified == "2024-03-06T08:09:10.123456Z"
    assert stored.revoked is False
    assert stored.current is True
    assert stored.source == "unit-test"
    assert STORE_STAMP.match(stored.date_added)
    assert stored.seq > 0


def test_unknown_ids_read_as_nothing(store: SqlStore) -> None:
    unknown = new_id("threat-actor")
    assert store.get(unknown) is None
    assert store.get_version(unknown, as_store_timestamp(stamp(1))) is None
    assert store.versions(unknown) == []
    assert store.neighbours(unknown) == []
    assert store.count() == 0


def test_get_version_takes_the_normalised_timestamp(store: SqlStore) -> None:
    first = sdo(modified="2024-01-02T03:04:05.000Z")
    second = version(first, "2024-01-02T03:04:05.5000Z", name="second")
    store.put_many([first, second])

    one = store.get_version(first["id"], as_store_timestamp("2024-01-02T03:04:05Z"))
    assert one is not None and one.object == first and one.current is False
    two = store.get_version(first["id"], "2024-01-02T03:04:05.500000Z")
    assert two is not None and two.object == second and two.current is True
    assert store.get_version(first["id"], as_store_timestamp(stamp(9))) is None


def test_versions_are_listed_oldest_first_whatever_the_order_of_arrival(store: SqlStore) -> None:
    base = sdo()
    days = [5, 1, 9, 3, 7]
    for day in days:
        store.put_many([version(base, stamp(day), name=f"day {day}")])

    listed = store.versions(base["id"])
    assert [stored.modified for stored in listed] == [
        as_store_timestamp(stamp(day)) for day in sorted(days)
    ]
    assert [stored.current for stored in listed] == [False, False, False, False, True]
    assert [stored.object["name"] for stored in listed] == [f"day {d}" for d in sorted(days)]
    current = store.get(base["id"])
    assert current is not None and current.object["name"] == "day 9"


def test_objects_without_modified_are_versioned_by_created_or_epoch(store: SqlStore) -> None:
    marking: dict[str, Any] = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": new_id("marking-definition"),
        "created": "2022-10-01T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": "Copyright Diapason"},
    }
    observable = {"type": "ipv4-addr", "id": new_id("ipv4-addr"), "value": "198.51.100.7"}
    report = store.put_many([marking, observable])
    assert report.refused == []

    stored_marking = store.get(marking["id"])
    assert stored_marking is not None and stored_marking.modified == "2022-10-01T00:00:00.000000Z"
    stored_observable = store.get(observable["id"])
    assert stored_observable is not None and stored_observable.modified == STORE_EPOCH
    assert store.put_many([observable]).unchanged == [observable["id"]]
    assert found(store, text="198.51.100.7") == {observable["id"]}


def test_put_many_takes_any_iterable_and_numbers_from_start_index(store: SqlStore) -> None:
    good = sdo()

    def produce() -> Iterator[Any]:
        yield good
        yield {"type": "threat-actor"}

    report = store.put_many(produce(), start_index=40)
    assert report.written == [good["id"]]
    assert refusals(report.refused) == [(41, None, "id")]


# -- idempotence and versions ---------------------------------------------------------------


def test_the_same_batch_twice_changes_nothing(store: SqlStore) -> None:
    actor = sdo(object_marking_refs=[TLP_GREEN], description="Sahel network")
    target = sdo("location", region="western-africa")
    batch = [
        actor,
        target,
        relationship(actor["id"], target["id"], "located-at", object_marking_refs=[TLP_AMBER]),
        sdo("report", object_refs=[actor["id"], target["id"]]),
    ]
    first = store.put_many(batch)
    assert first.written == [obj["id"] for obj in batch] and first.refused == []
    counts = row_counts(store)
    before = {obj["id"]: store.get(obj["id"]) for obj in batch}

    second = store.put_many(batch)
    assert second.written == []
    assert second.refused == []
    assert second.unchanged == [obj["id"] for obj in batch]
    assert second.accepted == len(batch)
    assert row_counts(store) == counts
    # The held rows are untouched: same seq, same date_added.
    assert {obj["id"]: store.get(obj["id"]) for obj in batch} == before


def test_the_same_content_in_another_key_order_is_the_same_version(store: SqlStore) -> None:
    actor = sdo(aliases=["A", "B"])
    store.put_many([actor])
    reordered = dict(reversed(list(actor.items())))
    counts = row_counts(store)
    report = store.put_many([reordered])
    assert report.unchanged == [actor["id"]] and report.written == [] and report.refused == []
    assert row_counts(store) == counts


def test_a_repeated_version_within_one_batch_is_written_once(store: SqlStore) -> None:
    actor = sdo()
    report = store.put_many([actor, dict(actor)])
    assert report.written == [actor["id"]]
    assert report.unchanged == [actor["id"]]
    assert len(store.versions(actor["id"])) == 1


def test_an_older_version_after_a_newer_one_is_kept_as_history(store: SqlStore) -> None:
    target_old, target_new = new_id("location"), new_id("location")
    old = sdo(
        name="Alpha", modified=stamp(1), object_marking_refs=[TLP_GREEN], x_place_ref=target_old
    )
    new = version(
        old, stamp(2), name="Bravo", object_marking_refs=[TLP_AMBER], x_place_ref=target_new
    )
    store.put_many([new])
    report = store.put_many([old])
    assert report.written == [old["id"]]

    current = store.get(old["id"])
    assert current is not None and current.object == new
    assert [stored.object for stored in store.versions(old["id"])] == [old, new]
    # The index still describes the current version only.
    assert found(store, text="bravo") == {old["id"]}
    assert found(store, text="alpha") == set()
    assert found(store, marking=TLP_AMBER) == {old["id"]}
    assert found(store, marking=TLP_GREEN) == set()
    assert store.neighbours(old["id"]) == [Edge(old["id"], "x_place_ref", target_new)]
    assert store.count() == 1


def test_a_newer_version_replaces_the_current_one_and_its_index(store: SqlStore) -> None:
    target_old, target_new = new_id("location"), new_id("location")
    old = sdo(
        name="Alpha",
        description="sahélo-saharienne",
        modified=stamp(1),
        object_marking_refs=[TLP_GREEN],
        x_place_ref=target_old,
    )
    new = version(
        old,
        stamp(2),
        name="Bravo",
        description="migration governance",
        object_marking_refs=[TLP_AMBER],
        x_place_ref=target_new,
    )
    store.put_many([old])
    assert found(store, text="alpha") == {old["id"]}

    report = store.put_many([new])
    assert report.written == [old["id"]]
    current = store.get(old["id"])
    assert current is not None and current.object == new and current.current
    history = store.get_version(old["id"], as_store_timestamp(stamp(1)))
    assert history is not None and history.object == old and not history.current

    assert found(store, text="bravo") == {old["id"]}
    assert found(store, text="governance") == {old["id"]}
    assert found(store, text="alpha") == set()
    assert found(store, text="sahelo") == set()
    assert found(store, marking=TLP_AMBER) == {old["id"]}
    assert found(store, marking=TLP_GREEN) == set()
    assert store.neighbours(old["id"]) == [Edge(old["id"], "x_place_ref", target_new)]
    assert store.neighbours(target_old) == []
    assert store.count() == 1
    assert ids_of(store.query(Query())) == [old["id"]]


def test_several_versions_in_one_batch_leave_the_newest_current(store: SqlStore) -> None:
    base = sdo(name="Charlie", created=stamp(1), modified=stamp(3))
    batch = [base, version(base, stamp(4), name="Delta"), version(base, stamp(2), name="Echo")]
    store.put_many([version(base, stamp(1), name="Foxtrot")])
    report = store.put_many(batch)
    assert report.written == [base["id"]] * 3

    listed = store.versions(base["id"])
    assert [stored.object["name"] for stored in listed] == ["Foxtrot", "Echo", "Charlie", "Delta"]
    assert [stored.current for stored in listed] == [False, False, False, True]
    assert found(store, text="delta") == {base["id"]}
    assert found(store, text="charlie") | found(store, text="echo") == set()
    assert found(store, text="foxtrot") == set()


def test_a_revoked_newest_version_hides_the_object_from_listings(store: SqlStore) -> None:
    actor = sdo(name="Golf", modified=stamp(1))
    other = sdo(name="Hotel")
    store.put_many([actor, other])
    store.put_many([version(actor, stamp(2), revoked=True)])

    assert store.count() == 1
    assert store.count(include_revoked=True) == 2
    assert found(store) == {other["id"]}
    assert found(store, include_revoked=True) == {actor["id"], other["id"]}
    assert found(store, types=("threat-actor",)) == {other["id"]}
    current = store.get(actor["id"])
    assert current is not None
    assert current.revoked is True and current.current is True
    assert current.object["revoked"] is True
    assert found(store, text="golf") == set()
    assert [stored.revoked for stored in store.versions(actor["id"])] == [False, True]


# -- refusals ---------------------------------------------------------------------------------


def test_another_content_for_a_held_version_is_refused(store: SqlStore) -> None:
    actor = sdo(name="India")
    store.put_many([actor])
    counts = row_counts(store)

    report = store.put_many([dict(actor, name="Juliett")], start_index=3)
    assert report.written == [] and report.unchanged == []
    assert refusals(report.refused) == [(3, actor["id"], "modified")]
    assert row_counts(store) == counts
    held = store.get(actor["id"])
    assert held is not None and held.object == actor
    assert found(store, text="juliett") == set()


def test_another_content_for_a_version_of_the_same_batch_is_refused(store: SqlStore) -> None:
    actor = sdo(name="Kilo")
    good = sdo()
    report = store.put_many([actor, dict(actor, name="Lima"), good])
    assert report.written == [actor["id"], good["id"]]
    assert refusals(report.refused) == [(1, actor["id"], "modified")]
    held = store.get(actor["id"])
    assert held is not None and held.object["name"] == "Kilo"
    assert len(store.versions(actor["id"])) == 1


def _mixed_batch() -> tuple[list[Any], list[str], list[tuple[int, str | None, str]]]:
    """A batch of good and bad objects, the good ids, and (index, id, field) per bad one."""
    good = [sdo(name="good one"), sdo("location", name="good two"), sdo("identity", name="three")]
    missing_created = sdo()
    del missing_created["created"]
    missing_spec = sdo()
    del missing_spec["spec_version"]
    bad: list[tuple[Any, str | None, str]] = [
        (sdo(object_id="threat-actor--not-a-uuid"), "threat-actor--not-a-uuid", "id"),
        (sdo(modified="2024-13-01T00:00:00Z"), None, "modified"),
        (sdo(created="2024-02-30T00:00:00Z"), None, "created"),
        (missing_created, None, "created"),
        (sdo(created=stamp(5), modified=stamp(4)), None, "modified"),
        (sdo("report", object_refs=[good[0]["id"], "threat-actor--oops"]), None, "object_refs[1]"),
        (sdo(object_marking_refs=[TLP_GREEN, good[2]["id"]]), None, "object_marking_refs[1]"),
        ("not an object", None, ""),
        (["a", "list"], None, ""),
        (sdo(description="x" * 1_100_000), None, "size"),
        (sdo(spec_version="2.0"), None, "spec_version"),
        (missing_spec, None, "spec_version"),
        (sdo(created_by_ref=good[1]["id"]), None, "created_by_ref"),
        (sdo(revoked="yes"), None, "revoked"),
    ]
    batch: list[Any] = []
    expected: list[tuple[int, str | None, str]] = []
    for position, (obj, shown_id, field) in enumerate(bad):
        if position < len(good):
            batch.append(good[position])
        if isinstance(obj, dict):
            shown_id = shown_id or obj["id"]
        expected.append((len(batch), shown_id, field))
        batch.append(obj)
    return batch, [obj["id"] for obj in good], expected


def test_a_mixed_batch_writes_the_good_and_names_each_bad_one(store: SqlStore) -> None:
    batch, good_ids, expected = _mixed_batch()
    report = store.put_many(batch)

    assert report.written == good_ids
    assert report.unchanged == []
    assert refusals(report.refused) == expected
    for problem in report.refused:
        assert problem.message
        assert f"object #{problem.index}" in str(problem)
        assert problem.as_dict()["index"] == problem.index
    for obj in batch:
        if isinstance(obj, dict) and obj["id"] not in good_ids and "--" in obj["id"]:
            assert store.get(obj["id"]) is None
            assert store.versions(obj["id"]) == []
    assert store.count() == len(good_ids)
    assert found(store) == set(good_ids)
    # The refused report's reference and marking were not written either.
    assert store.neighbours(good_ids[0]) == []
    assert found(store, marking=TLP_GREEN) == set()
    assert found(store, text="xxxx") == set()


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_batch_boundaries_do_not_change_the_report(database_url: str, batch_size: int) -> None:
    batch, good_ids, expected = _mixed_batch()
    store = open_store(database_url, batch_size=batch_size)
    try:
        report = store.put_many(batch)
        assert report.written == good_ids
        assert refusals(report.refused) == expected
        again = store.put_many(batch)
        assert again.written == [] and again.unchanged == good_ids
        assert refusals(again.refused) == expected
    finally:
        store.close()


def test_a_batch_ends_at_its_size_in_characters(database_url: str) -> None:
    """Memory stays bounded by ``batch_chars`` whatever the objects' size: each batch
    (one transaction, one call of the write hook) ends once it holds that much JSON."""
    objects = [sdo(description="z" * 400) for _ in range(6)]
    store = open_store(database_url)
    store.batch_chars = 1_000  # two or three of these objects
    batches: list[list[str]] = []
    try:
        report = store.put_many(objects, on_write=lambda _c, ids: batches.append(ids))
        assert report.written == [obj["id"] for obj in objects]
        assert [len(ids) for ids in batches] == [2, 2, 2]
        assert [i for ids in batches for i in ids] == report.written
    finally:
        store.close()


def test_max_object_bytes_is_the_store_setting(database_url: str) -> None:
    store = open_store(database_url, max_object_bytes=600)
    try:
        small, large = sdo(), sdo(description="y" * 600)
        report = store.put_many([large, small])
        assert report.written == [small["id"]]
        assert refusals(report.refused) == [(0, large["id"], "size")]
    finally:
        store.close()


def test_a_reference_path_too_long_to_index_is_refused(store: SqlStore) -> None:
    long_key = "x_" + "a" * 320 + "_ref"
    bad, good = sdo(**{long_key: new_id("identity")}), sdo()
    report = store.put_many([bad, good])
    assert report.written == [good["id"]]
    assert [(p.index, p.object_id) for p in report.refused] == [(0, bad["id"])]
    assert report.refused[0].field.startswith("x_aaa")
    assert store.get(bad["id"]) is None


# -- queries ----------------------------------------------------------------------------------


@pytest.fixture
def corpus(store: SqlStore) -> dict[str, dict[str, Any]]:
    """A small knowledge base: two authors, three markings, a few types and dates."""
    ministry = sdo("identity", name="Ministry A", identity_class="organization")
    partner = sdo("identity", name="Ministry B", identity_class="organization")
    objects = {
        "ministry": ministry,
        "partner": partner,
        "aqim": sdo(
            "intrusion-set",
            name="Al-Qaïda au Maghreb islamique",
            aliases=["AQMI", "تنظيم القاعدة في بلاد المغرب الإسلامي"],
            description="Groupe actif dans la bande sahélo-saharienne.",
            created_by_ref=ministry["id"],
            object_marking_refs=[TLP_AMBER],
            modified=stamp(10),
        ),
        "jnim": sdo(
            "intrusion-set",
            name="JNIM",
            description="Coalition active in Mali and Burkina Faso.",
            created_by_ref=partner["id"],
            object_marking_refs=[TLP_GREEN],
            modified=stamp(20),
        ),
        "actor": sdo(
            "threat-actor",
            name="Smuggling network",
            description="Moves people across the Sahara; and/or near the border.",
            labels=["human-trafficking"],
            created_by_ref=ministry["id"],
            object_marking_refs=[TLP_GREEN, TLP_CLEAR],
            modified=stamp(15),
        ),
        "mali": sdo("location", name="Mali", country="ML", modified=stamp(5)),
        "note": sdo(
            "note",
            content="Le GMMP se réunit à Rabat.",
            abstract="Groupe Migratoire Mixte Permanent",
            object_refs=[ministry["id"]],
            external_references=[{"source_name": "MAP", "description": "dépêche du 22 avril"}],
            created_by_ref=partner["id"],
            modified=stamp(25),
        ),
    }
    report = store.put_many(list(objects.values()))
    assert report.refused == []
    return objects


def test_query_lists_current_objects_in_seq_order(
    store: SqlStore, corpus: dict[str, dict[str, Any]]
) -> None:
    page = store.query(Query())
    assert ids_of(page) == [obj["id"] for obj in corpus.values()]
    assert [stored.seq for stored in page.objects] == sorted(s.seq for s in page.objects)
    assert page.next_after is None
    assert all(stored.current for stored in page.objects)


def test_query_by_type(store: SqlStore, corpus: dict[str, dict[str, Any]]) -> None:
    assert found(store, types=("intrusion-set",)) == {corpus["aqim"]["id"], corpus["jnim"]["id"]}
    assert found(store, types=("location", "note")) == {corpus["mali"]["id"], corpus["note"]["id"]}
    assert found(store, types=("campaign",)) == set()


def test_query_by_author(store: SqlStore, corpus: dict[str, dict[str, Any]]) -> None:
    ministry = corpus["ministry"]["id"]
    assert found(store, created_by=ministry) == {corpus["aqim"]["id"], corpus["actor"]["id"]}
    assert found(store, created_by=new_id("identity")) == set()


def test_query_by_marking(store: SqlStore, corpus: dict[str, dict[str, Any]]) -> None:
    assert found(store, marking=TLP_GREEN) == {corpus["jnim"]["id"], corpus["actor"]["id"]}
    assert found(store, marking=TLP_CLEAR) == {corpus["actor"]["id"]}
    assert found(store, marking=TLP_AMBER) == {corpus["aqim"]["id"]}


def test_query_by_modified_range(store: SqlStore, corpus: dict[str, dict[str, Any]]) -> None:
    since, until = as_store_timestamp(stamp(10)), as_store_timestamp(stamp(20))
    # since is inclusive, until exclusive.
    assert found(store, since=since, until=until) == {corpus["aqim"]["id"], corpus["actor"]["id"]}
    assert found(store, since=as_store_timestamp(stamp(20))) == {
        corpus["jnim"]["id"],
        corpus["note"]["id"],
    }
    assert found(store, until=as_store_timestamp(stamp(5))) == {
        corpus["ministry"]["id"],
        corpus["partner"]["id"],
    }


def test_query_by_created_range(store: SqlStore) -> None:
    early, late = sdo(created=stamp(1, 6)), sdo(created=stamp(1, 8))
    store.put_many([early, late])
    assert found(store, time_field="created", since=as_store_timestamp(stamp(1, 7))) == {late["id"]}


def test_query_by_date_added(store: SqlStore) -> None:
    first = sdo()
    store.put_many([first])
    time.sleep(0.01)
    # An old version arriving late is still "added" late: date_added is arrival time.
    second = sdo(modified=stamp(1, year=2001), created=stamp(1, year=2001))
    store.put_many([second])
    added_first, added_second = store.get(first["id"]), store.get(second["id"])
    assert added_first is not None and added_second is not None
    assert added_first.date_added < added_second.date_added

    boundary = added_second.date_added
    assert found(store, time_field="date_added", since=boundary) == {second["id"]}
    assert found(store, time_field="date_added", until=boundary) == {first["id"]}


@pytest.mark.parametrize(
    ("search", "key"),
    [
        ("sahelo", "aqim"),  # accents folded: "sahélo-saharienne"
        ("SAHÉLO", "aqim"),
        ("saharienne", "aqim"),
        ("qaida", "aqim"),
        ("Al-Qaïda", "aqim"),
        ("aqmi", "aqim"),  # aliases
        ("القاعدة", "aqim"),  # Arabic
        ("المغرب الإسلامي", "aqim"),
        ("burkina", "jnim"),  # descriptions
        ("human-trafficking", "actor"),  # labels
        ("rabat", "note"),  # note content
        ("permanent", "note"),  # abstract
        ("depeche", "note"),  # external reference description
        ("MAP", "note"),  # external reference source name
        ("Ministry A", "ministry"),
    ],
)
def test_text_search(
    store: SqlStore, corpus: dict[str, dict[str, Any]], search: str, key: str
) -> None:
    assert found(store, text=search) == {corpus[key]["id"]}


def test_text_search_needs_every_word(store: SqlStore, corpus: dict[str, dict[str, Any]]) -> None:
    assert found(store, text="mali") == {corpus["jnim"]["id"], corpus["mali"]["id"]}
    assert found(store, text="mali coalition") == {corpus["jnim"]["id"]}
    assert found(store, text="mali sahara") == set()
    assert found(store, text="ministry") == {corpus["ministry"]["id"], corpus["partner"]["id"]}


@pytest.mark.parametrize(
    "search",
    [
        "\"AND OR * NEAR( ' -",
        'NEAR("a" "b", 2) OR body:x* ^y -z',
        "and/or",
        '"unbalanced',
        "col:value",
        "a & b | !c <-> d:*",
        "'; DROP TABLE objects; --",
        "%_\\",
    ],
)
def test_text_search_treats_operators_as_plain_words(
    store: SqlStore, corpus: dict[str, dict[str, Any]], search: str
) -> None:
    page = store.query(Query(text=search))
    assert isinstance(page.objects, list)
    assert store.count() == len(corpus)


def test_text_search_operator_words_are_words(
    store: SqlStore, corpus: dict[str, dict[str, Any]]
) -> None:
    assert found(store, text="\"AND OR * NEAR( ' -") == {corpus["actor"]["id"]}
    assert found(store, text="and/or") == {corpus["actor"]["id"]}


@pytest.mark.parametrize("search", ["", "   ", "*", "-- ( ) \" '", "…"])
def test_text_search_without_words_finds_nothing(
    store: SqlStore, corpus: dict[str, dict[str, Any]], search: str
) -> None:
    assert store.query(Query(text=search)) == Page([], None)


def test_text_search_splits_dotted_names_the_same_on_every_database(store: SqlStore) -> None:
    domain = {"type": "domain-name", "id": new_id("domain-name"), "value": "c2.evil-example.org"}
    email = {"type": "email-addr", "id": new_id("email-addr"), "value": "rif@mail.example.net"}
    store.put_many([domain, email])
    assert found(store, text="evil-example") == {domain["id"]}
    assert found(store, text="c2.evil-example.org") == {domain["id"]}
    assert found(store, text="example") == {domain["id"], email["id"]}
    assert found(store, text="rif@mail.example.net") == {email["id"]}


def test_text_with_nul_characters_is_stored_and_searchable(store: SqlStore) -> None:
    odd, good = sdo(name="nul\u0000separated"), sdo(name="plain")
    report = store.put_many([odd, good])
    assert report.written == [odd["id"], good["id"]]
    stored = store.get(odd["id"])
    assert stored is not None and stored.object == odd
    assert found(store, text="separated") == {odd["id"]}


def _distinct_words(count: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = []
    for number in range(count):
        word = ""
        for _ in range(6):
            number, digit = divmod(number, 26)
            word += letters[digit]
        words.append(word)
    return words


def test_a_large_text_does_not_fail_its_batch(store: SqlStore) -> None:
    # ~840 kB of distinct words: under max_object_bytes, over PostgreSQL's tsvector limit
    # if it were indexed as is.
    words = _distinct_words(120_000)
    large, small = sdo(description=" ".join(words)), sdo(name="small")
    report = store.put_many([large, small])
    assert report.written == [large["id"], small["id"]] and report.refused == []
    stored = store.get(large["id"])
    assert stored is not None and stored.object == large
    assert found(store, text=words[0]) == {large["id"]}
    assert found(store, text="small") == {small["id"]}


def test_filters_combine(store: SqlStore, corpus: dict[str, dict[str, Any]]) -> None:
    ministry = corpus["ministry"]["id"]
    assert found(store, types=("intrusion-set",), marking=TLP_GREEN) == {corpus["jnim"]["id"]}
    assert found(store, created_by=ministry, marking=TLP_GREEN) == {corpus["actor"]["id"]}
    assert found(store, created_by=ministry, text="sahara") == {corpus["actor"]["id"]}
    assert found(store, created_by=ministry, text="burkina") == set()
    assert found(
        store,
        types=("intrusion-set", "threat-actor"),
        created_by=ministry,
        since=as_store_timestamp(stamp(12)),
    ) == {corpus["actor"]["id"]}
    assert found(
        store,
        types=("intrusion-set", "location"),
        text="mali",
        until=as_store_timestamp(stamp(15)),
    ) == {corpus["mali"]["id"]}


def _page_through(store: ObjectStore, query: Query) -> list[Page]:
    pages = [store.query(query)]
    while pages[-1].next_after is not None:
        assert len(pages) < 100
        pages.append(store.query(dataclasses.replace(query, after=pages[-1].next_after)))
    return pages


def test_keyset_paging_visits_every_object_once_in_seq_order(store: SqlStore) -> None:
    batch = [sdo(name=f"paged {n}") for n in range(250)]
    store.put_many(batch)
    pages = _page_through(store, Query(limit=100))

    assert [len(page.objects) for page in pages] == [100, 100, 50]
    assert [page.next_after for page in pages[:-1]] == [page.objects[-1].seq for page in pages[:-1]]
    assert pages[-1].next_after is None
    seen = [stored for page in pages for stored in page.objects]
    assert [stored.id for stored in seen] == [obj["id"] for obj in batch]
    assert [stored.seq for stored in seen] == sorted({stored.seq for stored in seen})


def test_keyset_paging_with_a_filter_and_an_exact_last_page(store: SqlStore) -> None:
    wanted: list[str] = []
    for n in range(200):
        kept = sdo("campaign", name=f"c{n}")
        wanted.append(kept["id"])
        store.put_many([kept, sdo("threat-actor", name=f"t{n}")])
    pages = _page_through(store, Query(types=("campaign",), limit=100))
    assert [len(page.objects) for page in pages] == [100, 100]
    assert pages[-1].next_after is None
    assert [stored.id for page in pages for stored in page.objects] == wanted


def test_keyset_paging_sees_objects_written_while_paging(store: SqlStore) -> None:
    store.put_many([sdo() for _ in range(5)])
    first = store.query(Query(limit=3))
    late = sdo(name="late")
    store.put_many([late])
    assert first.next_after is not None
    rest = store.query(Query(limit=3, after=first.next_after))
    assert ids_of(rest)[-1] == late["id"]
    assert len(rest.objects) == 3 and rest.next_after is None


# -- graph --------------------------------------------------------------------------------


def test_neighbours_are_the_references_both_ways(store: SqlStore) -> None:
    author = sdo("identity")
    actor, place = sdo(), sdo("location")
    link = relationship(
        actor["id"],
        place["id"],
        "located-at",
        created_by_ref=author["id"],
        object_marking_refs=[TLP_GREEN],
    )
    ghost = new_id("threat-actor")  # never stored
    report = sdo("report", object_refs=[actor["id"], link["id"], ghost])
    campaign_id = new_id("campaign")
    nested = sdo(
        "campaign",
        object_id=campaign_id,
        extensions={
            "x-diapason-ext": {
                "extension_type": "property-extension",
                "lead_ref": actor["id"],
                "members_refs": [place["id"]],
            }
        },
        granular_markings=[{"marking_ref": TLP_AMBER, "selectors": ["name"]}],
    )
    store.put_many([author, actor, place, link, report, nested])

    assert set(store.neighbours(actor["id"])) == {
        Edge(link["id"], "source_ref", actor["id"]),
        Edge(report["id"], "object_refs[0]", actor["id"]),
        Edge(campaign_id, "extensions.x-diapason-ext.lead_ref", actor["id"]),
    }
    assert set(store.neighbours(place["id"])) == {
        Edge(link["id"], "target_ref", place["id"]),
        Edge(campaign_id, "extensions.x-diapason-ext.members_refs[0]", place["id"]),
    }
    assert set(store.neighbours(link["id"])) == {
        Edge(link["id"], "source_ref", actor["id"]),
        Edge(link["id"], "target_ref", place["id"]),
        Edge(link["id"], "created_by_ref", author["id"]),
        Edge(report["id"], "object_refs[1]", link["id"]),
    }
    # Markings are not edges.
    assert store.neighbours(TLP_GREEN) == [] and store.neighbours(TLP_AMBER) == []
    assert found(store, marking=TLP_AMBER) == {campaign_id}
    # A reference to an object the store does not hold is still an edge.
    assert store.neighbours(ghost) == [Edge(report["id"], "object_refs[2]", ghost)]


# -- deletion -------------------------------------------------------------------------------


def test_delete_erases_every_version_and_leaves_a_tombstone(store: SqlStore) -> None:
    place = sdo("location")
    old = sdo(
        name="November", modified=stamp(1), object_marking_refs=[TLP_GREEN], x_place_ref=place["id"]
    )
    new = version(old, stamp(2), name="Oscar")
    keep = sdo(name="Papa", x_other_ref=old["id"])
    store.put_many([place, old, new, keep])

    tombstone = store.delete(old["id"], actor="analyst-1", reason="court order 12/2024")
    assert tombstone is not None
    assert tombstone.object_id == old["id"]
    assert tombstone.type == "threat-actor"
    assert tombstone.actor == "analyst-1"
    assert tombstone.reason == "court order 12/2024"
    assert STORE_STAMP.match(tombstone.deleted_at)
    assert store.tombstones() == [tombstone]
    assert store.tombstones(after=tombstone.seq) == []

    assert store.get(old["id"]) is None
    assert store.versions(old["id"]) == []
    assert store.get_version(old["id"], as_store_timestamp(stamp(1))) is None
    assert store.count() == 2
    assert found(store, text="oscar") == set()
    assert found(store, marking=TLP_GREEN) == set()
    assert store.neighbours(place["id"]) == []
    # Other objects keep their own references to it.
    assert store.neighbours(old["id"]) == [Edge(keep["id"], "x_other_ref", old["id"])]


def test_a_replaced_version_keeps_its_links_out_of_reads_until_delete_erases_them(
    store: SqlStore,
) -> None:
    """A replaced version's marking and reference rows stay (reads keep current versions
    only); deleting the object erases the rows of every version."""
    place, other = sdo("location"), sdo("location")
    old = sdo(modified=stamp(1), object_marking_refs=[TLP_GREEN], x_place_ref=place["id"])
    store.put_many([place, other, old])
    newer = version(old, stamp(2), object_marking_refs=[TLP_AMBER], x_place_ref=other["id"])
    report = store.put_many([newer])
    assert report.written == [old["id"]]

    assert store.neighbours(place["id"]) == []
    assert store.neighbours(other["id"]) == [Edge(old["id"], "x_place_ref", other["id"])]
    assert Edge(old["id"], "x_place_ref", other["id"]) in store.neighbours(old["id"])
    assert found(store, marking=TLP_GREEN) == set()
    assert found(store, marking=TLP_AMBER) == {old["id"]}

    seqs = [stored.seq for stored in store.versions(old["id"])]
    assert store.delete(old["id"], actor="analyst-1", reason="erasure request") is not None
    marks = ", ".join(str(seq) for seq in seqs)
    with store.engine.connect() as connection:
        for statement in (
            f"SELECT count(*) FROM edges WHERE source_seq IN ({marks})",
            f"SELECT count(*) FROM object_markings WHERE object_seq IN ({marks})",
        ):
            assert connection.exec_driver_sql(statement).scalar_one() == 0, statement
    assert store.neighbours(other["id"]) == []
    assert found(store, marking=TLP_AMBER) == set()


def test_delete_of_an_unknown_object_leaves_no_tombstone(store: SqlStore) -> None:
    assert store.delete(new_id("threat-actor"), actor="a", reason="r") is None
    assert store.tombstones() == []


def test_a_deleted_object_comes_back_only_with_a_newer_version(store: SqlStore) -> None:
    old = sdo(name="Quebec", modified=stamp(1))
    new = version(old, stamp(2), name="Romeo")
    store.put_many([old, new])
    tombstone = store.delete(old["id"], actor="analyst-1", reason="erasure")
    assert tombstone is not None
    counts = row_counts(store)

    report = store.put_many([old, new])
    assert report.written == [] and report.unchanged == []
    assert refusals(report.refused) == [(0, old["id"], "modified"), (1, old["id"], "modified")]
    assert row_counts(store) == counts
    assert store.get(old["id"]) is None

    revived = version(old, "2099-01-01T00:00:00.000Z", name="Sierra")
    assert tombstone.deleted_at < as_store_timestamp(revived["modified"])
    report = store.put_many([revived])
    assert report.written == [old["id"]]
    current = store.get(old["id"])
    assert current is not None and current.object == revived
    assert found(store, text="sierra") == {old["id"]}

    second = store.delete(old["id"], actor="analyst-2", reason="again")
    assert second is not None and second.seq > tombstone.seq
    assert store.tombstones() == [tombstone, second]
    assert store.tombstones(after=tombstone.seq) == [second]
    assert store.tombstones(limit=1) == [tombstone]


# -- counting -------------------------------------------------------------------------------


def test_count_counts_objects_not_versions(store: SqlStore) -> None:
    assert store.count() == 0
    first, second = sdo(modified=stamp(1)), sdo()
    store.put_many([first, version(first, stamp(2)), version(first, stamp(3)), second])
    assert store.count() == 2
    assert store.count(include_revoked=True) == 2
    store.put_many([version(second, stamp(4), revoked=True)])
    assert store.count() == 1
    assert store.count(include_revoked=True) == 2
    store.delete(first["id"], actor="a", reason="r")
    assert store.count() == 0
    assert store.count(include_revoked=True) == 1


def test_postgresql_writers_analyse_at_doubling_totals() -> None:
    """20,000 rows written, then 40,000, then 80,000: the first analysis gives the planner
    the table's shape, and later ones grow rarer as each samples a larger table."""
    schedule = AnalysisSchedule()
    due_at = [total for total in range(10_000, 200_001, 10_000) if schedule.due(10_000)]
    assert due_at == [20_000, 40_000, 80_000, 160_000]
    assert not schedule.due(0)

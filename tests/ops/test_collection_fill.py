"""``Collections.fill``: the set operation behind ``diapason collection fill`` writes the
entries that adding every version one by one (``add_entries``) writes, on both databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from diapason.exchange.collections import Collections
from diapason.store.schema import collection_entries
from diapason.store.sql import SqlStore
from tests.builders import sdo, stamp


def _entries(engine: sa.Engine, collection_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(
                    collection_entries.c.seq,
                    collection_entries.c.object_id,
                    collection_entries.c.modified,
                    collection_entries.c.object_seq,
                    collection_entries.c.date_added,
                    collection_entries.c.is_first,
                    collection_entries.c.is_latest,
                )
                .where(collection_entries.c.collection_id == collection_id)
                .order_by(collection_entries.c.seq)
            ).all()
        )


def _shape(rows: list[Any]) -> set[tuple[str, str, int, bool, bool]]:
    return {
        (r.object_id, r.modified, r.object_seq, bool(r.is_first), bool(r.is_latest)) for r in rows
    }


def _versions(store: SqlStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """Three versions of an actor, an indicator, a malware revoked in its last version."""
    actor = sdo("threat-actor", modified=stamp(1))
    indicator = sdo("indicator", modified=stamp(1))
    malware = sdo("malware", modified=stamp(1))
    batch = [
        actor,
        {**actor, "modified": stamp(2)},
        {**actor, "modified": stamp(3)},
        indicator,
        malware,
        {**malware, "modified": stamp(2), "revoked": True},
    ]
    report = store.put_many(batch)
    assert not report.refused, report.refused
    return actor, indicator


def test_fill_matches_adding_one_by_one(store: SqlStore) -> None:
    actor, indicator = _versions(store)
    collections = Collections(store.engine)
    collections.ensure_default("test")
    by_hand = collections.add("main", "By hand")
    filled = collections.add("main", "Filled")
    # One version held already: the fill adds the others and moves first/latest.
    collections.add_entries(filled.id, [(actor["id"], "2024-01-02T00:00:00.000000Z")])
    wanted = [(v.id, v.modified) for i in (actor["id"], indicator["id"]) for v in store.versions(i)]
    collections.add_entries(by_hand.id, [(actor["id"], "2024-01-02T00:00:00.000000Z")])
    collections.add_entries(by_hand.id, wanted)

    seen: list[tuple[int, int]] = []
    added = collections.fill(
        filled.id, all_versions=True, progress=lambda d, t: seen.append((d, t))
    )

    assert added == 3  # actor's 1st and 3rd versions, the indicator; not the revoked malware
    rows = _entries(store.engine, filled.id)
    assert _shape(rows) == _shape(_entries(store.engine, by_hand.id))
    assert [(r.object_id, r.is_first, r.is_latest) for r in rows if r.object_id == actor["id"]]
    latest = {r.modified for r in rows if r.object_id == actor["id"] and r.is_latest}
    assert latest == {"2024-01-03T00:00:00.000000Z"}
    # New entries follow the objects' order, each with its own, later, date added.
    new = rows[1:]
    assert [r.object_seq for r in new] == sorted(r.object_seq for r in new)
    stamps = [r.date_added for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(len(s) == 27 and s.endswith("Z") for s in stamps)
    assert seen and seen[-1][0] == seen[-1][1]
    # Filling again adds nothing.
    assert collections.fill(filled.id, all_versions=True) == 0


def test_fill_current_versions_of_a_type(store: SqlStore) -> None:
    actor, indicator = _versions(store)
    collections = Collections(store.engine)
    collections.ensure_default("test")
    target = collections.add("main", "Actors")
    assert collections.fill(target.id, types=["threat-actor"]) == 1
    rows = _entries(store.engine, target.id)
    assert [(r.object_id, r.modified, bool(r.is_first), bool(r.is_latest)) for r in rows] == [
        (actor["id"], "2024-01-03T00:00:00.000000Z", True, True)
    ]
    assert collections.fill(target.id) == 1  # the indicator; the revoked malware stays out
    assert {r.object_id for r in _entries(store.engine, target.id)} == {
        actor["id"],
        indicator["id"],
    }


def test_fill_an_empty_store(store: SqlStore) -> None:
    collections = Collections(store.engine)
    collections.ensure_default("test")
    assert collections.fill(collections.add("main", "Empty").id) == 0

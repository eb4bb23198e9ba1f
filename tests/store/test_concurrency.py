"""Concurrent writers of the same objects: versioning stays right on every implementation.

Several API processes and sync workers may write at once (one SQLite file with WAL, or one
PostgreSQL behind many processes): each write decides "is this version new, is it the
newest?" from what is held, so writers must not decide at the same time.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import sqlalchemy as sa

from diapason.domain.timestamps import as_store_timestamp
from diapason.store.schema import objects
from diapason.store.sql import SqlStore, open_store
from tests.builders import stamp

WRITERS = 4
DAYS = 16


def _version(object_id: str, day: int) -> dict[str, Any]:
    return {
        "type": "campaign",
        "spec_version": "2.1",
        "id": object_id,
        "created": stamp(1),
        "modified": stamp(day),
        "name": f"campaign day {day}",
    }


def test_concurrent_writers_keep_one_current_version_per_object(database_url: str) -> None:
    ids = [f"campaign--{uuid.uuid4()}" for _ in range(10)]
    stores = [open_store(database_url, upgrade=False) for _ in range(WRITERS + 1)]
    failures: list[BaseException] = []
    start = threading.Barrier(WRITERS + 1)

    def write(store: SqlStore, days: list[int]) -> None:
        try:
            start.wait()
            for day in days:
                report = store.put_many([_version(object_id, day) for object_id in ids])
                assert report.refused == []
        except BaseException as error:  # reported to the test's thread below
            failures.append(error)

    # Each writer sends its share of the days; the last one sends every day, so every
    # version is also sent twice, concurrently.
    plans = [list(range(first, DAYS + 1, WRITERS)) for first in range(1, WRITERS + 1)]
    plans.append(list(range(DAYS, 0, -1)))
    threads = [
        threading.Thread(target=write, args=(store, plan))
        for store, plan in zip(stores, plans, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        store = stores[0]
        newest = as_store_timestamp(stamp(DAYS))
        for object_id in ids:
            versions = store.versions(object_id)
            assert len(versions) == DAYS
            assert [stored.modified for stored in versions if stored.current] == [newest]
        with store.engine.connect() as connection:
            current = connection.execute(
                sa.select(sa.func.count()).select_from(objects).where(objects.c.is_current)
            ).scalar_one()
        assert current == len(ids)
        assert store.count() == len(ids)
    finally:
        for store in stores:
            store.close()

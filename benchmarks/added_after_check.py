"""Quick in-process check: TAXII ``added_after`` listings stay flat as a collection grows.

Run: ``.venv/bin/python -m benchmarks.added_after_check [--count 200000]`` (SQLite, about
a minute). Prints the p50 of 20 calls for a 1,000-entry page starting at the start, the
middle and the last 0.1 % of the collection, beside a plain keyset page.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import sqlalchemy as sa

from benchmarks.generate import generate_objects
from diapason.exchange.collections import EntryFilter
from diapason.node import init_node
from diapason.settings import load_settings
from diapason.store.schema import collection_entries


def p50(call: object, repeat: int = 20) -> float:
    assert callable(call)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200_000)
    count = parser.parse_args().count
    objects = generate_objects(count)
    folder = tempfile.mkdtemp(prefix="diapason-added-after-")
    node, _initialised = init_node(load_settings(folder, environ={}, sync_interval=0), "bench")
    collection = node.collections.add("main", "bench")
    for start in range(0, len(objects), 10_000):
        report = node.store.put_many(objects[start : start + 10_000])
        node.collections.add_entries(collection.id, [(i, m) for _, i, m in report.versions])
    with node.database.engine.connect() as connection:
        stamps = list(
            connection.execute(
                sa.select(collection_entries.c.date_added).order_by(collection_entries.c.seq)
            ).scalars()
        )
    print(f"{len(stamps):,} entries")
    pages = node.collections
    for fraction in (0.0, 0.5, 0.999):
        after = stamps[int(len(stamps) * fraction)]
        took = p50(lambda after=after: pages.page(collection.id, EntryFilter(added_after=after)))
        print(f"added_after at {fraction:.1%} of the collection: p50 {took:.1f} ms")
    last = len(stamps) // 2
    took = p50(lambda: pages.page(collection.id, EntryFilter(), after=last))
    print(f"keyset page from the middle: p50 {took:.1f} ms")
    node.close()


if __name__ == "__main__":
    main()

"""``diapason collection fill`` against the import of the same versions (issue 25).

Run from the project root::

    .venv/bin/python -m benchmarks.collection_fill [--count 50000] [--postgres URL]
        [--repeat 3] [--json PATH]

Each round, on each database (a fresh SQLite file; with ``--postgres``, a throwaway
database ``diapason_bench_<random>`` created on that server and dropped at the end):
``--count`` generated STIX versions (``benchmarks.generate``) are imported with
``put_many`` (timed: the anchor), then put in collections three ways, each timed:

* ``fill``: ``Collections.fill`` of the current versions (what the command runs: one
  ``INSERT … SELECT`` per slice of object seqs, one ``UPDATE`` of first/latest),
* ``fill --all-versions``: the same with every version,
* ``add_entries`` by pages, and the same ``--all-versions``: the way the command worked
  before (pages of 2,000 current objects read through the store, every version of each
  read with ``store.versions`` for ``--all-versions``, each page's versions added with
  ``add_entries``), kept as the reference of what changed.

Every figure is reported as a ratio of the import time of the same versions in the same
round; the medians over ``--repeat`` rounds are printed (and written with ``--json``).
"""

from __future__ import annotations

import argparse
import platform
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from benchmarks.common import positive, writable_file
from benchmarks.generate import generate_objects
from diapason.exchange.collections import Collections
from diapason.store import open_store
from diapason.store.interface import Query
from diapason.store.sql import SqlStore

FIGURES = (
    "import",
    "fill",
    "fill --all-versions",
    "add_entries by pages",
    "add_entries by pages --all-versions",
)


@contextmanager
def database(kind: str, postgres: str | None, folder: Path) -> Iterator[str]:
    """A fresh, empty database of ``kind``; dropped at the end (PostgreSQL)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'bench-{secrets.token_hex(4)}.sqlite3'}"
        return
    assert postgres is not None
    name = f"diapason_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def by_pages(
    store: SqlStore, collections: Collections, collection_id: str, *, all_versions: bool = False
) -> int:
    """The fill as the command did it before: pages of current objects, ``add_entries``
    (with ``all_versions``, each object's versions read with ``store.versions``)."""
    added = 0
    query = Query(limit=2000)
    while True:
        page = store.query(query)
        versions: list[tuple[str, str]] = []
        for stored in page.objects:
            if all_versions:
                versions.extend((v.id, v.modified) for v in store.versions(stored.id))
            else:
                versions.append((stored.id, stored.modified))
        added += collections.add_entries(collection_id, versions)
        if page.next_after is None:
            return added
        query = Query(limit=2000, after=page.next_after)


def one_round(url: str, versions: list[dict[str, Any]]) -> dict[str, float]:
    store = open_store(url)
    try:
        collections = Collections(store.engine)
        collections.ensure_default("bench")
        seconds: dict[str, float] = {}
        seconds["import"], report = timed(lambda: store.put_many(versions))
        assert not report.refused, report.refused[:3]
        current = collections.add("main", "Current")
        every = collections.add("main", "Every version")
        reference = collections.add("main", "By pages")
        reference_all = collections.add("main", "By pages, every version")
        seconds["fill"], added = timed(lambda: collections.fill(current.id))
        seconds["fill --all-versions"], added_all = timed(
            lambda: collections.fill(every.id, all_versions=True)
        )
        seconds["add_entries by pages"], added_ref = timed(
            lambda: by_pages(store, collections, reference.id)
        )
        seconds["add_entries by pages --all-versions"], added_ref_all = timed(
            lambda: by_pages(store, collections, reference_all.id, all_versions=True)
        )
        assert added == added_ref, (added, added_ref)
        assert added_all == added_ref_all, (added_all, added_ref_all)
        assert added_all >= added
        return seconds
    finally:
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=positive, default=50_000)
    parser.add_argument("--postgres", default=None, help="A PostgreSQL server URL.")
    parser.add_argument("--repeat", type=positive, default=3)
    parser.add_argument("--json", type=writable_file, default=None)
    args = parser.parse_args(argv)
    console = Console()
    versions = generate_objects(args.count)
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="diapason-fill-") as folder:
        for number in range(args.repeat):
            for kind in kinds:
                with database(kind, args.postgres, Path(folder)) as url:
                    runs[kind].append(one_round(url, versions))
                console.print(f"round {number + 1}/{args.repeat} {kind}: {runs[kind][-1]}")
    table = Table(title=f"{args.count:,} versions, median of {args.repeat} rounds")
    for column in ("database", "figure", "seconds", "ratio to import"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    result: dict[str, Any] = {
        "count": args.count,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "runs": runs,
        "medians": {},
    }
    for kind in kinds:
        medians = {f: statistics.median(run[f] for run in runs[kind]) for f in FIGURES}
        result["medians"][kind] = medians
        for figure in FIGURES:
            ratio = medians[figure] / medians["import"]
            table.add_row(kind, figure, f"{medians[figure]:.2f}", f"{ratio:.2f}")
    console.print(table)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

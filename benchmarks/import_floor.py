"""How close is the bulk import to what SQLite itself costs? ``put_many`` against a bare
``executemany`` of the same rows into the same schema.

Run from the project root::

    .venv/bin/python -m benchmarks.import_floor [--count 100000] [--rounds 3] [--json PATH]

``--count`` object versions of ``benchmarks.generate.generate_objects`` are imported into a
fresh, migrated SQLite file (the store's own schema, indexes and connection settings) two
ways, round after round in one process:

* ``put_many``: ``open_store(...).put_many(objects)``, everything the import does (checks,
  trust rules, versions, markings, references, full text), as ``diapason import`` runs it;
* ``floor``: the rows ``put_many`` writes (objects, markings, references, full text), made
  beforehand from ``prepare``'s records outside the timing, inserted with one DB-API
  ``executemany`` per table in one write transaction on the store's engine: the least any
  import of these objects into this schema can cost.

The figure is floor / put_many by medians (issue 21's target: at least 0.70, pure Python).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from benchmarks.common import positive, print_targets, writable_file
from benchmarks.generate import generate_objects
from diapason.domain.stix import Prepared, prepare
from diapason.store.db import write_transaction
from diapason.store.sql import open_store

TARGET = 0.70
STAMP = "2026-12-07T00:00:00.000000Z"


def rows_of(objects: list[dict[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows ``put_many`` writes for ``objects`` (all new, first versions current)."""
    prepared = [prepare(obj, index, 1_048_576) for index, obj in enumerate(objects)]
    latest: dict[str, Prepared] = {}
    for record in prepared:
        assert isinstance(record, Prepared), record
        held = latest.get(record.id)
        if held is None or record.modified > held.modified:
            latest[record.id] = record
    rows: dict[str, list[tuple[Any, ...]]] = {"objects": [], "markings": [], "edges": []}
    fts: list[tuple[Any, ...]] = []
    for seq, record in enumerate(prepared, 1):
        assert isinstance(record, Prepared)
        current = latest[record.id] is record
        rows["objects"].append(
            (
                seq,
                record.id,
                record.modified,
                record.type,
                record.spec_version,
                record.created,
                record.created_by_ref,
                record.revoked,
                current,
                STAMP,
                "import",
                record.content,
            )
        )
        if not current:
            continue
        if record.text and not record.revoked:
            fts.append((seq, record.text))
        rows["markings"] += zip(record.markings, repeat(seq))
        rows["edges"] += [
            (target, seq, prop) for prop, target in record.edges if prop != "created_by_ref"
        ]
    rows["fts"] = fts
    return rows


def floor(path: Path, rows: dict[str, list[tuple[Any, ...]]]) -> float:
    store = open_store(f"sqlite:///{path}")
    try:
        gc.collect()
        started = time.perf_counter()
        with write_transaction(store.engine, bulk=True) as connection:
            connection.exec_driver_sql(
                "INSERT INTO objects (seq, id, modified, type, spec_version, created, "
                "created_by_ref, revoked, is_current, date_added, source, content) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows["objects"],
            )
            connection.exec_driver_sql(
                "INSERT INTO object_markings (marking_ref, object_seq) VALUES (?, ?)",
                rows["markings"],
            )
            connection.exec_driver_sql(
                "INSERT INTO edges (target_id, source_seq, property) VALUES (?, ?, ?)",
                rows["edges"],
            )
            connection.exec_driver_sql(
                "INSERT INTO object_fts(rowid, body) VALUES (?, ?)", rows["fts"]
            )
        return time.perf_counter() - started
    finally:
        store.close()


def put_many(path: Path, objects: list[dict[str, Any]]) -> float:
    store = open_store(f"sqlite:///{path}")
    try:
        gc.collect()
        started = time.perf_counter()
        report = store.put_many(objects, source="import")
        elapsed = time.perf_counter() - started
        assert not report.refused, report.refused[:3]
        return elapsed
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=positive, default=100_000)
    parser.add_argument("--rounds", type=positive, default=3)
    parser.add_argument("--json", type=writable_file, default=None)
    options = parser.parse_args()
    console = Console()
    console.print(f"building {options.count:,} objects and their rows")
    objects = generate_objects(options.count)
    rows = rows_of(objects)
    times: dict[str, list[float]] = {"floor": [], "put_many": []}
    with tempfile.TemporaryDirectory(prefix="diapason-bench-floor-") as folder:
        for round_number in range(options.rounds):
            # Alternate which goes first, so that neither always meets a warmer machine.
            order = ("floor", "put_many") if round_number % 2 == 0 else ("put_many", "floor")
            for name in order:
                path = Path(folder) / f"{name}-{round_number}.sqlite3"
                seconds = floor(path, rows) if name == "floor" else put_many(path, objects)
                times[name].append(round(seconds, 3))
                console.print(f"round {round_number + 1}: {name} {seconds:.2f} s")
    ratio = statistics.median(times["floor"]) / statistics.median(times["put_many"])
    record = {
        "count": options.count,
        "seconds": times,
        "rows": {table: len(found) for table, found in rows.items()},
        "floor_over_put_many": round(ratio, 3),
        "put_many_objects_per_s": round(options.count / statistics.median(times["put_many"])),
    }
    console.print_json(data=record)
    print_targets(
        console,
        "bulk import against the SQLite floor",
        [(f"floor / put_many at least {TARGET:.2f}", f"{ratio:.2f}", ratio >= TARGET)],
    )
    if options.json:
        Path(options.json).write_text(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()

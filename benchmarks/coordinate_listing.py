"""What the joint mechanism costs over the store it writes to.

Issue 7 names no speed target; the anchor is the store itself, measured in the same run:

* **write**: one edit through ``Coordination.update`` (checks, markings, grade, audit in
  the same transaction) against one ``store.put_many`` of an object of the same size with
  an audit entry;
* **one item**: ``Coordination.get`` (the item's revisions found through the store's
  references, assembled, viewed, the consultation audited) against one ``store.get``;
* **listing**: ``Coordination.actions()`` (every revision read, items assembled, overdue
  flags, one consultation audited) against a plain ``store.query`` listing of the same
  objects.

Usage: ``.venv/bin/python -m benchmarks.coordinate_listing [--items 300] [--edits 2]``
(SQLite in a temporary folder; ``--database-url`` for PostgreSQL).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from diapason.domain.coordination import ACTION_TYPE
from diapason.node import init_node
from diapason.settings import load_settings
from diapason.store.interface import Query

PARIS = "identity--0b6cf3f5-8a2e-4f43-9a5b-1f6f0f9c2d11"


def timed(function: Callable[[], object], repeat: int) -> float:
    """The median seconds of ``repeat`` calls."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--edits", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            Path(folder) / "rabat",
            environ={},
            node_name="rabat",
            database_url=arguments.database_url,
        )
        node, _ = init_node(settings, "benchmark")
        node.partners.add("paris", "http://127.0.0.1:9", "unused", identity_id=PARIS)
        joint = node.coordination(actor="benchmark", editor="benchmark")
        due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        ids: list[str] = []
        edit_times: list[float] = []
        with Progress(console=console) as progress:
            task = progress.add_task("writing", total=arguments.items * (1 + arguments.edits))
            for number in range(arguments.items):
                action = joint.create_action(f"Action {number}", "paris", due, assignee="A")
                ids.append(action.id)
                progress.advance(task)
                for edit in range(arguments.edits):
                    started = time.perf_counter()
                    joint.update(action.id, {"assignee": f"Agent {edit}"})
                    edit_times.append(time.perf_counter() - started)
                    progress.advance(task)
        sample = node.store.get(ids[0])
        assert sample is not None
        template = dict(sample.object)

        def raw_write() -> None:
            obj = {**template, "id": f"{ACTION_TYPE}--{uuid.uuid4()}"}

            def audit(connection: Any, written: list[str]) -> None:
                node.audit.append("benchmark", "update", written, connection=connection)

            node.store.put_many([obj], source="local", on_write=audit)

        def raw_listing() -> None:
            page = node.store.query(Query(types=(ACTION_TYPE,), limit=1000))
            while page.next_after is not None:
                page = node.store.query(
                    Query(types=(ACTION_TYPE,), limit=1000, after=page.next_after)
                )

        middle = ids[len(ids) // 2]
        rows = [
            ("write (one edit)", statistics.median(edit_times), timed(raw_write, 50)),
            (
                "one item",
                timed(lambda: joint.get(middle), 50),
                timed(lambda: node.store.get(middle), 50),
            ),
            ("listing (all actions)", timed(joint.actions, 5), timed(raw_listing, 5)),
        ]
        node.close()
    table = Table(
        title=f"joint mechanism vs store ({arguments.items} actions x "
        f"{1 + arguments.edits} revisions, {settings.database_dialect})"
    )
    for heading in ("operation", "coordinate", "store (anchor)", "ratio"):
        table.add_column(heading)
    for name, ours, anchor in rows:
        table.add_row(
            name, f"{ours * 1000:.1f} ms", f"{anchor * 1000:.1f} ms", f"{ours / anchor:.1f}x"
        )
    console.print(table)


if __name__ == "__main__":
    main()

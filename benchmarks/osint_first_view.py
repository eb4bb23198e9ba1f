"""OSINT speed a person feels (issue 23): the first view of an article after a restart, and
``diapason ingest`` of one article, start-up included.

Run from the project root::

    .venv/bin/python -m benchmarks.osint_first_view [--repeat 5] [--json PATH]

Ingest: each round makes a fresh node (SQLite) in a temporary folder and runs
``diapason ingest`` of the seed article (``../shared/seed/``) as a separate process, timed
from the spawn to its exit (target under 5 s). Anchors in the same round:
``python -c 'import diapason'`` and ``diapason --version``, also as processes.

First view: on the last round's node (the article ingested), each round starts
``diapason serve`` as a separate process, waits for ``/health`` to answer, signs in as the
admin, then times the first ``GET`` of the article's page (target under 300 ms). Anchors on
the same server, right after: ``GET /health`` and ``GET /`` (the dashboard). The server
loads the language model in a thread of its own at startup (the node holds an article):
the first view runs while it does, as a person's would.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from rich.console import Console
from tests.shared import SEED

from benchmarks.common import free_port, positive, print_targets, writable_file
from benchmarks.web_pages import PASSWORD, sign_in, start_server
from diapason.node import Node, init_node
from diapason.settings import load_settings

INGEST_TARGET = 5.0
VIEW_TARGET = 0.300


def timed_process(*args: str) -> float:
    """Seconds from spawning ``python args`` to its exit (which must be 0)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, env=env, capture_output=True, timeout=300)
    return time.perf_counter() - started


def fresh_node(folder: Path) -> None:
    settings = load_settings(folder, environ={}, sync_interval=0)
    node, initialised = init_node(settings, "benchmark")
    assert initialised is not None
    node.accounts.set_password("admin", PASSWORD)
    node.close()


def ingest_round(root: Path, number: int) -> tuple[Path, dict[str, float]]:
    folder = root / f"node-{number}"
    fresh_node(folder)
    figures = {
        "import diapason (anchor)": timed_process("-c", "import diapason"),
        "diapason --version (anchor)": timed_process("-m", "diapason", "--version"),
        "diapason ingest": timed_process(
            "-m", "diapason", "ingest", "--data", str(folder), "--json", str(SEED)
        ),
    }
    return folder, figures


def view_round(folder: Path, report_id: str) -> dict[str, float]:
    port = free_port()
    database_url = load_settings(folder, environ={}).database_url.reveal()
    server = start_server(folder, database_url, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            sign_in(client)
            started = time.perf_counter()
            page = client.get(f"/osint/articles/{report_id}")
            first = time.perf_counter() - started
            assert page.status_code == 200 and 'class="ent ' in page.text, page.status_code
            figures = {"first view of the article": first}
            for name, path in (("GET /health (anchor)", "/health"), ("GET / (anchor)", "/")):
                started = time.perf_counter()
                assert client.get(path).status_code == 200
                figures[name] = time.perf_counter() - started
            started = time.perf_counter()
            client.get(f"/osint/articles/{report_id}")
            figures["second view of the article"] = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    return figures


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=positive, default=5, help="rounds of each (5)")
    parser.add_argument("--json", type=writable_file, help="write every figure to this file")
    args = parser.parse_args(argv)
    console = Console()
    ingests: list[dict[str, float]] = []
    views: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="diapason-osint-bench-") as temporary:
        root = Path(temporary)
        folder = root
        for number in range(args.repeat):
            folder, figures = ingest_round(root, number)
            ingests.append(figures)
            console.print(f"ingest round {number + 1}: {figures}")
        node = Node.open(load_settings(folder, environ={}))
        reports = node.read.newest_of_type("report", 1, source="osint")
        node.close()
        report_id = str(reports[0]["id"])
        for number in range(args.repeat):
            figures = view_round(folder, report_id)
            views.append(figures)
            console.print(f"view round {number + 1}: {figures}")
    ingest, view = medians(ingests), medians(views)
    anchor = ingest["diapason --version (anchor)"]
    health = view["GET /health (anchor)"]
    print_targets(
        console,
        f"OSINT speed, medians of {args.repeat} rounds",
        [
            (
                f"diapason ingest of one article < {INGEST_TARGET:.0f} s",
                f"{ingest['diapason ingest']:.2f} s ({ingest['diapason ingest'] / anchor:.0f}x "
                f"diapason --version, {anchor:.2f} s)",
                ingest["diapason ingest"] < INGEST_TARGET,
            ),
            (
                f"first view of an article after a restart < {VIEW_TARGET * 1000:.0f} ms",
                f"{view['first view of the article'] * 1000:.0f} ms "
                f"({view['first view of the article'] / health:.0f}x GET /health, "
                f"{health * 1000:.1f} ms; GET / {view['GET / (anchor)'] * 1000:.0f} ms)",
                view["first view of the article"] < VIEW_TARGET,
            ),
        ],
    )
    if args.json:
        Path(args.json).write_bytes(
            orjson.dumps(
                {
                    "machine": {
                        "python": platform.python_version(),
                        "processor": platform.processor() or platform.machine(),
                        "cpus": os.cpu_count(),
                        "load": os.getloadavg(),
                    },
                    "ingest": ingests,
                    "view": views,
                    "medians": {"ingest": ingest, "view": view},
                },
                option=orjson.OPT_INDENT_2,
            )
        )


if __name__ == "__main__":
    main()

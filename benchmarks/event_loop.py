"""Does a large TAXII POST freeze the node? ``/health`` latency while one is written.

Run from the project root::

    .venv/bin/python -m benchmarks.event_loop [--count 100000] [--json PATH]

One real node (``python -m diapason serve`` on loopback, SQLite, its background loop off)
is sent one TAXII POST of ``--count`` objects of ``benchmarks.generate.generate_objects``
(about 74 MB for 100,000) to its default collection, by the admin's token. While that
request runs, a second client asks ``/health`` every ``--every`` ms, on a connection of its
own, and records each answer's latency. The anchor is the same ``/health`` asked the same
way with nothing else running, measured first in the same run.

Target (issue 21): ``/health`` p99 under 100 ms while the POST runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console

from benchmarks.common import free_port, positive, print_targets, writable_file
from benchmarks.generate import generate_objects
from diapason.exchange.protocol import TAXII
from diapason.node import init_node
from diapason.settings import load_settings

TARGET_P99_MS = 100.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def probe(url: str, every: float, stop: threading.Event) -> list[float]:
    """``/health`` latencies in ms, one request every ``every`` s until ``stop``."""
    found: list[float] = []
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(f"{url}/health")
            found.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            time.sleep(every)
    return found


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=positive, default=100_000)
    parser.add_argument("--every", type=positive, default=10, help="ms between two probes")
    parser.add_argument("--json", type=writable_file, default=None)
    options = parser.parse_args()
    console = Console()
    every = options.every / 1000

    with tempfile.TemporaryDirectory(prefix="diapason-bench-loop-") as folder:
        data = Path(folder) / "node"
        settings = load_settings(data, environ={}, node_name="rabat")
        node, initialised = init_node(settings, "benchmark")
        assert initialised is not None
        token = initialised.token.secret
        collection = node.collections.add("main", "Benchmark", alias="benchmark")
        node.collections.grant(collection.id, "admin", read=True, write=True)
        node.close()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
        env["DIAPASON_SYNC_INTERVAL"] = "0"
        server = subprocess.Popen(
            [sys.executable, "-m", "diapason", "serve", "--data", str(data), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            console.print(f"building {options.count:,} objects")
            body = orjson.dumps({"objects": generate_objects(options.count)})

            stop = threading.Event()
            timer = threading.Timer(5.0, stop.set)
            timer.start()
            idle = probe(url, every, stop)

            stop = threading.Event()
            result: dict[str, Any] = {}

            def post() -> None:
                started = time.perf_counter()
                response = httpx.post(
                    f"{url}/taxii2/main/collections/{collection.id}/objects/",
                    content=body,
                    headers={
                        "Content-Type": TAXII,
                        "Accept": TAXII,
                        "Authorization": f"Bearer {token}",
                    },
                    timeout=600,
                )
                result["post_s"] = round(time.perf_counter() - started, 2)
                result["status"] = response.status_code
                result["success_count"] = response.json().get("success_count")
                stop.set()

            poster = threading.Thread(target=post)
            poster.start()
            busy = probe(url, every, stop)
            poster.join()
        finally:
            server.terminate()
            server.wait(timeout=30)

    record = {
        "count": options.count,
        "body_mb": round(len(body) / 1e6, 1),
        "post": result,
        "health_idle": summary(idle),
        "health_during_post": summary(busy),
    }
    record["p99_ratio_to_idle"] = round(
        record["health_during_post"]["p99_ms"] / record["health_idle"]["p99_ms"], 1
    )
    console.print_json(data=record)
    p99 = record["health_during_post"]["p99_ms"]
    print_targets(
        console,
        "event loop",
        [(f"/health p99 under {TARGET_P99_MS:g} ms during the POST", f"{p99} ms", p99 < 100)],
    )
    if options.json:
        Path(options.json).write_text(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()

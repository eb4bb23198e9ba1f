"""What do the request figures cost? Request throughput with ``/metrics`` on and off.

Run from the project root::

    .venv/bin/python -m benchmarks.request_metrics [--requests 500] [--rounds 15]
        [--clients 4] [--json PATH]

One node (SQLite, in a temporary folder, its background loop off) is served twice at
once, each by its own uvicorn process on loopback: once as ``serve`` runs it (every request
through the pipeline counted by endpoint and status, its latency observed in a histogram;
multiprocess mode, files in the data folder's ``metrics/``), once built with
``create_app(metrics=False)`` (nothing counted, no ``/metrics``). ``--clients`` threads,
each with its own keep-alive connection, send requests until ``--requests`` have been
answered, to two endpoints served through the pipeline: ``GET /login`` (a page rendered
from memory, no database write: where the figures' share is largest) and ``GET /taxii2/``
(the TAXII discovery: the admin's Bearer token checked, the consultation audited). The
rounds alternate between the two servers, a pair of rounds back to back (in turns first),
so both see the same machine; each mode's median round is its throughput, and the ratio is
the median of the pairs' on/off. The last scrape checks that the
figures counted every request of the "on" rounds. The cost of counting one request
(``RequestMetrics.observe``, multiprocess mode) is also timed alone, in this process.
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
from rich.table import Table

from benchmarks.common import free_port, positive, print_targets, writable_file
from diapason.exchange.protocol import TAXII
from diapason.node import init_node
from diapason.settings import load_settings

# The figures may cost at most this share of the throughput.
TARGET_RATIO = 0.95
# The same, from the cost of counting one request timed alone (robust to a loaded machine).
TARGET_SHARE = 0.01
PATHS = ("/login", "/taxii2/")


def observe_cost(calls: int = 20_000) -> float:
    """Microseconds to count one request and observe its latency (multiprocess mode)."""
    from starlette.requests import Request
    from starlette.routing import Route

    from diapason.http.metrics import RequestMetrics

    with tempfile.TemporaryDirectory(prefix="diapason-bench-observe-") as folder:
        metrics = RequestMetrics(Path(folder))
        route = Route("/taxii2/{api_root}/", lambda request: None)
        state = {"started": time.perf_counter()}
        scope = {"type": "http", "method": "GET", "path": "/taxii2/main/", "headers": []}
        request = Request({**scope, "route": route, "state": state})
        started = time.perf_counter()
        for _ in range(calls):
            metrics.observe(request, 200)
        return (time.perf_counter() - started) / calls * 1e6


def serve(data: Path, port: int, metrics: bool) -> None:
    """The server process of one mode (``--serve on|off``)."""
    import uvicorn

    from diapason.http.metrics import metrics_folder
    from diapason.web.app import create_app

    settings = load_settings(data, sync_interval=0)
    if metrics:
        metrics_folder(data)  # as serve does
    app = create_app(settings, metrics=metrics)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", server_header=False)


def start(data: Path, metrics: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    mode = "on" if metrics else "off"
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.request_metrics", "--serve", mode, str(data), str(port)],
        env={**os.environ, "DIAPASON_DATA": str(data)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the {mode} server did not start")


def load(url: str, path: str, token: str, requests: int, clients: int) -> float:
    """Requests per second answered by ``clients`` threads sending ``requests`` in all."""
    share = [requests // clients + (1 if n < requests % clients else 0) for n in range(clients)]
    headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}
    failures: list[str] = []

    def client(count: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            for _ in range(count):
                answer = http.get(path)
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                    return

    threads = [threading.Thread(target=client, args=(count,)) for count in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"a request failed: {failures[0]}")
    return requests / elapsed


def counted(url: str, token: str) -> int:
    """The requests of ``PATHS`` answered 200, as the "on" server's figures say."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    total = 0
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if (
                sample.name == "diapason_http_requests_total"
                and sample.labels.get("endpoint") in PATHS
                and sample.labels.get("status") == "200"
            ):
                total += int(sample.value)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=positive, default=500, help="per round")
    parser.add_argument("--rounds", type=positive, default=15, help="per mode and endpoint")
    parser.add_argument("--clients", type=positive, default=4)
    parser.add_argument("--json", type=writable_file, default=None)
    parser.add_argument(
        "--serve", nargs=3, metavar=("MODE", "DATA", "PORT"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.serve:
        mode, data, port = options.serve
        serve(Path(data), int(port), mode == "on")
        return
    console = Console()
    with tempfile.TemporaryDirectory(prefix="diapason-bench-metrics-") as folder:
        data = Path(folder) / "node"
        settings = load_settings(data, environ={}, node_name="bench", sync_interval=0)
        node, initialised = init_node(settings, "bench")
        assert initialised is not None
        token = initialised.token.secret
        node.close()
        servers = {mode: start(data, mode == "on") for mode in ("on", "off")}
        warm = min(200, options.requests)
        rates: dict[str, dict[str, list[float]]] = {path: {"on": [], "off": []} for path in PATHS}
        try:
            for path in PATHS:
                for mode in ("on", "off"):  # warm-up: connections, caches, first requests
                    load(servers[mode][1], path, token, warm, options.clients)
                for round_ in range(options.rounds):
                    # Each round a pair back to back, in turns first: a machine whose load
                    # changes over the run weighs on both modes alike.
                    for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                        rates[path][mode].append(
                            load(servers[mode][1], path, token, options.requests, options.clients)
                        )
            total = counted(servers["on"][1], token)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=30)
    cost = observe_cost()
    expected = len(PATHS) * (warm + options.rounds * options.requests)
    median = {
        path: {mode: statistics.median(values) for mode, values in modes.items()}
        for path, modes in rates.items()
    }
    # The median of each round's on/off pair.
    ratios = {
        path: statistics.median(
            on / off for on, off in zip(rates[path]["on"], rates[path]["off"], strict=True)
        )
        for path in PATHS
    }
    table = Table(title=f"{options.clients} clients, median of {options.rounds} rounds")
    for heading in ("endpoint", "metrics", "requests/s (median)", "each round", "on/off (pairs)"):
        table.add_column(heading)
    for path in PATHS:
        for mode in ("on", "off"):
            table.add_row(
                path,
                mode,
                f"{median[path][mode]:,.0f}",
                ", ".join(f"{rate:,.0f}" for rate in rates[path][mode]),
                f"{ratios[path]:.1%}" if mode == "on" else "",
            )
    console.print(table)
    # A request's time as one client sees it, without the figures (clients run at once).
    share = {path: cost / 1e6 * median[path]["off"] / options.clients for path in PATHS}
    console.print(
        f"Counting one request (observe, multiprocess mode): {cost:.1f} µs, "
        + ", ".join(f"{share[path]:.2%} of a {path} request" for path in PATHS)
    )
    print_targets(
        console,
        "Request figures",
        [
            *(
                (
                    f"{path}: throughput with metrics >= {TARGET_RATIO:.0%} of without",
                    f"{ratios[path]:.1%}",
                    ratios[path] >= TARGET_RATIO,
                )
                for path in PATHS
            ),
            *(
                (
                    f"counting one request <= {TARGET_SHARE:.0%} of a {path} request",
                    f"{share[path]:.2%}",
                    share[path] <= TARGET_SHARE,
                )
                for path in PATHS
            ),
            ("every request counted", f"{total:,} of {expected:,}", total == expected),
        ],
    )
    if options.json:
        result: dict[str, Any] = {
            "requests_per_round": options.requests,
            "rounds": options.rounds,
            "clients": options.clients,
            "rates": rates,
            "median": median,
            "ratios": ratios,
            "observe_microseconds": cost,
            "observe_share": share,
            "counted": total,
            "expected": expected,
        }
        Path(options.json).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()

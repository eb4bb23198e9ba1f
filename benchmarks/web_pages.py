"""Web interface benchmark (issue 8): server time of the main pages with 100,000 objects.

Run from the project root::

    .venv/bin/python -m benchmarks.web_pages [--count 100000] [--repeat 30]
        [--postgres URL] [--json PATH]

For each store (SQLite, and PostgreSQL when ``--postgres`` names a server), the benchmark
makes a node in a temporary folder, stores ``--count`` object versions of
``benchmarks.generate.generate_objects`` (nine in ten with provenance ``local``, one in ten
as received from a partner ``paris``; 10,000 of them are events of the Sahel-Saharan countries
for the anticipation page), adds partner ``paris``, ingests the seed article, writes a year
of the joint mechanism's records (``add_feature_data``), and runs the disclosure ledger
(so the dashboard and object pages have releases to show; a second partner, ``lisbon``,
has sent nothing), runs ``VACUUM ANALYZE`` on PostgreSQL (what autovacuum does by itself
minutes after a load), then starts ``diapason serve``
as a separate process on loopback, as an operator would, and signs in as the admin.

Each page is fetched ``--repeat`` times after two warm-up requests, one after the other.
Two figures per page: the **server time**, read from the ``Server-Timing`` header the
interface sets (the page handler: queries, audit entry, rendering), and the **wall time**
seen by the client (plus HTTP, uvicorn, middleware). The target is a server time under
200 ms. Anchors measured in the same run, on the same server: ``GET /health`` (one
``SELECT 1``) and a TAXII 2.1 object ``GET`` (an object of partner paris's collection, with
the admin's token); each page's median wall time is given as a ratio to theirs. The
anticipation page is also measured on its first view after each new event (no warm-up,
nothing kept from the previous view).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from tests.shared import SEED

from benchmarks.common import free_port, print_targets, writable_file
from benchmarks.generate import generate_objects
from diapason.coordinate import CoordinationError
from diapason.domain.extensions import EVENT_EXTENSION_ID, TLP_2_0_IDS
from diapason.node import Node, init_node
from diapason.settings import load_settings

PASSWORD = "benchmark passphrase long enough"
TARGET_MS = 200.0
TAXII = "application/taxii+json;version=2.1"
TIMING_RE = re.compile(r"app;dur=([0-9.]+)")
# Part of the ``--count`` versions: events for the anticipation page (ten years of a busy
# region's reporting), and the seed article (benchmarks may read /work/shared).
EVENTS = 10_000


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def prepare(folder: Path, database_url: str | None, count: int, console: Console) -> dict[str, Any]:
    """A node holding ``count`` versions, partner paris, the ledger run; what to fetch."""
    settings = load_settings(
        folder, environ={}, node_name="rabat", database_url=database_url, sync_interval=0
    )
    node, initialised = init_node(settings, "benchmark")
    assert initialised is not None
    node.accounts.set_password("admin", PASSWORD)
    objects = generate_objects(count - EVENTS, seed=7)
    split = count * 9 // 10
    started = time.perf_counter()
    for first in range(0, len(objects), 10_000):
        chunk = objects[first : first + 10_000]
        source = "local" if first < split else "partner:paris"
        report = node.store.put_many(chunk, source=source)
        node.audit.append("benchmark", "import", report.written[:1], details={"n": len(chunk)})
    loaded = time.perf_counter() - started
    node.partners.add("paris", "http://127.0.0.1:9", "dia_benchmark-token-of-paris")
    # A partner that sent nothing: its "latest received" must not scan the whole store.
    node.partners.add("lisbon", "http://127.0.0.1:9", "dia_benchmark-token-of-lisbon")
    started = time.perf_counter()
    extra = add_feature_data(node)
    console.print(
        f"  {EVENTS:,} events, the seed article and the joint mechanism's records "
        f"in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    run = node.ledger.run("benchmark")
    ledger = time.perf_counter() - started
    console.print(
        f"  stored {count:,} versions in {loaded:.1f} s; ledger {ledger:.1f} s "
        f"({run.released.get('paris', 0):,} released to paris)"
    )
    # The object pages measured: the most referenced threat actor, and a report.
    referenced = Counter(
        obj["target_ref"]
        for obj in objects
        if obj["type"] == "relationship" and obj["target_ref"].startswith("threat-actor--")
    )
    actor = referenced.most_common(1)[0][0]
    report_id = next(obj["id"] for obj in objects if obj["type"] == "report")
    partner = node.partners.get("paris")
    assert partner is not None
    with node.database.engine.connect() as connection:
        released = connection.execute(
            sa.text(
                "SELECT object_id FROM collection_entries WHERE collection_id = :c "
                "ORDER BY seq DESC LIMIT 1"
            ),
            {"c": partner.outbox},
        ).scalar_one()
    token = initialised.token.secret
    url = node.settings.database_url.reveal()
    if node.database.engine.dialect.name == "postgresql":
        # What autovacuum does on its own within minutes of a load: the visibility map
        # lets counts read the date_added index alone.
        with node.database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    node.close()
    return {
        "actor": actor,
        "report": report_id,
        "outbox": partner.outbox,
        "released": released,
        "token": token,
        "database_url": url,
        "edges_of_actor": referenced[actor],
        **extra,
    }


def events(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` events in the Sahel-Saharan countries over eight years (2017-2024),
    as partners and the OSINT pipeline write them (date, country, PLOVER type, topics)."""
    chooser = random.Random(seed)
    countries = ("ML", "NE", "BF", "TD", "MR", "DZ", "LY", "SD", "NG", "SN", "CM", "MA")
    types = ("COERCE", "ASSAULT", "PROTEST", "MEET", "AGREE", "COOPERATE")
    topics = ("terrorism", "organized_crime", "migration", "border_security")
    stamp = "2025-01-01T00:00:00.000Z"
    made = []
    for _ in range(count):
        day = date(2017, 1, 1) + timedelta(days=chooser.randrange(8 * 365))
        made.append(
            {
                "type": "x-diapason-event",
                "spec_version": "2.1",
                "id": f"x-diapason-event--{uuid.UUID(int=chooser.getrandbits(128), version=4)}",
                "created": stamp,
                "modified": stamp,
                "occurred": f"{day.isoformat()}T12:00:00Z",
                "country": chooser.choice(countries),
                "event_type": chooser.choice(types),
                "topics": [chooser.choice(topics)],
                "object_marking_refs": [TLP_2_0_IDS["green"]],
                "extensions": {EVENT_EXTENSION_ID: {"extension_type": "new-sdo"}},
            }
        )
    return made


def add_feature_data(node: Node) -> dict[str, str]:
    """What the OSINT, anticipation and coordination pages show: the events, the seed
    article ingested, and a year of the joint mechanism (a group, 24 meetings with 5
    actions each, most of them overdue by now, 200 requests, 7 indicators over 24 months of our
    figures); returns the ids of the pages measured."""
    made = events(EVENTS)
    for first in range(0, EVENTS, 5_000):
        report = node.store.put_many(made[first : first + 5_000], source="partner:paris")
        assert not report.refused, report.refused[:1]
    article = node.ingestor("benchmark").ingest_text(SEED.read_text("utf-8"), origin="seed")
    assert article.report_id is not None, article.error
    year_ago = datetime.now(UTC) - timedelta(days=365)
    past = node.coordination(actor="benchmark", editor="nadia", clock=lambda: year_ago)
    now = node.coordination(actor="benchmark", editor="nadia")
    group = past.create_group("GMMP", "gmmp", ["rabat", "paris"]).item_id
    meeting = ""
    for month in range(24):
        start = (year_ago + timedelta(days=15 * month + 1)).date().isoformat()
        meeting = past.create_meeting(group, f"Meeting {month}", "working", start, "Rabat").item_id
        for number in range(5):
            due = (year_ago + timedelta(days=15 * month + 30 + 20 * number)).date().isoformat()
            past.create_action(f"Action {month}.{number}", "paris", due, meeting_ref=meeting)
    request = ""
    for number in range(200):
        deadline = (year_ago + timedelta(days=30 + number)).date().isoformat()
        request = past.create_request(
            f"Request {number}", "Which routes?", "paris", deadline
        ).item_id
    for definition in now.indicator_definitions():
        for month in range(24):
            moment = (year_ago + timedelta(days=14 * month)).strftime("%Y-%m")
            try:
                now.enter_figure(
                    {"indicator": definition["code"], "month": moment, "value": 10 + month}
                )
            except CoordinationError:
                continue  # two steps in one month: that month is held already
    return {"article": article.report_id, "meeting": meeting, "request": request}


def start_server(folder: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env.update(
        DIAPASON_DATABASE_URL=database_url, DIAPASON_SYNC_INTERVAL="0", DIAPASON_LOG_LEVEL="warning"
    )
    log = (folder.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "diapason", "serve", "--data", str(folder), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert csrf is not None
    response = client.post(
        "/login", data={"csrf": csrf.group(1), "username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 303, response.text


def measure(
    client: httpx.Client,
    path: str,
    repeat: int,
    headers: dict[str, str] | None = None,
    *,
    before: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Fetch ``path`` ``repeat`` times after two warm-up requests; with ``before`` (called
    before each request, e.g. to change the data), without warm-up."""
    walls: list[float] = []
    servers: list[float] = []
    warmup = 0 if before else 2
    for attempt in range(repeat + warmup):
        if before is not None:
            before(attempt)
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        wall = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
        if attempt < warmup:
            continue  # warm-up: caches, first compilation of templates
        walls.append(wall)
        timing = TIMING_RE.search(response.headers.get("server-timing", ""))
        if timing:
            servers.append(float(timing.group(1)))
    result = {
        "wall_median_ms": statistics.median(walls),
        "wall_p95_ms": percentile(walls, 0.95),
    }
    if servers:
        result["server_median_ms"] = statistics.median(servers)
        result["server_p95_ms"] = percentile(servers, 0.95)
    return result


def run_store(
    name: str, database_url: str | None, args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    console.print(f"[bold]{name}[/bold]")
    with tempfile.TemporaryDirectory(prefix="diapason-web-bench-") as workdir:
        folder = Path(workdir) / "rabat"
        facts = prepare(folder, database_url, args.count, console)
        port = free_port()
        server = start_server(folder, facts["database_url"], port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                sign_in(client)
                pages = {
                    "dashboard /": "/",
                    "search, no filter": "/objects",
                    "search, words": "/objects?q=sahel",
                    "search, type + marking": "/objects?type=threat-actor&marking=amber",
                    "search, page 2": None,
                    "object: threat actor": f"/objects/{facts['actor']}",
                    "object: report": f"/objects/{facts['report']}",
                    "audit trail": "/audit",
                    "users": "/admin/users",
                    "partners": "/admin/partners",
                    "collections": "/admin/collections",
                    "OSINT: latest articles": "/osint",
                    "OSINT: the seed article": f"/osint/articles/{facts['article']}",
                    "anticipation: sahel-saharan": "/anticipation",
                    "anticipation: ML, 12 periods": (
                        "/anticipation?place=ML&category=all&frequency=month&horizon=12"
                    ),
                    "coordination: groups": "/coordination",
                    "coordination: meetings": "/coordination/meetings",
                    "coordination: a meeting": f"/coordination/meetings/{facts['meeting']}",
                    "coordination: actions": "/coordination/actions",
                    "coordination: requests": "/coordination/requests",
                    "coordination: a request": f"/coordination/requests/{facts['request']}",
                    "coordination: indicators": "/coordination/indicators",
                    "coordination: opinions": "/coordination/opinions",
                    "coordination: conflicts": "/coordination/conflicts",
                }
                first = client.get("/objects")
                cursor = re.search(r'href="/objects\?after=(\d+)"', first.text)
                pages["search, page 2"] = f"/objects?after={cursor.group(1)}" if cursor else None
                results: dict[str, Any] = {
                    "health (anchor)": measure(client, "/health", args.repeat),
                    "TAXII object GET (anchor)": measure(
                        client,
                        f"/taxii2/main/collections/{facts['outbox']}/objects/{facts['released']}/",
                        args.repeat,
                        {"Accept": TAXII, "Authorization": f"Bearer {facts['token']}"},
                    ),
                }
                for label, path in pages.items():
                    if path is not None:
                        results[label] = measure(client, path, args.repeat)
                # The anticipation page keeps what it computed until the events change:
                # its first view after a new event reads every event and fits the model.
                settings = load_settings(
                    folder, environ={}, node_name="rabat", database_url=facts["database_url"]
                )
                writer = Node.open(settings)
                try:

                    def new_event(attempt: int) -> None:
                        report = writer.store.put_many(
                            events(1, seed=1000 + attempt), source="partner:paris"
                        )
                        assert report.written, report.refused

                    results["anticipation: first view after a new event"] = measure(
                        client, "/anticipation", args.repeat, before=new_event
                    )
                finally:
                    writer.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    health = results["health (anchor)"]["wall_median_ms"]
    taxii = results["TAXII object GET (anchor)"]["wall_median_ms"]
    for row in results.values():
        row["x_health"] = row["wall_median_ms"] / health
        row["x_taxii_object"] = row["wall_median_ms"] / taxii
    return {
        "store": name,
        "count": args.count,
        "pages": results,
        "facts": {"edges_of_actor": facts["edges_of_actor"]},
    }


def print_report(console: Console, report: dict[str, Any]) -> None:
    table = Table(title=f"{report['store']}, {report['count']:,} object versions")
    for heading in (
        "page",
        "server median",
        "server p95",
        "wall median",
        "wall p95",
        "x /health",
        "x TAXII GET",
    ):
        table.add_column(heading, justify="left" if heading == "page" else "right")
    for label, row in report["pages"].items():
        table.add_row(
            label,
            f"{row['server_median_ms']:.1f} ms" if "server_median_ms" in row else "—",
            f"{row['server_p95_ms']:.1f} ms" if "server_p95_ms" in row else "—",
            f"{row['wall_median_ms']:.1f} ms",
            f"{row['wall_p95_ms']:.1f} ms",
            f"{row['x_health']:.1f}",
            f"{row['x_taxii_object']:.1f}",
        )
    console.print(table)
    worst = max((row.get("server_p95_ms", 0.0), label) for label, row in report["pages"].items())
    print_targets(
        console,
        f"issue 8 target ({report['store']})",
        [
            (
                f"every page under {TARGET_MS:.0f} ms of server time (p95)",
                f"worst p95: {worst[1]} {worst[0]:.1f} ms",
                worst[0] < TARGET_MS,
            )
        ],
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="object versions stored")
    parser.add_argument("--repeat", type=int, default=30, help="measured requests per page")
    parser.add_argument("--postgres", default=None, help="PostgreSQL server URL (optional)")
    parser.add_argument("--json", type=writable_file, default=None, help="write the results here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    reports = [run_store("SQLite", None, args, console)]
    if args.postgres:
        name = f"diapason_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        try:
            reports.append(run_store("PostgreSQL", url, args, console))
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    for report in reports:
        print_report(console, report)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(reports, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

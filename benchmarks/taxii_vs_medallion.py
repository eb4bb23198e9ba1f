"""TAXII 2.1 server benchmark (issue 3): Diapason against medallion, then Diapason alone.

Run from the project root, with PostgreSQL running::

    .venv/bin/python -m benchmarks.taxii_vs_medallion [--max-size 1000000] [--sizes 2000,10000]
        [--medallion-timeout 300] [--workers 1] [--postgres URL] [--json PATH]

Every server is a real process listening on loopback, started as a user would, and every
measurement is made by ``taxii2-client`` in a child process of its own (``--client``), with
one client session (one ``requests`` connection) for the whole measurement:

* **Head to head** (``--sizes``, default 2,000 and 10,000 object versions of
  ``benchmarks.generate.generate_objects(size, seed)``, the same objects for every server).
  Each server starts empty and gets the objects through TAXII, as POSTs of 500
  (``Collection.add_objects``; timed: objects/s, per-POST latency), then the client pages
  through the collection with ``as_pages(collection.get_objects, per_request=1000)`` (timed:
  objects/s, per-page latency). Servers: medallion 3 (``medallion`` CLI, memory backend,
  Flask's threaded server: the only way it runs), a Diapason node on SQLite and one on
  PostgreSQL (``python -m diapason init``, ``collection add``, ``serve``). medallion's cost
  grows with the square of the collection, so each of its measurements has a time limit
  (``--medallion-timeout``) and a timeout is reported as such, with what was done by then.
* **Diapason alone as the collection grows** (``--max-size``, default 1,000,000; stages
  10,000, 100,000 and 1,000,000), on SQLite and on PostgreSQL. A loader child (``--load``)
  stores each stage's new objects with ``Node.store.put_many`` and puts every version in the
  collection with ``Node.collections.add_entries`` (what ``diapason collection fill`` does,
  without its per-object version lookups), while the server keeps running. After each stage
  the client pages through the whole collection (several passes when it is small, so that
  there are at least ``--min-pages`` pages), and per-page latency is reported for the pages
  at the start, in the middle and at the end of the collection; then it times
  ``added_after`` queries for the newest entries (what an incremental poll sends).

The objects of the growing collection come in blocks of 10,000:
``generate_objects(10_000, seed + k)`` for block ``k``, so block 0 is the head-to-head's
10,000 objects and memory stays flat whatever ``--max-size``.

Throughput is objects returned / wall time of the whole paging loop as the client sees it
(HTTP, JSON parsing by taxii2-client, its checks). Page latency is one ``as_pages`` step;
"HTTP" is the part spent in ``requests`` (request sent to body received), without the
client's JSON parsing. Server CPU is the server process's user + system time over the read,
from ``/proc``. Without filters TAXII returns the newest version of each object, so a read
returns fewer objects than the versions posted.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
import requests
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from benchmarks.bulk_import import (
    DEFAULT_POSTGRES,
    POSTGRES_ENV,
    create_database,
    drop_database,
    machine,
    progress_bar,
)
from benchmarks.common import free_port, print_targets, writable_file
from benchmarks.generate import generate_objects
from diapason.settings import mask_url_password

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_ENV = "DIAPASON_BENCH_TAXII_PASSWORD"
DATABASE_ENV = "DIAPASON_DATABASE_URL"
MEDALLION_COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
MEDALLION_USER, MEDALLION_PASSWORD = "admin", "bench-password"
TAXII_ACCEPT = "application/taxii+json;version=2.1"
PAGE = 1000
POST_BATCH = 500
BLOCK = 10_000  # objects per generated block of the growing collection
ENTRY_CHUNK = 1000  # versions per add_entries call in the loader (see the docs: quadratic)
ANALYZE_EVERY = 50_000
STAGES = (10_000, 100_000, 1_000_000)
SERVERS = ("medallion", "diapason-sqlite", "diapason-postgresql")
LABELS = {
    "medallion": "medallion 3 (memory)",
    "diapason-sqlite": "Diapason SQLite",
    "diapason-postgresql": "Diapason PostgreSQL",
    "sqlite": "Diapason SQLite",
    "postgresql": "Diapason PostgreSQL",
}

stderr = Console(stderr=True)


# -- the client child: taxii2-client against one server ----------------------------------
def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """Nearest-rank percentiles: with few samples (medallion's 2 pages) every value shown is
    one that was measured, not an interpolation between a fast and a very slow page."""
    if not samples_ms:
        nan = float("nan")
        return {"n": 0, "p50": nan, "p95": nan, "p99": nan, "max": nan, "mean": nan}
    ordered = sorted(samples_ms)

    def rank(fraction: float) -> float:
        return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 3)

    return {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


class DeadlineExceeded(Exception):
    """The measurement's time limit passed before the next request could be sent."""


class HttpRecorder:
    """Wraps the client's ``requests.Session.request``: times it, keeps the last headers and
    gives every request the time left before the deadline as its timeout."""

    def __init__(self, session: requests.Session) -> None:
        self.inner = session.request
        self.deadline: float | None = None
        self.last_ms = 0.0
        self.last_bytes = 0
        self.last_headers: Mapping[str, str] = {}
        session.request = self.request  # type: ignore[method-assign,assignment]

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded
            kwargs["timeout"] = left
        started = time.perf_counter()
        response = self.inner(method, url, *args, **kwargs)
        self.last_ms = (time.perf_counter() - started) * 1000
        self.last_bytes = len(response.content)
        self.last_headers = response.headers  # case-insensitive
        return response


TIMEOUTS = (DeadlineExceeded, requests.exceptions.Timeout, requests.exceptions.ConnectionError)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its descendants (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, IndexError, ValueError):
            if current == pid:
                return None
    return total


@dataclass
class PageSample:
    index: int
    objects: int
    ms: float
    http_ms: float
    bytes: int
    added_last: str | None


@dataclass
class Pass:
    pages: list[PageSample] = field(default_factory=list)
    objects: int = 0
    wall_s: float = 0.0
    timed_out: bool = False
    error: str | None = None


def read_pass(collection: Any, recorder: HttpRecorder) -> Pass:
    from taxii2client.v21 import as_pages

    result = Pass()
    started = time.perf_counter()
    pages = as_pages(collection.get_objects, per_request=PAGE)
    try:
        while True:
            begun = time.perf_counter()
            try:
                envelope = next(pages)
            except StopIteration:
                break
            elapsed = (time.perf_counter() - begun) * 1000
            count = len(envelope.get("objects", []))
            result.objects += count
            result.pages.append(
                PageSample(
                    len(result.pages),
                    count,
                    round(elapsed, 3),
                    round(recorder.last_ms, 3),
                    recorder.last_bytes,
                    recorder.last_headers.get("X-TAXII-Date-Added-Last"),
                )
            )
    except TIMEOUTS:
        result.timed_out = True
    except requests.exceptions.HTTPError as error:
        result.error = str(error)[:300]
    result.wall_s = time.perf_counter() - started
    return result


def position_buckets(passes: Sequence[Pass]) -> dict[str, Any]:
    """Latency of full pages by where they are in the collection: first, middle, last third."""
    buckets: dict[str, list[float]] = {"early": [], "middle": [], "end": []}
    http: dict[str, list[float]] = {"early": [], "middle": [], "end": []}
    for one in passes:
        count = len(one.pages)
        for page in one.pages:
            if page.objects < PAGE:
                continue  # the short last page would flatter the "end" bucket
            where = page.index / count
            name = "early" if where < 1 / 3 else ("middle" if where < 2 / 3 else "end")
            buckets[name].append(page.ms)
            http[name].append(page.http_ms)
    return {
        name: {"page_ms": percentiles(values), "http_ms": percentiles(http[name])}
        for name, values in buckets.items()
    }


def by_tenth(passes: Sequence[Pass]) -> dict[str, Any]:
    """p50 of the full pages in each tenth of the collection, over all passes and for each of
    the first three: is a page slower because of where it is (every pass alike) or because of
    when it was read (one pass only)?"""

    def tenths(chosen: Sequence[Pass]) -> list[float | None]:
        values: list[list[float]] = [[] for _ in range(10)]
        for one in chosen:
            for page in one.pages:
                if page.objects == PAGE:
                    values[min(9, page.index * 10 // len(one.pages))].append(page.ms)
        return [percentiles(tenth)["p50"] if tenth else None for tenth in values]

    return {"all": tenths(passes), "per_pass": [tenths([one]) for one in passes[:3]]}


def post_all(
    collection: Any, recorder: HttpRecorder, objects: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    samples: list[float] = []
    http: list[float] = []
    succeeded = failed = posted = 0
    timed_out = False
    error: str | None = None
    started = time.perf_counter()
    try:
        for start in range(0, len(objects), POST_BATCH):
            chunk = list(objects[start : start + POST_BATCH])
            begun = time.perf_counter()
            status = collection.add_objects({"objects": chunk}, wait_for_completion=False)
            samples.append((time.perf_counter() - begun) * 1000)
            http.append(recorder.last_ms)
            posted += len(chunk)
            succeeded += int(status.success_count)
            failed += int(status.failure_count)
    except TIMEOUTS:
        timed_out = True
    except requests.exceptions.HTTPError as error_raised:
        error = str(error_raised)[:300]
    wall = time.perf_counter() - started
    return {
        "objects": len(objects),
        "posted": posted,
        "posts": len(samples),
        "succeeded": succeeded,
        "failed": failed,
        "wall_s": round(wall, 3),
        "objects_per_s": round(posted / wall, 1) if posted and not timed_out else None,
        "post_ms": percentiles(samples),
        "http_ms": percentiles(http),
        "timed_out": timed_out,
        "error": error,
    }


def added_after_probes(
    collection: Any, recorder: HttpRecorder, first: Pass, probes: int
) -> dict[str, Any] | None:
    """``added_after`` = the latest date added, among the pages' last entries, that is older
    than the collection's newest (so: the newest entries, what an incremental poll asks for),
    and, for comparison, the first page without any filter."""
    stamps = [page.added_last for page in first.pages if page.added_last]
    older = [stamp for stamp in stamps if stamp < stamps[-1]] if stamps else []
    if not older or probes <= 0:
        return None
    stamp = older[-1]
    newest: list[float] = []
    returned = 0
    for _ in range(probes):
        envelope = collection.get_objects(added_after=stamp, limit=PAGE)
        newest.append(recorder.last_ms)
        returned = len(envelope.get("objects", []))
    first_page: list[float] = []
    for _ in range(probes):
        collection.get_objects(limit=PAGE)
        first_page.append(recorder.last_ms)
    return {
        "added_after": stamp,
        "newest_objects": returned,
        "newest_http_ms": percentiles(newest),
        "first_page_http_ms": percentiles(first_page),
    }


def run_client(args: argparse.Namespace) -> int:
    from taxii2client.v21 import Collection

    collection = Collection(args.url, user=args.user, password=os.environ[PASSWORD_ENV])
    recorder = HttpRecorder(collection._conn.session)
    result: dict[str, Any] = {"url": args.url}
    collection.refresh()  # the collection resource (taxii2-client's can_read check); warm-up
    pid: int | None = args.server_pid
    if args.post:
        objects = generate_objects(args.post, seed=args.seed)
        recorder.deadline = time.monotonic() + args.write_limit
        cpu_before = cpu_seconds(pid) if pid else None
        result["write"] = post_all(collection, recorder, objects)
        cpu_after = cpu_seconds(pid) if pid else None
        if cpu_before is not None and cpu_after is not None:
            result["write"]["server_cpu_s"] = round(cpu_after - cpu_before, 3)
        result["write"]["limit_s"] = args.write_limit
        result["write"]["load_average"] = round(os.getloadavg()[0], 2)
        if result["write"]["timed_out"] or result["write"]["error"]:
            Path(args.result).write_bytes(orjson.dumps(result))
            return 0
    recorder.deadline = time.monotonic() + args.read_limit
    cpu_before = cpu_seconds(pid) if pid else None
    load_before = os.getloadavg()[0]
    first = read_pass(collection, recorder)
    cpu_after = cpu_seconds(pid) if pid else None
    passes = [first]
    if not (first.timed_out or first.error) and args.min_pages > len(first.pages):
        wanted = min(args.max_passes, math.ceil(args.min_pages / max(1, len(first.pages))))
        while len(passes) < wanted:
            extra = read_pass(collection, recorder)
            passes.append(extra)
            if extra.timed_out or extra.error:
                break
    recorder.deadline = None
    all_pages = [page for one in passes for page in one.pages]
    read: dict[str, Any] = {
        "objects": first.objects,
        "pages": len(first.pages),
        "wall_s": round(first.wall_s, 3),
        "objects_per_s": round(first.objects / first.wall_s, 1)
        if first.objects and not (first.timed_out or first.error)
        else None,
        "timed_out": first.timed_out,
        "error": first.error,
        "limit_s": args.read_limit,
        "first_page_ms": first.pages[0].ms if first.pages else None,
        "passes": len(passes),
        "pages_sampled": len(all_pages),
        "page_ms": percentiles([page.ms for page in all_pages]),
        "http_ms": percentiles([page.http_ms for page in all_pages]),
        "page_bytes_mean": round(statistics.fmean(page.bytes for page in all_pages))
        if all_pages
        else None,
        "by_position": position_buckets(passes),
        "pass_objects_per_s": [
            round(one.objects / one.wall_s, 1) for one in passes if one.wall_s and one.objects
        ],
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if cpu_before is not None and cpu_after is not None and first.pages:
        read["server_cpu_s"] = round(cpu_after - cpu_before, 3)
        read["server_cpu_ms_per_page"] = round(
            (cpu_after - cpu_before) * 1000 / len(first.pages), 2
        )
    read["by_tenth"] = by_tenth(passes)
    if args.pages_out:
        read["page_samples"] = [
            {"pass": number, **page.__dict__}
            for number, one in enumerate(passes)
            for page in one.pages
        ]
    result["read"] = read
    if not (first.timed_out or first.error):
        result["probes"] = added_after_probes(collection, recorder, first, args.probes)
    Path(args.result).write_bytes(orjson.dumps(result))
    return 0


# -- the loader child: grows a node's collection -----------------------------------------
def block_objects(first: int, last: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Objects ``first``..``last`` (excluded) of the growing collection, block by block."""
    for block in range(first // BLOCK, math.ceil(last / BLOCK)):
        objects = generate_objects(BLOCK, seed=seed + block)
        low = max(first - block * BLOCK, 0)
        high = min(last - block * BLOCK, BLOCK)
        yield objects[low:high]


def run_loader(args: argparse.Namespace) -> int:
    from diapason.node import Node
    from diapason.settings import load_settings

    node = Node.open(load_settings(args.data))
    postgres = node.store.dialect == "postgresql"
    put_s = entries_s = generate_s = analyse_s = 0.0
    written = entries = unanalysed = 0
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task(
            f"load {node.store.dialect} → {args.load_to:,}", total=args.load_to - args.load_from
        )
        begun = time.perf_counter()
        for objects in block_objects(args.load_from, args.load_to, args.seed):
            generate_s += time.perf_counter() - begun
            begun = time.perf_counter()
            report = node.store.put_many(objects, source="benchmark")
            put_s += time.perf_counter() - begun
            written += len(report.written)
            versions = [(object_id, modified) for _i, object_id, modified in report.versions]
            begun = time.perf_counter()
            for start in range(0, len(versions), ENTRY_CHUNK):
                entries += node.collections.add_entries(
                    args.collection, versions[start : start + ENTRY_CHUNK]
                )
            entries_s += time.perf_counter() - begun
            unanalysed += len(versions)
            if postgres and unanalysed >= ANALYZE_EVERY:
                analyse_s += analyse(node.database.engine)
                unanalysed = 0
            progress.advance(task, len(objects))
            begun = time.perf_counter()
    if postgres:
        analyse_s += analyse(node.database.engine)
    total = time.perf_counter() - started
    count = args.load_to - args.load_from
    result = {
        "objects": count,
        "written": written,
        "entries_added": entries,
        "wall_s": round(total, 2),
        "objects_per_s": round(count / total, 1),
        "generate_s": round(generate_s, 2),
        "put_many_s": round(put_s, 2),
        "add_entries_s": round(entries_s, 2),
        "analyse_s": round(analyse_s, 2),
        "store_count": node.store.count(),
    }
    node.close()
    Path(args.result).write_bytes(orjson.dumps(result))
    return 0


def analyse(engine: sa.Engine) -> float:
    """``ANALYZE`` what the TAXII listings read (PostgreSQL; autovacuum may be off)."""
    started = time.perf_counter()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE collection_entries, objects")
        connection.commit()
    return time.perf_counter() - started


# -- servers ------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    collection_url: str
    user: str
    password: str
    log: Path
    command: list[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: only what we started
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def rss_mib(self) -> float | None:
        try:
            text = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None


def wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    auth: tuple[str, str] | None = None,
    timeout: float = 60,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            response = requests.get(url, auth=auth, headers={"Accept": TAXII_ACCEPT}, timeout=2)
            if response.status_code == 200:
                return
        except requests.exceptions.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} not up after {timeout:.0f} s")


def start_medallion(folder: Path) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {
            "title": "medallion benchmark peer",
            "default": f"{base}/api1/",
            "api_roots": [f"{base}/api1/"],
        },
        "api1": {
            "information": {
                "title": "API root 1",
                "versions": [TAXII_ACCEPT],
                "max_content_length": 104_857_600,
            },
            "status": [],
            "collections": [
                {
                    "id": MEDALLION_COLLECTION,
                    "title": "benchmark",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(folder / "data.json"),
            # Paging state lives in process memory and expires 30 s after the first page by
            # default: longer, so that a slow read is not cut short by it.
            "session_timeout": 3600,
        },
        "users": {MEDALLION_USER: MEDALLION_PASSWORD},
        "taxii": {"max_page_size": PAGE},
    }
    (folder / "data.json").write_bytes(orjson.dumps(data))
    (folder / "config.json").write_bytes(orjson.dumps(config))
    script = Path(sys.executable).with_name("medallion")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from medallion.scripts.run import main; main()"]
    )
    command += ["--host", "127.0.0.1", "--port", str(port), str(folder / "config.json")]
    log = folder / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    server = Server(
        "medallion",
        process,
        f"{base}/api1/collections/{MEDALLION_COLLECTION}/",
        MEDALLION_USER,
        MEDALLION_PASSWORD,
        log,
        command,
    )
    try:
        wait_until_up(f"{base}/taxii2/", process, log, (MEDALLION_USER, MEDALLION_PASSWORD))
    except RuntimeError:
        server.stop()
        raise
    return server


def node_env(database_url: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DIAPASON_") or key == "DIAPASON_TEST_POSTGRES_URL"
    }
    if database_url:
        env[DATABASE_ENV] = database_url
    return env


def diapason(arguments: Sequence[str], env: dict[str, str]) -> Any:
    completed = subprocess.run(
        [sys.executable, "-m", "diapason", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"diapason {' '.join(arguments[:2])} failed: {completed.stderr.decode()[-2000:]}"
        )
    return orjson.loads(completed.stdout)


@dataclass
class NodeSetup:
    data: Path
    env: dict[str, str]
    token: str
    collection_id: str


def create_node(folder: Path, database_url: str | None) -> NodeSetup:
    env = node_env(database_url)
    initialised = diapason(["init", "--data", str(folder), "--json"], env)
    collection = diapason(
        ["collection", "add", "bench", "--alias", "bench", "--data", str(folder), "--json"], env
    )
    return NodeSetup(folder, env, str(initialised["token"]), str(collection["id"]))


def start_diapason(name: str, node: NodeSetup, workers: int) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "diapason",
        "serve",
        "--data",
        str(node.data),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    log = node.data / f"server-{port}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=node.env,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    server = Server(
        name,
        process,
        f"{base}/taxii2/main/collections/{node.collection_id}/",
        "admin",
        node.token,
        log,
        command,
    )
    try:
        wait_until_up(f"{base}/health", process, log)
    except RuntimeError:
        server.stop()
        raise
    return server


def shown_command(command: Sequence[str]) -> str:
    """A server's command line as a user would type it (temporary paths shortened)."""
    words = ["python" if word == sys.executable else word for word in command]
    return " ".join(
        Path(word).name if word.startswith(("/", ".")) and "/" in word else word for word in words
    )


# -- the parent ---------------------------------------------------------------------------
def this_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.taxii_vs_medallion", *extra]


def run_client_child(
    server: Server,
    workdir: Path,
    tag: str,
    *,
    post: int,
    seed: int,
    write_limit: float,
    read_limit: float,
    min_pages: int = 1,
    max_passes: int = 1,
    probes: int = 0,
    pages_out: bool = False,
) -> dict[str, Any]:
    result_path = workdir / f"client-{tag}.json"
    command = this_command(
        "--client",
        "--url",
        server.collection_url,
        "--user",
        server.user,
        "--post",
        str(post),
        "--seed",
        str(seed),
        "--write-limit",
        str(write_limit),
        "--read-limit",
        str(read_limit),
        "--min-pages",
        str(min_pages),
        "--max-passes",
        str(max_passes),
        "--probes",
        str(probes),
        "--server-pid",
        str(server.process.pid),
        "--result",
        str(result_path),
        *(["--pages-out"] if pages_out else []),
    )
    env = dict(os.environ)
    env[PASSWORD_ENV] = server.password
    try:
        completed = subprocess.run(
            command, cwd=ROOT, env=env, check=False, timeout=write_limit + read_limit + 600
        )
    except subprocess.TimeoutExpired:
        return {"error": "client child killed: over its overall time limit"}
    if completed.returncode != 0 or not result_path.exists():
        return {"error": f"client child exited with status {completed.returncode}"}
    result: dict[str, Any] = orjson.loads(result_path.read_bytes())
    result["server_rss_mib"] = server.rss_mib()
    return result


def head_to_head(
    args: argparse.Namespace, workdir: Path, postgres: PostgresServer | None, console: Console
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        for name in SERVERS:
            if name == "diapason-postgresql" and postgres is None:
                continue
            stderr.rule(
                f"{LABELS[name]}: {size:,} objects, POSTs of {POST_BATCH}, then pages of {PAGE:,}"
            )
            folder = workdir / f"{name}-{size}"
            limit = args.medallion_timeout if name == "medallion" else args.diapason_timeout
            database: str | None = None
            row: dict[str, Any] = {"size": size, "server": name}
            try:
                if name == "medallion":
                    server = start_medallion(folder)
                else:
                    if name == "diapason-postgresql" and postgres is not None:
                        database = postgres.create()
                    node = create_node(
                        folder, postgres.url(database) if database and postgres else None
                    )
                    server = start_diapason(name, node, args.workers)
                try:
                    row.update(
                        run_client_child(
                            server,
                            workdir,
                            f"{name}-{size}",
                            post=size,
                            seed=args.seed,
                            write_limit=limit,
                            read_limit=limit,
                        )
                    )
                    row["server_command"] = shown_command(server.command)
                finally:
                    server.stop()
            except RuntimeError as error:
                row["error"] = str(error)
            finally:
                if database and postgres is not None:
                    postgres.drop(database)
            describe_row(console, row)
            rows.append(row)
    return rows


def describe_row(console: Console, row: dict[str, Any]) -> None:
    label = f"{LABELS[row['server']]}, {row['size']:,} objects"
    if "error" in row:
        console.print(f"  [red]{label}: {row['error']}[/]")
        return
    write = row.get("write", {})
    read = row.get("read")
    text = f"  {label}: write {timeout_text(write, 'posted')}"
    if read:
        text += f"; read {timeout_text(read, 'objects')}"
    console.print(text, highlight=False)


def timeout_text(part: dict[str, Any], what: str) -> str:
    if part.get("timed_out"):
        return f"timeout after {part['limit_s']:.0f} s ({part[what]:,} objects done)"
    if part.get("error"):
        return f"error {part['error']}"
    return f"{part.get(what, 0):,} objects in {part.get('wall_s', 0):.2f} s"


@dataclass
class PostgresServer:
    server_url: str
    version: str = ""
    created: list[str] = field(default_factory=list)

    def create(self) -> str:
        name, _url, version = create_database(self.server_url)
        self.version = version
        self.created.append(name)
        return name

    def url(self, name: str) -> str:
        return str(
            sa.make_url(self.server_url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )

    def drop(self, name: str) -> None:
        drop_database(self.server_url, name)
        self.created.remove(name)
        stderr.print(f"dropped the throwaway database {name}")


def stages_for(max_size: int) -> list[int]:
    stages = [stage for stage in STAGES if stage < max_size]
    return [*stages, max_size]


def ladder(
    args: argparse.Namespace, workdir: Path, postgres: PostgresServer | None, console: Console
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    backends = ["sqlite"] + (["postgresql"] if postgres is not None else [])
    for backend in backends:
        database: str | None = None
        try:
            if backend == "postgresql" and postgres is not None:
                database = postgres.create()
            node = create_node(
                workdir / f"ladder-{backend}",
                postgres.url(database) if database and postgres else None,
            )
            server = start_diapason(backend, node, args.workers)
            try:
                loaded = 0
                for stage in stages_for(args.max_size):
                    stderr.rule(f"{LABELS[backend]}: collection grows to {stage:,} objects")
                    load = run_loader_child(node, workdir, loaded, stage, args.seed)
                    if "error" in load:
                        rows.append({"backend": backend, "stage": stage, "error": load["error"]})
                        break
                    loaded = stage
                    stderr.print(
                        f"loaded {load['objects']:,} objects in {load['wall_s']:.1f} s "
                        f"(put_many {load['put_many_s']:.1f} s, add_entries "
                        f"{load['add_entries_s']:.1f} s, analyse {load['analyse_s']:.1f} "
                        f"s); reading…"
                    )
                    client = run_client_child(
                        server,
                        workdir,
                        f"ladder-{backend}-{stage}",
                        post=0,
                        seed=args.seed,
                        write_limit=0,
                        read_limit=args.diapason_timeout,
                        min_pages=args.min_pages,
                        max_passes=args.max_passes,
                        probes=args.probes,
                        pages_out=True,
                    )
                    row = {
                        "backend": backend,
                        "stage": stage,
                        "load": load,
                        **client,
                        "server_command": shown_command(server.command),
                    }
                    rows.append(row)
                    read = client.get("read") or {}
                    console.print(
                        f"  {LABELS[backend]}, {stage:,} objects: read "
                        f"{timeout_text(read, 'objects')}; page p50 "
                        f"{fmt(read.get('page_ms', {}).get('p50'), 1)} ms over "
                        f"{read.get('pages_sampled', 0)} pages",
                        highlight=False,
                    )
            finally:
                server.stop()
        except RuntimeError as error:
            rows.append({"backend": backend, "stage": 0, "error": str(error)})
        finally:
            if database and postgres is not None:
                postgres.drop(database)
    return rows


def run_loader_child(
    node: NodeSetup, workdir: Path, first: int, last: int, seed: int
) -> dict[str, Any]:
    result_path = workdir / f"load-{node.data.name}-{last}.json"
    command = this_command(
        "--load",
        "--data",
        str(node.data),
        "--collection",
        node.collection_id,
        "--load-from",
        str(first),
        "--load-to",
        str(last),
        "--seed",
        str(seed),
        "--result",
        str(result_path),
    )
    completed = subprocess.run(command, cwd=ROOT, env=node.env, check=False)
    if completed.returncode != 0 or not result_path.exists():
        return {"error": f"loader exited with status {completed.returncode}"}
    result: dict[str, Any] = orjson.loads(result_path.read_bytes())
    return result


# -- reporting ----------------------------------------------------------------------------
def fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}{suffix}"
    return str(value)


def find(rows: Sequence[dict[str, Any]], size: int, server: str) -> dict[str, Any]:
    return next((row for row in rows if row["size"] == size and row["server"] == server), {})


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Ratios to medallion (read, write); a lower bound when medallion timed out."""
    for row in rows:
        anchor = find(rows, row["size"], "medallion")
        for part in ("read", "write"):
            ours = row.get(part) or {}
            theirs = anchor.get(part) or {}
            rate = ours.get("objects_per_s")
            if row["server"] == "medallion" or not rate or not theirs:
                continue
            if theirs.get("objects_per_s"):
                ours["x_medallion"] = round(rate / theirs["objects_per_s"], 1)
                ours["x_medallion_bound"] = "="
            elif theirs.get("timed_out"):
                # medallion would have needed more than its limit for the same objects.
                done = ours["objects"] if part == "read" else ours["posted"]
                ours["x_medallion"] = round(rate / (done / theirs["limit_s"]), 1)
                ours["x_medallion_bound"] = "≥"


def ratio_text(part: dict[str, Any]) -> str:
    if "x_medallion" not in part:
        return "—"
    bound = "≥ " if part.get("x_medallion_bound") == "≥" else ""
    return f"{bound}{part['x_medallion']:,.1f}x"


def rate_text(part: dict[str, Any], what: str) -> str:
    if part.get("timed_out"):
        return f"timeout after {part['limit_s']:.0f} s ({part[what]:,} done)"
    return fmt(part.get("objects_per_s"))


def print_tables(console: Console, report: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = report.get("head_to_head", [])
    if rows:
        reads = Table(
            title=f"Read everything: taxii2-client as_pages(get_objects, per_request={PAGE:,})"
        )
        for heading in (
            "versions posted",
            "server",
            "objects read",
            "pages",
            "wall s",
            "objects/s",
            "page p50 ms",
            "page p99 ms",
            "first page ms",
            "server CPU s",
            "x medallion",
        ):
            reads.add_column(heading, justify="left" if heading == "server" else "right")
        for row in rows:
            read = row.get("read") or {}
            reads.add_row(
                fmt(row["size"]),
                LABELS[row["server"]],
                fmt(read.get("objects")),
                fmt(read.get("pages")),
                fmt(read.get("wall_s"), 2),
                rate_text(read, "objects"),
                fmt(read.get("page_ms", {}).get("p50"), 1),
                fmt(read.get("page_ms", {}).get("p99"), 1),
                fmt(read.get("first_page_ms"), 1),
                fmt(read.get("server_cpu_s"), 2),
                ratio_text(read),
            )
        console.print(reads)
        writes = Table(
            title=f"Write: the same objects as POSTs of {POST_BATCH} (Collection.add_objects)"
        )
        for heading in (
            "versions",
            "server",
            "POSTs",
            "succeeded",
            "wall s",
            "objects/s",
            "POST p50 ms",
            "POST p99 ms",
            "server CPU s",
            "x medallion",
        ):
            writes.add_column(heading, justify="left" if heading == "server" else "right")
        for row in rows:
            write = row.get("write") or {}
            writes.add_row(
                fmt(row["size"]),
                LABELS[row["server"]],
                fmt(write.get("posts")),
                fmt(write.get("succeeded")),
                fmt(write.get("wall_s"), 2),
                rate_text(write, "posted"),
                fmt(write.get("post_ms", {}).get("p50"), 1),
                fmt(write.get("post_ms", {}).get("p99"), 1),
                fmt(write.get("server_cpu_s"), 2),
                ratio_text(write),
            )
        console.print(writes)
        for row in rows:
            if "error" in row:
                console.print(f"  [red]{LABELS[row['server']]} {row['size']:,}: {row['error']}[/]")
    grown: list[dict[str, Any]] = report.get("ladder", [])
    if grown:
        table = Table(title="Diapason alone as the collection grows (pages of 1,000; ms)")
        for heading in (
            "backend",
            "versions",
            "objects read",
            "pages sampled",
            "read objects/s",
            "p50 early",
            "p50 middle",
            "p50 end",
            "p99 all",
            "HTTP p50",
            "server CPU ms/page",
            "added_after newest p50",
            "first page p50",
            "load objects/s",
        ):
            table.add_column(heading, justify="left" if heading == "backend" else "right")
        for row in grown:
            if "error" in row:
                table.add_row(
                    LABELS[row["backend"]], fmt(row["stage"]), row["error"][:60], *["—"] * 11
                )
                continue
            read = row.get("read") or {}
            where = read.get("by_position", {})
            probes = row.get("probes") or {}
            table.add_row(
                LABELS[row["backend"]],
                fmt(row["stage"]),
                fmt(read.get("objects")),
                fmt(read.get("pages_sampled")),
                rate_text(read, "objects"),
                *(
                    fmt(where.get(name, {}).get("page_ms", {}).get("p50"), 1)
                    for name in ("early", "middle", "end")
                ),
                fmt(read.get("page_ms", {}).get("p99"), 1),
                fmt(read.get("http_ms", {}).get("p50"), 1),
                fmt(read.get("server_cpu_ms_per_page"), 1),
                fmt(probes.get("newest_http_ms", {}).get("p50"), 1),
                fmt(probes.get("first_page_http_ms", {}).get("p50"), 1),
                fmt(row.get("load", {}).get("objects_per_s")),
            )
        console.print(table)
        for row in grown:
            tenths = (row.get("read") or {}).get("by_tenth")
            if not tenths:
                continue
            passes = "; ".join(
                f"pass {number + 1}: " + " ".join(fmt(value, 0) for value in one)
                for number, one in enumerate(tenths["per_pass"][:2])
            )
            console.print(
                f"  {LABELS[row['backend']]} {row['stage']:,}: page p50 by tenth of the "
                f"collection (ms): {' '.join(fmt(value, 0) for value in tenths['all'])} ({passes})",
                highlight=False,
            )
    print_targets(
        console,
        "Targets of issue 3",
        ((goal["goal"], goal["measured"], goal["met"]) for goal in report["targets"]),
    )


def targets(report: dict[str, Any], sizes: Sequence[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = report.get("head_to_head", [])
    for size, wanted in ((2000, 20), (10_000, 100)):
        if size not in sizes:
            continue
        read = find(rows, size, "diapason-sqlite").get("read") or {}
        ratio = read.get("x_medallion")
        bound = "≥ " if read.get("x_medallion_bound") == "≥" else ""
        out.append(
            {
                "goal": f"read ≥ {wanted}x medallion at {size:,} objects (SQLite)",
                "measured": f"{bound}{ratio:,.1f}x" if ratio else "—",
                "met": None if ratio is None else ratio >= wanted,
            }
        )
    grown: list[dict[str, Any]] = report.get("ladder", [])
    for backend in ("sqlite", "postgresql"):
        mine = [row for row in grown if row["backend"] == backend and "read" in row]
        if not mine:
            continue
        largest = max(mine, key=lambda row: row["stage"])
        smallest = min(mine, key=lambda row: row["stage"])
        p50 = largest["read"]["page_ms"]["p50"]
        out.append(
            {
                "goal": f"page p50 < 100 ms at {largest['stage']:,} objects ({LABELS[backend]})",
                "measured": f"{fmt(p50, 1)} ms",
                "met": None if p50 is None else p50 < 100,
            }
        )
        end = largest["read"]["by_position"]["end"]["page_ms"]["p50"]
        start = smallest["read"]["by_position"]["early"]["page_ms"]["p50"]
        if end and start and not math.isnan(end) and not math.isnan(start):
            growth = end / start
            out.append(
                {
                    "goal": f"flat: p50 of the last pages at {largest['stage']:,} ≤ 1.5x the first "
                    f"pages' at {smallest['stage']:,} ({LABELS[backend]})",
                    "measured": f"{growth:.2f}x ({start:.1f} → {end:.1f} ms)",
                    "met": growth <= 1.5,
                }
            )
    return out


def code_version() -> str:
    """The commit, and whether src/ had uncommitted changes (others work in this tree)."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--short", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split("\n")
    dirty = [line[3:] for line in changed if line.strip()]
    return f"{head or 'unknown'}" + (
        f" + uncommitted changes to {', '.join(dirty)}" if dirty else ""
    )


def versions() -> dict[str, str]:
    found: dict[str, str] = {"code": code_version()}
    for package in (
        "medallion",
        "flask",
        "werkzeug",
        "taxii2-client",
        "requests",
        "uvicorn",
        "starlette",
        "psycopg",
    ):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def orchestrate(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else 170)
    command = "python -m benchmarks.taxii_vs_medallion " + " ".join(args.argv)
    report: dict[str, Any] = {
        "command": command.strip(),
        "machine": {**machine(), **versions()},
        "settings": {
            "sizes": args.sizes,
            "max_size": args.max_size,
            "workers": args.workers,
            "medallion_timeout_s": args.medallion_timeout,
            "seed": args.seed,
            "page": PAGE,
            "post_batch": POST_BATCH,
            "min_pages": args.min_pages,
        },
        "load_average_start": [round(value, 2) for value in os.getloadavg()],
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    postgres: PostgresServer | None = None
    if not args.skip_postgres:
        server_url = args.postgres or os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES
        postgres = PostgresServer(server_url)
        try:
            postgres.drop(postgres.create())
        except sa.exc.DBAPIError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            console.print(
                f"[yellow]PostgreSQL at {mask_url_password(server_url)} unavailable: "
                f"{reason}; skipped[/]"
            )
            postgres = None
    started = time.perf_counter()
    folder = tempfile.mkdtemp(prefix="diapason-taxii-bench-", dir=args.workdir)
    workdir = Path(folder)
    try:
        if args.only in ("all", "head-to-head"):
            report["head_to_head"] = head_to_head(args, workdir, postgres, console)
            add_ratios(report["head_to_head"])
        if args.only in ("all", "ladder"):
            report["ladder"] = ladder(args, workdir, postgres, console)
    finally:
        if postgres is not None:
            for name in list(postgres.created):
                postgres.drop(name)
            report["machine"]["postgresql"] = postgres.version
        if args.keep:
            console.print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
    report["targets"] = targets(report, args.sizes)
    console.print()
    console.print(f"machine: {report['machine']}", highlight=False)
    console.print(
        f"load average at start {report['load_average_start']}, at end "
        f"{report['load_average_end']}; whole run {report['wall_s']:.0f} s",
        highlight=False,
    )
    print_tables(console, report)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        console.print(f"results written to {args.json}")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.taxii_vs_medallion",
        description="TAXII 2.1 read and write through taxii2-client: Diapason against "
        "medallion, then Diapason alone on SQLite and PostgreSQL as the collection grows.",
    )
    parser.add_argument(
        "--sizes", default="2000,10000", help="head-to-head collection sizes, comma-separated"
    )
    parser.add_argument(
        "--max-size",
        type=int,
        default=1_000_000,
        help="largest collection for Diapason alone (stages 10k, 100k, 1M below it)",
    )
    parser.add_argument(
        "--medallion-timeout",
        type=float,
        default=300,
        help="time limit of each medallion measurement (write, read), seconds",
    )
    parser.add_argument(
        "--diapason-timeout",
        type=float,
        default=1800,
        help="time limit of each Diapason measurement, seconds",
    )
    parser.add_argument("--workers", type=int, default=1, help="diapason serve --workers")
    parser.add_argument(
        "--min-pages",
        type=int,
        default=1000,
        help="growing collection: read passes until this many pages are timed",
    )
    parser.add_argument("--max-passes", type=int, default=25)
    parser.add_argument(
        "--probes",
        type=int,
        default=20,
        help="timed added_after (newest entries) and first-page requests",
    )
    parser.add_argument("--only", choices=("all", "head-to-head", "ladder"), default="all")
    parser.add_argument(
        "--postgres",
        help=f"PostgreSQL server URL (default: ${POSTGRES_ENV} "
        f"or {DEFAULT_POSTGRES}); throwaway databases are created on it",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--json", type=writable_file, help="also write every result to this JSON file"
    )
    parser.add_argument("--workdir", help="folder for the temporary files (default: $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the nodes and server logs")
    # Internal: the client child and the loader child.
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    parser.add_argument("--post", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--write-limit", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--read-limit", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pages-out", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--collection", help=argparse.SUPPRESS)
    parser.add_argument("--load-from", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--load-to", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in str(args.sizes).split(",") if size.strip()]
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        return run_client(args)
    if args.load:
        return run_loader(args)
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())

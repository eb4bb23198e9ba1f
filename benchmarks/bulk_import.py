"""Bulk-import benchmark (issue 2): Diapason on SQLite and PostgreSQL against stix2 anchors.

Run from the project root::

    .venv/bin/python -m benchmarks.bulk_import [--count 100000] [--postgres URL]
        [--anchor-count N] [--skip-filesystem] [--repeat N] [--json PATH]

One run generates ``--count`` STIX 2.1 object versions (``benchmarks.generate``), checks
every one with ``diapason.domain.stix.prepare`` and a sample with the OASIS validator, writes
them once as a bundle file, then imports the *same* objects into each target, each target in
its own child process (``python -m benchmarks.bulk_import --target …``) so that its peak
memory is its own:

* ``memory``: the ``stix2`` library's ``MemoryStore`` (anchor),
* ``filesystem``: the ``stix2`` library's ``FileSystemStore`` (anchor; every object, or
  with ``--anchor-count N`` only the first N, and its objects/s is then stated as such),
* ``sqlite``: ``open_store("sqlite:///…").put_many(objects)`` on a fresh temporary file,
* ``sqlite-bundle``: the bundle file on disk → ``orjson.loads`` → ``put_many`` (what the
  CLI import does), load and import timed separately,
* ``postgresql``: ``put_many`` into a throwaway database ``diapason_bench_<random>`` created
  on the server named by ``--postgres`` and dropped at the end.

Throughput is wall time in one process, pinned to one core (the PostgreSQL server runs in
its own processes, unpinned). Every run has a fresh folder (kept until the end) or
PostgreSQL database of its own, and starts after ``os.sync()``, so that no run pays for
another's pending writes. With ``--repeat N`` every target runs N times, round after round,
and each figure comes from the target's median run by import time (all the runs' times are
kept in the JSON).
Peak memory is the child's peak resident set size above its resident size just before the
import (Linux: the high-water mark is reset through ``/proc/self/clear_refs``; elsewhere
``ru_maxrss`` is reported as is). On the Diapason stores the child then measures ``get``
latency over random ids, full-text queries over realistic words, and keyset paging
through every threat actor; the ``MemoryStore`` and ``FileSystemStore`` children measure
the nearest stix2 equivalents, so that every figure also comes as a ratio against anchors
measured in the same run.

``--profile N`` instead profiles ``put_many`` of N objects into SQLite with cProfile and
prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import random
import re
import resource
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from benchmarks.common import bar_chart_svg, positive, print_targets, writable_file
from benchmarks.generate import SEARCH_TERMS, generate_objects, type_counts
from diapason.domain.stix import Memo, Problem, prepare
from diapason.settings import mask_url_password
from diapason.store import ObjectStore, Query, open_store
from diapason.store.db import checkpointer

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_ENV = "DIAPASON_TEST_POSTGRES_URL"
# Hands the child its database URL without putting a password on a command line.
CHILD_URL_ENV = "DIAPASON_BENCH_DATABASE_URL"
BENCH_DB_RE = re.compile(r"^diapason_bench_[0-9a-f]{8}$")
MAX_OBJECT_BYTES = 1_048_576
VALIDATOR_SAMPLE = 200
WARMUP_GETS = 50
MEMORY_TEXT_QUERIES = 20  # MemoryStore text scans are slow: fewer of them
TARGETS = ("memory", "filesystem", "sqlite", "sqlite-bundle", "postgresql")

TARGET_LABELS = {
    "memory": "stix2 MemoryStore (anchor)",
    "filesystem": "stix2 FileSystemStore (anchor)",
    "sqlite": "Diapason SQLite put_many",
    "sqlite-bundle": "Diapason SQLite bundle file",
    "postgresql": "Diapason PostgreSQL put_many",
}

stderr = Console(stderr=True)


# -- measuring ----------------------------------------------------------------------------
def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _maxrss_kib() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage // 1024 if sys.platform == "darwin" else usage


class PeakMemory:
    """Peak resident memory of this process between ``start`` and ``stop``."""

    def __init__(self) -> None:
        self.method = "ru_maxrss (absolute; high-water mark could not be reset)"
        self.baseline_kib = 0
        self.reset = False

    def start(self) -> None:
        gc.collect()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS (Linux)
            self.reset = _status_kib("VmHWM") is not None
        except OSError:
            self.reset = False
        if self.reset:
            self.method = "VmHWM - VmRSS at start (high-water mark reset via clear_refs)"
            self.baseline_kib = _status_kib("VmRSS") or 0
        else:
            self.baseline_kib = 0

    def stop(self) -> dict[str, Any]:
        peak = (_status_kib("VmHWM") if self.reset else None) or _maxrss_kib()
        return {
            "peak_rss_mib": round(peak / 1024, 1),
            "baseline_rss_mib": round(self.baseline_kib / 1024, 1),
            "peak_delta_mib": round((peak - self.baseline_kib) / 1024, 1),
            "method": self.method,
        }


class Usage:
    """This process's CPU time, page faults and context switches from its creation to
    ``stop``: whether a slower run spent more CPU (and in the kernel or not) or waited."""

    def __init__(self) -> None:
        self.before = resource.getrusage(resource.RUSAGE_SELF)

    def stop(self) -> dict[str, float]:
        after = resource.getrusage(resource.RUSAGE_SELF)
        before = self.before
        return {
            "user_s": round(after.ru_utime - before.ru_utime, 3),
            "system_s": round(after.ru_stime - before.ru_stime, 3),
            "minor_faults": after.ru_minflt - before.ru_minflt,
            "major_faults": after.ru_majflt - before.ru_majflt,
            "voluntary_switches": after.ru_nvcsw - before.ru_nvcsw,
            "involuntary_switches": after.ru_nivcsw - before.ru_nivcsw,
            "blocks_written": after.ru_oublock - before.ru_oublock,
        }


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    if len(samples_ms) < 2:
        only = samples_ms[0] if samples_ms else float("nan")
        return {"n": len(samples_ms), "p50": only, "p95": only, "p99": only, "mean": only}
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "n": len(samples_ms),
        "p50": round(cuts[49], 4),
        "p95": round(cuts[94], 4),
        "p99": round(cuts[98], 4),
        "mean": round(statistics.fmean(samples_ms), 4),
    }


def progress_bar() -> Progress:
    # Redrawn twice a second, not rich's default ten: the redraw runs on a thread of its own
    # and takes the interpreter from the import it shows (0.1 to 0.2 s of a 4 s import here).
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
        refresh_per_second=2,
    )


def counted(
    items: Sequence[T], progress: Progress, description: str, step: int = 1000
) -> Iterator[T]:
    """Yield the items, advancing a progress bar every ``step`` of them."""
    task = progress.add_task(description, total=len(items))
    for start in range(0, len(items), step):
        chunk = items[start : start + step]
        yield from chunk
        progress.advance(task, len(chunk))


def chunked(
    items: Sequence[T], progress: Progress, description: str, step: int = 1000
) -> Iterator[Sequence[T]]:
    task = progress.add_task(description, total=len(items))
    for start in range(0, len(items), step):
        chunk = items[start : start + step]
        yield chunk
        progress.advance(task, len(chunk))


# -- what the reads use: the same ids and words in every child ----------------------------
def latest_versions(objects: Sequence[dict[str, Any]]) -> dict[str, str]:
    """id -> ``modified`` of its newest version (the generator's stamps sort as text)."""
    latest: dict[str, str] = {}
    for obj in objects:
        held = latest.get(obj["id"])
        if held is None or obj["modified"] > held:
            latest[obj["id"]] = obj["modified"]
    return latest


def sample_ids(ids: Sequence[str], count: int, seed: int) -> tuple[list[str], list[str]]:
    """``count`` random ids to time, and a disjoint few to warm up with."""
    rng = random.Random(seed + 1)
    chosen = rng.sample(list(ids), min(len(ids), count + WARMUP_GETS))
    return chosen[WARMUP_GETS:] or chosen, chosen[:WARMUP_GETS]


def search_queries(objects: Sequence[dict[str, Any]], count: int, seed: int) -> list[str]:
    """Realistic searches: mostly vocabulary words, a fifth the names of actors or malware."""
    rng = random.Random(seed + 2)
    names = sorted({obj["name"] for obj in objects if obj["type"] in ("threat-actor", "malware")})
    queries: list[str] = []
    for _ in range(count):
        if names and rng.random() < 0.2:
            queries.append(rng.choice(names))
        else:
            queries.append(rng.choice(SEARCH_TERMS))
    return queries


# -- children: one target each ------------------------------------------------------------
def load_bundle(path: Path) -> list[dict[str, Any]]:
    bundle = orjson.loads(path.read_bytes())
    objects: list[dict[str, Any]] = bundle["objects"]
    return objects


def measure_reads(
    store: ObjectStore, objects: Sequence[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """get latency, full-text latency and typed keyset paging on a Diapason store."""
    latest = latest_versions(objects)
    timed, warmup = sample_ids(list(latest), args.gets, args.seed)
    for object_id in warmup:
        store.get(object_id)
    samples: list[float] = []
    wrong = 0
    for object_id in timed:
        started = time.perf_counter_ns()
        found = store.get(object_id)
        samples.append((time.perf_counter_ns() - started) / 1e6)
        if found is None or found.object["modified"] != latest[object_id]:
            wrong += 1
    result: dict[str, Any] = {"get_ms": percentiles(samples), "get_wrong": wrong}

    queries = search_queries(objects, args.queries, args.seed)
    store.query(Query(text=queries[0], limit=100))  # warm-up
    text_samples: list[float] = []
    hits: list[int] = []
    full_pages = 0
    for text in queries:
        started = time.perf_counter_ns()
        page = store.query(Query(text=text, limit=100))
        text_samples.append((time.perf_counter_ns() - started) / 1e6)
        hits.append(len(page.objects))
        full_pages += page.next_after is not None
    result["text_ms"] = percentiles(text_samples)
    result["text_mean_hits"] = round(statistics.fmean(hits), 1)
    result["text_queries_with_more_than_100"] = full_pages
    result["text_queries_without_hits"] = sum(1 for count in hits if count == 0)

    expected = sum(1 for object_id in latest if object_id.startswith("threat-actor--"))
    page_samples: list[float] = []
    seen = 0
    after: int | None = None
    started_all = time.perf_counter_ns()
    while True:
        started = time.perf_counter_ns()
        page = store.query(Query(types=("threat-actor",), limit=100, after=after))
        page_samples.append((time.perf_counter_ns() - started) / 1e6)
        seen += len(page.objects)
        after = page.next_after
        if after is None:
            break
    result["typed_paging"] = {
        "total_ms": round((time.perf_counter_ns() - started_all) / 1e6, 2),
        "pages": len(page_samples),
        "objects": seen,
        "expected": expected,
        "page_ms": percentiles(page_samples),
    }
    return result


def child_diapason(args: argparse.Namespace, url: str, from_bundle: bool) -> dict[str, Any]:
    shown = mask_url_password(url)
    started = time.perf_counter()
    store = open_store(url, max_object_bytes=MAX_OBJECT_BYTES)
    setup_s = time.perf_counter() - started
    bundle_path = Path(args.bundle)
    memory = PeakMemory()
    result: dict[str, Any] = {"database": shown, "setup_s": round(setup_s, 3)}
    # The bundle file target reads and parses the file inside the clock; the others before.
    objects: list[dict[str, Any]] = [] if from_bundle else load_bundle(bundle_path)
    memory.start()
    usage = Usage()
    started = time.perf_counter()
    if from_bundle:
        raw = bundle_path.read_bytes()
        read_s = time.perf_counter() - started
        bundle = orjson.loads(raw)
        del raw
        parsed_s = time.perf_counter() - started
        objects = bundle["objects"]
        with progress_bar() as progress:
            report = store.put_many(counted(objects, progress, "bundle → SQLite"))
        elapsed = time.perf_counter() - started
        result.update(
            read_s=round(read_s, 3),
            json_load_s=round(parsed_s - read_s, 3),
            import_s=round(elapsed - parsed_s, 3),
            bundle_bytes=bundle_path.stat().st_size,
        )
    else:
        with progress_bar() as progress:
            report = store.put_many(counted(objects, progress, f"put_many → {store.dialect}"))
        elapsed = time.perf_counter() - started
    result["usage"] = usage.stop()
    if store.dialect == "sqlite":
        # Shown beside the import, not in it: SQLite's checkpoint of the last batch runs on a
        # background thread (as PostgreSQL's checkpointer runs in its own process).
        begun = time.perf_counter()
        checkpointer(store.engine).wait()
        result["checkpoint_wait_s"] = round(time.perf_counter() - begun, 3)
    result["memory"] = memory.stop()
    result.update(
        objects=len(objects),
        wall_s=round(elapsed, 3),
        objects_per_s=round(len(objects) / elapsed, 1),
        written=len(report.written),
        unchanged=len(report.unchanged),
        refused=len(report.refused),
    )
    if from_bundle:
        result["import_objects_per_s"] = round(len(objects) / result["import_s"], 1)
    distinct = len({obj["id"] for obj in objects})
    result["count"] = store.count()
    result["distinct_ids"] = distinct
    if store.dialect == "postgresql":
        # Reads right after a bulk load depend on whether autovacuum has analysed yet.
        with store.engine.connect() as connection:
            result["objects_analysed_before_reads"] = bool(
                connection.exec_driver_sql(
                    "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
                    "FROM pg_stat_user_tables WHERE relname = 'objects'"
                ).scalar()
            )
    if not from_bundle:
        with stderr.status(f"reads on {store.dialect}…"):
            result["reads"] = measure_reads(store, objects, args)
    store.close()
    return result


def child_memory(args: argparse.Namespace) -> dict[str, Any]:
    from stix2 import Filter, MemoryStore

    objects = load_bundle(Path(args.bundle))
    store = MemoryStore()
    memory = PeakMemory()
    memory.start()
    usage = Usage()
    started = time.perf_counter()
    with progress_bar() as progress:
        for chunk in chunked(objects, progress, "stix2 MemoryStore.add"):
            store.add(list(chunk))
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {
        "usage": usage.stop(),
        "memory": memory.stop(),
        "objects": len(objects),
        "wall_s": round(elapsed, 3),
        "objects_per_s": round(len(objects) / elapsed, 1),
    }
    latest = latest_versions(objects)
    timed, warmup = sample_ids(list(latest), args.gets, args.seed)
    for object_id in warmup:
        store.get(object_id)
    samples: list[float] = []
    wrong = 0
    for object_id in timed:
        begun = time.perf_counter_ns()
        found = store.get(object_id)
        samples.append((time.perf_counter_ns() - begun) / 1e6)
        if found is None or found["modified"] != _parse_stamp(latest[object_id]):
            wrong += 1
    reads: dict[str, Any] = {"get_ms": percentiles(samples), "get_wrong": wrong}

    # The stix2 way to look for a word: a 'contains' filter, a linear scan of every version.
    queries = search_queries(objects, args.queries, args.seed)[:MEMORY_TEXT_QUERIES]
    text_samples: list[float] = []
    with progress_bar() as progress:
        for text in counted(queries, progress, "MemoryStore 'contains' scans", step=1):
            begun = time.perf_counter_ns()
            store.query([Filter("description", "contains", text)])
            text_samples.append((time.perf_counter_ns() - begun) / 1e6)
    reads["text_ms"] = percentiles(text_samples)
    typed: list[float] = []
    for _ in range(3):
        begun = time.perf_counter_ns()
        found_all = store.query([Filter("type", "=", "threat-actor")])
        typed.append((time.perf_counter_ns() - begun) / 1e6)
    reads["typed_query"] = {
        "total_ms": round(statistics.median(typed), 2),
        "objects": len(found_all),
        "note": "one Filter('type', '=', 'threat-actor') query; returns every version",
    }
    result["reads"] = reads
    return result


def _parse_stamp(value: str) -> Any:
    from stix2.utils import parse_into_datetime

    return parse_into_datetime(value)


def child_filesystem(args: argparse.Namespace) -> dict[str, Any]:
    from stix2 import FileSystemStore

    objects = load_bundle(Path(args.bundle))[: args.anchor_count or None]
    folder = Path(tempfile.mkdtemp(prefix="stix2-fs-", dir=args.workdir))
    store = FileSystemStore(str(folder))
    memory = PeakMemory()
    memory.start()
    usage = Usage()
    started = time.perf_counter()
    with progress_bar() as progress:
        for chunk in chunked(objects, progress, "stix2 FileSystemStore.add", step=250):
            store.add(list(chunk))
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {
        "usage": usage.stop(),
        "memory": memory.stop(),
        "objects": len(objects),
        "wall_s": round(elapsed, 3),
        "objects_per_s": round(len(objects) / elapsed, 1),
    }
    if args.anchor_count:
        result["note"] = f"measured on the first {len(objects):,} objects of the same stream"
    latest = latest_versions(objects)
    timed, warmup = sample_ids(list(latest), args.gets, args.seed)
    for object_id in warmup:
        store.get(object_id)
    samples: list[float] = []
    wrong = 0
    with progress_bar() as progress:
        for object_id in counted(timed, progress, "FileSystemStore.get", step=100):
            begun = time.perf_counter_ns()
            found = store.get(object_id)
            samples.append((time.perf_counter_ns() - begun) / 1e6)
            if found is None or found["modified"] != _parse_stamp(latest[object_id]):
                wrong += 1
    result["reads"] = {"get_ms": percentiles(samples), "get_wrong": wrong}
    return result


def run_child(args: argparse.Namespace) -> int:
    target = args.target
    # Every target on one and the same core (the "on one core"); the PostgreSQL
    # server's own processes are not pinned.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if target == "memory":
        result = child_memory(args)
    elif target == "filesystem":
        result = child_filesystem(args)
    else:
        if target == "postgresql":
            url = os.environ[CHILD_URL_ENV]
        else:
            url = f"sqlite:///{Path(args.workdir) / f'{target}.sqlite3'}"
        result = child_diapason(args, url, from_bundle=target == "sqlite-bundle")
    result["target"] = target
    Path(args.result).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


# -- PostgreSQL: a throwaway database -----------------------------------------------------
def _psycopg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_database(server_url: str) -> tuple[str, str, str]:
    """Create ``diapason_bench_<random>``; returns (name, its URL, the server's version)."""
    name = f"diapason_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        _psycopg_url(server_url),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            version = str(connection.exec_driver_sql("SHOW server_version").scalar_one())
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    url = _psycopg_url(server_url).set(database=name).render_as_string(hide_password=False)
    return name, url, version


def drop_database(server_url: str, name: str) -> None:
    if not BENCH_DB_RE.match(name):  # never anything this benchmark did not create
        raise ValueError(f"refusing to drop database {name!r}")
    admin = sa.create_engine(
        _psycopg_url(server_url),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


# -- the parent: data, children, tables ---------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout
    return {
        "nproc": int(nproc.strip()) if nproc.strip().isdigit() else os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": metadata.version("sqlalchemy"),
        "stix2": metadata.version("stix2"),
        "orjson": metadata.version("orjson"),
    }


def check_objects(objects: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Every object through ``prepare``; a sample through the OASIS validator."""
    from stix2validator import ValidationOptions, validate_instance

    problems: list[Problem] = []
    memo = Memo()
    for index, obj in enumerate(objects):
        prepared = prepare(obj, index, MAX_OBJECT_BYTES, memo)
        if isinstance(prepared, Problem):
            problems.append(prepared)
    options = ValidationOptions(version="2.1")
    sample = random.Random(seed + 3).sample(list(objects), min(VALIDATOR_SAMPLE, len(objects)))
    errors = 0
    warnings: dict[str, int] = {}
    custom = 0
    for obj in sample:
        outcome = validate_instance(obj, options)
        errors += len(outcome.errors)
        for warning in outcome.warnings:
            text = str(warning)
            code = re.search(r"\{(\d+)\}", text)
            key = code.group(1) if code else text[:60]
            warnings[key] = warnings.get(key, 0) + 1
            custom += "custom" in text.lower()
    return {
        "prepare_refused": len(problems),
        "prepare_first_problems": [str(problem) for problem in problems[:5]],
        "validator_sample": len(sample),
        "validator_errors": errors,
        "validator_warnings": warnings,
        "validator_custom_warnings": custom,
    }


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (clean pages only: call after ``os.sync()``), so that
    every run starts from the same memory state; whether it could (it takes root).

    On these virtual machines a run that follows the ``FileSystemStore`` anchor, whose
    100,000 files stay cached, spent up to three times the system time on the same page
    faults as one that did not (CHANGELOG.md, 2026-11-30, seventh session).
    """
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1")
    except OSError:
        return False
    return True


def spawn(
    target: str,
    args: argparse.Namespace,
    workdir: Path,
    bundle: Path,
    round_number: int,
    url: str | None = None,
) -> dict[str, Any]:
    """One run of ``target`` in a child process, in a folder of its own.

    The folders stay until the whole benchmark ends: deleting 100,000 files (and, on a disk
    mounted with ``discard``, trimming their blocks) would slow down whatever runs next."""
    rundir = workdir / f"{target}-{round_number}"
    rundir.mkdir()
    result_path = rundir / "result.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.bulk_import",
        "--target",
        target,
        "--bundle",
        str(bundle),
        "--result",
        str(result_path),
        "--workdir",
        str(rundir),
        "--anchor-count",
        str(args.anchor_count),
        "--seed",
        str(args.seed),
        "--gets",
        str(args.gets),
        "--queries",
        str(args.queries),
    ]
    env = dict(os.environ)
    if url is not None:
        env[CHILD_URL_ENV] = url
    stderr.rule(TARGET_LABELS[target])
    # Each target starts with no other target's writes pending: the FileSystemStore anchor
    # leaves 100,000 new files for the kernel to write back, and that writeback would
    # otherwise run during (and be charged to) whichever target comes next.
    os.sync()
    dropped = False if args.keep_page_cache else drop_page_cache()
    load_before = os.getloadavg()[0]
    completed = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if completed.returncode != 0 or not result_path.exists():
        return {"target": target, "error": f"child exited with status {completed.returncode}"}
    result: dict[str, Any] = orjson.loads(result_path.read_bytes())
    result["page_cache_dropped"] = dropped
    # The machine's 1-minute load average around the child: these machines are shared.
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def _rate(results: dict[str, dict[str, Any]], target: str) -> float | None:
    value = results.get(target, {}).get("objects_per_s")
    return float(value) if value else None


def _get_p50(results: dict[str, dict[str, Any]], target: str) -> float | None:
    value = results.get(target, {}).get("reads", {}).get("get_ms", {}).get("p50")
    return float(value) if value else None


def add_ratios(results: dict[str, dict[str, Any]]) -> None:
    fs_rate = _rate(results, "filesystem")
    mem_rate = _rate(results, "memory")
    mem_get = _get_p50(results, "memory")
    fs_get = _get_p50(results, "filesystem")
    mem_text = results.get("memory", {}).get("reads", {}).get("text_ms", {}).get("p50")
    mem_typed = results.get("memory", {}).get("reads", {}).get("typed_query", {}).get("total_ms")
    for result in results.values():
        rate = result.get("objects_per_s")
        ratios: dict[str, float] = {}
        if rate and fs_rate:
            ratios["rate_vs_filesystem"] = round(rate / fs_rate, 2)
        if rate and mem_rate:
            ratios["rate_vs_memory"] = round(rate / mem_rate, 2)
        reads = result.get("reads", {})
        get_p50 = reads.get("get_ms", {}).get("p50")
        if get_p50 and mem_get:
            ratios["get_p50_vs_memory"] = round(get_p50 / mem_get, 2)
        if get_p50 and fs_get:
            ratios["get_p50_vs_filesystem"] = round(get_p50 / fs_get, 3)
        text_p50 = reads.get("text_ms", {}).get("p50")
        if text_p50 and mem_text and result.get("target") != "memory":
            ratios["text_p50_vs_memory_scan"] = round(text_p50 / mem_text, 4)
        typed = reads.get("typed_paging", {}).get("total_ms")
        if typed and mem_typed:
            ratios["typed_all_vs_memory"] = round(typed / mem_typed, 2)
        result["ratios"] = ratios


def targets_met(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(goal: str, value: float | None, unit: str, ok: bool | None) -> None:
        rows.append({"goal": goal, "measured": value, "unit": unit, "met": ok})

    sqlite = results.get("sqlite", {})
    rate = sqlite.get("objects_per_s")
    row(
        "SQLite import ≥ 20,000 objects/s (one core)",
        rate,
        "objects/s",
        None if rate is None else rate >= 20_000,
    )
    ratio = sqlite.get("ratios", {}).get("rate_vs_filesystem")
    row("SQLite import ≥ 10x FileSystemStore", ratio, "x", None if ratio is None else ratio >= 10)
    for target in ("sqlite", "postgresql"):
        reads = results.get(target, {}).get("reads")
        name = "SQLite" if target == "sqlite" else "PostgreSQL"
        get_p50 = reads["get_ms"]["p50"] if reads else None
        row(f"{name} get by id p50 < 1 ms", get_p50, "ms", None if get_p50 is None else get_p50 < 1)
        text_p95 = reads["text_ms"]["p95"] if reads else None
        row(
            f"{name} full-text query p95 < 50 ms",
            text_p95,
            "ms",
            None if text_p95 is None else text_p95 < 50,
        )
    return rows


def _fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}{suffix}"
    return str(value)


def print_tables(console: Console, report: dict[str, Any]) -> None:
    results: dict[str, dict[str, Any]] = report["results"]
    imports = Table(title=f"Bulk import of {report['data']['count']:,} STIX object versions")
    for heading in (
        "target",
        "objects",
        "wall s",
        "objects/s",
        "x FileSystemStore",
        "x MemoryStore",
        "peak RSS Δ MiB",
    ):
        imports.add_column(heading, justify="left" if heading == "target" else "right")
    notes: list[str] = []
    for target in TARGETS:
        result = results.get(target)
        if result is None:
            continue
        if "error" in result or "skipped" in result:
            imports.add_row(TARGET_LABELS[target], *["—"] * 6)
            notes.append(
                f"{TARGET_LABELS[target]}: "
                f"{result.get('error') or 'skipped: ' + str(result.get('skipped'))}"
            )
            continue
        ratios = result.get("ratios", {})
        if result.get("note"):
            notes.append(f"{TARGET_LABELS[target]}: {result['note']}")
        if target == "sqlite-bundle":
            notes.append(
                f"{TARGET_LABELS[target]}: read {result['read_s']:.2f} s + orjson.loads "
                f"{result['json_load_s']:.2f} s + put_many {result['import_s']:.2f} s "
                f"({result['import_objects_per_s']:,.0f} objects/s for put_many alone); peak "
                "memory includes the parsed bundle"
            )
        if result.get("checkpoint_wait_s") is not None:
            notes.append(
                f"{TARGET_LABELS[target]}: the background checkpoint of the last batch ended "
                f"{result['checkpoint_wait_s']:.2f} s after put_many returned"
            )
        if result.get("refused"):
            notes.append(f"{TARGET_LABELS[target]}: {result['refused']} objects REFUSED")
        imports.add_row(
            TARGET_LABELS[target],
            _fmt(result["objects"]),
            _fmt(result["wall_s"], 2),
            _fmt(result["objects_per_s"]),
            _fmt(ratios.get("rate_vs_filesystem"), 2, "x"),
            _fmt(ratios.get("rate_vs_memory"), 2, "x"),
            _fmt(result["memory"]["peak_delta_mib"], 1),
        )
    console.print(imports)
    for note in notes:
        console.print(f"  {note}", highlight=False)

    reads = Table(title="Reads after the import (milliseconds)")
    for heading in (
        "store",
        "get p50",
        "get p95",
        "get p99",
        "get p50 x MemoryStore",
        "text p50",
        "text p95",
        "text p99",
        "mean hits",
        "all threat-actors (pages)",
    ):
        reads.add_column(heading, justify="left" if heading == "store" else "right")
    for target in ("sqlite", "postgresql", "memory", "filesystem"):
        result = results.get(target)
        if not result or "reads" not in result:
            continue
        measured = result["reads"]
        get_ms = measured["get_ms"]
        text_ms = measured.get("text_ms", {})
        typed = measured.get("typed_paging") or measured.get("typed_query") or {}
        pages = f" ({typed['pages']})" if "pages" in typed else " (1 query)"
        reads.add_row(
            TARGET_LABELS[target],
            _fmt(get_ms["p50"], 3),
            _fmt(get_ms["p95"], 3),
            _fmt(get_ms["p99"], 3),
            _fmt(result["ratios"].get("get_p50_vs_memory"), 1, "x"),
            _fmt(text_ms.get("p50"), 2),
            _fmt(text_ms.get("p95"), 2),
            _fmt(text_ms.get("p99"), 2),
            _fmt(measured.get("text_mean_hits"), 1),
            (_fmt(typed.get("total_ms"), 1) + pages) if typed else "—",
        )
    console.print(reads)
    console.print(
        "  MemoryStore text column: Filter('description', 'contains', words) over every "
        f"version ({MEMORY_TEXT_QUERIES} queries), the stix2 way to look for words; "
        "FileSystemStore: get only.",
        highlight=False,
    )

    def measured_text(goal: dict[str, Any]) -> str:
        digits = 3 if goal["unit"] == "ms" else (2 if goal["unit"] == "x" else 0)
        return _fmt(goal["measured"], digits, f" {goal['unit']}")

    print_targets(
        console,
        "Targets of issue 2",
        ((goal["goal"], measured_text(goal), goal["met"]) for goal in report["targets"]),
    )


def median_run(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median import time (the faster middle one of an even count), with
    every run's time beside it; a failed or skipped run only when no run succeeded."""
    timed = sorted((s for s in samples if "wall_s" in s), key=lambda s: float(s["wall_s"]))
    if not timed:
        return samples[0]
    chosen = dict(timed[(len(timed) - 1) // 2])
    chosen["runs_wall_s"] = [s.get("wall_s") for s in samples]
    return chosen


def run_postgres(
    args: argparse.Namespace,
    workdir: Path,
    bundle: Path,
    server_url: str,
    round_number: int,
    console: Console,
    report: dict[str, Any],
) -> dict[str, Any]:
    """The PostgreSQL target in a throwaway database of its own, dropped afterwards."""
    try:
        name, url, version = create_database(server_url)
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        console.print(
            f"[yellow]PostgreSQL at {mask_url_password(server_url)} unavailable: {reason}; "
            "skipped[/]"
        )
        return {"target": "postgresql", "skipped": reason}
    report["machine"]["postgresql"] = version
    try:
        return spawn("postgresql", args, workdir, bundle, round_number, url)
    finally:
        drop_database(server_url, name)
        console.print(f"dropped the throwaway database {name}")


def orchestrate(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else 150)
    server_url = args.postgres or os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES
    command = "python -m benchmarks.bulk_import " + " ".join(args.argv)
    report: dict[str, Any] = {"command": command.strip(), "machine": machine()}

    with console.status(f"generating {args.count:,} objects…"):
        started = time.perf_counter()
        objects = generate_objects(args.count, seed=args.seed)
        generate_s = time.perf_counter() - started
    distinct = len({obj["id"] for obj in objects})
    console.print(
        f"generated {len(objects):,} object versions of {distinct:,} ids "
        f"in {generate_s:.2f} s (seed {args.seed})"
    )
    with console.status("checking every object with prepare(), a sample with the validator…"):
        checks = check_objects(objects, args.seed)
    console.print(
        f"prepare(): {checks['prepare_refused']} refused of {len(objects):,}; OASIS validator on "
        f"{checks['validator_sample']} objects: {checks['validator_errors']} errors, "
        f"warnings by code {checks['validator_warnings'] or 'none'}, "
        f"{checks['validator_custom_warnings']} about custom content"
    )
    if checks["prepare_refused"]:
        for line in checks["prepare_first_problems"]:
            console.print(f"  [red]{line}[/]")
        return 1
    report["data"] = {
        "count": len(objects),
        "distinct_ids": distinct,
        "seed": args.seed,
        "generate_s": round(generate_s, 2),
        "types": type_counts(objects),
        **checks,
    }

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="diapason-bench-", dir=args.workdir) as folder:
        workdir = Path(folder)
        bundle = workdir / "bundle.json"
        bundle.write_bytes(
            orjson.dumps(
                {
                    "type": "bundle",
                    "id": "bundle--9d3f2a4e-7c1b-4e5f-9a6d-2b8c0e1f3a57",
                    "objects": objects,
                }
            )
        )
        report["data"]["bundle_bytes"] = bundle.stat().st_size
        del objects
        gc.collect()
        report["workdir_filesystem"] = _filesystem_of(workdir)

        plan = ["memory", "sqlite", "sqlite-bundle"]
        if not args.skip_filesystem:
            plan.insert(1, "filesystem")
        runs: dict[str, list[dict[str, Any]]] = {target: [] for target in plan}
        runs["postgresql"] = []
        # Round after round, every target once per round: a slow spell of the machine then
        # falls on all of them, not on one target's every run.
        for round_number in range(args.repeat):
            for target in plan:
                runs[target].append(spawn(target, args, workdir, bundle, round_number))
            if args.skip_postgres:
                runs["postgresql"].append({"target": "postgresql", "skipped": "--skip-postgres"})
            else:
                runs["postgresql"].append(
                    run_postgres(args, workdir, bundle, server_url, round_number, console, report)
                )
        results = {target: median_run(samples) for target, samples in runs.items()}
        if args.repeat > 1:
            console.print(
                f"{args.repeat} rounds; each figure is from the median run by import time"
            )

    add_ratios(results)
    report["results"] = results
    report["targets"] = targets_met(results)
    console.print()
    console.print(f"machine: {report['machine']}")
    print_tables(console, report)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        console.print(f"results written to {args.json}")
    if args.chart:
        Path(args.chart).write_text(import_chart(report))
        console.print(f"chart written to {args.chart}")
    return 0


def redraw(args: argparse.Namespace) -> int:
    """Draw the chart of an earlier run from its ``--json`` file."""
    try:
        report = orjson.loads(Path(args.redraw).read_bytes())
        chart = import_chart(report)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        stderr.print(
            f"[red]error:[/] {args.redraw}: not a results file of this benchmark ({error})"
        )
        return 1
    Path(args.chart).write_text(chart)
    stderr.print(f"chart written to {args.chart}")
    return 0


def import_chart(report: dict[str, Any]) -> str:
    """The import rate of every target of a run (its median run), as an SVG bar chart, with
    the issue's two import targets marked."""
    results: dict[str, dict[str, Any]] = report["results"]
    bars: list[tuple[str, float, str]] = []
    for target, label in TARGET_LABELS.items():
        rate = results.get(target, {}).get("objects_per_s")
        if not rate:
            continue
        ratio = results[target].get("ratios", {}).get("rate_vs_filesystem")
        note = f"{rate:,.0f}/s" + (f", {ratio:.2f}x FS" if ratio else "")
        bars.append((label, float(rate), note))
    marks = [("20,000/s", 20_000.0)]
    fs_rate = results.get("filesystem", {}).get("objects_per_s")
    if fs_rate:
        marks.append(("10x FileSystemStore", 10 * float(fs_rate)))
    count = report.get("data", {}).get("count", 0)
    return bar_chart_svg(
        bars,
        title=f"Bulk import of {count:,} STIX objects: objects per second",
        unit="objects/s",
        marks=marks,
    )


def _filesystem_of(folder: Path) -> str:
    completed = subprocess.run(
        ["df", "-T", str(folder)], capture_output=True, text=True, check=False
    )
    lines = completed.stdout.strip().splitlines()
    return " ".join(lines[-1].split()[:2]) if len(lines) > 1 else "unknown"


def fsync_ms(folder: Path, rounds: int = 20) -> float:
    """Median time of a 4 KiB write + fsync in ``folder`` (what a checkpoint waits on)."""
    path = folder / "fsync.probe"
    samples: list[float] = []
    with path.open("wb") as handle:
        for _ in range(rounds):
            handle.write(os.urandom(4096))
            handle.flush()
            started = time.perf_counter()
            os.fsync(handle.fileno())
            samples.append((time.perf_counter() - started) * 1000)
    path.unlink()
    return round(statistics.median(samples), 3)


_STATEMENT_HEAD = re.compile(r"\s+(WHERE|VALUES|SET|RETURNING|GROUP BY)\b.*", re.DOTALL)


def _statement_kind(statement: str) -> str:
    flat = " ".join(statement.split())
    head = _STATEMENT_HEAD.sub("", flat)
    if head.startswith("SELECT"):
        head = "SELECT … FROM " + head.rsplit(" FROM ", 1)[-1]
    return head[:70]


def sql_breakdown(store: Any, objects: Sequence[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    """put_many with every cursor execution timed, grouped by statement kind."""
    totals: dict[str, list[float]] = {}
    pending: dict[int, float] = {}

    def before(_conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        pending[id(cursor)] = time.perf_counter()

    def after(
        _conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool
    ) -> None:
        elapsed = time.perf_counter() - pending.pop(id(cursor), time.perf_counter())
        kind = _statement_kind(statement) + (" [executemany]" if executemany else "")
        entry = totals.setdefault(kind, [0, 0.0])
        entry[0] += 1
        entry[1] += elapsed

    sa.event.listen(store.engine, "before_cursor_execute", before)
    sa.event.listen(store.engine, "after_cursor_execute", after)
    started = time.perf_counter()
    store.put_many(objects)
    wall = time.perf_counter() - started
    sa.event.remove(store.engine, "before_cursor_execute", before)
    sa.event.remove(store.engine, "after_cursor_execute", after)
    return wall, {
        kind: {"calls": int(calls), "seconds": round(seconds, 4)}
        for kind, (calls, seconds) in totals.items()
    }


# -- profiling put_many -------------------------------------------------------------------
def profile(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else 150)
    objects = generate_objects(args.profile, seed=args.seed)
    started = time.perf_counter()
    memo = Memo()  # one batch, as put_many makes one
    for index, obj in enumerate(objects):
        prepare(obj, index, MAX_OBJECT_BYTES, memo)
    prepare_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="diapason-profile-", dir=args.workdir) as folder:
        console.print(
            f"fsync of 4 KiB in {folder}: median {fsync_ms(Path(folder))} ms; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        plain = open_store(f"sqlite:///{Path(folder) / 'plain.sqlite3'}")
        started = time.perf_counter()
        plain.put_many(objects)
        plain_s = time.perf_counter() - started
        plain.close()

        timed = open_store(f"sqlite:///{Path(folder) / 'timed.sqlite3'}")
        timed_s, statements = sql_breakdown(timed, objects)
        timed.close()

        store = open_store(f"sqlite:///{Path(folder) / 'profiled.sqlite3'}")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        report = store.put_many(objects)
        profiler.disable()
        profiled_s = time.perf_counter() - started
        store.close()
    console.print(
        f"put_many of {len(objects):,} objects into SQLite: {plain_s:.2f} s "
        f"({len(objects) / plain_s:,.0f} objects/s) without the profiler, {profiled_s:.2f} s "
        f"under cProfile; written {len(report.written):,}, refused {len(report.refused)}"
    )
    console.print(
        f"prepare() alone on the same objects: {prepare_s:.2f} s "
        f"({len(objects) / prepare_s:,.0f} objects/s)"
    )
    breakdown = Table(title=f"SQL time inside put_many (a third run, {timed_s:.2f} s wall)")
    for heading in ("statement", "calls", "seconds", "share of wall"):
        breakdown.add_column(heading, justify="left" if heading == "statement" else "right")
    in_sql = 0.0
    for kind, entry in sorted(statements.items(), key=lambda item: -item[1]["seconds"]):
        in_sql += entry["seconds"]
        breakdown.add_row(
            kind,
            f"{entry['calls']:,}",
            f"{entry['seconds']:.3f}",
            f"{entry['seconds'] / timed_s:.1%}",
        )
    breakdown.add_row("all SQL (driver time)", "", f"{in_sql:.3f}", f"{in_sql / timed_s:.1%}")
    console.print(breakdown)
    if args.profile_out:
        profiler.dump_stats(args.profile_out)
        console.print(f"profile written to {args.profile_out}")
    for order in ("cumulative", "tottime"):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats(order).print_stats(args.profile_top)
        console.print(f"\n[bold]top {args.profile_top} by {order}[/]")
        console.print(
            stream.getvalue().split("\n\n", 1)[-1].strip("\n"),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bulk_import",
        description="Bulk import of generated STIX 2.1 into Diapason (SQLite, PostgreSQL) and "
        "the stix2 MemoryStore and FileSystemStore anchors.",
    )
    parser.add_argument("--count", type=int, default=100_000, help="object versions to import")
    parser.add_argument(
        "--anchor-count",
        type=int,
        default=0,
        help="import only the first N objects into the (slow) FileSystemStore anchor "
        "(default: all of them, like every other target)",
    )
    parser.add_argument(
        "--postgres",
        help=f"PostgreSQL server URL (default: ${POSTGRES_ENV} "
        f"or {DEFAULT_POSTGRES}); a throwaway database is created on it",
    )
    parser.add_argument("--skip-filesystem", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--keep-page-cache",
        action="store_true",
        help="do not drop the kernel's page cache before each run (by default it is dropped "
        "when the benchmark may: as root on Linux)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--repeat",
        type=positive,
        default=1,
        help="rounds of every target; each figure is then from the median run",
    )
    parser.add_argument("--gets", type=int, default=2000, help="timed get-by-id calls")
    parser.add_argument("--queries", type=int, default=200, help="timed full-text queries")
    parser.add_argument(
        "--json", type=writable_file, help="also write every result to this JSON file"
    )
    parser.add_argument(
        "--chart", type=writable_file, help="also draw the import rates in this SVG file"
    )
    parser.add_argument(
        "--redraw",
        metavar="JSON",
        help="draw --chart from the results file of an earlier run (runs nothing)",
    )
    parser.add_argument("--workdir", help="folder for the temporary files (default: $TMPDIR)")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="profile put_many of N objects into SQLite instead"
    )
    parser.add_argument("--profile-top", type=int, default=15)
    parser.add_argument(
        "--profile-out", type=writable_file, help="write the cProfile stats to this file"
    )
    # Internal: one target in a child process.
    parser.add_argument("--target", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.target:
        return run_child(args)
    if args.profile:
        return profile(args)
    if args.redraw:
        if not args.chart:
            stderr.print("[red]error:[/] --redraw needs --chart FILE.svg")
            return 2
        return redraw(args)
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())

"""Exchange sync benchmark (issue 4): replicate object versions from node A to node B.

Run from the project root, with PostgreSQL running::

    .venv/bin/python -m benchmarks.sync [--count 100000] [--writes 50] [--postgres URL]
        [--skip-postgres] [--skip-live] [--json PATH]

Two real nodes, A (``rabat``) and B (``paris``), each a ``python -m diapason serve`` process
listening on loopback, partnered both ways as ``diapason demo`` does it
(``diapason.demo.set_up``). For each database (SQLite, then PostgreSQL with two throwaway
databases ``diapason_bench_<random>`` dropped at the end):

* **Throughput, step by step.** ``--count`` object versions of
  ``benchmarks.generate.generate_objects`` are made releasable to B (created by A's identity,
  TLP:GREEN, graded Admiralty B2, the individuals given data-protection metadata) and
  loaded into A's store with ``put_many`` (timed, not part of the end-to-end figure: it is
  the bulk import of issue 2, and the anchor of the ratios). Both servers then run with
  their background loop off (``DIAPASON_SYNC_INTERVAL=0``) and, each in a child process:

  1. ``ledger``: on A's data folder, ``node.ledger.run()``: the release policy decides
     every version for B and appends the released ones to B's outbox collection;
  2. ``pull``: on B's data folder, what ``diapason sync`` does, each step timed: B's
     ledger, one ``SyncAgent.round()`` (TAXII pages of ``sync_page_size`` objects from A's
     server, written with ``put_many``, a receipt posted back to A per page), B's ledger
     again; then one more round with nothing new.

  End to end = A's ledger + B's whole ``diapason sync``; objects/s = versions replicated /
  that time. Inside each child, time is attributed to the release policy (``decide``),
  JSON parsing, the HTTP requests, the store's ``put_many``, the audit trail and every SQL
  statement (SQLAlchemy cursor events, grouped by statement). A's server CPU time over the
  pull comes from ``/proc``.
* **Delay.** Both servers restarted with ``DIAPASON_SYNC_INTERVAL=1`` (``--interval``), A
  first (so that B's loop never finds A away and backs off). After ``--warmup`` s and an
  ``--idle`` window (what the two loops write and burn with nothing to send), a ``delay``
  child writes ``--writes`` objects one at a time (``--batch`` per write) straight into A's
  store at random intervals (``--gap``) and polls B's store every ``--poll-ms`` until each
  has arrived. Delay = seen on B - start of the write on A; the stamps the two stores
  keep split it into "waiting for A's loop to release it" (A's outbox entry's date added)
  and "waiting for B's loop to pull it" (B's date added).
* **Both loops on** (unless ``--skip-live``). Another ``--count`` versions
  (``seed + 1``) are loaded into A with the servers stopped; both start with their loops
  on, and nothing else runs. Timed from A's first release of them to the arrival on B of
  the last one: here A's ledger and B's pulls overlap, as in real use.

``--profile DIR`` runs the ledger and pull children under cProfile (their timings are then
inflated) and writes ``ledger.pstats`` and ``pull.pstats`` there; ``--py-spy DIR`` samples A's
server with py-spy during the pull and summarises where it spends its time. Two experiments
change the timed pull: ``--page N`` (pages of N objects instead of the node's
``sync_page_size``) and ``--no-receipts`` (no receipt posted back to A).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from benchmarks.bulk_import import (
    DEFAULT_POSTGRES,
    POSTGRES_ENV,
    create_database,
    drop_database,
    machine,
)
from benchmarks.common import free_port, print_targets, writable_file
from benchmarks.generate import TLP_GREEN, generate_objects, type_counts
from diapason import demo
from diapason.domain.grading import grade
from diapason.domain.protection import protect
from diapason.domain.timestamps import as_store_timestamp, stix_now
from diapason.exchange import ledger as ledger_module
from diapason.exchange.sync import SyncResult
from diapason.node import Node, init_node
from diapason.settings import load_settings, mask_url_password
from diapason.store.db import open_engine
from diapason.store.schema import collection_entries, objects, release_decisions

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
A_NAME, B_NAME = demo.NAMES  # rabat, paris
# Children get the database URLs through the environment, never on a command line.
URL_ENV = {A_NAME: "DIAPASON_BENCH_URL_A", B_NAME: "DIAPASON_BENCH_URL_B"}
CHILDREN = ("ledger", "pull", "delay")
BACKENDS = ("sqlite", "postgresql")
TARGET_RATE = 5_000.0  # objects/s end to end
TARGET_DELAY_S = 2.0  # median
MISP_ANCHORS = (
    (
        "MISP/MISP#4814",
        "pull from misp.circl.lu: 2 h 45 min, later 4 h, even with nothing new; "
        "68,906 events listed, 50,542 of them fetched only to be discarded",
    ),
    (
        "MISP/MISP#10439",
        "pull of 2,424,218 events: 17 % after a week (about 0.7 event/s); "
        "its log shows one event every 2-3 s",
    ),
)

stderr = Console(stderr=True)

# What the sync agent does on its network thread, while the main thread writes pages.
NETWORK_THREAD = frozenset(
    {"HTTP GET (A's server)", "JSON parse (orjson)", "receipt POST (A's server)"}
)


# -- measuring ----------------------------------------------------------------------------
class Timings:
    """Wall time spent inside wrapped callables, by name (calls, seconds)."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}

    def wrap(self, name: str, function: Callable[..., T]) -> Callable[..., T]:
        entry = self.totals.setdefault(name, [0, 0.0])

        def timed(*args: Any, **kwargs: Any) -> T:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        return timed

    def patch(self, owner: object, attribute: str, name: str | None = None) -> None:
        setattr(owner, attribute, self.wrap(name or attribute, getattr(owner, attribute)))

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            name: {"calls": int(calls), "seconds": round(seconds, 4)}
            for name, (calls, seconds) in sorted(self.totals.items(), key=lambda i: -i[1][1])
        }


_STATEMENT_HEAD = re.compile(r"\s+(WHERE|VALUES|SET|RETURNING|GROUP BY|ORDER BY)\b.*", re.DOTALL)


def statement_kind(statement: str) -> str:
    flat = " ".join(statement.split())
    head = _STATEMENT_HEAD.sub("", flat)
    if head.startswith("SELECT"):
        head = "SELECT … FROM " + head.rsplit(" FROM ", 1)[-1]
    return head[:80]


class SqlTimings:
    """Time inside the database driver, by statement kind (SQLAlchemy cursor events)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.totals: dict[str, list[float]] = {}
        self._pending: dict[int, float] = {}
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, cursor: Any, *_rest: Any) -> None:
        self._pending[id(cursor)] = time.perf_counter()

    def _after(
        self, _conn: Any, cursor: Any, statement: str, _params: Any, _ctx: Any, many: bool
    ) -> None:
        elapsed = time.perf_counter() - self._pending.pop(id(cursor), time.perf_counter())
        kind = statement_kind(statement) + (" [executemany]" if many else "")
        entry = self.totals.setdefault(kind, [0, 0.0])
        entry[0] += 1
        entry[1] += elapsed

    def total(self) -> float:
        return sum(seconds for _calls, seconds in self.totals.values())

    def as_dict(self, top: int = 12) -> dict[str, dict[str, float]]:
        ranked = sorted(self.totals.items(), key=lambda item: -item[1][1])
        shown = {
            kind: {"calls": int(calls), "seconds": round(seconds, 4)}
            for kind, (calls, seconds) in ranked[:top]
        }
        rest = ranked[top:]
        if rest:
            shown["(other statements)"] = {
                "calls": int(sum(calls for _k, (calls, _s) in rest)),
                "seconds": round(sum(seconds for _k, (_c, seconds) in rest), 4),
            }
        return shown


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def quantiles(samples: Sequence[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def rank(fraction: float) -> float:
        position = fraction * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    return {
        "n": len(ordered),
        "min": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p90": round(rank(0.9), 3),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def epoch(stamp: str) -> float:
    """A store timestamp (``2026-01-02T03:04:05.123456Z``) as seconds since the epoch."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


@contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("cumulative").print_stats(30)
        stderr.print(stream.getvalue(), markup=False, highlight=False, soft_wrap=True)


# -- the objects --------------------------------------------------------------------------
def releasable(
    objects_in: Sequence[dict[str, Any]], author: str, today: date
) -> list[dict[str, Any]]:
    """The generated objects as A would hold them for B: created by A's identity (the
    generator names its own identities), TLP:GREEN, graded B2, persons protected."""
    review_by = today + timedelta(days=365)
    out: list[dict[str, Any]] = []
    for obj in objects_in:
        item = {**obj, "created_by_ref": author, "object_marking_refs": [TLP_GREEN]}
        if item["type"] == "identity" and item.get("identity_class") == "individual":
            item = protect(
                item,
                "contact",
                review_by,
                nature="fact",
                legal_basis="Art. 8, Directive 2016/680",
                purpose="Prevention of smuggling of migrants",
            )
        out.append(grade(item, "admiralty", "B", "2"))
    return out


def delay_object(author: str, index: int) -> dict[str, Any]:
    now = stix_now()
    obj = {
        "type": "threat-actor",
        "spec_version": "2.1",
        "id": f"threat-actor--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "created_by_ref": author,
        "name": f"Réseau de passeurs, signalement {index}",
        "threat_actor_types": ["criminal"],
        "object_marking_refs": [TLP_GREEN],
    }
    return grade(obj, "admiralty", "B", "2")


# -- children -----------------------------------------------------------------------------
def open_node(name: str, data: Path) -> Node:
    url = os.environ.get(URL_ENV[name])
    environ = {"DIAPASON_DATABASE_URL": url} if url else {}
    return Node.open(load_settings(data, environ=environ))


def child_ledger(args: argparse.Namespace) -> dict[str, Any]:
    """A's ledger run: decide every new version for B, append the released ones."""
    node = open_node(A_NAME, Path(args.data))
    timings = Timings()
    sql = SqlTimings(node.database.engine)
    timings.patch(ledger_module, "decide")
    shim = types.SimpleNamespace(loads=timings.wrap("orjson.loads", orjson.loads))
    setattr(ledger_module, "orjson", shim)  # noqa: B010 (the ledger only calls loads)
    timings.patch(node.ledger, "_record", "record decisions")
    timings.patch(node.ledger, "_released_before", "earlier releases")
    timings.patch(node.collections, "add_entries", "outbox add_entries")
    timings.patch(node.audit, "append", "audit append")
    cpu = process_cpu()
    started = time.perf_counter()
    with profiled(Path(args.profile) / "ledger.pstats" if args.profile else None):
        run = node.ledger.run("bench")
    wall = time.perf_counter() - started
    cpu = process_cpu() - cpu
    node.close()
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "released": run.released,
        "withheld": run.withheld,
        "functions": timings.as_dict(),
        "sql": sql.as_dict(),
        "sql_s": round(sql.total(), 3),
    }


def child_pull(args: argparse.Namespace) -> dict[str, Any]:
    """What ``diapason sync`` does on B (ledger, one round, ledger), each step timed; then
    one more round with nothing new."""
    node = open_node(B_NAME, Path(args.data))
    timings = Timings()
    sql = SqlTimings(node.database.engine)
    received_bytes = [0]
    agent = node.sync_agent()
    if args.page:  # an experiment: another page size than the node's setting
        agent.page_size = args.page
    get = agent._get

    def counted_get(client: httpx.Client, url: str, params: Any = None) -> httpx.Response:
        response = get(client, url, params)
        received_bytes[0] += len(response.content)
        return response

    setattr(agent, "_get", timings.wrap("HTTP GET (A's server)", counted_get))  # noqa: B010
    timings.patch(agent, "_json", "JSON parse (orjson)")
    timings.patch(node.store, "known_ids", "store known_ids")
    timings.patch(node.store, "put_many", "store put_many")
    timings.patch(node.audit, "append", "audit append")
    timings.patch(node.partners, "update", "partner watermark")
    if hasattr(agent, "_acknowledge"):  # receipts to A's inbox (since 75bd2be)
        if args.no_receipts:  # an experiment: what the round costs without them

            def no_receipt(*_args: Any, **_kwargs: Any) -> None:
                return None

            setattr(agent, "_acknowledge", no_receipt)  # noqa: B010
        timings.patch(agent, "_acknowledge", "receipt POST (A's server)")

    started = time.perf_counter()
    before = node.ledger.run("bench")
    ledger_before_s = time.perf_counter() - started

    cpu = process_cpu()
    started = time.perf_counter()
    with profiled(Path(args.profile) / "pull.pstats" if args.profile else None):
        results = agent.round()
    round_s = time.perf_counter() - started
    cpu = process_cpu() - cpu
    functions = timings.as_dict()
    statements = sql.as_dict()
    sql_s = sql.total()

    started = time.perf_counter()
    after = node.ledger.run("bench")
    ledger_after_s = time.perf_counter() - started

    # Nothing new on A: what does a round cost now?
    started = time.perf_counter()
    idle = node.sync_agent().round()
    idle_s = time.perf_counter() - started
    node.close()

    def described(found: list[SyncResult]) -> list[dict[str, Any]]:
        return [{**result.as_dict(), "refusals": result.refusals[:5]} for result in found]

    return {
        "ledger_before_s": round(ledger_before_s, 3),
        "ledger_before": {"released": before.released, "withheld": before.withheld},
        "round_s": round(round_s, 3),
        "round_cpu_s": round(cpu, 3),
        "results": described(results),
        "bytes": received_bytes[0],
        "functions": functions,
        "sql": statements,
        "sql_s": round(sql_s, 3),
        "ledger_after_s": round(ledger_after_s, 3),
        "ledger_after": {"released": after.released, "withheld": after.withheld},
        "sync_s": round(ledger_before_s + round_s + ledger_after_s, 3),
        "idle_round_s": round(idle_s, 3),
        "idle_results": described(idle),
    }


def child_delay(args: argparse.Namespace) -> dict[str, Any]:
    """Write on A at random intervals; poll B until each write has arrived."""
    a = open_node(A_NAME, Path(args.data))
    b = open_node(B_NAME, Path(args.data_b))
    author = a.identity_id
    assert author is not None
    rng = random.Random(args.seed + 5)
    low, high = args.gap
    poll_s = args.poll_ms / 1000
    pending: dict[str, float] = {}  # id -> written (epoch)
    seen: dict[str, float] = {}
    written_at: dict[str, float] = {}
    lost: list[str] = []
    writes = 0
    next_write = time.time() + rng.uniform(low, high)
    polls = 0
    poll_ms: list[float] = []
    write_s: list[float] = []
    while writes < args.writes or pending:
        now = time.time()
        if writes < args.writes and now >= next_write:
            batch = [delay_object(author, writes * args.batch + k) for k in range(args.batch)]
            begun = time.time()  # the delay counts from here: the write itself included
            report = a.store.put_many(batch, source="local")
            if report.refused:
                raise RuntimeError(f"delay object refused: {report.refused[0]}")
            done = time.time()
            write_s.append(done - begun)
            for obj in batch:
                pending[obj["id"]] = begun
                written_at[obj["id"]] = begun
            writes += 1
            next_write = done + rng.uniform(low, high)
        if pending:
            started = time.perf_counter()
            found = b.store.known_ids(list(pending))
            poll_ms.append((time.perf_counter() - started) * 1000)
            polls += 1
            now = time.time()
            for object_id in found:
                seen[object_id] = now
                del pending[object_id]
            for object_id, when in list(pending.items()):
                if now - when > args.timeout:
                    lost.append(object_id)
                    del pending[object_id]
        time.sleep(poll_s)

    # What the two stores recorded: when A released each object, when B wrote it.
    ids = sorted(written_at)
    outbox = a.partners.get(B_NAME)
    assert outbox is not None
    released_at: dict[str, float] = {}
    stored_b: dict[str, float] = {}
    with a.database.engine.connect() as connection:
        for row in connection.execute(
            sa.select(collection_entries.c.object_id, collection_entries.c.date_added).where(
                (collection_entries.c.collection_id == outbox.outbox)
                & collection_entries.c.object_id.in_(ids)
            )
        ):
            released_at[row.object_id] = epoch(row.date_added)
    with b.database.engine.connect() as connection:
        for row in connection.execute(
            sa.select(objects.c.id, objects.c.date_added).where(objects.c.id.in_(ids))
        ):
            stored_b[row.id] = epoch(row.date_added)
    a.close()
    b.close()
    delays = [seen[i] - written_at[i] for i in ids if i in seen]
    to_release = [released_at[i] - written_at[i] for i in ids if i in released_at]
    to_b = [stored_b[i] - released_at[i] for i in ids if i in stored_b and i in released_at]
    poll_lag = [seen[i] - stored_b[i] for i in ids if i in seen and i in stored_b]
    return {
        "writes": writes,
        "objects": len(ids),
        "arrived": len(seen),
        "lost": len(lost),
        "delay_s": quantiles(delays),
        "write_to_release_s": quantiles(to_release),
        "release_to_b_s": quantiles(to_b),
        "b_write_to_seen_s": quantiles(poll_lag),
        "polls": polls,
        "poll_query_ms": quantiles(poll_ms),
        "write_s": quantiles(write_s),
        "first_write_s": round(write_s[0], 3) if write_s else None,
        "delays": [round(value, 4) for value in delays],
    }


def run_child(args: argparse.Namespace) -> int:
    handlers = {"ledger": child_ledger, "pull": child_pull, "delay": child_delay}
    load_before = os.getloadavg()[0]
    result = handlers[args.child](args)
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    Path(args.result).write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


# -- servers ------------------------------------------------------------------------------
@dataclass
class Pair:
    """The two nodes of one backend: data folders, ports, database URLs, servers."""

    root: Path
    a: demo.DemoNode
    b: demo.DemoNode
    urls: dict[str, str | None]

    def nodes(self) -> tuple[demo.DemoNode, demo.DemoNode]:
        return self.a, self.b


def set_up_pair(root: Path, urls: dict[str, str | None]) -> Pair:
    """Both nodes initialised and partnered both ways, as ``diapason demo`` does it."""
    ports = (free_port(), free_port())

    def say(text: str) -> None:
        stderr.print(text, highlight=False, markup=False)

    if urls[A_NAME] is None and urls[B_NAME] is None:
        a, b = demo.set_up(root, ports, say)
    else:
        # demo.set_up reads no environment (SQLite in the data folder); the same steps,
        # with each node's database URL.
        nodes: list[demo.DemoNode] = []
        for name, port in zip(demo.NAMES, ports, strict=True):
            settings = load_settings(
                root / name, environ={}, node_name=name, database_url=urls[name]
            )
            node, _initialised = init_node(settings, "bench")
            nodes.append(demo.DemoNode(name, root / name, port, node))
        a, b = nodes
        for here, there in ((a, b), (b, a)):
            there.node.accounts.add_user(here.name, "partner")
        for here, there in ((a, b), (b, a)):
            token = there.node.accounts.create_token(here.name, f"bench: {here.name} reads")
            here.node.partners.add(
                there.name,
                there.url,
                token.secret,
                identity_id=there.node.identity_id,
                account=there.name,
            )
            here.node.audit.append("bench", "partner_add", details={"partner": there.name})
            say(f"{here.name}: partner {there.name} at {there.url}")
    return Pair(root, a, b, urls)


def start_server(pair: Pair, demo_node: demo.DemoNode, interval: int) -> None:
    """``python -m diapason serve`` for one node, in a session of its own."""
    demo.start(
        demo_node, interval=interval, database_url=pair.urls[demo_node.name], own_session=True
    )


def stop_server(demo_node: demo.DemoNode) -> None:
    process = demo_node.process
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # its own session: only what we started
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def serving(pair: Pair, interval: int) -> Iterator[None]:
    # A before B, and B stopped before A: B's loop never finds A away, so it never backs
    # off (a partner that fails is retried after 2, 4, 8 … s, and that state is kept).
    try:
        for demo_node in pair.nodes():
            start_server(pair, demo_node, interval)
            demo.wait_healthy(demo_node, timeout=60)
        yield
    finally:
        for demo_node in reversed(pair.nodes()):
            stop_server(demo_node)


def spawn(
    child: str, pair: Pair, args: argparse.Namespace, extra: Sequence[str] = ()
) -> dict[str, Any]:
    workdir = pair.root
    result_path = workdir / f"{child}.result.json"
    data = pair.a.data if child in ("ledger", "delay") else pair.b.data
    command = [
        sys.executable,
        "-m",
        "benchmarks.sync",
        "--child",
        child,
        "--data",
        str(data),
        "--data-b",
        str(pair.b.data),
        "--result",
        str(result_path),
        "--seed",
        str(args.seed),
        *extra,
    ]
    if args.profile and child != "delay":
        command += ["--profile", str(args.profile)]
    if args.page and child == "pull":
        command += ["--page", str(args.page)]
    if args.no_receipts and child == "pull":
        command += ["--no-receipts"]
    env = dict(os.environ)
    for name, variable in URL_ENV.items():
        env.pop(variable, None)
        url = pair.urls[name]
        if url:
            env[variable] = url
    completed = subprocess.run(command, cwd=ROOT, env=env, check=False, timeout=3600)
    if completed.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"child {child} exited with status {completed.returncode}")
    result: dict[str, Any] = orjson.loads(result_path.read_bytes())
    return result


@contextmanager
def py_spy(pid: int | None, out: Path | None) -> Iterator[None]:
    """Sample a process with py-spy (raw folded stacks) while the block runs."""
    tool = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if pid is None or out is None or not Path(tool).exists():
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    sampler = subprocess.Popen(
        [tool, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # let it attach
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)
        try:
            sampler.wait(timeout=60)
        except subprocess.TimeoutExpired:
            sampler.kill()


def folded_summary(path: Path, top: int = 20) -> dict[str, list[tuple[str, float]]]:
    """Inclusive and own shares of functions in py-spy's raw (folded) output."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return {"inclusive": [], "own": []}

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [(frame, round(count / total, 4)) for frame, count in best]

    return {"inclusive": ranked(inclusive), "own": ranked(own), "samples": [("total", total)]}


# -- one backend --------------------------------------------------------------------------
COUNTED_TABLES = ("objects", "audit_log", "collection_entries", "deliveries")


def table_counts(pair: Pair) -> dict[str, dict[str, int]]:
    """Rows in the tables an idle exchange loop should leave alone, on both nodes."""
    counts: dict[str, dict[str, int]] = {}
    for demo_node in pair.nodes():
        url = pair.urls[demo_node.name] or f"sqlite:///{demo_node.data / 'diapason.sqlite3'}"
        engine = open_engine(url)
        counts[demo_node.name] = {}
        try:
            with engine.connect() as connection:
                for table in COUNTED_TABLES:
                    try:
                        found = connection.exec_driver_sql(f"SELECT count(*) FROM {table}")
                        counts[demo_node.name][table] = int(found.scalar_one())
                    except sa.exc.DBAPIError:  # a table this version does not have
                        connection.rollback()
        finally:
            engine.dispose()
    return counts


def idle_window(pair: Pair, pids: dict[str, int], seconds: float) -> dict[str, Any]:
    """Both loops on and nothing new to send: what do they write, and at what CPU cost?"""
    before = table_counts(pair)
    cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    cpu_share = {
        name: round(((cpu_seconds(pid) or 0.0) - (cpu[name] or 0.0)) / elapsed, 3)
        for name, pid in pids.items()
    }
    after = table_counts(pair)
    growth = {
        name: {
            table: round((after[name][table] - before[name][table]) * 60 / elapsed, 1)
            for table in after[name]
            if after[name][table] != before[name].get(table)
        }
        for name in after
    }
    return {
        "seconds": round(elapsed, 1),
        "before": before,
        "after": after,
        "growth_per_minute": growth,
        "server_cpu_share": cpu_share,
    }


def verify(pair: Pair, author: str, expected: int) -> dict[str, Any]:
    """Whether B holds every generated version, and what A decided for B."""
    a = open_node_parent(pair, A_NAME)
    b = open_node_parent(pair, B_NAME)
    try:
        with a.database.engine.connect() as connection:
            codes = {
                str(code): int(count)
                for code, count in connection.execute(
                    sa.select(release_decisions.c.code, sa.func.count())
                    .where(release_decisions.c.partner == B_NAME)
                    .group_by(release_decisions.c.code)
                )
            }
        with b.database.engine.connect() as connection:
            held = int(
                connection.execute(
                    sa.select(sa.func.count())
                    .select_from(objects)
                    .where(
                        (objects.c.created_by_ref == author)
                        & (objects.c.id != author)
                        & (objects.c.source == f"partner:{A_NAME}")
                    )
                ).scalar_one()
            )
    finally:
        a.close()
        b.close()
    return {"b_holds_versions": held, "expected": expected, "a_decisions_by_code": codes}


def open_node_parent(pair: Pair, name: str) -> Node:
    url = pair.urls[name]
    environ = {"DIAPASON_DATABASE_URL": url} if url else {}
    return Node.open(load_settings(pair.root / name, environ=environ))


def run_backend(
    backend: str,
    generated: list[dict[str, Any]],
    args: argparse.Namespace,
    workdir: Path,
    console: Console,
) -> dict[str, Any]:
    server_url = args.postgres or os.environ.get(POSTGRES_ENV) or DEFAULT_POSTGRES
    created: list[str] = []
    result: dict[str, Any] = {"backend": backend}
    root = workdir / backend
    root.mkdir()
    try:
        urls: dict[str, str | None] = {A_NAME: None, B_NAME: None}
        if backend == "postgresql":
            for name in demo.NAMES:
                database, url, version = create_database(server_url)
                created.append(database)
                urls[name] = url
                result["postgresql"] = version
            result["databases"] = [mask_url_password(str(url)) for url in urls.values()]
        with console.status(f"{backend}: setting up {A_NAME} and {B_NAME}…"):
            pair = set_up_pair(root, urls)
        author = pair.a.node.identity_id
        assert author is not None
        objects_a = releasable(generated, author, datetime.now(UTC).date())
        with console.status(f"{backend}: loading {len(objects_a):,} objects into {A_NAME}…"):
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            report = pair.a.node.store.put_many(objects_a, source="local")
            load_s = time.perf_counter() - started
        del objects_a
        result["load"] = {
            "objects": len(generated),
            "wall_s": round(load_s, 3),
            "objects_per_s": round(len(generated) / load_s, 1),
            "written": len(report.written),
            "refused": len(report.refused),
            "first_refusals": [str(problem) for problem in report.refused[:5]],
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        console.print(
            f"{backend}: loaded {len(report.written):,} versions into {A_NAME} in {load_s:.1f} s "
            f"({len(generated) / load_s:,.0f} objects/s), {len(report.refused)} refused"
        )
        for demo_node in pair.nodes():
            demo_node.node.close()

        # Throughput: both servers up, their loops off; the children do the work.
        with serving(pair, interval=0):
            console.print(f"{backend}: servers up (loops off): {pair.a.url}, {pair.b.url}")
            with console.status(f"{backend}: {A_NAME} ledger run…"):
                result["ledger"] = spawn("ledger", pair, args)
            console.print(
                f"{backend}: ledger {result['ledger']['wall_s']:.1f} s, released "
                f"{result['ledger']['released']}, withheld {result['ledger']['withheld']}"
            )
            assert pair.a.process is not None
            server_pid = pair.a.process.pid
            cpu_before = cpu_seconds(server_pid)
            spy_out = Path(args.py_spy) / f"{backend}-a-server.txt" if args.py_spy else None
            with (
                console.status(f"{backend}: {B_NAME} pulls from {A_NAME}…"),
                py_spy(server_pid, spy_out),
            ):
                result["pull"] = spawn("pull", pair, args)
            cpu_after = cpu_seconds(server_pid)
            if cpu_before is not None and cpu_after is not None:
                result["pull"]["a_server_cpu_s"] = round(cpu_after - cpu_before, 3)
            if spy_out is not None and spy_out.exists():
                result["pull"]["a_server_py_spy"] = folded_summary(spy_out)
        result["verify"] = verify(pair, author, len(generated))
        console.print(
            f"{backend}: sync {result['pull']['sync_s']:.1f} s "
            f"(round {result['pull']['round_s']:.1f} s); {B_NAME} holds "
            f"{result['verify']['b_holds_versions']:,} of {len(generated):,} versions"
        )

        # Delay: both loops on.
        if args.writes > 0:
            with serving(pair, interval=args.interval):
                time.sleep(args.warmup)
                assert pair.a.process is not None and pair.b.process is not None
                pids = {A_NAME: pair.a.process.pid, B_NAME: pair.b.process.pid}
                if args.idle > 0:
                    with console.status(f"{backend}: {args.idle:.0f} s with nothing new…"):
                        result["idle"] = idle_window(pair, pids, args.idle)
                    console.print(f"{backend}: idle: {result['idle']['growth_per_minute']}")
                cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
                started = time.perf_counter()
                with console.status(
                    f"{backend}: {args.writes} writes on {A_NAME}, waiting for each on {B_NAME}…"
                ):
                    extra = [
                        "--writes",
                        str(args.writes),
                        "--batch",
                        str(args.batch),
                        "--gap",
                        str(args.gap[0]),
                        str(args.gap[1]),
                        "--poll-ms",
                        str(args.poll_ms),
                        "--timeout",
                        str(args.timeout),
                    ]
                    result["delay"] = spawn("delay", pair, args, extra)
                elapsed = time.perf_counter() - started
                result["delay"]["wall_s"] = round(elapsed, 2)
                result["delay"]["server_cpu_share"] = {
                    name: round(((cpu_seconds(pid) or 0.0) - (cpu[name] or 0.0)) / elapsed, 3)
                    for name, pid in pids.items()
                }
            delay = result["delay"]["delay_s"]
            console.print(
                f"{backend}: delay median {delay.get('median', float('nan')):.2f} s, "
                f"p90 {delay.get('p90', float('nan')):.2f} s over {result['delay']['arrived']} "
                f"arrivals ({result['delay']['lost']} lost)"
            )
        if not args.skip_live:
            result["live"] = live_phase(pair, author, args, console)
            live = result["live"]
            console.print(
                f"{backend}: both loops on, {B_NAME} held another {live['arrived']:,} versions "
                f"{_fmt(live['seconds'], 1)} s after {A_NAME} first released some "
                f"({_fmt(live['objects_per_s'])} objects/s), "
                f"{_fmt(live['from_start_s'], 1)} s after the servers were started"
            )
        add_rates(result)
    finally:
        for name in created:
            drop_database(server_url, name)
            console.print(f"dropped the throwaway database {name}")
    return result


def held_from_a(engine: sa.Engine, author: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(objects)
                .where(
                    (objects.c.created_by_ref == author)
                    & (objects.c.id != author)
                    & (objects.c.source == f"partner:{A_NAME}")
                )
            ).scalar_one()
        )


def live_phase(
    pair: Pair, author: str, args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    """Another ``--count`` versions loaded into A with the servers stopped; then both
    servers start with their loops on and nothing else runs: how long until B holds all?

    Timed from A's first release of them (its first outbox entry's date added) to the last
    one's arrival on B; the time from starting the servers is reported too (it includes
    start-up and the wait for the exchange lease of the previous server process)."""
    fresh = releasable(
        generate_objects(args.count, seed=args.seed + 1), author, datetime.now(UTC).date()
    )
    last = fresh[-1]
    expected = len(fresh)
    a = open_node_parent(pair, A_NAME)
    with console.status(f"loading another {expected:,} objects into {A_NAME}…"):
        started = time.perf_counter()
        report = a.store.put_many(fresh, source="local")
        load_s = time.perf_counter() - started
    a.close()
    del fresh
    engine_a = open_engine(pair.urls[A_NAME] or f"sqlite:///{pair.a.data / 'diapason.sqlite3'}")
    engine_b = open_engine(pair.urls[B_NAME] or f"sqlite:///{pair.b.data / 'diapason.sqlite3'}")
    marker = sa.select(objects.c.seq).where(
        (objects.c.id == last["id"]) & (objects.c.modified == as_store_timestamp(last["modified"]))
    )
    entries = collection_entries
    try:
        with engine_a.connect() as connection:
            entries_before = int(
                connection.execute(
                    sa.select(sa.func.coalesce(sa.func.max(entries.c.seq), 0))
                ).scalar_one()
            )
        before = held_from_a(engine_b, author)
        load_before = os.getloadavg()[0]
        wall_start = time.time()
        done: float | None = None
        with serving(pair, interval=args.interval):
            healthy_s = time.time() - wall_start
            assert pair.a.process is not None and pair.b.process is not None
            pids = {A_NAME: pair.a.process.pid, B_NAME: pair.b.process.pid}
            cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
            with console.status(f"both loops on: waiting for {B_NAME} to hold all…"):
                while time.time() - wall_start < args.live_timeout:
                    with engine_b.connect() as connection:
                        if connection.execute(marker).first() is not None:
                            done = time.time()
                            break
                    time.sleep(0.2)
            cpu_s = {
                name: round((cpu_seconds(pid) or 0.0) - (cpu[name] or 0.0), 2)
                for name, pid in pids.items()
            }
        arrived = held_from_a(engine_b, author) - before
        with engine_a.connect() as connection:
            first_added, last_added = connection.execute(
                sa.select(
                    sa.func.min(entries.c.date_added), sa.func.max(entries.c.date_added)
                ).where(entries.c.seq > entries_before)
            ).one()
    finally:
        engine_a.dispose()
        engine_b.dispose()
    first_release = epoch(first_added) if first_added else None
    replication_s = done - first_release if done and first_release else None
    return {
        "objects": expected,
        "load_s": round(load_s, 2),
        "load_refused": len(report.refused),
        "servers_healthy_s": round(healthy_s, 2),
        "first_release_after_start_s": (
            round(first_release - wall_start, 2) if first_release else None
        ),
        "release_span_s": (
            round(epoch(last_added) - first_release, 2) if first_release and last_added else None
        ),
        "from_start_s": round(done - wall_start, 2) if done else None,
        "seconds": round(replication_s, 2) if replication_s else None,
        "objects_per_s": round(expected / replication_s, 1) if replication_s else None,
        "arrived": arrived,
        "server_cpu_s": cpu_s,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def add_rates(result: dict[str, Any]) -> None:
    count = result["load"]["objects"]
    ledger_s = result["ledger"]["wall_s"]
    pull = result["pull"]
    total = ledger_s + pull["sync_s"]
    result["end_to_end"] = {
        "objects": count,
        "seconds": round(total, 3),
        "objects_per_s": round(count / total, 1),
        "ledger_objects_per_s": round(count / ledger_s, 1),
        "round_objects_per_s": round(count / pull["round_s"], 1),
        "vs_local_put_many": round((count / total) / result["load"]["objects_per_s"], 3),
    }


# -- the parent ---------------------------------------------------------------------------
def code_state() -> dict[str, Any]:
    """The commit measured, and whether ``src/`` had uncommitted changes (and which)."""

    def git(*words: str) -> str:
        completed = subprocess.run(
            ["git", *words], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return completed.stdout

    changed = [line for line in git("status", "--porcelain", "--", "src").splitlines() if line]
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "subject": git("log", "-1", "--format=%s").strip()[:100],
        "src_uncommitted": [line[3:] for line in changed],
        "src_diff_sha1": (
            hashlib.sha1(
                git("diff", "HEAD", "--", "src").encode(), usedforsecurity=False
            ).hexdigest()[:12]
            if changed
            else None
        ),
    }


def _fmt(value: Any, digits: int = 0, suffix: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}{suffix}"
    return str(value)


def print_tables(console: Console, report: dict[str, Any]) -> None:
    results: dict[str, dict[str, Any]] = report["results"]
    count = report["data"]["count"]
    main = Table(title=f"Replication of {count:,} object versions, {A_NAME} → {B_NAME}")
    for heading in (
        "database",
        f"load into {A_NAME} (not counted)",
        f"{A_NAME} ledger s",
        f"{B_NAME} pull round s",
        f"{B_NAME} ledgers s",
        "end to end s",
        "objects/s",
        "x local put_many",
    ):
        main.add_column(heading, justify="left" if heading == "database" else "right")
    for backend, result in results.items():
        if "error" in result:
            main.add_row(backend, *["—"] * 7)
            continue
        pull = result["pull"]
        main.add_row(
            backend,
            f"{result['load']['wall_s']:.1f} s ({result['load']['objects_per_s']:,.0f}/s)",
            _fmt(result["ledger"]["wall_s"], 1),
            _fmt(pull["round_s"], 1),
            _fmt(pull["ledger_before_s"] + pull["ledger_after_s"], 1),
            _fmt(result["end_to_end"]["seconds"], 1),
            _fmt(result["end_to_end"]["objects_per_s"]),
            _fmt(result["end_to_end"]["vs_local_put_many"], 2, "x"),
        )
    console.print(main)
    for backend, result in results.items():
        if "error" in result:
            console.print(f"  {backend}: {result['error']}", highlight=False)
            continue
        pull = result["pull"]
        first = pull["results"][0] if pull["results"] else {}
        idle = pull["idle_results"][0] if pull["idle_results"] else {}
        console.print(
            f"  {backend}: {A_NAME} released {result['ledger']['released']}, withheld "
            f"{result['ledger']['withheld']}; {B_NAME} received {first.get('received', 0):,} "
            f"in {first.get('pages', 0)} pages ({pull['bytes'] / 1e6:,.1f} MB), "
            f"{first.get('refused', 0)} refused; holds {result['verify']['b_holds_versions']:,}"
            f"/{count:,}. {A_NAME}'s server CPU during the pull: "
            f"{_fmt(pull.get('a_server_cpu_s'), 1)} s. A round with nothing new: "
            f"{pull['idle_round_s']:.2f} s, {idle.get('unchanged', 0):,} versions read again "
            f"in {idle.get('pages', 0)} pages.",
            highlight=False,
        )

    live_rows = [(b, r["live"]) for b, r in results.items() if r.get("live")]
    if live_rows:
        live_table = Table(
            title=f"Another {count:,} versions with both loops on (DIAPASON_SYNC_INTERVAL="
            f"{report['interval']}); times from starting the two servers"
        )
        for heading in (
            "database",
            "servers healthy s",
            f"first release by {A_NAME} s",
            f"{A_NAME} releasing s",
            f"first release → all on {B_NAME} s",
            "objects/s",
            "arrived",
            f"CPU s {A_NAME} / {B_NAME} server",
        ):
            live_table.add_column(heading, justify="left" if heading == "database" else "right")
        for backend, live in live_rows:
            cpu = live["server_cpu_s"]
            live_table.add_row(
                backend,
                _fmt(live["servers_healthy_s"], 1),
                _fmt(live["first_release_after_start_s"], 1),
                _fmt(live["release_span_s"], 1),
                _fmt(live["seconds"], 1),
                _fmt(live["objects_per_s"]),
                f"{live['arrived']:,}/{live['objects']:,}",
                f"{cpu[A_NAME]:.1f} / {cpu[B_NAME]:.1f}",
            )
        console.print(live_table)

    for backend, result in results.items():
        if "error" in result:
            continue
        for phase, label, wall_key in (
            ("ledger", f"{A_NAME} ledger run", "wall_s"),
            ("pull", f"{B_NAME} pull round", "round_s"),
        ):
            measured = result[phase]
            wall = measured[wall_key]
            table = Table(title=f"{backend}: where the {label}'s {wall:.1f} s go")
            for heading in ("inside", "calls", "seconds", "share"):
                table.add_column(heading, justify="left" if heading == "inside" else "right")
            inside = 0.0
            for name, entry in measured["functions"].items():
                if name in NETWORK_THREAD:
                    # Beside the writes, on the agent's network thread: not part of the sum.
                    name = f"{name} [dim](network thread, overlaps the writes)[/]"
                else:
                    inside += entry["seconds"]
                table.add_row(
                    name,
                    f"{entry['calls']:,}",
                    f"{entry['seconds']:.2f}",
                    f"{entry['seconds'] / wall:.1%}",
                )
            rest = (
                "rest (reading rows, the loop)"
                if phase == "ledger"
                else "rest (screening, the loop)"
            )
            table.add_row(rest, "", f"{wall - inside:.2f}", f"{(wall - inside) / wall:.1%}")
            table.add_row("[dim]all SQL, inside the above[/]", "", f"{measured['sql_s']:.2f}", "")
            for kind, entry in list(measured["sql"].items())[:6]:
                table.add_row(
                    f"[dim]  {kind}[/]",
                    f"{entry['calls']:,}",
                    f"{entry['seconds']:.2f}",
                    f"{entry['seconds'] / wall:.1%}",
                )
            console.print(table)

    delay_table = Table(
        title=f"Delay from a write on {A_NAME} to its arrival on {B_NAME}, both loops on"
    )
    for heading in (
        "database",
        "writes",
        "arrived",
        "median s",
        "p90 s",
        "max s",
        "wait for A's release (median)",
        "release → on B (median)",
        "server CPU A / B",
    ):
        delay_table.add_column(heading, justify="left" if heading == "database" else "right")
    for backend, result in results.items():
        delay = result.get("delay")
        if not delay:
            continue
        share = delay["server_cpu_share"]
        delay_table.add_row(
            backend,
            f"{delay['writes']}",
            f"{delay['arrived']}/{delay['objects']}",
            _fmt(delay["delay_s"].get("median"), 2),
            _fmt(delay["delay_s"].get("p90"), 2),
            _fmt(delay["delay_s"].get("max"), 2),
            _fmt(delay["write_to_release_s"].get("median"), 2),
            _fmt(delay["release_to_b_s"].get("median"), 2),
            f"{share[A_NAME]:.0%} / {share[B_NAME]:.0%}",
        )
    console.print(delay_table)
    for backend, result in results.items():
        idle = result.get("idle")
        if not idle:
            continue
        share = idle["server_cpu_share"]
        console.print(
            f"  {backend}, {idle['seconds']:.0f} s with both loops on and nothing new: rows "
            f"added per minute {idle['growth_per_minute']}; server CPU {A_NAME} "
            f"{share[A_NAME]:.0%}, {B_NAME} {share[B_NAME]:.0%}",
            highlight=False,
        )

    print_targets(
        console,
        "Targets of issue 4",
        ((goal["goal"], goal["measured"], goal["met"]) for goal in report["targets"]),
    )
    console.print("Anchors (reported by MISP users, not measured here):", highlight=False)
    for reference, text in MISP_ANCHORS:
        console.print(f"  {reference}: {text}", highlight=False)


def targets_met(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for backend, result in results.items():
        if "error" in result:
            continue
        rate = result["end_to_end"]["objects_per_s"]
        rows.append(
            {
                "goal": f"{backend}: ≥ {TARGET_RATE:,.0f} objects/s end to end",
                "measured": f"{rate:,.0f} objects/s",
                "met": rate >= TARGET_RATE,
            }
        )
        live = result.get("live")
        if live and live.get("objects_per_s"):
            rows.append(
                {
                    "goal": f"{backend}: (same, both loops on, overlapping)",
                    "measured": f"{live['objects_per_s']:,.0f} objects/s",
                    "met": live["objects_per_s"] >= TARGET_RATE,
                }
            )
        delay = result.get("delay")
        if delay and delay["delay_s"].get("n"):
            median = delay["delay_s"]["median"]
            rows.append(
                {
                    "goal": f"{backend}: median delay ≤ {TARGET_DELAY_S:.0f} s",
                    "measured": f"{median:.2f} s (p90 {delay['delay_s']['p90']:.2f} s, "
                    f"{delay['lost']} lost)",
                    "met": median <= TARGET_DELAY_S and not delay["lost"],
                }
            )
    return rows


def orchestrate(args: argparse.Namespace) -> int:
    console = Console(width=None if sys.stdout.isatty() else 150)
    command = "python -m benchmarks.sync " + " ".join(args.argv)
    report: dict[str, Any] = {
        "command": command.strip(),
        "machine": machine(),
        "code": code_state(),
        "interval": args.interval,
    }
    report["machine"]["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
    with console.status(f"generating {args.count:,} objects…"):
        started = time.perf_counter()
        generated = generate_objects(args.count, seed=args.seed)
        generate_s = time.perf_counter() - started
    report["data"] = {
        "count": len(generated),
        "distinct_ids": len({obj["id"] for obj in generated}),
        "seed": args.seed,
        "generate_s": round(generate_s, 2),
        "types": type_counts(generated),
    }
    console.print(
        f"generated {len(generated):,} versions of {report['data']['distinct_ids']:,} ids in "
        f"{generate_s:.1f} s (seed {args.seed})"
    )
    backends = [b for b in BACKENDS if not (b == "postgresql" and args.skip_postgres)]
    if args.skip_sqlite:
        backends.remove("sqlite")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="diapason-sync-bench-", dir=args.workdir) as folder:
        for backend in backends:
            console.rule(backend)
            started = time.perf_counter()
            try:
                results[backend] = run_backend(backend, generated, args, Path(folder), console)
            except (RuntimeError, sa.exc.DBAPIError, httpx.HTTPError) as error:
                console.print(f"[red]{backend}: {error}[/]")
                results[backend] = {"backend": backend, "error": str(error)[:500]}
            results[backend]["backend_wall_s"] = round(time.perf_counter() - started, 1)
    report["results"] = results
    report["targets"] = targets_met(results)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    console.print()
    console.print(f"machine: {report['machine']}", highlight=False)
    console.print(f"code: {report['code']}", highlight=False)
    print_tables(console, report)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        console.print(f"results written to {args.json}")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sync",
        description="Exchange sync between two real Diapason nodes on loopback: "
        "end-to-end objects/s and the delay from a write on A to its arrival on B.",
    )
    parser.add_argument("--count", type=int, default=100_000, help="object versions to replicate")
    parser.add_argument(
        "--postgres",
        help=f"PostgreSQL server URL (default: ${POSTGRES_ENV} or {DEFAULT_POSTGRES}); "
        "two throwaway databases are created on it",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--writes", type=int, default=50, help="timed writes for the delay")
    parser.add_argument("--batch", type=int, default=1, help="objects per write (delay)")
    parser.add_argument(
        "--gap",
        type=float,
        nargs=2,
        default=(0.5, 2.5),
        metavar=("MIN", "MAX"),
        help="seconds between two writes, uniformly drawn (delay)",
    )
    parser.add_argument("--interval", type=int, default=1, help="DIAPASON_SYNC_INTERVAL (delay)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the writes")
    parser.add_argument(
        "--idle",
        type=float,
        default=20.0,
        help="seconds with both loops on and nothing new, before the writes (0: skip)",
    )
    parser.add_argument("--poll-ms", type=float, default=20.0, help="polling period on B")
    parser.add_argument("--timeout", type=float, default=60.0, help="a write not seen by then")
    parser.add_argument(
        "--skip-live",
        action="store_true",
        help="skip the replication of another --count versions with both loops on",
    )
    parser.add_argument("--live-timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--json", type=writable_file, help="also write every result to this JSON file"
    )
    parser.add_argument("--workdir", help="folder for the temporary files (default: $TMPDIR)")
    parser.add_argument("--profile", help="cProfile the ledger and pull children into DIR")
    parser.add_argument("--py-spy", help="sample A's server with py-spy during the pull, to DIR")
    parser.add_argument(
        "--page",
        type=int,
        help="experiment: pull pages of this many objects instead of sync_page_size",
    )
    parser.add_argument(
        "--no-receipts",
        action="store_true",
        help="experiment: B posts no receipts to A during the timed pull",
    )
    # Internal: one child.
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--data-b", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())

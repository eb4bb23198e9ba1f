"""The node's request figures in Prometheus's form (``prometheus-client``).

Every request served through the request pipeline (``http/pipeline.py``) is counted by
endpoint, method and status, and its latency observed in a histogram. The endpoint is the
route's template (``/taxii2/{api_root}/collections/{collection_id}/objects/``), never the
path itself: ids in paths would make one series per object and no bound on their number.

One process keeps its figures in memory. ``diapason serve --workers N`` runs N processes:
each then writes its figures in files of one folder (prometheus-client's multiprocess
mode, ``PROMETHEUS_MULTIPROC_DIR``), a folder inside the node's data folder that ``serve``
empties when it starts (``metrics_folder``), and a scrape answered by any worker gives the
sum over all of them. Figures read from the database at scrape time (partners, the audit
trail, OSINT) are added by the web layer as a collector of their own (``web/metrics.py``).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.requests import Request

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The folder of the workers' figures, inside the data folder.
FOLDER_NAME = "metrics"
# Seconds: from a millisecond (a page from memory) to a large TAXII POST.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A request that matched no route (never the case through the pipeline, which serves
# routes only): one label value, whatever the path.
UNMATCHED = "(unmatched)"
MEDIA_TYPE = CONTENT_TYPE_LATEST


def metrics_folder(data_dir: Path) -> Path:
    """Prepare the multiprocess folder of ``serve`` in ``data_dir``: emptied of what a
    previous run left (its workers' files would count twice), made, and named in the
    environment the worker processes inherit. Call before any worker starts."""
    folder = data_dir / FOLDER_NAME
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROCESS_VARIABLE] = str(folder.resolve())
    return folder


def multiprocess_folder() -> Path | None:
    """The multiprocess folder this process was started with (``serve``), or None."""
    folder = os.environ.get(MULTIPROCESS_VARIABLE)
    return Path(folder) if folder else None


def _use_values(folder: Path | None) -> None:
    """Make the metrics built next keep their values in ``folder`` (or in memory).

    prometheus-client chooses how values are kept when it is first imported, from the
    environment; ``serve`` names the folder before its workers start, but a process that
    imported the library earlier (a test, the CLI) is set right here, from the same
    environment variable the library reads."""
    multiprocess = getattr(values.ValueClass, "_multiprocess", False)
    if multiprocess != (folder is not None):
        if folder is not None:
            os.environ[MULTIPROCESS_VARIABLE] = str(folder)
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class EndpointFigures:
    """One endpoint's requests: how many, how many refused as the client's mistake (4xx)
    or failed (5xx), and their mean latency in seconds."""

    endpoint: str
    requests: int
    client_errors: int
    server_errors: int
    mean_seconds: float


class RequestMetrics:
    """The request figures of one application, and the registry a scrape reads.

    ``folder``: the multiprocess folder (several workers), or None (figures kept in this
    process). ``add`` registers a collector read at scrape time."""

    def __init__(self, folder: Path | None = None) -> None:
        _use_values(folder)
        self.folder = folder
        self.registry = CollectorRegistry(auto_describe=True)
        # In multiprocess mode the metrics live in files, read back by the collector; they
        # are not registered themselves (each worker would count only its own).
        own = None if folder is not None else self.registry
        self.requests = Counter(
            "diapason_http_requests",
            "HTTP requests answered, by endpoint (route template), method and status.",
            ("endpoint", "method", "status"),
            registry=own,
        )
        self.latency = Histogram(
            "diapason_http_request_duration_seconds",
            "Time from admission to the answer, by endpoint (route template) and method.",
            ("endpoint", "method"),
            buckets=BUCKETS,
            registry=own,
        )
        self.workers = Gauge(
            "diapason_http_workers",
            "Server processes answering (the workers of serve --workers N).",
            registry=own,
            multiprocess_mode="livesum",
        )
        self.workers.set(1)
        self.templates: dict[object, str] = {}
        if folder is not None:
            MultiProcessCollector(self.registry, path=str(folder))  # type: ignore[no-untyped-call]
        # What a scrape reads: the request figures and the collectors added.
        self.scrape = CollectorRegistry()
        self.scrape.register(self.registry)

    def add(self, collector: Collector) -> None:
        self.scrape.register(collector)

    def observe(self, request: Request, status: int) -> None:
        """Count one answered request and observe its latency (since it reached the
        pipeline: ``request.state.started``)."""
        endpoint = self._template(request)
        method = request.method if request.method in KNOWN_METHODS else "other"
        self.requests.labels(endpoint, method, str(status)).inc()
        started = getattr(request.state, "started", None)
        if started is not None:
            self.latency.labels(endpoint, method).observe(time.perf_counter() - started)

    def _template(self, request: Request) -> str:
        """The template of the route that matched: Starlette names it in the scope
        (``route``); before it did, the route whose endpoint is the scope's ``endpoint``."""
        path = getattr(request.scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        endpoint = request.scope.get("endpoint")
        if endpoint not in self.templates:
            routes = getattr(request.scope.get("app"), "routes", [])
            found = [route.path for route in routes if getattr(route, "endpoint", None) is endpoint]
            self.templates[endpoint] = found[0] if found else UNMATCHED
        return self.templates[endpoint]

    def exposition(self) -> bytes:
        """Every figure in Prometheus's text format (summed over workers)."""
        return generate_latest(self.scrape)

    def endpoints(self) -> list[EndpointFigures]:
        """The request figures of each endpoint (summed over workers), busiest first."""
        counts: dict[str, list[int]] = {}
        seconds: dict[str, list[float]] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                endpoint = sample.labels.get("endpoint")
                if endpoint is None:
                    continue
                if sample.name == "diapason_http_requests_total":
                    row = counts.setdefault(endpoint, [0, 0, 0])
                    status = sample.labels["status"]
                    row[0] += int(sample.value)
                    row[1] += int(sample.value) if status.startswith("4") else 0
                    row[2] += int(sample.value) if status.startswith("5") else 0
                elif sample.name == "diapason_http_request_duration_seconds_sum":
                    seconds.setdefault(endpoint, [0.0])[0] += sample.value
        found = [
            EndpointFigures(
                endpoint, total, client, server, seconds.get(endpoint, [0.0])[0] / total
            )
            for endpoint, (total, client, server) in counts.items()
            if total
        ]
        return sorted(found, key=lambda row: (-row.requests, row.endpoint))

    def close(self) -> None:
        """This process stops answering: its live gauges leave the sum (its counters stay,
        as counters must)."""
        if self.folder is not None:
            mark_process_dead(os.getpid(), str(self.folder))  # type: ignore[no-untyped-call]


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe(request: Request, status: int) -> None:
    """Record a request in its application's figures, if it keeps any
    (``app.state.metrics``, a ``RequestMetrics``)."""
    app = request.scope.get("app")
    metrics = getattr(getattr(app, "state", None), "metrics", None)
    if isinstance(metrics, RequestMetrics):
        metrics.observe(request, status)

"""``/metrics``: the node's figures for Prometheus, and the same figures for a person.

What the database holds is read at scrape time, through the state layer and the read
model (``Operations.of``): per partner the sync lag, the versions released and those it
has not acknowledged, failed sync attempts in a row, versions its trust rules refused;
the audit entries written; the OSINT articles ingested. The request figures (by endpoint,
status, with latency histograms) are the pipeline's (``http/metrics.py``). The dashboard's
Operations section shows the same ``Operations``.

``/metrics`` takes the credentials TAXII and the JSON API take (a Bearer token, HTTP
Basic) of an account whose role has ``metrics:read`` (``monitor``, ``admin``): no
credentials is a 401, another role a 403, both audited as ``access_denied``. A scrape
itself is not audited: it discloses counts, no object, and Prometheus scrapes every few
seconds (the trail would drown in them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.domain.roles import has_permission
from diapason.domain.timestamps import parse_timestamp
from diapason.http.metrics import MEDIA_TYPE, RequestMetrics
from diapason.http.pipeline import Credentials, Pipeline, Refused, Trail, json_error
from diapason.node import Node

PATH = "/metrics"
PERMISSION = "metrics:read"


@dataclass(frozen=True)
class PartnerFigures:
    """One partner's exchange, as the operator watches it."""

    name: str
    # Seconds since the last successful sync; None: never synchronised.
    lag: float | None
    last_sync_at: str | None
    released: int
    unacknowledged: int
    failures: int
    last_error: str | None
    refused: int


@dataclass(frozen=True)
class Operations:
    """The figures of the node read from its database at one moment."""

    at: datetime
    partners: tuple[PartnerFigures, ...]
    audit_entries: int
    osint_articles: int

    @classmethod
    def of(cls, node: Node, now: datetime) -> Operations:
        partners = []
        for partner in node.partners.all():
            lag = None
            if partner.last_sync_at is not None:
                lag = max(0.0, (now - parse_timestamp(partner.last_sync_at)).total_seconds())
            partners.append(
                PartnerFigures(
                    name=partner.name,
                    lag=lag,
                    last_sync_at=partner.last_sync_at,
                    released=node.read.entries_in(partner.outbox),
                    unacknowledged=node.deliveries.unacknowledged(partner.name),
                    failures=partner.failures,
                    last_error=partner.last_error,
                    refused=partner.refused,
                )
            )
        return cls(now, tuple(partners), node.read.audit_entries(), node.read.osint_articles())


class NodeCollector(Collector):
    """The database's figures, read at each scrape (``Operations.of``)."""

    def __init__(self, node: Node, clock: Callable[[], datetime]) -> None:
        self.node = node
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        figures = Operations.of(self.node, self.clock())
        partner = ["partner"]
        lag = GaugeMetricFamily(
            "diapason_partner_sync_lag_seconds",
            "Seconds since the last successful sync with the partner (absent: never).",
            labels=partner,
        )
        released = GaugeMetricFamily(
            "diapason_partner_released_versions",
            "Object versions released to the partner (its outbox).",
            labels=partner,
        )
        unacknowledged = GaugeMetricFamily(
            "diapason_partner_unacknowledged_versions",
            "Versions released to the partner that it has not acknowledged storing.",
            labels=partner,
        )
        failures = GaugeMetricFamily(
            "diapason_partner_sync_failures",
            "Failed sync attempts with the partner in a row (0 after a success).",
            labels=partner,
        )
        refused = CounterMetricFamily(
            "diapason_partner_refused_versions",
            "Versions from the partner that the trust rules refused.",
            labels=partner,
        )
        for row in figures.partners:
            if row.lag is not None:
                lag.add_metric([row.name], row.lag)
            released.add_metric([row.name], row.released)
            unacknowledged.add_metric([row.name], row.unacknowledged)
            failures.add_metric([row.name], row.failures)
            refused.add_metric([row.name], row.refused)
        yield from (lag, released, unacknowledged, failures, refused)
        yield CounterMetricFamily(
            "diapason_audit_entries",
            "Entries written in the audit trail.",
            value=figures.audit_entries,
        )
        yield CounterMetricFamily(
            "diapason_osint_articles",
            "Articles ingested from open sources (their reports).",
            value=figures.osint_articles,
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class MetricsApi:
    """``GET /metrics`` through the one request pipeline, refusals answered in JSON."""

    def __init__(self, node: Node, metrics: RequestMetrics) -> None:
        self.node = node
        self.metrics = metrics
        self.trail = Trail(node.audit, "api", denial_status=True)
        self.credentials = Credentials(node.authenticator, self.trail)
        self.pipeline = Pipeline[User](self._admit, json_error, self._refused)

    def routes(self) -> list[Route]:
        return [Route(PATH, self.pipeline.endpoint(self._scrape), methods=["GET"])]

    def _refused(self, request: Request, caller: User | None, refused: Refused) -> None:
        self.trail.refused(request, caller, refused)

    def _admit(self, request: Request) -> User:
        user = self.credentials.user(request)
        if not has_permission(user.role, PERMISSION):
            raise self.trail.denied(
                request,
                user,
                f"role {user.role} lacks {PERMISSION}",
                Refused(403, f"reading the node's metrics needs the {PERMISSION} permission"),
            )
        return user

    def _scrape(self, request: Request, caller: User) -> Response:
        return Response(self.metrics.exposition(), media_type=MEDIA_TYPE)

"""``/metrics``: a real node served on loopback, its ledger, receipts and partners written
through the real services, the exposition parsed with prometheus_client's own parser and
its values compared with what was written; who may scrape (401, 403, audited); request
figures by route template; the dashboard's Operations section for a person."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.domain.timestamps import parse_timestamp, stix_timestamp, store_timestamp
from diapason.exchange.collections import DEFAULT_API_ROOT
from diapason.http.metrics import RequestMetrics
from diapason.http.pipeline import Pipeline, Refused, json_error
from diapason.node import Node
from tests.builders import sdo
from tests.clock import NOW, Clock
from tests.web.objects import actor
from tests.web.site import PASSWORD, WebClient, make_node, put, serve, text_of

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{url}/metrics", headers=headers, timeout=30)


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def requests_of(found: Samples, endpoint: str, method: str = "GET") -> dict[str, float]:
    """The request counts of one endpoint by status."""
    return {
        dict(labels)["status"]: count
        for (name, labels), count in found.items()
        if name == "diapason_http_requests_total"
        and dict(labels).get("endpoint") == endpoint
        and dict(labels).get("method") == method
    }


@dataclass
class Figures:
    node: Node
    url: str
    tokens: dict[str, str]
    released: int
    acknowledged: int


def receipt(acknowledged: list[dict[str, object]]) -> dict[str, object]:
    """An x-diapason-receipt as paris's sync agent sends one."""
    return {
        "type": "x-diapason-receipt",
        "id": "x-diapason-receipt--6f7e1c1e-0000-4000-8000-000000000001",
        "received": [
            {
                "id": obj["id"],
                "version": obj["modified"],
                "stored": stix_timestamp(NOW),
            }
            for obj in acknowledged
        ],
    }


@pytest.fixture
def figures(tmp_path: Path, database_url: str) -> Iterator[Figures]:
    """A node with a partner paris: three versions released to it by the ledger, two
    acknowledged by its receipt, its last sync 90 s before the clock, three failures
    since, one OSINT article; tokens for an admin, a monitor and a viewer. The clock
    stays at ``NOW``."""
    node = make_node(tmp_path / "node", database_url)
    node.accounts.add_user("paris", "partner")
    node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris", account="paris")
    shared = [actor(f"Réseau {n}", tlp="green", created_by_ref=node.identity_id) for n in range(3)]
    put(node, *shared)
    put(node, actor("Gardé ici", tlp="red", created_by_ref=node.identity_id))
    run = node.ledger.run("tests")
    assert node.deliveries.record("paris", [receipt(shared[:2])]) == 2
    last = NOW - timedelta(seconds=90)
    node.partners.update(
        "paris", last_sync_at=store_timestamp(last), failures=3, last_error="connection refused"
    )
    put(node, sdo("report", name="Article de presse"), source="osint")
    tokens = {"admin": node.accounts.create_token("admin", "scrapes").secret}
    for role in ("monitor", "viewer"):
        node.accounts.add_user(role, role)
        node.accounts.set_password(role, PASSWORD)
        tokens[role] = node.accounts.create_token(role, "scrapes").secret
    with serve(node, clock=Clock(NOW)) as url:
        yield Figures(node, url, tokens, run.released["paris"], 2)


def test_metrics_gives_the_figures_written_through_the_services(figures: Figures) -> None:
    answer = scrape(figures.url, figures.tokens["monitor"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    found = samples(answer.text)
    # The ledger released the three green versions (and what they need, their identity)
    # and withheld the red one; paris acknowledged two.
    assert figures.released >= 3
    assert value(found, "diapason_partner_released_versions", partner="paris") == (figures.released)
    assert value(found, "diapason_partner_unacknowledged_versions", partner="paris") == (
        figures.released - figures.acknowledged
    )
    assert value(found, "diapason_partner_sync_lag_seconds", partner="paris") == 90.0
    assert value(found, "diapason_partner_sync_failures", partner="paris") == 3
    assert value(found, "diapason_partner_refused_versions_total", partner="paris") == 0
    assert value(found, "diapason_osint_articles_total") == 1
    head = figures.node.audit.head()
    assert head is not None
    assert value(found, "diapason_audit_entries_total") == head.seq
    assert value(found, "diapason_http_workers") == 1
    # A partner never synchronised has no lag (not a lag of zero).
    figures.node.partners.add("madrid", "http://127.0.0.1:9", "dia_token-of-madrid")
    found = samples(scrape(figures.url, figures.tokens["admin"]).text)
    assert ("diapason_partner_sync_lag_seconds", (("partner", "madrid"),)) not in found
    assert value(found, "diapason_partner_released_versions", partner="madrid") == 0
    assert value(found, "diapason_partner_sync_failures", partner="madrid") == 0


def test_only_a_role_with_metrics_read_scrapes_and_refusals_are_audited(
    figures: Figures,
) -> None:
    audit = figures.node.audit
    before = audit.head()
    assert before is not None
    anonymous = scrape(figures.url, None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert anonymous.json() == {
        "error": "valid credentials are required (HTTP Basic or a Bearer token)"
    }
    assert scrape(figures.url, "dia_not-a-token").status_code == 401
    viewer = scrape(figures.url, figures.tokens["viewer"])
    assert viewer.status_code == 403
    assert viewer.json() == {
        "error": "reading the node's metrics needs the metrics:read permission"
    }
    assert scrape(figures.url, figures.tokens["admin"]).status_code == 200
    assert scrape(figures.url, figures.tokens["monitor"]).status_code == 200
    denied = audit.entries(after=before.seq, action="access_denied")
    assert [(entry.actor.split("@")[0], entry.details["status"]) for entry in denied] == [
        ("anonymous", 401),
        ("anonymous", 401),
        ("viewer", 403),
    ]
    assert all(entry.details["api"] == "/metrics" for entry in denied)
    assert denied[-1].details["why"] == "role viewer lacks metrics:read"
    # A scrape discloses counts, no object: it is not audited, refusals only.
    head = audit.head()
    assert head is not None and head.seq == before.seq + 3
    # The refusals are counted too, by status (a scrape is counted once answered: this
    # one is not in its own figures).
    found = samples(scrape(figures.url, figures.tokens["monitor"]).text)
    assert requests_of(found, "/metrics") == {"401": 2, "403": 1, "200": 2}


def test_requests_are_counted_by_route_template_never_by_path(figures: Figures) -> None:
    node, admin = figures.node, figures.tokens["admin"]
    paris = node.partners.get("paris")
    assert paris is not None
    headers = {"Authorization": f"Bearer {admin}", "Accept": "application/taxii+json;version=2.1"}
    with httpx.Client(base_url=figures.url, headers=headers, timeout=30) as client:
        for _ in range(4):
            assert client.get("/taxii2/").status_code == 200
        collection = f"/taxii2/{DEFAULT_API_ROOT}/collections/{paris.outbox}/"
        assert client.get(collection).status_code == 200
        assert client.get(f"{collection}objects/").status_code == 200
        missing = f"/taxii2/{DEFAULT_API_ROOT}/collections/00000000-0000-4000-8000-000000000000/"
        assert client.get(missing).status_code == 404
    found = samples(scrape(figures.url, figures.tokens["monitor"]).text)
    assert requests_of(found, "/taxii2/") == {"200": 4}
    template = "/taxii2/{api_root}/collections/{collection_id}/"
    assert requests_of(found, template) == {"200": 1, "404": 1}
    assert requests_of(found, template + "objects/") == {"200": 1}
    assert (
        value(
            found, "diapason_http_request_duration_seconds_count", endpoint="/taxii2/", method="GET"
        )
        == 4
    )
    assert (
        value(
            found,
            "diapason_http_request_duration_seconds_bucket",
            endpoint="/taxii2/",
            method="GET",
            le="+Inf",
        )
        == 4
    )
    assert (
        value(
            found, "diapason_http_request_duration_seconds_sum", endpoint="/taxii2/", method="GET"
        )
        > 0
    )
    # No label carries an id: the endpoints are the routes' templates.
    endpoints = {dict(labels).get("endpoint") for _, labels in found} - {None}
    assert not any(paris.outbox in str(endpoint) for endpoint in endpoints)


def test_the_dashboard_shows_the_operations_to_a_monitor(figures: Figures) -> None:
    client = WebClient.at(figures.url, **{"Accept-Language": "en"})
    try:
        assert client.login("monitor").status_code == 303
        page = client.get("/")
        assert page.status_code == 200
        text = " ".join(text_of(page.text).split())
        assert "Operations" in text
        assert "Audit entries written:" in text
        assert "OSINT articles ingested: 1" in text
        released, pending = figures.released, figures.released - figures.acknowledged
        assert f"paris 1 min 30 s {released} {pending} 3 connection refused 0" in text
        assert 'aria-labelledby="audit-hours-title audit-hours-desc"' in page.text
        assert "Audit entries per hour" in page.text
        # A monitor reads no object, no joint record, no partner's settings: the
        # dashboard's other sections are left out, not shown empty.
        assert "Latest received from" not in text
        for empty in ("No alerts", "No overdue actions", "No open requests", "no partners yet"):
            assert empty not in text, empty
        french = WebClient.at(figures.url, **{"Accept-Language": "fr"})
        try:
            assert french.login("monitor").status_code == 303
            texte = " ".join(text_of(french.get("/").text).split())
            assert "Exploitation" in texte
            assert "Entrées d'audit écrites" in texte
            assert "Entrées d'audit par heure" in texte
        finally:
            french.close()
    finally:
        client.close()
    viewer = WebClient.at(figures.url)
    try:
        assert viewer.login("viewer").status_code == 303
        page = viewer.get("/")
        assert page.status_code == 200
        assert "operations-h" not in page.text
    finally:
        viewer.close()


def test_audit_entries_per_hour_match_the_trail(tmp_path: Path, database_url: str) -> None:
    """The read model's hourly counts are those of the trail's own entries."""
    node = make_node(tmp_path / "node", database_url)
    for n in range(5):
        node.audit.append("tests", "import", details={"n": n})
    entries = node.audit.entries(limit=100_000)
    last = parse_timestamp(entries[-1].at)
    hours = node.read.audit_per_hour(last, 48)
    assert len(hours) == 48
    assert hours[-1][0] == last.replace(minute=0, second=0, microsecond=0)
    expected: dict[datetime, int] = {}
    for entry in entries:
        hour = parse_timestamp(entry.at).replace(minute=0, second=0, microsecond=0)
        expected[hour] = expected.get(hour, 0) + 1
    assert dict(hours) == {hour: expected.get(hour, 0) for hour, _ in hours}
    assert sum(count for _, count in hours) == len(entries)


def test_the_pipeline_counts_failures_and_refusals_by_template() -> None:
    """A handler that fails is counted as the 500 Starlette answers; a refusal by its
    status; an application without figures counts nothing and still answers."""

    def handler(request: Request, caller: str) -> Response:
        if request.path_params["item_id"] == "boom":
            raise RuntimeError("a bug")
        if request.path_params["item_id"] == "gone":
            raise Refused(410, "gone")
        return Response("ok")

    pipeline = Pipeline[str](lambda request: "caller", json_error)
    routes = [Route("/items/{item_id}", pipeline.endpoint(handler))]
    counted = Starlette(routes=routes)
    counted.state.metrics = RequestMetrics()
    plain = Starlette(routes=routes)

    async def requests() -> None:
        transport = httpx.ASGITransport(counted, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            for path, status in (("/items/a", 200), ("/items/b", 200), ("/items/gone", 410)):
                assert (await client.get(path)).status_code == status
            assert (await client.get("/items/boom")).status_code == 500
        transport = httpx.ASGITransport(plain)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
            assert (await client.get("/items/a")).text == "ok"

    # In a thread of its own: a browser test before it on the same worker may leave
    # Playwright's event loop marked as running in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, requests).result()
    found = samples(counted.state.metrics.exposition().decode())
    assert requests_of(found, "/items/{item_id}") == {"200": 2, "410": 1, "500": 1}
    [row] = counted.state.metrics.endpoints()
    assert (row.endpoint, row.requests, row.client_errors, row.server_errors) == (
        "/items/{item_id}",
        4,
        1,
        1,
    )
    assert row.mean_seconds > 0


def test_the_template_is_found_without_the_route_in_the_scope() -> None:
    """Starlette releases that do not name the matched route in the scope: the template
    is that of the route whose endpoint answered."""

    async def answer(request: Request) -> Response:
        return Response("ok")

    app = Starlette(routes=[Route("/things/{thing_id}", answer)])
    metrics = RequestMetrics()
    scope = {"type": "http", "method": "GET", "path": "/things/42", "headers": []}
    request = Request({**scope, "app": app, "endpoint": answer, "state": {"started": 0.0}})
    metrics.observe(request, 200)
    stranger = Request({**scope, "app": app, "endpoint": object(), "state": {}})
    metrics.observe(stranger, 404)
    found = samples(metrics.exposition().decode())
    assert requests_of(found, "/things/{thing_id}") == {"200": 1}
    assert requests_of(found, "(unmatched)") == {"404": 1}

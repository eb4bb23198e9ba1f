"""``/metrics`` after a real sync: rabat and paris, each a ``diapason serve`` process on
loopback exchanging every second. What rabat's scrape says it released to paris is what
paris reads over TAXII, none of it left unacknowledged once paris's receipt is back; paris
says when it last pulled from rabat, without failures. Rabat's dashboard shows the same in
Chromium."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from diapason.exchange.collections import DEFAULT_API_ROOT
from tests.exchange.nodes import FedNode, read_collection, wait_for
from tests.web.browser import VIEWPORT, screenshot_path
from tests.web.objects import actor
from tests.web.test_metrics import Samples, samples, value
from tests.web.test_two_nodes import sign_in

pytestmark = pytest.mark.slow


def scrape(node: FedNode) -> Samples:
    answer = httpx.get(
        f"{node.url}/metrics",
        headers={"Authorization": f"Bearer {node.admin_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return samples(answer.text)


def test_figures_after_a_real_sync(chromium: Browser, two_nodes: tuple[FedNode, FedNode]) -> None:
    rabat, paris = two_nodes
    rabat.put([actor(f"Réseau {n}", tlp="green", created_by_ref=rabat.identity) for n in range(3)])
    rabat.start(sync_interval=1)
    paris.start(sync_interval=1)

    def settled() -> bool:
        found = scrape(rabat)
        released = value(found, "diapason_partner_released_versions", partner="paris")
        pending = value(found, "diapason_partner_unacknowledged_versions", partner="paris")
        # Rabat's first pulls may fail while paris starts: it backs off, then succeeds.
        failures = value(found, "diapason_partner_sync_failures", partner="paris")
        return released >= 3 and pending == 0 and failures == 0

    wait_for(settled, 120, "paris acknowledged every version rabat released to it", 0.5)
    on_rabat = scrape(rabat)
    to_paris = rabat.node.partners.get("paris")
    token = paris.node.partners.get("rabat")
    assert to_paris is not None and token is not None
    outbox = f"{rabat.url}/taxii2/{DEFAULT_API_ROOT}/collections/{to_paris.outbox}/"
    seen_by_paris = read_collection(outbox, token.token.reveal())
    assert value(on_rabat, "diapason_partner_released_versions", partner="paris") == len(
        seen_by_paris
    )
    assert value(on_rabat, "diapason_partner_sync_failures", partner="paris") == 0
    on_paris = scrape(paris)
    lag = value(on_paris, "diapason_partner_sync_lag_seconds", partner="rabat")
    assert 0 <= lag < 60
    assert value(on_paris, "diapason_partner_sync_failures", partner="rabat") == 0
    # Paris's pulls reached rabat's TAXII server: counted there by route template.
    pulls = [
        count
        for (name, labels), count in on_rabat.items()
        if name == "diapason_http_requests_total"
        and dict(labels)["endpoint"] == "/taxii2/{api_root}/collections/{collection_id}/objects/"
    ]
    assert sum(pulls) >= 1

    context = chromium.new_context(viewport=VIEWPORT, locale="fr-FR")
    try:
        page = context.new_page()
        sign_in(page, rabat.url)
        operations = page.locator("section", has=page.get_by_role("heading", name="Exploitation"))
        expect(operations).to_be_visible()
        row = operations.get_by_role("row", name="paris")
        released = int(value(on_rabat, "diapason_partner_released_versions", partner="paris"))
        expect(row.get_by_role("cell").nth(1)).to_have_text(str(released))
        expect(row.get_by_role("cell").nth(2)).to_have_text("0")
        chart = operations.get_by_role("img", name="Entrées d'audit par heure")
        expect(chart).to_be_visible()
        page.screenshot(path=screenshot_path("rabat-operations"), full_page=True)
    finally:
        context.close()

"""UCDP history on the anticipation page and in the demo: a node that has imported the
shipped file shows the deaths series with its forecast first, and UCDP's attribution in
English and French; the demo's nodes hold that history from the start."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from diapason import demo
from diapason.anticipate.events import store_series
from diapason.anticipate.ucdp import UCDP_IDENTITY_ID, import_ucdp, read_ucdp, shipped_path
from diapason.node import Node
from tests.taxii.servers import free_port
from tests.web import conftest as web
from tests.web.site import WebClient, text_of
from tests.web.test_anticipate_pages import store_events

# The served node and a signed-in client, from the web interface's tests.
site = web.site
admin = web.admin


def import_shipped(node: Node) -> None:
    import_ucdp(node.store, node.audit, read_ucdp(shipped_path()), actor="tests")


@pytest.mark.slow
def test_the_page_opens_on_the_deaths_with_their_attribution(
    site: web.Site, admin: WebClient
) -> None:
    page = admin.get("/anticipation")
    assert page.status_code == 200
    assert 'id="ucdp-attribution"' not in page.text  # no UCDP data yet
    import_shipped(site.node)
    page = admin.get("/anticipation")
    assert page.status_code == 200, text_of(page.text)[:500]
    html = page.text
    assert "<title>Sahel-Saharan band · deaths (UCDP) · per month</title>" in html  # first
    assert '<option value="deaths" selected>' in html
    forecast_rows = html.split("<caption>Forecast</caption>")[1].split("</table>")[0]
    assert forecast_rows.count("<tr>") == 7  # header and six months
    assert "June 2024" in forecast_rows
    assert "1106 events read from the knowledge base" in html
    text = text_of(html)
    assert "UCDP data: Uppsala Conflict Data Program, licensed CC BY 4.0." in text
    assert "Sundberg, Ralph and Erik Melander (2013)" in text
    french = site.client(**{"Accept-Language": "fr"})
    assert french.login().status_code == 303
    text = text_of(french.get("/anticipation", place="ML").text)
    assert "Données UCDP\u00a0: Uppsala Conflict Data Program, sous licence CC BY 4.0." in text
    assert "Sundberg, Ralph et Erik Melander (2013)" in text


@pytest.mark.slow
def test_events_still_come_first_once_the_node_has_some(site: web.Site, admin: WebClient) -> None:
    import_shipped(site.node)
    store_events(site.node)
    html = admin.get("/anticipation", place="ML").text
    assert "<title>Mali · all events · per month</title>" in html
    html = admin.get("/anticipation", place="ML", category="deaths").text
    assert "<title>Mali · deaths (UCDP) · per month</title>" in html


def test_the_demo_nodes_hold_the_history(tmp_path: Path) -> None:
    rabat, paris = demo.set_up(tmp_path / "demo", (free_port(), free_port()), lambda _: None)
    try:
        demo.load(rabat, paris)
        demo.load(paris, rabat)
        mali = 0
        with shipped_path().open(encoding="utf-8") as handle:
            mali = sum(
                int(row["best_deaths"])
                for row in csv.DictReader(handle)
                if row["country"] == "Mali"
            )
        for demo_node in (rabat, paris):
            store = demo_node.node.store
            assert store.get(UCDP_IDENTITY_ID) is not None
            series = store_series(store, ["ML"], ["deaths"]).series[0]
            assert series.counts.sum() == mali == 14832
    finally:
        rabat.node.close()
        paris.node.close()

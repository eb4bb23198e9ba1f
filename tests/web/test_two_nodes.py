"""Two real nodes over loopback: an object created on ``rabat`` is seen on ``paris`` in the
browser, with where it came from; rabat's page of the object shows it released to paris and
acknowledged (each node a ``diapason serve`` process). A request for information made on
rabat is answered on paris, and rabat sees the answer (both nodes served in this process,
the clock of their joint mechanism starting at the fixed ``tests.clock.NOW``)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.clock import RunningClock, day
from tests.exchange.nodes import FedNode, wait_for
from tests.web.browser import VIEWPORT, screenshot_path
from tests.web.objects import actor
from tests.web.site import PASSWORD, serve
from tests.web.test_browser import sign_in as sign_in_en

pytestmark = pytest.mark.slow


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Nom d'utilisateur").fill("admin")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_an_object_created_on_rabat_is_seen_on_paris(
    chromium: Browser, two_nodes: tuple[FedNode, FedNode]
) -> None:
    rabat, paris = two_nodes
    shared = actor("Réseau transsaharien", tlp="green", created_by_ref=rabat.identity)
    rabat.put([shared])
    rabat.start(sync_interval=1)
    paris.start(sync_interval=1)
    # One browser, one host, two ports: each node's session cookie carries its own name.
    context = chromium.new_context(viewport=VIEWPORT, locale="fr-FR")
    try:
        page = context.new_page()
        sign_in(page, paris.url)
        sign_in(page, rabat.url)

        def listed_on_paris() -> bool:
            page.goto(f"{paris.url}/objects?q=transsaharien")
            return page.get_by_role("link", name="Réseau transsaharien").count() == 1

        wait_for(listed_on_paris, 60, "the object created on rabat listed on paris")
        page.get_by_role("link", name="Réseau transsaharien").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Réseau transsaharien")
        expect(page.locator("dl")).to_contain_text("partenaire rabat")
        expect(page.locator(".banner")).to_contain_text("TLP:GREEN")
        page.screenshot(path=screenshot_path("paris-object-from-rabat"), full_page=True)
        page.goto(f"{paris.url}/")
        expect(page.get_by_text("Derniers reçus de rabat")).to_be_visible()
        expect(page.get_by_role("link", name="Réseau transsaharien")).to_be_visible()
        page.screenshot(path=screenshot_path("paris-dashboard"), full_page=True)

        def acknowledged_on_rabat() -> bool:
            page.goto(f"{rabat.url}/objects/{shared['id']}")
            return page.get_by_text(re.compile("Livré")).count() > 0

        # Still signed in on rabat: paris's sign-in did not replace rabat's session.
        wait_for(acknowledged_on_rabat, 60, "paris's receipt shown on rabat")
        disclosures = page.locator(
            "section", has=page.get_by_role("heading", name="Historique des transmissions")
        )
        expect(disclosures).to_contain_text("paris")
        page.screenshot(path=screenshot_path("rabat-object-disclosed"), full_page=True)
    finally:
        context.close()


def test_a_request_for_information_answered_between_two_nodes(
    chromium: Browser, two_nodes: tuple[FedNode, FedNode]
) -> None:
    """Rabat asks paris in the browser; paris's analyst answers in the browser; rabat sees
    the answer, and its statistics count it as answered within the deadline. Both nodes are
    served in this process (exchanging every second), the clock of their joint mechanism
    starting at the fixed ``tests.clock.NOW``."""
    rabat, paris = two_nodes
    clock = RunningClock()  # one for both, as on one host
    with (
        serve(rabat.node, clock=clock, port=rabat.port, sync_interval=1),
        serve(paris.node, clock=clock, port=paris.port, sync_interval=1),
    ):
        ask_and_answer(chromium, rabat, paris, day(10))


def ask_and_answer(chromium: Browser, rabat: FedNode, paris: FedNode, deadline: str) -> None:
    """Rabat's request, paris's answer, and what rabat then sees, in the browser."""
    context = chromium.new_context(viewport=VIEWPORT, locale="en-GB")
    try:
        page = context.new_page()
        for url in (rabat.url, paris.url):
            sign_in_en(page, url)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.goto(f"{rabat.url}/coordination/requests")
        page.get_by_label("Title").fill("Boats seized in March")
        page.get_by_label("Question").fill("How many boats were seized off Nador in March?")
        page.get_by_label("Addressed to").select_option("paris")
        page.get_by_label("Deadline (YYYY-MM-DD)").fill(deadline)
        page.get_by_label("Priority").select_option("high")
        page.get_by_role("button", name="Send the request").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Boats seized in March")

        def received_on_paris() -> bool:
            page.goto(f"{paris.url}/coordination/requests")
            return page.get_by_role("link", name="Boats seized in March").count() == 1

        wait_for(received_on_paris, 60, "rabat's request listed on paris")
        page.get_by_role("link", name="Boats seized in March").click()
        page.get_by_label("Text of the answer").fill("Four boats, two of them inflatable.")
        page.get_by_role("button", name="Send the answer").click()
        expect(page.get_by_role("list", name="Answers")).to_contain_text("Four boats")
        page.screenshot(path=screenshot_path("paris-request-answered"), full_page=True)

        def answered_on_rabat() -> bool:
            page.goto(f"{rabat.url}/coordination/requests")
            link = page.get_by_role("link", name="Boats seized in March")
            return link.count() == 1 and page.get_by_role("cell", name="answered").count() == 1

        wait_for(answered_on_rabat, 60, "paris's answer shown on rabat")
        statistics = page.locator(
            "section", has=page.get_by_role("heading", name="Answers per partner")
        )
        expect(statistics.get_by_role("row", name=re.compile("paris"))).to_contain_text("100 %")
        page.get_by_role("link", name="Boats seized in March").click()
        expect(page.get_by_role("list", name="Answers")).to_contain_text(
            "Four boats, two of them inflatable."
        )
        page.screenshot(path=screenshot_path("rabat-request-answered"), full_page=True)
    finally:
        context.close()

"""Fixtures of the web interface tests: a real node (SQLite file or PostgreSQL) served over
real HTTP on loopback, and a signed-in client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from diapason.node import Node
from tests.clock import RunningClock
from tests.exchange.nodes import FedNode, federate
from tests.web.browser import ARGS, CHROMIUM, VIEWPORT, require_chromium
from tests.web.site import PASSWORD, WebClient, make_node, serve


@dataclass
class Site:
    node: Node
    url: str
    clock: RunningClock
    clients: list[WebClient] = field(default_factory=list)

    def client(self, **headers: str) -> WebClient:
        """A new browser-like client (closed with the site)."""
        made = WebClient.at(self.url, **headers)
        self.clients.append(made)
        return made


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    """A node on SQLite and on PostgreSQL, served; its admin's password is ``PASSWORD``;
    its joint mechanism sees the time of ``site.clock``, from ``tests.clock.NOW`` on."""
    node = make_node(tmp_path / "node", database_url)
    clock = RunningClock()
    with serve(node, clock=clock) as url:
        served = Site(node, url, clock)
        yield served
        for client in served.clients:
            client.close()


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[FedNode, FedNode]]:
    """rabat and paris, partnered both ways, not started (each test starts them as it
    needs); each admin's password is ``PASSWORD``."""
    made: list[FedNode] = []
    try:
        for name in ("rabat", "paris"):
            node = FedNode.create(tmp_path, name, None)
            made.append(node)
            node.node.accounts.set_password("admin", PASSWORD)
        federate(*made)
        yield made[0], made[1]
    finally:
        for node in made:
            node.close()


@pytest.fixture
def admin(site: Site) -> WebClient:
    client = site.client()
    assert client.login().status_code == 303
    return client


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Debian Chromium for the session's browser tests."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page, laptop-sized, failing on any script
    error or dialog the page raises."""
    context = chromium.new_context(viewport=VIEWPORT, locale="en-GB")
    page = context.new_page()
    # The CI machine is shared and slow at times (argon2 sign-ins, servers under load): wait
    # up to 30 s for what a page shows, instead of Playwright's 5 s.
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    yield page
    context.close()
    assert not problems, problems

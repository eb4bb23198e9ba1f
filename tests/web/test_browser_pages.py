"""The OSINT, anticipation and coordination pages in a real browser (headless Debian
Chromium): the seed article uploaded and its entities highlighted, an article's script
shown as text and never run, a meeting with an action, screenshots of the new pages with
every form field labelled."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from diapason.node import Node
from tests.clock import day
from tests.shared import SEED
from tests.web.browser import screenshot_path
from tests.web.site import make_node, serve
from tests.web.test_anticipate_pages import store_events
from tests.web.test_browser import UNLABELLED, sign_in
from tests.web.test_osint_pages import HOSTILE_ARTICLE

pytestmark = pytest.mark.slow

SOON = day(20)  # twenty days after tests.clock.NOW, where the served node's clock starts


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_url: str) -> Iterator[tuple[Node, str]]:
    node = make_node(tmp_path_factory.mktemp("browser-pages") / "rabat", sqlite_url)
    node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris")
    with serve(node) as url:
        yield node, url


def test_the_seed_article_uploaded_shows_its_entities(
    browser_page: Page, served: tuple[Node, str]
) -> None:
    _node, url = served
    page = browser_page
    sign_in(page, url)
    page.get_by_role("link", name="OSINT").click()
    page.get_by_label("Article file").set_input_files(SEED)
    page.get_by_role("button", name="Ingest", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Laftit et Darmanin")
    expect(page.get_by_role("status")).to_have_text("Article ingested.")
    text = page.get_by_role("article", name="Article text")
    laftit = text.locator("a.ent-per", has_text="Abdelouafi Laftit")
    expect(laftit).to_have_attribute("title", "person: Abdelouafi Laftit")
    expect(text.locator("a.ent-per", has_text="M. Laftit")).to_have_count(1)
    # The ministry the pipeline finds ("communiqué du ministère de l'Intérieur"), with the
    # country it gave it.
    ministry = text.locator("a.ent-org", has_text=re.compile("ministère de l'Intérieur", re.I))
    expect(ministry).to_have_attribute("title", "organisation: Ministère de l'Intérieur (Maroc)")
    expect(text.locator("a.ent-org", has_text="GMMP")).to_be_visible()
    expect(text.locator("span.event").first).to_be_visible()
    page.screenshot(path=screenshot_path("osint-article"), full_page=True)
    assert page.evaluate(UNLABELLED) == []
    # Laftit's link opens his identity: a record about a person, so a reason first.
    laftit.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This record holds personal data")
    page.get_by_label(re.compile("Why do you consult it")).fill("press review 2024/04")
    page.get_by_role("button", name="Consult").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Abdelouafi Laftit")


def test_a_script_in_an_article_is_shown_as_text_and_never_runs(
    browser_page: Page, served: tuple[Node, str]
) -> None:
    _node, url = served
    page = browser_page
    sign_in(page, url)
    page.goto(f"{url}/osint")
    page.get_by_label("Or paste the article").fill(HOSTILE_ARTICLE)
    page.get_by_role("button", name="Ingest", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "<script>window.__xss = 1;</script>"
    )
    expect(page.get_by_role("article", name="Article text")).to_contain_text(
        '<img src="x" onerror="window.__xss = 2">'
    )
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0
    page.screenshot(path=screenshot_path("osint-hostile-article"), full_page=True)


def test_a_meeting_with_an_action(browser_page: Page, served: tuple[Node, str]) -> None:
    _node, url = served
    page = browser_page
    sign_in(page, url)
    page.get_by_role("link", name="Coordination").click()
    page.get_by_label("Name", exact=True).fill("Groupe Migratoire Mixte Permanent")
    page.get_by_label("Partners taking part").fill("rabat, paris")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("link", name="Groupe Migratoire Mixte Permanent")).to_be_visible()
    page.get_by_role("navigation", name="Joint mechanism").get_by_role(
        "link", name="Meetings"
    ).click()
    page.get_by_label("Title").fill("GMMP plenary session")
    page.get_by_label("Kind").select_option("plenary")
    page.get_by_label("Date (YYYY-MM-DD)").fill(SOON)
    page.get_by_label("Place").fill("Rabat")
    page.get_by_label("Agenda (one item a line)").fill("Returns\nSmuggling networks")
    page.get_by_role("button", name="Plan the meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("GMMP plenary session")
    # A refused action keeps what was typed.
    page.get_by_label("Action", exact=True).fill("Name the liaison officers")
    page.get_by_label("Owner (a side)").select_option("paris")
    page.get_by_label("Due date (YYYY-MM-DD)").fill("2020-01-01")
    page.get_by_role("button", name="Add the action").click()
    expect(page.get_by_role("alert")).to_contain_text("due")
    expect(page.get_by_label("Action", exact=True)).to_have_value("Name the liaison officers")
    page.get_by_label("Due date (YYYY-MM-DD)").fill(SOON)
    page.get_by_role("button", name="Add the action").click()
    expect(page.get_by_role("cell", name="Name the liaison officers", exact=True)).to_be_visible()
    page.get_by_label("Decisions (one a line)").fill("Exchange liaison officers")
    page.get_by_label("Status", exact=True).select_option("held")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("list", name="Decisions")).to_contain_text("Exchange liaison officers")
    page.screenshot(path=screenshot_path("coordination-meeting"), full_page=True)
    page.get_by_role("link", name="Minutes (Markdown)").click()
    expect(page.locator("body")).to_contain_text("Name the liaison officers")


def test_screenshots_of_the_new_pages(browser_page: Page, served: tuple[Node, str]) -> None:
    node, url = served
    store_events(node)
    page = browser_page
    sign_in(page, url)
    page.goto(f"{url}/osint")
    page.get_by_label("Or paste the article").fill(Path(SEED).read_text("utf-8"))
    page.get_by_role("button", name="Ingest", exact=True).click()
    for name, path in (
        ("osint", "/osint"),
        ("anticipation", "/anticipation?place=ML&category=all&frequency=month&horizon=6"),
        ("coordination-groups", "/coordination"),
        ("coordination-meetings", "/coordination/meetings"),
        ("coordination-actions", "/coordination/actions"),
        ("coordination-requests", "/coordination/requests"),
        ("coordination-indicators", "/coordination/indicators"),
        ("coordination-opinions", "/coordination/opinions"),
        ("coordination-conflicts", "/coordination/conflicts"),
        ("dashboard-with-sections", "/"),
    ):
        response = page.goto(f"{url}{path}")
        assert response is not None and response.status == 200, path
        assert page.evaluate(UNLABELLED) == [], f"{path}: form fields without a label"
        page.screenshot(path=screenshot_path(name), full_page=True)
    page.goto(f"{url}/anticipation?place=ML&category=all&frequency=month&horizon=6")
    page.get_by_role("button", name="Write these alerts to the knowledge base").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"alerts? written"))
    page.goto(f"{url}/")
    alerts = page.locator("section", has=page.get_by_role("heading", name="New alerts"))
    expect(alerts.get_by_role("link", name="ML/all")).to_be_visible()
    page.screenshot(path=screenshot_path("dashboard-alert"), full_page=True)

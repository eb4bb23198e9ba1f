"""The interface in a real browser (headless Debian Chromium): signing in and out, the
keyboard, the language switch, untrusted text that must never run, screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from diapason.node import Node
from tests.web.browser import screenshot_path
from tests.web.objects import SCRIPT, actor, hostile, person, relationship
from tests.web.site import PASSWORD, make_node, put, serve

pytestmark = pytest.mark.slow

# The names of the visible form fields that no label (nor aria-label) describes.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((field) => field.labels.length === 0 && !field.getAttribute('aria-label'))
    .map((field) => field.name)"""


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_url: str) -> Iterator[tuple[Node, str]]:
    node = make_node(tmp_path_factory.mktemp("browser") / "rabat", sqlite_url)
    with serve(node) as url:
        yield node, url


def sign_in(page: Page, url: str, username: str = "admin", password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_refused_then_accepted_then_out(
    browser_page: Page, served: tuple[Node, str]
) -> None:
    _node, url = served
    page = browser_page
    page.goto(f"{url}/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    sign_in(page, url, password="wrong password, clearly")
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
    expect(page.get_by_label("User name")).to_have_value("admin")
    page.screenshot(path=screenshot_path("login-refused"))
    sign_in(page, url)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{url}/objects")
    expect(page).to_have_url(re.compile(r"/login"))


def test_keyboard_only_sign_in_and_skip_link(browser_page: Page, served: tuple[Node, str]) -> None:
    _node, url = served
    page = browser_page
    page.goto(f"{url}/login")
    # The user name field has the focus (waited for: a key typed before the browser applies
    # autofocus is lost); the rest is typing, Tab and Enter.
    expect(page.get_by_role("textbox", name="User name")).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_language_switch(browser_page: Page, served: tuple[Node, str]) -> None:
    _node, url = served
    page = browser_page
    sign_in(page, url)
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", name="Tableau de bord", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.screenshot(path=screenshot_path("dashboard-fr"), full_page=True)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_a_partner_script_is_shown_as_text_and_never_runs(
    browser_page: Page, served: tuple[Node, str]
) -> None:
    node, url = served
    bad = hostile()
    put(node, bad, source="partner:paris")
    page = browser_page
    sign_in(page, url)
    page.goto(f"{url}/objects/{bad['id']}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(SCRIPT)
    expect(page.locator("p.description")).to_contain_text('<img src="x" onerror=')
    page.goto(f"{url}/objects?type=threat-actor")
    expect(page.get_by_role("link", name=re.compile("<script>"))).to_be_visible()
    page.goto(f"{url}/objects/{bad['id']}")
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0
    page.screenshot(path=screenshot_path("object-hostile"), full_page=True)


def test_screenshots_of_the_main_pages(browser_page: Page, served: tuple[Node, str]) -> None:
    node, url = served
    node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris")
    main = actor("Katiba du Sahel", created_by_ref=node.identity_id, tlp="green")
    place = actor("Réseau de passeurs", tlp="amber", created_by_ref=node.identity_id)
    record = person()
    put(node, main, place, relationship(main["id"], place["id"], "related-to"), record)
    put(node, actor("Reçu de Paris", tlp="green"), source="partner:paris")
    node.ledger.run("tests")
    page = browser_page
    sign_in(page, url)
    for name, path in (
        ("dashboard", "/"),
        ("search", "/objects?q=Katiba"),
        ("object", f"/objects/{main['id']}"),
        ("audit", "/audit"),
        ("users", "/admin/users"),
        ("tokens", "/admin/tokens"),
        ("partners", "/admin/partners"),
        ("collections", "/admin/collections"),
    ):
        response = page.goto(f"{url}{path}")
        assert response is not None and response.status == 200, path
        assert page.evaluate(UNLABELLED) == [], f"{path}: form fields without a label"
        page.screenshot(path=screenshot_path(name), full_page=True)
    page.goto(f"{url}/objects/{record['id']}")
    expect(page.get_by_role("heading", name="This record holds personal data")).to_be_visible()
    page.get_by_label(re.compile("Why do you consult it")).fill("case 2026/17")
    page.get_by_role("button", name="Consult").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ahmed Exemple")
    page.screenshot(path=screenshot_path("person-after-reason"), full_page=True)

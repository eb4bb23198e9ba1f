"""The first hour of a new user, in headless Debian Chromium, on the two nodes of
``diapason demo`` (rabat and paris set up, loaded and served exactly as the demo does: two
``diapason serve`` processes over mutual TLS on loopback, exchanging every second), in
French and in English: the analyst signs in on rabat with the password the demo kept,
ingests the seed article, confirms its persons' data-protection metadata on the article
page; once the nodes have synced, paris shows the article, one of its events and one of
its persons by name (never a bare id), and the anticipation page draws the shipped UCDP
history with its forecast and alerts. A screenshot of each page goes to
``test-artifacts/first-hour/`` (docs/first-hour.md shows some).

No page of this path reads a clock (only the joint mechanism's pages take one), so the
run does not depend on the day it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from diapason import demo
from diapason.domain.events import EVENT_TYPE
from tests.exchange.nodes import wait_for
from tests.shared import REPOSITORY, SEED
from tests.taxii.servers import free_port
from tests.web.browser import VIEWPORT

pytestmark = pytest.mark.slow

SHOTS = REPOSITORY / "test-artifacts" / "first-hour"


@dataclass(frozen=True)
class Words:
    """What the walk clicks and expects, in one language."""

    locale: str
    user: str
    password: str
    sign_in: str
    article_file: str
    ingest: str
    ingested: str
    confirm: str
    confirmed: str
    state_confirmed: str
    withheld: str
    event: str
    reason: str
    consult: str
    series: str
    forecast: str
    alerts: str
    attribution: str
    category: str  # the seed's persons' category of data subject, in words
    language: str  # the seed article's language, by name
    stix_content: str  # the heading of the raw STIX (codes are at home there, not above it)
    foreign: tuple[str, ...]  # what this language's pages must not show (the other's words)


WORDS = {
    "fr": Words(
        locale="fr-FR",
        user="Nom d'utilisateur",
        password="Mot de passe",
        sign_in="Se connecter",
        article_file="Fichier de l'article",
        ingest="Intégrer",
        ingested="Article intégré",
        confirm="Confirmer les métadonnées proposées pour chaque personne",
        confirmed="Métadonnées de protection des données confirmées",
        state_confirmed="confirmé",
        withheld="non communiqué par rabat",
        event="L'événement",
        reason="Pourquoi la consultez-vous",
        consult="Consulter",
        series="Série, prévision et alertes",
        forecast="Prévision",
        alerts="Alertes de cette série",
        attribution="UCDP",
        category="autre personne",
        language="français",
        stix_content="Contenu STIX",
        foreign=("Morocco", "hosts", "(analyst)", "(visit)", "Data protection"),
    ),
    "en": Words(
        locale="en-GB",
        user="User name",
        password="Password",
        sign_in="Sign in",
        article_file="Article file",
        ingest="Ingest",
        ingested="Article ingested",
        confirm="Confirm the proposed metadata for every person",
        confirmed="Data-protection metadata confirmed",
        state_confirmed="confirmed",
        withheld="not shared with you by rabat",
        event="The event",
        reason="Why do you consult it",
        consult="Consult",
        series="Series, forecast and alerts",
        forecast="Forecast",
        alerts="Alerts of this series",
        attribution="UCDP",
        category="other person",
        language="French",
        stix_content="STIX content",
        foreign=("(visite)", "analyste)", "autre personne", "Protection des données"),
    ),
}


# Codes a person should never read on a page (above an object's raw STIX content): PLOVER
# event types, the OSINT pipeline's entity types, data-protection and joint-mechanism codes.
RAW_CODES = re.compile(
    r"\b(?:AGREE|CONSULT|SUPPORT|CONCEDE|COOPERATE|AID|RETREAT|REQUEST|ACCUSE|REJECT|THREATEN"
    r"|PROTEST|SANCTION|MOBILIZE|COERCE|ASSAULT|PER|ORG|LOC|GROUP|MISC|IGNORE)\b"
    r"|\b(?:strongly-agree|strongly-disagree|in-progress|tete-a-tete|gmmp)\b"
    r"|\b(?:identity|location|report|relationship)--[0-9a-f]{8}\b(?!-)"
)


def check_words(page: Page, words: Words, what: str) -> None:
    """The page (above its STIX content) shows no raw code and none of the other
    language's words."""
    text = page.locator("body").inner_text().split(words.stix_content, 1)[0]
    found = RAW_CODES.search(text)
    assert found is None, (
        what,
        found.group(0),
        text[max(0, found.start() - 80) : found.end() + 80],
    )
    for foreign in words.foreign:
        assert foreign not in text, (what, foreign)


@pytest.fixture
def demo_nodes(tmp_path: Path) -> Iterator[tuple[demo.DemoNode, demo.DemoNode]]:
    """rabat and paris as ``diapason demo`` makes them: set up, loaded, served, healthy."""
    said: list[str] = []
    rabat, paris = demo.set_up(tmp_path / "diapason-demo", (free_port(), free_port()), said.append)
    try:
        demo.load(rabat, paris)
        demo.load(paris, rabat)
        for node in (rabat, paris):
            demo.start(node)
        for node in (rabat, paris):
            demo.wait_healthy(node)
        yield rabat, paris
    finally:
        for node in (rabat, paris):
            demo.stop(node)


def shot(page: Page, lang: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{lang}-{name}.png", full_page=True)


def sign_in(page: Page, words: Words, node: demo.DemoNode) -> None:
    """Sign in as the demo's analyst with the password the demo kept for this node."""
    kept = demo.read_credentials(node.data / demo.WEB_PASSWORD_FILE)
    page.goto(f"{node.url}/login")
    page.get_by_label(words.user).fill(demo.WEB_USER)
    page.get_by_label(words.password, exact=True).fill(kept[demo.PASSWORD_KEY])
    page.get_by_role("button", name=words.sign_in).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def short_id(object_id: str) -> str:
    return object_id.partition("--")[2][:8]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_first_hour_on_the_demo(
    chromium: Browser, demo_nodes: tuple[demo.DemoNode, demo.DemoNode], lang: str
) -> None:
    rabat, paris = demo_nodes
    words = WORDS[lang]
    context = chromium.new_context(viewport=VIEWPORT, locale=words.locale, ignore_https_errors=True)
    try:
        page = context.new_page()
        sign_in(page, words, rabat)
        sign_in(page, words, paris)

        # rabat: ingest the seed article, then confirm its persons' metadata.
        page.goto(f"{rabat.url}/osint")
        page.get_by_label(words.article_file).set_input_files(SEED)
        shot(page, lang, "1-rabat-osint")
        # The first ingest of a fresh node loads the language model: more than the 30 s a
        # click waits for its page by default on a busy machine.
        page.get_by_role("button", name=words.ingest, exact=True).click(timeout=120_000)
        expect(page.get_by_role("status")).to_contain_text(words.ingested)
        report_id = page.url.split("/osint/articles/", 1)[1].split("?", 1)[0]
        assert report_id.startswith("report--")
        persons_table = page.locator("section[aria-labelledby=persons-h]")
        expect(persons_table).to_be_visible()
        page.get_by_role("button", name=words.confirm).click()
        expect(page.get_by_role("status")).to_contain_text(words.confirmed)
        rows = persons_table.locator("tbody tr")
        assert rows.count() >= 4
        for row in rows.all():
            expect(row.locator("td").last).to_have_text(words.state_confirmed)
        names = [row.locator("td").first.inner_text().strip() for row in rows.all()]
        for row in rows.all():  # the category of data subject in words, not its code
            expect(row.locator("td").nth(1)).to_have_text(words.category)
        expect(page.locator("dl dd").nth(1)).to_have_text(words.language)
        check_words(page, words, "the article page on rabat")
        shot(page, lang, "2-rabat-article-confirmed")

        report = rabat.node.store.get(report_id)
        assert report is not None
        refs = report.object["object_refs"]
        persons = [
            ref
            for ref in refs
            if (stored := rabat.node.store.get(ref)) is not None
            and stored.object.get("identity_class") == "individual"
        ]
        events = [
            stored.object
            for ref in refs
            if ref.startswith(f"{EVENT_TYPE}--") and (stored := rabat.node.store.get(ref))
        ]
        # The event with the most actors and targets: the one whose names matter most.
        event = min(
            events,
            key=lambda e: (-len(e.get("actor_refs", [])) - len(e.get("target_refs", [])), e["id"]),
        )

        # paris: once synced (every second), the article, an event and a person by name.
        def persons_on_paris() -> bool:
            page.goto(f"{paris.url}/objects/{report_id}")
            return (
                page.get_by_role("heading", level=1).count() == 1
                and words.withheld not in page.content()
                and all(
                    page.get_by_role("link", name=name, exact=True).count() > 0 for name in names
                )
            )

        wait_for(persons_on_paris, 90, "the seed article and its persons shown on paris")
        body = page.locator("main").inner_text().split("{", 1)[0]
        for person_id in persons:  # names, not bare ids (the STIX content aside)
            assert short_id(person_id) not in body
        check_words(page, words, "the article on paris")
        shot(page, lang, "3-paris-article")

        page.goto(f"{paris.url}/objects/{event['id']}")
        fields = page.get_by_role("region", name=words.event)
        expect(fields).to_be_visible()
        shown = fields.inner_text()
        for ref in [*event.get("actor_refs", []), *event.get("target_refs", [])]:
            assert short_id(ref) not in shown, (ref, shown)
        check_words(page, words, "an event on paris")
        shot(page, lang, "4-paris-event")

        # A person's record asks why it is consulted (the reason goes to the audit trail).
        page.goto(f"{paris.url}/objects/{persons[0]}")
        page.get_by_label(words.reason).fill("first-hour walk")
        page.get_by_role("button", name=words.consult, exact=True).click()
        person = rabat.node.store.get(persons[0])
        assert person is not None
        expect(page.get_by_role("heading", level=1)).to_contain_text(str(person.object["name"]))
        expect(page.locator("#data-protection")).to_contain_text(words.category)
        check_words(page, words, "a person on paris")
        shot(page, lang, "5-paris-person")

        # The Sahel-Saharan strip's deaths per month (UCDP), six months ahead.
        page.goto(
            f"{paris.url}/anticipation?place=sahel-saharan&category=deaths"
            "&frequency=month&horizon=6"
        )
        series = page.locator("section[aria-labelledby=series-h]")
        expect(series.get_by_role("heading", name=words.series)).to_be_visible()
        expect(series.locator("svg").first).to_be_visible()
        expect(series.locator("table caption")).to_have_text(words.forecast)
        assert series.locator("table tbody tr").count() >= 1
        expect(series.get_by_role("heading", name=words.alerts)).to_be_visible()
        # The alerts of the series: a list, or the sentence saying there are none.
        expect(series.locator("h3 + ul.items, h3 + p.empty")).to_be_visible()
        expect(page.locator("#ucdp-attribution")).to_contain_text(re.compile(words.attribution))
        check_words(page, words, "anticipation on paris")
        shot(page, lang, "6-paris-anticipation")

        # The other pages a first user opens: the dashboard, the knowledge base's
        # relationships (titled by what they say), the joint mechanism's requests.
        for number, (name, path) in enumerate(
            (
                ("dashboard", "/"),
                ("knowledge-base", "/objects?type=relationship"),
                ("coordination", "/coordination/requests"),
            ),
            start=7,
        ):
            page.goto(f"{paris.url}{path}")
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            check_words(page, words, name)
            shot(page, lang, f"{number}-paris-{name}")
    finally:
        context.close()

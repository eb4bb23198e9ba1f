"""The pages a reader opens after ingesting the seed article, in headless Debian Chromium:
an event's page shows its fields as text and its neighbour graph draws each object once
with no two labels overlapping (boxes measured by the browser), a report's many
``object_refs`` read as one "contains" label, and times read as a person reads them, in
English and in French."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from diapason.domain.events import EVENT_TYPE
from diapason.node import Node
from diapason.store.interface import Query
from tests.shared import SEED
from tests.web.browser import screenshot_path
from tests.web.site import make_node, serve
from tests.web.test_browser import sign_in

pytestmark = pytest.mark.slow

# Every text of the graph with the box the browser drew it in.
BOXES = """() => [...document.querySelectorAll('svg.graph text')].map(t => {
  const r = t.getBoundingClientRect();
  return {text: t.textContent, cls: t.getAttribute('class'),
          x: r.left, y: r.top, w: r.width, h: r.height};
})"""
ENGLISH_MOMENT = re.compile(
    r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4}, \d\d:\d\d"
)
FRENCH_MOMENT = re.compile(
    r"\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|"
    r"novembre|décembre) \d{4} à \d\d:\d\d"
)


@pytest.fixture(scope="module")
def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Node, str]]:
    """A node holding the seed article, ingested once for the module's tests."""
    node = make_node(tmp_path_factory.mktemp("pages-browser") / "rabat", None)
    with serve(node) as url:
        yield node, url


def overlaps(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The pairs of texts whose boxes intersect (by more than half a pixel)."""
    found = []
    for index, a in enumerate(boxes):
        for b in boxes[index + 1 :]:
            if (
                a["x"] + a["w"] - 0.5 > b["x"]
                and b["x"] + b["w"] - 0.5 > a["x"]
                and a["y"] + a["h"] - 0.5 > b["y"]
                and b["y"] + b["h"] - 0.5 > a["y"]
            ):
                found.append((a["text"], b["text"]))
    return found


def ingest_seed(page: Page, url: str) -> None:
    sign_in(page, url)
    page.goto(f"{url}/osint")
    page.get_by_label("Article file").set_input_files(SEED)
    page.get_by_role("button", name="Ingest", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Article ingested")


def richest_event(node: Node) -> dict[str, Any]:
    """The seed's event with the most actors and targets, placed: the one whose graph
    used to draw its persons twice."""
    events = node.store.query(Query(types=(EVENT_TYPE,), limit=200)).objects
    placed = [e.object for e in events if e.object.get("location_ref")]
    assert placed, "the seed article gave no placed event"
    return max(
        placed,
        key=lambda e: (len(e.get("actor_refs", [])) + len(e.get("target_refs", [])), e["id"]),
    )


def received(page: Page) -> Locator:
    """When the object on the page was received (its provenance section)."""
    return page.locator("section[aria-labelledby=prov-h] dd time").first


def check_graph(page: Page) -> list[dict[str, Any]]:
    """Each neighbour drawn once, no two texts overlapping; the boxes measured."""
    graph = page.locator("svg.graph")
    expect(graph).to_be_visible()
    links = [link.get_attribute("href") for link in graph.locator("a").all()]
    assert links and len(links) == len(set(links)), links
    boxes: list[dict[str, Any]] = page.evaluate(BOXES)
    assert all(box["w"] > 0 and box["h"] > 0 for box in boxes), boxes
    assert overlaps(boxes) == [], overlaps(boxes)
    return boxes


def test_an_event_reads_as_text_and_its_graph_draws_each_object_once(
    browser_page: Page, seeded: tuple[Node, str]
) -> None:
    node, url = seeded
    page = browser_page
    ingest_seed(page, url)
    event = richest_event(node)
    page.goto(f"{url}/objects/{event['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("event")
    fields = page.get_by_role("region", name="The event")
    expect(fields).to_contain_text(str(event["summary"])[:40])
    day = event.get("event_date")
    if day:
        written = page.locator(f'time[datetime="{day}"]')
        expect(written).to_have_text(re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}"))
    # Its actors and its place by name, never by id.
    actors = node.read.briefs_of(event.get("actor_refs", []))
    for brief in actors.values():
        expect(fields.get_by_role("link", name=brief.title)).to_be_visible()
    place = node.read.briefs_of([event["location_ref"]])[event["location_ref"]]
    expect(fields.get_by_role("link", name=place.title)).to_be_visible()
    boxes = check_graph(page)
    names = [box["text"] for box in boxes if box["cls"] == "node-label"]
    assert len(names) == len(set(names)), names
    for brief in actors.values():
        assert any(brief.title.startswith(name.rstrip("…")) for name in names), names
    expect(page.locator("section[aria-labelledby=prov-h] dd time").first).to_have_text(
        ENGLISH_MOMENT
    )
    page.screenshot(path=screenshot_path("pages-event-en"), full_page=True)
    # The same page in French: the fields' labels, the dates, the graph's words.
    page.get_by_role("button", name="Français").click()
    expect(page.get_by_role("region", name="L'événement")).to_be_visible()
    expect(page.locator("section[aria-labelledby=prov-h] dd time").first).to_have_text(
        FRENCH_MOMENT
    )
    check_graph(page)
    page.screenshot(path=screenshot_path("pages-event-fr"), full_page=True)


def test_a_report_contains_its_objects_under_one_label(
    browser_page: Page, seeded: tuple[Node, str]
) -> None:
    node, url = seeded
    page = browser_page
    sign_in(page, url)
    reports = node.store.query(Query(types=("report",), limit=5)).objects
    if not reports:
        ingest_seed(page, url)
        reports = node.store.query(Query(types=("report",), limit=5)).objects
    report = reports[0].object
    page.goto(f"{url}/objects/{report['id']}")
    boxes = check_graph(page)
    contains = [box["text"] for box in boxes if box["text"].startswith("contains")]
    assert len(contains) == 1, contains
    assert re.fullmatch(r"contains \(\d+\) →", contains[0]), contains
    assert not any("object_refs" in box["text"] for box in boxes)
    page.screenshot(path=screenshot_path("pages-report-en"), full_page=True)
    page.get_by_role("button", name="Français").click()
    boxes = check_graph(page)
    assert [box["text"] for box in boxes if box["text"].startswith("contient")]
    page.screenshot(path=screenshot_path("pages-report-fr"), full_page=True)

"""The pages as a person reads them, over real HTTP with the real app and store (SQLite and
PostgreSQL): an event's fields as text, each neighbour once on the graph with one label per
kind of reference, times in the reader's language and the node's time zone, translated
types and topics, the type filter a list, an entity's country once, the dashboard's lists
of what a person opens; hostile text escaped everywhere."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from diapason.anticipate.chart import nice_ticks
from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import EVENT_EXTENSION_ID, TLP_2_0_IDS
from diapason.domain.protection import protect
from diapason.node import init_node
from diapason.settings import SettingsError, load_settings
from diapason.web.ui.i18n import load_catalogues, make_gettext
from diapason.web.ui.svg import GraphNode, neighbour_graph, text_width
from diapason.web.ui.words import (
    VOCABULARIES,
    country_note,
    display_title,
    event_title,
    human_moment,
    language_name,
    number,
    period_name,
    term,
)
from tests.builders import new_id, sdo, stamp
from tests.web.conftest import Site
from tests.web.objects import SCRIPT, person, relationship, valid
from tests.web.site import PASSWORD, WebClient, put, serve, text_of
from tests.web.test_coordinate_pages import joint as joint
from tests.web.test_coordinate_pages import make_group, make_meeting
from tests.web.test_i18n import WEB

PARIS = ZoneInfo("Europe/Paris")
TEXT_RE = re.compile(
    r'<text class="([\w-]+)" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)" '
    r'(?:font-size="(\d+)")?[^>]*?(?:font-size="(\d+)")?[^>]*>([^<]*)</text>'
)


def test_times_read_as_a_person_reads_them() -> None:
    moment = "2026-12-07T14:05:09.123456Z"
    assert human_moment(moment, "en", ZoneInfo("UTC")) == "7 December 2026, 14:05"
    assert human_moment(moment, "fr", ZoneInfo("UTC")) == "7 décembre 2026 à 14:05"
    # In the node's time zone (Paris is UTC+1 in December, UTC+2 in July).
    assert human_moment(moment, "fr", PARIS) == "7 décembre 2026 à 15:05"
    assert human_moment("2026-07-07T14:05:00Z", "en", PARIS) == "7 July 2026, 16:05"
    # A day, written as a date or as STIX writes a day (midnight UTC), reads as the day.
    assert human_moment("2024-04-22", "fr", PARIS) == "22 avril 2024"
    assert human_moment("2024-04-22T00:00:00.000Z", "en", PARIS) == "22 April 2024"
    # What is not a timestamp is shown as it is.
    assert human_moment("not a time", "en", PARIS) == "not a time"


def test_the_time_zone_setting_is_checked(tmp_path: Any) -> None:
    settings = load_settings(tmp_path, environ={"DIAPASON_TIME_ZONE": "Europe/Paris"})
    assert settings.time_zone == "Europe/Paris"
    assert load_settings(tmp_path, environ={}).time_zone == "UTC"
    for wrong in ("Mars/Olympus", "../etc/passwd", "/etc/localtime"):
        with pytest.raises(SettingsError, match=r"time_zone .*IANA time zone"):
            load_settings(tmp_path, environ={"DIAPASON_TIME_ZONE": wrong})


def test_a_country_is_shown_once() -> None:
    assert country_note("Ministère de l'Intérieur (Maroc)", "MA", "fr") == ""
    assert country_note("Ministère de l'Intérieur (Maroc)", "MA", "en") == ""
    assert country_note("Abdelouafi Laftit", "MA", "fr") == "Maroc"
    assert country_note("Abdelouafi Laftit", "MA", "en") == "Morocco"
    assert country_note("Gendarmerie (FR)", "FR", "en") == ""
    assert country_note("Rabat", None, "en") == ""


def test_y_ticks_are_round_counts() -> None:
    assert nice_ticks(1) == [0, 1]
    assert nice_ticks(0) == [0, 1]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(1234) == [0, 500, 1000, 1500]
    for top in (1, 2, 5, 9, 17, 64, 250, 999):
        ticks = nice_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6
        assert all(tick == int(tick) for tick in ticks)


def boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    """Each text of a graph with the box the layout reserved for it (its estimate)."""
    found = []
    for _cls, x, y, anchor, size_a, size_b, text in TEXT_RE.findall(svg):
        size = float(size_a or size_b)
        width = text_width(text.replace("&amp;", "&").replace("&lt;", "<"), size)
        left = float(x) - (width if anchor == "end" else width / 2 if anchor == "middle" else 0)
        found.append((text, left, float(y) - size, width, size * 1.2))
    return found


def test_the_graph_bundles_one_kind_and_leaves_each_text_its_room() -> None:
    contained = [
        GraphNode(new_id("identity"), "identity", f"Person number {n}", "contains", True, None)
        for n in range(19)
    ]
    others = [
        GraphNode(new_id("identity"), "identity", "rabat", "created by", True, "/x"),
        GraphNode(new_id("report"), "report", f"{SCRIPT} report", "contains", False, "/y"),
        GraphNode(new_id("location"), "location", "Rabat", "located at", False, "/z", "lieu"),
    ]
    drawn = neighbour_graph(
        "Maroc-France : Coopération sécuritaire et migration",
        "report",
        [*contained, *others],
        title="Neighbours",
        description="22 objects",
    )
    assert drawn == neighbour_graph(
        "Maroc-France : Coopération sécuritaire et migration",
        "report",
        [*contained, *others],
        title="Neighbours",
        description="22 objects",
    )
    edges = re.findall(r'class="edge-label"[^>]*>([^<]*)<', drawn)
    assert sorted(edges) == sorted(
        ["contains (19) →", "created by →", "contains →", "located at →"]
    ) or sorted(edges) == sorted(["contains (19) →", "created by →", "← contains", "← located at"])
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    texts = boxes(str(drawn))
    assert len(texts) == 2 * 22 + 4 + 2  # name and type of each, 4 edge labels, the centre
    for index, (a, ax, ay, aw, ah) in enumerate(texts):
        for b, bx, by, bw, bh in texts[index + 1 :]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, (a, b)


def event_with_people(site: Site) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An event in Rabat where a person (named with a script) acts, linked both by the
    event's ``actor_refs`` and by an ``x-diapason-acts-in`` relationship, as ingest does."""
    who = person(f"Gérald {SCRIPT}")
    place = valid(sdo("location", name="Rabat", country="MA"))
    day = "2024-04-22T09:30:00.000Z"
    event = {
        "type": EVENT_TYPE,
        "spec_version": "2.1",
        "id": new_id(EVENT_TYPE),
        "created": day,
        "modified": day,
        "name": "CONSULT (visit) 2024-04-22 Rabat",
        "plover_type": "CONSULT",
        "plover_mode": "visit",
        "event_date": "2024-04-22",
        "summary": f"Le ministre a reçu lundi à Rabat son homologue {SCRIPT}.",
        "location_ref": place["id"],
        "actor_refs": [who["id"]],
        "topics": ["security_cooperation", "migration"],
        "object_marking_refs": [TLP_2_0_IDS["green"]],
        "extensions": {EVENT_EXTENSION_ID: {"extension_type": "new-sdo"}},
    }
    acts = relationship(who["id"], event["id"], "x-diapason-acts-in")
    located = relationship(event["id"], place["id"], "located-at")
    report = valid(
        sdo(
            "report",
            name="Maroc-France",
            published=stamp(22, 4),
            object_refs=[event["id"], who["id"], place["id"], acts["id"], located["id"]],
        )
    )
    put(site.node, who, place, event, acts, located, report)
    return event, who, place


def consult(client: WebClient, object_id: str) -> str:
    page = client.get(f"/objects/{object_id}")
    assert page.status_code == 200, text_of(page.text)[:300]
    return page.text


def test_an_event_page_reads_as_text_and_draws_each_object_once(
    site: Site, admin: WebClient
) -> None:
    event, who, place = event_with_people(site)
    html = consult(admin, event["id"])
    fields = html.split('aria-labelledby="event-h"')[1].split("</section>")[0]
    text = " ".join(text_of(fields).split())
    assert "Type Consultation Mode visit" in text and "CONSULT" not in text
    assert '<time datetime="2024-04-22">22 April 2024</time>' in fields
    assert "Place Rabat" in text and "Topics security cooperation, migration" in text
    assert f'<a href="/objects/{who["id"]}">Gérald &lt;script&gt;' in fields
    assert "Le ministre a reçu lundi à Rabat son homologue &lt;script&gt;" in fields
    assert "Targets not stated" in text
    graph = html.split('class="graphbox"')[1].split("</svg>")[0]
    # The person once (actor_refs and the relationship), the place once (location_ref and
    # located-at), the report that contains the event once.
    for ref in (who["id"], place["id"]):
        assert graph.count(f'href="/objects/{ref}"') == 1
    assert graph.count('class="node-label"') == 3
    assert "<script>" not in html.split("<body")[1]
    rows = html.split("<caption>References</caption>")[1].split("</table>")[0]
    assert "→ has actor; ← acts in" in rows and "→ takes place in; → located at" in rows
    # Times as a person reads them; the types' names, not their keys.
    assert re.search(r"<time datetime=\"[^\"]+\">\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d</time>", html)
    # An OSINT event's name ("CONSULT (visit) 2024-04-22 Rabat") in words.
    assert '<span class="type">event</span> Consultation (visit), 22 April 2024, Rabat' in html
    assert "CONSULT (visit)" not in html.split('id="json-h"')[0]


def test_the_same_event_in_french(site: Site) -> None:
    event, _who, _place = event_with_people(site)
    client = site.client()
    client.http.cookies.set("diapason_lang", "fr")
    assert client.login().status_code == 303
    html = consult(client, event["id"])
    text = " ".join(text_of(html).split())
    assert "L'événement" in text and "Type Consultation" in text and "Mode visite" in text
    assert "Consultation (visite), 22 avril 2024, Rabat" in text
    assert "CONSULT" not in text.split("Contenu STIX")[0]
    assert "Thèmes coopération de sécurité, migrations" in text
    assert '<time datetime="2024-04-22">22 avril 2024</time>' in html
    assert "→ a pour acteur; ← agit dans" in text
    assert re.search(r"\d{1,2} (décembre|janvier|avril|juin) \d{4}", text)
    assert re.search(r"<time datetime=\"[^\"]+\">\d{1,2} [a-zéû]+ \d{4} à \d\d:\d\d</time>", html)
    assert "contient" in html.split('class="graphbox"')[1].split("</svg>")[0]


def test_the_type_filter_is_a_list_of_translated_types(site: Site, admin: WebClient) -> None:
    put(site.node, valid(sdo("threat-actor", name="Katiba", threat_actor_types=["terrorist"])))
    page = admin.get("/objects", type="threat-actor").text
    assert '<select id="type" name="type">' in page
    assert '<option value="threat-actor" selected>threat actor</option>' in page
    assert '<option value="">any type</option>' in page
    assert ">Katiba<" in page and '<span class="type">threat actor</span>' in page
    client = site.client()
    client.http.cookies.set("diapason_lang", "fr")
    client.login()
    french = client.get("/objects").text
    assert '<option value="threat-actor">acteur de la menace</option>' in french
    assert '<option value="x-diapason-event">événement</option>' in french
    # A type the list lacks, asked in the address, stays chosen; a bad one is refused.
    custom = admin.get("/objects", type="x-acme-thing")
    assert custom.status_code == 200
    assert '<option value="x-acme-thing" selected>acme thing</option>' in custom.text
    refused = admin.get("/objects", type=f"{SCRIPT}")
    assert refused.status_code == 400 and "<script>" not in refused.text.split("<body")[1]


def test_the_dashboard_lists_what_a_person_opens(joint: Site, admin: WebClient) -> None:
    node = joint.node
    place = valid(sdo("location", name="Nador", country="MA"))
    actors = [
        valid(sdo("threat-actor", name=f"Réseau {n} {SCRIPT}", threat_actor_types=["criminal"]))
        for n in range(3)
    ]
    links = [relationship(a["id"], place["id"], "located-at") for a in actors]
    report = valid(
        sdo(
            "report",
            name=f"Filières de Nador {SCRIPT}",
            published=stamp(22, 4),
            object_refs=[a["id"] for a in actors],
        )
    )
    put(node, place, *actors, report, *links, source="partner:paris")
    group = make_group(admin)
    make_meeting(admin, group)
    html = admin.get("/").text
    latest = html.split('id="reports-h"')[1].split("</section>")[0]
    assert f'<a href="/objects/{report["id"]}">Filières de Nador &lt;script&gt;' in latest
    assert "22 April 2024" in latest
    meetings = html.split('id="meetings-h"')[1].split("</section>")[0]
    assert "GMMP plenary" in meetings and "Rabat" in meetings
    received = html.split("Latest received from paris")[1].split("</ul>")[0]
    # No "located-at" relationship crowds out what a person opens.
    assert "located-at" not in received and "located at" not in received
    assert received.count("<li>") == 5
    assert "threat actor" in received and "<script>" not in received


def test_a_relationship_is_titled_by_what_it_says(site: Site, admin: WebClient) -> None:
    place = valid(sdo("location", name="Nador", country="MA"))
    group = valid(sdo("threat-actor", name="Réseau du Rif", threat_actor_types=["criminal"]))
    link = relationship(group["id"], place["id"], "located-at")
    put(site.node, place, group, link)
    page = admin.get("/objects", type="relationship").text
    assert ">Réseau du Rif located at Nador<" in page
    graph = consult(admin, place["id"]).split('class="graphbox"')[1].split("</svg>")[0]
    # Drawn from the group to the place it is located at, read left to right.
    assert ">located at →<" in graph and ">Réseau du Rif<" in graph


def test_times_follow_the_node_time_zone(tmp_path: Path, database_url: str) -> None:
    settings = load_settings(
        tmp_path / "paris",
        environ={"DIAPASON_TIME_ZONE": "Europe/Paris"},
        node_name="paris",
        database_url=database_url,
        sync_interval=0,
    )
    node, _ = init_node(settings, "tests")
    node.accounts.set_password("admin", PASSWORD)
    actor = valid(
        sdo(
            "threat-actor",
            name="Katiba",
            threat_actor_types=["terrorist"],
            created="2024-07-01T10:15:00.000Z",
        )
    )
    put(node, actor)
    with serve(node) as url:
        client = WebClient.at(url)
        try:
            assert client.login().status_code == 303
            html = consult(client, actor["id"])
        finally:
            client.close()
    # Stored in UTC, read in Paris (UTC+2 in July).
    assert '<time datetime="2024-07-01T10:15:00.000Z">1 July 2024, 12:15</time>' in html


def test_codes_are_said_in_words() -> None:
    """Every code a page names through ``words.VOCABULARIES`` has an English msgid and a
    French translation; an OSINT event and a country are titled in the reader's language."""
    catalogues = load_catalogues()
    english, french = make_gettext(catalogues["en"]), make_gettext(catalogues["fr"])
    with (WEB / "i18n" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        translated = {m.id for m in read_po(handle, locale="fr") if m.id and m.string}
    for vocabulary, table in VOCABULARIES.items():
        for key, msgid in table.items():
            assert term(english, vocabulary, key) == msgid
            assert msgid in translated, (vocabulary, key)
    event = {
        "type": EVENT_TYPE,
        "name": "CONSULT (visit) 2024-04-22 Rabat",
        "plover_type": "CONSULT",
        "plover_mode": "visit",
        "event_date": "2024-04-22",
    }
    assert event_title(english, "en", event) == "Consultation (visit), 22 April 2024, Rabat"
    assert event_title(french, "fr", event) == "Consultation (visite), 22 avril 2024, Rabat"
    # An event named otherwise keeps its name.
    assert event_title(french, "fr", {**event, "name": "Visite de travail"}) is None
    morocco = {"type": "location", "name": "Morocco", "country": "MA"}
    assert display_title(french, "fr", morocco) == "Maroc"
    assert display_title(french, "fr", {**morocco, "name": "Nador"}) is None
    assert country_note("Morocco", "MA", "fr") == ""
    assert language_name("fr", "fr") == "français" and language_name("fr", "en") == "French"
    assert period_name("2024-05", "fr") == "mai 2024" and period_name("2024-05", "en") == "May 2024"
    assert period_name("2024-W05", "fr") == "2024-W05"
    assert number(1098.6, 1, "en") == "1,098.6" and number(1098.6, 1, "fr") == "1\u202f098,6"


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "en",
            "Data protection: other person; review by 1 January 2099; fact; "
            "legal basis: Art. 8, Directive 2016/680; purpose: smuggling cases",
        ),
        (
            "fr",
            "Protection des données : autre personne ; à réexaminer avant le 1 janvier 2099 ; "
            "fait ; base légale : Art. 8, Directive 2016/680 ; finalité : smuggling cases",
        ),
    ],
)
def test_a_person_page_says_its_data_protection_in_words(site: Site, lang: str, said: str) -> None:
    record = protect(
        person(),
        "other",
        date(2099, 1, 1),
        nature="fact",
        legal_basis="Art. 8, Directive 2016/680",
        purpose="smuggling cases",
    )
    put(site.node, record)
    client = site.client()
    client.http.cookies.set("diapason_lang", lang)
    assert client.login().status_code == 303
    path = f"/objects/{record['id']}"
    page = client.post(path, {"reason": "case 1"}, page=path)
    assert page.status_code == 200
    shown = page.text.split('id="data-protection">')[1].split("</p>")[0]
    assert " ".join(text_of(shown).split()) == said  # spaces, non-breaking ones included
    assert ("\u202f; " in shown) is (lang == "fr")


def test_the_coordination_pages_say_their_codes_in_french(joint: Site) -> None:
    client = joint.client()
    client.http.cookies.set("diapason_lang", "fr")
    assert client.login().status_code == 303
    requests = client.get("/coordination/requests").text
    assert ">en attente de réponse</option>" in requests and ">urgente</option>" in requests
    opinions = client.get("/coordination/opinions").text
    assert ">trimestre</option>" in opinions and ">tout à fait d&#39;accord</option>" in opinions
    groups = client.get("/coordination").text
    assert ">groupe migratoire mixte permanent</option>" in groups
    indicators = client.get("/coordination/indicators").text
    assert "(tentatives)" in indicators and ">tentatives</text>" in indicators
    assert "attempts" not in text_of(indicators)
    for page in (requests, opinions, groups, indicators):
        for code in (">open<", ">urgent<", ">quarter<", ">strongly-agree<", ">gmmp<", "(admin)"):
            assert code not in page, code

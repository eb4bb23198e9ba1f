"""The OSINT pages over real HTTP (SQLite and PostgreSQL): ingesting the seed article by
paste and by upload, its entities and events highlighted and linked, corrections feeding
the gazetteer, an article's script shown as text, bad input refused with what was typed."""

from __future__ import annotations

import re

from diapason.osint.gazetteer import load_gazetteer, overlay_path
from diapason.web.ui.highlight import Mark, highlight
from tests.shared import SEED
from tests.web.conftest import Site
from tests.web.site import PASSWORD, WebClient, csrf_of, text_of
from tests.web.test_pages import audit_rows

HOSTILE_ARTICLE = """Attaque déjouée à Nador <script>window.__xss = 1;</script>

22.04.2024

Le ministre de l'Intérieur, Abdelouafi Laftit, a annoncé lundi à Rabat l'arrestation de
trois membres d'un réseau criminel <img src="x" onerror="window.__xss = 2"> à Nador.
"""


def ingest(client: WebClient, text: str, origin: str = "") -> str:
    """Paste ``text`` on the OSINT page; the article's path."""
    answer = client.post("/osint/ingest", {"text": text, "origin": origin}, page="/osint")
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def test_seed_article_pasted_shows_its_entities_and_events(site: Site, admin: WebClient) -> None:
    location = ingest(admin, SEED.read_text("utf-8"), "seed")
    assert re.fullmatch(r"/osint/articles/report--[0-9a-f-]{36}\?status=written", location)
    page = admin.get(location)
    assert page.status_code == 200
    html = page.text
    assert "Article ingested." in html
    # Laftit highlighted as a person and linked to his identity; the ministries as
    # organisations; events marked in the text and listed.
    person = re.search(
        r'<a class="ent ent-per" href="/objects/(identity--[0-9a-f-]{36})" '
        r'title="person: Abdelouafi Laftit">Abdelouafi Laftit</a>',
        html,
    )
    assert person is not None
    assert site.node.store.get(person.group(1)) is not None
    assert 'title="organisation: Ministère de l&#39;Intérieur (Maroc)"' in html
    assert html.count('class="ent ent-per"') >= 4  # Laftit, M. Laftit, Darmanin, Macron …
    assert '<span class="event"' in html and ">Agreement<" in html
    # The list of latest articles links to it.
    assert location.split("?")[0] in admin.get("/osint").text
    consulted = [
        row for row in audit_rows(site, "consult") if row[3].get("page") == "osint-article"
    ]
    assert consulted and location.split("/")[3].split("?")[0] in consulted[-1][1]


def test_seed_article_uploaded_then_again_is_unchanged(site: Site, admin: WebClient) -> None:
    form = admin.get("/osint").text
    files = {"file": ("seed.md", SEED.read_bytes(), "text/markdown")}
    answer = admin.http.post("/osint/ingest", data={"csrf": csrf_of(form), "text": ""}, files=files)
    assert answer.status_code == 303 and answer.headers["location"].endswith("status=written")
    again = admin.http.post("/osint/ingest", data={"csrf": csrf_of(form), "text": ""}, files=files)
    assert again.headers["location"].endswith("status=unchanged")
    assert "already ingested" in admin.get(again.headers["location"]).text
    ingests = audit_rows(site, "ingest")
    assert len(ingests) == 1 and ingests[0][0] == "web:admin"
    assert ingests[0][3]["origin"] == "web:seed.md"


def test_a_script_in_an_article_is_shown_as_text(admin: WebClient) -> None:
    page = admin.get(ingest(admin, HOSTILE_ARTICLE))
    assert "<script>window" not in page.text and '<img src="x"' not in page.text
    assert "&lt;script&gt;window.__xss = 1;&lt;/script&gt;" in page.text
    assert "&lt;img src=&#34;x&#34; onerror=&#34;window.__xss = 2&#34;&gt;" in page.text
    assert "Abdelouafi Laftit" in text_of(page.text)


def test_highlight_escapes_every_piece() -> None:
    text = "A <b>Laftit</b> & co\n\nsecond <i>para</i>"
    marked = highlight(
        text,
        [Mark(5, 11, "PER", 'PER: "Laftit"', "/objects/identity--x")],
        [Mark(0, 20, "EVENT", "MEET <x>")],
    )
    assert str(marked) == (
        '<p><span class="event" title="MEET &lt;x&gt;">A &lt;b&gt;'
        '<a class="ent ent-per" href="/objects/identity--x" title="PER: &#34;Laftit&#34;">'
        "Laftit</a>&lt;/b&gt; &amp; co</span></p><p>second &lt;i&gt;para&lt;/i&gt;</p>"
    )
    # Overlapping entities: the first is kept; one straddling an event is left out.
    overlapping = highlight("abcdef", [Mark(0, 3, "ORG", "x"), Mark(2, 5, "PER", "y")])
    assert str(overlapping) == '<p><mark class="ent ent-org" title="x">abc</mark>def</p>'
    straddling = highlight("abcdef", [Mark(2, 5, "PER", "y")], [Mark(0, 3, "EVENT", "e")])
    assert str(straddling) == '<p><span class="event" title="e">abc</span>def</p>'


def test_bad_input_is_refused_and_kept(site: Site, admin: WebClient) -> None:
    empty = admin.post("/osint/ingest", {"text": "   ", "origin": "my notes"}, page="/osint")
    assert empty.status_code == 400
    assert "Paste an article or choose a file." in empty.text
    assert 'value="my notes"' in empty.text
    form = admin.get("/osint").text
    both = admin.http.post(
        "/osint/ingest",
        data={"csrf": csrf_of(form), "text": "Some pasted words"},
        files={"file": ("a.txt", b"Title\n\nBody text.", "text/plain")},
    )
    assert both.status_code == 400 and "not both" in both.text
    assert "Some pasted words</textarea>" in both.text
    binary = admin.http.post(
        "/osint/ingest",
        data={"csrf": csrf_of(form), "text": ""},
        files={"file": ("x.bin", b"\x00\x01\x02" * 100, "application/octet-stream")},
    )
    assert binary.status_code == 400 and "binary data, not an article" in binary.text
    missing = admin.get("/osint/articles/report--00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert admin.get("/osint/articles/not-a-report").status_code == 404
    assert not audit_rows(site, "ingest")


def test_corrections_feed_the_gazetteer(site: Site, admin: WebClient) -> None:
    path = ingest(admin, SEED.read_text("utf-8")).split("?")[0]
    page = admin.get(path).text
    laftit = re.search(r'href="/objects/(identity--[0-9a-f-]{36})" title="person: Abdelouafi', page)
    assert laftit is not None
    # Confirm: the entity as found, recorded with its surface form.
    confirmed = admin.post(
        f"{path}/correct",
        {
            "surface": "Abdelouafi Laftit",
            "type": "PER",
            "canonical": "Abdelouafi Laftit",
            "country": "MA",
            "number": "0",
        },
        page=path,
    )
    assert confirmed.status_code == 303
    # Correct: "SM le Roi" style mistakes are silenced with IGNORE; here "Rabat" is ignored.
    ignored = admin.post(
        f"{path}/correct",
        {"surface": "Rabat", "type": "IGNORE", "canonical": "", "number": "1"},
        page=path,
    )
    assert ignored.status_code == 303
    # Link: the surface "M. Laftit" named after the knowledge-base object.
    linked = admin.post(
        f"{path}/correct",
        {"surface": "le ministre Laftit", "type": "ORG", "object": laftit.group(1), "number": "2"},
        page=path,
    )
    assert linked.status_code == 303
    overlay = overlay_path(site.node.settings.data_dir).read_text("utf-8")
    assert "Abdelouafi Laftit" in overlay and "Rabat" in overlay and "IGNORE" in overlay
    gazetteer = load_gazetteer(site.node.settings.data_dir)
    assert "rabat" in gazetteer.ignored
    after = admin.get(f"{path}?status=corrected").text
    assert "Correction recorded in the gazetteer" in after
    assert 'title="LOC: Rabat"' not in after
    corrections = audit_rows(site, "gazetteer_correct")
    assert [row[3]["type"] for row in corrections] == ["PER", "IGNORE", "PER"]
    assert corrections[2][1] == [laftit.group(1)]


def test_refused_corrections_keep_what_was_typed(site: Site, admin: WebClient) -> None:
    path = ingest(admin, SEED.read_text("utf-8")).split("?")[0]
    wrong_type = admin.post(
        f"{path}/correct",
        {"surface": "Laftit", "type": "PLANET", "canonical": "Planet Laftit", "number": "0"},
        page=path,
    )
    assert wrong_type.status_code == 400
    assert "is not one of PER, ORG, LOC, GROUP, IGNORE" in wrong_type.text
    assert 'value="Planet Laftit"' in wrong_type.text
    bad_country = admin.post(
        f"{path}/correct",
        {
            "surface": "Laftit",
            "type": "PER",
            "canonical": "Laftit",
            "country": "MAR",
            "number": "0",
        },
        page=path,
    )
    assert bad_country.status_code == 400 and "ISO 3166-1 alpha-2" in bad_country.text
    unknown_object = admin.post(
        f"{path}/correct",
        {"surface": "Laftit", "type": "PER", "object": "identity--nothing", "number": "0"},
        page=path,
    )
    assert unknown_object.status_code == 400
    assert "is not a person, organisation, place or group" in unknown_object.text
    assert not overlay_path(site.node.settings.data_dir).exists()


def test_roles_ingesting_and_correcting(site: Site, admin: WebClient) -> None:
    path = ingest(admin, SEED.read_text("utf-8")).split("?")[0]
    site.node.accounts.add_user("vera", "viewer", PASSWORD)
    site.node.accounts.add_user("lena", "liaison", PASSWORD)
    site.node.accounts.add_user("otto", "auditor", PASSWORD)
    viewer = site.client()
    viewer.login("vera")
    home = viewer.get("/osint")
    assert home.status_code == 200 and 'action="/osint/ingest"' not in home.text
    article = viewer.get(path)
    assert article.status_code == 200 and "/correct" not in article.text
    refused = viewer.post("/osint/ingest", {"text": "Title\n\nBody."}, page="/osint")
    assert refused.status_code == 403
    liaison = site.client()
    liaison.login("lena")
    correcting = liaison.post(f"{path}/correct", {"surface": "Rabat", "type": "IGNORE"}, page=path)
    assert correcting.status_code == 403
    auditor = site.client()
    auditor.login("otto")
    assert auditor.get("/osint").status_code == 403
    assert auditor.get(path).status_code == 403
    denied = [row[3]["path"] for row in audit_rows(site, "access_denied")]
    assert "/osint/ingest" in denied and f"{path}/correct" in denied

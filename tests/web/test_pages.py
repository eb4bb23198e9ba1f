"""The pages over real HTTP: knowledge base, object page, personal data, dashboard, audit,
administration; forms keep what was typed when they refuse it; partner text is escaped."""

from __future__ import annotations

import re

import orjson
import sqlalchemy as sa

from diapason.domain.extensions import TLP_2_0_IDS
from diapason.store.schema import audit_log
from tests.builders import sdo, stamp, version
from tests.web.conftest import Site
from tests.web.objects import SCRIPT, actor, hostile, person, relationship, valid
from tests.web.site import PASSWORD, WebClient, put, text_of


def audit_rows(
    site: Site, action: str
) -> list[tuple[str, list[str], str | None, dict[str, object]]]:
    with site.node.database.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                audit_log.c.actor, audit_log.c.object_ids, audit_log.c.reason, audit_log.c.details
            )
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(a, orjson.loads(i), r, orjson.loads(d)) for a, i, r, d in rows]


def test_search_by_words_type_and_marking_pages_forward(site: Site, admin: WebClient) -> None:
    notes = [
        valid(
            sdo(
                "note",
                content=f"smuggling corridor {n}",
                object_refs=[site.node.identity_id],
                object_marking_refs=[TLP_2_0_IDS["green"]],
            )
        )
        for n in range(55)
    ]
    target = actor("Katiba sahélienne", tlp="red")
    put(site.node, *notes, target)
    # A word no shipped definition uses (the coordination ones speak of migration).
    first = admin.get("/objects", q="corridor")
    assert first.status_code == 200
    assert first.text.count('<span class="type">note</span>') == 50
    following = re.search(
        r'href="/objects\?([^"]+)" rel="next"|rel="next" href="/objects\?([^"]+)"', first.text
    )
    assert following is not None
    query = (following.group(1) or following.group(2)).replace("&amp;", "&")
    second = admin.http.get("/objects?" + query)
    assert second.text.count('<span class="type">note</span>') == 5
    assert 'rel="next"' not in second.text
    by_type = admin.get("/objects", type="threat-actor", marking="red")
    assert "Katiba sahélienne" in by_type.text and "smuggling corridor" not in by_type.text
    assert "Katiba" not in admin.get("/objects", type="threat-actor", marking="green").text
    consulted = audit_rows(site, "consult")
    assert consulted[0][0] == "web:admin" and len(consulted[0][1]) == 50


def test_a_refused_search_keeps_what_was_typed(admin: WebClient) -> None:
    response = admin.get("/objects", q="réseau", type="Not A Type!", after="x1")
    assert response.status_code == 400
    assert 'value="réseau"' in response.text and 'value="Not A Type!"' in response.text
    assert "is not a STIX type" in response.text and "page cursor is not valid" in response.text


def test_object_page_shows_marking_grading_provenance_versions_and_neighbours(
    site: Site, admin: WebClient
) -> None:
    first = actor("Katiba du Sahel", tlp="amber", created=stamp(1), modified=stamp(1))
    second = version(first, stamp(3), description="now active in the north")
    place = valid(
        sdo(
            "location",
            name="Tombouctou",
            region="western-africa",
            object_marking_refs=[TLP_2_0_IDS["clear"]],
        )
    )
    link = relationship(first["id"], place["id"])
    put(site.node, first, place, link, source="partner:paris")
    put(site.node, second, source="partner:paris")
    page = admin.get(f"/objects/{first['id']}")
    assert page.status_code == 200
    assert 'class="banner tlp-amber"' in page.text and "TLP:AMBER" in page.text
    text = text_of(page.text)
    assert "B2" in text or "usually reliable" in text
    assert "partner paris" in text
    assert "now active in the north" in text
    assert page.text.count("?version=") == 2
    assert "<svg" in page.text and "Tombouctou" in page.text and "targets" in page.text
    earlier = admin.get(f"/objects/{first['id']}", version=first["modified"])
    assert "You are looking at an earlier version." in earlier.text
    assert admin.get("/objects/not-an-id").status_code == 404
    assert admin.get(f"/objects/{first['id']}", version="2001-01-01T00:00:00Z").status_code == 404
    assert audit_rows(site, "consult")[0][1] == [first["id"]]


def test_disclosure_history_shows_the_ledger(site: Site, admin: WebClient) -> None:
    site.node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris")
    shared = actor("Réseau partagé", tlp="green", created_by_ref=site.node.identity_id)
    put(site.node, shared)
    site.node.ledger.run("tests")
    page = text_of(admin.get(f"/objects/{shared['id']}").text)
    assert "Disclosure history" in page and "paris" in page
    dashboard = text_of(admin.get("/").text)
    assert "Latest released to paris" in dashboard and "Réseau partagé" in dashboard
    assert "Nothing received yet." in dashboard and "Not synchronised yet" in dashboard


def test_dashboard_lists_received_items_the_trend_and_empty_sections(
    site: Site, admin: WebClient
) -> None:
    site.node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris")
    put(site.node, actor("Reçu de Paris", tlp="green"), source="partner:paris")
    page = admin.get("/")
    text = text_of(page.text)
    assert "Latest received from paris" in text and "Reçu de Paris" in text
    assert "No alerts" in text and "No overdue actions" in text and "No open requests" in text
    assert "<svg" in page.text and "Objects added per day" in page.text


def test_how_each_partner_is_reached_shows(site: Site, admin: WebClient) -> None:
    site.node.partners.add("paris", "http://127.0.0.1:9", "dia_token-of-paris")
    site.node.partners.add("madrid", "http://192.0.2.10:8000", "dia_token-of-madrid", insecure=True)
    site.node.partners.add(
        "rome", "https://192.0.2.11", "dia_token-of-rome", fingerprint="ab" * 32,
        client_certificate="cd" * 32,
    )  # fmt: skip
    for page in (text_of(admin.get("/").text), text_of(admin.get("/admin/partners").text)):
        assert "Plain HTTP on this machine (loopback)." in page
        assert "Insecure: plain HTTP outside this machine, allowed by --insecure" in page
        assert f"TLS; its certificate pinned (SHA-256 {'ab' * 8})." in page
        assert f"Its node must present the client certificate SHA-256 {'cd' * 8}." in page
    # The form refuses plain http elsewhere unless the box is ticked, and keeps the rest.
    typed = {
        "name": "berlin",
        "url": "http://192.0.2.12",
        "token": "dia_secret-typed",
        "fingerprint": "",
        "client_fingerprint": "ef" * 32,
    }
    refused = admin.post("/admin/partners/add", typed, page="/admin/partners")
    assert refused.status_code == 400 and "plain http outside loopback" in refused.text
    assert f'value="{"ef" * 32}"' in refused.text and "dia_secret-typed" not in refused.text
    added = admin.post("/admin/partners/add", {**typed, "insecure": "on"}, page="/admin/partners")
    assert added.status_code == 200
    berlin = site.node.partners.get("berlin")
    assert berlin is not None and (berlin.security, berlin.client_certificate) == (
        "insecure",
        "ef" * 32,
    )


def test_personal_data_needs_a_role_and_a_reason(site: Site, admin: WebClient) -> None:
    record = person()
    put(site.node, record)
    path = f"/objects/{record['id']}"
    asked = admin.get(path)
    assert "This record holds personal data" in asked.text and "Ahmed" not in asked.text
    refused = admin.post(path, {"reason": "   "}, page=path)
    assert refused.status_code == 400 and "Ahmed" not in refused.text
    shown = admin.post(path, {"reason": "case 2026/17"}, page=path)
    assert shown.status_code == 200 and "Ahmed Exemple" in shown.text
    consult = [row for row in audit_rows(site, "consult") if row[1] == [record["id"]]]
    assert consult[-1][2] == "case 2026/17" and consult[-1][3]["personal_data"] is True
    site.node.accounts.add_user("vera", "viewer", PASSWORD)
    viewer = site.client()
    viewer.login("vera")
    assert viewer.get(path).status_code == 403
    listing = viewer.get("/objects", type="identity")
    assert "Ahmed" not in listing.text and "[record about a person]" in listing.text


def test_partner_text_is_escaped(site: Site, admin: WebClient) -> None:
    bad = hostile()
    put(site.node, bad, source="partner:paris")
    for page in (admin.get(f"/objects/{bad['id']}"), admin.get("/objects", type="threat-actor")):
        assert "<script>window" not in page.text
        assert "&lt;script&gt;window.__xss = 1;&lt;/script&gt;" in page.text
        assert '<img src="x"' not in page.text
    assert SCRIPT in text_of(admin.get(f"/objects/{bad['id']}").text)


def test_audit_search_and_verification(site: Site, admin: WebClient) -> None:
    page = admin.get("/audit", action="login")
    assert page.status_code == 200 and "web:admin" in page.text
    # The action in words, its code kept for the reader who searches the trail by it.
    assert '<td title="login">sign-in</td>' in page.text
    assert '<option value="login" selected>sign-in</option>' in page.text
    refused = admin.get("/audit", action="nonsense", since="yesterday", actor="web:admin")
    assert refused.status_code == 400 and 'value="web:admin"' in refused.text
    verified = admin.post("/audit/verify", {}, page="/audit")
    assert "Chain intact." in verified.text and "entries verified" in verified.text
    assert audit_rows(site, "audit_verify")[0][3]["ok"] is True
    admin.http.cookies.set("diapason_lang", "fr")
    french = admin.get("/audit", action="login").text
    assert '<td title="login">connexion</td>' in french


def test_administration_of_users_and_tokens(site: Site, admin: WebClient) -> None:
    typed = {"username": "nadia", "role": "liaison", "password": "short", "password2": "short"}
    refused = admin.post("/admin/users/add", typed, page="/admin/users")
    assert refused.status_code == 400 and "at least 12 characters" in refused.text
    assert 'value="nadia"' in refused.text
    assert re.search(r'<option value="liaison" selected>', refused.text)
    typed.update(password=PASSWORD, password2=PASSWORD)
    assert admin.post("/admin/users/add", typed, page="/admin/users").status_code == 303
    nadia = site.client()
    assert nadia.login("nadia").status_code == 303
    made = admin.post(
        "/admin/tokens/create", {"name": "export script", "username": "nadia"}, page="/admin/tokens"
    )
    secret = re.search(r'<code id="new-token">(dia_[^<]+)</code>', made.text)
    assert secret is not None
    assert site.node.accounts.authenticate_token(secret.group(1)) is not None
    listing = admin.get("/admin/tokens")
    assert secret.group(1) not in listing.text and "export script" in listing.text
    token_id = site.node.accounts.list_tokens("nadia")[0].id
    assert (
        admin.post(f"/admin/tokens/{token_id}/revoke", {}, page="/admin/tokens").status_code == 303
    )
    assert site.node.accounts.authenticate_token(secret.group(1)) is None
    # A liaison manages its own tokens only.
    assert (
        nadia.post(
            "/admin/tokens/create", {"name": "x", "username": "admin"}, page="/admin/tokens"
        ).status_code
        == 403
    )
    assert admin.post("/admin/users/nadia/disable", {}, page="/admin/users").status_code == 303
    assert nadia.get("/").status_code == 303  # its session ended with the account


def test_administration_of_partners_and_collections(site: Site, admin: WebClient) -> None:
    typed = {
        "name": "Paris!",
        "url": "ftp://nowhere",
        "token": "dia_secret-typed",
        "identity": "",
        "account": "",
    }
    refused = admin.post("/admin/partners/add", typed, page="/admin/partners")
    assert refused.status_code == 400 and 'value="Paris!"' in refused.text
    assert "dia_secret-typed" not in refused.text
    typed.update(name="paris", url="http://127.0.0.1:9")
    added = admin.post("/admin/partners/add", typed, page="/admin/partners")
    assert added.status_code == 200 and '<code id="partner-token">dia_' in added.text
    assert site.node.partners.get("paris") is not None
    bad = admin.post(
        "/admin/collections/add",
        {"title": "Sahel", "alias": "Bad Alias"},
        page="/admin/collections",
    )
    assert bad.status_code == 400 and 'value="Sahel"' in bad.text
    assert (
        admin.post(
            "/admin/collections/add",
            {"title": "Sahel", "alias": "sahel"},
            page="/admin/collections",
        ).status_code
        == 303
    )
    made = site.node.collections.find("sahel")
    granted = admin.post(
        "/admin/collections/grant",
        {"collection": made.id, "username": "paris", "access": "read"},
        page="/admin/collections",
    )
    assert granted.status_code == 303
    assert site.node.collections.grant_for(made.id, "paris").can_read
    assert admin.post("/admin/partners/paris/remove", {}, page="/admin/partners").status_code == 303
    assert site.node.partners.get("paris") is None


def test_static_assets_are_served_by_the_node(site: Site, admin: WebClient) -> None:
    page = admin.get("/").text
    for reference in re.findall(r'(?:href|src)="([^"#]+)"', page):
        assert reference.startswith("/"), f"{reference} is not served by the node"
    css = admin.get("/static/diapason.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")

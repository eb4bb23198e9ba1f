"""Signing in and out, sessions and their expiry, CSRF, security headers, roles."""

from __future__ import annotations

import orjson
import sqlalchemy as sa

from diapason.store.schema import audit_log, node_meta
from diapason.web.ui.sessions import KEY_PREFIX
from tests.web.conftest import Site
from tests.web.site import PASSWORD, WebClient, csrf_of, text_of

COOKIE = "diapason_session_rabat"


def actions(site: Site, action: str) -> list[tuple[str, dict[str, object]]]:
    with site.node.database.engine.connect() as connection:
        rows = connection.execute(
            sa.select(audit_log.c.actor, audit_log.c.details)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(actor, orjson.loads(details)) for actor, details in rows]


def test_a_wrong_password_is_refused_and_audited(site: Site) -> None:
    client = site.client()
    refused = client.login("admin", "not the password at all")
    assert refused.status_code == 401
    assert "Wrong user name or password." in refused.text
    assert 'value="admin"' in refused.text  # the name typed is kept, the password is not
    assert "not the password" not in refused.text
    assert COOKIE not in client.http.cookies
    unknown = client.login("nobody", PASSWORD)
    assert unknown.status_code == 401
    assert [details["username"] for _, details in actions(site, "login_failed")] == [
        "admin",
        "nobody",
    ]
    # Without a session every page leads to the sign-in form, keeping where it was going.
    response = client.get("/objects", q="x")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fobjects%3Fq%3Dx"


def test_login_then_logout_ends_the_session(site: Site) -> None:
    client = site.client()
    response = client.login()
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert actions(site, "login") == [("web:admin", {"via": "web"})]
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "admin (administrator)" in text_of(dashboard.text)
    stolen = client.http.cookies[COOKIE]
    assert client.post("/logout", {}, page="/").status_code == 303
    assert client.get("/").status_code == 303
    # A copy of the cookie taken before logout is worth nothing after it.
    replay = site.client()
    replay.http.cookies.set(COOKIE, stolen)
    assert replay.get("/").status_code == 303
    assert [actor for actor, _ in actions(site, "logout")] == ["web:admin"]


def test_a_login_goes_back_where_the_reader_was_going_but_only_on_this_site(site: Site) -> None:
    client = site.client()
    page = client.get("/login", next="/audit")
    response = client.http.post(
        "/login",
        data={
            "csrf": csrf_of(page.text),
            "next": "/audit",
            "username": "admin",
            "password": PASSWORD,
        },
    )
    assert response.headers["location"] == "/audit"
    other = site.client()
    page = other.get("/login")
    response = other.http.post(
        "/login",
        data={
            "csrf": csrf_of(page.text),
            "next": "//evil.example/",
            "username": "admin",
            "password": PASSWORD,
        },
    )
    assert response.headers["location"] == "/"


def _age_session(site: Site, **shift: float) -> None:
    with site.node.database.engine.begin() as connection:
        for key, raw in connection.execute(
            sa.select(node_meta.c.key, node_meta.c.value).where(
                node_meta.c.key.startswith(KEY_PREFIX)
            )
        ).all():
            value = orjson.loads(raw)
            for field, seconds in shift.items():
                value[field] -= seconds
            connection.execute(
                node_meta.update()
                .where(node_meta.c.key == key)
                .values(value=orjson.dumps(value).decode())
            )


def test_an_idle_session_expires(site: Site, admin: WebClient) -> None:
    assert admin.get("/").status_code == 200
    _age_session(site, seen=31 * 60)
    assert admin.get("/").status_code == 303


def test_a_session_expires_after_its_lifetime_even_when_used(site: Site, admin: WebClient) -> None:
    _age_session(site, created=13 * 3600)
    assert admin.get("/").status_code == 303


def test_every_form_needs_its_csrf_token(site: Site, admin: WebClient) -> None:
    form = {"username": "nadia", "role": "analyst", "password": "", "password2": ""}
    missing = admin.http.post("/admin/users/add", data=form)
    assert missing.status_code == 403
    other = site.client()
    other.login()
    foreign = admin.http.post(
        "/admin/users/add", data={**form, "csrf": csrf_of(other.get("/").text)}
    )
    assert foreign.status_code == 403
    cross_site = admin.http.post(
        "/admin/users/add",
        data={**form, "csrf": csrf_of(admin.get("/admin/users").text)},
        headers={"Origin": "http://evil.example"},
    )
    assert cross_site.status_code == 403
    assert site.node.accounts.get_user("nadia") is None
    assert len(actions(site, "request_refused")) == 3
    accepted = admin.post("/admin/users/add", form, page="/admin/users")
    assert accepted.status_code == 303
    assert site.node.accounts.get_user("nadia") is not None


def test_security_headers(site: Site) -> None:
    response = site.client().get("/login")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'none'" in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers
    # Behind a TLS proxy on loopback (uvicorn trusts its X-Forwarded-Proto): HSTS, and
    # cookies only over TLS.
    tls = site.client(**{"X-Forwarded-Proto": "https"}).get("/login")
    assert tls.headers["strict-transport-security"].startswith("max-age=")
    assert "secure" in tls.headers["set-cookie"].lower()


def test_each_role_sees_and_reaches_only_what_it_may(site: Site) -> None:
    for name, role in (("vera", "viewer"), ("audrey", "auditor")):
        site.node.accounts.add_user(name, role, PASSWORD)
    viewer = site.client()
    viewer.login("vera")
    nav = viewer.get("/").text
    assert 'href="/objects"' in nav and 'href="/audit"' not in nav
    assert 'href="/admin/users"' not in nav
    assert viewer.get("/audit").status_code == 403
    assert viewer.get("/admin/users").status_code == 403
    auditor = site.client()
    auditor.login("audrey")
    assert auditor.get("/audit").status_code == 200
    assert auditor.get("/objects").status_code == 403
    denied = actions(site, "access_denied")
    assert [(actor, details["path"]) for actor, details in denied] == [
        ("web:vera", "/audit"),
        ("web:vera", "/admin/users"),
        ("web:audrey", "/objects"),
    ]


def test_partner_accounts_cannot_use_the_interface(site: Site) -> None:
    site.node.accounts.add_user("paris", "partner", PASSWORD)
    assert site.client().login("paris").status_code == 401


def test_language_from_the_browser_then_from_the_switch(site: Site) -> None:
    french = site.client(**{"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    page = french.get("/login")
    assert '<html lang="fr">' in page.text and "Se connecter" in page.text
    assert page.headers["content-language"] == "fr"
    switched = french.post("/language", {"lang": "en", "next": "/login"}, page="/login")
    assert switched.headers["location"] == "/login"
    page = french.get("/login")
    assert '<html lang="en">' in page.text and "Sign in" in page.text

"""Sign-in throttling on the web form, over real HTTP: the form says how long to wait, the
right password during a lock gets the very page a wrong one gets, the lock lifts with time;
behind a trusted proxy (the test server believes loopback's X-Forwarded-For, as ``serve``
does by default) each client address counts on its own."""

from __future__ import annotations

import pytest

from tests.clock import Clock
from tests.test_throttle import fixed_clock, small_address_limits
from tests.web.conftest import Site
from tests.web.site import PASSWORD, WebClient, text_of

WRONG = "not the password at all"
COOKIE = "diapason_session_rabat"


@pytest.fixture
def clock(site: Site) -> Clock:
    return fixed_clock(site.node)


def test_forty_wrong_passwords_then_the_right_one_is_refused_during_the_lock(
    site: Site, clock: Clock
) -> None:
    client = site.client()
    answers = [client.login("admin", WRONG) for _ in range(40)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    # The failure that starts a wait says how long it is.
    assert "Wrong user name or password." in text_of(answers[2].text)
    assert "Too many failed sign-ins: try again in 1 s." in text_of(answers[2].text)
    assert {a.status_code for a in answers[3:]} == {429}
    assert "try again in 30 min." in text_of(answers[-1].text)
    right = client.login("admin", PASSWORD)
    wrong = client.login("admin", WRONG)
    # The same page, right or wrong: the password was not even looked at.
    assert right.status_code == wrong.status_code == 429
    assert right.headers["Retry-After"] == wrong.headers["Retry-After"] == "1800"
    assert right.text == wrong.text
    assert COOKIE not in client.http.cookies
    french = site.client(**{"Accept-Language": "fr"})
    assert "Trop d'échecs de connexion : réessayez dans 30 min." in text_of(
        french.login("admin", PASSWORD).text
    )
    # Audited by the authenticator, for the web as for TAXII.
    assert len(site.node.audit.entries(action="login_failed", limit=100)) == 3
    (locked,) = site.node.audit.entries(action="login_locked", limit=100)
    assert locked.details["via"] == "web" and locked.details["username"] == "admin"
    # The lock lifts with time.
    clock.advance(minutes=30)
    assert client.login("admin", PASSWORD).status_code == 303
    assert COOKIE in client.http.cookies


def test_each_address_behind_the_proxy_counts_on_its_own(site: Site, clock: Clock) -> None:
    small_address_limits(site.node)
    attacker = site.client(**{"X-Forwarded-For": "192.0.2.66"})
    for number in range(8):
        attacker.login(f"user{number}", WRONG)
    assert attacker.login("admin", PASSWORD).status_code == 429
    colleague = site.client(**{"X-Forwarded-For": "198.51.100.7"})
    assert colleague.login("admin", PASSWORD).status_code == 303
    (locked,) = site.node.audit.entries(action="login_locked", limit=100)
    assert locked.actor == "anonymous@192.0.2.66"
    assert locked.details["address"] == "192.0.2.66"


def test_an_administrator_unlocks_a_user_on_the_users_page(
    site: Site, clock: Clock, admin: WebClient
) -> None:
    site.node.accounts.add_user("nadia", "analyst", PASSWORD)
    nadia = site.client()
    for _ in range(10):
        nadia.login("nadia", WRONG)
    page = text_of(admin.get("/admin/users").text)
    assert "sign-in locked until 2026-06-15 10:30 UTC" in page
    assert admin.post("/admin/users/nadia/unlock", {}, page="/admin/users").status_code == 303
    assert "locked until" not in text_of(admin.get("/admin/users").text)
    assert nadia.login("nadia", PASSWORD).status_code == 303
    (unlocked,) = site.node.audit.entries(action="user_unlock", limit=10)
    assert unlocked.actor == "web:admin"
    assert unlocked.details == {
        "via": "web",
        "username": "nadia",
        "failures": 10,
        "was_locked": True,
    }
    missing = admin.post("/admin/users/nobody/unlock", {}, page="/admin/users")
    assert missing.status_code == 404

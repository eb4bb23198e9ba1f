"""Sign-in throttling over HTTP Basic: TAXII and the coordination API answer 429 with
Retry-After while an account or address waits or is locked, the right password as a wrong
one; tokens keep working; ``diapason user unlock`` lifts a lock; every worker process of a
node, and a restarted one, sees the same lock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click.testing
import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from diapason.accounts import AccountError
from diapason.cli import cli
from tests.clock import Clock
from tests.taxii.conftest import PASSWORD, TAXII, Taxii, basic, bearer, is_error, open_taxii
from tests.taxii.servers import Server
from tests.test_throttle import fixed_clock, small_address_limits

WRONG = "not the passphrase at all"
ELSEWHERE = ("203.0.113.5", 40000)


def run_cli(taxii: Taxii, *args: str) -> click.testing.Result:
    return click.testing.CliRunner().invoke(
        cli,
        [*args, "--data", str(taxii.data)],
        env={"DIAPASON_DATABASE_URL": taxii.database_url, "COLUMNS": "200"},
        catch_exceptions=False,
    )


@pytest.fixture
def clock(taxii: Taxii) -> Clock:
    return fixed_clock(taxii.node)


def test_forty_wrong_passwords_then_the_right_one_is_refused_during_the_lock(
    taxii: Taxii, clock: Clock
) -> None:
    token = taxii.user("alice", "analyst", password=PASSWORD)
    answers = [taxii.get("/taxii2/", auth=basic("alice", WRONG)) for _ in range(40)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    assert {a.status_code for a in answers[3:]} == {429}
    assert [a.headers["Retry-After"] for a in answers[3:9]] == ["2", "4", "8", "16", "32", "60"]
    assert {a.headers["Retry-After"] for a in answers[9:]} == {"1800"}
    right = taxii.get("/taxii2/", auth=basic("alice", PASSWORD))
    wrong = taxii.get("/taxii2/", auth=basic("alice", WRONG))
    # The same answer, right or wrong: the password was not even looked at.
    for refused in (right, wrong):
        message = is_error(refused, 429)
        assert message["title"] == "Too Many Requests"
        assert "try again in 1800 seconds" in message["description"]
        assert refused.headers["Retry-After"] == "1800"
    assert right.content == wrong.content
    # Tokens are not throttled: alice's scripts keep working.
    assert taxii.get("/taxii2/", auth=bearer(token)).status_code == 200
    assert taxii.get("/taxii2/", auth=basic("alice", token)).status_code == 200
    # The lock lifts with time.
    clock.advance(seconds=1800)
    assert taxii.get("/taxii2/", auth=basic("alice", PASSWORD)).status_code == 200
    assert taxii.get("/taxii2/", auth=basic("alice", WRONG)).status_code == 401


def test_the_coordination_api_answers_429_too(taxii: Taxii, clock: Clock) -> None:
    taxii.user("alice", "analyst", password=PASSWORD)
    for _ in range(10):
        taxii.get("/taxii2/", auth=basic("alice", WRONG))
    response = taxii.client.get(
        "/api/v1/coordinate/groups", headers={"Authorization": basic("alice", PASSWORD)}
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1800"
    assert "too many failed sign-ins" in orjson.loads(response.content)["error"]


def test_an_administrator_unlocks_with_the_cli_and_everything_is_audited(taxii: Taxii) -> None:
    # The real clock: the command line opens the node anew, with the time of the machine.
    # Waits of a minute from the first: a loaded machine never outlasts one between requests.
    throttle = taxii.node.authenticator.throttle
    throttle.policy = replace(throttle.policy, delay=timedelta(minutes=1))
    taxii.user("alice", "analyst", password=PASSWORD)
    for _ in range(12):
        taxii.get("/taxii2/", auth=basic("alice", WRONG))
    listed = run_cli(taxii, "user", "locks", "--json")
    assert listed.exit_code == 0, listed.output
    locks = orjson.loads(listed.output)
    assert [(r["scope"], r["subject"], r["failures"], r["state"]) for r in locks] == [
        ("account", "alice", 10, "locked"),
        ("address", "testclient", 3, "counting"),
    ]
    result = run_cli(taxii, "user", "unlock", "alice")
    assert result.exit_code == 0, result.output
    assert "alice unlocked: 10 failed sign-ins forgotten" in result.output
    assert taxii.get("/taxii2/", auth=basic("alice", PASSWORD)).status_code == 200
    again = run_cli(taxii, "user", "unlock", "alice")
    assert "alice had no failed sign-ins to forget" in again.output
    with pytest.raises(AccountError, match="no user named 'nobody'"):
        run_cli(taxii, "user", "unlock", "nobody")
    assert run_cli(taxii, "user", "unlock").exit_code == 2

    audit = taxii.node.audit
    failed = audit.entries(action="login_failed", limit=100)
    assert [(e.actor, e.details["via"], e.details["username"]) for e in failed] == [
        ("anonymous@testclient", "taxii", "alice")
    ] * 3
    assert len(audit.entries(action="login_throttled", limit=100)) == 9
    (locked,) = audit.entries(action="login_locked", limit=100)
    assert locked.details["username"] == "alice" and locked.details["failures"] == 10
    unlocked = audit.entries(action="user_unlock", limit=100)[0]
    assert unlocked.actor.startswith("cli:")
    assert unlocked.details == {
        "via": "cli",
        "username": "alice",
        "failures": 10,
        "was_locked": True,
    }
    # The requests themselves are audited by the TAXII pipeline, with their status.
    refused = audit.entries(action="request_refused", limit=100)
    assert {e.details["status"] for e in refused} == {429}
    # Never a password.
    everything = repr([e.as_dict() for e in audit.entries(limit=1000)])
    assert WRONG not in everything and PASSWORD not in everything


def test_a_locked_address_does_not_lock_the_account_out_elsewhere(taxii: Taxii) -> None:
    taxii.user("alice", "analyst", password=PASSWORD)
    small_address_limits(taxii.node)
    for number in range(8):
        taxii.get("/taxii2/", auth=basic(f"user{number}", WRONG))
    here = taxii.get("/taxii2/", auth=basic("alice", PASSWORD))
    assert here.status_code == 429
    elsewhere = TestClient(taxii.client.app, client=ELSEWHERE)
    answer = elsewhere.get(
        "/taxii2/", headers={"Accept": TAXII, "Authorization": basic("alice", PASSWORD)}
    )
    assert answer.status_code == 200
    result = run_cli(taxii, "user", "unlock", "--address", "testclient")
    assert "address testclient unlocked" in result.output
    assert taxii.get("/taxii2/", auth=basic("alice", PASSWORD)).status_code == 200


@pytest.mark.slow
def test_two_server_processes_and_a_restart_share_the_lock(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "served"
    node, _ = open_taxii(data, database_url)
    node.accounts.add_user("alice", "analyst", PASSWORD)
    node.close()
    # Waits of a minute from the first: requests on a slow machine never outlast them.
    with (data / "diapason.toml").open("a") as config:
        config.write("signin_delay_seconds = 60\n")
    first = Server.start(data, database_url)
    second = Server.start(data, database_url)
    try:

        def get(server: Server, password: str) -> httpx.Response:
            return httpx.get(
                f"{server.url}/taxii2/",
                headers={"Accept": TAXII, "Authorization": basic("alice", password)},
                timeout=30,
            )

        statuses = [get(first if n % 2 else second, WRONG).status_code for n in range(12)]
        assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}
        refused = get(second, PASSWORD)
        assert refused.status_code == 429
        assert 1700 < int(refused.headers["Retry-After"]) <= 1800
        second = second.restart()
        assert get(second, PASSWORD).status_code == 429
    finally:
        first.stop()
        second.stop()

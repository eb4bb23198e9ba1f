"""Sign-in throttling on both databases: waits that grow, locks, lifted by time or by an
administrator, per account name and per client address, shared by every process of a node;
the right password during a lock answered as a wrong one; tokens untouched; audited."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from diapason.accounts import (
    ACCOUNT,
    ADDRESS,
    Limits,
    SignInThrottle,
    ThrottlePolicy,
    address_key,
)
from diapason.authentication import SignInThrottled
from diapason.node import Node, init_node
from diapason.settings import SettingsError, load_settings
from diapason.store.schema import audit_log, signin_failures
from tests.clock import NOW, Clock

PASSWORD = "a long enough passphrase"
WRONG = "not the passphrase at all"
HERE = "192.0.2.10"
THERE = "198.51.100.20"


def open_node(data: Path, database_url: str) -> Node:
    settings = load_settings(data, environ={}, database_url=database_url, sync_interval=0)
    node, _ = init_node(settings, "tests")
    return node


def fixed_clock(node: Node) -> Clock:
    """Make ``node``'s throttle see the time of a new ``Clock``, which the test moves."""
    clock = Clock()
    node.authenticator.throttle.clock = clock
    return clock


def small_address_limits(node: Node) -> None:
    """An address waits from 4 failures and is locked at 8: the same story as with the
    defaults (10 and 50) for fewer Argon2 checks. Every wait is a minute, which no request
    outlasts on a loaded machine, when a test runs on the real clock."""
    throttle = node.authenticator.throttle
    throttle.policy = replace(throttle.policy, address=Limits(4, 8), delay=timedelta(minutes=1))


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    opened = open_node(tmp_path / "node", database_url)
    opened.accounts.add_user("alice", "analyst", PASSWORD)
    fixed_clock(opened)
    yield opened
    opened.close()


def clock_of(node: Node) -> Clock:
    clock = node.authenticator.throttle.clock
    assert isinstance(clock, Clock)
    return clock


def outcome(node: Node, username: str, password: str, client: str = HERE) -> str | int:
    """ "user", "none" (wrong), or the Retry-After of a throttled refusal."""
    try:
        user = node.authenticator.sign_in(username, password, client=client)
    except SignInThrottled as refusal:
        return refusal.retry_after
    return "user" if user is not None else "none"


def audited(node: Node, action: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.actor, e.details) for e in node.audit.entries(action=action, limit=10_000)]


def test_the_policy_waits_longer_at_each_failure_then_locks(tmp_path: Path) -> None:
    policy = ThrottlePolicy.from_settings(load_settings(tmp_path, environ={}))
    waits = []
    for failures in range(1, 12):
        not_before, locked_until = policy.after(ACCOUNT, failures, NOW)
        waits.append((int((not_before - NOW).total_seconds()), locked_until is not None))
    assert waits == [
        (0, False),
        (0, False),
        (1, False),
        (2, False),
        (4, False),
        (8, False),
        (16, False),
        (32, False),
        (60, False),
        (1800, True),
        (1800, True),
    ]
    # An address has its own thresholds.
    assert policy.after(ADDRESS, 9, NOW) == (NOW, None)
    assert policy.after(ADDRESS, 50, NOW)[1] == NOW + timedelta(seconds=1800)


def test_addresses_are_keyed_so_that_a_fresh_one_is_not_a_fresh_start() -> None:
    assert address_key("192.0.2.10") == "192.0.2.10"
    # One IPv6 /64 is one key: an attacker holding a /64 has 2**64 addresses.
    assert address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("::ffff:192.0.2.10") == "192.0.2.10"
    assert address_key("testclient") == "testclient"
    assert address_key(None) == "unknown"
    assert address_key("bad\x00host") == "unknown"
    assert address_key("x" * 500) == "x" * 100


def test_forty_wrong_passwords_lock_the_account_and_the_right_one_is_refused(
    node: Node,
) -> None:
    answers = [outcome(node, "alice", WRONG) for _ in range(40)]
    # Three checked (wrong), then refusals without a check: the attempts that came during a
    # wait are counted, so hammering reaches the lock at the tenth.
    assert answers[:3] == ["none", "none", "none"]
    assert all(isinstance(answer, int) for answer in answers[3:])
    assert answers[9:] == [1800] * 31
    # The right password during the lock: the same answer as a wrong one.
    assert outcome(node, "alice", PASSWORD) == 1800
    assert outcome(node, "alice", WRONG) == 1800
    # Only the three admitted attempts reached the password check.
    assert len(audited(node, "login_failed")) == 3
    throttled = audited(node, "login_throttled")
    assert len(throttled) == 39
    assert throttled[-1] == (
        f"anonymous@{HERE}",
        {
            "via": "web",
            "username": "alice",
            "address": HERE,
            "retry_after": 1800,
            "locked": True,
        },
    )
    locks = audited(node, "login_locked")
    assert locks == [
        (
            f"anonymous@{HERE}",
            {
                "via": "web",
                "scope": "account",
                "username": "alice",
                "failures": 10,
                "until": "2026-06-15T10:30:00Z",
            },
        )
    ]
    # Never a password in the trail.
    with node.database.engine.connect() as connection:
        trail = repr(connection.execute(sa.select(audit_log)).all())
    assert WRONG not in trail and PASSWORD not in trail


def test_a_lock_lifts_with_time_and_the_next_failure_locks_again(node: Node) -> None:
    clock = clock_of(node)
    for _ in range(12):
        outcome(node, "alice", WRONG)
    assert outcome(node, "alice", PASSWORD) == 1800
    clock.advance(seconds=1799)
    assert outcome(node, "alice", PASSWORD) == 1
    clock.advance(seconds=1)
    # After the lock one attempt is checked; a wrong one locks again at once…
    assert outcome(node, "alice", WRONG) == "none"
    assert outcome(node, "alice", PASSWORD) == 1800
    clock.advance(seconds=1800)
    # … and the right one signs in and forgets every failure.
    assert outcome(node, "alice", PASSWORD) == "user"
    assert node.authenticator.throttle.records() == []
    assert outcome(node, "alice", WRONG) == "none"


def test_a_patient_user_waits_as_told_and_is_locked_only_at_the_tenth_failure(
    node: Node,
) -> None:
    clock = clock_of(node)
    waits = []
    for _ in range(9):
        assert outcome(node, "alice", WRONG) == "none"
        # What the form tells whoever failed: how long to wait before the next attempt.
        wait = node.authenticator.wait("alice", HERE)
        waits.append(wait)
        clock.advance(seconds=wait)
    # Whoever waits as told gets every attempt checked: 1, 2, 4… seconds, up to a minute.
    assert waits == [0, 0, 1, 2, 4, 8, 16, 32, 60]
    # The tenth checked failure locks.
    assert outcome(node, "alice", WRONG) == "none"
    assert node.authenticator.wait("alice", HERE) == 1800
    assert len(audited(node, "login_locked")) == 1


@pytest.mark.slow
def test_unknown_names_are_throttled_exactly_like_real_ones(node: Node) -> None:
    real = [outcome(node, "alice", WRONG, HERE) for _ in range(15)]
    unknown = [outcome(node, "nobody", WRONG, THERE) for _ in range(15)]
    assert real == unknown
    assert audited(node, "login_locked")[1][1]["username"] == "nobody"


def test_an_address_spraying_names_is_locked_without_locking_those_accounts(
    node: Node,
) -> None:
    clock = clock_of(node)
    small_address_limits(node)
    sprayed = []
    # One wrong password for each of many names, from one address, each once its wait is
    # over: no account reaches its own threshold, the address reaches its own.
    for number in range(12):
        sprayed.append(outcome(node, f"user{number:02d}", WRONG, HERE))
        clock.advance(seconds=61)
    assert sprayed[:8] == ["none"] * 8
    assert sprayed[8:] == [1800 - 61 * n for n in range(1, 5)]
    # Alice, at another address, is not held up by that address…
    assert outcome(node, "alice", PASSWORD, THERE) == "user"
    # … while from the locked address even her right password is refused.
    assert outcome(node, "alice", PASSWORD, HERE) == 1800 - 61 * 5
    locked = [f for f in node.authenticator.throttle.records() if f.locked(clock())]
    assert [(f.scope, f.subject, f.failures) for f in locked] == [(ADDRESS, HERE, 8)]
    assert audited(node, "login_locked")[0][1]["address"] == HERE


def test_an_account_lock_holds_from_every_address(node: Node) -> None:
    for _ in range(10):
        outcome(node, "alice", WRONG, HERE)
    # The account is what is guessed at: its lock holds whatever the address (by design;
    # tokens keep working, an administrator can lift it).
    assert outcome(node, "alice", PASSWORD, THERE) == 1800
    # Another account at the attacker's address is held up only by the address's count.
    node.accounts.add_user("bob", "viewer", PASSWORD)
    assert outcome(node, "bob", PASSWORD, HERE) == "user"


def test_tokens_are_not_throttled(node: Node) -> None:
    token = node.accounts.create_token("alice", "script").secret
    for _ in range(12):
        outcome(node, "alice", WRONG)
    assert outcome(node, "alice", PASSWORD) == 1800
    assert node.authenticator.authenticate(f"Bearer {token}", client=HERE) is not None
    basic = "Basic " + base64.b64encode(f"alice:{token}".encode()).decode()
    assert node.authenticator.authenticate(basic, client=HERE) is not None


def test_a_remembered_password_does_not_pass_a_lock(node: Node) -> None:
    assert outcome(node, "alice", PASSWORD) == "user"  # now remembered for a minute
    for _ in range(10):
        outcome(node, "alice", WRONG, THERE)
    assert outcome(node, "alice", PASSWORD) == 1800


def test_an_administrator_lifts_a_lock(node: Node) -> None:
    throttle = node.authenticator.throttle
    for _ in range(12):
        outcome(node, "alice", WRONG)
    lifted = throttle.unlock(username="alice")
    assert [(f.scope, f.subject, f.failures) for f in lifted] == [(ACCOUNT, "alice", 10)]
    assert outcome(node, "alice", PASSWORD) == "user"
    assert throttle.unlock(username="alice") == []
    # Names sprayed at once from one address (waits from 4 failures, a lock at 8): its
    # waits are hammered into a lock.
    small_address_limits(node)
    for number in range(8):
        outcome(node, f"name{number}", WRONG, THERE)
    assert outcome(node, "alice", PASSWORD, THERE) == 1800
    assert [(f.scope, f.subject) for f in throttle.unlock(address=THERE)] == [(ADDRESS, THERE)]
    assert outcome(node, "alice", PASSWORD, THERE) == "user"


def test_failures_are_forgotten_a_day_after_the_last(node: Node) -> None:
    clock = clock_of(node)
    outcome(node, "alice", WRONG)
    outcome(node, "alice", WRONG)
    clock.advance(days=1)
    # A fresh start: two more failures are not yet a wait, and the old rows are dropped.
    assert [outcome(node, "alice", WRONG) for _ in range(2)] == ["none", "none"]
    with node.database.engine.connect() as connection:
        counts = connection.execute(sa.select(signin_failures.c.failures)).scalars().all()
    assert counts == [2, 2]


def test_every_process_of_a_node_and_a_restart_see_the_same_failures(
    tmp_path: Path, database_url: str
) -> None:
    data = tmp_path / "shared"
    first = open_node(data, database_url)
    first.accounts.add_user("alice", "analyst", PASSWORD)
    second = open_node(data, database_url)
    clock = Clock()
    first.authenticator.throttle.clock = second.authenticator.throttle.clock = clock
    try:
        for _ in range(5):
            outcome(first, "alice", WRONG)
            outcome(second, "alice", WRONG)
        assert outcome(second, "alice", PASSWORD) == 1800
        second.close()
        second = open_node(data, database_url)
        second.authenticator.throttle.clock = clock
        assert outcome(second, "alice", PASSWORD) == 1800
    finally:
        first.close()
        second.close()


def test_malformed_credentials_are_refused_unchecked_and_uncounted(node: Node) -> None:
    for username, password in [("Alice", PASSWORD), ("alice", ""), ("alice", "x" * 1025)]:
        assert outcome(node, username, password) == "none"
    assert node.authenticator.throttle.records() == []
    assert [d["why"] for _, d in audited(node, "login_failed")] == ["malformed"] * 3


def test_the_throttle_settings_are_checked(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"DIAPASON_SIGNIN_LOCK_AFTER": "5"})
    assert ThrottlePolicy.from_settings(settings).account == Limits(3, 5)
    with pytest.raises(SettingsError, match=r"signin_lock_seconds .* must be positive"):
        load_settings(tmp_path, environ={"DIAPASON_SIGNIN_LOCK_SECONDS": "0"})
    with pytest.raises(SettingsError, match=r"'proxy\.example' is not an IP address"):
        load_settings(tmp_path, environ={"DIAPASON_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"})
    proxies = load_settings(tmp_path, environ={"DIAPASON_TRUSTED_PROXIES": " 10.0.0.0/8 , ::1 "})
    assert proxies.trusted_proxies == "10.0.0.0/8,::1"
    assert load_settings(tmp_path, environ={}).trusted_proxies == "127.0.0.1,::1"


def test_a_throttle_alone_over_an_engine(engine: sa.Engine) -> None:
    clock = Clock()
    one = timedelta(seconds=1)
    policy = ThrottlePolicy(Limits(1, 2), Limits(5, 9), one, 60 * one, 1800 * one, 86400 * one)
    throttle = SignInThrottle(engine, policy, clock=clock)
    first = throttle.attempt("alice", HERE)
    assert first.admitted and first.counts[0].failures == 1
    assert throttle.wait("alice", HERE) == 1
    clock.advance(seconds=1)
    second = throttle.attempt("alice", HERE)
    # Admitted, and counted before the check: it locks, unless the password proves right.
    assert second.admitted and [f.scope for f in second.locking] == [ACCOUNT]
    refused = throttle.attempt("alice", HERE)
    assert (refused.admitted, refused.locked, refused.retry_after(clock())) == (False, True, 1800)
    assert throttle.wait("alice", HERE) == 1800 and throttle.wait("bob", THERE) == 0
    throttle.succeeded("alice", HERE)
    assert throttle.records() == []

"""The audit trail on both databases: chaining, refusals, tampering caught, concurrency."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from diapason.audit import GENESIS_HASH, AuditEntry, AuditError, AuditLog, entry_hash
from diapason.store.db import write_transaction
from diapason.store.schema import audit_log, counters
from tests.audit.tamper import without_triggers


@pytest.fixture
def log(engine: sa.Engine) -> AuditLog:
    return AuditLog(engine)


def fill(log: AuditLog, count: int) -> list[AuditEntry]:
    return [
        log.append(f"user{n % 3}", "create", [f"note--{n}"], details={"n": n})
        for n in range(1, count + 1)
    ]


def test_append_returns_what_is_stored_and_chains(log: AuditLog) -> None:
    first = log.append("alice", "init")
    second = log.append(
        "alice",
        "consult",
        ("person--1", "report--2"),
        reason="case 2024/17",
        details={"personal_data": True, "fields": ("name", "birth")},
    )
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    assert second.seq == 2
    assert second.prev_hash == first.hash
    # Details went through JSON: a tuple comes back as a list, as it is hashed and stored.
    assert second.details == {"personal_data": True, "fields": ["name", "birth"]}
    assert log.entries() == [first, second]
    assert second.as_dict()["object_ids"] == ["person--1", "report--2"]
    assert second.hash == entry_hash(
        seq=2,
        at=second.at,
        actor="alice",
        action="consult",
        object_ids=["person--1", "report--2"],
        reason="case 2024/17",
        details=second.details,
        prev_hash=first.hash,
    )
    assert log.latest() == second


def test_chain_of_100_verifies(log: AuditLog) -> None:
    entries = fill(log, 100)
    assert [entry.seq for entry in entries] == list(range(1, 101))
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    seen: list[int] = []
    result = log.verify(progress=seen.append)
    assert result.ok
    assert result.checked == 100
    assert result.broken_seq is None
    assert entries[-1].hash in result.message
    assert seen == [100]


def test_empty_log_verifies(log: AuditLog) -> None:
    result = log.verify()
    assert result.ok and result.checked == 0 and result.broken_seq is None
    assert log.latest() is None


def test_unknown_action_is_refused(log: AuditLog) -> None:
    with pytest.raises(AuditError, match="'teleport'"):
        log.append("alice", "teleport")
    assert log.entries() == []


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_consulting_personal_data_needs_a_reason(log: AuditLog, reason: str | None) -> None:
    with pytest.raises(AuditError, match="personal data needs a reason"):
        log.append("alice", "consult", ["person--1"], reason=reason, details={"personal_data": 1})
    assert log.entries() == []
    # Without personal data, consulting needs no reason.
    assert log.append("alice", "consult", ["report--1"], details={"personal_data": False}).seq == 1
    entry = log.append(
        "alice", "consult", ["person--1"], reason=" inquiry ", details={"personal_data": True}
    )
    assert entry.reason == "inquiry"


def test_bad_entries_are_refused(log: AuditLog) -> None:
    with pytest.raises(AuditError, match="JSON"):
        log.append("alice", "create", details={"when": object()})
    with pytest.raises(AuditError, match="JSON"):
        log.append("alice", "create", details={1: "not a string key"})  # type: ignore[dict-item]
    with pytest.raises(AuditError, match="single string"):
        log.append("alice", "create", "report--1")
    with pytest.raises(AuditError, match="actor"):
        log.append("  ", "create")
    with pytest.raises(AuditError, match="actor"):
        log.append("a" * 201, "create")
    with pytest.raises(AuditError, match="object id"):
        log.append("alice", "create", [""])
    assert log.entries() == []
    assert log.verify().ok


def test_update_and_delete_refused_by_the_database(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 3)
    with engine.connect() as connection:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            connection.execute(audit_log.update().where(audit_log.c.seq == 2).values(actor="x"))
        connection.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            connection.execute(audit_log.delete().where(audit_log.c.seq == 2))
        connection.rollback()
    assert [entry.actor for entry in log.entries()] == ["user1", "user2", "user0"]
    assert log.verify().ok


def test_altered_entry_is_named(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 100)
    with without_triggers(engine) as connection:
        connection.execute(audit_log.update().where(audit_log.c.seq == 42).values(actor="mallory"))
    result = log.verify()
    assert not result.ok
    assert result.broken_seq == 42
    assert result.checked == 41
    assert result.message == "entry 42: content does not match its hash (altered)"


def test_altered_details_are_caught(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 10)
    with without_triggers(engine) as connection:
        connection.execute(audit_log.update().where(audit_log.c.seq == 7).values(details='{"n":8}'))
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 7)


def test_invalid_json_is_caught(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 5)
    with without_triggers(engine) as connection:
        connection.execute(audit_log.update().where(audit_log.c.seq == 3).values(object_ids="[x"))
    result = log.verify()
    assert result.broken_seq == 3
    assert "not valid JSON" in result.message


def test_rehashed_entry_breaks_the_next_link(log: AuditLog, engine: sa.Engine) -> None:
    entries = fill(log, 50)
    target = entries[41]
    # A careful attacker also recomputes the altered entry's own hash.
    forged = entry_hash(
        seq=target.seq,
        at=target.at,
        actor="mallory",
        action=target.action,
        object_ids=target.object_ids,
        reason=target.reason,
        details=target.details,
        prev_hash=target.prev_hash,
    )
    with without_triggers(engine) as connection:
        connection.execute(
            audit_log.update()
            .where(audit_log.c.seq == target.seq)
            .values(actor="mallory", hash=forged)
        )
    result = log.verify()
    assert result.broken_seq == 43
    assert result.message == "entry 43: prev_hash does not match entry 42"


def test_changed_prev_hash_is_caught(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 50)
    with without_triggers(engine) as connection:
        connection.execute(
            audit_log.update().where(audit_log.c.seq == 30).values(prev_hash="f" * 64)
        )
    result = log.verify()
    assert result.broken_seq == 30
    assert result.message == "entry 30: prev_hash does not match entry 29"


def test_changed_first_prev_hash_is_caught(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 3)
    with without_triggers(engine) as connection:
        connection.execute(
            audit_log.update().where(audit_log.c.seq == 1).values(prev_hash="1" * 64)
        )
    result = log.verify()
    assert result.broken_seq == 1
    assert "genesis" in result.message


@pytest.mark.parametrize(("removed", "expected"), [([50], 50), ([1], 1), ([17, 18], 17)])
def test_deleted_entry_is_caught(
    log: AuditLog, engine: sa.Engine, removed: list[int], expected: int
) -> None:
    fill(log, 100)
    with without_triggers(engine) as connection:
        connection.execute(audit_log.delete().where(audit_log.c.seq.in_(removed)))
    result = log.verify()
    assert not result.ok
    assert result.broken_seq == expected
    assert result.message == f"entry {expected} is missing"


def test_cut_tail_is_caught_by_the_counter(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 20)
    with without_triggers(engine) as connection:
        connection.execute(audit_log.delete().where(audit_log.c.seq >= 19))
    result = log.verify()
    assert not result.ok
    assert result.broken_seq == 19
    assert result.message.startswith("entry 19 is missing")
    assert result.checked == 18


def test_append_after_a_deletion_keeps_chaining(log: AuditLog, engine: sa.Engine) -> None:
    fill(log, 5)
    with without_triggers(engine) as connection:
        connection.execute(audit_log.delete().where(audit_log.c.seq == 5))
    entry = log.append("alice", "login")
    assert entry.seq == 6
    assert entry.prev_hash == log.entries()[3].hash
    assert log.verify().broken_seq == 5


def test_append_in_the_callers_transaction(log: AuditLog, engine: sa.Engine) -> None:
    with pytest.raises(RuntimeError), write_transaction(engine) as connection:
        log.append("alice", "create", ["note--1"], connection=connection)
        raise RuntimeError("the change being recorded failed")
    # The entry and its seq rolled back with the caller's change.
    assert log.entries() == []
    with write_transaction(engine) as connection:
        first = log.append("alice", "create", ["note--1"], connection=connection)
        second = log.append("alice", "update", ["note--1"], connection=connection)
    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.hash)
    assert log.entries() == [first, second]
    assert log.verify().ok


@pytest.mark.parametrize("threads", [2, 4])
def test_concurrent_appends_make_one_valid_chain(log: AuditLog, threads: int) -> None:
    per_thread = 40

    def work(worker: int) -> list[int]:
        return [
            log.append(f"worker{worker}", "receive", [f"note--{worker}-{n}"]).seq
            for n in range(per_thread)
        ]

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(work, range(threads)))
    seqs = sorted(seq for result in results for seq in result)
    assert seqs == list(range(1, threads * per_thread + 1))
    result = log.verify()
    assert result.ok, result.message
    assert result.checked == threads * per_thread


def test_entries_filters_and_pages(log: AuditLog) -> None:
    log.append("alice", "login")
    log.append("bob", "create", ["report--1", "note--1"])
    log.append("alice", "consult", ["report--1"], reason="r", details={"personal_data": True})
    # Ids that contain each other, or quotes, must not match by accident.
    log.append("bob", "create", ["report--10"])
    log.append("bob", "create", ['"report--1'])
    log.append("bob", "create", ['x"report--1"'])
    assert [e.seq for e in log.entries(actor="alice")] == [1, 3]
    assert [e.seq for e in log.entries(action="create")] == [2, 4, 5, 6]
    assert [e.seq for e in log.entries(object_id="report--1")] == [2, 3]
    assert [e.seq for e in log.entries(object_id='"report--1')] == [5]
    assert [e.seq for e in log.entries(object_id="report--1", limit=1)] == [2]
    assert [e.seq for e in log.entries(object_id="report--1", after=2)] == [3]
    assert [e.seq for e in log.entries(object_id="%")] == []
    assert [e.seq for e in log.entries(actor="bob", action="create", after=2, limit=2)] == [4, 5]
    assert [e.seq for e in log.entries(after=4)] == [5, 6]
    assert [e.seq for e in log.entries(limit=2)] == [1, 2]
    everything = log.entries()
    assert log.entries(since=everything[2].at)[0].seq <= 3
    assert log.entries(since="2000-01-01") == everything
    assert log.entries(since="9999") == []


def test_verify_streams_in_batches_and_reports_progress(log: AuditLog, engine: sa.Engine) -> None:
    # 12,001 entries written in bulk (appending one by one would only be slower).
    count = 12_001
    rows: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        at = f"2026-01-01T00:00:00.{seq:06d}Z"
        details = {"n": seq}
        digest = entry_hash(
            seq=seq,
            at=at,
            actor="bulk",
            action="import",
            object_ids=[],
            reason=None,
            details=details,
            prev_hash=previous,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": "bulk",
                "action": "import",
                "object_ids": "[]",
                "reason": None,
                "details": orjson.dumps(details).decode(),
                "prev_hash": previous,
                "hash": digest,
            }
        )
        previous = digest
    with write_transaction(engine) as connection:
        connection.execute(audit_log.insert(), rows)
        connection.execute(counters.update().where(counters.c.name == "audit").values(value=count))
    seen: list[int] = []
    result = log.verify(progress=seen.append)
    assert result.ok, result.message
    assert result.checked == count
    assert seen == [5000, 10000, count]
    assert log.append("alice", "audit_verify").prev_hash == previous

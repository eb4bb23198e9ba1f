"""The keyed trail on both databases: the key is introduced once, covers what came before,
and a chain recomputed without it is caught; one recomputed with it is caught by the heads
a partner witnessed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from diapason.audit import (
    KEY_ACTION,
    AuditError,
    AuditKey,
    AuditKeyError,
    AuditLog,
    WitnessedHead,
    entry_hash,
)
from diapason.settings import Secret
from diapason.store.db import write_transaction
from diapason.store.schema import audit_log
from tests.audit.tamper import rewrite, without_triggers

KEY = AuditKey(Secret("k" * 40), "the tests' key")
OTHER = AuditKey(Secret("o" * 40), "another key")


def fill(log: AuditLog, count: int, start: int = 1) -> None:
    for n in range(start, start + count):
        log.append(f"user{n % 3}", "create", [f"note--{n}"], details={"n": n})


def witnessed(log: AuditLog, at: str = "2026-01-01T00:00:00.000000Z") -> WitnessedHead:
    """The trail's head now, as a partner would keep it."""
    head = log.head()
    assert head is not None
    return WitnessedHead(head.seq, head.hash, at)


def test_a_new_trail_starts_with_the_key_introduced(engine: sa.Engine) -> None:
    log = AuditLog(engine, KEY)
    entry = log.append("alice", "init")
    first, second = log.entries()
    assert (first.action, first.seq, first.keyed) == (KEY_ACTION, 1, True)
    assert first.details == {
        "keyed_from": 1,
        "algorithm": "HMAC-SHA256",
        "key_id": KEY.key_id,
        "unkeyed_entries": 0,
    }
    assert second == entry and entry.seq == 2 and entry.keyed
    assert entry.prev_hash == first.hash
    # The hash is the HMAC: without the key it cannot be computed.
    keyed, plain = (
        entry_hash(
            seq=2,
            at=entry.at,
            actor="alice",
            action="init",
            object_ids=[],
            reason=None,
            details={},
            prev_hash=first.hash,
            key=key,
        )
        for key in (KEY, None)
    )
    assert entry.hash == keyed != plain
    assert log.introduce_key("alice") is None  # once only
    result = log.verify()
    assert result.ok, result.message
    assert f"keyed from entry 1 (key id {KEY.key_id})" in result.message


def test_the_key_id_tells_nothing_of_the_key() -> None:
    assert len(KEY.key_id) == 16
    assert KEY.key_id != OTHER.key_id
    assert "k" * 16 not in KEY.key_id
    assert "kkkk" not in repr(KEY) and "kkkk" not in str(KEY)


def test_an_upgraded_trail_keeps_its_prefix_and_keys_the_rest(engine: sa.Engine) -> None:
    fill(AuditLog(engine), 5)  # written before the node had a key
    log = AuditLog(engine, KEY)
    intro = log.introduce_key("cli:admin")
    assert intro is not None and intro.seq == 6
    assert intro.details["keyed_from"] == 6 and intro.details["unkeyed_entries"] == 5
    fill(log, 3, start=6)
    assert [e.keyed for e in log.entries()] == [False] * 5 + [True] * 4
    result = log.verify()
    assert result.ok and result.checked == 9
    assert "keyed from entry 6" in result.message


def test_the_unkeyed_prefix_is_sealed_by_the_first_keyed_entry(engine: sa.Engine) -> None:
    fill(AuditLog(engine), 5)
    log = AuditLog(engine, KEY)
    fill(log, 2, start=6)  # the first keyed append introduces the key itself
    assert log.entries()[5].action == KEY_ACTION
    # Rewriting an old entry and recomputing the unkeyed hashes needs no key, but the
    # entry introducing the key chains to the old head under the key.
    with without_triggers(engine) as connection:
        rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all()
        previous = rows[2].prev_hash
        for row in rows[2:5]:
            digest = entry_hash(
                seq=row.seq,
                at=row.at,
                actor="mallory" if row.seq == 3 else row.actor,
                action=row.action,
                object_ids=orjson.loads(row.object_ids),
                reason=row.reason,
                details=orjson.loads(row.details),
                prev_hash=previous,
            )
            connection.execute(
                audit_log.update()
                .where(audit_log.c.seq == row.seq)
                .values(
                    actor="mallory" if row.seq == 3 else row.actor,
                    prev_hash=previous,
                    hash=digest,
                )
            )
            previous = digest
    result = log.verify()
    assert not result.ok and result.broken_seq == 6
    assert result.message == "entry 6: prev_hash does not match entry 5"


def test_a_chain_recomputed_without_the_key_is_caught(engine: sa.Engine) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 10)
    rewrite(engine, OTHER, 4, actor="mallory")  # the thief guessed a key
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 4)
    assert "does not match its keyed hash" in result.message


def test_a_keyed_suffix_rewritten_unkeyed_is_caught(engine: sa.Engine) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 10)
    # The entries from 4 on rewritten as if they had never been keyed: no key needed.
    rewrite(engine, None, 4, actor="mallory")
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 4)
    assert result.message == (
        "entry 4 is not keyed although the trail is keyed from entry 1: it was rewritten "
        "without the audit key"
    )


def test_a_trail_rewritten_whole_as_unkeyed_is_not_taken_for_a_new_one(
    engine: sa.Engine,
) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 5)
    rewrite(engine, None, 1, actor="mallory")
    result = log.verify()
    assert not result.ok
    assert "no entry is keyed although this node has an audit key" in result.message


def test_the_wrong_key_is_named(engine: sa.Engine) -> None:
    fill(AuditLog(engine, KEY), 3)
    result = AuditLog(engine, OTHER).verify()
    assert (result.ok, result.broken_seq) == (False, 1)
    assert result.message == (
        f"entry 1 introduced the audit key with key id {KEY.key_id}; this node's key "
        f"(another key) has key id {OTHER.key_id}: it is not the key the trail was written "
        "with"
    )
    with pytest.raises(AuditKeyError, match="is not the key the audit trail was written with"):
        AuditLog(engine, OTHER).introduce_key("cli:admin")


def test_without_the_key_a_keyed_trail_is_neither_extended_nor_verified(
    engine: sa.Engine, tmp_path: Path
) -> None:
    fill(AuditLog(engine, KEY), 3)
    keyless = AuditLog(engine)
    with pytest.raises(AuditError, match="the audit trail is keyed"):
        keyless.append("alice", "login")
    result = keyless.verify()
    assert (result.ok, result.broken_seq) == (False, 1)
    assert "verifying it needs the audit key" in result.message
    with pytest.raises(AuditKeyError, match=r"the key file .*audit.key is missing"):
        keyless.require_key(tmp_path / "audit.key")


def test_an_unkeyed_trail_without_a_key_asks_for_init(engine: sa.Engine, tmp_path: Path) -> None:
    keyless = AuditLog(engine)
    keyless.require_key(tmp_path / "audit.key")  # empty: nothing to protect yet
    fill(keyless, 2)
    with pytest.raises(AuditKeyError, match=r"2 entries .* run `diapason init` once"):
        keyless.require_key(tmp_path / "audit.key")
    AuditLog(engine, KEY).require_key(tmp_path / "audit.key")


# -- the witness ----------------------------------------------------------------------------


def test_a_rewrite_with_the_key_stolen_passes_verify_but_not_the_witness(
    engine: sa.Engine,
) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 5)
    early = witnessed(log, "2026-01-01T10:00:00.000000Z")  # entry 6
    fill(log, 5, start=6)
    late = witnessed(log, "2026-01-01T11:00:00.000000Z")  # entry 11
    fill(log, 2, start=11)
    assert log.check_witnessed("paris", [early, late]).ok

    rewrite(engine, KEY, 8, actor="mallory", details={"n": "nothing happened"})
    assert log.verify().ok  # the chain holds: the key was used
    check = log.check_witnessed("paris", [early, late])
    assert (check.ok, check.broken_seq, check.checked) == (False, 11, 1)
    assert check.last_match == early
    assert check.message == (
        "entry 11 was rewritten: its hash differs from the head partner paris witnessed at "
        "2026-01-01T11:00:00.000000Z; the change lies in entries 7 to 11 (entry 6 matches "
        "the head witnessed at 2026-01-01T10:00:00.000000Z)"
    )


def test_a_rewrite_after_the_last_witnessed_head_is_beyond_the_witness(
    engine: sa.Engine,
) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 5)
    head = witnessed(log)
    fill(log, 3, start=6)
    rewrite(engine, KEY, 8, actor="mallory")
    check = log.check_witnessed("paris", [head])
    assert check.ok and check.checked == 1
    assert check.message.startswith("1 head(s) witnessed by partner paris match")


def test_a_cut_trail_is_caught_by_the_witness(engine: sa.Engine) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 6)
    head = witnessed(log)  # entry 7
    with without_triggers(engine) as connection:
        connection.execute(audit_log.delete().where(audit_log.c.seq > 4))
    check = log.check_witnessed("paris", [head])
    assert (check.ok, check.broken_seq) == (False, 7)
    assert check.message.startswith(
        "entry 7 is gone: partner paris witnessed it at 2026-01-01T00:00:00.000000Z, and the "
        "trail ends at entry 4 (entries were cut off)"
    )


def test_a_partner_with_no_head_vouches_for_nothing(engine: sa.Engine) -> None:
    log = AuditLog(engine, KEY)
    fill(log, 2)
    check = log.check_witnessed("paris", [])
    assert (check.ok, check.checked, check.last_match) == (True, 0, None)
    assert check.message == "partner paris holds no head of this trail"


def test_many_heads_are_compared_in_batches(engine: sa.Engine) -> None:
    # Only the stored hashes are compared (verify checks the links): rows written at once.
    rows = [
        {
            "seq": n,
            "at": "2026-01-01T00:00:00.000000Z",
            "actor": "bot",
            "action": "consult",
            "object_ids": "[]",
            "details": "{}",
            "prev_hash": f"{n - 1:064x}",
            "hash": f"{n:064x}",
            "keyed": True,
        }
        for n in range(1, 12_001)
    ]
    with write_transaction(engine) as connection:
        connection.execute(audit_log.insert(), rows)
    heads = [
        WitnessedHead(n, f"{n:064x}", "2026-01-01T00:00:01.000000Z") for n in range(2, 12_001, 2)
    ]
    log = AuditLog(engine, KEY)
    check = log.check_witnessed("paris", iter(heads))
    assert check.ok and check.checked == 6000
    assert check.last_match == heads[-1]
    heads[4000] = WitnessedHead(heads[4000].seq, "f" * 64, heads[4000].witnessed_at)
    check = log.check_witnessed("paris", iter(heads))
    assert (check.ok, check.checked, check.broken_seq) == (False, 4000, 8002)

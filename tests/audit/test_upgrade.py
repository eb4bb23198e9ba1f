"""A node upgraded from a version without an audit key: its trail (unkeyed SHA-256 entries)
is migrated as it is, the node asks for `diapason init`, which makes the key and seals the
trail under it; `audit verify` then passes, and a rewrite after the key is caught."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from diapason.audit import GENESIS_HASH, AuditKeyError, entry_hash
from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.store.db import migrate, open_engine, write_transaction
from diapason.store.schema import counters
from tests.audit.tamper import rewrite
from tests.conftest import new_postgres_database
from tests.store.test_migrations import _move

# audit_log as revisions 0001 to 0011 lay it out: no ``keyed`` column.
AUDIT_LOG_0011 = sa.table(
    "audit_log",
    *(
        sa.column(name)
        for name in (
            "seq",
            "at",
            "actor",
            "action",
            "object_ids",
            "reason",
            "details",
            "prev_hash",
            "hash",
        )
    ),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0011 holding three audit entries written the old way."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
        _write_old_trail(url)
        yield url
        return
    with new_postgres_database("diapason_test_upgrade") as url:
        _write_old_trail(url)
        yield url


def _write_old_trail(url: str) -> None:
    engine = open_engine(url)
    _move(engine, "0011")
    previous = GENESIS_HASH
    rows = []
    for seq, action in enumerate(("init", "user_add", "login"), start=1):
        content = {
            "seq": seq,
            "at": f"2025-06-0{seq}T10:00:00.000000Z",
            "actor": "cli:admin",
            "action": action,
            "object_ids": [],
            "reason": None,
            "details": {"n": seq},
            "prev_hash": previous,
        }
        digest = entry_hash(**content)  # type: ignore[arg-type]
        rows.append(
            {
                **content,
                "object_ids": "[]",
                "details": orjson.dumps(content["details"]).decode(),
                "hash": digest,
            }
        )
        previous = digest
    with write_transaction(engine) as connection:
        connection.execute(AUDIT_LOG_0011.insert(), rows)
        connection.execute(
            counters.update().where(counters.c.name == "audit").values(value=len(rows))
        )
    engine.dispose()


def test_an_upgraded_node_is_keyed_by_init_and_verifies(old_url: str, tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "node", environ={}, database_url=old_url)
    (tmp_path / "node").mkdir()
    with pytest.raises(AuditKeyError) as caught:
        Node.open(settings)  # migrates, then finds entries and no key
    assert "the audit trail has 3 entries and this node has no audit key yet" in str(caught.value)
    assert "run `diapason init` once" in str(caught.value)

    node, _initialised = init_node(settings, "cli:admin")
    try:
        entries = node.audit.entries()
        assert [(e.seq, e.keyed) for e in entries[:4]] == [
            (1, False),
            (2, False),
            (3, False),
            (4, True),
        ]
        assert entries[3].action == "audit_key"
        assert entries[3].details["keyed_from"] == 4
        assert entries[3].details["unkeyed_entries"] == 3
        assert all(e.keyed for e in entries[3:])
        result = node.audit.verify()
        assert result.ok, result.message
        assert "keyed from entry 4" in result.message

        engine = node.database.engine
        # The triggers refusing UPDATE and DELETE survived the migration.
        with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
            connection.exec_driver_sql("UPDATE audit_log SET actor = 'x' WHERE seq = 1")

        # A rewrite after the key was introduced, without the key: caught.
        rewrite(engine, None, 5, actor="mallory")
        result = node.audit.verify()
        assert (result.ok, result.broken_seq) == (False, 5)
    finally:
        node.close()


def test_the_migration_leaves_every_old_entry_unkeyed(old_url: str) -> None:
    engine = open_engine(old_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            keyed = connection.exec_driver_sql("SELECT keyed FROM audit_log ORDER BY seq").all()
        assert [bool(row[0]) for row in keyed] == [False, False, False]
    finally:
        engine.dispose()

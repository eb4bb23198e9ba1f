"""``diapason migrate-to URL``: a node moves from its SQLite file to a fresh PostgreSQL
database, run as an operator runs it (a separate process), and works there."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from diapason.settings import CONFIG_FILE, DEFAULT_DATABASE_FILE
from diapason.store.schema import metadata
from tests.builders import sdo
from tests.conftest import new_postgres_database
from tests.exchange.nodes import FedNode, base_env

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            counts = {
                table.name: int(
                    connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
                for table in metadata.sorted_tables
            }
            counts["object_fts"] = int(
                connection.exec_driver_sql("SELECT COUNT(*) FROM object_fts").scalar_one()
            )
    finally:
        engine.dispose()
    return counts


def _loaded_node(root: Path, name: str) -> FedNode:
    """A node on its own SQLite file with objects (several versions), a collection filled,
    a partner, a user, and an hour of empty polls still counted."""
    fed = FedNode.create(root, name, None)
    node = fed.node
    actor = sdo("threat-actor", name="Réseau Atlas")
    objects = [actor, {**actor, "modified": "2024-02-01T00:00:00.000Z"}]
    objects += [sdo("indicator", name=f"indicator {i}") for i in range(30)]
    assert not node.store.put_many(objects).refused
    collection = node.collections.add("main", "Shared", alias="shared")
    held = node.store.count()
    # Every version of the objects the node holds: those loaded and its own definitions.
    assert node.collections.fill(collection.id, all_versions=True) == held + 1
    node.partners.add("paris", "https://paris.example:8443", "dia_" + "x" * 40)
    node.accounts.add_user("alice", "analyst", "a long enough password 1")
    # An hour that is never closed while the test runs (commands sum up closed hours).
    node.audit.record_poll("paris", collection.id, "objects", at="2999-01-01T00:00:00.000000Z")
    node.close()
    return fed


def test_migrate_to_postgresql(tmp_path: Path) -> None:
    fed = _loaded_node(tmp_path, "alpha")
    folder = fed.data
    source_url = f"sqlite:///{(folder / DEFAULT_DATABASE_FILE).resolve()}"
    with new_postgres_database("diapason_migrate") as target_url:
        result = fed.cli("migrate-to", target_url, "--batch", "100", "--json", env=base_env())
        assert result.returncode == 0, result.stderr
        answer = orjson.loads(result.stdout)
        assert answer["audit"]["ok"] is True
        assert "x" * 40 not in result.stdout + result.stderr  # no partner token shown
        # Every table copied, counted the same; the old file kept aside, closed.
        moved = Path(answer["old_database"])
        assert moved.name == DEFAULT_DATABASE_FILE + ".migrated"
        assert not (folder / DEFAULT_DATABASE_FILE).exists()
        before = _counts(f"sqlite:///{moved}")
        after = _counts(target_url)
        assert after == before
        assert answer["rows"] == before
        assert after["objects"] == after["collection_entries"] > 32
        assert after["object_fts"] > 31 and after["audit_log"] >= 4
        # The data folder records the new database (without its password).
        config = (folder / CONFIG_FILE).read_text()
        assert "postgresql" in config and "database_url" in config
        # Commands without DIAPASON_DATABASE_URL now open PostgreSQL.
        env = base_env()
        verify = fed.cli("audit", "verify", env=env)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        found = fed.cli("search", "Atlas", "--json", env=env)
        assert found.returncode == 0, found.stderr
        assert [o["name"] for o in orjson.loads(found.stdout)["objects"]] == ["Réseau Atlas"]
        users = fed.cli("user", "list", "--json", env=env)
        assert "alice" in {u["username"] for u in orjson.loads(users.stdout)}
        # A new user gets an id after the copied ones (the sequence went on).
        added = fed.cli("user", "add", "bob", "--role", "viewer", env=env)
        assert added.returncode == 0, added.stdout + added.stderr
        listed = fed.cli("audit", "list", "--action", "migrate", "--json", env=env)
        assert orjson.loads(listed.stdout)[-1]["details"]["from"] == source_url
        # The empty polls of the open hour came along, still counted.
        engine = sa.create_engine(target_url)
        with engine.connect() as connection:
            polls = connection.exec_driver_sql("SELECT actor, polls FROM audit_polls").all()
        engine.dispose()
        assert [tuple(row) for row in polls] == [("paris", 1)]

        # Another node cannot move into it: it is not empty.
        other = _loaded_node(tmp_path, "bravo")
        refused = other.cli("migrate-to", target_url, env=base_env())
        assert refused.returncode != 0
        assert "not empty" in refused.stderr and "table" in refused.stderr
        assert (other.data / DEFAULT_DATABASE_FILE).exists()
        other_url = f"sqlite:///{other.data / DEFAULT_DATABASE_FILE}"
        assert "migrate" not in _actions(other_url)  # refused before anything was written
        assert "database_url" not in (other.data / CONFIG_FILE).read_text()
    # Its own database is not a target either.
    again = other.cli("migrate-to", source_url.replace("alpha", "bravo"), env=base_env())
    assert again.returncode != 0 and "own database" in again.stderr
    # Nor a server that does not answer, and the message hides the password.
    down = other.cli("migrate-to", "postgresql+psycopg://u:sesame@127.0.0.1:9/x", env=base_env())
    assert down.returncode != 0 and "does not answer" in down.stderr
    assert "sesame" not in down.stderr + down.stdout
    assert "migrate" not in _actions(other_url)


def _actions(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.exec_driver_sql("SELECT action FROM audit_log")}
    finally:
        engine.dispose()

"""Pooled PostgreSQL connections the server has dropped (a restart, an administrator).

A connection idle in the pool for longer than ``POSTGRES_PING_AFTER_IDLE_S`` is checked
with one round trip before use and replaced if the server dropped it; one used more
recently is trusted, so that a get by id costs one round trip, not two. A failed check
replaces every pooled connection, as ``pool_pre_ping`` did. All shown here on the real
server, its backends ended with ``pg_terminate_backend``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import sqlalchemy as sa

from diapason.store import db
from diapason.store.sql import SqlStore, open_store
from tests.builders import sdo

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_server_url: str) -> Iterator[SqlStore]:
    store = open_store(postgres_server_url)
    yield store
    store.close()


def _backend_pids(store: SqlStore, at_once: int) -> set[int]:
    """The server processes of ``at_once`` connections checked out together (the pool then
    holds at least that many)."""
    with ExitStack() as stack:
        connections = [stack.enter_context(store.engine.connect()) for _ in range(at_once)]
        return {
            int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
            for connection in connections
        }


def _backend_pid(store: SqlStore) -> int:
    """The server process of the store's one pooled connection."""
    (pid,) = _backend_pids(store, 1)
    assert store.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    return pid


def _terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.exec_driver_sql(
                "SELECT pg_terminate_backend(%(pid)s, 5000)", {"pid": pid}
            ).scalar_one()
        assert ended is True
    finally:
        admin.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced(
    pg_store: SqlStore, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = sdo()
    pg_store.put_many([obj])
    first = _backend_pid(pg_store)  # the pool now holds this connection, idle
    _terminate(postgres_server_url, first)
    # Every pooled connection counts as idle long enough to be checked.
    monkeypatch.setattr(db, "POSTGRES_PING_AFTER_IDLE_S", 0.0)

    found = pg_store.get(obj["id"])

    assert found is not None and found.object == obj
    assert _backend_pid(pg_store) != first


def test_a_connection_used_a_moment_ago_is_trusted_and_replaced_after_its_error(
    pg_store: SqlStore, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = sdo()
    pg_store.put_many([obj])
    first = _backend_pid(pg_store)
    _terminate(postgres_server_url, first)
    monkeypatch.setattr(db, "POSTGRES_PING_AFTER_IDLE_S", 3600.0)

    # Not checked: the one request on the dropped connection fails...
    with pytest.raises(sa.exc.OperationalError):
        pg_store.get(obj["id"])
    # ...and the pool replaces it: the next one is served.
    found = pg_store.get(obj["id"])
    assert found is not None and found.object == obj
    assert _backend_pid(pg_store) != first


def test_a_failed_check_replaces_every_pooled_connection(
    pg_store: SqlStore, postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = sdo()
    pg_store.put_many([obj])
    # Two connections at once: the pool then holds both.
    old = _backend_pids(pg_store, 2)
    assert len(old) == 2 and pg_store.engine.pool.checkedin() == 2  # type: ignore[attr-defined]
    for pid in old:
        _terminate(postgres_server_url, pid)

    monkeypatch.setattr(db, "POSTGRES_PING_AFTER_IDLE_S", 0.0)
    assert pg_store.get(obj["id"]) is not None  # the check fails, the pool starts anew
    # From now on nothing is checked: a dropped connection left in the pool would fail.
    monkeypatch.setattr(db, "POSTGRES_PING_AFTER_IDLE_S", 3600.0)
    assert not _backend_pids(pg_store, 2) & old

"""This node's own facts (its identity id), the leases of its background loop, the
entries of its web sessions and the kept views of OSINT articles (``osint/view.py``): the
``node_meta`` table, a key and a text value per row.

Every worker of a node shares them through the database.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from diapason.store.db import Database, write_transaction
from diapason.store.schema import node_meta


class NodeMeta:
    """The ``node_meta`` table of one database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, key: str) -> str | None:
        with self.database.engine.connect() as connection:
            value = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
        return str(value) if value is not None else None

    def set(self, key: str, value: str) -> None:
        with write_transaction(self.database.engine) as connection:
            connection.execute(node_meta.delete().where(node_meta.c.key == key))
            connection.execute(node_meta.insert().values(key=key, value=value))

    # -- leases ---------------------------------------------------------------------------
    def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold a named lease (one background loop among several workers); True if held.

        ``holder`` names the process as ``HOST:PID``. A lease held by another holder is
        taken when it has expired, or at once when its holder is a process of this host
        that no longer exists (killed, crashed): a node restarted after a crash does not
        wait ``seconds`` for its dead predecessor's lease. A holder on another host is
        waited for until its lease expires."""
        now = datetime.now(UTC).timestamp()
        key = f"lease:{name}"
        with write_transaction(self.database.engine) as connection:
            if self.database.dialect == "postgresql":
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7246003)")
            current = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
            if current is not None:
                owner, _, until = str(current).rpartition("@")
                if owner != holder and float(until) > now and not _gone(owner):
                    return False
                connection.execute(node_meta.delete().where(node_meta.c.key == key))
            connection.execute(
                node_meta.insert().values(key=key, value=f"{holder}@{now + seconds}")
            )
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease up (clean shutdown), if ``holder`` still holds it."""
        key = f"lease:{name}"
        with write_transaction(self.database.engine) as connection:
            current = connection.execute(
                sa.select(node_meta.c.value).where(node_meta.c.key == key)
            ).scalar()
            if current is not None and str(current).rpartition("@")[0] == holder:
                connection.execute(node_meta.delete().where(node_meta.c.key == key))

    # -- entries under a prefix (the web sessions) ----------------------------------------
    def add(self, key: str, value: str, *, prefix: str, stale: Callable[[str], bool]) -> None:
        """Insert a new entry; in the same transaction, delete the entries under ``prefix``
        whose value is ``stale``."""
        with write_transaction(self.database.engine) as connection:
            self._delete_under(connection, prefix, stale)
            connection.execute(node_meta.insert().values(key=key, value=value))

    def update(self, key: str, value: str) -> None:
        with write_transaction(self.database.engine) as connection:
            connection.execute(node_meta.update().where(node_meta.c.key == key).values(value=value))

    def delete(self, key: str) -> None:
        with write_transaction(self.database.engine) as connection:
            connection.execute(node_meta.delete().where(node_meta.c.key == key))

    def delete_under(self, prefix: str, matching: Callable[[str], bool]) -> int:
        """Delete the entries under ``prefix`` whose value is ``matching``; how many."""
        with write_transaction(self.database.engine) as connection:
            return self._delete_under(connection, prefix, matching)

    def _delete_under(
        self, connection: sa.Connection, prefix: str, matching: Callable[[str], bool]
    ) -> int:
        deleted = 0
        for key, value in connection.execute(
            sa.select(node_meta.c.key, node_meta.c.value).where(node_meta.c.key.startswith(prefix))
        ).all():
            if matching(value):
                connection.execute(node_meta.delete().where(node_meta.c.key == key))
                deleted += 1
        return deleted


def _gone(owner: str) -> bool:
    """True when the lease holder ``HOST:PID`` is a process of this host that has ended.
    A pid reused since by another process reads as alive: the lease then expires."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's (PermissionError), or cannot tell
        return False
    return False

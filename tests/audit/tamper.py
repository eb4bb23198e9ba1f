"""An attacker at the database: audit rows changed behind the trail's back, the triggers
dropped, and (with the key stolen) every later hash recomputed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.audit import AuditKey, entry_hash
from diapason.store.schema import audit_log


@contextmanager
def without_triggers(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection that can change audit_log: an attacker with database access."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
            yield connection
        else:
            connection.exec_driver_sql(
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"
            )
            try:
                yield connection
            finally:
                connection.exec_driver_sql(
                    "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"
                )
                connection.commit()
        connection.commit()


def rewrite(engine: sa.Engine, key: AuditKey | None, seq: int, **changes: Any) -> None:
    """Change entry ``seq`` (``actor="x"``, ``details={...}``, …) and recompute its hash and
    every later one, keyed entries under ``key`` (the stolen key; None: keyed entries are
    rewritten as unkeyed ones, which needs no key). The chain then holds together."""
    with without_triggers(engine) as connection:
        rows = connection.execute(
            sa.select(audit_log).where(audit_log.c.seq >= seq).order_by(audit_log.c.seq)
        ).all()
        previous = rows[0].prev_hash
        for row in rows:
            values: dict[str, Any] = dict(row._mapping)
            if values["seq"] == seq:
                for name, value in changes.items():
                    values[name] = orjson.dumps(value).decode() if name == "details" else value
            keyed = bool(values["keyed"]) and key is not None
            values["keyed"] = keyed
            values["prev_hash"] = previous
            values["hash"] = entry_hash(
                seq=values["seq"],
                at=values["at"],
                actor=values["actor"],
                action=values["action"],
                object_ids=orjson.loads(values["object_ids"]),
                reason=values["reason"],
                details=orjson.loads(values["details"]),
                prev_hash=previous,
                key=key if keyed else None,
            )
            connection.execute(
                audit_log.update().where(audit_log.c.seq == values["seq"]).values(**values)
            )
            previous = values["hash"]

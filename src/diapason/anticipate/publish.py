"""Writing alerts back to the store as ``x-diapason-alert`` objects, audited.

For whom: ``diapason anticipate alerts --write`` and the web interface. Alerts go through
the store like any object, so the release policy and the disclosure ledger treat them as
they treat everything else: an alert carries the markings of the events it was computed
from (combined most-restrictively by the policy), or the marking given for series read
from a file. Writing again what is already stored changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from diapason.anticipate.alerts import Alert, alert_object
from diapason.audit import AuditLog
from diapason.domain.stix import StixError
from diapason.domain.timestamps import stix_now
from diapason.store.interface import ObjectStore, PutReport


@dataclass
class Published:
    written: list[str] = field(default_factory=list)  # new alerts or new versions
    unchanged: list[str] = field(default_factory=list)


def publish_alerts(
    store: ObjectStore,
    audit: AuditLog,
    alerts: Sequence[Alert],
    *,
    actor: str,
    created_by: str | None,
    markings: Mapping[str, set[str]],
    default_markings: Sequence[str],
) -> Published:
    """Write each alert unless the store already holds it as it is; a grown episode is a
    new version of the same object. ``markings``: per series, the marking ids to carry;
    ``default_markings`` for series without any."""
    result = Published()
    pending: list[dict[str, Any]] = []
    now = stix_now()
    for alert in alerts:
        existing = store.get(alert.stix_id)
        refs = sorted(markings.get(alert.series) or default_markings)
        if existing is not None:
            held = existing.object
            same = all(held.get(k) == v for k, v in alert.properties().items())
            if same and sorted(held.get("object_marking_refs", [])) == refs:
                result.unchanged.append(alert.stix_id)
                continue
            created = str(held["created"])
        else:
            created = now
        pending.append(
            alert_object(
                alert, created=created, modified=now, created_by=created_by, marking_refs=refs
            )
        )
    if pending:

        def record(connection: Any, written: list[str]) -> None:
            audit.append(
                actor, "create", written, details={"anticipate": "alerts"}, connection=connection
            )

        report: PutReport = store.put_many(pending, source="local", on_write=record)
        if report.refused:
            problem = report.refused[0]
            raise StixError(
                problem.field,
                f"alert {problem.object_id} refused by the store ({problem.rule}): "
                f"{problem.message}",
            )
        result.written.extend(report.written)
        result.unchanged.extend(report.unchanged)
    return result

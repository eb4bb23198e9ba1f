"""The disclosure ledger: the release policy run for every new object version and partner.

For each partner the ledger walks the store's object versions in ``seq`` order from that
partner's own position (counter ``policy:NAME``), decides each with
``domain.policy.decide``, records the decision and its reason, and appends released
versions to the partner's outbox collection, which its TAXII collection serves. A partner
added later catches up from the start. Processing is idempotent: a version decided twice
is recorded and released once.

Corrections (Directive 2016/680, Art. 7): a revoked version goes to every partner that
received an earlier version of the object, even where the policy would now withhold it.
A partner never gets back the versions it sent us itself.

A relationship or a sighting goes with its ends (policy row 12, ``end-withheld``): each is
decided knowing which of its ends the partner holds (released to it, or received from
it). When an object is released to a partner, the relationships and sightings withheld
from it for want of that end are decided again, in the same transaction: one indexed
query (the store's reference index, ``edges``, joined to the decisions) per change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from diapason.audit import AuditLog
from diapason.domain.policy import (
    Decision,
    PartnerContext,
    ReleaseContext,
    WithholdCode,
    decide,
    ends_of,
)
from diapason.domain.timestamps import store_now
from diapason.exchange.collections import Collections
from diapason.exchange.partners import Partner, Partners
from diapason.store.db import write_transaction
from diapason.store.rows import (
    BULK_ROWS,
    among,
    insert_tuples,
    lock_counter,
    partner_versions,
    placeholder,
)
from diapason.store.schema import (
    consents,
    counters,
    edges,
    objects,
    red_recipients,
    release_decisions,
)

# Versions decided per step. Each step commits its decisions, outbox entries, audit entries
# and new position in one transaction; as with the store's batches, larger steps write
# fewer index pages per version.
BATCH = 50_000
# Ids looked up per query when finding what refers to newly released objects.
REFERRERS_CHUNK = 1_000
END_TYPES = ("relationship", "sighting")


@dataclass
class LedgerRun:
    """What one run of the ledger decided, per partner."""

    released: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DecisionRecord:
    partner: str
    object_id: str
    modified: str
    decided_at: str
    released: bool
    code: str
    reason: str


def _decision_row(partner: Partner, row: Any, now: str, decision: Decision) -> tuple[Any, ...]:
    """A ``release_decisions`` row (in its column order) for ``row`` (an id, a modified)."""
    return (
        partner.name,
        row.id,
        row.modified,
        now,
        decision.released,
        str(decision.code),
        decision.reason[:2000],
    )


class Ledger:
    def __init__(
        self,
        engine: sa.Engine,
        partners: Partners,
        collections: Collections,
        audit: AuditLog,
        own_identities: Callable[[], frozenset[str]],
    ) -> None:
        self.engine = engine
        self.partners = partners
        self.collections = collections
        self.audit = audit
        self.own_identities = own_identities

    def _position(self, partner: str) -> int:
        name = f"policy:{partner}"[:40]
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(counters.c.value).where(counters.c.name == name)
            ).scalar()
        if value is None:
            with write_transaction(self.engine) as connection:
                exists = connection.execute(
                    sa.select(counters.c.value).where(counters.c.name == name)
                ).scalar()
                if exists is None:
                    connection.execute(counters.insert().values(name=name, value=0))
            return 0
        return int(value)

    def _read_position(self, connection: sa.Connection, partner: str) -> int:
        name = f"policy:{partner}"[:40]
        value = connection.execute(
            sa.select(counters.c.value).where(counters.c.name == name)
        ).scalar_one()
        return int(value)

    def _advance(self, partner: str, seq: int, connection: sa.Connection | None = None) -> None:
        name = f"policy:{partner}"[:40]
        with write_transaction(self.engine, connection) as conn:
            conn.execute(
                counters.update()
                .where((counters.c.name == name) & (counters.c.value < seq))
                .values(value=seq)
            )

    def context(self, today: date | None = None) -> ReleaseContext:
        """What the policy needs to know, read once per run."""
        with self.engine.connect() as connection:
            consent_rows = connection.execute(
                sa.select(consents.c.object_id, consents.c.originator, consents.c.partner)
            ).all()
            red: dict[str, list[str]] = {}
            for object_id, partner in connection.execute(
                sa.select(red_recipients.c.object_id, red_recipients.c.partner)
            ):
                red.setdefault(object_id, []).append(partner)
            definitions = {
                row.id: orjson.loads(row.content)
                for row in connection.execute(
                    sa.select(objects.c.id, objects.c.content).where(
                        (objects.c.type == "marking-definition") & objects.c.is_current
                    )
                )
            }
        return ReleaseContext(
            own_identities=self.own_identities(),
            today=today or datetime.now(UTC).date(),
            consents=frozenset((a, b, c) for a, b, c in consent_rows),
            red_recipients=red,
            definitions=definitions,
        )

    def run(self, actor: str = "ledger", today: date | None = None) -> LedgerRun:
        """Decide every version not yet decided, for every partner."""
        summary = LedgerRun()
        context = self.context(today)
        for partner in self.partners.all():
            released, withheld = self._run_partner(partner, context, actor)
            summary.released[partner.name] = released
            summary.withheld[partner.name] = withheld
        return summary

    def _run_partner(
        self, partner: Partner, context: ReleaseContext, actor: str
    ) -> tuple[int, int]:
        released_total = withheld_total = 0
        position = self._position(partner.name)
        received_from = f"partner:{partner.name}"
        while True:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    sa.select(
                        objects.c.seq,
                        objects.c.id,
                        objects.c.type,
                        objects.c.modified,
                        objects.c.revoked,
                        objects.c.source,
                        objects.c.content,
                    )
                    .where(objects.c.seq > position)
                    .order_by(objects.c.seq)
                    .limit(BATCH)
                ).all()
            if not rows:
                return released_total, withheld_total
            if any(
                row.type == "marking-definition" and row.id not in context.definitions
                for row in rows
            ):
                # Written since this run read what it knows (an import committing meanwhile):
                # read it again, or the objects using them would be withheld for good as
                # carrying unknown markings.
                context = self.context(context.today)
            ids = sorted({row.id for row in rows})
            earlier = self._released_before(partner.name, ids)
            versions = {
                row.seq: orjson.loads(row.content) for row in rows if row.source != received_from
            }
            ends = {end for version in versions.values() for end in ends_of(version)}
            with self.engine.connect() as connection:
                held = self._held(connection, partner, ends) if ends else set()
            decided: list[tuple[Any, ...]] = []
            releases: list[tuple[str, str]] = []
            withheld_ids: list[str] = []
            now = store_now()
            for row in rows:
                if row.source == received_from:
                    continue  # never echo a partner's own objects back to it
                version = versions[row.seq]
                decision = self._decide(partner, context, version, held, earlier)
                released = decision.released
                code, reason = str(decision.code), decision.reason
                if not released and decision.correction and row.id in earlier:
                    released, code = True, "correction"
                    reason = f"revokes a version {partner.name} received; {decision.reason}"
                # In release_decisions' column order.
                decided.append(
                    (partner.name, row.id, row.modified, now, released, code, reason[:2000])
                )
                if released:
                    releases.append((row.id, row.modified))
                    earlier.add(row.id)
                else:
                    withheld_ids.append(row.id)
            seqs = {(row.id, row.modified): row.seq for row in rows}
            with write_transaction(self.engine, bulk=len(rows) >= BULK_ROWS) as connection:
                # Steps of two runs at once (the server's loop and `diapason sync`) queue
                # here; one that finds its rows decided meanwhile starts again after them.
                lock_counter(connection, "entries")
                now_at = self._read_position(connection, partner.name)
                if now_at != position:
                    position = now_at
                    continue
                self._record(connection, decided)
                if releases:
                    self.collections.add_entries(
                        partner.outbox, releases, connection=connection, object_seqs=seqs
                    )
                    self.audit.append(
                        actor,
                        "release",
                        [object_id for object_id, _ in releases],
                        details={"partner": partner.name, "collection": partner.outbox},
                        connection=connection,
                    )
                    released_total += self._release_dependents(
                        connection, partner, context, [i for i, _ in releases], actor
                    )
                if withheld_ids:
                    self.audit.append(
                        actor,
                        "withhold",
                        withheld_ids,
                        details={"partner": partner.name},
                        connection=connection,
                    )
                position = rows[-1].seq
                self._advance(partner.name, position, connection)
            released_total += len(releases)
            withheld_total += len(withheld_ids)

    def _decide(
        self,
        partner: Partner,
        context: ReleaseContext,
        version: dict[str, Any],
        *held: set[str],
    ) -> Decision:
        """The policy's decision on ``version`` for ``partner``, who holds what ``held``
        names (at least every end of the version it holds)."""
        object_id = version.get("id")
        named = isinstance(object_id, str) and partner.name in context.red_recipients.get(
            object_id, ()
        )
        withheld_ends = frozenset(
            end for end in ends_of(version) if not any(end in known for known in held)
        )
        return decide(
            version,
            PartnerContext(
                partner.name,
                partner.identity_id,
                named_recipient=named,
                withheld_ends=withheld_ends,
            ),
            context,
        )

    def _held(self, connection: sa.Connection, partner: Partner, ids: set[str]) -> set[str]:
        """Which of ``ids`` the partner holds: a version released to it, or received from it."""
        wanted = sorted(ids)
        released = {
            object_id
            for object_id, _ in partner_versions(
                connection, release_decisions, partner.name, wanted, released_only=True
            )
        }
        in_ids, ids_value = among(connection.dialect.name, wanted)
        mark = placeholder(connection)
        theirs = {
            object_id
            for (object_id,) in connection.exec_driver_sql(
                f"SELECT DISTINCT id FROM {objects.name} WHERE id {in_ids} AND source = {mark}",
                (ids_value, f"partner:{partner.name}"),
            )
        }
        return released | theirs

    def _release_dependents(
        self,
        connection: sa.Connection,
        partner: Partner,
        context: ReleaseContext,
        released: list[str],
        actor: str,
    ) -> int:
        """Decide again the relationships and sightings withheld from ``partner`` for want
        of one of the ``released`` objects (and, when they go, those waiting for them);
        returns how many went."""
        total = 0
        pending = sorted(set(released))
        while pending:
            waiting: list[Any] = []
            for start in range(0, len(pending), REFERRERS_CHUNK):
                chunk = pending[start : start + REFERRERS_CHUNK]
                waiting += connection.execute(
                    sa.select(objects.c.seq, objects.c.id, objects.c.modified, objects.c.content)
                    .join_from(edges, objects, objects.c.seq == edges.c.source_seq)
                    .join(
                        release_decisions,
                        (release_decisions.c.partner == partner.name)
                        & (release_decisions.c.object_id == objects.c.id)
                        & (release_decisions.c.modified == objects.c.modified),
                    )
                    .where(
                        edges.c.target_id.in_(chunk),
                        objects.c.is_current,
                        objects.c.type.in_(END_TYPES),
                        release_decisions.c.code == WithholdCode.END_WITHHELD.value,
                    )
                ).all()
            rows = list({row.seq: row for row in waiting}.values())
            if not rows:
                break
            versions = [orjson.loads(row.content) for row in rows]
            held = self._held(
                connection, partner, {end for version in versions for end in ends_of(version)}
            )
            decided: list[tuple[Any, ...]] = []
            releases: list[tuple[str, str]] = []
            now = store_now()
            for row, version in zip(rows, versions, strict=True):
                decision = self._decide(partner, context, version, held)
                decided.append(_decision_row(partner, row, now, decision))
                if decision.released:
                    releases.append((row.id, row.modified))
            for row in rows:
                connection.execute(
                    release_decisions.delete().where(
                        (release_decisions.c.partner == partner.name)
                        & (release_decisions.c.object_id == row.id)
                        & (release_decisions.c.modified == row.modified)
                    )
                )
            self._record(connection, decided)
            if releases:
                self.collections.add_entries(
                    partner.outbox,
                    releases,
                    connection=connection,
                    object_seqs={(row.id, row.modified): row.seq for row in rows},
                )
                self.audit.append(
                    actor,
                    "release",
                    [object_id for object_id, _ in releases],
                    details={
                        "partner": partner.name,
                        "collection": partner.outbox,
                        "ends_released": True,
                    },
                    connection=connection,
                )
            total += len(releases)
            pending = sorted({object_id for object_id, _ in releases})
        return total

    def _released_before(self, partner: str, ids: list[str]) -> set[str]:
        with self.engine.connect() as connection:
            found = partner_versions(
                connection, release_decisions, partner, ids, released_only=True
            )
        return {object_id for object_id, _ in found}

    def _record(self, connection: sa.Connection, decided: list[tuple[Any, ...]]) -> None:
        """Insert decisions (rows of ``release_decisions``) not recorded yet; one partner."""
        if not decided:
            return
        held = partner_versions(
            connection, release_decisions, decided[0][0], [row[1] for row in decided]
        )
        fresh = [row for row in decided if (row[1], row[2]) not in held]
        if fresh:
            insert_tuples(connection, release_decisions, fresh)

    def reconsider(self, object_id: str, actor: str) -> LedgerRun:
        """Decide an object's versions again (after a consent or a named recipient was
        recorded): withheld decisions are dropped and the policy runs on them anew."""
        with write_transaction(self.engine) as connection:
            connection.execute(
                release_decisions.delete().where(
                    (release_decisions.c.object_id == object_id)
                    & release_decisions.c.released.is_(False)
                )
            )
            seqs = (
                connection.execute(sa.select(objects.c.seq).where(objects.c.id == object_id))
                .scalars()
                .all()
            )
        summary = LedgerRun()
        if not seqs:
            return summary
        context = self.context()
        for partner in self.partners.all():
            # Re-run from just before the object's first version, then restore the position.
            position = self._position(partner.name)
            released, withheld = self._decide_object(partner, context, object_id, actor)
            summary.released[partner.name] = released
            summary.withheld[partner.name] = withheld
            self._advance(partner.name, position)
        return summary

    def _decide_object(
        self, partner: Partner, context: ReleaseContext, object_id: str, actor: str
    ) -> tuple[int, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(objects.c.id, objects.c.modified, objects.c.source, objects.c.content)
                .where(objects.c.id == object_id)
                .order_by(objects.c.seq)
            ).all()
        releases: list[tuple[str, str]] = []
        decided: list[tuple[Any, ...]] = []
        now = store_now()
        versions = [orjson.loads(row.content) for row in rows]
        ends = {end for version in versions for end in ends_of(version)}
        with self.engine.connect() as connection:
            held = self._held(connection, partner, ends) if ends else set()
        for row, version in zip(rows, versions, strict=True):
            if row.source == f"partner:{partner.name}":
                continue
            decision = self._decide(partner, context, version, held)
            decided.append(_decision_row(partner, row, now, decision))
            if decision.released:
                releases.append((row.id, row.modified))
        with write_transaction(self.engine) as connection:
            self._record(connection, decided)
            if releases:
                self.collections.add_entries(partner.outbox, releases, connection=connection)
                self.audit.append(
                    actor,
                    "release",
                    [object_id],
                    details={"partner": partner.name, "reconsidered": True},
                    connection=connection,
                )
                self._release_dependents(connection, partner, context, [object_id], actor)
        return len(releases), len(decided) - len(releases)

    def decisions(self, object_id: str) -> list[DecisionRecord]:
        """Every decision taken on an object's versions, for every partner."""
        statement = (
            sa.select(release_decisions)
            .where(release_decisions.c.object_id == object_id)
            .order_by(release_decisions.c.partner, release_decisions.c.modified)
        )
        with self.engine.connect() as connection:
            return [
                DecisionRecord(
                    row.partner,
                    row.object_id,
                    row.modified,
                    row.decided_at,
                    bool(row.released),
                    row.code,
                    row.reason,
                )
                for row in connection.execute(statement)
            ]

    def record_consent(self, object_id: str, originator: str, partner: str, actor: str) -> None:
        with write_transaction(self.engine) as connection:
            exists = connection.execute(
                sa.select(consents.c.object_id).where(
                    (consents.c.object_id == object_id)
                    & (consents.c.originator == originator)
                    & (consents.c.partner == partner)
                )
            ).first()
            if exists is None:
                connection.execute(
                    consents.insert().values(
                        object_id=object_id,
                        originator=originator,
                        partner=partner,
                        recorded_at=store_now(),
                        actor=actor,
                    )
                )

    def name_recipient(self, object_id: str, partner: str) -> None:
        with write_transaction(self.engine) as connection:
            exists = connection.execute(
                sa.select(red_recipients.c.object_id).where(
                    (red_recipients.c.object_id == object_id)
                    & (red_recipients.c.partner == partner)
                )
            ).first()
            if exists is None:
                connection.execute(
                    red_recipients.insert().values(
                        object_id=object_id, partner=partner, recorded_at=store_now()
                    )
                )

"""Witnesses: the heads of partners' audit trails this node keeps for them.

A partner sends the head of its audit trail (its last entry's ``seq`` and hash) with each
receipt (``audit_head``) and after each sync round (``POST /api/v1/audit/witness``). This
node keeps them in ``witnessed_heads``, out of that partner's reach: whoever rewrites the
partner's trail later, key in hand, cannot change what was witnessed here, and the
partner's ``diapason audit verify --with-partners`` reads the heads back
(``GET /api/v1/audit/witness``) and compares.

What is kept, for each partner:

- a head newer than every head kept (a higher ``seq``), at least ``MIN_SPACING`` after
  the last one kept; an older or earlier one adds nothing and is dropped;
- a head whose ``seq`` is kept already with another hash is refused: the partner's trail
  no longer has the entry this node witnessed (a rewrite, or a restored backup). It is
  logged and audited here (``request_refused``), and the partner is told;
- every head of the last ``DETAIL_HOURS`` hours, and beyond that the first and the last of
  each hour: the newest head before any rewrite always stays, and rows stay bounded.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from diapason.audit import AuditLog, Head, WitnessedHead
from diapason.domain.timestamps import store_now
from diapason.store.db import write_transaction
from diapason.store.schema import witnessed_heads

log = logging.getLogger("diapason.witness")

# Heads of the last day are all kept; older ones, the first and the last of each hour.
DETAIL_HOURS = 24
# The least time between two heads kept for one partner.
MIN_SPACING = timedelta(seconds=1)
# The largest sequence number a head may name (JSON numbers stay exact up to 2**53).
MAX_SEQ = 2**53
# Heads one listing gives at most.
MAX_LISTING = 10_000
HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def parse_head(value: Any) -> Head | None:
    """A head as a partner sends it, ``{"seq": N, "hash": "<64 hex>"}``, checked; None
    when it is not one (nothing else is accepted: no extra keys, no strings for numbers)."""
    if not isinstance(value, dict) or set(value) != {"seq", "hash"}:
        return None
    seq, digest = value["seq"], value["hash"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        return None
    if not isinstance(digest, str) or not HASH_RE.match(digest):
        return None
    return Head(seq, digest)


@dataclass(frozen=True)
class Recorded:
    """What became of one head sent: ``kept``, ``known`` (kept already, same hash),
    ``dropped`` (older than, or too close to, the last kept) or ``conflict`` (``held``
    is the head witnessed under that seq)."""

    outcome: str
    head: Head
    held: WitnessedHead | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "seq": self.head.seq,
            "hash": self.head.hash,
            "witnessed_at": self.held.witnessed_at if self.held else None,
        }


class Witnesses:
    """The heads this node keeps of its partners' audit trails."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, partner: str, head: Head, via: str, *, now: str | None = None) -> Recorded:
        """Keep ``head`` as ``partner``'s, sent ``via`` a receipt or a sync round, if it is
        new; see the module's docstring for what is kept."""
        at = now or store_now()
        w = witnessed_heads
        with write_transaction(self.engine) as connection:
            held = connection.execute(
                sa.select(w.c.hash, w.c.witnessed_at).where(
                    (w.c.partner == partner) & (w.c.seq == head.seq)
                )
            ).first()
            if held is not None:
                witnessed = WitnessedHead(head.seq, held.hash, held.witnessed_at)
                outcome = "known" if held.hash == head.hash else "conflict"
                return Recorded(outcome, head, witnessed)
            newest = connection.execute(
                sa.select(w.c.seq, w.c.witnessed_at)
                .where(w.c.partner == partner)
                .order_by(w.c.seq.desc())
                .limit(1)
            ).first()
            if newest is not None and (
                head.seq < newest.seq or at < _plus(newest.witnessed_at, MIN_SPACING)
            ):
                return Recorded("dropped", head)
            connection.execute(
                w.insert().values(
                    partner=partner, seq=head.seq, hash=head.hash, witnessed_at=at, via=via
                )
            )
            if newest is None or newest.witnessed_at[:13] != at[:13]:
                # A new hour: the hours now older than a day keep their first and last head.
                _thin(connection, partner, at)
        return Recorded("kept", head, WitnessedHead(head.seq, head.hash, at))

    def heads(self, partner: str, *, after: int = 0, limit: int = 1000) -> list[WitnessedHead]:
        """The heads kept of ``partner``'s trail with ``seq > after``, oldest first."""
        w = witnessed_heads
        statement = (
            sa.select(w.c.seq, w.c.hash, w.c.witnessed_at)
            .where((w.c.partner == partner) & (w.c.seq > after))
            .order_by(w.c.seq)
            .limit(max(1, min(limit, MAX_LISTING)))
        )
        with self.engine.connect() as connection:
            return [
                WitnessedHead(int(row[0]), row[1], row[2]) for row in connection.execute(statement)
            ]

    def summary(self) -> list[dict[str, Any]]:
        """Per partner: how many heads are kept, and the newest (seq, hash, when)."""
        w = witnessed_heads
        newest = (
            sa.select(w.c.partner, sa.func.max(w.c.seq).label("seq"), sa.func.count().label("n"))
            .group_by(w.c.partner)
            .subquery()
        )
        statement = (
            sa.select(w.c.partner, newest.c.n, w.c.seq, w.c.hash, w.c.witnessed_at)
            .join(newest, (w.c.partner == newest.c.partner) & (w.c.seq == newest.c.seq))
            .order_by(w.c.partner)
        )
        with self.engine.connect() as connection:
            return [
                {
                    "partner": row[0],
                    "heads": int(row[1]),
                    "last_seq": int(row[2]),
                    "last_hash": row[3],
                    "last_witnessed_at": row[4],
                }
                for row in connection.execute(statement)
            ]


def _plus(stamp: str, delta: timedelta) -> str:
    moment = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC) + delta
    return moment.strftime(_STAMP)


def _thin(connection: sa.Connection, partner: str, now: str) -> None:
    """Keep, of the hours that ended more than ``DETAIL_HOURS`` ago, the first and the last
    head of each hour. The newest head before any gap therefore always stays."""
    moment = datetime.strptime(now, _STAMP).replace(tzinfo=UTC) - timedelta(hours=DETAIL_HOURS)
    cutoff = moment.strftime("%Y-%m-%dT%H")  # heads of earlier hours only
    w = witnessed_heads
    hour = sa.func.substr(w.c.witnessed_at, 1, 13)
    old = (w.c.partner == partner) & (hour < cutoff)
    bounds = sa.select(sa.func.min(w.c.seq), sa.func.max(w.c.seq)).where(old).group_by(hour)
    keep = {int(seq) for row in connection.execute(bounds) for seq in row}
    stale = [
        int(seq)
        for (seq,) in connection.execute(sa.select(w.c.seq).where(old))
        if int(seq) not in keep
    ]
    for start in range(0, len(stale), 1000):
        connection.execute(
            w.delete().where((w.c.partner == partner) & w.c.seq.in_(stale[start : start + 1000]))
        )


def report_conflict(audit: AuditLog, partner: str, actor: str, recorded: Recorded) -> str:
    """Log and audit a head ``partner`` sent that differs from the one witnessed under its
    seq; returns the sentence said (to the partner too)."""
    held = recorded.held
    assert held is not None
    why = (
        f"entry {held.seq} of partner {partner}'s audit trail differs from the head this node "
        f"witnessed at {held.witnessed_at}: that trail was rewritten (or restored from an "
        "older backup)"
    )
    log.warning("%s", why)
    audit.append(
        actor,
        "request_refused",
        details={
            "partner": partner,
            "why": why,
            "witnessed": held.as_dict(),
            "sent": recorded.head.as_dict(),
        },
    )
    return why

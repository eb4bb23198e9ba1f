"""The exchange loop of ``diapason serve``: release, pull, release again, forever.

Every ``sync_interval`` seconds the loop releases what is new to every partner (the
ledger), then starts a pull from each partner whose previous pull has ended, each in a
thread of its own; when a pull brings something, the ledger runs again. A slow, looping or
hostile partner therefore only ever delays itself: the others are pulled at their usual
pace. Among several worker processes, the one holding the ``exchange`` lease runs it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from diapason.exchange.sync import MAX_PARALLEL
from diapason.node import Node

log = logging.getLogger("diapason.exchange")

# Seconds a stopping loop waits for the pulls in flight to notice and end.
STOP_GRACE = 5.0


class ExchangeLoop:
    def __init__(self, node: Node, holder: str, interval: int) -> None:
        self.node = node
        self.holder = holder
        self.interval = interval
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="pull")
        self.pulls: dict[str, Future[None]] = {}

    def tick(self) -> None:
        """One turn: release what is new, start the pulls that are not running."""
        partners = self.node.partners.all()
        if not partners or self.stopping.is_set():
            return
        # One worker at a time: the lease outlives a stalled turn, then another takes over.
        if not self.node.facts.take_lease("exchange", self.holder, max(30.0, self.interval * 10.0)):
            return
        self.node.ledger.run("ledger")
        for partner in partners:
            pulling = self.pulls.get(partner.name)
            if pulling is None or pulling.done():
                self.pulls[partner.name] = self.pool.submit(self._pull, partner.name)

    def _pull(self, name: str) -> None:
        try:
            agent = self.node.sync_agent(stopping=self.stopping)
            results = agent.round(only=name)
            if any(result.received or result.corrections for result in results):
                self.node.ledger.run("ledger")
        except Exception:
            if not self.stopping.is_set():
                log.exception("pull from %s failed; trying again next turn", name)

    def stop(self) -> None:
        """Ask the pulls in flight to end (they stop between two pages), wait a little for
        them, and release the lease so a restarted server need not wait for it."""
        self.stopping.set()
        wait(list(self.pulls.values()), timeout=STOP_GRACE)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.node.facts.release_lease("exchange", self.holder)

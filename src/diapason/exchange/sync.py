"""The sync agent: pull from each partner's collection for us, from a stored watermark.

One round, for each partner due: find our collection on the partner (discovery, once),
page through it with ``added_after`` the stored watermark, write what arrives with its
provenance, then move the watermark. Within a listing the watermark is kept one microsecond
before the last entry read, so that a crash re-reads the entries added at that same instant
(writing is idempotent); once the listing is complete it is the last entry read, so the
next round asks only for what is newer. A crash at any point resumes from the last
watermark without loss or duplicates. A partner that fails is retried with exponential
back-off, and the others go on. Everything received is screened: an object a partner may
not send (one claiming to be created by this node, or a new version of an object this node
created) is refused, logged and audited, and the rest of the page is kept.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from diapason.domain.stix import normalise_timestamp
from diapason.exchange.partners import Partner
from diapason.exchange.receipts import make_receipt
from diapason.exchange.taxii import TAXII
from diapason.node import Node
from diapason.store.sql import utc_now

log = logging.getLogger("diapason.sync")

PAGE = 10_000
BACKOFF_BASE = 2.0  # seconds, doubled at each failure
BACKOFF_MAX = 600.0
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# The longest one answer may take, however slowly its bytes come (a partner trickling a
# byte at a time never trips the timeout between two reads).
DEADLINE = 300.0
# Headers of the answer as received that do not describe the body once decoded.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class SyncError(RuntimeError):
    """A partner answered something this node cannot use; the message says what."""


@dataclass
class SyncResult:
    partner: str
    status: str  # "ok", "failed", "skipped"
    received: int = 0
    unchanged: int = 0
    refused: int = 0
    corrections: int = 0
    error: str | None = None
    pages: int = 0
    refusals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "status": self.status,
            "received": self.received,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "corrections": self.corrections,
            "pages": self.pages,
            "error": self.error,
        }


def _before(stamp: str) -> str:
    """One microsecond before a store timestamp (to re-read the boundary entries)."""
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(microseconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _later(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SyncAgent:
    def __init__(
        self,
        node: Node,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: httpx.Timeout | float = TIMEOUT,
        deadline: float = DEADLINE,
        page_size: int = PAGE,
        group_size: int = PAGE,
    ) -> None:
        self.node = node
        self.transport = transport
        # How long to wait for a partner (connecting, and between two reads of an answer),
        # and for a whole answer.
        self.timeout = timeout
        self.deadline = deadline
        # Objects per page of a pull (at most the partner's largest page).
        self.page_size = page_size
        # Objects written per transaction (and acknowledged by one receipt): consecutive
        # pages are gathered up to this many. Larger groups cost the sender fewer receipts
        # and the receiver fewer commits.
        self.group_size = group_size

    @classmethod
    def for_node(cls, node: Node) -> SyncAgent:
        """The agent as the node's settings configure it (``sync_timeout``,
        ``sync_page_size``): what ``diapason sync`` and the loop of ``serve`` use."""
        settings = node.settings
        return cls(
            node,
            timeout=settings.sync_timeout,
            deadline=settings.sync_timeout * 10.0,
            page_size=settings.sync_page_size,
            group_size=max(settings.sync_page_size, settings.batch_size),
        )

    def _client(self, partner: Partner) -> httpx.Client:
        return httpx.Client(
            timeout=self.timeout,
            transport=self.transport,
            headers={
                "Accept": TAXII,
                "Authorization": f"Bearer {partner.token.reveal()}",
                "User-Agent": f"diapason/{self.node.settings.node_name}",
            },
            follow_redirects=False,
        )

    def round(self, *, only: str | None = None, force: bool = False) -> list[SyncResult]:
        """One sync round over every partner (or one), then the ledger for what arrived."""
        results = []
        for partner in self.node.partners.all():
            if only is not None and partner.name != only:
                continue
            results.append(self.sync_partner(partner, force=force))
        return results

    def sync_partner(self, partner: Partner, *, force: bool = False) -> SyncResult:
        if not force and partner.next_attempt_at and partner.next_attempt_at > utc_now():
            return SyncResult(partner.name, "skipped", error=partner.last_error)
        result = SyncResult(partner.name, "ok")
        try:
            with self._client(partner) as client:
                self._pull(client, partner, result)
        except Exception as error:
            if not isinstance(error, SyncError | httpx.HTTPError):
                # Not the partner's answer but something here (a bug, the database): this
                # partner backs off like any failure, and the round goes on with the others.
                log.exception("sync with %s: unexpected error", partner.name)
            message = self._describe(error)
            failures = partner.failures + 1
            delay = min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_MAX)
            self.node.partners.update(
                partner.name,
                failures=failures,
                last_error=message[:1000],
                next_attempt_at=_later(delay),
            )
            log.warning(
                "sync with %s failed (%s); next try in %.0f s", partner.name, message, delay
            )
            self.node.audit.append(
                "sync",
                "sync",
                details={"partner": partner.name, "ok": False, "error": message[:300]},
            )
            result.status, result.error = "failed", message
            return result
        self.node.partners.update(
            partner.name,
            failures=0,
            last_error=None,
            next_attempt_at=None,
            last_sync_at=utc_now(),
        )
        return result

    @staticmethod
    def _describe(error: Exception) -> str:
        if isinstance(error, httpx.TimeoutException):
            return f"no answer in time ({type(error).__name__})"
        if isinstance(error, SyncError):
            return str(error)
        return f"{type(error).__name__}: {error}"

    def _get(self, client: httpx.Client, url: str, params: Any = None) -> httpx.Response:
        """A TAXII answer, read whole within the deadline."""
        give_up = time.monotonic() + self.deadline
        with client.stream("GET", url, params=params) as response:
            if response.status_code in (401, 403):
                raise SyncError(
                    f"{url}: the partner refused our credentials ({response.status_code})"
                )
            if response.status_code != 200:
                raise SyncError(f"{url}: answered {response.status_code}")
            if TAXII not in response.headers.get("content-type", "").replace(" ", ""):
                raise SyncError(f"{url}: not a TAXII 2.1 answer")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if time.monotonic() > give_up:
                    raise SyncError(f"{url}: no complete answer within {self.deadline:g} s")
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in _TRANSFER_HEADERS
        ]
        return httpx.Response(200, headers=headers, content=bytes(body), request=response.request)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            value = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise SyncError(f"{response.url}: the answer is not JSON") from None
        if not isinstance(value, dict):
            raise SyncError(f"{response.url}: the answer is not a JSON object")
        return value

    def _discover(self, client: httpx.Client, partner: Partner) -> tuple[str, str | None]:
        """The URLs of the partner's collection for us (alias ``to-<our node name>``) and
        of its inbox for us (alias ``from-<our node name>``, where receipts go), if any."""
        discovery = self._json(self._get(client, f"{partner.url}/taxii2/"))
        roots = discovery.get("api_roots")
        if not isinstance(roots, list) or not roots:
            raise SyncError(f"{partner.url}: no API root in the partner's discovery")
        me = self.node.settings.node_name
        outbox: str | None = None
        inbox: str | None = None
        for root in roots:
            if not isinstance(root, str) or not root.startswith("/") or root.startswith("//"):
                continue
            listing = self._json(self._get(client, f"{partner.url}{root}collections/"))
            found = listing.get("collections", [])
            if not isinstance(found, list):
                raise SyncError(f"{partner.url}{root}collections/: 'collections' is not a list")
            for collection in found:
                if not isinstance(collection, dict):
                    continue
                url = f"{partner.url}{root}collections/{collection.get('id')}/"
                if collection.get("alias") == f"to-{me}" and collection.get("can_read"):
                    outbox = outbox or url
                if collection.get("alias") == f"from-{me}" and collection.get("can_write"):
                    inbox = inbox or url
        if outbox is None:
            raise SyncError(f"{partner.url}: no readable collection 'to-{me}' for this node")
        return outbox, inbox

    def _acknowledge(
        self, client: httpx.Client, inbox: str, partner: Partner, versions: list[tuple[str, str]]
    ) -> None:
        """Post a receipt for what was stored; a failure is logged, never fatal."""
        receipt = make_receipt(self.node.settings.node_name, self.node.identity_id, versions)
        try:
            response = client.post(
                f"{inbox}objects/",
                content=orjson.dumps({"objects": [receipt]}),
                headers={"Content-Type": TAXII},
            )
        except httpx.HTTPError as error:
            log.warning("receipt to %s not delivered: %s", partner.name, self._describe(error))
            return
        if response.status_code != 202:
            log.warning("receipt to %s refused: %s", partner.name, response.status_code)

    def _pull(self, client: httpx.Client, partner: Partner, result: SyncResult) -> None:
        collection_url, inbox = partner.remote_collection, partner.remote_inbox
        if not collection_url:
            collection_url, inbox = self._discover(client, partner)
            self.node.partners.update(
                partner.name, remote_collection=collection_url, remote_inbox=inbox
            )
        params: dict[str, str] = {"match[version]": "all", "limit": str(self.page_size)}
        if partner.watermark:
            params["added_after"] = partner.watermark
        own = self.node.own_identities()
        # The network work (the next page, the receipt of what was stored) runs on one
        # thread beside the writes, in order: the partner serves the next page while this
        # node writes. Pages are written in groups of up to ``group_size`` objects, or as
        # much JSON as one of the store's batches holds, one transaction each (fewer
        # commits, fewer receipts). The watermark moves only once a group is stored.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-network") as network:
            fetching = network.submit(self._fetch, client, f"{collection_url}objects/", params)
            receipts: list[Future[None]] = []
            group: list[Any] = []
            group_bytes = 0

            def store(last: httpx.Response, more: bool) -> None:
                """Write the group gathered so far and move the watermark past it."""
                nonlocal group, group_bytes
                stored = self._store_page(partner, group, own, result)
                group, group_bytes = [], 0
                if stored and inbox:
                    receipts.append(
                        network.submit(self._acknowledge, client, inbox, partner, stored)
                    )
                self._advance_watermark(partner, collection_url, last, more)

            gathered: httpx.Response | None = None  # the last page in the group
            while True:
                response, envelope = fetching.result()
                received = envelope.get("objects", [])
                if not isinstance(received, list):
                    if gathered is not None:
                        store(gathered, True)
                    raise SyncError(f"{collection_url}: 'objects' is not a list")
                more = bool(envelope.get("more"))
                token = envelope.get("next")
                if more and isinstance(token, str) and token:
                    # The cursor is bound to the filters of the first page: the same
                    # added_after.
                    params = {"match[version]": "all", "limit": str(self.page_size), "next": token}
                    if partner.watermark:
                        params["added_after"] = partner.watermark
                    fetching = network.submit(
                        self._fetch, client, f"{collection_url}objects/", params
                    )
                group.extend(received)
                group_bytes += len(response.content)
                gathered = response
                result.pages += 1
                listing_goes_on = more and isinstance(token, str) and bool(token)
                if (
                    not listing_goes_on
                    or len(group) >= self.group_size
                    or group_bytes >= self.node.store.batch_chars
                ):
                    store(response, more)
                    gathered = None
                if not more:
                    for receipt in receipts:
                        receipt.result()  # a failed POST is logged; anything else is raised
                    return
                if not listing_goes_on:
                    raise SyncError(f"{collection_url}: 'more' without 'next'")

    def _advance_watermark(
        self, partner: Partner, collection_url: str, last: httpx.Response, more: bool
    ) -> None:
        stamp = last.headers.get("x-taxii-date-added-last")
        if not stamp:
            return
        try:
            watermark = normalise_timestamp(stamp, "X-TAXII-Date-Added-Last")
        except ValueError:
            raise SyncError(f"{collection_url}: bad X-TAXII-Date-Added-Last") from None
        # Mid-listing, entries added at that same instant may be on the next page: a crash
        # must read them again. At the end, everything up to it was read (the partner dates
        # a whole addition at once): the next round starts after.
        self.node.partners.update(partner.name, watermark=_before(watermark) if more else watermark)

    def _fetch(
        self, client: httpx.Client, url: str, params: dict[str, str]
    ) -> tuple[httpx.Response, dict[str, Any]]:
        response = self._get(client, url, params=params)
        return response, self._json(response)

    def _store_page(
        self, partner: Partner, received: list[Any], own: frozenset[str], result: SyncResult
    ) -> list[tuple[str, str]]:
        """Screen and write one page; returns the versions now held, to acknowledge.

        Versions this partner had sent before (a page read again after a crash, or after
        the watermark was reset) are recorded as received again, and flagged again when
        they correct an earlier version: a crash between writing a page and auditing it
        leaves no version received without an audit entry (at worst, two entries).
        """
        accepted: list[Any] = []
        spoofed: list[str] = []
        held = self._held(received)
        ours = {
            object_id
            for object_id, versions in held.items()
            if any(author in own for _source, author in versions.values())
        }
        for obj in received:
            # Malformed values (a list for an id…) are left to validation, which refuses them.
            if isinstance(obj, dict) and (
                (isinstance(obj.get("created_by_ref"), str) and obj["created_by_ref"] in own)
                or (isinstance(obj.get("id"), str) and obj["id"] in ours)
            ):
                spoofed.append(str(obj.get("id"))[:300])
                continue
            accepted.append(obj)
        if spoofed:
            log.warning(
                "%s sent %d object(s) claiming to be created by this node, or new versions "
                "of objects this node created; refused: %s",
                partner.name,
                len(spoofed),
                ", ".join(spoofed[:5]),
            )
            self.node.audit.append(
                "sync",
                "request_refused",
                spoofed,
                details={
                    "partner": partner.name,
                    "why": "claims to be created by this node, or versions an object it created",
                },
            )
        source = f"partner:{partner.name}"
        report = self.node.store.put_many(accepted, source=source)
        # A new version of an object held before: a correction (or a revocation).
        corrections = {object_id for object_id in report.written if object_id in held}
        again: set[str] = set()
        for _index, object_id, modified in report.versions:
            versions = held.get(object_id, {})
            if modified in versions and versions[modified][0] == source:
                again.add(object_id)
                if any(earlier < modified for earlier in versions):
                    corrections.add(object_id)
        again.difference_update(report.written)
        corrected = sorted(corrections)
        for problem in report.refused:
            log.warning("%s sent an invalid object: %s", partner.name, problem)
        result.received += len(report.written)
        result.unchanged += len(report.unchanged)
        result.refused += len(report.refused) + len(spoofed)
        result.refusals.extend(str(problem) for problem in report.refused[:20])
        result.corrections += len(corrected)
        if report.written or report.refused or again:
            self.node.audit.append(
                "sync",
                "receive",
                [*report.written, *sorted(again)],
                details={
                    "partner": partner.name,
                    "unchanged": len(report.unchanged),
                    "again": len(again),
                    "refused": [problem.as_dict() for problem in report.refused[:50]],
                },
            )
        if corrected:
            # Flag to this node's users: a partner corrected or revoked what it had sent.
            self.node.audit.append("sync", "correct", corrected, details={"partner": partner.name})
        return [(object_id, modified) for _index, object_id, modified in report.versions]

    def _held(self, received: list[Any]) -> dict[str, dict[str, tuple[str | None, str | None]]]:
        """The versions held here of the objects in ``received``:
        ``{id: {modified: (source, created_by_ref)}}``."""
        ids = sorted(
            {
                obj["id"]
                for obj in received
                if isinstance(obj, dict) and isinstance(obj.get("id"), str)
            }
        )
        found: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        for object_id, modified, source, author in self.node.store.provenance(ids):
            found.setdefault(object_id, {})[modified] = (source, author)
        return found

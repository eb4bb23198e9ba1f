"""The sync agent: pull from each partner's collection for us, from a stored watermark.

One round, for each partner due: find our collection on the partner (discovery, once;
and until the partner's STIX identity is settled, the identity its discovery states:
learned when none was given here, else checked against the one given, see
``Partners.settle_identity``),
send the receipts still owed to it, page through the collection with ``added_after`` the
stored watermark, write what arrives with its provenance, then move the watermark; at the
end, send the partner the head of this node's audit trail if it moved (the partner keeps
it as a witness: ``exchange/witness.py``). Within a
listing the watermark is kept one microsecond before the last entry read, so that a crash
re-reads the entries added at that same instant (writing is idempotent); once the listing
is complete it is the last entry read, so the next round asks only for what is newer. A
crash at any point resumes from the last watermark without loss or duplicates. A partner
that fails is retried with exponential back-off, and the others go on.

Everything a partner sends is hostile until checked:

- the store's trust rules (``domain/trust.py``) refuse, before anything is written, what
  the partner may not say (a redefined marking-definition, a version of an object it did
  not create, an object claiming to be this node's); each refusal is audited and counted
  against the partner (``partner list``, the dashboard);
- an answer is read up to a byte cap and a deadline, and refused as it is read past them;
- a page with more objects than asked, a ``next`` cursor seen before, dates added that go
  back, a page that repeats one already read, or more pages than ``max_pages`` end the
  round with that partner with an error;
- each partner's pull has a time budget per round, and a round syncs its partners side by
  side: one slow, looping or hostile partner never holds up another.

The connection itself is checked before anything is sent (``tls.py``, docs/security.md):
an https partner's certificate against its CA file, its pinned fingerprint, or the system's
CAs; this node presents its own certificate when the partner asks; plain http outside
loopback is refused unless the operator allowed it. A refused connection is one line in
the partner's last error.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import ssl
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from diapason.audit import AuditLog, WitnessCheck, WitnessedHead
from diapason.domain.timestamps import (
    as_store_timestamp,
    parse_timestamp,
    store_now,
    store_timestamp,
)
from diapason.domain.trust import TRUST_RULES
from diapason.exchange.collections import PAGE_BYTES
from diapason.exchange.partners import Partner, PartnerError, Partners, report_untrusted
from diapason.exchange.protocol import IDENTITY_PROPERTY, TAXII, WITNESS_PATH
from diapason.exchange.receipts import OutgoingReceipts, make_receipts
from diapason.store.interface import ObjectStore
from diapason.tls import Identity, TlsError, client_context, explain, pin_hook

log = logging.getLogger("diapason.sync")

PAGE = 10_000
BACKOFF_BASE = 2.0  # seconds, doubled at each failure
BACKOFF_MAX = 600.0
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# The longest one answer may take, however slowly its bytes come (a partner trickling a
# byte at a time never trips the timeout between two reads).
DEADLINE = 300.0
# Pages one pull may take in a round, and the seconds it may take (settings override both).
MAX_PAGES = 1_000
ROUND_BUDGET = 120.0
# The API roots of a partner's discovery that are looked into.
MAX_ROOTS = 16
# The longest ``next`` cursor followed (it goes back in a query string).
MAX_CURSOR = 4096
# Partners synced side by side in one round.
MAX_PARALLEL = 8
# Heads asked for per page when reading back what a partner witnessed.
WITNESS_PAGE = 10_000
# The media type of the witness endpoint's answers.
JSON = "application/json"
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
    # What the trust rules refused of this partner's objects (domain/trust.py).
    untrusted: int = 0
    # The round's time budget ran out before the listing's end: it goes on next round.
    unfinished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "status": self.status,
            "received": self.received,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "corrections": self.corrections,
            "pages": self.pages,
            "untrusted": self.untrusted,
            "unfinished": self.unfinished,
            "error": self.error,
        }


def _before(stamp: str) -> str:
    """One microsecond before a store timestamp, in the store form (to re-read the boundary
    entries). The earliest timestamp there is stays as it is."""
    moment = parse_timestamp(stamp)
    if moment == datetime.min.replace(tzinfo=UTC):
        return stamp
    return store_timestamp(moment - timedelta(microseconds=1))


def _later(seconds: float) -> str:
    """``seconds`` from now, in the store form."""
    return store_timestamp(datetime.now(UTC) + timedelta(seconds=seconds))


def default_answer_cap(max_object_bytes: int) -> int:
    """The default byte cap of one answer: a full page of Diapason's TAXII server plus two
    objects at the size limit (a page ends after the object that crosses ``PAGE_BYTES``)
    and the envelope."""
    return PAGE_BYTES + 2 * max_object_bytes + 65_536


@dataclass(frozen=True)
class Local:
    """What the agent knows of this node: its name (partners' collections for us are
    ``to-NAME`` and ``from-NAME``) and its organisation's identity, once it has one."""

    name: str
    identity: Callable[[], str | None]

    def identities(self) -> frozenset[str]:
        found = self.identity()
        return frozenset({found}) if found else frozenset()


class SyncAgent:
    """Pulls from partners: given this node's store, its partners (state and credentials),
    its audit trail and the receipts it owes, nothing else."""

    def __init__(
        self,
        local: Local,
        store: ObjectStore,
        partners: Partners,
        audit: AuditLog,
        receipts: OutgoingReceipts,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: httpx.Timeout | float = TIMEOUT,
        deadline: float = DEADLINE,
        page_size: int = PAGE,
        group_size: int = PAGE,
        max_pages: int = MAX_PAGES,
        budget: float = ROUND_BUDGET,
        max_answer_bytes: int | None = None,
        stopping: threading.Event | None = None,
        identity: Identity | None = None,
    ) -> None:
        self.local = local
        # This node's certificate and key, presented to partners that ask for one.
        self.identity = identity
        self.store = store
        self.partners = partners
        self.audit = audit
        self.receipts = receipts
        # Set when the node shuts down: a pull ends between two pages.
        self.stopping = stopping or threading.Event()
        self.transport = transport
        # How long to wait for a partner (connecting, and between two reads of an answer),
        # and for a whole answer.
        self.timeout = timeout
        self.deadline = deadline
        # Objects per page of a pull (at most the partner's largest page).
        self.page_size = page_size
        # Objects written per transaction (and acknowledged by receipts): consecutive
        # pages are gathered up to this many. Larger groups cost the sender fewer receipts
        # and the receiver fewer commits.
        self.group_size = group_size
        # Bounds of one partner's pull in one round: pages, seconds, bytes of one answer.
        self.max_pages = max_pages
        self.budget = budget
        self.max_answer_bytes = max_answer_bytes or default_answer_cap(store.max_object_bytes)

    def _client(self, partner: Partner) -> httpx.Client:
        """The HTTP client of one partner's pull: over https, its certificate checked as
        the operator said (``partner add``), this node's presented when asked."""
        refusal = partner.refusal()
        if refusal is not None:
            raise SyncError(refusal)
        verify: ssl.SSLContext | bool = True
        hooks: dict[str, list[Callable[[httpx.Request], None]]] = {}
        if partner.url.startswith("https://"):
            verify = client_context(partner.ca_certificates, partner.fingerprint, self.identity)
            if partner.fingerprint:
                hooks["request"] = [pin_hook(partner.url, partner.fingerprint)]
        return httpx.Client(
            timeout=self.timeout,
            transport=self.transport,
            verify=verify,
            event_hooks=hooks,
            headers={
                "Accept": TAXII,
                "Authorization": f"Bearer {partner.token.reveal()}",
                "User-Agent": f"diapason/{self.local.name}",
            },
            follow_redirects=False,
        )

    def round(self, *, only: str | None = None, force: bool = False) -> list[SyncResult]:
        """One sync round over every partner (or one), side by side: each partner's pull
        has its own thread and time budget, so none waits for another."""
        due = [p for p in self.partners.all() if only is None or p.name == only]
        if len(due) <= 1:
            return [self.sync_partner(partner, force=force) for partner in due]
        with ThreadPoolExecutor(
            max_workers=min(len(due), MAX_PARALLEL), thread_name_prefix="sync"
        ) as pool:
            return list(pool.map(lambda partner: self.sync_partner(partner, force=force), due))

    def sync_partner(self, partner: Partner, *, force: bool = False) -> SyncResult:
        if not force and partner.next_attempt_at and partner.next_attempt_at > store_now():
            return SyncResult(partner.name, "skipped", error=partner.last_error)
        result = SyncResult(partner.name, "ok")
        try:
            with self._client(partner) as client:
                self._pull(client, partner, result)
                self._send_head(client, partner)
        except Exception as error:
            if not isinstance(error, SyncError | httpx.HTTPError | TlsError):
                # Not the partner's answer but something here (a bug, the database): this
                # partner backs off like any failure, and the round goes on with the others.
                log.exception("sync with %s: unexpected error", partner.name)
            message = self._describe(error, partner)
            failures = partner.failures + 1
            delay = min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_MAX)
            self.partners.update(
                partner.name,
                failures=failures,
                last_error=message[:1000],
                next_attempt_at=_later(delay),
            )
            log.warning(
                "sync with %s failed (%s); next try in %.0f s", partner.name, message, delay
            )
            self.audit.append(
                "sync",
                "sync",
                details={"partner": partner.name, "ok": False, "error": message[:300]},
            )
            result.status, result.error = "failed", message
            return result
        self.partners.update(
            partner.name,
            failures=0,
            last_error=None,
            next_attempt_at=None,
            last_sync_at=store_now(),
        )
        self._warn_unattributed(partner)
        return result

    def _warn_unattributed(self, partner: Partner) -> None:
        """Say it when a partner whose identity is still unknown (its discovery states
        none) sent joint items: stored, but the joint records cannot list them."""
        now = self.partners.get(partner.name)
        if now is None or now.identity_id is not None:
            return
        count = self.partners.unattributed(partner.name, self.local.identities())
        if count:
            log.warning(
                "%d joint item(s) from %s not attributed: its identity is unknown (its TAXII "
                "discovery states none); give it with `diapason partner update %s --identity ID`",
                count,
                partner.name,
                partner.name,
            )

    def _describe(self, error: Exception, partner: Partner) -> str:
        """A failure with ``partner`` in one line."""
        if isinstance(error, httpx.TimeoutException):
            return f"no answer in time ({type(error).__name__})"
        if isinstance(error, SyncError | TlsError):
            return str(error)
        trusted = (
            "the CA file given for this partner"
            if partner.ca_certificates
            else "a CA this system trusts"
        )
        explained = explain(error, partner.url, trusted, self.identity)
        if explained is not None:
            return explained
        return f"{type(error).__name__}: {error}"

    def _get(
        self, client: httpx.Client, url: str, params: Any = None, *, media: str = TAXII
    ) -> httpx.Response:
        """An answer of type ``media`` (TAXII by default), read whole within the deadline
        and the byte cap."""
        give_up = time.monotonic() + self.deadline
        cap = self.max_answer_bytes
        with client.stream("GET", url, params=params, headers={"Accept": media}) as response:
            if response.status_code in (401, 403):
                raise SyncError(
                    f"{url}: the partner refused our credentials ({response.status_code})"
                    + self._certificate_hint(url)
                )
            if response.status_code != 200:
                raise SyncError(f"{url}: answered {response.status_code}")
            if media not in response.headers.get("content-type", "").replace(" ", ""):
                raise SyncError(
                    f"{url}: not a TAXII 2.1 answer" if media == TAXII else f"{url}: not {media}"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and len(declared) < 20 and int(declared) > cap:
                raise SyncError(f"{url}: an answer of {int(declared):,} bytes, over {cap:,}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > cap:
                    raise SyncError(f"{url}: the answer goes over {cap:,} bytes; refused")
                if time.monotonic() > give_up:
                    raise SyncError(f"{url}: no complete answer within {self.deadline:g} s")
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in _TRANSFER_HEADERS
        ]
        return httpx.Response(200, headers=headers, content=bytes(body), request=response.request)

    def _certificate_hint(self, url: str) -> str:
        """Over https, what this node presented: a partner that bound our account to a
        client certificate refuses the token over any other connection."""
        if not url.startswith("https://"):
            return ""
        if self.identity is None:
            return (
                "; this node presents no client certificate (if the partner bound our "
                "account to one: set sync_cert and sync_key)"
            )
        return f"; this node presents the client certificate {self.identity.cert}"

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            value = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise SyncError(f"{response.url}: the answer is not JSON") from None
        if not isinstance(value, dict):
            raise SyncError(f"{response.url}: the answer is not a JSON object")
        return value

    def _settle_identity(self, partner: Partner, discovery: dict[str, Any]) -> Partner:
        """Read the identity the partner states in its discovery (``x_diapason_identity``):
        learn it when this node has none, confirm the one it was given; a different one is
        a ``SyncError`` (nothing is pulled until an operator settles it). Returns the
        partner as it now is."""
        stated = discovery.get(IDENTITY_PROPERTY)
        if stated is not None and not isinstance(stated, str):
            raise SyncError(f"{partner.url}/taxii2/: {IDENTITY_PROPERTY} is not a string")
        try:
            changed = self.partners.settle_identity(partner, stated, self.local.identities())
        except PartnerError as error:
            raise SyncError(str(error)) from None
        if changed is None:
            return partner
        log.info("partner %s: identity %s %s", partner.name, stated, changed)
        self.audit.append(
            "sync",
            "partner_update",
            details={"partner": partner.name, "identity_id": stated, "identity": changed},
        )
        return self.partners.get(partner.name) or partner

    def _discover(
        self, client: httpx.Client, partner: Partner, discovery: dict[str, Any]
    ) -> tuple[str, str | None]:
        """The URLs of the partner's collection for us (alias ``to-<our node name>``) and
        of its inbox for us (alias ``from-<our node name>``, where receipts go), if any."""
        roots = discovery.get("api_roots")
        if not isinstance(roots, list) or not roots:
            raise SyncError(f"{partner.url}: no API root in the partner's discovery")
        me = self.local.name
        outbox: str | None = None
        inbox: str | None = None
        # A partner lists a few API roots; each one listed costs a request, so a hostile
        # list of thousands is read no further than MAX_ROOTS.
        for root in roots[:MAX_ROOTS]:
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

    def _send_receipts(self, client: httpx.Client, partner: Partner, inbox: str | None) -> None:
        """Post every receipt still owed to ``partner``, oldest first; one is forgotten only
        once the partner's status says it stored it. A failure is logged and kept for the
        next round, never fatal to the pull."""
        if not inbox:
            return
        owed = self.receipts
        for receipt in owed.pending(partner.name):
            error = self._post_receipt(client, partner, inbox, receipt.content)
            if error is None:
                owed.delivered(receipt.id)
                continue
            owed.failed(receipt.id, error)
            log.warning(
                "receipt %s to %s not stored (%s); sent again next round",
                receipt.id,
                partner.name,
                error,
            )
            if error.startswith("not delivered"):
                return  # the partner cannot be reached: the rest waits too

    def _post_receipt(
        self, client: httpx.Client, partner: Partner, inbox: str, content: str
    ) -> str | None:
        """Post one receipt; None when the partner's status says it stored it, else why."""
        try:
            response = client.post(
                f"{inbox}objects/",
                content=b'{"objects":[' + content.encode() + b"]}",
                headers={"Content-Type": TAXII},
            )
        except httpx.HTTPError as error:
            return f"not delivered: {self._describe(error, partner)}"
        if response.status_code != 202:
            return f"answered {response.status_code}"
        try:
            status = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return "the status is not JSON"
        if not isinstance(status, dict):
            return "the status is not a JSON object"
        if status.get("success_count") != 1 or status.get("failure_count"):
            failures = status.get("failures")
            first = failures[0] if isinstance(failures, list) and failures else None
            message = first.get("message") if isinstance(first, dict) else None
            return f"refused: {str(message)[:300]}" if message else "refused in the status"
        return None

    # -- the witness of this node's audit trail -------------------------------------------
    def _send_head(self, client: httpx.Client, partner: Partner) -> None:
        """Send the partner this node's audit head when it moved past the last one the
        partner kept. A partner that does not keep heads (an older node), or cannot be
        reached now, is told next round; one that holds another hash for that entry is
        reported loudly: this trail no longer has the entry the partner witnessed."""
        head = self.audit.head()
        if head is None or (partner.witnessed_seq or 0) >= head.seq:
            return
        try:
            response = client.post(
                f"{partner.url}{WITNESS_PATH}",
                content=orjson.dumps(head.as_dict()),
                headers={"Content-Type": JSON, "Accept": JSON},
            )
        except httpx.HTTPError as error:
            log.info("audit head not sent to %s: %s", partner.name, self._describe(error, partner))
            return
        answer = self._answer(response)
        if response.status_code == 409:
            log.error(
                "%s refused this node's audit head (entry %d): %s",
                partner.name,
                head.seq,
                repr(str(answer.get("error", "it witnessed another hash for that entry"))[:500]),
            )
            return
        if response.status_code != 200:
            # 404: a partner of an earlier version, which keeps no heads (asked every round).
            level = logging.DEBUG if response.status_code == 404 else logging.INFO
            log.log(
                level, "audit head not kept by %s (answered %d)", partner.name, response.status_code
            )
            return
        if answer.get("outcome") in ("kept", "known"):
            try:
                at = as_store_timestamp(answer.get("witnessed_at"), "witnessed_at")
            except ValueError:
                at = store_now()  # the partner's word on when is not needed: now will do
            self.partners.update(partner.name, witnessed_seq=head.seq, witnessed_at=at)

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        """A small JSON answer as a dict (empty when it is anything else)."""
        if len(response.content) > 65_536:
            return {}
        try:
            value = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def check_witness(self, partner: Partner) -> WitnessCheck:
        """This node's audit trail against the heads ``partner`` witnessed, read from the
        partner now; one that cannot be asked gives a check that is not ok, saying why."""
        try:
            # Closed on leaving: a check that stops at the first difference ends the reading.
            with contextlib.closing(self.witnessed(partner)) as heads:
                return self.audit.check_witnessed(partner.name, heads)
        except (SyncError, httpx.HTTPError) as error:
            return WitnessCheck(
                partner.name,
                False,
                0,
                None,
                None,
                f"partner {partner.name} could not be asked at {partner.url}: "
                f"{self._describe(error, partner)}",
                asked=False,
            )

    def witnessed(self, partner: Partner) -> Generator[WitnessedHead]:
        """The heads of this node's audit trail that ``partner`` keeps, oldest first, read
        from the partner now (page by page); ``SyncError`` when it cannot tell."""
        after = 0
        url = f"{partner.url}{WITNESS_PATH}"
        with self._client(partner) as client:
            while True:
                params = {"after": str(after), "limit": str(WITNESS_PAGE)}
                page = self._json(self._get(client, url, params, media=JSON))
                heads = page.get("heads")
                if not isinstance(heads, list) or len(heads) > WITNESS_PAGE:
                    raise SyncError(f"{url}: 'heads' is not a list of at most {WITNESS_PAGE}")
                for value in heads:
                    head = _witnessed_head(value)
                    if head is None or head.seq <= after:
                        raise SyncError(f"{url}: a head that is not one, or out of order")
                    after = head.seq
                    yield head
                if not page.get("more") or not heads:
                    return

    def _pull(self, client: httpx.Client, partner: Partner, result: SyncResult) -> None:
        collection_url, inbox = partner.remote_collection, partner.remote_inbox
        # The discovery is read until the partner's identity is settled (learned from it,
        # or the one given here confirmed by it), and to find the collections once.
        if not collection_url or partner.identity_state not in ("learned", "confirmed"):
            discovery = self._json(self._get(client, f"{partner.url}/taxii2/"))
            partner = self._settle_identity(partner, discovery)
            if not collection_url:
                collection_url, inbox = self._discover(client, partner, discovery)
                self.partners.update(
                    partner.name, remote_collection=collection_url, remote_inbox=inbox
                )
        give_up = time.monotonic() + self.budget
        listing = Listing(collection_url, self.page_size, self.max_pages)
        params: dict[str, str] = {"match[version]": "all", "limit": str(self.page_size)}
        if partner.watermark:
            params["added_after"] = partner.watermark
        own = self.local.identities()
        # The network work (the next page, the receipts owed) runs on one thread beside the
        # writes, in order: the partner serves the next page while this node writes. Pages
        # are written in groups of up to ``group_size`` objects, or as much JSON as one of
        # the store's batches holds, one transaction each (fewer commits, fewer receipts).
        # The receipts of a group are kept before the watermark moves past it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-network") as network:
            sending = network.submit(self._send_receipts, client, partner, inbox)
            fetching = network.submit(self._fetch, client, f"{collection_url}objects/", params)
            receipts: list[Future[None]] = [sending]
            group: list[Any] = []
            group_bytes = 0

            def store(last: httpx.Response, more: bool) -> None:
                """Write the group gathered so far and move the watermark past it."""
                nonlocal group, group_bytes
                stored = self._store_page(partner, group, own, result)
                group, group_bytes = [], 0
                owed = make_receipts(
                    self.local.name, self.local.identity(), stored, self.audit.head()
                )
                self.receipts.keep(partner.name, owed)
                if owed and inbox:
                    receipts.append(network.submit(self._send_receipts, client, partner, inbox))
                self._advance_watermark(partner, collection_url, last, more)

            def finish() -> None:
                for receipt in receipts:
                    receipt.result()  # a failed POST is logged; anything else is raised

            gathered: httpx.Response | None = None  # the last page in the group
            while True:
                response, envelope = fetching.result()
                received = envelope.get("objects", [])
                try:
                    listing.check(response, envelope, received)
                except SyncError:
                    if gathered is not None:
                        store(gathered, True)
                    raise
                more = bool(envelope.get("more"))
                token = envelope.get("next")
                out_of_time = time.monotonic() > give_up or self.stopping.is_set()
                listing_goes_on = more and isinstance(token, str) and bool(token)
                if isinstance(token, str) and listing_goes_on and not out_of_time:
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
                if (
                    not listing_goes_on
                    or out_of_time
                    or len(group) >= self.group_size
                    or group_bytes >= self.store.batch_chars
                ):
                    store(response, more)
                    gathered = None
                if not more:
                    finish()
                    return
                if not listing_goes_on:
                    raise SyncError(f"{collection_url}: 'more' without 'next'")
                if out_of_time:
                    # What was read is stored and acknowledged; the rest comes next round.
                    result.unfinished = True
                    log.info(
                        "sync with %s: the round's %g s are spent; the listing goes on next round",
                        partner.name,
                        self.budget,
                    )
                    finish()
                    return

    def _advance_watermark(
        self, partner: Partner, collection_url: str, last: httpx.Response, more: bool
    ) -> None:
        stamp = last.headers.get("x-taxii-date-added-last")
        if not stamp:
            return
        try:
            watermark = as_store_timestamp(stamp, "X-TAXII-Date-Added-Last")
        except ValueError:
            raise SyncError(f"{collection_url}: bad X-TAXII-Date-Added-Last") from None
        # Mid-listing, entries added at that same instant may be on the next page: a crash
        # must read them again. At the end, everything up to it was read (the partner dates
        # a whole addition at once): the next round starts after.
        self.partners.update(partner.name, watermark=_before(watermark) if more else watermark)

    def _fetch(
        self, client: httpx.Client, url: str, params: dict[str, str]
    ) -> tuple[httpx.Response, dict[str, Any]]:
        response = self._get(client, url, params=params)
        return response, self._json(response)

    def _store_page(
        self, partner: Partner, received: list[Any], own: frozenset[str], result: SyncResult
    ) -> list[tuple[str, str]]:
        """Screen and write one group of pages; returns the versions now held, to
        acknowledge.

        The store applies the trust rules with this partner as the sender, in the write's
        transaction. Versions this partner had sent before (a page read again after a crash,
        or after the watermark was reset) are recorded as received again, and flagged again
        when they correct an earlier version: a crash between writing a page and auditing
        it leaves no version received without an audit entry (at worst, two entries).
        """
        held = self._held(received)
        source = f"partner:{partner.name}"
        report = self.store.put_many(
            received, source=source, sender=self.partners.sender(partner, own)
        )
        untrusted = report_untrusted(
            self.partners, self.audit, partner.name, "sync", report.refused
        )
        invalid = [problem for problem in report.refused if problem.rule not in TRUST_RULES]
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
        for problem in invalid[:20]:
            log.warning("%s sent an invalid object: %s", partner.name, problem)
        result.received += len(report.written)
        result.unchanged += len(report.unchanged)
        result.refused += len(report.refused)
        result.untrusted += len(untrusted)
        result.refusals.extend(str(problem) for problem in report.refused[:20])
        result.corrections += len(corrected)
        if report.written or invalid or again:
            self.audit.append(
                "sync",
                "receive",
                [*report.written, *sorted(again)],
                details={
                    "partner": partner.name,
                    "unchanged": len(report.unchanged),
                    "again": len(again),
                    "refused": [problem.as_dict() for problem in invalid[:50]],
                },
            )
        if corrected:
            # Flag to this node's users: a partner corrected or revoked what it had sent.
            self.audit.append("sync", "correct", corrected, details={"partner": partner.name})
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
        for object_id, modified, source, author in self.store.provenance(ids):
            found.setdefault(object_id, {})[modified] = (source, author)
        return found


def _witnessed_head(value: Any) -> WitnessedHead | None:
    """One head of a partner's witness listing, checked."""
    if not isinstance(value, dict):
        return None
    seq, digest, at = value.get("seq"), value.get("hash"), value.get("witnessed_at")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        return None
    if not isinstance(digest, str) or len(digest) != 64 or not isinstance(at, str):
        return None
    try:
        witnessed_at = as_store_timestamp(at, "witnessed_at")
    except ValueError:
        return None
    return WitnessedHead(seq, digest, witnessed_at)


class Listing:
    """The guards of one pull's listing: each page is checked before it is used, so a
    partner whose listing does not progress (or grows past every bound) ends the round
    with a clear error instead of holding it."""

    def __init__(self, url: str, limit: int, max_pages: int) -> None:
        self.url = url
        self.limit = limit
        self.max_pages = max_pages
        self.pages = 0
        self.tokens: set[str] = set()
        self.fingerprints: set[bytes] = set()
        self.last_added: str | None = None

    def check(self, response: httpx.Response, envelope: dict[str, Any], objects: Any) -> None:
        url = self.url
        self.pages += 1
        if self.pages > self.max_pages:
            raise SyncError(
                f"{url}: the listing goes past {self.max_pages} pages in one round; stopped"
            )
        if not isinstance(objects, list):
            raise SyncError(f"{url}: 'objects' is not a list")
        if len(objects) > self.limit:
            raise SyncError(
                f"{url}: a page of {len(objects):,} objects where at most {self.limit:,} "
                "were asked for; refused"
            )
        more = bool(envelope.get("more"))
        token = envelope.get("next")
        if more and not objects:
            raise SyncError(f"{url}: an empty page that says there is more; no progress")
        if isinstance(token, str) and more:
            if len(token) > MAX_CURSOR:
                raise SyncError(f"{url}: a 'next' cursor of {len(token):,} characters; refused")
            if token in self.tokens:
                raise SyncError(f"{url}: the same 'next' cursor came back; the listing loops")
            self.tokens.add(token)
        # The objects only: a looping partner may wrap the same page in a new envelope.
        fingerprint = hashlib.sha256(orjson.dumps(objects)).digest()
        if objects and fingerprint in self.fingerprints:
            raise SyncError(f"{url}: a page read before came back; the listing loops")
        self.fingerprints.add(fingerprint)
        stamp = response.headers.get("x-taxii-date-added-last")
        if stamp:
            try:
                added = as_store_timestamp(stamp, "X-TAXII-Date-Added-Last")
            except ValueError:
                raise SyncError(f"{url}: bad X-TAXII-Date-Added-Last") from None
            if self.last_added is not None and added < self.last_added:
                raise SyncError(
                    f"{url}: dates added go back ({added} after {self.last_added}); "
                    "the listing does not progress"
                )
            self.last_added = added

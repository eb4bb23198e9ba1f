"""A partner node gone bad: a small TAXII 2.1 server on loopback that a node syncs from.

It serves the objects it is given from the collection for ``receiver`` (alias
``to-RECEIVER``), in pages that honour ``limit`` and ``added_after`` (object ``n`` is dated
added ``BASE + n`` milliseconds), and keeps the receipts posted to its inbox (alias
``from-RECEIVER``). ``mode`` says how its listing misbehaves; what it says in its objects
comes from the attack builders below, which forge what a hostile partner would send.

Listing modes:

- ``honest``: pages as TAXII says (the content attacks use it: redefined marking-
  definitions, forged versions, invalid objects, spoofed authors);
- ``loop-same-next``: every page says there is more, with the same ``next`` cursor;
- ``loop-new-next``: every page says there is more, with a new ``next`` each time and
  the same objects;
- ``endless``: every page says there is more, with a new ``next`` and new objects;
- ``slow-endless``: ``endless``, each page after a delay (a partner that never ends);
- ``oversized-page``: every object in one page, whatever ``limit`` asked;
- ``huge-body``: an answer of ``huge_bytes`` bytes;
- ``dates-back``: the second page is dated before the first.

Real sockets and real HTTP: only the other side is not a Diapason node.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from diapason.domain.extensions import MARKING_EXTENSION_ID
from tests.exchange.fakes import LoopbackServer

TAXII = "application/taxii+json;version=2.1"
OUTBOX = "6a4f1f8e-1b43-4d7b-9a55-0c0f4e6f7a11"
INBOX = "0d2b8f53-2a8e-4c0e-8f57-53a0d7e3b2c4"
BASE = datetime(2026, 1, 1, tzinfo=UTC)

MODES = (
    "honest",
    "loop-same-next",
    "loop-new-next",
    "endless",
    "slow-endless",
    "oversized-page",
    "huge-body",
    "dates-back",
)


def added(position: int) -> str:
    """The date added of the object at ``position`` in the partner's collection."""
    moment = BASE + timedelta(milliseconds=position)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class HostilePartner(LoopbackServer):
    """One hostile partner on ``127.0.0.1:port``, in a thread of the test process."""

    def __init__(
        self,
        mode: str,
        receiver: str,
        objects: list[Any] | None = None,
        *,
        huge_bytes: int = 100 * 1_048_576,
        delay: float = 1.0,
        inbox_answers: list[int] | None = None,
    ) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.receiver = receiver
        self.objects = list(objects or [])
        self.huge_bytes = huge_bytes
        self.delay = delay
        # Status codes the inbox answers in turn (then 202 with a complete status).
        self.inbox_answers = list(inbox_answers or [])
        self.receipts: list[dict[str, Any]] = []
        self.pages = 0
        self.lock = threading.Lock()
        super().__init__()

    def acknowledged(self) -> set[tuple[str, str]]:
        """Every ``(id, version)`` the receiver acknowledged in its receipts."""
        return {
            (entry["id"], entry["version"])
            for receipt in self.receipts
            for entry in receipt["received"]
        }

    # -- answers ---------------------------------------------------------------------------
    @staticmethod
    def send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", TAXII)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if parts.path == "/taxii2/":
            body: dict[str, Any] = {"title": "hostile", "api_roots": ["/taxii2/main/"]}
        elif parts.path == "/taxii2/main/collections/":
            body = {
                "collections": [
                    {
                        "id": OUTBOX,
                        "alias": f"to-{self.receiver}",
                        "title": "for you",
                        "can_read": True,
                        "can_write": False,
                    },
                    {
                        "id": INBOX,
                        "alias": f"from-{self.receiver}",
                        "title": "from you",
                        "can_read": False,
                        "can_write": True,
                    },
                ]
            }
        elif parts.path == f"/taxii2/main/collections/{OUTBOX}/objects/":
            self.page(handler, query)
            return
        else:
            self.send(handler, 404, b'{"title": "Not Found", "http_status": "404"}')
            return
        self.send(handler, 200, orjson.dumps(body))

    def page(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        with self.lock:
            self.pages += 1
            number = self.pages
        limit = int(query.get("limit", "100"))
        if self.mode == "huge-body":
            self.send_huge(handler)
            return
        if self.mode == "slow-endless":
            self.stopping.wait(self.delay)
        positioned = list(enumerate(self.objects))
        after = query.get("added_after")
        if after:
            positioned = [(n, obj) for n, obj in positioned if added(n) > after]
        start = int(query["next"].split(":")[1]) if query.get("next", "").startswith("o:") else 0
        envelope: dict[str, Any] = {}
        if self.mode == "oversized-page":
            chosen = positioned
        elif self.mode in ("endless", "slow-endless"):
            chosen = [(number * 1000 + n, forged_new(obj)) for n, obj in positioned[:limit]]
            envelope.update(more=True, next=f"n:{uuid.uuid4()}")
        elif self.mode in ("loop-same-next", "loop-new-next"):
            chosen = positioned[:limit]
            token = "the-same-cursor" if self.mode == "loop-same-next" else f"n:{uuid.uuid4()}"
            envelope.update(more=True, next=token)
        else:
            chosen = positioned[start : start + limit]
            if start + limit < len(positioned):
                envelope.update(more=True, next=f"o:{start + limit}")
        if self.mode == "dates-back" and number == 1 and chosen:
            envelope.update(more=True, next=f"o:{start + limit}")
        envelope["objects"] = [obj for _n, obj in chosen]
        headers = {}
        if chosen:
            first, last = added(chosen[0][0]), added(chosen[-1][0])
            if self.mode == "dates-back" and number > 1:
                first = last = added(0).replace("2026", "2025")
            headers = {"X-TAXII-Date-Added-First": first, "X-TAXII-Date-Added-Last": last}
        self.send(handler, 200, orjson.dumps(envelope), headers)

    def send_huge(self, handler: BaseHTTPRequestHandler) -> None:
        """A JSON envelope of ``huge_bytes`` bytes, sent in chunks: a reader that keeps
        reading holds all of it."""
        handler.send_response(200)
        handler.send_header("Content-Type", TAXII)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b" " * 65536
        sent = 0
        try:
            for piece in (b'{"objects": [', *([chunk] * (self.huge_bytes // len(chunk))), b"]}"):
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reader stopped reading: what the test wants
        self.huge_sent = sent

    def receive(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """The inbox: keeps receipts, answers a TAXII status (or the next queued code)."""
        with self.lock:
            code = self.inbox_answers.pop(0) if self.inbox_answers else 202
        if code != 202:
            self.send(handler, code, b'{"title": "try later", "http_status": "%d"}' % code)
            return
        objects = orjson.loads(body).get("objects", [])
        self.receipts.extend(obj for obj in objects if obj.get("type") == "x-diapason-receipt")
        status = {
            "id": str(uuid.uuid4()),
            "status": "complete",
            "total_count": len(objects),
            "success_count": len(objects),
            "failure_count": 0,
            "pending_count": 0,
        }
        self.send(handler, 202, orjson.dumps(status))


# -- what a hostile partner says --------------------------------------------------------------
def later(stamp: str, days: int = 30) -> str:
    moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return (moment + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def widened_rel_to(definition: dict[str, Any], *names: str) -> dict[str, Any]:
    """A ``REL TO`` marking-definition redefined under its id, later, with more names."""
    forged = copy.deepcopy(definition)
    payload = forged["extensions"][MARKING_EXTENSION_ID]
    payload["releasable_to"] = [*payload["releasable_to"], *names]
    forged["name"] = "REL TO " + ", ".join(payload["releasable_to"])
    forged["created"] = later(forged["created"])
    return forged


def h3_as_statement(definition: dict[str, Any]) -> dict[str, Any]:
    """An H3 marking-definition turned, under its id, into a statement that restricts
    nothing."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": definition["id"],
        "created": later(definition["created"]),
        "definition_type": "statement",
        "definition": {"statement": "Free to use."},
    }


def forged_version(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A later version of someone else's object, with new content."""
    forged = {**copy.deepcopy(obj), **changes}
    forged["modified"] = later(obj["modified"])
    return forged


def forged_new(obj: Any) -> Any:
    """The same object under a new id (what an endless listing keeps inventing)."""
    if not isinstance(obj, dict) or "--" not in str(obj.get("id")):
        return obj
    return {**obj, "id": f"{obj['type']}--{uuid.uuid4()}"}


def spoofed(obj: dict[str, Any], author: str) -> dict[str, Any]:
    """An object claiming another organisation created it."""
    return {**copy.deepcopy(obj), "created_by_ref": author}


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False

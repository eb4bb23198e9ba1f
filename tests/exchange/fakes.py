"""Partners that misbehave: tiny HTTP servers on loopback answering garbage, something that
is not TAXII, malformed objects, or nothing at all. Real sockets, real HTTP; only the
other side is not a Diapason node."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

TAXII = "application/taxii+json;version=2.1"
COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

MODES = (
    "garbage",  # 200 text/html, not JSON
    "json-not-taxii",  # 200 application/json: not a TAXII answer
    "taxii-not-json",  # the TAXII media type, a body that is not JSON
    "collections-not-list",  # discovery fine, then {"collections": 5}
    "objects",  # a proper TAXII collection serving the objects it is given
    "hang",  # accepts the connection, never answers
    "trickle",  # answers a byte at a time, forever
)


class LoopbackServer:
    """A partner's HTTP side on ``127.0.0.1:port``, in a thread of the test process: GETs go
    to ``answer(handler)``, POSTs to ``receive(handler, body)``; every request's path is
    kept in ``requests``."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads ``requests`` instead."""

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                owner.answer(self)

            def do_POST(self) -> None:
                owner.requests.append(f"POST {self.path}")
                length = int(self.headers.get("content-length") or 0)
                owner.receive(self, self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def receive(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class FakePartner(LoopbackServer):
    """One misbehaving partner on ``127.0.0.1:port``, in a thread of the test process."""

    def __init__(self, mode: str, receiver: str, objects: list[Any] | None = None) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.receiver = receiver
        self.objects = objects or []
        super().__init__()

    def receive(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self.send(handler, 202, TAXII, orjson.dumps({"status": "complete"}))

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, media: str, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", media)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if self.mode == "hang":
            self.stopping.wait(120)
            return
        if self.mode == "trickle":
            handler.send_response(200)
            handler.send_header("Content-Type", TAXII)
            handler.send_header("Content-Length", "1000000")
            handler.end_headers()
            while not self.stopping.is_set():
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.2)
            return
        if self.mode == "garbage":
            self.send(handler, 200, "text/html", b"<html><body>It works!</body></html>")
            return
        if self.mode == "json-not-taxii":
            self.send(handler, 200, "application/json", b'{"hello": "world"}')
            return
        if self.mode == "taxii-not-json":
            self.send(handler, 200, TAXII, b"\x00\xffnot json at all{")
            return
        if path == "/taxii2/":
            body: dict[str, Any] = {"title": "fake", "api_roots": ["/taxii2/main/"]}
        elif path == "/taxii2/main/collections/":
            if self.mode == "collections-not-list":
                body = {"collections": 5}
            else:
                body = {
                    "collections": [
                        {
                            "id": COLLECTION,
                            "alias": f"to-{self.receiver}",
                            "title": "for you",
                            "can_read": True,
                            "can_write": False,
                        }
                    ]
                }
        elif path == f"/taxii2/main/collections/{COLLECTION}/objects/":
            self.send_objects(handler)
            return
        else:
            self.send(handler, 404, TAXII, b'{"title": "Not Found", "http_status": "404"}')
            return
        self.send(handler, 200, TAXII, orjson.dumps(body))

    def send_objects(self, handler: BaseHTTPRequestHandler) -> None:
        # The page is served whatever added_after says: a partner that does not honour it
        # must not make the receiver store anything twice.
        body = orjson.dumps({"objects": self.objects})
        handler.send_response(200)
        handler.send_header("Content-Type", TAXII)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-TAXII-Date-Added-First", "2024-05-01T00:00:00.000000Z")
        handler.send_header("X-TAXII-Date-Added-Last", "2024-05-01T00:00:01.000000Z")
        handler.end_headers()
        handler.wfile.write(body)

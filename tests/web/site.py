"""A node's web interface served by uvicorn on loopback (in a thread of the test process),
and a small form-filling HTTP client that signs in as a browser does."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.web.app import create_app
from tests.clock import RunningClock
from tests.taxii.servers import free_port

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@contextmanager
def serve(
    node: Node,
    *,
    clock: Callable[[], datetime] | None = None,
    port: int | None = None,
    sync_interval: int | None = None,
) -> Iterator[str]:
    """Serve ``node``'s application on loopback (on ``port``, default a free one), its
    joint mechanism at the time of ``clock`` (default: a ``RunningClock`` from the fixed
    ``tests.clock.NOW``) and its exchange loop every ``sync_interval`` seconds (default: the
    node's setting); yields its base URL."""
    settings = node.settings
    if sync_interval is not None:
        settings = dataclasses.replace(settings, sync_interval=sync_interval)
    app = create_app(settings, node, clock=clock or RunningClock())
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the web server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def make_node(folder: Path, database_url: str | None, name: str = "rabat") -> Node:
    """An initialised node (sync loop off) whose admin has the password ``PASSWORD``."""
    settings = load_settings(
        folder, environ={}, node_name=name, database_url=database_url, sync_interval=0
    )
    node, initialised = init_node(settings, "tests")
    assert initialised is not None
    node.accounts.set_password("admin", PASSWORD)
    return node


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def text_of(html: str) -> str:
    """The visible text of a page, roughly: tags dropped, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


@dataclass
class WebClient:
    """An HTTP client that keeps cookies and fills in forms' CSRF tokens, as a browser."""

    http: httpx.Client

    @classmethod
    def at(cls, url: str, **headers: str) -> WebClient:
        return cls(httpx.Client(base_url=url, headers=headers, timeout=30))

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def post(self, path: str, form: dict[str, str], *, page: str | None = None) -> httpx.Response:
        """POST a form, with the CSRF token of ``page`` (default: the form's own path)."""
        token = csrf_of(self.get(page or path).text)
        return self.http.post(path, data={"csrf": token, **form})

    def login(self, username: str = "admin", password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", {"username": username, "password": password})

    def close(self) -> None:
        self.http.close()


def put(node: Node, *objects: dict[str, Any], source: str = "local") -> None:
    """Store objects as the node's analysts (or a partner's sync) would."""
    report = node.store.put_many(list(objects), source=source)
    assert not report.refused, report.refused
    node.audit.append("tests", "import", report.written)

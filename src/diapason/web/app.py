"""The ASGI application factory. No globals: everything hangs off ``app.state.node``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import anyio
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from diapason import __version__
from diapason.exchange.taxii import TaxiiServer, taxii_error
from diapason.http.metrics import RequestMetrics, multiprocess_folder
from diapason.http.pipeline import Refused
from diapason.node import Node
from diapason.settings import Settings, load_settings
from diapason.web.coordinate_api import CoordinateApi
from diapason.web.exchange_loop import ExchangeLoop
from diapason.web.metrics import MetricsApi, NodeCollector, utc_now
from diapason.web.misp_feed import MispFeed
from diapason.web.ui import build_ui
from diapason.web.witness_api import WitnessApi
from diapason.web.worker import die_with_parent

log = logging.getLogger("diapason.exchange")

# The web interface runs no script at all and loads nothing from elsewhere: the policy
# says so, and forbids inline scripts and styles, framing, and forms posting elsewhere.
CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    b"font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    b"frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]
# Only over TLS: a browser ignores it over plain HTTP, and a node behind a TLS proxy sees
# https when uvicorn trusts the proxy's X-Forwarded-Proto.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class HttpOnly:
    """An ASGI middleware acting on HTTP requests (``http``), letting the rest through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class SecurityHeaders(HttpOnly):
    """Adds the headers every response of a security node should carry (HSTS under TLS)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                tls = [HSTS] if scope.get("scheme") == "https" else []
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS, *tls]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def health(request: Request) -> JSONResponse:
    """Liveness and database reachability; tells nothing about the node's content.

    A plain function: Starlette runs it in a worker thread, so a database slow to answer
    never holds the event loop."""
    node: Node = request.app.state.node
    if not node.read.answers():
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "node": node.settings.node_name, "version": __version__})


async def not_found(request: Request, exc: Exception) -> Response:
    """404 and 405 as TAXII error messages under /taxii2/, plain JSON elsewhere."""
    status = getattr(exc, "status_code", 404)
    title = "Not Found" if status == 404 else "Method Not Allowed"
    if request.url.path.startswith("/taxii2/"):
        return taxii_error(Refused(status, f"{title.lower()}: {request.url.path}"))
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(
            f"<!doctype html><title>{status}</title><h1>{status} {title}</h1>"
            '<p><a href="/">Diapason</a></p>',
            status_code=status,
        )
    return JSONResponse({"error": title}, status_code=status)


def warm_osint(node: Node) -> None:
    """Load the OSINT language model if this node holds OSINT reports, so that the first
    ingestion or correction of ``serve`` does not wait for it (seconds); run in a thread of
    its own at startup, never awaited. Articles are shown without it (``osint/view.py``)."""
    try:
        if not node.read.newest_of_type("report", 1, source="osint"):
            return
        from diapason.osint.nlp import french

        french()
    except Exception:
        logging.getLogger("diapason.osint").exception("loading the OSINT model failed")


async def background_loop(exchange: ExchangeLoop, interval: int) -> None:
    """The exchange loop of ``serve``; a failed turn is logged and the loop goes on."""
    while True:
        try:
            await anyio.to_thread.run_sync(exchange.tick)
        except Exception:
            log.exception("exchange turn failed; trying again in %s s", interval)
        await asyncio.sleep(interval)


def create_app(
    settings: Settings,
    node: Node | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    metrics: bool = True,
) -> Starlette:
    """Build the application for one node (opened here unless given). ``clock`` is the
    time the joint mechanism sees, in its pages and its API, and the figures of
    ``/metrics`` (default: now; tests fix it). ``metrics``: whether requests are counted
    and ``/metrics`` served (the benchmark compares both)."""
    node = node or Node.open(settings)
    figures = None
    if metrics:
        figures = RequestMetrics(multiprocess_folder())
        figures.add(NodeCollector(node, clock or utc_now))
    taxii = TaxiiServer(
        node.collections,
        node.audit,
        node.authenticator,
        node.inbound(),
        name=settings.node_name,
        key=settings.secret_key.reveal().encode(),
        identity=lambda: node.identity_id,
    )
    # The interface signs CSRF tokens with the node's key (shared by every worker); without
    # one, a random key: forms then only work within this process.
    _ui, ui_routes = build_ui(
        node, settings.secret_key.reveal().encode() or secrets.token_bytes(32), clock=clock
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = None
        holder = f"{socket.gethostname()}:{os.getpid()}"
        exchange = ExchangeLoop(node, holder, settings.sync_interval)
        if settings.sync_interval > 0:
            loop = asyncio.create_task(background_loop(exchange, settings.sync_interval))
        threading.Thread(target=warm_osint, args=(node,), name="osint-warm", daemon=True).start()
        try:
            yield
        finally:
            if loop is not None:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
                # The pulls in flight end; a restarted server would otherwise wait for the
                # lease to expire (30 s) before its first exchange turn.
                with contextlib.suppress(sa.exc.DBAPIError):
                    await anyio.to_thread.run_sync(exchange.stop)
            if figures is not None:
                figures.close()
            node.close()

    app = Starlette(
        routes=[
            Route("/health", health),
            *taxii.routes(),
            *CoordinateApi(node, clock=clock).routes(),
            *WitnessApi(node).routes(),
            *MispFeed(node).routes(),
            *(MetricsApi(node, figures).routes() if figures is not None else []),
            *ui_routes,
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={404: not_found, 405: not_found},
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.metrics = figures
    return app


def create_app_from_environment() -> Starlette:
    """For ``uvicorn --factory`` and worker processes: settings from ``DIAPASON_*``."""
    die_with_parent()
    return create_app(load_settings())

"""One request's way through an HTTP face of the node.

The TAXII server, the joint mechanism's JSON API and the pages serve every endpoint
through a ``Pipeline``: the caller is admitted (credentials, or a browser session), the
body read within a limit, and the handler run; a ``Refused`` at any step is audited (unless
it already was) and answered in the face's own format (a TAXII error message, JSON, an HTML
page). Everything that touches the database or hashes a password (Argon2) runs in a worker
thread: the event loop only moves bytes, so ``/health`` and every other request keep
answering while a large POST is written.

A face is the pipeline's parameters: how it admits (``Credentials`` for HTTP Basic and
Bearer clients, the session for the pages), how it reads a body, how it answers a refusal
and how it audits one (``Trail``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.audit import AuditLog
from diapason.authentication import Authenticator, SignInThrottled, client_certificate
from diapason.http.metrics import observe

REALM = 'Basic realm="diapason", Bearer realm="diapason"'

# Who is calling, as a face knows it: an account, or a page's view of a browser session.
C = TypeVar("C")

Endpoint = Callable[[Request], Awaitable[Response]]
# Reads a request's body within a size limit, on the event loop (only bytes move there).
Reader = Callable[[Request, int], Awaitable[Any]]


class Refused(Exception):
    """A request refused: its status, one line saying why, headers the answer carries.
    ``audited``: its audit entry is written already (a denial audits where it is decided)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        audited: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.audited = audited


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(value), status_code=status, media_type="application/json", headers=headers
    )


def json_error(request: Request, caller: object, refused: Refused) -> Response:
    """A refusal as the JSON APIs answer it: ``{"error": "<one precise line>"}``."""
    return json_response({"error": refused.message}, refused.status, refused.headers)


@dataclass(frozen=True)
class Body(Generic[C]):
    """How an endpoint's request body is read: by ``read`` (on the event loop), within
    ``limit`` bytes or the limit ``check`` gives. ``check`` runs in a worker thread, knowing
    the caller, before anything is read: what the body needs (write access, its type)."""

    read: Reader
    limit: int = 0
    check: Callable[[Request, C], int] | None = None


class Pipeline(Generic[C]):
    """Admit, read the body, handle; refusals audited and answered in the face's format.

    ``admit`` gives the caller or raises ``Refused``; ``answer`` turns a refusal into the
    face's response (the caller is None when admission refused); ``record`` audits a
    refusal not audited yet (None: the face audits its refusals where they happen). The
    handler finds the body in ``request.state.body`` and the time the request reached the
    pipeline (``time.perf_counter``) in ``request.state.started``. Admission, checks,
    handlers, answers and records all run in worker threads. Each answer is counted, with
    its latency, in the application's request figures (``http/metrics.py``).
    """

    def __init__(
        self,
        admit: Callable[[Request], C],
        answer: Callable[[Request, C | None, Refused], Response],
        record: Callable[[Request, C | None, Refused], None] | None = None,
    ) -> None:
        self.admit = admit
        self.answer = answer
        self.record = record

    def endpoint(
        self, handler: Callable[[Request, C], Response], *, body: Body[C] | None = None
    ) -> Endpoint:
        """The Starlette endpoint serving ``handler`` through this pipeline."""

        async def run(request: Request) -> Response:
            request.state.started = time.perf_counter()
            caller: C | None = None
            try:
                caller = await anyio.to_thread.run_sync(self.admit, request)
                if body is not None:
                    limit = body.limit
                    if body.check is not None:
                        limit = await anyio.to_thread.run_sync(body.check, request, caller)
                    request.state.body = await body.read(request, limit)
                response = await anyio.to_thread.run_sync(handler, request, caller)
            except Refused as refused:
                response = await anyio.to_thread.run_sync(self._refuse, request, caller, refused)
            except Exception:  # answered 500 by Starlette; counted as such
                observe(request, 500)
                raise
            observe(request, response.status_code)
            return response

        return run

    def _refuse(self, request: Request, caller: C | None, refused: Refused) -> Response:
        if self.record is not None and not refused.audited:
            self.record(request, caller, refused)
        return self.answer(request, caller, refused)


@dataclass(frozen=True)
class Trail:
    """How a face of HTTP clients writes a request in the audit trail: by the account, or
    ``anonymous@ADDRESS``; with ``key`` (``taxii``, ``api``) naming the path, the method,
    the status and why. ``denial_status``: whether ``access_denied`` entries carry the
    status (the JSON API's do, the TAXII server's do not)."""

    audit: AuditLog
    key: str
    denial_status: bool

    def write(
        self, request: Request, action: str, user: User | None, why: str, status: int | None
    ) -> None:
        client = request.client.host if request.client else "unknown"
        details: dict[str, Any] = {self.key: request.url.path[:300], "method": request.method}
        if status is not None:
            details["status"] = status
        details["why"] = why[:300]
        self.audit.append(user.username if user else f"anonymous@{client}", action, details=details)

    def denied(self, request: Request, user: User | None, why: str, refused: Refused) -> Refused:
        """``refused``, once audited as ``access_denied`` (with ``why``, for the operator)."""
        self.write(
            request, "access_denied", user, why, refused.status if self.denial_status else None
        )
        refused.audited = True
        return refused

    def refused(self, request: Request, user: User | None, refused: Refused) -> None:
        """Audit a refusal as ``request_refused``: the pipeline's ``record``."""
        self.write(request, "request_refused", user, refused.message, refused.status)


@dataclass(frozen=True)
class Credentials:
    """Admission of HTTP clients: HTTP Basic (password or API token) or a Bearer token."""

    authenticator: Authenticator
    trail: Trail

    def user(self, request: Request) -> User:
        """The account the ``Authorization`` header proves over this connection (its client
        certificate, where the account is bound to one); else 401, audited; 429 with
        ``Retry-After`` when the sign-in throttle refuses a password attempt."""
        try:
            user = self.authenticator.authenticate(
                request.headers.get("authorization"),
                certificate=client_certificate(request.scope),
                client=request.client.host if request.client else None,
                via=self.trail.key,
            )
        except SignInThrottled as refusal:
            # Refused before the password was looked at: the same answer, right or wrong.
            raise Refused(429, str(refusal), {"Retry-After": str(refusal.retry_after)}) from None
        except (ValueError, sa.exc.DataError):
            # Credentials that cannot even be looked up (non-ASCII Basic value, NUL in a
            # user name on PostgreSQL) are wrong credentials, not a server error.
            user = None
        if user is None:
            raise self.trail.denied(
                request,
                None,
                "no valid credentials",
                Refused(
                    401,
                    "valid credentials are required (HTTP Basic or a Bearer token)",
                    {"WWW-Authenticate": REALM},
                ),
            )
        return user


def over(declared: str, limit: int) -> bool:
    """Whether a Content-Length of ASCII digits is over ``limit``."""
    # The length test first: int() refuses strings of more than 4300 digits.
    return len(declared.lstrip("0")) > len(str(limit)) or int(declared) > limit


def read_bytes(too_large: Callable[[int], str]) -> Reader:
    """A reader of the raw body: refused with 413 (``too_large(limit)`` says why) when its
    declared length or what arrives is over the limit, before the rest is read."""

    async def read(request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                raise Refused(400, "Content-Length is not a number")
            if over(declared, limit):
                raise Refused(413, too_large(limit))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, too_large(limit))
            chunks.append(chunk)
        return b"".join(chunks)

    return read

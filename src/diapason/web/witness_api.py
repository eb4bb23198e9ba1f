"""The witness of partners' audit trails, at ``/api/v1/audit/witness`` (exchange/witness.py).

Only a partner node's account may call it, about its own trail: ``POST`` a head
``{"seq": N, "hash": "<64 hex>"}`` (its sync agent does after each round) and ``GET`` the
heads kept of its trail, oldest first (``?after=SEQ&limit=N``, at most 10,000 a page; its
``diapason audit verify --with-partners`` reads them). Credentials as for TAXII (a Bearer
token, or HTTP Basic). A client's mistake is a 4xx with ``{"error": "<one line>"}``; a head
that contradicts one witnessed before is a 409, logged and audited here. Refusals and
reads are audited; a head kept is not (it would move this node's own head each time).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.exchange.partners import Partner
from diapason.exchange.protocol import WITNESS_PATH
from diapason.exchange.witness import MAX_LISTING, parse_head, report_conflict
from diapason.node import Node

REALM = 'Basic realm="diapason", Bearer realm="diapason"'
# A head is some hundred bytes of JSON.
MAX_BODY = 4096


class Refused(Exception):
    """A request refused: its status, the sentence said, and how it is audited (None:
    audited already)."""

    def __init__(self, status: int, message: str, action: str | None = "request_refused") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.action = action


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(value), status_code=status, media_type="application/json", headers=headers
    )


class WitnessApi:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.witnesses = node.witnesses

    def routes(self) -> list[Route]:
        return [
            Route(WITNESS_PATH, self._endpoint(self._heads), methods=["GET"]),
            Route(WITNESS_PATH, self._endpoint(self._record), methods=["POST"]),
        ]

    def _endpoint(
        self, handler: Callable[[Partner, User, Request, bytes], Any]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            user: User | None = None
            try:
                user = await anyio.to_thread.run_sync(self._authenticate, request)
                if user is None:
                    raise Refused(
                        401,
                        "valid credentials are required (HTTP Basic or a Bearer token)",
                        "access_denied",
                    )
                partner = await anyio.to_thread.run_sync(self.node.inbound().partner_of, user)
                if partner is None:
                    raise Refused(
                        403,
                        "only a partner node's account has its audit heads witnessed here",
                        "access_denied",
                    )
                body = await self._body(request) if request.method == "POST" else b""
                result = await anyio.to_thread.run_sync(handler, partner, user, request, body)
            except Refused as refused:
                if refused.action is not None:
                    await anyio.to_thread.run_sync(self._audit, request, user, refused)
                headers = {"WWW-Authenticate": REALM} if refused.status == 401 else None
                return _json({"error": refused.message}, refused.status, headers)
            return _json(result)

        return run

    def _authenticate(self, request: Request) -> User | None:
        try:
            return self.node.authenticator.authenticate(request.headers.get("authorization"))
        except (ValueError, sa.exc.DataError):
            return None

    async def _body(self, request: Request) -> bytes:
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_BODY:
                raise Refused(413, f"the body is over {MAX_BODY} bytes")
        return bytes(data)

    def _record(self, partner: Partner, user: User, request: Request, body: bytes) -> Any:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise Refused(400, "the body is not JSON") from None
        head = parse_head(value)
        if head is None:
            raise Refused(
                400,
                'the body must be {"seq": N, "hash": "<64 lower-case hexadecimal digits>"} '
                "with 1 <= N <= 2**53, and nothing else",
            )
        recorded = self.witnesses.record(partner.name, head, "sync")
        if recorded.outcome == "conflict":
            why = report_conflict(self.node.audit, partner.name, user.username, recorded)
            raise Refused(409, why, None)
        return recorded.as_dict()

    def _heads(self, partner: Partner, user: User, request: Request, body: bytes) -> Any:
        after = _whole(request, "after", 0, 0, 2**53)
        limit = _whole(request, "limit", 1000, 1, MAX_LISTING)
        heads = self.witnesses.heads(partner.name, after=after, limit=limit)
        self.node.audit.append(
            user.username,
            "audit_verify",
            details={"witness_of": partner.name, "after": after, "heads": len(heads)},
        )
        return {
            "node": self.node.settings.node_name,
            "partner": partner.name,
            "heads": [head.as_dict() for head in heads],
            "more": len(heads) == limit,
        }

    def _audit(self, request: Request, user: User | None, refused: Refused) -> None:
        assert refused.action is not None
        client = request.client.host if request.client else "unknown"
        self.node.audit.append(
            user.username if user else f"anonymous@{client}",
            refused.action,
            details={
                "api": request.url.path[:300],
                "method": request.method,
                "status": refused.status,
                "why": refused.message[:300],
            },
        )


def _whole(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or not low <= int(raw) <= high:
        raise Refused(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)

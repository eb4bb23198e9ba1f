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

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.exchange.protocol import WITNESS_PATH
from diapason.exchange.witness import MAX_LISTING, parse_head, report_conflict
from diapason.http.pipeline import (
    Body,
    Refused,
    json_response,
    read_bytes,
)
from diapason.node import Node
from diapason.web.partner_api import PartnerAdmission, PartnerCaller

# A head is some hundred bytes of JSON.
MAX_BODY = 4096


class WitnessApi:
    """``GET`` and ``POST`` of the heads a partner has this node witness, through the one
    request pipeline (``http/pipeline.py``), answered as the JSON API answers."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.witnesses = node.witnesses
        admission = PartnerAdmission(
            node, "only a partner node's account has its audit heads witnessed here"
        )
        self.pipeline = admission.pipeline()

    def routes(self) -> list[Route]:
        body = Body[PartnerCaller](
            read_bytes(lambda limit: f"the body is over {limit} bytes"), MAX_BODY
        )
        return [
            Route(WITNESS_PATH, self.pipeline.endpoint(self._heads), methods=["GET"]),
            Route(WITNESS_PATH, self.pipeline.endpoint(self._record, body=body), methods=["POST"]),
        ]

    def _record(self, request: Request, caller: PartnerCaller) -> Response:
        partner, user = caller.partner, caller.user
        try:
            value = orjson.loads(request.state.body)
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
            raise Refused(409, why, audited=True)
        return json_response(recorded.as_dict())

    def _heads(self, request: Request, caller: PartnerCaller) -> Response:
        partner, user = caller.partner, caller.user
        after = _whole(request, "after", 0, 0, 2**53)
        limit = _whole(request, "limit", 1000, 1, MAX_LISTING)
        heads = self.witnesses.heads(partner.name, after=after, limit=limit)
        self.node.audit.append(
            user.username,
            "audit_verify",
            details={"witness_of": partner.name, "after": after, "heads": len(heads)},
        )
        return json_response(
            {
                "node": self.node.settings.node_name,
                "partner": partner.name,
                "heads": [head.as_dict() for head in heads],
                "more": len(heads) == limit,
            }
        )


def _whole(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or not low <= int(raw) <= high:
        raise Refused(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)

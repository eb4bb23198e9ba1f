"""TAXII 2.1 media types: what a client accepts and sends, and the answer's own type.

The media type strings themselves live in ``exchange/protocol.py``, which the sync agent
(a client of other nodes' servers) imports without this server.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from diapason.exchange.protocol import TAXII
from diapason.http.pipeline import Refused


def taxii_response(
    body: bytes | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A TAXII message: ``body`` as JSON (or JSON bytes already), typed TAXII 2.1."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, media_type=TAXII, headers=headers)


def _media_ranges(header: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for part in header.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        parameters = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            parameters[name.strip().lower()] = value.strip().strip('"')
        ranges.append((pieces[0].lower(), parameters))
    return ranges


def accepts_taxii(header: str | None) -> bool:
    """Whether an Accept header allows TAXII 2.1 (bare ``application/taxii+json`` does)."""
    if not header:
        return False
    for media, parameters in _media_ranges(header):
        if media == "application/taxii+json" and parameters.get("version", "2.1") == "2.1":
            return parameters.get("q", "1") not in ("0", "0.0", "0.00", "0.000")
    return False


def check_accept(header: str | None) -> None:
    """Refuse (406) a request whose Accept header does not allow TAXII 2.1."""
    if not accepts_taxii(header):
        raise Refused(406, f"this server answers {TAXII}; send it in the Accept header")


def check_content_type(header: str | None) -> None:
    """Refuse (415) a body that is not a TAXII 2.1 message."""
    for media, parameters in _media_ranges(header or ""):
        if media == "application/taxii+json" and parameters.get("version", "2.1") == "2.1":
            return
    raise Refused(415, f"Content-Type must be {TAXII}, got {(header or 'none')[:100]!r}")

"""Signed, stateless paging cursors (TAXII ``next``).

A cursor carries the position (the ``seq`` of the last entry served) and what it was
issued for: collection, endpoint, object, filters, user, time. It is signed with the node's
secret key (HMAC-SHA256), so a client can neither forge a position nor replay a cursor on
other data; any worker process, before or after a restart, can check it and continue.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

MAC_BYTES = 16
# Workers on several hosts share cursors: tolerate this much clock difference between them.
CLOCK_SKEW = 300.0


class CursorError(ValueError):
    """A cursor that is malformed, forged, issued for another request, or expired."""


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def filter_digest(values: Any) -> str:
    """A short digest of a request's filters, to bind a cursor to them."""
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def sign(payload: dict[str, Any], key: bytes) -> str:
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    mac = hmac.new(key, body, hashlib.sha256).digest()[:MAC_BYTES]
    return f"{_encode(body)}.{_encode(mac)}"


def verify(token: str, key: bytes, *, expected: dict[str, Any], now: float, lifetime: float) -> int:
    """The position a cursor carries, after checking it was issued by us for this request.

    ``expected`` holds what the cursor must have been issued for; the payload's ``t`` (issue
    time, seconds) must be within ``lifetime`` of ``now``.
    """
    if len(token) > 2048 or token.count(".") != 1:
        raise CursorError("next: not a cursor issued by this server")
    body_text, mac_text = token.split(".")
    try:
        body = _decode(body_text)
        mac = _decode(mac_text)
    except (binascii.Error, ValueError):
        raise CursorError("next: not a cursor issued by this server") from None
    good = hmac.new(key, body, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(mac, good):
        raise CursorError("next: not a cursor issued by this server")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise CursorError("next: not a cursor issued by this server") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise CursorError("next: not a cursor issued by this server")
    for name, value in expected.items():
        if payload.get(name) != value:
            raise CursorError(
                "next: issued for another request; resend it with the same path and filters"
            )
    issued = payload.get("t")
    if not isinstance(issued, int | float) or not -CLOCK_SKEW <= now - issued <= lifetime:
        raise CursorError("next: expired; start the listing again (or use added_after)")
    position: int = payload["s"]
    return position

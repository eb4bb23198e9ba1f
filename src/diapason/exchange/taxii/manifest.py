"""A collection's manifest (TAXII 2.1, 5.3): one record per version, no content."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.exchange.protocol import STIX_MEDIA
from diapason.exchange.taxii.context import Context
from diapason.exchange.taxii.media import taxii_response
from diapason.exchange.taxii.paging import page


def manifest(taxii: Context, request: Request, user: User) -> Response:
    listed = page(taxii, request, user, "manifest", with_content=False)
    records = [
        {"id": object_id, "date_added": added, "version": modified, "media_type": STIX_MEDIA}
        for _seq, object_id, modified, added in listed.page.entries
    ]
    body = listed.envelope
    if records:
        body["objects"] = records
    taxii.audit_read(user, listed.collection, [e[1] for e in listed.page.entries], "manifest")
    return taxii_response(body, headers=listed.headers)

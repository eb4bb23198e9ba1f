"""An object's versions in a collection (TAXII 2.1, 5.8)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.exchange.taxii.context import Context
from diapason.exchange.taxii.media import taxii_response
from diapason.exchange.taxii.paging import page
from diapason.http.pipeline import Refused


def versions(taxii: Context, request: Request, user: User) -> Response:
    object_id = taxii.object_id(request)
    listed = page(
        taxii,
        request,
        user,
        "versions",
        object_id=object_id,
        with_content=False,
        default_versions=("all",),
    )
    if not listed.page.entries and not taxii.collections.holds(listed.collection.id, object_id):
        raise Refused(404, "no such object in this collection")
    body = listed.envelope
    if listed.page.entries:
        body["versions"] = [modified for _seq, _id, modified, _added in listed.page.entries]
    taxii.audit_read(user, listed.collection, [object_id], "versions")
    return taxii_response(body, headers=listed.headers)

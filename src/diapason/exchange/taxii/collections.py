"""Collections (TAXII 2.1, 5.1 and 5.2): those the caller may read or write."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.exchange.taxii.context import Context
from diapason.exchange.taxii.media import taxii_response


def list_collections(taxii: Context, request: Request, user: User) -> Response:
    name = taxii.root(request)
    shown = []
    for collection in taxii.collections.all(name):
        can_read, can_write = taxii.rights(collection, user)
        if can_read or can_write:
            shown.append(taxii.collection_resource(collection, user))
    taxii.audit.append(user.username, "consult", details={"taxii": "collections"})
    return taxii_response({"collections": shown} if shown else {})


def collection(taxii: Context, request: Request, user: User) -> Response:
    found = taxii.find_collection(request, user)
    taxii.audit.append(
        user.username, "consult", details={"taxii": "collection", "collection": found.id}
    )
    return taxii_response(taxii.collection_resource(found, user))

"""A collection's objects (TAXII 2.1, 5.4 to 5.7): list, add, get one, delete one.

Listings are built from the stored JSON text without parsing it again.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.domain.extensions import PROTECTION_EXTENSION_ID
from diapason.domain.protection import is_about_person
from diapason.domain.roles import has_permission
from diapason.domain.timestamps import store_now
from diapason.exchange.collections import Collection
from diapason.exchange.taxii.context import REASON_HEADER, Context
from diapason.exchange.taxii.media import check_content_type, taxii_response
from diapason.exchange.taxii.paging import Listed, page
from diapason.http.pipeline import Refused


def _envelope(listed: Listed) -> bytes:
    """The envelope of a page with its objects' stored JSON spliced in."""
    head = orjson.dumps(listed.envelope)
    contents = listed.page.contents or []
    if not contents:
        return head
    joined = ",".join(contents).encode()
    prefix = head[:-1] + (b',"objects":[' if len(head) > 2 else b'"objects":[')
    return prefix + joined + b"]}"


def _persons(contents: list[str]) -> list[int]:
    """Positions of the records about persons among stored JSON texts. Only the texts that
    can be one (they name an individual or carry the protection extension) are parsed."""
    found = []
    for position, text in enumerate(contents):
        if ('"individual"' in text or PROTECTION_EXTENSION_ID in text) and is_about_person(
            orjson.loads(text)
        ):
            found.append(position)
    return found


def _screen_persons(listed: Listed, user: User) -> tuple[Listed, list[str], int]:
    """Records about persons in a page read by one of this node's own accounts: kept, and
    named for the audit, when the role may read personal data; left out otherwise (a
    viewer reads objects that hold no personal data, over TAXII as on the pages).
    Partner accounts read what the release policy put in their collections: disclosures.
    Returns the page, the ids of the persons it returns and how many were left out."""
    contents = listed.page.contents or []
    if user.role == "partner" or not contents:
        return listed, [], 0
    positions = _persons(contents)
    if not positions:
        return listed, [], 0
    entries = listed.page.entries
    if has_permission(user.role, "personal_data:read"):
        return listed, [entries[i][1] for i in positions], 0
    dropped = set(positions)
    kept = [i for i in range(len(entries)) if i not in dropped]
    screened = replace(
        listed.page,
        entries=[entries[i] for i in kept],
        contents=[contents[i] for i in kept],
    )
    return replace(listed, page=screened), [], len(dropped)


def _read(
    taxii: Context, request: Request, user: User, listed: Listed, endpoint: str, ids: list[str]
) -> Response:
    listed, persons, withheld = _screen_persons(listed, user)
    if withheld and endpoint == "object" and not listed.page.entries:
        raise Refused(403, "this record is about a person: your role may not read personal data")
    taxii.audit_read(
        user,
        listed.collection,
        [e[1] for e in listed.page.entries] if endpoint == "objects" else ids,
        endpoint,
        persons=persons,
        withheld=withheld,
        reason=request.headers.get(REASON_HEADER),
    )
    return taxii_response(_envelope(listed), headers=listed.headers)


def get_objects(taxii: Context, request: Request, user: User) -> Response:
    listed = page(taxii, request, user, "objects", with_content=True)
    return _read(taxii, request, user, listed, "objects", [])


def get_object(taxii: Context, request: Request, user: User) -> Response:
    object_id = taxii.object_id(request)
    listed = page(taxii, request, user, "object", object_id=object_id, with_content=True)
    if not listed.page.entries and not taxii.collections.holds(listed.collection.id, object_id):
        raise Refused(404, "no such object in this collection")
    return _read(taxii, request, user, listed, "object", [object_id])


def delete_object(taxii: Context, request: Request, user: User) -> Response:
    collection = taxii.find_collection(request, user)
    can_read, can_write = taxii.rights(collection, user)
    if not (can_read and can_write):
        raise taxii.trail.denied(
            request,
            user,
            "delete needs read and write access",
            Refused(403, "deleting needs read and write access"),
        )
    listing = taxii.listing(request, "delete")
    object_id = taxii.object_id(request)
    if not taxii.collections.holds(collection.id, object_id):
        raise Refused(404, "no such object in this collection")
    versions = listing.filter.versions
    if listing.filter.spec_versions and "2.1" not in listing.filter.spec_versions:
        removed = 0
    else:
        removed = taxii.collections.remove_entries(collection.id, object_id, versions)
    taxii.audit.append(
        user.username,
        "delete",
        [object_id],
        details={"taxii": "delete", "collection": collection.id, "entries": removed},
    )
    return taxii_response(b"")


def check_add(taxii: Context, request: Request, user: User) -> int:
    """Before a POST's body is read: the collection may be written by this account, the
    body is TAXII; returns the API root's size limit."""
    collection = taxii.collection(request, user, write=True)
    check_content_type(request.headers.get("content-type"))
    root = taxii.collections.api_root(collection.api_root)
    assert root is not None
    request.state.collection = collection
    return root.max_content_length


def add_objects(taxii: Context, request: Request, user: User) -> Response:
    """Write what the envelope holds (through ``Inbound``); the answer is its status."""
    collection: Collection = request.state.collection
    body: bytes = request.state.body
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Refused(400, f"the body is not valid JSON: {error}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects", []), list):
        raise Refused(422, "the body must be a TAXII envelope with 'objects'")
    received: list[Any] = envelope.get("objects", [])
    try:
        requested = taxii.inbound.receive(received, user)
    except sa.exc.DataError:
        # Content the database cannot hold although validation let it through (e.g. a
        # NUL character in a *_ref property name on PostgreSQL): refused, not a 500.
        raise Refused(422, "the database cannot store this content") from None
    taxii.collections.add_entries(
        collection.id, [(object_id, modified) for _i, object_id, modified in requested.versions]
    )
    successes = [
        {"id": object_id, "version": modified}
        for _index, object_id, modified in sorted(requested.versions)
    ]
    failures = []
    for problem in requested.refused:
        original = received[problem.index]
        version = (
            original.get("modified") or original.get("created")
            if isinstance(original, dict)
            else None
        )
        failures.append(
            {
                "id": problem.object_id or f"object #{problem.index}",
                "version": version if isinstance(version, str) else "unknown",
                "message": str(problem),
            }
        )
    status: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": "complete",
        "request_timestamp": store_now(),
        "total_count": len(received),
        "success_count": len(successes),
        "failure_count": len(failures),
        "pending_count": 0,
    }
    if successes:
        status["successes"] = successes
    if failures:
        status["failures"] = failures
    taxii.collections.save_status(status, collection.api_root, collection.id, user.username)
    taxii.audit.append(
        user.username,
        "receive" if user.role == "partner" else "import",
        [s["id"] for s in successes],
        details={
            "taxii": "add",
            "collection": collection.id,
            "status": status["id"],
            "refused": len(failures),
        },
    )
    return taxii_response(status, 202)

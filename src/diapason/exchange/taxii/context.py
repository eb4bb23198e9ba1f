"""What every TAXII endpoint is given, and the checks they share: the API root and the
collection a path names, the caller's rights on it, the object id, the query parameters,
the audit of a read."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from diapason.accounts import User
from diapason.audit import AuditLog
from diapason.domain.roles import has_permission
from diapason.domain.stix import ID_RE
from diapason.exchange.collections import ALIAS_RE, Collection, Collections
from diapason.exchange.inbound import Inbound
from diapason.exchange.protocol import STIX_MEDIA
from diapason.exchange.taxii.params import Listing, ParameterError, parse
from diapason.http.pipeline import Refused, Trail

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


# The header a TAXII client of this node's own may send to say why it reads personal data
# (purpose or case reference); recorded in the audit entry of the read.
REASON_HEADER = "X-Diapason-Reason"


class Context:
    """The collections served, the audit trail (and how TAXII writes in it), what a POST
    goes through (``Inbound``), this node's name (the discovery's title), its STIX identity
    (stated in the discovery) and the key that signs paging cursors."""

    def __init__(
        self,
        collections: Collections,
        audit: AuditLog,
        inbound: Inbound,
        *,
        name: str,
        key: bytes,
        identity: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.collections = collections
        self.identity = identity
        self.audit = audit
        self.trail = Trail(audit, "taxii", denial_status=False)
        self.inbound = inbound
        self.name = name
        self.key = key

    def root(self, request: Request) -> str:
        """The path's API root, if it exists."""
        name: str = request.path_params["api_root"]
        if self.collections.api_root(name) is None:
            raise Refused(404, "no such API root")
        return name

    def find_collection(self, request: Request, user: User) -> Collection:
        """The collection of the path that the user may see at all, else 404."""
        root = self.root(request)
        key: str = request.path_params["collection_id"]
        collection = None
        if UUID_RE.match(key) or ALIAS_RE.match(key):
            collection = self.collections.get(root, key)
        if collection is None:
            raise Refused(404, "no such collection")
        if not any(self.rights(collection, user)):
            # Not even told it exists (TAXII 2.1 allows 404 for this), but it is a denial.
            raise self.trail.denied(
                request, user, "no access to the collection", Refused(404, "no such collection")
            )
        return collection

    def collection(self, request: Request, user: User, *, write: bool = False) -> Collection:
        """The collection of the path, which the user may read (or ``write``)."""
        collection = self.find_collection(request, user)
        can_read, can_write = self.rights(collection, user)
        if write and not can_write:
            raise self.trail.denied(
                request,
                user,
                "no write access to the collection",
                Refused(403, "this account may not write to this collection"),
            )
        if not write and not can_read:
            raise self.trail.denied(
                request,
                user,
                "no read access to the collection",
                Refused(403, "this account may not read this collection"),
            )
        return collection

    def rights(self, collection: Collection, user: User) -> tuple[bool, bool]:
        """Whether the user may read and write the collection (its grant and its role)."""
        if user.role == "admin":
            return True, True
        grant = self.collections.grant_for(collection.id, user.username)
        return (
            grant.can_read and has_permission(user.role, "taxii:read"),
            grant.can_write and has_permission(user.role, "taxii:write"),
        )

    def collection_resource(self, collection: Collection, user: User) -> dict[str, Any]:
        """The collection resource (TAXII 2.1, 5.2) as this user sees it."""
        can_read, can_write = self.rights(collection, user)
        resource: dict[str, Any] = {
            "id": collection.id,
            "title": collection.title,
            "can_read": can_read,
            "can_write": can_write,
            "media_types": [STIX_MEDIA],
        }
        if collection.description:
            resource["description"] = collection.description
        if collection.alias:
            resource["alias"] = collection.alias
        return resource

    @staticmethod
    def object_id(request: Request) -> str:
        """The path's object id, if it is a STIX identifier at all."""
        object_id: str = request.path_params["object_id"]
        if not ID_RE.match(object_id):
            raise Refused(404, "no such object in this collection")
        return object_id

    @staticmethod
    def listing(request: Request, endpoint: str) -> Listing:
        """The query parameters of ``endpoint``, checked (400 naming the wrong one)."""
        try:
            return parse(endpoint, request.query_params.multi_items())
        except ParameterError as error:
            raise Refused(400, str(error)) from None

    def audit_read(
        self,
        user: User,
        collection: Collection,
        ids: list[str],
        endpoint: str,
        *,
        persons: list[str] | None = None,
        withheld: int = 0,
        reason: str | None = None,
    ) -> None:
        """Audit what was read; reading by a partner node's account is a disclosure to it,
        and a partner's read that returns nothing (an empty poll) is counted per hour.

        A read of records about persons (``persons``) by this node's own account is a
        consultation of personal data: flagged, with the persons' ids and the reason the
        client gave in the ``X-Diapason-Reason`` header, if any. ``withheld`` counts the
        records about persons left out of the answer (the role may not read them)."""
        if user.role == "partner" and not ids:
            # An empty poll discloses nothing: counted, summed up per hour in the trail.
            self.audit.record_poll(user.username, collection.id, endpoint)
            return
        if user.role == "partner":
            self.audit.append(
                user.username,
                "disclose",
                list(dict.fromkeys(ids)),
                details={
                    "taxii": endpoint,
                    "collection": collection.id,
                    "recipient": user.username,
                },
            )
            return
        details: dict[str, Any] = {"taxii": endpoint, "collection": collection.id}
        if persons:
            details.update(personal_data=True, persons=list(dict.fromkeys(persons)))
        if withheld:
            details["persons_withheld"] = withheld
        self.audit.append(
            user.username, "consult", list(dict.fromkeys(ids)), reason=reason, details=details
        )

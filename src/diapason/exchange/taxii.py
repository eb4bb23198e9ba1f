"""The TAXII 2.1 server: every endpoint of the specification, over the node's store.

Responses are built from the stored JSON text without parsing it again; listings are one
indexed range scan each (keyset on the collection's ``seq``); paging cursors are signed and
stateless. Every request is audited; a request a client can send never produces a 500.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.audit import AuditLog
from diapason.authentication import Authenticator, SignInThrottled
from diapason.domain.cursor import CursorError, filter_digest, sign, verify
from diapason.domain.roles import has_permission
from diapason.domain.stix import ID_RE
from diapason.exchange.collections import ALIAS_RE, Collection, Collections, EntryPage
from diapason.exchange.inbound import Inbound
from diapason.exchange.protocol import STIX_MEDIA, TAXII
from diapason.exchange.taxii_params import Listing, ParameterError, parse
from diapason.store.rows import utc_now

CURSOR_LIFETIME = 24 * 3600.0
REALM = 'Basic realm="diapason", Bearer realm="diapason"'
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# Methods the catch-all route takes, so that it (not a redirect) answers under /taxii2/.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class TaxiiError(Exception):
    """An error the client receives as a TAXII error message."""

    def __init__(
        self, status: int, title: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.title = title
        self.description = description
        self.headers = headers or {}


def taxii_response(
    body: bytes | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, media_type=TAXII, headers=headers)


def error_response(error: TaxiiError) -> Response:
    return taxii_response(
        {
            "title": error.title,
            "description": error.description,
            "http_status": str(error.status),
        },
        error.status,
        error.headers,
    )


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


def check_content_type(header: str | None) -> None:
    for media, parameters in _media_ranges(header or ""):
        if media == "application/taxii+json" and parameters.get("version", "2.1") == "2.1":
            return
    raise TaxiiError(
        415,
        "Unsupported Media Type",
        f"Content-Type must be {TAXII}, got {(header or 'none')[:100]!r}",
    )


# An endpoint's work, run in a worker thread: it reads the store and writes the audit trail.
Handler = Callable[[Request, User], Response]
# What a POST endpoint checks before its body is read; returns the body's size limit.
BodyCheck = Callable[[Request, User], int]


class TaxiiServer:
    """The endpoints: given the collections they serve, the audit trail, who is calling
    (the authenticator) and what a POST goes through (``Inbound``), nothing else."""

    def __init__(
        self,
        collections: Collections,
        audit: AuditLog,
        authenticator: Authenticator,
        inbound: Inbound,
        *,
        name: str,
        key: bytes,
    ) -> None:
        self.collections = collections
        self.audit = audit
        self.authenticator = authenticator
        self.inbound = inbound
        # This node's name (the discovery's title) and the key that signs paging cursors.
        self.name = name
        # Without a configured key, a random one: cursors then only work within this process,
        # but a key everybody knows would let any client forge them.
        self.key = key or secrets.token_bytes(32)
        self._routes: list[Route] = []

    # -- plumbing -------------------------------------------------------------------------
    def endpoint(
        self, handler: Handler, *, body: BodyCheck | None = None
    ) -> Callable[[Request], Awaitable[Response]]:
        """One request's pipeline: admit (Accept, credentials, role), check what a body
        needs, read the body, run the handler; every refusal is audited and answered as a
        TAXII error. Everything that touches the store or hashes a password (Argon2) runs
        in a worker thread: the event loop only moves bytes, so ``/health`` and every other
        request keep answering while a large POST is written."""

        async def run(request: Request) -> Response:
            try:
                user = await anyio.to_thread.run_sync(self._admit, request)
                if body is not None:
                    limit = await anyio.to_thread.run_sync(body, request, user)
                    request.state.body = await self._read_body(request, limit)
                return await anyio.to_thread.run_sync(handler, request, user)
            except TaxiiError as error:
                if not getattr(request.state, "audited", False):
                    # Every request is audited, refused ones too (with why).
                    await anyio.to_thread.run_sync(
                        self._audit,
                        request,
                        "request_refused",
                        error,
                        getattr(request.state, "user", None),
                    )
                return error_response(error)

        return run

    def _admit(self, request: Request) -> User:
        """The account making the request, if it may use TAXII at all."""
        if not accepts_taxii(request.headers.get("accept")):
            raise TaxiiError(
                406,
                "Not Acceptable",
                f"this server answers {TAXII}; send it in the Accept header",
            )
        user = self._authenticate(
            request.headers.get("authorization"), request.client.host if request.client else None
        )
        if user is None:
            self._audit_denied(request, "no valid credentials")
            raise TaxiiError(
                401,
                "Unauthorized",
                "valid credentials are required (HTTP Basic or a Bearer token)",
                {"WWW-Authenticate": REALM},
            )
        request.state.user = user
        if not (
            has_permission(user.role, "taxii:read") or has_permission(user.role, "taxii:write")
        ):
            self._audit_denied(request, "role without TAXII access", user)
            raise TaxiiError(403, "Forbidden", "this account has no TAXII access")
        return user

    def _audit(self, request: Request, action: str, error: TaxiiError, user: User | None) -> None:
        client = request.client.host if request.client else "unknown"
        self.audit.append(
            user.username if user else f"anonymous@{client}",
            action,
            details={
                "taxii": request.url.path[:300],
                "method": request.method,
                "status": error.status,
                "why": error.description[:300],
            },
        )

    def _authenticate(self, header: str | None, client: str | None) -> User | None:
        try:
            return self.authenticator.authenticate(header, client=client, via="taxii")
        except SignInThrottled as refusal:
            # Refused before the password was looked at: the same answer, right or wrong.
            raise TaxiiError(
                429,
                "Too Many Requests",
                str(refusal),
                {"Retry-After": str(refusal.retry_after)},
            ) from None
        except (ValueError, sa.exc.DataError):
            # Credentials that cannot even be looked up (non-ASCII Basic value, NUL in a
            # user name on PostgreSQL) are wrong credentials, not a server error.
            return None

    def _audit_denied(self, request: Request, why: str, user: User | None = None) -> None:
        request.state.audited = True
        client = request.client.host if request.client else "unknown"
        self.audit.append(
            user.username if user else f"anonymous@{client}",
            "access_denied",
            details={"taxii": request.url.path[:300], "method": request.method, "why": why},
        )

    def _root(self, request: Request) -> str:
        name: str = request.path_params["api_root"]
        if self.collections.api_root(name) is None:
            raise TaxiiError(404, "Not Found", "no such API root")
        return name

    def _find_collection(self, request: Request, user: User) -> Collection:
        """The collection of the path that the user may see at all, else 404."""
        root = self._root(request)
        key: str = request.path_params["collection_id"]
        collection = None
        if UUID_RE.match(key) or ALIAS_RE.match(key):
            collection = self.collections.get(root, key)
        if collection is None:
            raise TaxiiError(404, "Not Found", "no such collection")
        if not any(self._rights(collection, user)):
            # Not even told it exists (TAXII 2.1 allows 404 for this), but it is a denial.
            self._audit_denied(request, "no access to the collection", user)
            raise TaxiiError(404, "Not Found", "no such collection")
        return collection

    def _object_id(self, request: Request) -> str:
        object_id: str = request.path_params["object_id"]
        if not ID_RE.match(object_id):
            raise TaxiiError(404, "Not Found", "no such object in this collection")
        return object_id

    def _collection(self, request: Request, user: User, *, write: bool = False) -> Collection:
        collection = self._find_collection(request, user)
        can_read, can_write = self._rights(collection, user)
        if write and not can_write:
            self._audit_denied(request, "no write access to the collection", user)
            raise TaxiiError(403, "Forbidden", "this account may not write to this collection")
        if not write and not can_read:
            self._audit_denied(request, "no read access to the collection", user)
            raise TaxiiError(403, "Forbidden", "this account may not read this collection")
        return collection

    def _rights(self, collection: Collection, user: User) -> tuple[bool, bool]:
        if user.role == "admin":
            return True, True
        grant = self.collections.grant_for(collection.id, user.username)
        return (
            grant.can_read and has_permission(user.role, "taxii:read"),
            grant.can_write and has_permission(user.role, "taxii:write"),
        )

    def _collection_resource(self, collection: Collection, user: User) -> dict[str, Any]:
        can_read, can_write = self._rights(collection, user)
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

    def _listing(self, request: Request, endpoint: str) -> Listing:
        try:
            return parse(endpoint, request.query_params.multi_items())
        except ParameterError as error:
            raise TaxiiError(400, "Bad Request", str(error)) from None

    def _position(self, listing: Listing, binding: dict[str, Any]) -> int:
        if listing.next is None:
            return 0
        try:
            return verify(
                listing.next,
                self.key,
                expected=binding,
                now=time.time(),
                lifetime=CURSOR_LIFETIME,
            )
        except CursorError as error:
            raise TaxiiError(400, "Bad Request", str(error)) from None

    def _binding(
        self,
        collection: Collection,
        endpoint: str,
        user: User,
        listing: Listing,
        object_id: str | None,
    ) -> dict[str, Any]:
        entry_filter = listing.filter
        return {
            "c": collection.id,
            "e": endpoint,
            "o": object_id,
            "u": user.username,
            "f": filter_digest(
                [
                    entry_filter.ids,
                    entry_filter.types,
                    entry_filter.versions,
                    entry_filter.spec_versions,
                    entry_filter.added_after,
                ]
            ),
        }

    def _page(
        self,
        request: Request,
        user: User,
        endpoint: str,
        *,
        object_id: str | None = None,
        with_content: bool,
        default_versions: tuple[str, ...] = ("last",),
    ) -> tuple[Collection, EntryPage, dict[str, Any]]:
        collection = self._collection(request, user)
        listing = self._listing(request, endpoint)
        binding = self._binding(collection, endpoint, user, listing, object_id)
        after = self._position(listing, binding)
        page = self.collections.page(
            collection.id,
            listing.filter,
            after=after,
            limit=listing.limit,
            object_id=object_id,
            with_content=with_content,
            default_versions=default_versions,
        )
        envelope: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if page.entries:
            headers["X-TAXII-Date-Added-First"] = page.entries[0][3]
            headers["X-TAXII-Date-Added-Last"] = page.entries[-1][3]
        if page.more:
            envelope["more"] = True
            envelope["next"] = sign(
                {**binding, "s": page.entries[-1][0], "t": int(time.time())}, self.key
            )
        return collection, page, {"envelope": envelope, "headers": headers}

    def _audit_read(
        self, user: User, collection: Collection, ids: list[str], endpoint: str
    ) -> None:
        # Reading by a partner node's account is a disclosure to that partner.
        action = "disclose" if user.role == "partner" else "consult"
        self.audit.append(
            user.username,
            action,
            list(dict.fromkeys(ids)),
            details={"taxii": endpoint, "collection": collection.id, "recipient": user.username}
            if action == "disclose"
            else {"taxii": endpoint, "collection": collection.id},
        )

    # -- endpoints ------------------------------------------------------------------------
    def discovery(self, request: Request, user: User) -> Response:
        roots = self.collections.api_roots()
        resource: dict[str, Any] = {
            "title": f"Diapason node {self.name}",
            "description": "TAXII 2.1 server of a Diapason security-cooperation node",
            "api_roots": [f"/taxii2/{root.name}/" for root in roots],
        }
        if any(root.name == "main" for root in roots):
            resource["default"] = "/taxii2/main/"
        if not resource["api_roots"]:
            del resource["api_roots"]
        self.audit.append(user.username, "consult", details={"taxii": "discovery"})
        return taxii_response(resource)

    def api_root(self, request: Request, user: User) -> Response:
        name = self._root(request)
        root = self.collections.api_root(name)
        assert root is not None
        resource: dict[str, Any] = {
            "title": root.title,
            "versions": [TAXII],
            "max_content_length": root.max_content_length,
        }
        if root.description:
            resource["description"] = root.description
        self.audit.append(user.username, "consult", details={"taxii": f"api-root {name}"})
        return taxii_response(resource)

    def status(self, request: Request, user: User) -> Response:
        name = self._root(request)
        status_id: str = request.path_params["status_id"]
        found = self.collections.status(name, status_id) if UUID_RE.match(status_id) else None
        if found is None:
            raise TaxiiError(404, "Not Found", "no such status")
        if user.role != "admin" and found[2] != user.username:
            self._audit_denied(request, "status of another account", user)
            raise TaxiiError(404, "Not Found", "no such status")
        self.audit.append(user.username, "consult", details={"taxii": "status"})
        return taxii_response(found[0])

    def list_collections(self, request: Request, user: User) -> Response:
        name = self._root(request)
        shown = []
        for collection in self.collections.all(name):
            can_read, can_write = self._rights(collection, user)
            if can_read or can_write:
                shown.append(self._collection_resource(collection, user))
        self.audit.append(user.username, "consult", details={"taxii": "collections"})
        return taxii_response({"collections": shown} if shown else {})

    def collection(self, request: Request, user: User) -> Response:
        collection = self._find_collection(request, user)
        self.audit.append(
            user.username, "consult", details={"taxii": "collection", "collection": collection.id}
        )
        return taxii_response(self._collection_resource(collection, user))

    def manifest(self, request: Request, user: User) -> Response:
        collection, page, extra = self._page(request, user, "manifest", with_content=False)
        records = [
            {"id": object_id, "date_added": added, "version": modified, "media_type": STIX_MEDIA}
            for _seq, object_id, modified, added in page.entries
        ]
        body = extra["envelope"]
        if records:
            body["objects"] = records
        self._audit_read(user, collection, [e[1] for e in page.entries], "manifest")
        return taxii_response(body, headers=extra["headers"])

    def _envelope_bytes(self, envelope: dict[str, Any], contents: list[str]) -> bytes:
        head = orjson.dumps(envelope)
        if not contents:
            return head
        joined = ",".join(contents).encode()
        prefix = head[:-1] + (b',"objects":[' if len(head) > 2 else b'"objects":[')
        return prefix + joined + b"]}"

    def get_objects(self, request: Request, user: User) -> Response:
        collection, page, extra = self._page(request, user, "objects", with_content=True)
        self._audit_read(user, collection, [e[1] for e in page.entries], "objects")
        return taxii_response(
            self._envelope_bytes(extra["envelope"], page.contents or []),
            headers=extra["headers"],
        )

    def get_object(self, request: Request, user: User) -> Response:
        object_id = self._object_id(request)
        collection, page, extra = self._page(
            request, user, "object", object_id=object_id, with_content=True
        )
        if not page.entries and not self.collections.holds(collection.id, object_id):
            raise TaxiiError(404, "Not Found", "no such object in this collection")
        self._audit_read(user, collection, [object_id], "object")
        return taxii_response(
            self._envelope_bytes(extra["envelope"], page.contents or []),
            headers=extra["headers"],
        )

    def versions(self, request: Request, user: User) -> Response:
        object_id = self._object_id(request)
        collection, page, extra = self._page(
            request,
            user,
            "versions",
            object_id=object_id,
            with_content=False,
            default_versions=("all",),
        )
        if not page.entries and not self.collections.holds(collection.id, object_id):
            raise TaxiiError(404, "Not Found", "no such object in this collection")
        body = extra["envelope"]
        if page.entries:
            body["versions"] = [modified for _seq, _id, modified, _added in page.entries]
        self._audit_read(user, collection, [object_id], "versions")
        return taxii_response(body, headers=extra["headers"])

    def delete_object(self, request: Request, user: User) -> Response:
        collection = self._find_collection(request, user)
        can_read, can_write = self._rights(collection, user)
        if not (can_read and can_write):
            self._audit_denied(request, "delete needs read and write access", user)
            raise TaxiiError(403, "Forbidden", "deleting needs read and write access")
        listing = self._listing(request, "delete")
        object_id = self._object_id(request)
        if not self.collections.holds(collection.id, object_id):
            raise TaxiiError(404, "Not Found", "no such object in this collection")
        versions = listing.filter.versions
        if listing.filter.spec_versions and "2.1" not in listing.filter.spec_versions:
            removed = 0
        else:
            removed = self.collections.remove_entries(collection.id, object_id, versions)
        self.audit.append(
            user.username,
            "delete",
            [object_id],
            details={"taxii": "delete", "collection": collection.id, "entries": removed},
        )
        return taxii_response(b"")

    def check_add(self, request: Request, user: User) -> int:
        """Before a POST's body is read: the collection may be written by this account, the
        body is TAXII; returns the API root's size limit."""
        collection = self._collection(request, user, write=True)
        check_content_type(request.headers.get("content-type"))
        root = self.collections.api_root(collection.api_root)
        assert root is not None
        request.state.collection = collection
        return root.max_content_length

    def add_objects(self, request: Request, user: User) -> Response:
        collection: Collection = request.state.collection
        body: bytes = request.state.body
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise TaxiiError(400, "Bad Request", f"the body is not valid JSON: {error}") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("objects", []), list):
            raise TaxiiError(
                422, "Unprocessable Entity", "the body must be a TAXII envelope with 'objects'"
            )
        received: list[Any] = envelope.get("objects", [])
        try:
            requested = self.inbound.receive(received, user)
        except sa.exc.DataError:
            # Content the database cannot hold although validation let it through (e.g. a
            # NUL character in a *_ref property name on PostgreSQL): refused, not a 500.
            raise TaxiiError(
                422, "Unprocessable Entity", "the database cannot store this content"
            ) from None
        self.collections.add_entries(
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
            "request_timestamp": utc_now(),
            "total_count": len(received),
            "success_count": len(successes),
            "failure_count": len(failures),
            "pending_count": 0,
        }
        if successes:
            status["successes"] = successes
        if failures:
            status["failures"] = failures
        self.collections.save_status(status, collection.api_root, collection.id, user.username)
        self.audit.append(
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

    async def _read_body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                raise TaxiiError(400, "Bad Request", "Content-Length is not a number")
            # The length test first: int() refuses strings of more than 4300 digits.
            if len(declared.lstrip("0")) > len(str(limit)) or int(declared) > limit:
                raise TaxiiError(
                    413, "Payload Too Large", f"the body is over this API root's {limit} bytes"
                )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TaxiiError(
                    413, "Payload Too Large", f"the body is over this API root's {limit} bytes"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def fallback(self, request: Request) -> Response:
        """Any other request under /taxii2/: a TAXII error, 405 on a known path, else 404.

        Without this route Starlette would redirect a path lacking its final '/', with a
        response that is not a TAXII message.
        """
        path: str = request.scope["path"]
        allowed = sorted(
            {
                method
                for route in self._routes
                if route.path_regex.match(path)
                for method in route.methods or ()
            }
        )
        if allowed:
            return error_response(
                TaxiiError(
                    405,
                    "Method Not Allowed",
                    f"{request.method[:20]} is not allowed here",
                    {"Allow": ", ".join(allowed)},
                )
            )
        hint = "" if path.endswith("/") else " (TAXII paths end with '/')"
        return error_response(TaxiiError(404, "Not Found", f"no such TAXII endpoint{hint}"))

    def routes(self) -> list[Route]:
        root = "/taxii2/{api_root}"
        collection = root + "/collections/{collection_id}"
        obj = collection + "/objects/{object_id}"
        self._routes = [
            Route("/taxii2/", self.endpoint(self.discovery)),
            Route(root + "/", self.endpoint(self.api_root)),
            Route(root + "/status/{status_id}/", self.endpoint(self.status)),
            Route(root + "/collections/", self.endpoint(self.list_collections)),
            Route(collection + "/", self.endpoint(self.collection)),
            Route(collection + "/manifest/", self.endpoint(self.manifest)),
            Route(collection + "/objects/", self.endpoint(self.get_objects), methods=["GET"]),
            Route(
                collection + "/objects/",
                self.endpoint(self.add_objects, body=self.check_add),
                methods=["POST"],
                name="add_objects",
            ),
            Route(obj + "/", self.endpoint(self.get_object), methods=["GET"]),
            Route(obj + "/", self.endpoint(self.delete_object), methods=["DELETE"], name="delete"),
            Route(obj + "/versions/", self.endpoint(self.versions)),
        ]
        # Last: it matches everything under /taxii2/ that the routes above do not.
        fallback = Route("/taxii2/{rest:path}", self.fallback, methods=ANY_METHOD)
        return [*self._routes, fallback]

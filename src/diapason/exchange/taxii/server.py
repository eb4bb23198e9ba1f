"""The TAXII 2.1 server: its routes, each endpoint served through the request pipeline.

Responses are built from the stored JSON text without parsing it again; listings are one
indexed range scan each (keyset on the collection's ``seq``); paging cursors are signed and
stateless. Every request is audited; a request a client can send never produces a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.audit import AuditLog
from diapason.authentication import Authenticator
from diapason.domain.roles import has_permission
from diapason.exchange.collections import Collections
from diapason.exchange.inbound import Inbound
from diapason.exchange.taxii import collections, discovery, manifest, objects, status, versions
from diapason.exchange.taxii.context import Context
from diapason.exchange.taxii.errors import taxii_error
from diapason.exchange.taxii.media import check_accept
from diapason.http.pipeline import Body, Credentials, Endpoint, Pipeline, Refused, read_bytes

# Methods the catch-all route takes, so that it (not a redirect) answers under /taxii2/.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

# An endpoint's work: it reads the store and writes the audit trail (in a worker thread).
Handler = Callable[[Context, Request, User], Response]


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
        identity: Callable[[], str | None] = lambda: None,
    ) -> None:
        # Without a configured key, a random one: cursors then only work within this process,
        # but a key everybody knows would let any client forge them.
        self.context = Context(
            collections,
            audit,
            inbound,
            name=name,
            key=key or secrets.token_bytes(32),
            identity=identity,
        )
        trail = self.context.trail
        self.credentials = Credentials(authenticator, trail)
        self.pipeline = Pipeline(
            self.admit, lambda _r, _u, refused: taxii_error(refused), trail.refused
        )
        self._routes: list[Route] = []

    def admit(self, request: Request) -> User:
        """The account making the request, if it accepts TAXII and may use it at all."""
        check_accept(request.headers.get("accept"))
        user = self.credentials.user(request)
        if not (
            has_permission(user.role, "taxii:read") or has_permission(user.role, "taxii:write")
        ):
            raise self.context.trail.denied(
                request,
                user,
                "role without TAXII access",
                Refused(403, "this account has no TAXII access"),
            )
        return user

    def endpoint(self, handler: Handler, *, body: Body[User] | None = None) -> Endpoint:
        return self.pipeline.endpoint(partial(handler, self.context), body=body)

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
            return taxii_error(
                Refused(
                    405, f"{request.method[:20]} is not allowed here", {"Allow": ", ".join(allowed)}
                )
            )
        hint = "" if path.endswith("/") else " (TAXII paths end with '/')"
        return taxii_error(Refused(404, f"no such TAXII endpoint{hint}"))

    def routes(self) -> list[Route]:
        root = "/taxii2/{api_root}"
        collection = root + "/collections/{collection_id}"
        obj = collection + "/objects/{object_id}"
        add = Body(
            read_bytes(lambda limit: f"the body is over this API root's {limit} bytes"),
            check=partial(objects.check_add, self.context),
        )
        self._routes = [
            Route("/taxii2/", self.endpoint(discovery.discovery)),
            Route(root + "/", self.endpoint(discovery.api_root)),
            Route(root + "/status/{status_id}/", self.endpoint(status.status)),
            Route(root + "/collections/", self.endpoint(collections.list_collections)),
            Route(collection + "/", self.endpoint(collections.collection)),
            Route(collection + "/manifest/", self.endpoint(manifest.manifest)),
            Route(collection + "/objects/", self.endpoint(objects.get_objects), methods=["GET"]),
            Route(
                collection + "/objects/",
                self.endpoint(objects.add_objects, body=add),
                methods=["POST"],
                name="add_objects",
            ),
            Route(obj + "/", self.endpoint(objects.get_object), methods=["GET"]),
            Route(
                obj + "/", self.endpoint(objects.delete_object), methods=["DELETE"], name="delete"
            ),
            Route(obj + "/versions/", self.endpoint(versions.versions)),
        ]
        # Last: it matches everything under /taxii2/ that the routes above do not.
        fallback = Route("/taxii2/{rest:path}", self.fallback, methods=ANY_METHOD)
        return [*self._routes, fallback]

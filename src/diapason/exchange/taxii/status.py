"""The status of an add (TAXII 2.1, 4.3): its caller's own, or any for an admin."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.exchange.taxii.context import UUID_RE, Context
from diapason.exchange.taxii.media import taxii_response
from diapason.http.pipeline import Refused


def status(taxii: Context, request: Request, user: User) -> Response:
    name = taxii.root(request)
    status_id: str = request.path_params["status_id"]
    found = taxii.collections.status(name, status_id) if UUID_RE.match(status_id) else None
    if found is None:
        raise Refused(404, "no such status")
    if user.role != "admin" and found[2] != user.username:
        raise taxii.trail.denied(
            request, user, "status of another account", Refused(404, "no such status")
        )
    taxii.audit.append(user.username, "consult", details={"taxii": "status"})
    return taxii_response(found[0])

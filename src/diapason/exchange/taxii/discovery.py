"""Server discovery and API roots (TAXII 2.1, 4.1 and 4.2)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from diapason.accounts import User
from diapason.exchange.protocol import IDENTITY_PROPERTY, TAXII
from diapason.exchange.taxii.context import Context
from diapason.exchange.taxii.media import taxii_response


def discovery(taxii: Context, request: Request, user: User) -> Response:
    """This node, its STIX identity (the custom property ``x_diapason_identity``: the
    ``created_by_ref`` of what it authors, read by partners' sync agents) and its API roots
    (``main`` is the default)."""
    roots = taxii.collections.api_roots()
    resource: dict[str, Any] = {
        "title": f"Diapason node {taxii.name}",
        "description": "TAXII 2.1 server of a Diapason security-cooperation node",
        "api_roots": [f"/taxii2/{root.name}/" for root in roots],
    }
    if any(root.name == "main" for root in roots):
        resource["default"] = "/taxii2/main/"
    if not resource["api_roots"]:
        del resource["api_roots"]
    identity = taxii.identity()
    if identity:
        resource[IDENTITY_PROPERTY] = identity
    taxii.audit.append(user.username, "consult", details={"taxii": "discovery"})
    return taxii_response(resource)


def api_root(taxii: Context, request: Request, user: User) -> Response:
    """One API root: its title, the TAXII version, the largest body it takes."""
    name = taxii.root(request)
    root = taxii.collections.api_root(name)
    assert root is not None
    resource: dict[str, Any] = {
        "title": root.title,
        "versions": [TAXII],
        "max_content_length": root.max_content_length,
    }
    if root.description:
        resource["description"] = root.description
    taxii.audit.append(user.username, "consult", details={"taxii": f"api-root {name}"})
    return taxii_response(resource)

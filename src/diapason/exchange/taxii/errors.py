"""TAXII error messages: a refusal answered as TAXII 2.1 says (section 3.6.1)."""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import Response

from diapason.exchange.taxii.media import taxii_response
from diapason.http.pipeline import Refused

# The title of each status the server answers with.
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
}


def taxii_error(refused: Refused) -> Response:
    """The TAXII error message of a refusal: title, description, status, its headers."""
    return taxii_response(
        {
            "title": TITLES.get(refused.status) or HTTPStatus(refused.status).phrase,
            "description": refused.message,
            "http_status": str(refused.status),
        },
        refused.status,
        refused.headers,
    )

"""The JSON API over real HTTP: authentication, least privilege, precise 4xx for every
client mistake (never a 500), documents and charts, and the audit of it all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from diapason.web.coordinate_api import MAX_BODY
from tests.clock import day, instant, month
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode
from tests.web.site import serve

API = "/api/v1/coordinate"
PARIS_IDENTITY = "identity--0b6cf3f5-8a2e-4f43-9a5b-1f6f0f9c2d11"


def request(
    node: FedNode,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    raw: bytes | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    content = raw if raw is not None else (orjson.dumps(body) if body is not None else None)
    return httpx.request(
        method, f"{node.url}{API}{path}", content=content, headers=headers, timeout=30
    )


def error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    assert text in message, message


@pytest.fixture
def served(make_node: MakeNode) -> Iterator[tuple[FedNode, dict[str, str]]]:
    """Node rabat served on its port, in this process: its joint mechanism's clock starts at
    ``tests.clock.NOW`` (``serve``'s default)."""
    node = make_node("rabat")
    node.node.partners.add("paris", "http://127.0.0.1:9", "unused", identity_id=PARIS_IDENTITY)
    tokens = {}
    for name, role in (("nadia", "liaison"), ("victor", "viewer"), ("aude", "auditor")):
        node.node.accounts.add_user(name, role)
        tokens[name] = node.node.accounts.create_token(name, "tests").secret
    with serve(node.node, port=node.port, sync_interval=0):
        yield node, tokens


def test_credentials_and_roles_decide_who_reads_and_who_writes(
    served: tuple[FedNode, dict[str, str]],
) -> None:
    node, tokens = served
    response = request(node, "GET", "/groups", None)
    error(response, 401, "valid credentials are required")
    assert "Bearer" in response.headers["www-authenticate"]
    error(request(node, "GET", "/groups", "dpsn_wrong"), 401, "valid credentials")
    error(request(node, "GET", "/groups", tokens["aude"]), 403, "coordination:read is needed")
    assert request(node, "GET", "/groups", tokens["victor"]).json() == []
    group = {"name": "GMMP", "kind": "gmmp", "partners": ["rabat", "paris"]}
    error(request(node, "POST", "/groups", tokens["victor"], group), 403, "coordination:write")
    made = request(node, "POST", "/groups", tokens["nadia"], group)
    assert made.status_code == 201 and made.json()["fields"]["partners"] == ["rabat", "paris"]
    denied = [d for _ids, d in node.audit("access_denied") if d.get("api")]
    assert {d["status"] for d in denied} == {401, 403}
    assert made.json()["id"] in node.audit("create")[-1][0]


def test_client_mistakes_are_precise_4xx_and_audited(
    served: tuple[FedNode, dict[str, str]],
) -> None:
    node, tokens = served
    token = tokens["nadia"]
    soon = day(9)
    error(request(node, "POST", "/actions", token, raw=b"{not json"), 400, "the body is not JSON")
    error(request(node, "POST", "/actions", token, ["a"]), 400, "the body must be a JSON object")
    error(
        request(node, "POST", "/actions", token, {"title": "T", "owner": "paris"}),
        400,
        "field 'due' is required",
    )
    error(
        request(
            node,
            "POST",
            "/actions",
            token,
            {"title": "T", "owner": "paris", "due": soon, "colour": "red"},
        ),
        400,
        "field 'colour' is not accepted here",
    )
    error(
        request(node, "POST", "/actions", token, {"title": "T", "owner": "berlin", "due": soon}),
        400,
        "action: field owner: 'berlin' is not a known partner",
    )
    error(
        request(
            node, "POST", "/actions", token, {"title": "T", "owner": "paris", "due": "2020-02-02"}
        ),
        400,
        "action: field due: 2020-02-02 is in the past",
    )
    error(
        request(node, "POST", "/actions", token, {"title": ["T"], "owner": "paris", "due": soon}),
        400,
        "action: field title",
    )
    error(
        request(
            node, "GET", "/items/x-diapason-action--6c9c1f4e-0d6a-4b51-9d1c-1f1a1a1a1a1a", token
        ),
        404,
        "no action with this id",
    )
    error(request(node, "GET", "/items/../../etc/passwd", token), 404, "")
    error(request(node, "GET", "/items/threat-actor--x", token), 404, "not a joint item id")
    error(request(node, "GET", "/figures/chart", token), 400, "'indicator' is required")
    error(request(node, "GET", "/figures/chart?indicator=x", token), 404, "not a shared definition")
    error(
        request(
            node,
            "POST",
            "/figures",
            token,
            {
                "indicator": "assisted-voluntary-returns",
                "month": "2024-01",
                "value": 3,
                "passport": "X",
            },
        ),
        400,
        "looks like a record about an individual",
    )
    error(request(node, "PUT", "/groups", token, {}), 405, "Method Not Allowed")
    big = b'{"title": "' + b"x" * (MAX_BODY + 10) + b'"}'
    error(request(node, "POST", "/groups", token, raw=big), 413, "the body is over")
    refused = [d for _ids, d in node.audit("request_refused") if d.get("api")]
    assert {400, 404, 413} <= {d["status"] for d in refused}


def test_edits_conflicts_documents_and_charts(served: tuple[FedNode, dict[str, str]]) -> None:
    node, tokens = served
    token = tokens["nadia"]
    soon = day(9)
    group = request(
        node,
        "POST",
        "/groups",
        token,
        {"name": "GMMP", "kind": "gmmp", "partners": ["rabat", "paris"]},
    ).json()
    meeting = request(
        node,
        "POST",
        "/meetings",
        token,
        {
            "group_ref": group["id"],
            "title": "Séance de travail",
            "kind": "working",
            "start": soon,
            "place": "Paris",
        },
    ).json()
    action = request(
        node,
        "POST",
        "/actions",
        token,
        {"title": "T", "owner": "paris", "due": soon, "meeting_ref": meeting["id"]},
    ).json()
    one = request(
        node,
        "PATCH",
        f"/items/{action['id']}",
        token,
        {"changes": {"status": "done"}, "based_on": action["id"]},
    )
    two = request(
        node,
        "PATCH",
        f"/items/{action['id']}",
        token,
        {"changes": {"status": "cancelled"}, "based_on": action["id"]},
    )
    assert (one.json()["conflict"], two.json()["conflict"]) == (False, True)
    error(
        request(node, "PATCH", f"/items/{action['id']}", token, {"changes": {"status": "open"}}),
        409,
        "is in conflict",
    )
    error(
        request(node, "POST", f"/items/{action['id']}/resolution", token, {}),
        400,
        "both sides changed status",
    )
    resolved = request(
        node, "POST", f"/items/{action['id']}/resolution", token, {"take": two.json()["id"]}
    )
    assert resolved.status_code == 201 and resolved.json()["fields"]["status"] == "cancelled"
    assert request(node, "GET", "/conflicts", token).json() == []

    minutes = request(node, "GET", f"/meetings/{meeting['id']}/minutes?lang=en", token)
    assert minutes.headers["content-type"] == "text/markdown; charset=utf-8"
    assert minutes.text.startswith("**TLP:") and "\n# Minutes — Séance de travail" in minutes.text
    pdf = request(node, "GET", f"/meetings/{meeting['id']}/communique?lang=fr&format=pdf", token)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    error(
        request(node, "GET", f"/meetings/{meeting['id']}/minutes?format=doc", token),
        400,
        "is not md or pdf",
    )
    error(
        request(node, "GET", f"/meetings/{meeting['id']}/minutes?lang=de", token),
        400,
        "'de' is not fr or en",
    )

    figure = {"indicator": "assisted-voluntary-returns", "month": month(1), "value": 42}
    assert request(node, "POST", "/figures", token, figure).status_code == 201
    error(request(node, "POST", "/figures", token, figure), 400, "already entered")
    corrected = request(
        node,
        "POST",
        "/figures/corrections",
        token,
        {**{k: figure[k] for k in ("indicator", "month")}, "value": 40, "reason": "doublon"},
    )
    assert corrected.status_code == 201 and corrected.json()["note"] == "doublon"
    chart = request(
        node, "GET", "/figures/chart?indicator=assisted-voluntary-returns&lang=fr", token
    )
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert "Retours volontaires assistés" in chart.text
    assert request(node, "GET", "/indicators", token).json()[0]["code"]
    assert request(node, "GET", "/convergence?period=month", token).json() == []
    error(request(node, "GET", "/convergence?period=week", token), 400, "period: 'week'")
    deadline = instant(3)
    asked = request(
        node,
        "POST",
        "/requests",
        token,
        {"title": "T", "question": "Q?", "addressed_to": "paris", "deadline": deadline},
    ).json()
    error(
        request(node, "POST", f"/requests/{asked['id']}/answers", token, {"text": "R"}),
        403,
        "only they answer it",
    )


WRONG_SHAPES: list[tuple[str, dict[str, Any], str]] = [
    (
        "/groups",
        {"name": "G", "kind": "gmmp", "partners": "rabat"},
        "partners: expected a list",
    ),
    (
        "/groups",
        {"name": "G", "kind": "gmmp", "partners": ["rabat"], "members": ["x"]},
        "members[0]",
    ),
    (
        "/groups",
        {"name": "G", "kind": "gmmp", "partners": [["rabat"]]},
        "a partner name is required",
    ),
    (
        "/groups",
        {"name": "G", "kind": "gmmp", "partners": ["rabat"], "tlp": ["red"]},
        "tlp:",
    ),
    (
        "/figures",
        {"indicator": ["x"], "month": "2024-01", "value": 1},
        "not a shared definition",
    ),
    (
        "/figures",
        {"indicator": "assisted-voluntary-returns", "month": 202401, "value": {}},
        "not a month",
    ),
    (
        "/opinions",
        {"object_refs": ["report--x"], "opinion": ["agree"], "topic": "t"},
        "field opinion",
    ),
    (
        "/opinions",
        {"object_refs": "report--x", "opinion": "agree", "topic": "t"},
        "expected a list",
    ),
    (
        "/requests",
        {"title": "T", "question": "Q", "addressed_to": {"a": 1}, "deadline": 5},
        "addressed_to",
    ),
]


def test_bodies_of_the_wrong_shape_are_400_never_500(
    served: tuple[FedNode, dict[str, str]],
) -> None:
    node, tokens = served
    for path, body, text in WRONG_SHAPES:
        error(request(node, "POST", path, tokens["nadia"], body), 400, text)

"""Two real nodes, rabat and paris, served on loopback (in this process, the clock of their
joint mechanism starting at ``tests.clock.NOW``), syncing with `diapason sync` processes:
the joint records travel both ways through TAXII under the release policy, concurrent edits
become a conflict on both sides, and its resolution reaches both."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from diapason.domain.coordination import ITEM_TYPES
from tests.clock import RunningClock, day, instant
from tests.coordinate.conftest import assert_valid_stix
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode, federate
from tests.web.site import serve

API = "/api/v1/coordinate"


class Client:
    """A liaison officer of one node, talking to its JSON API over real HTTP."""

    def __init__(self, node: FedNode, username: str) -> None:
        node.node.accounts.add_user(username, "liaison")
        self.token = node.node.accounts.create_token(username, "tests").secret
        self.node = node

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = httpx.request(
            method,
            f"{self.node.url}{API}{path}",
            content=orjson.dumps(body) if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()


def exchange(*nodes: FedNode) -> None:
    """One sync round on each node in turn: each releases, then pulls from the other."""
    for node in nodes:
        result = node.cli("sync", "--json")
        assert result.returncode == 0, result.stderr
        partners = orjson.loads(result.stdout)["partners"]
        assert all(p["refused"] == 0 for p in partners), partners


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_joint_records_travel_both_ways_and_conflicts_show_on_both_sides(
    make_node: MakeNode, backend: str
) -> None:
    rabat_node, paris_node = make_node("rabat", backend), make_node("paris", backend)
    federate(rabat_node, paris_node)
    rabat, paris = Client(rabat_node, "nadia"), Client(paris_node, "helene")
    clock = RunningClock()  # one for both, as on one host: their edits dated in order
    with (
        serve(rabat_node.node, clock=clock, port=rabat_node.port, sync_interval=0),
        serve(paris_node.node, clock=clock, port=paris_node.port, sync_interval=0),
    ):
        run_both_ways(rabat_node, paris_node, rabat, paris)


def run_both_ways(rabat_node: FedNode, paris_node: FedNode, rabat: Client, paris: Client) -> None:
    """What the liaison officers of both sides do, with both nodes served."""
    soon = day(20)

    # A meeting created in Rabat appears in Paris.
    group = rabat.call(
        "POST",
        "/groups",
        {
            "name": "GMMP",
            "kind": "gmmp",
            "partners": ["rabat", "paris"],
            "members": [
                {"partner": "rabat", "name": "Nadia Benali", "chair": True},
                {"partner": "paris", "name": "Hélène Lefèvre", "chair": True},
            ],
        },
        expect=201,
    )
    meeting = rabat.call(
        "POST",
        "/meetings",
        {
            "group_ref": group["id"],
            "title": "Plénière",
            "kind": "plenary",
            "start": soon,
            "place": "Rabat",
            "agenda": ["Routes migratoires"],
        },
        expect=201,
    )
    action = rabat.call(
        "POST",
        "/actions",
        {
            "title": "Partager les tendances",
            "owner": "paris",
            "due": soon,
            "meeting_ref": meeting["id"],
        },
        expect=201,
    )
    communique = rabat.call(
        "POST", f"/meetings/{meeting['id']}/communique", {"lang": "en"}, expect=201
    )
    exchange(rabat_node, paris_node)
    shared = paris_node.node.store.get(communique["id"])
    assert shared is not None and shared.source == "partner:rabat"
    [seen] = paris.call("GET", "/meetings")
    assert (seen["id"], seen["title"], seen["created_on"]) == (meeting["id"], "Plénière", "rabat")
    assert [a["id"] for a in paris.call("GET", f"/items/{meeting['id']}")["actions"]] == [
        action["id"]
    ]

    # An action updated in Paris updates in Rabat.
    edit = paris.call("PATCH", f"/items/{action['id']}", {"changes": {"status": "in-progress"}})
    assert edit["conflict"] is False
    exchange(paris_node, rabat_node)
    shown = rabat.call("GET", f"/items/{action['id']}")
    assert (shown["status"], shown["updated_on"], shown["updated_by"]) == (
        "in-progress",
        "paris",
        "helene",
    )

    # Both sides edit the same action before syncing: a conflict, shown on both sides.
    rabat.call("PATCH", f"/items/{action['id']}", {"changes": {"assignee": "Youssef"}})
    ours = paris.call(
        "PATCH", f"/items/{action['id']}", {"changes": {"assignee": "Hélène", "status": "done"}}
    )
    exchange(rabat_node, paris_node, rabat_node)
    for client in (rabat, paris):
        [conflict] = client.call("GET", "/conflicts")
        assert conflict["item"] == action["id"]
        assert {head["side"] for head in conflict["heads"]} == {"rabat", "paris"}
        assert set(conflict["clashes"]) == {"assignee"}
        assert conflict["merged"]["status"] == "done"  # changed on one side only: kept
        assert client.call("GET", f"/items/{action['id']}")["conflict"] is True
    refused = rabat.call(
        "PATCH", f"/items/{action['id']}", {"changes": {"status": "open"}}, expect=409
    )
    assert "is in conflict" in refused["error"]
    resolved = paris.call(
        "POST",
        f"/items/{action['id']}/resolution",
        {"values": {"assignee": "Youssef et Hélène"}},
        expect=201,
    )
    assert ours["id"] in resolved["based_on"] and len(resolved["based_on"]) == 2
    exchange(paris_node, rabat_node)
    for client in (rabat, paris):
        assert client.call("GET", "/conflicts") == []
        final = client.call("GET", f"/items/{action['id']}")
        assert (final["assignee"], final["status"], final["revision"]) == (
            "Youssef et Hélène",
            "done",
            resolved["id"],
        )
    history = rabat.call("GET", f"/items/{action['id']}/history")
    assert [h["side"] for h in history] == ["rabat", "paris", "rabat", "paris", "paris"]

    # A request for information, answered across, then closed: a late answer is refused.
    deadline = instant(5)
    request = rabat.call(
        "POST",
        "/requests",
        {
            "title": "Réseau de Nador",
            "question": "Quels relais ?",
            "addressed_to": "paris",
            "deadline": deadline,
            "priority": "high",
        },
        expect=201,
    )
    exchange(rabat_node, paris_node)
    answer = paris.call(
        "POST",
        f"/requests/{request['id']}/answers",
        {"text": "Trois relais.", "provided": [meeting["id"]]},
        expect=201,
    )
    exchange(paris_node, rabat_node)
    asked = rabat.call("GET", f"/items/{request['id']}")
    assert asked["state"] == "answered" and asked["answered_in_time"] is True
    assert [a["id"] for a in asked["answers"]] == [answer["id"]]
    assert asked["answers"][0]["provided"] == [meeting["id"]]
    [row] = rabat.call("GET", "/requests/statistics")
    assert (row["partner"], row["share_in_time"], row["share_within_5_days"]) == ("paris", 1.0, 1.0)
    rabat.call("POST", f"/requests/{request['id']}/close", {}, expect=201)
    exchange(rabat_node, paris_node)
    late = paris.call("POST", f"/requests/{request['id']}/answers", {"text": "Encore."}, expect=409)
    assert "closed" in late["error"]

    # Everything either side holds of the joint mechanism is valid STIX 2.1, and both
    # audit trails verify.
    for node in (rabat_node, paris_node):
        for _id, _modified, content in node.versions():
            obj = orjson.loads(content)
            if obj["type"] in ITEM_TYPES or obj["type"] in ("note", "opinion"):
                assert_valid_stix(obj)
        assert node.cli_json("audit", "verify")["ok"] is True

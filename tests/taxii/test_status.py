"""Adding objects: the status resource, its per-object details, and its persistence."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from diapason.node import Node
from diapason.web.app import create_app
from tests.builders import normalised, sdo, stamp
from tests.taxii.conftest import TAXII, Taxii, bearer, body, is_error


def status_path(status: dict[str, Any] | str) -> str:
    ident = status if isinstance(status, str) else status["id"]
    return f"/taxii2/main/status/{ident}/"


def check_counts(status: dict[str, Any]) -> None:
    """The invariants of a status resource (TAXII 2.1, 4.3.1)."""
    assert status["total_count"] == (
        status["success_count"] + status["failure_count"] + status["pending_count"]
    )
    for name, count in (("successes", "success"), ("failures", "failure"), ("pendings", "pending")):
        assert len(status.get(name, [])) == status[f"{count}_count"]
        for detail in status.get(name, []):
            assert isinstance(detail["id"], str) and detail["id"]
            assert isinstance(detail["version"], str) and detail["version"]
    assert status["status"] == ("complete" if status["pending_count"] == 0 else "pending")


def test_a_mixed_envelope_is_accepted_object_by_object(taxii: Taxii) -> None:
    good = [sdo("indicator"), sdo("malware")]
    conflict = sdo("malware", created=stamp(1))
    taxii.add([conflict])
    bad_id = sdo("malware")
    bad_id["id"] = "malware--not-a-uuid"
    backwards = sdo("indicator", created=stamp(5), modified=stamp(4))
    old_spec = sdo("indicator")
    old_spec["spec_version"] = "2.0"
    envelope: list[Any] = [
        good[0],
        5,
        {"type": "indicator"},
        bad_id,
        backwards,
        good[1],
        old_spec,
        {**conflict, "name": "the same version with other content"},
    ]
    response = taxii.post(envelope)
    assert response.status_code == 202
    status = body(response)
    check_counts(status)
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (8, 2, 6)
    assert [s["id"] for s in status["successes"]] == [o["id"] for o in good]
    assert [s["version"] for s in status["successes"]] == [normalised(stamp(1))] * 2
    failures = status["failures"]
    assert [f["id"] for f in failures] == [
        "object #1",
        "object #2",
        "malware--not-a-uuid",
        backwards["id"],
        old_spec["id"],
        conflict["id"],
    ]
    messages = [f["message"] for f in failures]
    assert "expected a JSON object" in messages[0]
    assert "id" in messages[1]
    assert "not TYPE--UUID" in messages[2]
    assert "earlier than created" in messages[3]
    assert "spec_version" in messages[4]
    assert "different content" in messages[5]
    assert failures[3]["version"] == stamp(4)
    assert failures[0]["version"] == "unknown"
    # Only the good objects are in the collection, and the conflicting one is unchanged.
    listed = {o["id"]: o for o in body(taxii.get(taxii.objects_path()))["objects"]}
    assert set(listed) == {good[0]["id"], good[1]["id"], conflict["id"]}
    assert listed[conflict["id"]] == conflict


def test_posting_the_same_objects_again_is_no_error(taxii: Taxii) -> None:
    objects = [sdo("indicator"), sdo("malware")]
    taxii.add(objects)
    again = body(taxii.post(objects))
    check_counts(again)
    assert (again["success_count"], again["failure_count"]) == (2, 0)
    assert body(taxii.get(taxii.objects_path()))["objects"] == objects


def test_objects_already_stored_elsewhere_join_this_collection(taxii: Taxii) -> None:
    other = taxii.node.collections.add("main", "Other")
    obj = sdo("indicator")
    taxii.add([obj], other)
    assert body(taxii.get(taxii.objects_path())) == {}
    taxii.add([obj])
    assert body(taxii.get(taxii.objects_path()))["objects"] == [obj]


@pytest.mark.parametrize("envelope", [b"{}", b'{"objects": []}', b'{"more": false}'])
def test_an_empty_envelope_gives_an_empty_status(taxii: Taxii, envelope: bytes) -> None:
    response = taxii.client.post(
        taxii.objects_path(), content=envelope, headers=taxii.headers(Content_Type=TAXII)
    )
    assert response.status_code == 202
    status = body(response)
    check_counts(status)
    assert status["total_count"] == 0


def test_a_status_is_kept_and_read_by_a_new_process(taxii: Taxii) -> None:
    posted = body(taxii.post([sdo("indicator"), {"type": "nope"}]))
    check_counts(posted)
    # Another application over the same database: what a restart or another worker sees.
    node = Node.open(taxii.node.settings)
    with TestClient(create_app(node.settings, node)) as client:
        response = client.get(status_path(posted), headers=taxii.headers())
        assert response.status_code == 200
        assert body(response) == posted


def test_a_status_is_only_shown_to_whoever_posted_it(taxii: Taxii) -> None:
    grants = {taxii.collection.id: (True, True)}
    alice = taxii.user("alice", "analyst", grants=grants)
    bob = taxii.user("bob", "analyst", grants=grants)
    posted = body(taxii.post([sdo("indicator")], auth=bearer(alice)))
    assert taxii.get(status_path(posted), auth=bearer(alice)).status_code == 200
    is_error(taxii.get(status_path(posted), auth=bearer(bob)), 404)
    # Admins see every status.
    assert taxii.get(status_path(posted)).status_code == 200
    denied = taxii.node.audit.entries(actor="bob", action="access_denied")
    assert [e.details["why"] for e in denied] == ["status of another account"]


@pytest.mark.parametrize(
    "ident",
    [
        "0f4d6f5c-1c0e-4c5e-8f51-0b0f2c5d2f0a",
        "not-a-status",
        "0F4D6F5C-1C0E-4C5E-8F51-0B0F2C5D2F0A",
        "x" * 300,
    ],
)
def test_an_unknown_status_is_not_found(taxii: Taxii, ident: str) -> None:
    is_error(taxii.get(status_path(ident)), 404)


def test_a_status_belongs_to_its_api_root(taxii: Taxii) -> None:
    taxii.node.collections.add_api_root("second", "Second root")
    posted = body(taxii.post([sdo("indicator")]))
    is_error(taxii.get(f"/taxii2/second/status/{posted['id']}/"), 404)

"""Requests for information: what is refused, and the share answered in time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from diapason.coordinate import ConflictError, CoordinationError, Refused
from diapason.coordinate.requests import statistics
from tests.coordinate.conftest import Joint, assert_valid_stix, partner_request


def deadline(joint: Joint, days: float) -> str:
    return (joint.clock.now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_request_is_addressed_to_a_known_partner_with_a_deadline_ahead(joint: Joint) -> None:
    request = joint.service.create_request(
        "Filière de Nador",
        "Quels relais logistiques au nord de Nador ?",
        "paris",
        deadline(joint, 5),
        priority="urgent",
    )
    assert request.fields["requester"] == "rabat" and request.fields["status"] == "open"
    stored = joint.node.store.get(request.id)
    assert stored is not None
    assert_valid_stix(stored.object)
    [view] = joint.service.requests()
    assert (view["state"], view["late"], view["days_to_answer"]) == ("open", False, None)
    joint.clock.advance(days=6)
    [view] = joint.service.requests(state="late")
    assert view["late"] is True
    [row] = joint.service.request_statistics()
    assert row == {
        "partner": "paris",
        "requests": 1,
        "answered": 0,
        "counted": 1,
        "in_time": 0,
        "within_5_days": 0,
        "late": 1,
        "share_in_time": 0.0,
        "share_within_5_days": 0.0,
        "mean_days_to_answer": None,
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"addressed_to": "berlin"}, "addressed_to: 'berlin' is not a known partner"),
        ({"addressed_to": "rabat"}, "a request goes to another partner"),
        ({"deadline": "2020-01-01"}, "deadline: 2020-01-01T00:00:00.000Z is in the past"),
        ({"deadline": "soon"}, "deadline: 'soon' is not a date"),
        ({"priority": "whenever"}, "rfi: field priority"),
        ({"question": "  "}, "rfi: field question"),
    ],
)
def test_bad_requests_are_refused(joint: Joint, arguments: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "title": "T",
        "question": "Q?",
        "addressed_to": "paris",
        "deadline": deadline(joint, 3),
        **arguments,
    }
    with pytest.raises(CoordinationError, match=message):
        joint.service.create_request(
            values.pop("title"),
            values.pop("question"),
            values.pop("addressed_to"),
            values.pop("deadline"),
            **values,
        )


def test_only_the_addressee_answers_and_only_the_requester_closes(joint: Joint) -> None:
    request = joint.service.create_request("T", "Q?", "paris", deadline(joint, 3))
    with pytest.raises(Refused, match="addressed to paris; only they answer it"):
        joint.service.answer_request(request.id, "Réponse")
    joint.service.close_request(request.id)
    [view] = joint.service.requests()
    assert view["state"] == "closed"
    with pytest.raises(CoordinationError, match="is not closed, cancelled or open"):
        joint.service.close_request(request.id, "archived")


def test_an_answer_to_a_closed_request_is_refused(joint: Joint) -> None:
    # A request made by the partner, addressed to us, as the sync agent stores it.
    request = partner_request(joint, deadline(joint, 3))
    answer = joint.service.answer_request(request["id"], "Trois relais identifiés.")
    stored = joint.node.store.get(answer["id"])
    assert stored is not None and stored.object["object_refs"] == [request["id"]]
    assert_valid_stix(stored.object)
    assert joint.service.request(request["id"])["state"] == "answered"
    closed = partner_request(joint, deadline(joint, 3), status="closed", based_on=request)
    assert closed["item_ref"] == request["id"]
    with pytest.raises(ConflictError, match="the request is closed; answers are refused"):
        joint.service.answer_request(request["id"], "Encore une précision.")


def view(
    addressed_to: str, days: float | None, in_time: bool | None, **other: Any
) -> dict[str, Any]:
    return {
        "addressed_to": addressed_to,
        "days_to_answer": days,
        "answered_in_time": in_time,
        "late": other.get("late", False),
        "deadline_passed": other.get("passed", days is not None),
        "state": other.get("state", "answered" if days is not None else "open"),
    }


def test_the_share_answered_in_time_counts_answered_and_overdue_requests_only(joint: Joint) -> None:
    views = [
        view("paris", 1.0, True),
        view("paris", 4.5, True),
        view("paris", 7.0, False),
        view("paris", None, None, late=True, passed=True),
        view("paris", None, None),  # open, not yet due: not counted
        view("paris", None, None, passed=True, state="cancelled"),  # withdrawn: not counted
        view("rabat", 2.0, True),
    ]
    rows = {row["partner"]: row for row in statistics(joint.service.records, views)}
    assert rows["paris"]["requests"] == 6
    assert rows["paris"]["counted"] == 4
    assert rows["paris"]["share_in_time"] == 0.5
    assert rows["paris"]["share_within_5_days"] == 0.5
    assert rows["paris"]["mean_days_to_answer"] == 4.17
    assert rows["rabat"]["share_in_time"] == 1.0

"""Groups, meetings and actions on a real node (SQLite and PostgreSQL): what is written,
what is refused, overdue actions, edits and conflicts, the audit trail, STIX validity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from diapason.coordinate import ConflictError, CoordinationError, NotFound
from diapason.coordinate.revisions import Revision
from tests.coordinate.conftest import Joint, assert_valid_stix

MEMBERS: list[dict[str, Any]] = [
    {"partner": "rabat", "name": "Nadia Benali", "function": "Directrice", "chair": True},
    {"partner": "paris", "name": "Jean Martin", "chair": True},
    {"partner": "paris", "name": "Élodie Durand"},
]


def group(joint: Joint) -> Revision:
    return joint.service.create_group(
        "Groupe Migratoire Mixte Permanent", "gmmp", ["rabat", "Paris"], MEMBERS
    )


def meeting(joint: Joint, group_id: str) -> Revision:
    return joint.service.create_meeting(
        group_id,
        "Réunion plénière du GMMP",
        "plenary",
        (joint.clock.now + timedelta(days=3)).date().isoformat(),
        "Rabat",
        delegations=[
            {"partner": "paris", "head": "Jean Martin", "members": ["Jean Martin", "Élodie Durand"]}
        ],
        agenda=["Routes migratoires", "Retours volontaires"],
    )


def due(joint: Joint, days: int) -> str:
    return (joint.clock.now + timedelta(days=days)).date().isoformat()


def test_a_group_meeting_and_action_are_stix_objects_written_through_the_store(
    joint: Joint,
) -> None:
    made = group(joint)
    assert made.fields["partners"] == ["rabat", "paris"]  # spelt as the node knows them
    held = meeting(joint, made.id)
    action = joint.service.create_action(
        "Échanger les listes de passeurs", "paris", due(joint, 10), meeting_ref=held.id
    )
    for revision in (made, held, action):
        stored = joint.node.store.get(revision.id)
        assert stored is not None and stored.source == "local"
        assert stored.object["created_by_ref"] == joint.node.identity_id
        assert_valid_stix(stored.object)
    # Released to the partners named on it, under the policy.
    run = joint.node.ledger.run("tests")
    assert run.released.get("paris", 0) >= 3
    decisions = joint.node.ledger.decisions(action.id)
    assert [(d.partner, d.released) for d in decisions] == [("paris", True)]
    # Writes are audited with what they wrote.
    created = [e for e in joint.node.audit.entries() if e.action == "create"]
    assert {made.id, held.id, action.id} <= {i for e in created for i in e.object_ids}
    view = joint.service.meeting(held.id)
    assert view["group"]["name"] == "Groupe Migratoire Mixte Permanent"
    assert [a["id"] for a in view["actions"]] == [action.id]
    [shown] = joint.service.groups()
    assert shown["chairs"] == {"rabat": "Nadia Benali", "paris": "Jean Martin"}
    assert shown["sides_without_chair"] == []
    solo = joint.service.create_group("Sécurité", "security", ["rabat", "paris"])
    assert joint.service.get(solo.id)["sides_without_chair"] == ["rabat", "paris"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": "berlin"}, "action: field owner: 'berlin' is not a known partner"),
        ({"due": "2020-01-31"}, "action: field due: 2020-01-31 is in the past"),
        ({"due": "31/01/2027"}, "action: field due: '31/01/2027' is not a date"),
        (
            {"meeting_ref": "x-diapason-meeting--6c9c1f4e-0d6a-4b51-9d1c-1f1a1a1a1a1a"},
            "not a known meeting",
        ),
        (
            {"linked_refs": ["threat-actor--6c9c1f4e-0d6a-4b51-9d1c-1f1a1a1a1a1a"]},
            "not an object this node holds",
        ),
    ],
)
def test_bad_actions_are_refused_with_a_precise_error_and_nothing_written(
    joint: Joint, change: dict[str, Any], message: str
) -> None:
    before = joint.node.store.count()
    arguments: dict[str, Any] = {"title": "Suivi", "owner": "paris", "due": due(joint, 5), **change}
    with pytest.raises(CoordinationError, match=message):
        joint.service.create_action(
            arguments.pop("title"), arguments.pop("owner"), arguments.pop("due"), **arguments
        )
    assert joint.node.store.count() == before


def test_groups_and_meetings_refuse_unknown_sides_and_two_chairs(joint: Joint) -> None:
    with pytest.raises(CoordinationError, match=r"partners\[1\]: 'madrid' is not a known partner"):
        joint.service.create_group("G", "security", ["rabat", "madrid"])
    with pytest.raises(CoordinationError, match="paris already has a chair"):
        joint.service.create_group(
            "G",
            "security",
            ["rabat", "paris"],
            [*MEMBERS, {"partner": "paris", "name": "X", "chair": True}],
        )
    solo = joint.service.create_group("Rabat seul", "other", ["rabat"])
    with pytest.raises(CoordinationError, match="paris is not a partner of the group"):
        joint.service.create_meeting(
            solo.id,
            "T",
            "working",
            "2026-01-01",
            "Rabat",
            delegations=[{"partner": "paris", "members": []}],
        )
    with pytest.raises(CoordinationError, match="meeting: field kind"):
        joint.service.create_meeting(solo.id, "T", "dinner", "2026-01-01", "Rabat")
    with pytest.raises(
        CoordinationError, match="meeting: field start: '2026-13-01' is not a real date"
    ):
        joint.service.create_meeting(solo.id, "T", "working", "2026-13-01", "Rabat")


def test_overdue_actions_are_flagged_and_can_still_be_closed(joint: Joint) -> None:
    action = joint.service.create_action("Rapport conjoint", "rabat", due(joint, 2))
    assert joint.service.actions(overdue=True) == []
    joint.clock.advance(days=5)
    late = joint.service.actions(overdue=True)
    assert [a["id"] for a in late] == [action.id]
    assert late[0]["days_overdue"] == 3
    # Marking it done does not touch the (past) due date, so it is accepted...
    joint.service.update(action.id, {"status": "done"})
    assert joint.service.actions(overdue=True) == []
    # ... but moving the due date into the past is refused.
    with pytest.raises(CoordinationError, match="is in the past"):
        joint.service.update(action.id, {"due": due(joint, -1)})


def test_concurrent_edits_make_a_conflict_shown_and_resolved(joint: Joint) -> None:
    action = joint.service.create_action("Partager l'analyse", "paris", due(joint, 10))
    first = joint.service.update(action.id, {"status": "in-progress"}, based_on=action.id)
    second = joint.service.update(
        action.id, {"status": "cancelled", "assignee": "Marc"}, based_on=action.id
    )
    assert (first.conflict, second.conflict) == (False, True)
    [conflict] = joint.service.conflicts()
    assert conflict["item"] == action.id
    assert conflict["clashes"] == {
        "status": {first.revision.id: "in-progress", second.revision.id: "cancelled"}
    }
    assert {h["side"] for h in conflict["heads"]} == {"rabat"}
    assert joint.service.get(action.id)["conflict"] is True
    with pytest.raises(ConflictError, match="is in conflict between revisions"):
        joint.service.update(action.id, {"status": "done"})
    with pytest.raises(CoordinationError, match="both sides changed status"):
        joint.service.resolve(action.id)
    resolved = joint.service.resolve(action.id, take=first.revision.id)
    assert set(resolved.based_on) == {first.revision.id, second.revision.id}
    assert resolved.fields["status"] == "in-progress" and resolved.fields["assignee"] == "Marc"
    assert joint.service.conflicts() == []
    history = joint.service.history(action.id)
    assert [h["id"] for h in history][-1] == resolved.id
    assert history[-1]["head"] and not any(h["head"] for h in history[:-1])
    assert_valid_stix(dict(resolved.object))


def test_edits_are_checked_like_creations(joint: Joint) -> None:
    action = joint.service.create_action("Suivi", "paris", due(joint, 5))
    with pytest.raises(CoordinationError, match="action: field status"):
        joint.service.update(action.id, {"status": "forgotten"})
    with pytest.raises(CoordinationError, match="requester cannot be set here"):
        joint.service.update(action.id, {"requester": "paris"})
    with pytest.raises(NotFound, match="not a revision of"):
        joint.service.update(
            action.id, {"status": "done"}, based_on=action.id.replace("-4", "-5", 1)
        )
    with pytest.raises(NotFound, match="not a joint item id"):
        joint.service.get("threat-actor--6c9c1f4e-0d6a-4b51-9d1c-1f1a1a1a1a1a")
    with pytest.raises(NotFound, match="no action with this id"):
        joint.service.get("x-diapason-action--6c9c1f4e-0d6a-4b51-9d1c-1f1a1a1a1a1a")


def test_reads_are_audited_as_consultations(joint: Joint) -> None:
    action = joint.service.create_action("Suivi", "paris", due(joint, 5))
    joint.service.actions()
    consults = [e for e in joint.node.audit.entries() if e.action == "consult"]
    assert consults and action.id in consults[-1].object_ids
    assert consults[-1].details["coordination"] == "actions"

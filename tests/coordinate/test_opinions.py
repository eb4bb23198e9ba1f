"""Opinions on the partner's assessments and the convergence index."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from diapason.coordinate import CoordinationError
from diapason.coordinate.opinions import convergence
from tests.coordinate.conftest import PARIS_IDENTITY, Joint, assert_valid_stix


def partner_report(joint: Joint, name: str) -> str:
    """An assessment written by paris, as the sync agent stores it."""
    report: dict[str, Any] = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": "2026-01-10T00:00:00.000Z",
        "modified": "2026-01-10T00:00:00.000Z",
        "created_by_ref": PARIS_IDENTITY,
        "name": name,
        "published": "2026-01-10T00:00:00.000Z",
        "object_refs": [PARIS_IDENTITY],
    }
    assert not joint.node.store.put_many([report], source="partner:paris").refused
    return str(report["id"])


def test_an_opinion_is_a_stix_opinion_on_the_partners_assessment(joint: Joint) -> None:
    report = partner_report(joint, "Routes transsahariennes")
    obj = joint.service.record_opinion([report], "agree", " Sahel ", "Lecture partagée.")
    assert obj["labels"] == ["topic:sahel"]
    assert_valid_stix(obj)
    [held] = joint.service.opinions("SAHEL")
    assert (held["side"], held["opinion"], held["object_refs"]) == ("rabat", "agree", [report])


def test_opinions_on_our_own_or_unknown_objects_are_refused(joint: Joint) -> None:
    ours = joint.node.identity_id
    assert ours is not None
    with pytest.raises(CoordinationError, match="is not a partner's assessment"):
        joint.service.record_opinion([ours], "agree", "sahel")
    with pytest.raises(CoordinationError, match="is not held here"):
        joint.service.record_opinion(
            ["report--6c9c1f4e-0d6a-4b51-9d1c-1f1a1a1a1a1a"], "agree", "sahel"
        )
    report = partner_report(joint, "Routes")
    with pytest.raises(CoordinationError, match="field opinion: 'yes' is not one of"):
        joint.service.record_opinion([report], "yes", "sahel")
    with pytest.raises(CoordinationError, match="a topic is required"):
        joint.service.record_opinion([report], "agree", "")


def opinion(side: str, topic: str, level: str, created: str, *refs: str) -> dict[str, Any]:
    return {
        "side": side,
        "topic": topic,
        "opinion": level,
        "created": created,
        "object_refs": list(refs),
    }


def test_the_convergence_index_averages_each_side_then_the_sides() -> None:
    opinions = [
        # Sahel, 2026-Q1: rabat agrees with two of paris's reports, then changes its mind on
        # one (only its latest opinion counts); paris strongly agrees with one of rabat's.
        opinion("rabat", "sahel", "agree", "2026-01-05T00:00:00Z", "report--a", "report--b"),
        opinion("rabat", "sahel", "disagree", "2026-02-05T00:00:00Z", "report--b"),
        opinion("paris", "sahel", "strongly-agree", "2026-03-01T00:00:00Z", "report--c"),
        # Migration, 2026-Q1: both sides disagree.
        opinion("rabat", "migration", "strongly-disagree", "2026-01-07T00:00:00Z", "report--d"),
        opinion("paris", "migration", "disagree", "2026-01-08T00:00:00Z", "report--e"),
        # Sahel, 2026-Q2.
        opinion("paris", "sahel", "neutral", "2026-04-02T00:00:00Z", "report--f"),
    ]
    rows = {(r["topic"], r["period"]): r for r in convergence(opinions, "quarter")}
    sahel = rows[("sahel", "2026-Q1")]
    # rabat: mean(0.75, 0.25) = 0.5; paris: 1.0; index = (0.5 + 1.0) / 2.
    assert sahel["sides"] == {"paris": 1.0, "rabat": 0.5}
    assert (sahel["index"], sahel["verdict"], sahel["gap"], sahel["opinions"]) == (
        0.75,
        "meet",
        0.5,
        3,
    )
    migration = rows[("migration", "2026-Q1")]
    assert (migration["index"], migration["verdict"]) == (0.125, "part")
    assert rows[("sahel", "2026-Q2")]["verdict"] == "mixed"
    by_month = convergence(opinions, "month", topic="Sahel")
    assert [r["period"] for r in by_month] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [r["period"] for r in convergence(opinions, "year")] == ["2026", "2026"]
    with pytest.raises(CoordinationError, match="period: 'week'"):
        convergence(opinions, "week")

"""Indicator figures: aggregates only, entered once, corrected with a reason, drawn."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from xml.etree import ElementTree  # our own SVG, not untrusted input

import pytest

from diapason.coordinate import CoordinationError, Refused
from tests import clock
from tests.coordinate.conftest import PARIS_IDENTITY, Joint, assert_valid_stix

AVR = "assisted-voluntary-returns"


def month(joint: Joint, back: int = 1) -> str:
    """The month ``back`` months before the service's (after it when negative)."""
    return clock.month(back, joint.clock.now)


def test_a_figure_is_entered_once_and_corrected_with_its_reason_kept(joint: Joint) -> None:
    entered = joint.service.enter_figure({"indicator": AVR, "month": month(joint), "value": 120})
    stored = joint.node.store.get(entered.id)
    assert stored is not None
    assert_valid_stix(stored.object)
    with pytest.raises(
        CoordinationError, match=r"already entered \(120, .*correct it with a reason"
    ):
        joint.service.enter_figure({"indicator": AVR, "month": month(joint), "value": 121})
    with pytest.raises(CoordinationError, match="a correction needs its reason"):
        joint.service.correct_figure(AVR, month(joint), 125, " ")
    corrected = joint.service.correct_figure(AVR, month(joint), 125, "doublons retirés")
    assert corrected.revision.note == "doublons retirés"
    [row] = joint.service.figures(AVR)
    assert (row["value"], row["first_value"], row["side"]) == (125, 120, "rabat")
    assert row["corrections"] == [
        {"value": 125, "reason": "doublons retirés", "at": corrected.revision.created}
    ]
    # Nothing lost: both values are in the history.
    assert [h["fields"]["value"] for h in joint.service.history(entered.id)] == [120, 125]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "Ali B."}, "field 'name' looks like a record about an individual"),
        ({"date_of_birth": "1990-01-01"}, "looks like a record about an individual"),
        ({"nationalité": "X"}, "looks like a record about an individual"),
        ({"region": "Oriental"}, "field 'region' is not accepted"),
        ({"comment": "dont M. X, né le 3/4/1990"}, "comment: looks like it identifies a person"),
        ({"comment": "passeport AB1234567"}, "comment: looks like it identifies a person"),
        ({"comment": "contact: agent@example.org"}, "comment: looks like it identifies a person"),
        ({"value": -3}, "-3 is out of range"),
        ({"value": 2.5}, "2.5' is not a whole number"),
        ({"value": True}, "'True' is not a whole number"),
        ({"indicator": "happiness"}, "'happiness' is not a shared definition"),
        ({"month": "2024-13"}, "'2024-13' is not a month"),
    ],
)
def test_what_is_not_an_aggregate_figure_is_refused_whole(
    joint: Joint, entry: dict[str, Any], message: str
) -> None:
    before = joint.node.store.count()
    with pytest.raises(CoordinationError, match=message):
        joint.service.enter_figure({"indicator": AVR, "month": month(joint), "value": 3, **entry})
    assert joint.node.store.count() == before


@pytest.mark.parametrize(
    ("now", "following", "before"),
    [
        (clock.NOW, "2026-07", "2026-05"),
        (clock.EDGES[0], "2026-12", "2026-10"),  # 30 November, 23:59:59
        (clock.EDGES[1], "2027-01", "2026-11"),  # 31 December, 23:59:59: the year turns
        (clock.EDGES[2], "2027-02", "2026-12"),  # 1 January, 00:00:00
    ],
    ids=lambda value: f"{value:%Y-%m-%dT%H:%M:%S}" if isinstance(value, datetime) else value,
)
def test_a_month_not_begun_is_refused(
    joint: Joint, now: datetime, following: str, before: str
) -> None:
    """The month after the clock's is refused, in December too (the next is January of the
    next year); the clock's own month and the one before it are accepted."""
    joint.clock.now = now
    assert (month(joint, -1), month(joint, 1)) == (following, before)
    with pytest.raises(CoordinationError, match=f"{following} has not begun yet"):
        joint.service.enter_figure({"indicator": AVR, "month": following, "value": 3})
    assert joint.service.figures(AVR) == []
    for entered in (before, f"{now:%Y-%m}"):
        joint.service.enter_figure({"indicator": AVR, "month": entered, "value": 3})
    assert sorted(row["month"] for row in joint.service.figures(AVR)) == [
        before,
        f"{now:%Y-%m}",
    ]


def test_a_csv_file_is_entered_whole_or_not_at_all(joint: Joint) -> None:
    good = (
        "indicator,month,value,comment\n"
        f"{AVR},{month(joint, 2)},80,\n"
        f"smuggling-networks-dismantled,{month(joint, 2)},4,deux à Oujda\n"
    )
    assert len(joint.service.enter_figures_csv(good)) == 2
    before = joint.node.store.count()
    again = f"indicator,month,value\n{AVR},{month(joint, 3)},10\n{AVR},{month(joint, 2)},81\n"
    with pytest.raises(CoordinationError, match=r"row 2: .* already entered"):
        joint.service.enter_figures_csv(again)
    with pytest.raises(CoordinationError, match="header: field 'surname' looks like a record"):
        joint.service.enter_figures_csv(
            f"indicator,month,value,surname\n{AVR},{month(joint, 4)},1,X\n"
        )
    with pytest.raises(CoordinationError, match="line 2: more cells than columns"):
        joint.service.enter_figures_csv(f"indicator,month,value\n{AVR},{month(joint, 4)},1,X\n")
    assert joint.node.store.count() == before


def test_a_side_corrects_only_its_own_figures(joint: Joint) -> None:
    entered = joint.service.enter_figure({"indicator": AVR, "month": month(joint), "value": 7})
    with pytest.raises(CoordinationError, match="side cannot be set here"):
        joint.service.update(entered.id, {"side": "paris"})
    with pytest.raises(CoordinationError, match="no figure of ours to correct"):
        joint.service.correct_figure(AVR, month(joint, 2), 3, "typo")
    assert isinstance(Refused("x"), CoordinationError)


def test_the_chart_draws_both_sides_and_escapes_text(joint: Joint) -> None:
    joint.service.enter_figure({"indicator": AVR, "month": month(joint, 2), "value": 80})
    joint.service.enter_figure({"indicator": AVR, "month": month(joint), "value": 120})
    svg = joint.service.figures_chart(AVR, "fr")
    tree = ElementTree.fromstring(svg)  # noqa: S314
    texts = [element.text for element in tree.iter("{http://www.w3.org/2000/svg}text")]
    assert "Retours volontaires assistés" in texts
    assert {"rabat", "paris"} <= set(texts)  # the legend names both sides
    bars = [
        e
        for e in tree.iter("{http://www.w3.org/2000/svg}rect")
        if e.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert len(bars) == 2
    from diapason.coordinate.chart import figures_svg

    hostile = figures_svg("<script>alert(1)</script>", {"2024-01": {"a&b": 1}}, ["a&b"])
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    ElementTree.fromstring(hostile)  # noqa: S314


def test_a_partners_revision_of_our_figure_is_ignored(joint: Joint) -> None:
    entered = joint.service.enter_figure({"indicator": AVR, "month": month(joint), "value": 50})
    forged = {
        **dict(entered.object),
        "id": f"x-diapason-indicator-figure--{uuid.uuid4()}",
        "created_by_ref": PARIS_IDENTITY,
        "item_ref": entered.id,
        "based_on_refs": [entered.id],
        "value": 999,
    }
    # Stored as the sync agent stores what a partner sends: it is a valid STIX object.
    assert not joint.node.store.put_many([forged], source="partner:paris").refused
    [row] = joint.service.figures(AVR)
    assert (row["value"], row["revisions"], row["conflict"]) == (50, 1, False)
    assert [h["id"] for h in joint.service.history(entered.id)] == [entered.id]

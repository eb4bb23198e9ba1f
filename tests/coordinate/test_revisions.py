"""Revisions and conflicts, as pure functions: heads, common base, merge, resolution."""

from __future__ import annotations

from typing import Any

import pytest

from diapason.coordinate.revisions import (
    Revision,
    assemble,
    changes,
    conflict_of,
    resolution,
)

ITEM = "x-diapason-action--00000000-0000-4000-8000-000000000000"


def rev(number: int, based_on: tuple[int, ...] = (), /, **fields: str) -> Revision:
    obj: dict[str, Any] = {
        "type": "x-diapason-action",
        "id": ITEM if number == 0 else f"x-diapason-action--00000000-0000-4000-8000-{number:012d}",
        "created": f"2026-01-01T00:00:{number:02d}.000Z",
        "created_by_ref": "identity--rabat" if number % 2 == 0 else "identity--paris",
        **fields,
    }
    if number:
        obj["item_ref"] = ITEM
        obj["based_on_refs"] = [rev_id(b) for b in based_on]
    return Revision.of(obj)


def rev_id(number: int) -> str:
    return ITEM if number == 0 else f"x-diapason-action--00000000-0000-4000-8000-{number:012d}"


BASE = {"title": "Exchange lists", "owner": "paris", "status": "open", "due": "2026-02-01"}


def test_a_chain_of_edits_has_one_head_the_latest() -> None:
    items = assemble([rev(0, **BASE), rev(1, (0,), **{**BASE, "status": "in-progress"})])
    item = items[ITEM]
    assert not item.conflict
    assert item.current.id == rev_id(1)
    assert item.fields["status"] == "in-progress"
    assert conflict_of(item) is None


def test_two_edits_of_the_same_revision_are_a_conflict_merged_where_they_do_not_clash() -> None:
    item = assemble(
        [
            rev(0, **BASE),
            rev(1, (0,), **{**BASE, "status": "in-progress"}),
            rev(2, (0,), **{**BASE, "assignee": "Marc"}),
        ]
    )[ITEM]
    assert item.conflict and {h.id for h in item.heads} == {rev_id(1), rev_id(2)}
    conflict = conflict_of(item)
    assert conflict is not None and conflict.base is not None and conflict.base.id == ITEM
    assert conflict.changed == {
        rev_id(1): {"status": "in-progress"},
        rev_id(2): {"assignee": "Marc"},
    }
    assert conflict.clashes == {}
    assert conflict.merged == {**BASE, "status": "in-progress", "assignee": "Marc"}
    assert resolution(conflict) == conflict.merged


def test_a_clash_must_be_settled_by_a_side_or_a_value() -> None:
    item = assemble(
        [
            rev(0, **BASE),
            rev(1, (0,), **{**BASE, "status": "done", "assignee": "Élodie"}),
            rev(2, (0,), **{**BASE, "status": "cancelled"}),
        ]
    )[ITEM]
    conflict = conflict_of(item)
    assert conflict is not None
    assert conflict.clashes == {"status": {rev_id(1): "done", rev_id(2): "cancelled"}}
    with pytest.raises(ValueError, match="both sides changed status"):
        resolution(conflict)
    assert resolution(conflict, take=rev_id(2))["status"] == "cancelled"
    # What does not clash is kept whichever side is taken.
    assert resolution(conflict, take=rev_id(2))["assignee"] == "Élodie"
    assert resolution(conflict, values={"status": "in-progress"})["status"] == "in-progress"
    with pytest.raises(ValueError, match="not one of the conflicting revisions"):
        resolution(conflict, take=ITEM)


def test_the_same_change_on_both_sides_does_not_clash() -> None:
    item = assemble(
        [
            rev(0, **BASE),
            rev(1, (0,), **{**BASE, "status": "done"}),
            rev(2, (0,), **{**BASE, "status": "done"}),
        ]
    )[ITEM]
    conflict = conflict_of(item)
    assert conflict is not None and conflict.clashes == {}
    assert conflict.merged["status"] == "done"


def test_a_resolution_based_on_both_heads_ends_the_conflict() -> None:
    item = assemble(
        [
            rev(0, **BASE),
            rev(1, (0,), **{**BASE, "status": "done"}),
            rev(2, (0,), **{**BASE, "status": "cancelled"}),
            rev(3, (1, 2), **{**BASE, "status": "done"}),
        ]
    )[ITEM]
    assert not item.conflict and item.current.id == rev_id(3)


def test_the_base_is_the_newest_common_ancestor_and_removed_fields_show_as_none() -> None:
    item = assemble(
        [
            rev(0, **BASE),
            rev(1, (0,), **{**BASE, "assignee": "Marc"}),
            rev(2, (1,), **BASE),  # removes the assignee
            rev(3, (1,), **{**BASE, "assignee": "Marc", "title": "Exchange full lists"}),
        ]
    )[ITEM]
    conflict = conflict_of(item)
    assert conflict is not None and conflict.base is not None
    assert conflict.base.id == rev_id(1)
    assert conflict.changed[rev_id(2)] == {"assignee": None}
    assert "assignee" not in conflict.merged
    assert conflict.merged["title"] == "Exchange full lists"
    assert changes({"a": 1}, {"b": 2}) == {"a": None, "b": 2}


def test_revisions_arriving_in_any_order_give_the_same_item() -> None:
    revisions = [
        rev(0, **BASE),
        rev(1, (0,), **{**BASE, "status": "done"}),
        rev(2, (1,), **{**BASE, "status": "cancelled"}),
    ]
    one = assemble(revisions)[ITEM]
    other = assemble(reversed(revisions))[ITEM]
    assert one.current.id == other.current.id == rev_id(2)
    assert [r.id for r in one.revisions] == [r.id for r in other.revisions]


def test_a_revision_whose_base_is_not_held_is_still_shown() -> None:
    # The partner's earlier revision was withheld from us: its edit is still a head.
    item = assemble([rev(0, **BASE), rev(3, (1,), **{**BASE, "status": "done"})])[ITEM]
    assert item.conflict  # the original and the edit of an unseen revision
    conflict = conflict_of(item)
    assert conflict is not None and conflict.base is None
    assert conflict.changed[rev_id(3)]["status"] == "done"

"""Editing joint items, whatever their kind: edits, conflicts, resolutions, history.

An edit names the revision it was based on (by default the item's only head). An edit
based on a revision that is no longer a head (someone edited meanwhile, here or on the
other side) is still written: the item is then in conflict, and says so, rather than one
edit silently replacing the other. While an item is in conflict, a plain edit is refused;
``resolve`` writes a revision based on every head, which ends the conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from diapason.coordinate.records import ConflictError, CoordinationError, NotFound, Records
from diapason.coordinate.revisions import Conflict, Item, Revision, conflict_of, resolution

# (records, the new state, the state it replaces or None for a new item) -> the state as
# it will be written (names normalised), or CoordinationError.
Check = Callable[[Records, dict[str, Any], Mapping[str, Any] | None], dict[str, Any]]
Recipients = Callable[[Records, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Kind:
    """What the generic editing needs to know about one kind of item."""

    type: str
    noun: str
    editable: frozenset[str]
    check: Check
    recipients: Recipients
    # Who may edit: None for both sides, or a field naming the one side that may.
    owner_field: str | None = None


@dataclass(frozen=True)
class Edit:
    """A revision written, and whether it left the item in conflict."""

    revision: Revision
    conflict: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.revision.as_dict(), "conflict": self.conflict}


def check_fields(kind: Kind, changes: Mapping[str, Any]) -> None:
    unknown = sorted(set(changes) - kind.editable)
    if unknown:
        raise CoordinationError(
            f"{kind.noun}: {', '.join(unknown)} cannot be set here "
            f"(fields: {', '.join(sorted(kind.editable))})"
        )


def create(
    records: Records,
    kind: Kind,
    fields: Mapping[str, Any],
    *,
    tlp: str | None = None,
) -> Revision:
    """Check and write the first revision of a new item."""
    state = kind.check(records, {k: v for k, v in fields.items() if v is not None}, None)
    return records.create(
        kind.type, state, recipients=kind.recipients(records, state), tlp=tlp or "amber"
    )


def _check_owner(records: Records, kind: Kind, item: Item) -> None:
    if kind.owner_field is None:
        return
    owner = item.fields.get(kind.owner_field)
    if owner != records.me:
        raise CoordinationError(f"{item.id}: this {kind.noun} is {owner}'s to change, not ours")


def edit(
    records: Records,
    kind: Kind,
    item_id: str,
    changes: Mapping[str, Any],
    *,
    based_on: str | None = None,
    note: str | None = None,
    tlp: str | None = None,
) -> Edit:
    """Change some fields of an item (None removes one). ``based_on``: the revision the
    user saw; by default the item's only head."""
    check_fields(kind, changes)
    item = records.item(kind.type, item_id)
    _check_owner(records, kind, item)
    if based_on is None:
        if item.conflict:
            raise ConflictError(
                f"{item.id} is in conflict between revisions "
                f"{', '.join(head.id for head in item.heads)}: resolve it first"
            )
        base = item.current
    else:
        found = item.revision(based_on)
        if found is None:
            raise NotFound(f"{based_on}: not a revision of {item.id}")
        base = found
    state = {**base.fields, **changes}
    state = kind.check(records, {k: v for k, v in state.items() if v is not None}, base.fields)
    revision = records.revise(
        item,
        state,
        based_on=[base],
        recipients=kind.recipients(records, state),
        tlp=tlp,
        note=note,
    )
    return Edit(revision, conflict=base.id not in {head.id for head in item.heads})


def conflict(records: Records, kind: Kind, item_id: str) -> Conflict | None:
    return conflict_of(records.item(kind.type, item_id))


def conflicts(records: Records, kinds: Sequence[Kind]) -> list[Conflict]:
    """Every item of these kinds in conflict, oldest item first."""
    found: list[Conflict] = []
    for kind in kinds:
        for item in records.items(kind.type).values():
            shown = conflict_of(item)
            if shown is not None:
                found.append(shown)
    return sorted(found, key=lambda c: (c.item.first.created, c.item.id))


def resolve(
    records: Records,
    kind: Kind,
    item_id: str,
    *,
    take: str | None = None,
    values: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> Revision:
    """End a conflict: a revision based on every head, holding what does not clash merged
    and each clash settled by the head ``take`` or by ``values``."""
    check_fields(kind, values or {})
    item = records.item(kind.type, item_id)
    shown = conflict_of(item)
    if shown is None:
        raise CoordinationError(f"{item.id} is not in conflict: nothing to resolve")
    try:
        state = resolution(shown, take=take, values=values)
    except ValueError as error:
        raise CoordinationError(f"{item.id}: {error}") from None
    state = kind.check(records, state, shown.base.fields if shown.base else None)
    heads = ", ".join(head.id for head in item.heads)
    return records.revise(
        item,
        state,
        based_on=list(item.heads),
        recipients=kind.recipients(records, state),
        note=note or f"resolves the conflict between {heads}",
    )


def history(records: Records, kind: Kind, item_id: str) -> Item:
    """The item with every revision held, for a history view."""
    item = records.item(kind.type, item_id)
    records.consult([r.id for r in item.revisions], f"{kind.noun} history")
    return item


def item_view(records: Records, item: Item) -> dict[str, Any]:
    """An item as the CLI and the JSON API show it."""
    return {
        "id": item.id,
        "type": item.type,
        **dict(item.fields),
        "revision": item.current.id,
        "revisions": len(item.revisions),
        "updated": item.current.created,
        "updated_by": item.current.edited_by,
        "updated_on": records.side_of(item.current.author),
        "created_on": records.side_of(item.first.author),
        "conflict": item.conflict,
        "heads": [head.id for head in item.heads] if item.conflict else [],
    }

"""Joint items as chains of revisions, and the conflicts concurrent edits make.

A joint item (a meeting, an action, a request…) is edited on both sides. STIX lets only an
object's creator version it, and the sync agent refuses a partner's new version of an
object this node created, so each edit is a **new object of the item's type**, created by
the node that made the edit:

- the first revision is the item; its id is the item's id;
- every later revision names the item (``item_ref``) and the revision(s) it was based on
  (``based_on_refs``), and holds the item's full state after the edit.

The revisions of an item form a graph. Its **heads** are the revisions no other revision is
based on. One head: that is the item's state. Several heads: concurrent edits (two
revisions based on the same one, made on both sides before either saw the other): a
**conflict**, shown to users and resolved by a revision based on every head. Nothing is
ever overwritten, so no edit is lost silently. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Properties that describe the revision rather than the item's state.
META_PROPERTIES: frozenset[str] = frozenset(
    {
        "type",
        "spec_version",
        "id",
        "created",
        "modified",
        "created_by_ref",
        "object_marking_refs",
        "granular_markings",
        "extensions",
        "revoked",
        "labels",
        "confidence",
        "lang",
        "external_references",
        "item_ref",
        "based_on_refs",
        "revision_note",
        "edited_by",
    }
)


@dataclass(frozen=True)
class Revision:
    """One revision of a joint item, as stored (ours or received from a partner)."""

    id: str
    type: str
    item_id: str
    based_on: tuple[str, ...]
    created: str
    author: str | None
    edited_by: str | None
    note: str | None
    fields: Mapping[str, Any]
    source: str | None
    object: Mapping[str, Any]

    @classmethod
    def of(cls, obj: Mapping[str, Any], source: str | None = None) -> Revision:
        """The revision a stored STIX object is."""
        based_on = obj.get("based_on_refs") or ()
        return cls(
            id=str(obj["id"]),
            type=str(obj["type"]),
            item_id=str(obj.get("item_ref") or obj["id"]),
            based_on=tuple(str(ref) for ref in based_on),
            created=str(obj.get("created", "")),
            author=obj.get("created_by_ref"),
            edited_by=obj.get("edited_by"),
            note=obj.get("revision_note"),
            fields={k: v for k, v in obj.items() if k not in META_PROPERTIES},
            source=source,
            object=obj,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item_id,
            "based_on": list(self.based_on),
            "created": self.created,
            "author": self.author,
            "edited_by": self.edited_by,
            "note": self.note,
            "source": self.source,
            "fields": dict(self.fields),
        }


@dataclass(frozen=True)
class Item:
    """A joint item: every revision held (oldest first) and the heads among them."""

    id: str
    type: str
    revisions: tuple[Revision, ...]
    heads: tuple[Revision, ...]

    @property
    def conflict(self) -> bool:
        return len(self.heads) > 1

    @property
    def current(self) -> Revision:
        """The newest head: the state shown (flagged as in conflict when there are more)."""
        return self.heads[-1]

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.current.fields

    @property
    def first(self) -> Revision:
        return self.revisions[0]

    def revision(self, revision_id: str) -> Revision | None:
        for revision in self.revisions:
            if revision.id == revision_id:
                return revision
        return None


def _order(revision: Revision) -> tuple[str, str]:
    return (revision.created, revision.id)


def _topological(revisions: list[Revision]) -> list[Revision]:
    """Every revision after the revisions it was based on; otherwise by creation time.

    Clocks of two nodes differ, and two edits may carry the same timestamp: the order of
    the history comes from the ``based_on`` links first."""
    by_id = {revision.id: revision for revision in revisions}
    waiting = {r.id: {b for b in r.based_on if b in by_id and b != r.id} for r in revisions}
    ordered: list[Revision] = []
    while waiting:
        ready = [by_id[i] for i, bases in waiting.items() if not bases]
        if not ready:  # a cycle, which honest nodes cannot make: fall back to time
            ready = [by_id[i] for i in waiting]
        chosen = min(ready, key=_order)
        ordered.append(chosen)
        del waiting[chosen.id]
        for bases in waiting.values():
            bases.discard(chosen.id)
    return ordered


def assemble(revisions: Iterable[Revision]) -> dict[str, Item]:
    """Group revisions into items and find each item's heads."""
    grouped: dict[str, list[Revision]] = {}
    for revision in revisions:
        grouped.setdefault(revision.item_id, []).append(revision)
    items: dict[str, Item] = {}
    for item_id, unordered in grouped.items():
        found = _topological(unordered)
        superseded = {base for revision in found for base in revision.based_on}
        heads = tuple(revision for revision in found if revision.id not in superseded)
        if not heads:  # a cycle, which honest nodes cannot make: show the newest
            heads = (found[-1],)
        items[item_id] = Item(item_id, found[0].type, tuple(found), heads)
    return items


def ancestors(item: Item, revision_id: str) -> set[str]:
    """Every revision ``revision_id`` descends from, itself included (those held)."""
    by_id = {revision.id: revision for revision in item.revisions}
    seen: set[str] = set()
    stack = [revision_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        found = by_id.get(current)
        if found is not None:
            stack.extend(found.based_on)
    return seen & set(by_id)


def common_base(item: Item, heads: Iterable[Revision]) -> Revision | None:
    """The newest revision every one of ``heads`` descends from (None: no common one)."""
    shared: set[str] | None = None
    for head in heads:
        mine = ancestors(item, head.id)
        shared = mine if shared is None else shared & mine
    if not shared:
        return None
    held = [found for r in shared if (found := item.revision(r)) is not None]
    return max(held, key=_order) if held else None


def changes(base: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """What ``fields`` changed from ``base``: new values, None for a removed field."""
    return {
        key: fields.get(key)
        for key in sorted(set(base) | set(fields))
        if fields.get(key) != base.get(key)
    }


@dataclass(frozen=True)
class Conflict:
    """Concurrent edits of one item: what each head changed from their common base, the
    fields where they clash, and the state merging what does not clash would give."""

    item: Item
    base: Revision | None
    changed: dict[str, dict[str, Any]]  # head id -> field -> value
    clashes: dict[str, dict[str, Any]]  # field -> head id -> value
    merged: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.id,
            "type": self.item.type,
            "base": self.base.id if self.base else None,
            "heads": [
                {
                    "id": head.id,
                    "author": head.author,
                    "edited_by": head.edited_by,
                    "created": head.created,
                    "source": head.source,
                    "changed": self.changed[head.id],
                }
                for head in self.item.heads
            ],
            "clashes": self.clashes,
            "merged": self.merged,
        }


def conflict_of(item: Item) -> Conflict | None:
    """The conflict an item is in, or None when it has one head."""
    if not item.conflict:
        return None
    base = common_base(item, item.heads)
    base_fields: Mapping[str, Any] = base.fields if base else {}
    changed = {head.id: changes(base_fields, head.fields) for head in item.heads}
    merged = dict(base_fields)
    clashes: dict[str, dict[str, Any]] = {}
    for name in sorted({key for values in changed.values() for key in values}):
        proposals = {head: values[name] for head, values in changed.items() if name in values}
        distinct = {_key(value) for value in proposals.values()}
        if len(distinct) > 1:
            clashes[name] = proposals
            continue
        value = next(iter(proposals.values()))
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return Conflict(item, base, changed, clashes, merged)


def _key(value: Any) -> str:
    return repr(value)


def resolution(
    conflict: Conflict, *, take: str | None = None, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The state resolving ``conflict``: what does not clash merged, each clash settled by
    the head ``take`` (a head id) or by ``values``. ``ValueError`` naming the fields left
    unsettled, or an unknown head."""
    values = dict(values or {})
    heads = {head.id for head in conflict.item.heads}
    if take is not None and (not isinstance(take, str) or take not in heads):
        raise ValueError(f"{take} is not one of the conflicting revisions: {', '.join(heads)}")
    state = dict(conflict.merged)
    unsettled = []
    for name, proposals in conflict.clashes.items():
        if name in values:
            continue
        if take is not None:
            taken = conflict.item.revision(take)
            chosen = proposals.get(take, taken.fields.get(name) if taken else None)
            if chosen is None:
                state.pop(name, None)
            else:
                state[name] = chosen
            continue
        unsettled.append(name)
    if unsettled:
        raise ValueError(
            "both sides changed "
            + ", ".join(unsettled)
            + ": choose a revision to take (take) or give the values"
        )
    for name, value in values.items():
        if value is None:
            state.pop(name, None)
        else:
            state[name] = value
    return state

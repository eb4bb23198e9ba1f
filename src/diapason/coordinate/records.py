"""Reading and writing the joint mechanism's records through the node's store.

Every write goes through ``store.put_many`` with an audit entry committed in the same
transaction, so the disclosure ledger sees it like any object: a revision made here is
released to the partners named on it at the next exchange round, under the same policy.
Every read made for a person is audited as a consultation.

What a revision carries so that the policy releases it: this node's identity as
``created_by_ref``; a TLP marking (TLP:AMBER by default) and a ``REL TO`` list naming the
partners concerned; an Admiralty A1 grade (the node is the first-hand source of its own
records of meetings, requests and figures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache, cached_property
from typing import Any

from diapason.audit import AuditLog
from diapason.coordinate.revisions import Item, Revision, assemble
from diapason.domain.coordination import FIGURE_TYPE, RFI_TYPE, SCHEMAS
from diapason.domain.extensions import COORDINATION_EXTENSION_IDS, TLP_2_0_IDS
from diapason.domain.grading import grade
from diapason.domain.markings import effective_markings, partner_key, releasability_marking
from diapason.domain.stix import new_object
from diapason.domain.timestamps import stix_timestamp
from diapason.errors import DiapasonError
from diapason.exchange.ledger import Ledger
from diapason.exchange.partners import Partners
from diapason.store.interface import ObjectStore, Query, StoredObject
from diapason.store.read_model import ReadModel

# TLP levels a joint record may carry. TLP:RED would never leave the node without naming
# recipients one object at a time, which defeats a joint record.
TLP_LEVELS: tuple[str, ...] = ("clear", "green", "amber", "amber+strict")
DEFAULT_TLP = "amber"
# Kinds of item only one side may write, and the field that names it.
OWNER_FIELDS = {FIGURE_TYPE: "side", RFI_TYPE: "requester"}


class CoordinationError(DiapasonError, ValueError):
    """A request the joint mechanism refuses; the message names the item, field and why."""

    status = 400


class NotFound(CoordinationError):
    status = 404


class Refused(CoordinationError):
    """Not this node's to do (a partner's figure, a request addressed to someone else)."""

    status = 403


class ConflictError(CoordinationError):
    """The item is in conflict, or closed: the request cannot apply as it stands."""

    status = 409


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Holdings:
    """What the joint records go through: this node's name (the side it speaks for) and
    its organisation's identity, the store and its read model, the audit trail, the
    partners (the other sides) and the ledger (the markings it knows)."""

    name: str
    identity: Callable[[], str | None]
    store: ObjectStore
    read: ReadModel
    audit: AuditLog
    partners: Partners
    ledger: Ledger


@dataclass
class Records:
    """The joint records of one node, for one user.

    ``actor`` is who the audit trail names (``cli:USER``, ``web:USER``); ``editor`` is the
    name recorded on revisions (``edited_by``); ``clock`` gives the current time (tests
    pass a fixed one, to make deadlines pass without waiting).
    """

    holdings: Holdings
    actor: str
    editor: str
    clock: Callable[[], datetime] = field(default=_now)

    # -- who and when ---------------------------------------------------------------------
    @property
    def me(self) -> str:
        """This node's name: the side this node speaks for."""
        return self.holdings.name

    @property
    def identity(self) -> str:
        found = self.holdings.identity()
        if found is None:
            raise CoordinationError("this node has no identity yet: run `diapason init`")
        return found

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def today(self) -> date:
        return self.now().date()

    @cached_property
    def _known(self) -> tuple[list[str], dict[str, str]]:
        # Read once per Records (one command, one HTTP request): listings ask for the side
        # of every revision.
        partners = self.holdings.partners.all()
        sides = {p.identity_id: p.name for p in partners if p.identity_id}
        mine = self.holdings.identity()
        if mine:
            sides[mine] = self.me
        return [self.me, *sorted(p.name for p in partners)], sides

    def partners(self) -> list[str]:
        """The sides this node knows: itself first, then its partners by name."""
        return list(self._known[0])

    def side_of(self, identity_id: str | None) -> str | None:
        """The partner name of an author identity (this node's, or a partner's)."""
        return self._known[1].get(identity_id) if identity_id else None

    def check_partner(self, name: Any, where: str) -> str:
        """``name`` as this node spells the partner; ``CoordinationError`` if unknown."""
        if not isinstance(name, str) or not name.strip():
            raise CoordinationError(f"{where}: a partner name is required")
        known = {partner_key(n): n for n in self.partners()}
        found = known.get(partner_key(name))
        if found is None:
            raise CoordinationError(
                f"{where}: {name!r} is not a known partner (known: {', '.join(known.values())})"
            )
        return found

    # -- reading --------------------------------------------------------------------------
    def stored(self, stix_type: str) -> Iterator[StoredObject]:
        query = Query(types=(stix_type,), limit=1000)
        page = self.holdings.store.query(query)
        while True:
            yield from page.objects
            if page.next_after is None:
                return
            page = self.holdings.store.query(
                Query(types=(stix_type,), limit=1000, after=page.next_after)
            )

    def referring(self, source_type: str, prop: str, target_type: str) -> list[StoredObject]:
        """The current objects of ``source_type`` whose reference ``prop`` (a property path
        such as ``object_refs[0]``) names an object of ``target_type``: one range query on
        the store's reference index, instead of reading every object of the source type (a
        node holds far more notes than answers)."""
        ids = self.holdings.read.referring(source_type, prop, target_type)
        found = (self.holdings.store.get(object_id) for object_id in ids)
        return [stored for stored in found if stored is not None]

    def items(self, stix_type: str) -> dict[str, Item]:
        """Every item of a type held here, ours and partners', assembled from revisions."""
        revisions = [Revision.of(s.object, s.source) for s in self.stored(stix_type)]
        return assemble(self._owned(stix_type, revisions))

    def item(self, stix_type: str, item_id: str) -> Item:
        """One item, from the id of any of its revisions: its revisions are found through
        the store's references (``item_ref``), so this reads that item only."""
        missing = NotFound(
            f"{str(item_id)[:80]}: no {stix_type.removeprefix('x-diapason-')} with this id"
        )
        if not isinstance(item_id, str) or not item_id.startswith(f"{stix_type}--"):
            raise missing
        stored = self.holdings.store.get(item_id)
        if stored is None:
            raise missing
        first = stored.object.get("item_ref")
        root = first if isinstance(first, str) else stored.id
        ids = {root, stored.id} | {
            edge.source_id
            for edge in self.holdings.store.neighbours(root)
            if edge.property == "item_ref" and edge.target_id == root
        }
        revisions = []
        for revision_id in sorted(ids):
            found = self.holdings.store.get(revision_id)
            if found is not None and found.type == stix_type:
                revisions.append(Revision.of(found.object, found.source))
        item = assemble(self._owned(stix_type, revisions)).get(root)
        if item is None:
            raise missing
        return item

    def _owned(self, stix_type: str, revisions: list[Revision]) -> list[Revision]:
        """Drop the revisions a side may not make: a figure is its side's alone, a request
        its requester's (a partner's node could otherwise send a revision of our figure).
        The sync agent stores such objects like any; the joint records ignore them."""
        owner = OWNER_FIELDS.get(stix_type)
        if owner is None:
            return revisions
        roots = {r.id: r for r in revisions if r.id == r.item_id}
        kept = []
        for revision in revisions:
            root = roots.get(revision.item_id)
            claimed = (root or revision).fields.get(owner)
            if claimed is not None and self.side_of(revision.author) == claimed:
                kept.append(revision)
        return kept

    def consult(self, ids: Sequence[str], what: str, **details: Any) -> None:
        """Audit a read made for a person (a listing, one item, a document)."""
        self.holdings.audit.append(
            self.actor, "consult", list(ids), details={"coordination": what, **details}
        )

    def exists(self, object_id: str) -> bool:
        return bool(self.holdings.store.known_ids([object_id]))

    # -- writing --------------------------------------------------------------------------
    def new_object(self, stix_type: str) -> dict[str, Any]:
        """The common properties of a new object this node authors, created now."""
        return new_object(stix_type, created_by_ref=self.identity, now=stix_timestamp(self.now()))

    def tlp_of(self, revision: Revision) -> str:
        markings = effective_markings(revision.object, self.holdings.ledger.context().definitions)
        level = markings.tlp.value if markings.tlp is not None else DEFAULT_TLP
        return level if level in TLP_LEVELS else DEFAULT_TLP

    def create(
        self,
        stix_type: str,
        fields: Mapping[str, Any],
        *,
        recipients: Iterable[str],
        tlp: str = DEFAULT_TLP,
        note: str | None = None,
    ) -> Revision:
        """Write the first revision of a new item."""
        return self._write(stix_type, fields, None, (), recipients, tlp, note)

    def revise(
        self,
        item: Item,
        fields: Mapping[str, Any],
        *,
        based_on: Sequence[Revision],
        recipients: Iterable[str],
        tlp: str | None = None,
        note: str | None = None,
    ) -> Revision:
        """Write a revision of ``item`` based on ``based_on`` holding the state ``fields``."""
        tlp = tlp or self.tlp_of(based_on[-1])
        ids = tuple(revision.id for revision in based_on)
        return self._write(item.type, fields, item.id, ids, recipients, tlp, note)

    def _write(
        self,
        stix_type: str,
        fields: Mapping[str, Any],
        item_id: str | None,
        based_on: tuple[str, ...],
        recipients: Iterable[str],
        tlp: str,
        note: str | None,
    ) -> Revision:
        if not isinstance(tlp, str) or tlp not in TLP_LEVELS:
            raise CoordinationError(f"tlp: {tlp!r} is not one of {', '.join(TLP_LEVELS)}")
        names = sorted({self.me, *recipients}, key=partner_key)
        rel_to = releasability_marking(names)
        obj: dict[str, Any] = {
            **self.new_object(stix_type),
            **{k: v for k, v in fields.items() if v is not None},
            "edited_by": self.editor,
            "object_marking_refs": [TLP_2_0_IDS[tlp], rel_to["id"]],
            "extensions": {COORDINATION_EXTENSION_IDS[stix_type]: {"extension_type": "new-sdo"}},
        }
        if item_id is not None:
            obj["item_ref"] = item_id
            obj["based_on_refs"] = list(based_on)
        if note:
            obj["revision_note"] = note
        check_schema(obj)
        obj = grade(obj, "admiralty", "A", "1")
        action = "create" if item_id is None else "update"

        def audit(connection: Any, written: list[str]) -> None:
            self.holdings.audit.append(
                self.actor,
                action,
                written,
                details={
                    "coordination": stix_type,
                    "item": item_id or obj["id"],
                    "based_on": list(based_on),
                },
                connection=connection,
            )

        report = self.holdings.store.put_many([rel_to, obj], source="local", on_write=audit)
        if report.refused:
            raise CoordinationError(f"{obj['id']}: refused by the store: {report.refused[0]}")
        return Revision.of(obj, "local")

    def put_object(self, obj: dict[str, Any], markings: Iterable[dict[str, Any]] = ()) -> None:
        """Write one standard STIX object (an opinion, a note, a report) with its marking
        definitions, audited as a creation."""

        def audit(connection: Any, written: list[str]) -> None:
            self.holdings.audit.append(
                self.actor,
                "create",
                written,
                details={"coordination": obj["type"]},
                connection=connection,
            )

        report = self.holdings.store.put_many([*markings, obj], source="local", on_write=audit)
        if report.refused:
            raise CoordinationError(f"{obj['id']}: refused by the store: {report.refused[0]}")

    def markings_for(self, recipients: Iterable[str], tlp: str) -> tuple[list[str], dict[str, Any]]:
        """``object_marking_refs`` for a standard object shared with ``recipients``, and the
        ``REL TO`` marking-definition to store with it."""
        if not isinstance(tlp, str) or tlp not in TLP_LEVELS:
            raise CoordinationError(f"tlp: {tlp!r} is not one of {', '.join(TLP_LEVELS)}")
        rel_to = releasability_marking(sorted({self.me, *recipients}, key=partner_key))
        return [TLP_2_0_IDS[tlp], rel_to["id"]], rel_to


@cache
def _validator(stix_type: str) -> Any:
    # Imported on first use: jsonschema takes seconds to import (its format checkers), and
    # most commands never write a joint record.
    import jsonschema  # type: ignore[import-untyped]

    return jsonschema.Draft202012Validator(SCHEMAS[stix_type])


def check_schema(obj: Mapping[str, Any]) -> None:
    """Check a revision against its extension-definition's schema: one precise error."""
    validator = _validator(str(obj["type"]))
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(part) for part in first.absolute_path) or "(object)"
        kind = str(obj["type"]).removeprefix("x-diapason-")
        raise CoordinationError(f"{kind}: field {where}: {first.message}")

"""The storage interface every implementation honours, and the values it exchanges.

Modelled on pypi/warehouse's ``interfaces.py``: callers depend on ``ObjectStore``; the
contract test suite (``tests/store/test_contract.py``) runs against every implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from diapason.domain.stix import Problem
from diapason.domain.trust import Sender


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One stored version of a STIX object, with what the store knows about it."""

    seq: int
    id: str
    type: str
    modified: str
    date_added: str
    revoked: bool
    current: bool
    source: str | None
    object: dict[str, Any]


@dataclass
class PutReport:
    """What a ``put_many`` did with each object it was given."""

    written: list[str] = field(default_factory=list)  # new versions stored
    unchanged: list[str] = field(default_factory=list)  # versions already held, identical
    refused: list[Problem] = field(default_factory=list)
    # (position, id, normalised modified) of every accepted version, written or unchanged.
    versions: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.written) + len(self.unchanged)

    def merge(self, other: PutReport) -> None:
        self.written.extend(other.written)
        self.unchanged.extend(other.unchanged)
        self.refused.extend(other.refused)
        self.versions.extend(other.versions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": len(self.written),
            "unchanged": len(self.unchanged),
            "refused": [problem.as_dict() for problem in self.refused],
        }


TimeField = Literal["created", "modified", "date_added"]


@dataclass(frozen=True)
class Query:
    """A listing of current objects; every filter is optional and they combine with AND."""

    types: tuple[str, ...] = ()
    created_by: str | None = None
    marking: str | None = None
    text: str | None = None
    time_field: TimeField = "modified"
    since: str | None = None  # inclusive, normalised timestamp
    until: str | None = None  # exclusive, normalised timestamp
    include_revoked: bool = False
    limit: int = 100
    after: int | None = None  # keyset cursor: the ``seq`` of the last row already seen


@dataclass(frozen=True)
class Page:
    objects: list[StoredObject]
    next_after: int | None  # pass as ``Query.after`` for the next page; None at the end


@dataclass(frozen=True, slots=True)
class Edge:
    source_id: str
    property: str
    target_id: str


@dataclass(frozen=True, slots=True)
class Tombstone:
    seq: int
    object_id: str
    type: str
    deleted_at: str
    actor: str
    reason: str


class ObjectStore(Protocol):
    """Every version of every STIX object, its markings, its references, and text search."""

    dialect: str
    max_object_bytes: int  # the largest object ``put_many`` accepts, in bytes of JSON
    batch_chars: int  # a write transaction ends once it holds this many characters of JSON

    def put_many(
        self,
        objects: Iterable[Any],
        *,
        source: str | None = None,
        start_index: int = 0,
        on_write: Callable[[Any, list[str]], None] | None = None,
        sender: Sender | None = None,
    ) -> PutReport:
        """Validate and write objects; idempotent per ``(id, modified)``.

        ``sender`` says who speaks (this node or one partner; by default what ``source``
        tells): the trust rules of ``domain/trust.py`` refuse, in the write's transaction,
        what that sender may not say.

        ``on_write(connection, ids)`` runs inside each batch's transaction with the ids it
        wrote, so what it records (an audit entry) commits with the batch, or not at all.

        Each object is accepted or refused on its own: a refused one is reported (position,
        id, field, reason) and nothing of it is written, the others are written.
        """
        ...

    def get(self, object_id: str) -> StoredObject | None:
        """The current version (newest by ``modified``), revoked or not."""
        ...

    def get_version(self, object_id: str, modified: str) -> StoredObject | None: ...

    def versions(self, object_id: str) -> list[StoredObject]:
        """Every version, oldest first."""
        ...

    def query(self, query: Query) -> Page: ...

    def provenance(self, ids: Sequence[str]) -> list[tuple[str, str, str | None, str | None]]:
        """``(id, modified, source, created_by_ref)`` of every version held of these ids."""
        ...

    def known_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these ids the store holds a version of."""
        ...

    def count(self, *, include_revoked: bool = False) -> int:
        """How many objects have a current version."""
        ...

    def neighbours(self, object_id: str) -> list[Edge]:
        """Edges leaving or reaching the object (references of current versions)."""
        ...

    def delete(self, object_id: str, *, actor: str, reason: str) -> Tombstone | None:
        """Erase every version and leave a tombstone; None if the object is unknown."""
        ...

    def tombstones(self, after: int = 0, limit: int = 1000) -> list[Tombstone]: ...

    def close(self) -> None: ...

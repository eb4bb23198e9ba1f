"""Resolution against the knowledge base: an entity of an article that the store already
holds (same name or alias, or a close spelling) keeps the stored object's id.

The index is read once per ingestion session from the current identity, location,
intrusion-set and threat-actor objects, and grows with what the session writes. Exact
matches (case and accents aside) on name or alias come first; then, for persons and
organisations, the closest stored name of the same kind by rapidfuzz's token-sort ratio,
accepted at 92/100 or more ("Abdelouafi Laftit" / "Abdelouahed Laftit" is not accepted;
"Direction Generale de la Surete Nationale" is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from diapason.osint.gazetteer import normalise
from diapason.store.interface import ObjectStore, Query

KB_TYPES = ("identity", "location", "intrusion-set", "threat-actor")
FUZZY_CUTOFF = 92.0


@dataclass
class KnowledgeBase:
    """Names and aliases of stored entities -> their ids, per STIX type."""

    exact: dict[tuple[str, str], str] = field(default_factory=dict)
    names: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # type -> (name, id)

    @classmethod
    def from_store(cls, store: ObjectStore, limit: int = 200_000) -> KnowledgeBase:
        """Read the entities the store holds (current versions, not revoked)."""
        base = cls()
        after: int | None = None
        seen = 0
        while seen < limit:
            page = store.query(Query(types=KB_TYPES, limit=1000, after=after))
            for stored in page.objects:
                base.add(stored.object)
            seen += len(page.objects)
            if page.next_after is None:
                break
            after = page.next_after
        return base

    def add(self, obj: dict[str, Any]) -> None:
        """Index one stored (or just written) object."""
        name = obj.get("name")
        if not isinstance(name, str) or obj.get("identity_class") == "system":
            return
        kind = _kind(obj)
        forms = [name, *(a for a in obj.get("aliases", []) if isinstance(a, str))]
        for form in forms:
            self.exact.setdefault((kind, normalise(form)), obj["id"])
        self.names.setdefault(kind, []).append((normalise(name), obj["id"]))

    def find(self, kind: str, name: str, aliases: list[str], fuzzy: bool) -> str | None:
        """The id of the stored entity of ``kind`` called ``name`` (or one of ``aliases``)."""
        for form in (name, *aliases):
            found = self.exact.get((kind, normalise(form)))
            if found is not None:
                return found
        if not fuzzy or len(name) < 6 or not self.names.get(kind):
            return None
        choices = self.names[kind]
        best = process.extractOne(
            normalise(name),
            [stored for stored, _ in choices],
            scorer=fuzz.token_sort_ratio,
            score_cutoff=FUZZY_CUTOFF,
        )
        return choices[best[2]][1] if best is not None else None


def _kind(obj: dict[str, Any]) -> str:
    """Persons and organisations are both identities but never match each other."""
    if obj["type"] == "identity":
        return f"identity:{obj.get('identity_class', 'unknown')}"
    return str(obj["type"])

"""What the article page shows of an ingested article, kept when the article is ingested.

The page highlights the entities and events of the article's text and lists them. Working
them out again takes the language model, whose loading alone costs 9-11 s the first time
in a process; ingest has them at hand. So ingest keeps an :class:`ArticleView` (offsets in
the article's text, the object each entity was resolved to) in the node's ``node_meta``
table under ``osint-view:<report id>``, and the page reads it. An article ingested before
views were kept (or whose view cannot be read) is analysed again when first shown, its view
kept then; a correction of the gazetteer analyses the article again and replaces its view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from diapason.osint.pipeline import Analysis
from diapason.osint.stix_objects import entity_id
from diapason.store.node_meta import NodeMeta

KEY_PREFIX = "osint-view:"
VERSION = 1


@dataclass(frozen=True)
class ViewEntity:
    """One entity: its mentions as ``(start, end)`` offsets and the id of its object (the
    knowledge base's object it was resolved to, else the id ingest gives it)."""

    type: str
    canonical: str
    country: str | None
    surfaces: tuple[str, ...]
    mentions: tuple[tuple[int, int], ...]
    object_id: str


@dataclass(frozen=True)
class ViewEvent:
    """One event; ``start`` is the offset of its sentence in the text (None: not found)."""

    plover: str
    mode: str | None
    day: str | None
    place: str | None
    actors: tuple[str, ...]
    targets: tuple[str, ...]
    sentence: str
    start: int | None


@dataclass(frozen=True)
class ArticleView:
    language: str
    analysed: bool
    entities: tuple[ViewEntity, ...]
    events: tuple[ViewEvent, ...]

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "version": VERSION,
                "language": self.language,
                "analysed": self.analysed,
                "entities": [
                    [e.type, e.canonical, e.country, e.surfaces, e.mentions, e.object_id]
                    for e in self.entities
                ],
                "events": [
                    [e.plover, e.mode, e.day, e.place, e.actors, e.targets, e.sentence, e.start]
                    for e in self.events
                ],
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> ArticleView | None:
        """The view written by :meth:`to_json`; None if it is not one (an older form)."""
        try:
            value: Any = orjson.loads(text)
            if value.get("version") != VERSION:
                return None
            return cls(
                str(value["language"]),
                bool(value["analysed"]),
                tuple(
                    ViewEntity(
                        kind,
                        canonical,
                        country,
                        tuple(surfaces),
                        tuple((int(s), int(e)) for s, e in mentions),
                        object_id,
                    )
                    for kind, canonical, country, surfaces, mentions, object_id in value["entities"]
                ),
                tuple(
                    ViewEvent(
                        plover, mode, day, place, tuple(actors), tuple(targets), sentence, start
                    )
                    for plover, mode, day, place, actors, targets, sentence, start in value[
                        "events"
                    ]
                ),
            )
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            return None


def article_view(
    analysis: Analysis,
    ids: Mapping[int, str] | None = None,
    earlier: ArticleView | None = None,
) -> ArticleView:
    """The view of ``analysis``. ``ids``: the object id ingest resolved each entity to (by
    ``id(entity)``); else the id of an entity of the same type and name in ``earlier``,
    else the entity's own id."""
    known = {(e.type, e.canonical): e.object_id for e in earlier.entities} if earlier else {}
    text = analysis.article.text
    entities = tuple(
        ViewEntity(
            entity.type,
            entity.canonical,
            entity.country,
            tuple(entity.surfaces),
            tuple((m.start, m.end) for m in entity.mentions),
            (ids or {}).get(id(entity))
            or known.get((entity.type, entity.canonical))
            or entity_id(entity),
        )
        for entity in analysis.entities
    )
    events: list[ViewEvent] = []
    for event in analysis.events:
        start = text.find(event.sentence, max(0, event.trigger[1] - len(event.sentence)))
        events.append(
            ViewEvent(
                event.plover,
                event.mode,
                event.day.isoformat() if event.day else None,
                event.place.canonical if event.place else None,
                tuple(a.canonical for a in event.actors),
                tuple(t.canonical for t in event.targets),
                event.sentence,
                start if event.sentence and start >= 0 else None,
            )
        )
    return ArticleView(analysis.language, analysis.analysed, entities, tuple(events))


class ArticleViews:
    """The kept views, in ``node_meta``."""

    def __init__(self, facts: NodeMeta) -> None:
        self.facts = facts

    def get(self, report_id: str) -> ArticleView | None:
        text = self.facts.get(KEY_PREFIX + report_id)
        return ArticleView.from_json(text) if text is not None else None

    def put(self, report_id: str, view: ArticleView) -> None:
        self.facts.set(KEY_PREFIX + report_id, view.to_json())

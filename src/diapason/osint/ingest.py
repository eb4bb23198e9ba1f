"""Ingesting articles into a node: analysis, resolution, STIX objects, one audited write.

Entry points for callers (the CLI, later the web interface):

- :meth:`Ingestor.ingest_text` — one article given as text (markdown, plain text or HTML);
- :class:`Ingestor` — a session that ingests many articles, reading the knowledge base and
  the duplicate index once;
- :class:`IngestResult` — what happened, the STIX objects, and the entity spans (offsets in
  ``IngestResult.text``, label, resolved object id) an article view can highlight.

An article is written whole or not at all: its objects and the audit entry commit in one
transaction. Ingesting the same article again writes nothing (deterministic ids, and objects
already held are not rewritten).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diapason.audit import AuditLog
from diapason.domain.extensions import (
    DIAPASON_IDENTITY_ID,
    EVENT_EXTENSION_ID,
    diapason_id,
    extension_definitions,
)
from diapason.domain.stix import Memo, Problem, prepare
from diapason.domain.timestamps import stix_now
from diapason.osint.article import Article, ArticleError, parse_bytes
from diapason.osint.dedup import DuplicateIndex, signature
from diapason.osint.entities import Entity
from diapason.osint.gazetteer import Gazetteer, load_gazetteer
from diapason.osint.nlp import MODEL, french
from diapason.osint.pipeline import Analysis, analyse
from diapason.osint.resolve import KnowledgeBase
from diapason.osint.stix_objects import (
    entity_id,
    entity_object,
    entity_stix_type,
    event_object,
    recipient_relationship,
    relationship,
    report_id_for,
    report_object,
)
from diapason.osint.view import ArticleView, ArticleViews, article_view
from diapason.store.interface import ObjectStore

SOURCE = "osint"
DUPLICATE_LABEL = "duplicate"


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """An entity mention to highlight: ``text[start:end]`` of the analysed article text."""

    start: int
    end: int
    surface: str
    label: str  # PER, ORG, LOC, GROUP
    canonical: str
    object_id: str | None  # the STIX object it was resolved to, None if none was made

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "surface": self.surface,
            "label": self.label,
            "canonical": self.canonical,
            "object_id": self.object_id,
        }


@dataclass
class IngestResult:
    """The outcome of ingesting one article.

    ``status``: ``written`` (new objects stored), ``unchanged`` (already ingested),
    ``duplicate`` (a near-duplicate of ``duplicate_of``: its report is stored and linked,
    its events are not stored again), ``refused`` (``error`` says why; nothing written).
    """

    origin: str
    status: str
    report_id: str | None = None
    title: str = ""
    language: str = "und"
    published: str | None = None
    topics: list[str] = field(default_factory=list)
    text: str = ""
    spans: list[EntitySpan] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    events: int = 0
    entities: int = 0
    duplicate_of: str | None = None
    error: str | None = None
    view: ArticleView | None = None  # what the article page shows (``osint/view.py``)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no article text, no objects)."""
        return {
            "origin": self.origin,
            "status": self.status,
            "report": self.report_id,
            "title": self.title,
            "language": self.language,
            "published": self.published,
            "topics": self.topics,
            "entities": self.entities,
            "events": self.events,
            "written": len(self.written),
            "duplicate_of": self.duplicate_of,
            "error": self.error,
        }


class Ingestor:
    """Ingests articles into ``store`` as ``actor`` (recorded in ``audit``), authored by
    this node's organisation (``identity``); the gazetteer corrections live in
    ``data_dir``; each article's view is kept in ``views`` (when given).

    The gazetteer (with the node's corrections), the knowledge-base index and the duplicate
    index are loaded on first use and kept for the session.
    """

    def __init__(
        self,
        store: ObjectStore,
        audit: AuditLog,
        data_dir: Path,
        identity: Callable[[], str | None],
        actor: str,
        propose: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        views: ArticleViews | None = None,
    ) -> None:
        self.store = store
        self.views = views
        self.audit = audit
        self.data_dir = data_dir
        self.identity = identity
        self.actor = actor
        # Adds to a person record the data-protection metadata proposed for it
        # (Node.propose_protection); an analyst confirms it on the article page.
        self.propose = propose
        self._gazetteer: Gazetteer | None = None
        self._kb: KnowledgeBase | None = None
        self._duplicates: DuplicateIndex | None = None
        self._span_keys: list[int] = []

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gazetteer is None:
            self._gazetteer = load_gazetteer(self.data_dir)
        return self._gazetteer

    def load(self, say: Callable[[str], None], *, model: bool = True) -> None:
        """Load now what the first article would wait for, calling ``say`` before each
        step (a command shows it): the gazetteer, the knowledge base and the duplicate
        index, and (``model``) the French language model."""
        say("loading the gazetteer")
        self.gazetteer  # noqa: B018 - loaded on first use
        say("reading the knowledge base")
        self._prepare()
        if model:
            say(f"loading the language model ({MODEL})")
            french()

    def _prepare(self) -> tuple[KnowledgeBase, DuplicateIndex]:
        if self._kb is None or self._duplicates is None:
            # Nodes initialised before the event extension existed get it now.
            if not self.store.known_ids([EVENT_EXTENSION_ID]):
                wanted = [d for d in extension_definitions() if d["id"] == EVENT_EXTENSION_ID]
                self.store.put_many(wanted, source="diapason")
            self._kb = KnowledgeBase.from_store(self.store)
            self._duplicates = DuplicateIndex.from_store(self.store)
        return self._kb, self._duplicates

    def ingest_text(
        self, text: str, *, origin: str = "text", language: str | None = None
    ) -> IngestResult:
        """Ingest one article given as text (markdown like the seed, plain text or HTML)."""
        return self.ingest_bytes(text.encode("utf-8"), origin, language)

    def ingest_bytes(self, data: bytes, origin: str, language: str | None = None) -> IngestResult:
        """Parse and ingest one file's content; bad input gives a ``refused`` result."""
        try:
            article = parse_bytes(data, origin)
        except ArticleError as error:
            return IngestResult(origin, "refused", error=str(error))
        return self.ingest_article(article, language)

    def ingest_article(self, article: Article, language: str | None = None) -> IngestResult:
        """Analyse ``article`` and write its objects (see the module's docstring)."""
        kb, duplicates = self._prepare()
        analysis = analyse(article, self.gazetteer, language)
        result = IngestResult(
            article.origin,
            "written",
            report_id_for(analysis),
            article.title,
            analysis.language,
            article.published.isoformat() if article.published else None,
            list(analysis.topics),
            article.text,
        )
        if self.store.known_ids([result.report_id or ""]):
            stored = self.store.get(result.report_id or "")
            result.status = "unchanged"
            result.objects = [stored.object] if stored is not None else []
            result.view = article_view(analysis, self._spans(analysis, kb, result))
            # An article ingested before views were kept gets its view now.
            if self.views is not None and self.views.get(result.report_id or "") is None:
                self.views.put(result.report_id or "", result.view)
            return result
        minhash = signature(article.body)
        original = duplicates.original_of(result.report_id or "", minhash)
        objects = self._build(analysis, kb, result, original[0] if original else None)
        result.objects = objects
        result.entities = len(analysis.entities)
        result.events = 0 if original else len(analysis.events)
        if original:
            result.status = "duplicate"
            result.duplicate_of = original[0]
        held = self.store.known_ids([obj["id"] for obj in objects])
        fresh = [obj for obj in objects if obj["id"] not in held]
        if self.propose is not None:
            fresh = [self.propose(obj) for obj in fresh]
        # The store accepts or refuses objects one by one: check them all first, so that an
        # article is written whole or not at all.
        limit = self.store.max_object_bytes
        memo = Memo()
        for index, obj in enumerate(fresh):
            checked = prepare(obj, index, limit, memo)
            if isinstance(checked, Problem):
                result.status = "refused"
                result.error = f"{article.origin}: {checked}"
                return result
        details = {"origin": article.origin, "report": result.report_id, "objects": len(fresh)}

        def audit(connection: Any, written: list[str]) -> None:
            self.audit.append(self.actor, "ingest", written, details=details, connection=connection)

        report = self.store.put_many(fresh, source=SOURCE, on_write=audit)
        result.written = list(report.written)
        if self.views is not None and result.view is not None:
            self.views.put(result.report_id or "", result.view)
        for obj in fresh:
            kb.add(obj)
        if original is None:
            # Only originals are indexed: a later rewrite links to the first telling.
            duplicates.add(result.report_id or "", article.body, minhash)
        return result

    def _build(
        self,
        analysis: Analysis,
        kb: KnowledgeBase,
        result: IngestResult,
        duplicate_of: str | None,
    ) -> list[dict[str, Any]]:
        timestamp = stix_now()
        author = self.identity()
        ids = self._spans(analysis, kb, result)
        objects: dict[str, dict[str, Any]] = {}
        for entity in analysis.entities:
            object_id = ids.get(id(entity))
            if object_id is None or object_id in objects:
                continue
            if object_id != entity_id(entity):
                continue  # already in the knowledge base: referenced, not rewritten
            made = entity_object(entity, object_id, self.gazetteer, timestamp, author)
            if made is None:
                ids.pop(id(entity))
                continue
            objects[object_id] = made
        relationships: list[dict[str, Any]] = []
        report_id = result.report_id or ""
        if duplicate_of is None:
            for number, event in enumerate(analysis.events):
                event_id = diapason_id("x-diapason-event", f"osint:{report_id}:{number}")
                objects[event_id] = event_object(event, event_id, analysis, ids, timestamp, author)
                for actor in event.actors:
                    if id(actor) in ids:
                        relationships.append(
                            relationship(
                                ids[id(actor)], "x-diapason-acts-in", event_id, timestamp, author
                            )
                        )
                for target in event.targets:
                    if id(target) in ids:
                        relationships.append(
                            relationship(
                                ids[id(target)],
                                recipient_relationship(event.plover),
                                event_id,
                                timestamp,
                                author,
                            )
                        )
                if event.place is not None and id(event.place) in ids:
                    relationships.append(
                        relationship(
                            event_id, "located-at", ids[id(event.place)], timestamp, author
                        )
                    )
        else:
            relationships.append(
                relationship(report_id, "x-diapason-duplicate-of", duplicate_of, timestamp, author)
            )
        for entity in analysis.entities:
            if entity.type in ("PER", "ORG") and entity.country and id(entity) in ids:
                country = self.gazetteer.country_entry(entity.country)
                if country is None:
                    continue
                place = Entity("LOC", country.canonical, country.country, entry=country)
                place_id = kb.find("location", place.canonical, [], fuzzy=False) or entity_id(place)
                if place_id == entity_id(place) and place_id not in objects:
                    made = entity_object(place, place_id, self.gazetteer, timestamp, author)
                    if made is not None:
                        objects[place_id] = made
                relationships.append(
                    relationship(ids[id(entity)], "located-at", place_id, timestamp, author)
                )
        result.spans = [
            EntitySpan(s.start, s.end, s.surface, s.label, s.canonical, ids.get(key))
            for s, key in zip(result.spans, self._span_keys, strict=True)
        ]
        result.view = article_view(analysis, ids)
        unique_relationships = {r["id"]: r for r in relationships}
        body = [*objects.values(), *unique_relationships.values()]
        refs = [obj["id"] for obj in body]
        if duplicate_of is not None:
            refs.append(duplicate_of)
        referenced = [*{ref: None for ref in refs}] or [author or DIAPASON_IDENTITY_ID]
        report = report_object(analysis, referenced, timestamp, author)
        if duplicate_of is not None:
            report["labels"] = [*report["labels"], DUPLICATE_LABEL]
        return [report, *body]

    def _spans(self, analysis: Analysis, kb: KnowledgeBase, result: IngestResult) -> dict[int, str]:
        """Resolve every entity to a STIX id and record the spans to highlight."""
        ids: dict[int, str] = {}
        for entity in analysis.entities:
            kind = entity_stix_type(entity)
            if kind == "identity":
                kind = f"identity:{'individual' if entity.type == 'PER' else 'organization'}"
            found = kb.find(
                kind, entity.canonical, entity.surfaces, fuzzy=entity.type in ("PER", "ORG")
            )
            ids[id(entity)] = found or entity_id(entity)
        pairs = sorted(
            (
                (
                    EntitySpan(
                        m.start,
                        m.end,
                        m.surface,
                        entity.type,
                        entity.canonical,
                        ids.get(id(entity)),
                    ),
                    id(entity),
                )
                for entity in analysis.entities
                for m in entity.mentions
            ),
            key=lambda pair: pair[0].start,
        )
        result.spans = [span for span, _ in pairs]
        self._span_keys = [key for _, key in pairs]
        result.entities = len(analysis.entities)
        return ids

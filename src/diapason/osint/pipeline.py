"""The analysis of one article, without any storage: language, entities, dates, places,
events and topics. :func:`analyse` is what ``ingest`` and the evaluation both run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from diapason.osint.article import Article
from diapason.osint.dates import DateMention, find_dates
from diapason.osint.entities import Entity, extract_entities
from diapason.osint.events import Event, code_events
from diapason.osint.gazetteer import Gazetteer
from diapason.osint.language import ANALYSED, identify
from diapason.osint.nlp import analyse_french, sentences
from diapason.osint.topics import classify

# Sentence ends for the languages analysed without spaCy: a full stop, question or
# exclamation mark followed by a space and a capital, or a paragraph break.
_SENTENCE = re.compile(r"(?<=[.!?»\"”])\s+(?=[A-ZÀ-ÖØ-Þ«\"“])|\n\s*\n")


@dataclass
class Analysis:
    """What the pipeline found in an article. Offsets refer to ``article.text`` (the title,
    a blank line, then the body)."""

    article: Article
    language: str
    entities: list[Entity] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    @property
    def analysed(self) -> bool:
        """Whether the language was analysed (French, English); other articles are kept
        and searchable, without entities or events."""
        return self.language in ANALYSED


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text`` by punctuation (languages without spaCy)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def analyse(article: Article, gazetteer: Gazetteer, language: str | None = None) -> Analysis:
    """Analyse ``article``; ``language`` overrides identification (ISO 639-1)."""
    text = article.text
    language = language or identify(text)
    analysis = Analysis(article, language)
    if language not in ANALYSED:
        analysis.topics = ["none"]
        return analysis
    doc = analyse_french(text) if language == "fr" else None
    spans = sentences(doc) if doc is not None else split_sentences(text)
    # Paragraph breaks always end a sentence (spaCy sometimes runs a title into the body).
    spans = [piece for span in spans for piece in _split_paragraphs(text, span)]
    analysis.entities = extract_entities(text, language, gazetteer, doc)
    published = article.published
    analysis.dates = find_dates(text, published) if published is not None else []
    body_start = len(article.title) + 2 if article.title else 0
    analysis.events = code_events(
        text, spans, body_start, language, analysis.entities, analysis.dates, published
    )
    analysis.topics = classify((text[s:e] for s, e in spans), analysis.events)
    return analysis


def _split_paragraphs(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    start, end = span
    pieces: list[tuple[int, int]] = []
    for match in re.finditer(r"\n\s*\n", text[start:end]):
        pieces.append((start, span[0] + match.start()))
        start = span[0] + match.end()
    pieces.append((start, end))
    return [piece for piece in pieces if piece[1] > piece[0]]


def event_date(event: Event, published: date | None) -> date | None:
    """The event's day, or the publication date when the text gives none."""
    return event.day or published

"""Scoring the pipeline against annotated articles (``diapason eval osint GOLD_DIR``).

The gold format is that of the annotated corpus (``articles/NN.md`` and ``gold/NN.json``:
entities with their mentions, PLOVER events, topics, duplicate links). Scores:

- **entities**: an entity found matches a gold entity of the same type when they share a
  surface form (one-to-one); precision, recall and F1 per type and overall. Plain spaCy NER
  (``fr_core_news_sm``, its entities grouped by identical text, MISC left out) is scored the
  same way in the same run, as the baseline;
- **events**: gold events matched one-to-one with found events of the same PLOVER type (the
  same date preferred); event type accuracy is matched gold events over gold events, and
  precision matched over found; mode, date and place accuracy are measured on the matched
  pairs (a place matches when it is the gold place's entity, or both are none);
- **topics**: micro precision, recall and F1 over (article, topic) pairs;
- **duplicates**: the articles linked to an earlier one, against the gold links.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diapason.osint.article import read_article
from diapason.osint.dedup import DuplicateIndex, signature
from diapason.osint.entities import Entity
from diapason.osint.gazetteer import Gazetteer, normalise
from diapason.osint.nlp import analyse_french, spacy_entities
from diapason.osint.pipeline import Analysis, analyse, event_date

TYPES = ("PER", "ORG", "LOC", "GROUP")


class GoldError(ValueError):
    """A gold folder that is not in the corpus format."""


@dataclass
class Counts:
    """True positives, and how many were found and expected."""

    matched: int = 0
    found: int = 0
    expected: int = 0

    def add(self, other: Counts) -> None:
        self.matched += other.matched
        self.found += other.found
        self.expected += other.expected

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "matched": self.matched,
            "found": self.found,
            "expected": self.expected,
        }


@dataclass
class Scores:
    """Every score of one evaluation run."""

    articles: int = 0
    entities: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})
    baseline: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})
    events: Counts = field(default_factory=Counts)
    modes: Counts = field(default_factory=Counts)  # matched = right mode, found = pairs
    dates: Counts = field(default_factory=Counts)
    places: Counts = field(default_factory=Counts)
    topics: Counts = field(default_factory=Counts)
    duplicates: Counts = field(default_factory=Counts)
    # Entities of all types, per article language (English is rules only, see docs/osint.md).
    by_language: dict[str, Counts] = field(default_factory=dict)
    baseline_by_language: dict[str, Counts] = field(default_factory=dict)

    @staticmethod
    def total(counts: dict[str, Counts]) -> Counts:
        result = Counts()
        for value in counts.values():
            result.add(value)
        return result

    def rows(self) -> list[tuple[str, str, str]]:
        """(metric, pipeline, baseline) rows of the summary table."""
        rows: list[tuple[str, str, str]] = []
        for kind in TYPES:
            ours, base = self.entities[kind], self.baseline[kind]
            rows.append(
                (
                    f"entities {kind} P/R/F1",
                    f"{ours.precision:.2f} / {ours.recall:.2f} / {ours.f1:.2f}",
                    f"{base.precision:.2f} / {base.recall:.2f} / {base.f1:.2f}",
                )
            )
        ours, base = self.total(self.entities), self.total(self.baseline)
        rows.append(
            (
                "entities all P/R/F1",
                f"{ours.precision:.2f} / {ours.recall:.2f} / {ours.f1:.2f}",
                f"{base.precision:.2f} / {base.recall:.2f} / {base.f1:.2f}",
            )
        )
        for language in sorted(self.by_language):
            ours = self.by_language[language]
            base = self.baseline_by_language.get(language, Counts())
            rows.append(
                (
                    f"entities, {language} articles, F1",
                    f"{ours.f1:.2f}",
                    f"{base.f1:.2f}" if base.expected else "-",
                )
            )
        rows.append(("event type accuracy", f"{self.events.recall:.2f}", "-"))
        rows.append(("event precision", f"{self.events.precision:.2f}", "-"))
        rows.append(("event mode accuracy (matched)", _share(self.modes), "-"))
        rows.append(("event date accuracy (matched)", _share(self.dates), "-"))
        rows.append(("event place accuracy (matched)", _share(self.places), "-"))
        rows.append(
            (
                "topics P/R/F1",
                f"{self.topics.precision:.2f} / {self.topics.recall:.2f} / {self.topics.f1:.2f}",
                "-",
            )
        )
        dup = self.duplicates
        rows.append(
            (
                "duplicate links found / right / gold",
                f"{dup.found} / {dup.matched} / {dup.expected}",
                "-",
            )
        )
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "entities": {k: v.as_dict() for k, v in self.entities.items()}
            | {"all": self.total(self.entities).as_dict()},
            "baseline_spacy": {k: v.as_dict() for k, v in self.baseline.items()}
            | {"all": self.total(self.baseline).as_dict()},
            "entities_by_language": {k: v.as_dict() for k, v in self.by_language.items()},
            "baseline_by_language": {k: v.as_dict() for k, v in self.baseline_by_language.items()},
            "event_type_accuracy": round(self.events.recall, 3),
            "events": self.events.as_dict(),
            "event_mode_accuracy": round(self.modes.recall, 3),
            "event_date_accuracy": round(self.dates.recall, 3),
            "event_place_accuracy": round(self.places.recall, 3),
            "topics": self.topics.as_dict(),
            "duplicates": self.duplicates.as_dict(),
        }


def _share(counts: Counts) -> str:
    return f"{counts.recall:.2f} ({counts.matched}/{counts.expected})"


def gold_pairs(gold_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(article path, gold annotation) for every article of ``gold_dir``, in id order."""
    articles, gold = gold_dir / "articles", gold_dir / "gold"
    if not articles.is_dir() or not gold.is_dir():
        raise GoldError(f"{gold_dir}: expected the folders articles/ and gold/")
    pairs: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(gold.glob("*.json")):
        article = articles / f"{path.stem}.md"
        if not article.exists():
            raise GoldError(f"{path}: no article {article.name} beside it")
        try:
            pairs.append((article, json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, UnicodeDecodeError) as error:
            raise GoldError(f"{path}: not valid JSON ({error})") from None
    if not pairs:
        raise GoldError(f"{gold_dir}: no gold annotation (gold/*.json)")
    return pairs


def _match_entities(
    found: list[tuple[str, set[str]]], gold: list[dict[str, Any]], scores: dict[str, Counts]
) -> None:
    used: set[int] = set()
    for kind in TYPES:
        scores[kind].found += sum(1 for t, _ in found if t == kind)
        scores[kind].expected += sum(1 for g in gold if g["type"] == kind)
    for entity in gold:
        mentions = set(entity["mentions"]) | {entity["text"]}
        for index, (kind, surfaces) in enumerate(found):
            if index in used or kind != entity["type"]:
                continue
            if surfaces & mentions:
                used.add(index)
                scores[kind].matched += 1
                break


def _baseline(text: str) -> list[tuple[str, set[str]]]:
    doc = analyse_french(text)
    grouped: dict[tuple[str, str], set[str]] = {}
    for start, end, label in spacy_entities(doc):
        if label == "MISC":
            continue
        surface = text[start:end]
        grouped.setdefault((label, surface), set()).add(surface)
    return [(label, surfaces) for (label, _), surfaces in grouped.items()]


def _entity_names(entity: Entity) -> set[str]:
    return {normalise(s) for s in entity.surfaces} | {normalise(entity.canonical)}


def _score_events(analysis: Analysis, gold: dict[str, Any], scores: Scores) -> None:
    gold_events = gold.get("events", [])
    found = list(analysis.events)
    scores.events.found += len(found)
    scores.events.expected += len(gold_events)
    by_canonical = {
        e["canonical"]: {normalise(m) for m in [*e["mentions"], e["text"], e["canonical"]]}
        for e in gold.get("entities", [])
    }
    used: set[int] = set()
    published = analysis.article.published
    for wanted in gold_events:
        candidates = [
            (index, event)
            for index, event in enumerate(found)
            if index not in used and event.plover == wanted["plover"]
        ]
        if not candidates:
            continue
        same_day = [
            c
            for c in candidates
            if (d := event_date(c[1], published)) and d.isoformat() == wanted["date"]
        ]
        index, event = (same_day or candidates)[0]
        used.add(index)
        scores.events.matched += 1
        scores.modes.expected += 1
        scores.modes.matched += event.mode == wanted["mode"]
        scores.dates.expected += 1
        day = event_date(event, published)
        scores.dates.matched += day is not None and day.isoformat() == wanted["date"]
        scores.places.expected += 1
        location = wanted.get("location")
        if location is None:
            scores.places.matched += event.place is None
        elif event.place is not None:
            names = by_canonical.get(location, {normalise(location)})
            scores.places.matched += bool(_entity_names(event.place) & names)


def evaluate(gold_dir: Path, gazetteer: Gazetteer, *, baseline: bool = True) -> Scores:
    """Run the pipeline (and plain spaCy, if ``baseline``) on every article of ``gold_dir``
    and score both against the gold annotations."""
    scores = Scores()
    duplicates = DuplicateIndex()
    for path, gold in gold_pairs(gold_dir):
        article = read_article(path)
        analysis = analyse(article, gazetteer)
        scores.articles += 1
        found = [(e.type, set(e.surfaces)) for e in analysis.entities]
        language = str(gold.get("language", analysis.language))
        ours = {t: Counts() for t in TYPES}
        _match_entities(found, gold.get("entities", []), ours)
        for kind, counts in ours.items():
            scores.entities[kind].add(counts)
            scores.by_language.setdefault(language, Counts()).add(counts)
        if baseline:
            base = {t: Counts() for t in TYPES}
            _match_entities(_baseline(article.text), gold.get("entities", []), base)
            for kind, counts in base.items():
                scores.baseline[kind].add(counts)
                scores.baseline_by_language.setdefault(language, Counts()).add(counts)
        _score_events(analysis, gold, scores)
        wanted_topics = set(gold.get("topics", []))
        got_topics = set(analysis.topics)
        scores.topics.found += len(got_topics)
        scores.topics.expected += len(wanted_topics)
        scores.topics.matched += len(got_topics & wanted_topics)
        minhash = signature(article.body)
        original = duplicates.original_of(path.stem, minhash)
        duplicates.add(path.stem, article.body, minhash)
        if gold.get("duplicate_of") is not None:
            scores.duplicates.expected += 1
        if original is not None:
            scores.duplicates.found += 1
            scores.duplicates.matched += original[0] == gold.get("duplicate_of")
    return scores

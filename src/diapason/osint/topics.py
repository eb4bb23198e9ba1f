"""Topics of an article: terrorism, organized_crime, drug_trafficking, migration,
border_security, security_cooperation, cyber, or none.

Cues come from ``data/topics.tsv``; each sentence that matches a topic's cue adds that cue's
weight once, and a topic needs a weight of 3 (two strong sentences, or a strong and a weak
one): a theme named once in an enumeration does not make a topic. Events add their own
evidence: arrests and seizures of an article with criminal cues support organized_crime,
meetings and agreements between two states' bodies support security_cooperation, attacks
support terrorism.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache

from diapason.domain.events import NO_TOPIC, TOPICS
from diapason.osint.events import Event
from diapason.osint.gazetteer import DATA

THRESHOLD = 3
# Enumerations name themes without developing them: "terrorisme, criminalité et trafic".
_ENUMERATION = re.compile(r"(?:,[^,.;]{3,60}){1,}\s+(?:et|and|ou|or)\s+[^,.;]{3,60}")


@lru_cache(maxsize=1)
def _cues() -> tuple[tuple[str, int, re.Pattern[str]], ...]:
    with (DATA / "topics.tsv").open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        return tuple(
            (row["topic"], int(row["weight"]), re.compile(row["pattern"], re.IGNORECASE))
            for row in reader
        )


def classify(sentences: Iterable[str], events: list[Event]) -> list[str]:
    """The article's topics (``["none"]`` when nothing reaches the threshold)."""
    scores = dict.fromkeys(TOPICS, 0)
    for sentence in sentences:
        hits: dict[str, int] = {}
        for topic, weight, pattern in _cues():
            matches = list(pattern.finditer(sentence))
            if not matches:
                continue
            # A cue inside an enumeration of three or more themes counts as a weak one.
            enumerated = _ENUMERATION.search(sentence) is not None and len(matches) == 1
            hits[topic] = max(hits.get(topic, 0), 1 if enumerated else weight)
        for topic, weight in hits.items():
            scores[topic] += weight
    for event in events:
        if event.plover == "ASSAULT" and scores["terrorism"] > 0:
            scores["terrorism"] += 2
        if event.plover == "COERCE" and scores["organized_crime"] > 0:
            scores["organized_crime"] += 1
        if event.plover in ("CONSULT", "AGREE", "COOPERATE", "AID") and _two_states(event):
            scores["security_cooperation"] += 1
    chosen = [topic for topic in TOPICS if scores[topic] >= THRESHOLD]
    return chosen or [NO_TOPIC]


def _two_states(event: Event) -> bool:
    countries = {e.country for e in (*event.actors, *event.targets) if e.country}
    return len(countries) >= 2 or (len(event.actors) + len(event.targets)) >= 2

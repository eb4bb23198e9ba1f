"""Shared assessments: each side's agreement or disagreement with the other's assessments
(STIX ``opinion``), and a convergence index per topic and period.

An opinion names the partner's assessments it is about (``object_refs``: reports,
threat actors, notes… created by the partner), the STIX agreement level, an explanation,
and its topic as the label ``topic:<name>``.

**Convergence index.** Each agreement level scores: strongly-disagree 0, disagree 0.25,
neutral 0.5, agree 0.75, strongly-agree 1. For one topic and one period (month, quarter or
year of the opinion's ``created``), take each side's latest opinion on each assessment,
average each side's scores, then average the sides:

    C(topic, period) = (1 / |S|) * sum over sides s in S of mean(score of s's opinions)

where S is the set of sides that gave an opinion. Averaging per side first keeps the side
that writes more opinions from weighing more. C is in [0, 1]: at least 0.6 the views
**meet**, below 0.4 they **part**, in between they are **mixed**. ``gap`` (the difference
between the highest and lowest side average) says whether both sides see it alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diapason.coordinate.records import CoordinationError, Records
from diapason.domain.grading import grade

SCORES: dict[str, float] = {
    "strongly-disagree": 0.0,
    "disagree": 0.25,
    "neutral": 0.5,
    "agree": 0.75,
    "strongly-agree": 1.0,
}
PERIODS = ("month", "quarter", "year")
TOPIC_PREFIX = "topic:"
MEET, PART = 0.6, 0.4


def clean_topic(topic: Any) -> str:
    if not isinstance(topic, str) or not topic.strip():  # also what JSON bodies may send
        raise CoordinationError("opinion: field topic: a topic is required")
    cleaned = " ".join(topic.strip().lower().split())
    if len(cleaned) > 100:
        raise CoordinationError("opinion: field topic: at most 100 characters")
    return cleaned


def record(
    records: Records,
    object_refs: Sequence[str],
    opinion: str,
    topic: str,
    explanation: str | None = None,
    *,
    tlp: str = "amber",
) -> dict[str, Any]:
    """Record this side's opinion of partners' assessments; returns the STIX opinion."""
    if not isinstance(opinion, str) or opinion not in SCORES:
        raise CoordinationError(
            f"opinion: field opinion: {str(opinion)[:30]!r} is not one of {', '.join(SCORES)}"
        )
    topic = clean_topic(topic)
    if not object_refs:
        raise CoordinationError("opinion: field object_refs: name the assessment(s) concerned")
    sides = set()
    for ref in object_refs:
        stored = records.holdings.store.get(ref) if isinstance(ref, str) else None
        if stored is None:
            raise CoordinationError(f"opinion: field object_refs: {ref} is not held here")
        side = records.side_of(stored.object.get("created_by_ref"))
        if side is None or side == records.me:
            raise CoordinationError(
                f"opinion: field object_refs: {ref} is not a partner's assessment "
                "(opinions are on the other side's assessments)"
            )
        sides.add(side)
    markings, rel_to = records.markings_for(sides, tlp)
    obj: dict[str, Any] = {
        **records.new_object("opinion"),
        "opinion": opinion,
        "object_refs": list(dict.fromkeys(object_refs)),
        "authors": [records.editor],
        "labels": [TOPIC_PREFIX + topic],
        "object_marking_refs": markings,
    }
    if explanation:
        obj["explanation"] = explanation
    obj = grade(obj, "admiralty", "A", "1")
    records.put_object(obj, [rel_to])
    return obj


def period_of(created: str, period: str) -> str:
    year, month = created[:4], int(created[5:7])
    if period == "month":
        return created[:7]
    if period == "quarter":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    return year


def held(records: Records) -> list[dict[str, Any]]:
    """Every opinion held with a topic (ours and partners'), with its side."""
    found = []
    for stored in records.stored("opinion"):
        obj = stored.object
        topics = [
            label[len(TOPIC_PREFIX) :]
            for label in obj.get("labels") or []
            if isinstance(label, str) and label.startswith(TOPIC_PREFIX)
        ]
        if not topics or obj.get("opinion") not in SCORES:
            continue
        found.append(
            {
                "id": obj["id"],
                "side": records.side_of(obj.get("created_by_ref")) or "unknown",
                "topic": topics[0],
                "opinion": obj["opinion"],
                "object_refs": obj.get("object_refs", []),
                "explanation": obj.get("explanation"),
                "created": obj["created"],
            }
        )
    return sorted(found, key=lambda o: o["created"])


def convergence(
    opinions: Sequence[dict[str, Any]], period: str = "quarter", topic: str | None = None
) -> list[dict[str, Any]]:
    """The convergence index per topic and period (see the module's docstring)."""
    if period not in PERIODS:
        raise CoordinationError(f"period: {period!r} is not one of {', '.join(PERIODS)}")
    # (topic, period) -> side -> assessment -> latest score (opinions come oldest first).
    cells: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    for opinion in opinions:
        if topic is not None and opinion["topic"] != clean_topic(topic):
            continue
        key = (opinion["topic"], period_of(opinion["created"], period))
        per_side = cells.setdefault(key, {}).setdefault(opinion["side"], {})
        for ref in opinion["object_refs"]:
            per_side[ref] = SCORES[opinion["opinion"]]
    rows = []
    for (name, when), sides in sorted(cells.items()):
        averages = {
            side: sum(scores.values()) / len(scores) for side, scores in sorted(sides.items())
        }
        index = sum(averages.values()) / len(averages)
        rows.append(
            {
                "topic": name,
                "period": when,
                "index": round(index, 3),
                "verdict": "meet" if index >= MEET else "part" if index < PART else "mixed",
                "sides": {side: round(value, 3) for side, value in averages.items()},
                "gap": round(max(averages.values()) - min(averages.values()), 3),
                "opinions": sum(len(scores) for scores in sides.values()),
            }
        )
    return rows

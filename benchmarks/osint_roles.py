"""Actors and targets of coded events against a gold folder (issue 24's "actors and
targets right in >= 80 % of true events"; ``diapason eval osint`` does not score them).

    .venv/bin/python -m benchmarks.osint_roles ../shared/corpus/dev
    .venv/bin/python -m benchmarks.osint_roles corpus/osint tune

Each gold event is matched to a found event of the same PLOVER type (one to one, the same
date first). Its participants are right when every named gold actor is among the found
actors and every named gold target among the found targets (a found entity is a gold one
when they share a surface form); ``generic:`` participants are left aside, as the
pipeline produces none. The share is over all gold events (an unmatched one counts as
wrong) and over the matched ones.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from diapason.osint.article import read_article
from diapason.osint.entities import Entity
from diapason.osint.gazetteer import load_gazetteer
from diapason.osint.pipeline import analyse, event_date


def _named(gold_names: list[str], found: list[Entity], forms: dict[str, set[str]]) -> bool:
    for name in gold_names:
        if name.startswith("generic:"):
            continue
        wanted = forms.get(name, {name})
        if not any((set(entity.surfaces) | {entity.canonical}) & wanted for entity in found):
            return False
    return True


def main(root: Path, split: str | None) -> str:
    gazetteer = load_gazetteer()
    ids = sorted(path.stem for path in (root / "gold").glob("*.json"))
    if split:
        with (root / "split.tsv").open(encoding="utf-8") as handle:
            rows = csv.reader(handle, delimiter="\t")
            ids = [row[0] for row in rows if len(row) > 1 and row[1] == split]
    right = total = matched = 0
    for key in ids:
        gold = json.loads((root / "gold" / f"{key}.json").read_text(encoding="utf-8"))
        analysis = analyse(read_article(root / "articles" / f"{key}.md"), gazetteer)
        forms = {
            e["canonical"]: {*e["mentions"], e["text"], e["canonical"]} for e in gold["entities"]
        }
        free = list(analysis.events)
        for expected in gold["events"]:
            total += 1
            candidates = [e for e in free if e.plover == expected["plover"]]
            candidates.sort(
                key=lambda e: str(event_date(e, analysis.article.published)) != expected["date"]
            )
            if not candidates:
                continue
            found = candidates[0]
            free.remove(found)
            matched += 1
            if _named(expected["actors"], found.actors, forms) and _named(
                expected["targets"], found.targets, forms
            ):
                right += 1
    return (
        f"{root.name} {split or ''}: gold events {total}, type-matched {matched}, "
        f"participants right {right} ({right / max(total, 1):.2f} of gold events, "
        f"{right / max(matched, 1):.2f} of matched)"
    )


if __name__ == "__main__":
    print(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))

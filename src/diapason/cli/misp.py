"""Reading each source of ``diapason import`` (STIX bundles, MISP event JSON, MISP feed
folders), and the MISP JSON of ``diapason export --format misp``.

The conversion is misp-stix's (``exchange/misp.py``); what is converted goes through the
same checks and the same write as a STIX import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.progress import Progress

from diapason.bundles import bundle_objects, parse_json, read_limited
from diapason.cli.common import plural
from diapason.domain.stix import Memo, Problem, prepare
from diapason.exchange.misp import (
    MispError,
    MispEvent,
    Organisation,
    event_to_stix,
    feed_size,
    looks_like_misp,
    misp_events,
    read_misp_feed,
    stix_to_misp,
)
from diapason.node import Node


class Sources:
    """Reads one import source: a STIX bundle, MISP event JSON or a MISP feed folder.

    MISP input is converted event by event (a second line on the progress bar) and every
    object made is checked with the store's own ``prepare`` before anything is written: a
    source with one refused event or object is refused whole, each problem named."""

    def __init__(self, node: Node, limit: int, progress: Progress) -> None:
        self.node = node
        self.limit = limit
        self.progress = progress
        self.events = 0
        self._partners: list[str] | None = None

    @property
    def partners(self) -> list[str]:
        if self._partners is None:
            self._partners = [partner.name for partner in self.node.partners.all()]
        return self._partners

    def objects(self, path: Path, input_format: str) -> list[Any]:
        """The objects of ``path`` to import (``input_format``: auto, stix or misp)."""
        if path.is_dir():  # import_sources gives folders that are MISP feeds only
            return self._convert(
                path, read_misp_feed(path, self.limit), feed_size(path, self.limit)
            )
        parsed = parse_json(read_limited(path, self.limit), str(path))
        if input_format == "misp" or (input_format == "auto" and looks_like_misp(parsed)):
            events = misp_events(parsed, str(path))
            return self._convert(path, iter(events), len(events))
        return bundle_objects(parsed, str(path))

    def _convert(self, path: Path, events: Any, total: int) -> list[Any]:
        task = self.progress.add_task(f"{path.name}: MISP events", total=total)
        objects: list[Any] = []
        problems: list[str] = []
        memo = Memo()
        count = 0
        for event in events:
            made = event_to_stix(event, self.partners, self.node.identity_id)
            problems.extend(self._check(event, made, len(objects), memo))
            objects.extend(made)
            count += 1
            self.progress.advance(task)
        self.progress.remove_task(task)
        if problems:
            shown = problems[:20]
            more = len(problems) - len(shown)
            raise MispError(
                f"{path}: nothing imported, {plural(len(problems), 'object')} refused:\n  "
                + "\n  ".join(shown)
                + (f"\n  … and {more:,} more" if more else "")
            )
        self.events += count
        return _deduplicated(objects)

    def _check(self, event: MispEvent, made: list[Any], start: int, memo: Memo) -> list[str]:
        found = []
        for index, obj in enumerate(made, start):
            checked = prepare(obj, index, self.limit, memo)
            if isinstance(checked, Problem):
                found.append(f"{event.origin}: {checked}")
        return found


def _deduplicated(objects: list[Any]) -> list[Any]:
    """One copy of each (id, modified): two events of one feed share their creator's
    identity and the marking-definitions they use."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for obj in objects:
        key = (str(obj.get("id")), str(obj.get("modified", "")))
        if key not in seen:
            seen.add(key)
            kept.append(obj)
    return kept


def node_organisation(node: Node) -> Organisation:
    """This node's organisation as MISP names it: its identity (name and uuid)."""
    stored = node.store.get(node.identity_id) if node.identity_id else None
    return Organisation.of_identity(stored.object if stored else None, node.settings.node_name)


def export_misp(
    node: Node, objects: list[dict[str, Any]], distribution: int
) -> tuple[Any, list[str]]:
    """MISP event JSON of ``objects`` (one ``{"Event": ...}``, or ``{"response": [...]}``
    for several events), and what misp-stix said it could not convert."""
    made = stix_to_misp(
        objects,
        node_organisation(node),
        bundle_name=f"export:{node.identity_id}",
        distribution=distribution,
    )
    if len(made.events) == 1:
        return made.events[0], made.problems
    return {"response": made.events}, made.problems

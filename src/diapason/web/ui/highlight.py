"""An article's text with its entities and events marked, as HTML built from escaped pieces.

For the OSINT article view. The text is untrusted (anyone's web page), so it is never
marked safe as a whole: it is cut at the span boundaries, every piece is escaped, and only
the tags written here are put around the pieces. Paragraphs (blank lines) become ``<p>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# The CSS class and the words a screen reader hears for each entity label.
LABEL_CLASSES = {"PER": "ent-per", "ORG": "ent-org", "LOC": "ent-loc", "GROUP": "ent-group"}


@dataclass(frozen=True)
class Mark:
    """``text[start:end]`` to mark: an entity (``label`` PER, ORG, LOC, GROUP) or an event
    sentence (``label`` EVENT); ``title`` is shown on hover, ``href`` links it."""

    start: int
    end: int
    label: str
    title: str
    href: str | None = None
    anchor: str | None = None  # the id of the element, so a table can link to it


def _open(mark: Mark) -> str:
    anchor = f' id="{escape(mark.anchor)}"' if mark.anchor else ""
    if mark.label == "EVENT":
        return f'<span class="event"{anchor} title="{escape(mark.title)}">'
    css = LABEL_CLASSES.get(mark.label, "ent")
    if mark.href:
        return (
            f'<a class="ent {css}"{anchor} href="{escape(mark.href)}" title="{escape(mark.title)}">'
        )
    return f'<mark class="ent {css}"{anchor} title="{escape(mark.title)}">'


def _close(mark: Mark) -> str:
    if mark.label == "EVENT":
        return "</span>"
    return "</a>" if mark.href else "</mark>"


def _nested(entities: Sequence[Mark], events: Sequence[Mark]) -> list[Mark]:
    """Marks that nest: entities that do not overlap one another, and event sentences that
    no kept entity straddles (an entity wholly inside or outside a sentence)."""
    kept_events: list[Mark] = []
    last_end = -1
    for event in sorted(events, key=lambda m: (m.start, -m.end)):
        if event.start >= last_end and event.end > event.start:
            kept_events.append(event)
            last_end = event.end
    kept: list[Mark] = []
    last_end = -1
    for entity in sorted(entities, key=lambda m: (m.start, -m.end)):
        if entity.start < last_end or entity.end <= entity.start:
            continue
        straddles = any(
            e.start < entity.end
            and entity.start < e.end
            and not (e.start <= entity.start and entity.end <= e.end)
            for e in kept_events
        )
        if not straddles:
            kept.append(entity)
            last_end = entity.end
    return sorted([*kept_events, *kept], key=lambda m: (m.start, m.label != "EVENT"))


def highlight(text: str, entities: Sequence[Mark], events: Sequence[Mark] = ()) -> Markup:
    """``text`` as paragraphs with the marks around their spans; every piece escaped."""
    marks = _nested(entities, events)
    points = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    points = [p for p in points if 0 <= p <= len(text)]
    opening: dict[int, list[Mark]] = {}
    closing: dict[int, list[Mark]] = {}
    for mark in marks:
        opening.setdefault(mark.start, []).append(mark)
        closing.setdefault(mark.end, []).append(mark)
    open_marks: list[Mark] = []
    out: list[str] = ["<p>"]
    for index, point in enumerate(points):
        # Close the inner marks first (entities inside events), then open, outer first.
        for mark in sorted(closing.get(point, []), key=lambda m: m.label == "EVENT"):
            out.append(_close(mark))
            open_marks.remove(mark)
        for mark in opening.get(point, []):
            out.append(_open(mark))
            open_marks.append(mark)
        if index + 1 < len(points):
            piece = text[point : points[index + 1]]
            if open_marks:
                # Inside a mark a paragraph break would cut the element: a line break.
                out.append(str(escape(piece)).replace("\n\n", "<br><br>"))
            else:
                out.append(str(escape(piece)).replace("\n\n", "</p><p>"))
    out.append("</p>")
    return Markup("".join(out).replace("<p></p>", ""))  # noqa: S704 - built from escaped pieces

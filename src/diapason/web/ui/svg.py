"""Charts drawn on the server as SVG: the dashboard's trend and audit entries per hour, an
object's neighbours and the anticipation map of the region.

Drawn here rather than in the browser so the pages need no script (the CSP forbids inline
ones) and work offline. Only presentation attributes are used (``fill``, ``stroke``):
``style`` attributes would need ``'unsafe-inline'`` in the CSP. Every text is escaped;
each chart carries a title and a description for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

# Colours chosen for contrast on white (WCAG AA for text): dark ink, one accent.
INK = "#1b1f24"
MUTED = "#57606a"
ACCENT = "#0b5cad"
GRID = "#d0d7de"
TYPE_COLOURS = {
    "threat-actor": "#b42318",
    "intrusion-set": "#b54708",
    "identity": "#0b5cad",
    "location": "#027a48",
    "report": "#6941c6",
    "malware": "#c11574",
    "attack-pattern": "#475467",
}


def trend_chart(
    counts: Sequence[tuple[date, int]], *, title: str, description: str, width: int = 720
) -> Markup:
    """Bars of a count per day, with the maximum marked and the first and last dates."""
    bars = [(day.isoformat(), count) for day, count in counts]
    return bar_chart(bars, title=title, description=description, ident="trend", width=width)


def bar_chart(
    bars: Sequence[tuple[str, int]],
    *,
    title: str,
    description: str,
    ident: str,
    width: int = 720,
) -> Markup:
    """Bars of a count per label (a day, an hour), with the maximum marked and the first
    and last labels; ``ident`` makes the ids of its title and description unique on the
    page."""
    height, left, bottom, top = 180, 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    highest = max((count for _, count in bars), default=0)
    scale = plot_h / highest if highest else 0.0
    step = plot_w / max(1, len(bars))
    ident = escape(ident)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
        f'stroke="{GRID}"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="12" '
        f'fill="{MUTED}">{highest}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="12" '
        f'fill="{MUTED}">0</text>',
    ]
    for index, (label, count) in enumerate(bars):
        bar = count * scale
        x = left + index * step + 1
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar:.1f}" width="{max(1.0, step - 2):.1f}" '
            f'height="{bar:.1f}" fill="{ACCENT}"><title>{escape(label)}: {count}</title></rect>'
        )
    if bars:
        for anchor, x, label in (
            ("start", left, bars[0][0]),
            ("end", width - 8, bars[-1][0]),
        ):
            parts.append(
                f'<text x="{x}" y="{height - 8}" text-anchor="{anchor}" font-size="12" '
                f'fill="{MUTED}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped parts


@dataclass(frozen=True)
class GraphNode:
    id: str
    type: str
    label: str
    relation: str  # the property linking it to the centre, as shown on the edge
    outgoing: bool  # the centre refers to it (else it refers to the centre)
    href: str | None


def _short(text: str, length: int = 22) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def neighbour_graph(
    centre_label: str,
    centre_type: str,
    neighbours: Sequence[GraphNode],
    *,
    title: str,
    description: str,
    size: int | None = None,
) -> Markup:
    """The object in the middle, its neighbours on a circle, each edge labelled with the
    referencing property; each neighbour links to its own page."""
    # A few neighbours need less room than many: the drawing grows with them.
    size = size or (380 if len(neighbours) <= 6 else 560)
    middle = size / 2
    radius = size / 2 - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="100%" role="img" aria-labelledby="graph-title graph-desc" class="graph">',
        f'<title id="graph-title">{escape(title)}</title>',
        f'<desc id="graph-desc">{escape(description)}</desc>',
    ]
    count = max(1, len(neighbours))
    placed: list[tuple[GraphNode, float, float]] = []
    for index, node in enumerate(neighbours):
        angle = 2 * math.pi * index / count - math.pi / 2
        placed.append((node, middle + radius * math.cos(angle), middle + radius * math.sin(angle)))
    for node, x, y in placed:
        parts.append(
            f'<line x1="{middle:.1f}" y1="{middle:.1f}" x2="{x:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1.5"/>'
        )
        mx, my = (middle + x) / 2, (middle + y) / 2
        arrow = "→" if node.outgoing else "←"
        parts.append(
            f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle" font-size="10" '
            f'fill="{MUTED}">{arrow} {escape(_short(node.relation, 26))}</text>'
        )
    for node, x, y in placed:
        colour = TYPE_COLOURS.get(node.type, MUTED)
        circle = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{colour}"/>'
            f'<text x="{x:.1f}" y="{y + 24:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{escape(_short(node.label, 22 if node.href else 30))}</text>'
            f'<text x="{x:.1f}" y="{y + 37:.1f}" text-anchor="middle" font-size="10" '
            f'fill="{MUTED}">{escape(node.type)}</text>'
        )
        if node.href:
            parts.append(
                f'<a href="{escape(node.href)}" aria-label="{escape(node.type)}: '
                f'{escape(node.label)}">{circle}</a>'
            )
        else:
            parts.append(circle)
    colour = TYPE_COLOURS.get(centre_type, INK)
    parts.append(
        f'<circle cx="{middle}" cy="{middle}" r="16" fill="{colour}" stroke="{INK}" '
        f'stroke-width="2"/><text x="{middle}" y="{middle + 34}" text-anchor="middle" '
        f'font-size="13" font-weight="bold" fill="{INK}">{escape(_short(centre_label, 30))}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped parts


# Sequential blues for event counts (light to dark; the darkest keeps white text legible),
# a light grey for none, and red outlines for countries with an alert.
MAP_STEPS = ("#dbe9f6", "#9ecae1", "#4292c6", "#08519c", "#08306b")
MAP_NONE = "#eef0f2"
MAP_ALERT = "#b42318"


@dataclass(frozen=True)
class Country:
    """One country of the map: ISO 3166-1 alpha-2 code (None when it has none), name and
    outline (polygons of rings of (longitude, latitude))."""

    code: str | None
    name: str
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]


def count_steps(highest: int) -> list[int]:
    """The lower bounds of the colour steps for counts up to ``highest`` (1 first)."""
    if highest <= len(MAP_STEPS):
        return list(range(1, max(highest, 1) + 1))
    ratio = highest ** (1 / len(MAP_STEPS))
    bounds = sorted({max(1, round(ratio**step)) for step in range(len(MAP_STEPS))})
    return bounds


def _step_keys(steps: Sequence[int]) -> list[tuple[str, str]]:
    """The legend's entries: the range of counts of each colour step, and the colour."""
    keys = []
    for index, bound in enumerate(steps):
        upper = steps[index + 1] - 1 if index + 1 < len(steps) else None
        if upper is None:
            text = f"{bound}+" if index > 0 else f"{bound}"
        else:
            text = f"{bound}\N{EN DASH}{upper}" if upper > bound else f"{bound}"
        keys.append((text, MAP_STEPS[index + len(MAP_STEPS) - len(steps)]))
    return keys


def region_map(
    countries: Sequence[Country],
    counts: dict[str, int],
    alerts: dict[str, int],
    frame: tuple[float, float, float, float],
    *,
    title: str,
    description: str,
    label: Callable[[Country, int, int], str],
    legend_title: str,
    alert_label: str,
    width: int = 720,
) -> Markup:
    """Countries coloured by event count (equirectangular projection of ``frame``: west,
    south, east, north), outlined in red where an alert stands, each with a ``<title>``
    (``label(country, count, alerts)``), and a legend of the colour steps."""
    west, south, east, north = frame
    scale = width / (east - west)
    height = round((north - south) * scale)
    steps = count_steps(max(counts.values(), default=0))

    def colour(count: int) -> str:
        if count <= 0:
            return MAP_NONE
        index = max(i for i, bound in enumerate(steps) if count >= bound)
        return MAP_STEPS[index + len(MAP_STEPS) - len(steps)]

    def path(polygons: Sequence[Sequence[Sequence[tuple[float, float]]]]) -> str:
        rings = []
        for polygon in polygons:
            for ring in polygon:
                points = " ".join(
                    f"{(lon - west) * scale:.1f},{(north - lat) * scale:.1f}" for lon, lat in ring
                )
                rings.append(f"M{points}Z")
        return "".join(rings)

    legend_height = 34
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + legend_height}" '
        f'width="100%" role="img" aria-labelledby="map-title map-desc" class="map">',
        f'<title id="map-title">{escape(title)}</title>',
        f'<desc id="map-desc">{escape(description)}</desc>',
    ]
    for country in countries:
        count = counts.get(country.code or "", 0)
        alerted = alerts.get(country.code or "", 0)
        stroke = (
            f'stroke="{MAP_ALERT}" stroke-width="2.5"'
            if alerted
            else 'stroke="#ffffff" stroke-width="0.6"'
        )
        title = escape(label(country, count, alerted))
        parts.append(
            f'<path d="{path(country.polygons)}" fill="{colour(count)}" {stroke} '
            f'stroke-linejoin="round"><title>{title}</title></path>'
        )
    # Alerted countries drawn again on top so their red outline is not hidden by neighbours.
    for country in countries:
        if alerts.get(country.code or "", 0):
            parts.append(
                f'<path d="{path(country.polygons)}" fill="none" stroke="{MAP_ALERT}" '
                f'stroke-width="2.5" stroke-linejoin="round"/>'
            )
    y = height + 8
    parts.append(
        f'<rect x="0" y="{height}" width="{width}" height="{legend_height}" fill="#ffffff"/>'
        f'<text x="8" y="{y + 14}" font-size="12" fill="{INK}">{escape(legend_title)}</text>'
    )
    x = 8 + 7.2 * len(legend_title) + 12
    for text, fill in [("0", MAP_NONE), *_step_keys(steps)]:
        parts.append(
            f'<rect x="{x:.0f}" y="{y + 3}" width="14" height="14" fill="{fill}" stroke="{MUTED}" '
            f'stroke-width="0.5"/><text x="{x + 18:.0f}" y="{y + 14}" font-size="12" '
            f'fill="{INK}">{escape(text)}</text>'
        )
        x += 26 + 7.2 * len(text)
    parts.append(
        f'<rect x="{x + 6:.0f}" y="{y + 3}" width="14" height="14" fill="none" '
        f'stroke="{MAP_ALERT}" stroke-width="2.5"/><text x="{x + 26:.0f}" y="{y + 14}" '
        f'font-size="12" fill="{INK}">{escape(alert_label)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped parts

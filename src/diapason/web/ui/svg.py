"""Charts drawn on the server as SVG: the dashboard's trend and audit entries per hour, an
object's neighbours and the anticipation map of the region.

Drawn here rather than in the browser so the pages need no script (the CSP forbids inline
ones) and work offline. Only presentation attributes are used (``fill``, ``stroke``):
``style`` attributes would need ``'unsafe-inline'`` in the CSP. Every text is escaped;
each chart carries a title and a description for screen readers.
"""

from __future__ import annotations

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
    counts: Sequence[tuple[date, int]],
    *,
    title: str,
    description: str,
    width: int = 720,
    day_label: Callable[[date], str] = date.isoformat,
) -> Markup:
    """Bars of a count per day, with the maximum marked and the first and last dates
    (written by ``day_label``)."""
    bars = [(day_label(day), count) for day, count in counts]
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
    """One neighbour of the graph's centre, drawn once whatever the number of references
    between them: ``relation`` is the first (the edge it is drawn on), ``others`` the rest,
    each as shown to the reader (a verb with its arrow)."""

    id: str
    type: str
    label: str
    relation: str  # the kind of reference it is drawn on, as shown (a verb: "contains")
    outgoing: bool  # the centre refers to it (else it refers to the centre)
    href: str | None
    type_label: str = ""  # its type as the reader names it
    others: tuple[str, ...] = ()  # its other references to or from the centre, as shown


def _short(text: str, length: int = 22) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


# Advance widths of a sans-serif font (DejaVu Sans, Liberation Sans, Arial), in ems, by
# kind of character: enough to reserve room for a text without a browser to measure it.
_NARROW = set("fijlrtI.,:;'!|()[]{} ")
_WIDE = set("mwMW@%")


def text_width(text: str, size: float) -> float:
    """An upper estimate of the width of ``text`` at ``size`` pixels."""
    ems = 0.0
    for char in text:
        if char in _NARROW:
            ems += 0.36
        elif char in _WIDE:
            ems += 0.95
        elif char.isupper() or char.isdigit() or (not char.isascii() and not char.isalpha()):
            ems += 0.74
        else:
            ems += 0.62
    return ems * size + 2


_ROW = 38  # vertical room of one neighbour: its name and its type on two lines
_FAN = 46  # from the end of a bundle's label to its neighbours
_LABEL, _TYPE, _EDGE, _CENTRE = 12, 10, 11, 13  # font sizes


@dataclass
class _Bundle:
    """The neighbours reached by one kind of reference in one direction: one edge from
    the centre, one label, then a fan to each of them."""

    relation: str
    outgoing: bool
    members: list[GraphNode]

    def text(self, rightwards: bool) -> str:
        count = f" ({len(self.members)})" if len(self.members) > 1 else ""
        return f"{self.relation}{count} →" if rightwards else f"← {self.relation}{count}"


def _bundles(neighbours: Sequence[GraphNode]) -> tuple[list[_Bundle], list[_Bundle]]:
    """The bundles of the left side (what refers to the centre) and of the right side
    (what the centre refers to); when one side would be empty, the later bundles move to
    it while that lowers the drawing."""
    found: dict[tuple[bool, str], _Bundle] = {}
    for node in neighbours:
        key = (node.outgoing, node.relation)
        found.setdefault(key, _Bundle(node.relation, node.outgoing, [])).members.append(node)
    ordered = [found[key] for key in sorted(found, key=lambda k: (k[0], k[1]))]
    for bundle in ordered:
        bundle.members.sort(key=lambda n: (n.type, n.label.casefold(), n.id))
    left = [b for b in ordered if not b.outgoing]
    right = [b for b in ordered if b.outgoing]

    def rows(side: list[_Bundle]) -> int:
        return sum(len(b.members) for b in side)

    if not left or not right:
        full = left or right
        other: list[_Bundle] = []
        while len(full) > 1 and rows(other) + len(full[-1].members) <= rows(full[:-1]):
            other.insert(0, full.pop())
        left, right = (other, full) if not left else (full, other)
    return left, right


def neighbour_graph(
    centre_label: str,
    centre_type: str,
    neighbours: Sequence[GraphNode],
    *,
    title: str,
    description: str,
    centre_type_label: str = "",
) -> Markup:
    """The object in the middle, what refers to it on the left, what it refers to on the
    right, one row per neighbour; the neighbours reached by the same kind of reference
    share one edge and one label ("contains (19)"). Every text has its own room, so no
    two overlap; the layout depends on nothing but its input. Each neighbour links to its
    own page."""
    left, right = _bundles(neighbours)
    centre_text = _short(centre_label, 34)
    centre_sub = _short(centre_type_label or centre_type, 34)
    half_centre = max(text_width(centre_text, _CENTRE) * 1.1, text_width(centre_sub, _TYPE)) / 2

    def widths(side: list[_Bundle]) -> tuple[float, float]:
        edge = max((text_width(b.text(True), _EDGE) for b in side), default=0.0)
        node = max(
            (
                max(
                    text_width(_short(n.label, 30), _LABEL),
                    text_width(_short(n.type_label or n.type, 30), _TYPE),
                )
                for b in side
                for n in b.members
            ),
            default=0.0,
        )
        return edge, node

    left_edge, left_node = widths(left)
    right_edge, right_node = widths(right)
    reach = max(half_centre + 14, 34.0)  # from the centre to where a bundle's label starts
    pad = 10.0
    middle_x = pad + half_centre
    if left:
        middle_x = max(middle_x, pad + left_node + 13 + _FAN + 8 + left_edge + reach)
    width = middle_x + half_centre + pad
    if right:
        width = max(width, middle_x + reach + 8 + right_edge + _FAN + 13 + right_node + pad)
    rows = max(sum(len(b.members) for b in left), sum(len(b.members) for b in right), 1)
    height = max(rows * _ROW + 24, 110)
    middle_y = height / 2 - (6 if rows > 1 else 14)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" '
        f'aria-labelledby="graph-title graph-desc" class="graph" font-family="sans-serif">',
        f'<title id="graph-title">{escape(title)}</title>',
        f'<desc id="graph-desc">{escape(description)}</desc>',
    ]
    texts: list[str] = []
    for side, sign, edge_width in ((left, -1, left_edge), (right, 1, right_edge)):
        count = sum(len(b.members) for b in side)
        row_y = middle_y - (count - 1) * _ROW / 2
        label_x = middle_x + sign * reach
        fan_x = label_x + sign * (8 + edge_width)
        node_x = fan_x + sign * _FAN
        anchor = "start" if sign > 0 else "end"
        for bundle in side:
            ys = [row_y + i * _ROW for i in range(len(bundle.members))]
            row_y += len(bundle.members) * _ROW
            bundle_y = sum(ys) / len(ys)
            parts.append(
                f'<line x1="{middle_x:.1f}" y1="{middle_y:.1f}" x2="{label_x:.1f}" '
                f'y2="{bundle_y:.1f}" stroke="{GRID}" stroke-width="1.5"/>'
            )
            rightwards = bundle.outgoing == (sign > 0)
            texts.append(
                f'<text class="edge-label" x="{label_x + sign * 4:.1f}" y="{bundle_y + 4:.1f}" '
                f'text-anchor="{anchor}" font-size="{_EDGE}" fill="{MUTED}">'
                f"{escape(bundle.text(rightwards))}</text>"
            )
            for node, y in zip(bundle.members, ys, strict=True):
                parts.append(
                    f'<line x1="{fan_x:.1f}" y1="{bundle_y:.1f}" x2="{node_x - sign * 9:.1f}" '
                    f'y2="{y:.1f}" stroke="{GRID}" stroke-width="1.5"/>'
                )
                texts.append(_neighbour(node, node_x, y, sign, anchor))
    parts.extend(texts)
    colour = TYPE_COLOURS.get(centre_type, INK)
    box = half_centre * 2 + 8
    parts.append(
        f'<circle cx="{middle_x:.1f}" cy="{middle_y:.1f}" r="14" fill="{colour}" stroke="{INK}" '
        f'stroke-width="2"/><rect x="{middle_x - box / 2:.1f}" y="{middle_y + 17:.1f}" '
        f'width="{box:.1f}" height="30" fill="#ffffff" fill-opacity="0.9"/>'
        f'<text class="centre-label" x="{middle_x:.1f}" y="{middle_y + 31:.1f}" '
        f'text-anchor="middle" font-size="{_CENTRE}" font-weight="bold" fill="{INK}">'
        f"{escape(centre_text)}</text>"
        f'<text class="centre-label" x="{middle_x:.1f}" y="{middle_y + 44:.1f}" '
        f'text-anchor="middle" font-size="{_TYPE}" fill="{MUTED}">{escape(centre_sub)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped parts


def _neighbour(node: GraphNode, x: float, y: float, sign: int, anchor: str) -> str:
    """One neighbour: its dot, its name and its type beside it (outwards), as a link to
    its page with a tooltip naming every reference it has to the centre."""
    colour = TYPE_COLOURS.get(node.type, MUTED)
    kind = node.type_label or node.type
    text_x = x + sign * 13
    tip = " ; ".join((node.relation, *node.others))
    drawn = (
        f"<title>{escape(node.label)} ({escape(kind)}): {escape(tip)}</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{colour}"/>'
        f'<text class="node-label" x="{text_x:.1f}" y="{y + 1:.1f}" text-anchor="{anchor}" '
        f'font-size="{_LABEL}" fill="{INK}">{escape(_short(node.label, 30))}</text>'
        f'<text class="node-type" x="{text_x:.1f}" y="{y + 14:.1f}" text-anchor="{anchor}" '
        f'font-size="{_TYPE}" fill="{MUTED}">{escape(_short(kind, 30))}</text>'
    )
    if node.href:
        return (
            f'<a href="{escape(node.href)}" aria-label="{escape(kind)}: {escape(node.label)}">'
            f"{drawn}</a>"
        )
    return f"<g>{drawn}</g>"


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

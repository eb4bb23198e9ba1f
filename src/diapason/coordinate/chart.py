"""The side-by-side chart of an indicator's monthly figures, as SVG text.

Plain SVG, no plotting library: the web interface embeds the text as it is, the command
line writes it to a file. Every text drawn comes from users or partners, so it is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

# Colour-blind-safe pair and more (Okabe-Ito).
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
WIDTH, HEIGHT = 760, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 48, 64


def _ticks(top: int) -> list[int]:
    """About five round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0, 1]
    raw = top / 5
    magnitude = 10 ** (len(str(int(raw))) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    count = -(-top // step)
    return [step * i for i in range(count + 1)]


def figures_svg(
    title: str,
    series: Mapping[str, Mapping[str, int]],
    sides: Sequence[str],
    *,
    unit: str = "",
    empty_text: str = "no figures",
) -> str:
    """A grouped bar chart: one group per month, one bar per side, with a legend.

    ``series`` is ``{month: {side: value}}``; a side without a figure for a month has no
    bar there (a gap, not a zero)."""
    months = list(series)
    top = max((v for values in series.values() for v in values.values()), default=0)
    ticks = _ticks(top)
    scale_top = ticks[-1] or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title, _QUOTES)}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / scale_top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>'
        )
    if unit:
        parts.append(f'<text x="{LEFT - 6}" y="{TOP - 10}" text-anchor="end">{escape(unit)}</text>')
    if not months:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"
        )
    group_w = plot_w / max(len(months), 1)
    bar_w = min(28.0, group_w * 0.8 / max(len(sides), 1))
    for m_index, month in enumerate(months):
        x0 = LEFT + group_w * m_index + (group_w - bar_w * len(sides)) / 2
        for s_index, side in enumerate(sides):
            value = series[month].get(side)
            if value is None:
                continue
            height = plot_h * value / scale_top
            x = x0 + s_index * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{height:.1f}" fill="{COLOURS[s_index % len(COLOURS)]}">'
                f"<title>{escape(side)} {escape(month)}: {value:,}</title></rect>"
            )
        parts.append(
            f'<text x="{LEFT + group_w * (m_index + 0.5):.1f}" y="{TOP + plot_h + 18}" '
            f'text-anchor="middle">{escape(month)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'stroke="#333333"/>'
    )
    for s_index, side in enumerate(sides):
        x = LEFT + s_index * 140
        y = HEIGHT - 18
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" '
            f'fill="{COLOURS[s_index % len(COLOURS)]}"/>'
            f'<text x="{x + 18}" y="{y}">{escape(side)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


_QUOTES = {'"': "&quot;"}

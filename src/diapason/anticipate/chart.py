"""A chart of a series with its forecast band and alerts, and the backtest's PIT
histograms, as SVG text.

For whom: ``diapason anticipate forecast --chart FILE``, ``backtest --chart FILE`` and the
web interface, which can embed the text as it is. Written by hand (no plotting library to
install): the observed counts as a line, the forecast's 5-95% and 25-75% bands, its
median, and each alert's episode as a shaded span with its peak marked. Every text is
escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from diapason.anticipate.alerts import Alert
from diapason.anticipate.backtest import Histogram
from diapason.anticipate.forecast import Forecast
from diapason.anticipate.series import Series

WIDTH, HEIGHT = 760, 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 24, 36, 40


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """The y axis's ticks from 0 to at least ``top``: about ``count`` of them, a step of
    1, 2 or 5 times a power of ten, never below 1 (counts are whole)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)
    return [index * step for index in range(math.ceil(top / step - 1e-9) + 1)]


def _tick_text(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\N{THIN SPACE}") if value == int(value) else f"{value:g}"


def chart_svg(
    series: Series,
    forecasts: Sequence[Forecast] = (),
    alerts: Sequence[Alert] = (),
    *,
    last_periods: int = 60,
    title: str | None = None,
    period_name: Callable[[str], str] = str,
) -> str:
    """The SVG document of ``series`` (its last ``last_periods``), its forecasts (those of
    this series) and alerts (those of this series), headed ``title`` (default: the
    series' name), its periods written by ``period_name`` (default: as they are,
    ``2024-05``)."""
    own = sorted((f for f in forecasts if f.series == series.name), key=lambda f: f.horizon)
    shown = min(last_periods, len(series.counts))
    first_offset = len(series.counts) - shown
    labels = [series.label(o) for o in range(first_offset, len(series.counts))]
    labels += [f.period for f in own]
    values = [float(v) for v in series.counts[first_offset:]]
    ticks = nice_ticks(max([*values, *(f.quantiles[0.95] for f in own), 1.0]))
    top = ticks[-1]
    span = max(len(labels) - 1, 1)
    plot_width = WIDTH - _LEFT - _RIGHT
    plot_height = HEIGHT - _TOP - _BOTTOM

    def x(index: float) -> float:
        return _LEFT + plot_width * index / span

    def y(value: float) -> float:
        return _TOP + plot_height * (1.0 - value / top)

    index_of = {label: i for i, label in enumerate(labels)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title or series.name)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{_LEFT}" y="20" font-size="14">{escape(title or series.name)}</text>',
    ]
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - _RIGHT}" '
            f'y2="{y(tick):.1f}" stroke="#e5e7eb"/>'
        )
    for alert in alerts:
        if alert.series != series.name or alert.period_end not in index_of:
            continue
        start = index_of.get(alert.period_start, 0)
        end = index_of[alert.period_end]
        parts.append(
            f'<rect class="alert" x="{x(start - 0.5):.1f}" y="{_TOP}" '
            f'width="{max(x(end + 0.5) - x(start - 0.5), 2):.1f}" height="{plot_height}" '
            'fill="#d62728" fill-opacity="0.12">'
            f"<title>{escape(alert.explanation())}</title></rect>"
        )
        if alert.peak_period in index_of:
            parts.append(
                f'<circle cx="{x(index_of[alert.peak_period]):.1f}" cy="{y(alert.observed):.1f}" '
                'r="4" fill="#d62728"/>'
            )
    if own:
        # The bands start at the last observation so that they join the line.
        anchor_index, anchor_value = len(values) - 1, values[-1]
        for low, high, opacity in ((0.05, 0.95, 0.18), (0.25, 0.75, 0.3)):
            upper = [(anchor_index, anchor_value)] + [
                (index_of[f.period], f.quantiles[high]) for f in own
            ]
            lower = [(index_of[f.period], f.quantiles[low]) for f in reversed(own)]
            lower.append((anchor_index, anchor_value))
            points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in upper + lower)
            parts.append(
                f'<polygon class="band" points="{points}" fill="#1f77b4" fill-opacity="{opacity}"/>'
            )
        median = [(anchor_index, anchor_value)] + [
            (index_of[f.period], f.quantiles[0.5]) for f in own
        ]
        parts.append(
            '<polyline class="median" fill="none" stroke="#1f77b4" stroke-dasharray="4 3" '
            f'points="{" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in median)}"/>'
        )
    parts.append(
        '<polyline class="observed" fill="none" stroke="#222" stroke-width="1.5" points="'
        + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        + '"/>'
    )
    parts.append(
        f'<line x1="{_LEFT}" y1="{HEIGHT - _BOTTOM}" x2="{WIDTH - _RIGHT}" '
        f'y2="{HEIGHT - _BOTTOM}" stroke="#888"/>'
    )
    step = max(1, math.ceil(len(labels) / 8))
    for i in range(0, len(labels), step):
        # The first and last labels stay inside the drawing (they would be cut in half).
        anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
        parts.append(
            f'<text class="period" x="{x(i):.1f}" y="{HEIGHT - _BOTTOM + 16}" '
            f'text-anchor="{anchor}">{escape(period_name(labels[i]))}</text>'
        )
    for tick in ticks:
        parts.append(
            f'<text class="count" x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{_tick_text(tick)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def pit_histogram_svg(histograms: Sequence[Histogram], title: str = "PIT histograms") -> str:
    """An SVG of PIT histograms side by side (one panel per period and method): ten bars,
    the share of forecasts in each tenth times 10, with the line at 1 that calibrated
    forecasts stay near."""
    panel_width, panel_height = 240, 180
    margin, top_margin = 36, 48
    columns = max(len(histograms), 1)
    width = columns * (panel_width + margin) + margin
    height = panel_height + top_margin + 40
    tallest = max([2.0, *(value for h in histograms for value in h.density)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{margin}" y="20" font-size="14">{escape(title)}</text>',
    ]
    for index, histogram in enumerate(histograms):
        left = margin + index * (panel_width + margin)
        base = top_margin + panel_height

        def y(value: float, base: float = base) -> float:
            return base - panel_height * value / tallest

        parts.append(
            f'<text x="{left}" y="{top_margin - 8}">'
            f"{escape(histogram.method)}, {escape(histogram.period)}</text>"
        )
        bar = panel_width / len(histogram.density)
        for position, value in enumerate(histogram.density):
            parts.append(
                f'<rect class="pit" x="{left + position * bar + 1:.1f}" y="{y(value):.1f}" '
                f'width="{bar - 2:.1f}" height="{base - y(value):.1f}" fill="#1f77b4">'
                f"<title>{position / 10:.1f}-{(position + 1) / 10:.1f}: {value:.2f}</title></rect>"
            )
        parts.append(
            f'<line class="uniform" x1="{left}" y1="{y(1.0):.1f}" x2="{left + panel_width}" '
            f'y2="{y(1.0):.1f}" stroke="#d62728" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<line x1="{left}" y1="{base}" x2="{left + panel_width}" y2="{base}" stroke="#888"/>'
        )
        for tick in (0.0, 0.5, 1.0):
            parts.append(
                f'<text x="{left + panel_width * tick:.1f}" y="{base + 16}" '
                f'text-anchor="middle">{tick:g}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

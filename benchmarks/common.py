"""What the benchmarks share: a free loopback port, the table of an issue's targets, and a
bar chart of the results."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Iterable, Sequence

from markupsafe import escape
from rich.console import Console
from rich.table import Table


def positive(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def writable_file(text: str) -> str:
    """An ``argparse`` type: a file the results can be written to, checked before a run of
    many minutes rather than when it ends."""
    path = os.path.abspath(text)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"{text} cannot be written (permission denied)")
    return text


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def print_targets(
    console: Console, title: str, rows: Iterable[tuple[str, str, bool | None]]
) -> None:
    """``(goal, measured, met)`` rows; ``met`` None means not measured in this run."""
    goals = Table(title=title)
    for heading in ("goal", "measured", "met"):
        goals.add_column(heading)
    for goal, measured, met in rows:
        verdict = "[green]yes[/]" if met else ("—" if met is None else "[red]no[/]")
        goals.add_row(goal, measured, verdict)
    console.print(goals)


def bar_chart_svg(
    bars: Sequence[tuple[str, float, str]],
    *,
    title: str,
    unit: str,
    marks: Sequence[tuple[str, float]] = (),
    width: int = 760,
) -> str:
    """Horizontal bars ``(label, value, note)`` on one scale from 0, with vertical marks
    ``(label, value)`` for targets; a standalone SVG document. Every text is escaped."""
    row, left, right, top = 34, 250, 150, 44
    height = top + row * len(bars) + 40 + 16 * len(marks)
    highest = max([value for _, value, _ in bars] + [value for _, value in marks] + [1.0])
    plot = width - left - right

    def x(value: float) -> float:
        return left + plot * value / highest

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="22" font-size="15" fill="#1b1f24">{escape(title)}</text>',
    ]
    for index, (label, value, note) in enumerate(bars):
        y = top + index * row
        parts += [
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
            f'fill="#1b1f24">{escape(label)}</text>',
            f'<rect x="{left}" y="{y + 4}" width="{max(1.0, x(value) - left):.1f}" '
            f'height="{row - 12}" fill="#0b5cad"/>',
            f'<text x="{x(value) + 6:.1f}" y="{y + 17}" font-size="12" fill="#57606a">'
            f"{escape(note)}</text>",
        ]
    bottom = top + row * len(bars)
    # Each mark's label on a line of its own under the bars: two marks may be close.
    for line, (label, value) in enumerate(marks):
        parts += [
            f'<line x1="{x(value):.1f}" y1="{top - 4}" x2="{x(value):.1f}" '
            f'y2="{bottom + 4 + 16 * line}" stroke="#b42318" stroke-dasharray="4 3"/>',
            f'<text x="{x(value):.1f}" y="{bottom + 16 + 16 * line}" text-anchor="middle" '
            f'font-size="12" fill="#b42318">{escape(label)}</text>',
        ]
    parts += [
        f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{bottom}" stroke="#d0d7de"/>',
        f'<text x="{left}" y="{bottom + 32 + 16 * len(marks)}" font-size="12" '
        f'fill="#57606a">0 {escape(unit)}</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"

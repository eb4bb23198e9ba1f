"""What the benchmarks share: a free loopback port, and the table of an issue's targets."""

from __future__ import annotations

import argparse
import socket
from collections.abc import Iterable

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

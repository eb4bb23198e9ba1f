"""What every command shares: the --data option, opening the node, output helpers."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from diapason.node import Node
from diapason.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True)


def data_option(function: F) -> F:
    """``--data DIR`` (or ``DIAPASON_DATA``): the node's data folder."""
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="DIAPASON_DATA",
        default=None,
        help="The node's data folder (default ./diapason-data; env DIAPASON_DATA).",
    )(function)


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def actor() -> str:
    """Who acts from the command line: the operating-system account, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def settings_for(data_dir: Path | None, **overrides: Any) -> Settings:
    return load_settings(data_dir, **overrides)


@contextmanager
def opened(data_dir: Path | None, **overrides: Any) -> Iterator[Node]:
    node = Node.open(settings_for(data_dir, **overrides))
    try:
        yield node
    finally:
        node.close()


def progress_bar(disabled: bool) -> Progress:
    """The progress bar of long commands, on standard error (off for ``--json``)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        disable=disabled,
    )


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")

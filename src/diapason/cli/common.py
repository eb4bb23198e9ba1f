"""What every command shares: the --data option, opening the node, output helpers."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from diapason.node import Node, refuse_missing_database
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
    settings = settings_for(data_dir, **overrides)
    refuse_missing_database(settings)
    node = Node.open(settings)
    try:
        yield node
    finally:
        node.close()


def progress_bar(disabled: bool) -> Progress:
    """The progress bar of long commands, on standard error (off for ``--json``)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        disable=disabled,
    )


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


class Styled(str):
    """A table cell written in rich markup, its data escaped already (``[red]LATE[/red]``):
    ``table`` shows it as it is."""


# A STIX id (type--UUID) or a bare UUID: a cell that must be shown whole, to be copied.
_ID = re.compile(
    r"(?:[a-z0-9][a-z0-9-]*--)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def table(
    columns: Sequence[str], rows: Iterable[Iterable[Any]], *, title: str | None = None
) -> Table:
    """``rows`` under ``columns``, each cell shown as its text (None as nothing), escaped
    so that data never reads as rich markup; ``Styled`` cells as they are.

    A column holding ids is never wrapped nor cut, so that an id can be copied into
    another command; on a narrow terminal the other columns wrap first."""
    cells = [[_cell(value) for value in row] for row in rows]
    shown = Table(title=title)
    for index, name in enumerate(columns):
        ids = [row[index] for row in cells if index < len(row) and _ID.fullmatch(row[index])]
        if ids:
            shown.add_column(name, no_wrap=True, min_width=max(map(len, ids)))
        else:
            shown.add_column(name)
    for row in cells:
        shown.add_row(*row)
    return shown


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and the noun it counts: "1 article", "2 articles", "1,200 entries"
    (``nouns``: the plural when it is not ``noun`` + s)."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def _cell(value: Any) -> str:
    if isinstance(value, Styled):
        return value
    return "" if value is None else escape(str(value))


def show(
    value: Any,
    columns: Sequence[str],
    rows: Iterable[Iterable[Any]],
    *,
    as_json: bool,
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """What a command lists: ``value`` as JSON with ``--json``, else ``rows`` as a
    ``table`` under ``columns`` (or ``empty``, when given, instead of a table without
    rows). ``rows`` is read for the table only: a generator costs nothing with ``--json``."""
    if as_json:
        print_json(value)
        return
    listed = list(rows)
    if not listed and empty is not None:
        Console().print(empty)
        return
    Console().print(table(columns, listed, title=title))

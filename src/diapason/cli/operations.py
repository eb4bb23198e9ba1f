"""Operations: ``backup`` and ``restore`` (docs/operations.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import TaskID

from diapason.backup import Manifest, Progress, backup, restore
from diapason.cli.common import (
    data_option,
    json_option,
    opened,
    print_json,
    progress_bar,
    settings_for,
)
from diapason.settings import mask_url_password


@contextmanager
def _progress(disabled: bool) -> Iterator[Progress]:
    """The rich progress bar, one task per step (database, files, checking)."""
    with progress_bar(disabled) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(what: str, done: int, total: int | None) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield advance


def _summary(manifest: Manifest) -> dict[str, object]:
    return {
        "node": manifest.node_name,
        "dialect": manifest.dialect,
        "schema_revision": manifest.schema_revision,
        "created": manifest.created,
        "database_bytes": manifest.database.size,
        "files": [entry.path for entry in manifest.files],
    }


@click.command("backup")
@click.argument("destination", type=click.Path(path_type=Path, file_okay=False))
@data_option
@json_option
def backup_command(destination: Path, data_dir: Path | None, as_json: bool) -> None:
    """Copy the node (its database and data folder) into DESTINATION, a new or empty
    folder, while it runs."""
    settings = settings_for(data_dir)
    with opened(data_dir):  # the database must be this folder's, and answer
        pass
    with _progress(as_json) as advance:
        manifest = backup(settings, destination, datetime.now(UTC), advance)
    if as_json:
        print_json({"backup": str(destination), **_summary(manifest)})
        return
    Console().print(
        f"Backed up node [bold]{escape(manifest.node_name)}[/bold] ({manifest.dialect}, "
        f"{manifest.database.size:,} bytes of database, {len(manifest.files)} files) to "
        f"{escape(str(destination))}."
    )


@click.command("restore")
@click.argument("source", type=click.Path(path_type=Path, file_okay=False, exists=True))
@data_option
@click.option(
    "--database-url",
    envvar="DIAPASON_DATABASE_URL",
    default=None,
    help="The database to restore into (env DIAPASON_DATABASE_URL; default for an SQLite "
    "backup: the data folder's own file).",
)
@click.option(
    "--force", is_flag=True, help="Overwrite a data folder or database that is not empty."
)
@json_option
def restore_command(
    source: Path, data_dir: Path | None, database_url: str | None, force: bool, as_json: bool
) -> None:
    """Bring the backup in SOURCE back into the data folder and its database, then check
    the audit trail."""
    folder = Path(data_dir or "diapason-data").expanduser()
    with _progress(as_json) as advance:
        manifest = restore(source, folder, database_url or None, force=force, progress=advance)
    with opened(folder, database_url=database_url or None) as node:
        verified = node.audit.verify()
    if as_json:
        print_json(
            {
                "restored": str(folder),
                **_summary(manifest),
                "audit": {"ok": verified.ok, "checked": verified.checked},
            }
        )
    else:
        where = mask_url_password(node.settings.database_url.reveal())
        Console().print(
            f"Restored node [bold]{escape(manifest.node_name)}[/bold] (backup of "
            f"{escape(manifest.created)}) into {escape(str(folder))} and {escape(where)}."
        )
        if verified.ok:
            Console().print(f"[green]audit trail intact[/green]: {verified.checked:,} entries")
        else:
            Console().print(f"[red]audit trail broken[/red]: {escape(verified.message)}")
    if not verified.ok:
        sys.exit(1)

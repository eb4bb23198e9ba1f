"""Operations: ``backup``, ``restore`` and ``migrate-to`` (docs/operations.md)."""

from __future__ import annotations

import dataclasses
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
    actor,
    data_option,
    json_option,
    opened,
    print_json,
    progress_bar,
    settings_for,
)
from diapason.node import Node, record_database
from diapason.settings import (
    DEFAULT_DATABASE_FILE,
    Secret,
    database_identity,
    mask_url_password,
)
from diapason.store.transfer import BATCH_ROWS, TransferError, check_transfer, copy_database


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


# The SQLite file a node moved away from, kept beside its data folder's new record.
MIGRATED_SUFFIX = ".migrated"


@click.command("migrate-to")
@click.argument("url")
@data_option
@click.option(
    "--batch",
    default=BATCH_ROWS,
    show_default=True,
    type=click.IntRange(100, 1_000_000),
    help="Rows copied per batch.",
)
@json_option
def migrate_to_command(url: str, data_dir: Path | None, batch: int, as_json: bool) -> None:
    """Move the node to the empty database at URL (SQLite to PostgreSQL): copy every table,
    compare row counts, verify the audit trail there, and make the data folder use it.
    Stop the node first."""
    settings = settings_for(data_dir)
    source_url = settings.database_url.reveal()
    shown = mask_url_password(url)
    if database_identity(source_url) == database_identity(url):
        raise click.BadParameter(f"{shown} is the node's own database", param_hint="URL")
    with opened(data_dir) as node:  # migrated to this version's schema, its key checked
        try:
            check_transfer(source_url, url)  # refused before anything is written
        except TransferError as error:
            raise click.ClickException(str(error)) from None
        node.audit.close_polls()
        node.audit.append(
            actor(),
            "migrate",
            details={"migrate_to": shown, "from": mask_url_password(source_url)},
        )
    with _progress(as_json) as advance:
        try:
            transfer = copy_database(
                source_url,
                url,
                progress=lambda table, done, total: advance(table, done, total),
                batch_rows=batch,
            )
        except TransferError as error:
            raise click.ClickException(str(error)) from None
    target = Node.open(dataclasses.replace(settings, database_url=Secret(url)))
    try:
        verified = target.audit.verify()
    finally:
        target.close()
    if not verified.ok:
        raise click.ClickException(
            f"the audit trail copied to {shown} does not verify ({verified.message}): the "
            "data folder still uses its old database"
        )
    moved = _move_aside(settings.data_dir, source_url)
    record_database(settings.data_dir, url)
    if as_json:
        print_json(
            {
                "migrated_to": shown,
                "rows": transfer.rows,
                "audit": {"ok": verified.ok, "checked": verified.checked},
                "old_database": str(moved) if moved else None,
            }
        )
        return
    console = Console()
    console.print(
        f"Copied {transfer.total:,} rows of {len(transfer.rows)} tables to {escape(shown)}; "
        f"row counts match; [green]audit trail intact[/green]: {verified.checked:,} entries."
    )
    console.print(f"The data folder {escape(str(settings.data_dir))} now uses {escape(shown)}.")
    if moved is not None:
        console.print(f"The old SQLite database is kept as {escape(str(moved))}.")


def _move_aside(folder: Path, source_url: str) -> Path | None:
    """Rename the folder's own SQLite database (the source) so that nothing opens it by
    mistake; the copy is kept until the operator removes it. None: it was elsewhere."""
    own = folder / DEFAULT_DATABASE_FILE
    if not own.exists() or database_identity(source_url) != database_identity(
        f"sqlite:///{own.resolve()}"
    ):
        return None
    moved = own.with_name(own.name + MIGRATED_SUFFIX)
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{own}{suffix}")
        if path.exists():
            path.replace(Path(f"{moved}{suffix}"))
    return moved

"""TAXII API roots and collections: ``diapason api-root …`` and ``diapason collection …``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from diapason.cli.common import actor, data_option, json_option, opened, plural, print_json, stderr
from diapason.exchange.collections import DEFAULT_API_ROOT, DEFAULT_MAX_CONTENT_LENGTH


@click.group("api-root")
def api_root_group() -> None:
    """TAXII API roots (served under /taxii2/NAME/)."""


@api_root_group.command("add")
@data_option
@click.argument("name")
@click.option("--title", required=True, help="Shown to TAXII clients.")
@click.option("--description", default=None)
@click.option(
    "--max-content-length",
    type=click.IntRange(1),
    default=DEFAULT_MAX_CONTENT_LENGTH,
    show_default=True,
    help="Largest request body accepted, in bytes.",
)
def api_root_add(
    data_dir: Path | None,
    name: str,
    title: str,
    description: str | None,
    max_content_length: int,
) -> None:
    """Add an API root."""
    with opened(data_dir) as node:
        root = node.collections.add_api_root(name, title, description, max_content_length)
        node.audit.append(actor(), "config", details={"api_root_add": root.name})
    Console().print(f"API root {escape(root.name)} added: /taxii2/{escape(root.name)}/")


@api_root_group.command("list")
@data_option
@json_option
def api_root_list(data_dir: Path | None, as_json: bool) -> None:
    """List API roots."""
    with opened(data_dir) as node:
        roots = node.collections.api_roots()
    if as_json:
        print_json([root.__dict__ for root in roots])
        return
    for root in roots:
        Console().print(
            f"/taxii2/{escape(root.name)}/  {escape(root.title)}  "
            f"(max {root.max_content_length:,} bytes)"
        )


@click.group("collection")
def collection_group() -> None:
    """TAXII collections and who may read or write them."""


@collection_group.command("add")
@data_option
@click.argument("title")
@click.option("--alias", default=None, help="A short name, unique in its API root.")
@click.option("--description", default=None)
@click.option("--api-root", default=DEFAULT_API_ROOT, show_default=True)
@click.option("--id", "collection_id", default=None, help="A UUID (default: a new one).")
@json_option
def collection_add(
    data_dir: Path | None,
    title: str,
    alias: str | None,
    description: str | None,
    api_root: str,
    collection_id: str | None,
    as_json: bool,
) -> None:
    """Add a collection. Nobody but admins may use it until granted (collection grant)."""
    with opened(data_dir) as node:
        collection = node.collections.add(
            api_root, title, alias=alias, description=description, collection_id=collection_id
        )
        node.audit.append(
            actor(), "collection_create", details={"collection": collection.id, "title": title}
        )
    if as_json:
        print_json(collection.__dict__)
    else:
        Console().print(
            f"collection {collection.id} added: /taxii2/{api_root}/collections/{collection.id}/"
        )


@collection_group.command("list")
@data_option
@json_option
def collection_list(data_dir: Path | None, as_json: bool) -> None:
    """List collections and their grants."""
    with opened(data_dir) as node:
        found = node.collections.all()
        grants = node.collections.grants()
    if as_json:
        print_json(
            [
                {
                    **collection.__dict__,
                    "grants": [
                        {"username": g.username, "read": g.can_read, "write": g.can_write}
                        for g in grants
                        if g.collection_id == collection.id
                    ],
                }
                for collection in found
            ]
        )
        return
    console = Console()
    for collection in found:
        rights = ", ".join(
            f"{g.username}:{'r' if g.can_read else ''}{'w' if g.can_write else ''}"
            for g in grants
            if g.collection_id == collection.id
        )
        console.print(
            f"{collection.id}  {escape(collection.alias or '-')}  {escape(collection.title)}  "
            f"[{escape(collection.api_root)}]  {escape(rights or 'admins only')}"
        )


@collection_group.command("grant")
@data_option
@click.argument("collection")
@click.argument("username")
@click.option("--read/--no-read", default=True, show_default=True)
@click.option("--write/--no-write", default=False, show_default=True)
def collection_grant(
    data_dir: Path | None, collection: str, username: str, read: bool, write: bool
) -> None:
    """Let a user (or a partner node's account) read and/or write a collection."""
    with opened(data_dir) as node:
        if node.accounts.get_user(username) is None:
            raise click.ClickException(f"no user {username!r}")
        found = node.collections.find(collection)
        node.collections.grant(found.id, username, read=read, write=write)
        node.audit.append(
            actor(),
            "collection_update",
            details={"collection": found.id, "username": username, "read": read, "write": write},
        )
    Console().print(
        f"{escape(username)} on {found.id}: read={'yes' if read else 'no'}, "
        f"write={'yes' if write else 'no'}"
    )


@collection_group.command("revoke")
@data_option
@click.argument("collection")
@click.argument("username")
def collection_revoke(data_dir: Path | None, collection: str, username: str) -> None:
    """Take away a user's access to a collection."""
    with opened(data_dir) as node:
        found = node.collections.find(collection)
        node.collections.grant(found.id, username, read=False, write=False)
        node.audit.append(
            actor(), "collection_update", details={"collection": found.id, "username": username}
        )
    Console().print(f"{escape(username)} has no more access to {found.id}")


@collection_group.command("fill")
@data_option
@click.argument("collection")
@click.option("--type", "types", multiple=True, help="Only this STIX type (repeatable).")
@click.option("--all-versions", is_flag=True, help="Every stored version, not only the current.")
def collection_fill(
    data_dir: Path | None, collection: str, types: tuple[str, ...], all_versions: bool
) -> None:
    """Put stored objects (current versions, or all) in a collection, with a progress bar."""
    with opened(data_dir) as node:
        found = node.collections.find(collection)
        with Progress(
            TextColumn("fill"), BarColumn(), MofNCompleteColumn(), console=stderr
        ) as progress:
            task = progress.add_task("fill", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            added = node.collections.fill(
                found.id, types=types, all_versions=all_versions, progress=advance
            )
        node.audit.append(actor(), "config", details={"collection_fill": found.id, "added": added})
    Console().print(f"{plural(added, 'object version')} added to {found.id}")

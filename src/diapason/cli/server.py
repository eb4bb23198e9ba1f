"""Setting a node up and serving it: ``init`` and ``serve``."""

from __future__ import annotations

import os
from pathlib import Path

import click
import uvicorn
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import actor, data_option, json_option, print_json, settings_for
from diapason.node import Initialised, init_node
from diapason.settings import Settings


def _announce(settings: Settings, initialised: Initialised, console: Console) -> None:
    console.print(
        f"Node [bold]{escape(settings.node_name)}[/bold] initialised in "
        f"{escape(str(settings.data_dir))} ({settings.database_dialect})."
    )
    console.print(
        f"Admin user [bold]{escape(initialised.admin.username)}[/bold]; its API token is shown "
        "this once, keep it safe:"
    )
    click.echo(initialised.token.secret)


@click.command("init")
@data_option
@click.option("--node-name", default=None, help="This node's name, as partners know it.")
@json_option
def init_command(data_dir: Path | None, node_name: str | None, as_json: bool) -> None:
    """Create the data folder, its config file and database, and the first admin account."""
    settings = settings_for(data_dir, node_name=node_name)
    node, initialised = init_node(settings, actor())
    node.close()
    if as_json:
        payload: dict[str, object] = {
            "initialised": initialised is not None,
            "node": node.settings.node_name,
            "data": str(node.settings.data_dir),
        }
        if initialised is not None:
            payload["admin"] = {
                "id": initialised.admin.id,
                "username": initialised.admin.username,
                "role": initialised.admin.role,
            }
            payload["token"] = initialised.token.secret
        print_json(payload)
    elif initialised is None:
        Console().print(f"Node already initialised in {escape(str(node.settings.data_dir))}.")
    else:
        _announce(node.settings, initialised, Console())


@click.command("serve")
@data_option
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default 8000).")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Worker processes.")
def serve_command(
    data_dir: Path | None, host: str | None, port: int | None, workers: int | None
) -> None:
    """Serve the node over HTTP (initialising it on first run)."""
    settings = settings_for(data_dir, host=host, port=port, workers=workers)
    node, initialised = init_node(settings, actor())
    settings = node.settings
    node.close()
    console = Console()
    if initialised is not None:
        _announce(settings, initialised, console)
    console.print(
        f"Serving node {escape(settings.node_name)} on http://{settings.host}:{settings.port}/ "
        "(health: /health). Ctrl+C stops it."
    )
    # Workers are separate processes: they rebuild the settings from the environment.
    os.environ["DIAPASON_DATA"] = str(settings.data_dir.resolve())
    uvicorn.run(
        "diapason.web.app:create_app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        server_header=False,
        # The client address (sign-in throttling, the audit trail) and scheme (HSTS) come
        # from X-Forwarded-For and -Proto only when a trusted proxy sends them.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )

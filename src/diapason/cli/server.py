"""Setting a node up and serving it: ``init`` and ``serve``."""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import uvicorn
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import actor, data_option, json_option, print_json, settings_for
from diapason.http.metrics import metrics_folder
from diapason.node import Initialised, client_identity, init_node
from diapason.settings import SETTINGS_TABLE, Settings
from diapason.tls import Identity, client_context, not_after, server_context


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


# The settings naming files that worker processes need too (they rebuild the settings from
# the environment, where these are written as absolute paths).
_TLS_FILES = ("tls_cert", "tls_key", "client_ca", "sync_cert", "sync_key")


def _tls(settings: Settings, console: Console) -> dict[str, Any]:
    """uvicorn's TLS options from the settings, every file checked first (one line if one
    cannot be used); none without ``tls_cert``."""
    for name in _TLS_FILES:
        value = getattr(settings, name)
        if value is not None:
            os.environ[SETTINGS_TABLE[name][0]] = str(value.resolve())
    identity = client_identity(settings)
    if identity is not None and identity.cert != settings.tls_cert:
        client_context(None, None, identity)  # sync_cert and sync_key can be used
    if settings.tls_cert is None or settings.tls_key is None:
        return {}
    cert, key = settings.tls_cert.resolve(), settings.tls_key.resolve()
    client_ca = settings.client_ca.resolve() if settings.client_ca is not None else None
    required = settings.client_auth == "required"
    server_context(Identity(cert, key), client_ca, required)
    expires = not_after(cert)
    if expires is not None and expires < datetime.now(UTC):
        console.print(
            f"[bold red]warning:[/bold red] tls_cert {escape(str(cert))} expired on "
            f"{expires:%Y-%m-%d}: partners will refuse it; renew it."
        )
    modes = {True: ssl.CERT_REQUIRED, False: ssl.CERT_OPTIONAL}
    return {
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
        "ssl_ca_certs": str(client_ca) if client_ca is not None else None,
        "ssl_cert_reqs": modes[required] if client_ca is not None else ssl.CERT_NONE,
    }


@click.command("serve")
@data_option
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default 8000).")
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Serve over https with this certificate (PEM, with its chain; env DIAPASON_TLS_CERT).",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The certificate's private key (PEM, no password; env DIAPASON_TLS_KEY).",
)
@click.option(
    "--client-ca",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Ask clients for a certificate signed by this CA (PEM; env DIAPASON_CLIENT_CA).",
)
def serve_command(
    data_dir: Path | None,
    host: str | None,
    port: int | None,
    workers: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    client_ca: Path | None,
) -> None:
    """Serve the node over HTTP, or HTTPS with --tls-cert (initialising it on first run)."""
    settings = settings_for(
        data_dir,
        host=host,
        port=port,
        workers=workers,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
    )
    console = Console()
    tls = _tls(settings, console)
    node, initialised = init_node(settings, actor())
    settings = node.settings
    node.close()
    if initialised is not None:
        _announce(settings, initialised, console)
    scheme = "https" if tls else "http"
    asked = ""
    if settings.client_ca is not None:
        asked = f"; client certificates signed by {escape(str(settings.client_ca))} " + (
            "required" if settings.client_auth == "required" else "checked when presented"
        )
    console.print(
        f"Serving node {escape(settings.node_name)} on {scheme}://{settings.host}:"
        f"{settings.port}/ (health: /health{asked}). Ctrl+C stops it."
    )
    # Workers are separate processes: they rebuild the settings from the environment.
    os.environ["DIAPASON_DATA"] = str(settings.data_dir.resolve())
    # Their request figures are written in one folder, summed by a scrape (/metrics).
    metrics_folder(settings.data_dir)
    uvicorn.run(
        "diapason.web.app:create_app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        server_header=False,
        # h11 with the client certificate in each request's scope (web/serving.py).
        http="diapason.web.serving:ClientCertificateH11",
        **tls,
        # The client address (sign-in throttling, the audit trail) and scheme (HSTS) come
        # from X-Forwarded-For and -Proto only when a trusted proxy sends them.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )

"""The ``diapason`` command line: one group, commands in the modules beside this one."""

from __future__ import annotations

import sys

import click

from diapason.cli.admin import audit_group, token_group, user_group
from diapason.cli.anticipate import anticipate_group
from diapason.cli.common import KNOWN_ERRORS
from diapason.cli.coordinate import coordinate_group
from diapason.cli.demo import demo_command
from diapason.cli.exchange import api_root_group, collection_group
from diapason.cli.federation import partner_group, release_group, review_command, sync_command
from diapason.cli.objects import export_command, import_command, search_command, show_command
from diapason.cli.osint import eval_group, gazetteer_group, ingest_command
from diapason.cli.server import init_command, serve_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="diapason")
def cli() -> None:
    """Diapason: a node for bilateral security cooperation (STIX 2.1 over TAXII 2.1).

    Every command takes the node's data folder as --data DIR or DIAPASON_DATA, and its
    database as DIAPASON_DATABASE_URL (default: a SQLite file in the data folder).
    """


for command in (
    init_command,
    serve_command,
    import_command,
    export_command,
    search_command,
    show_command,
    audit_group,
    user_group,
    token_group,
    api_root_group,
    collection_group,
    partner_group,
    sync_command,
    release_group,
    demo_command,
    review_command,
    anticipate_group,
    coordinate_group,
    ingest_command,
    eval_group,
    gazetteer_group,
):
    cli.add_command(command)


def main() -> None:
    """Entry point: known errors become one line on stderr and exit code 1, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except KNOWN_ERRORS as error:
        click.echo(f"diapason: error: {error}", err=True)
        sys.exit(1)
    except OSError as error:
        # A file or folder the operating system refused: say which, without a traceback.
        where = f": {error.filename}" if error.filename else ""
        click.echo(f"diapason: error: {error.strerror or error}{where}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)

"""The ``diapason`` command line: one group, commands in the modules beside this one."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

import click

from diapason.errors import DiapasonError

# Each command, and where it is defined. A command's module is imported only when that
# command runs (or when the help lists every command): the commands pull in very different
# libraries (SciPy for anticipate, the web server for serve and demo), and `diapason show`
# should not wait for all of them (docs/cli.md, "Start-up").
COMMANDS: dict[str, str] = {
    "anticipate": "diapason.cli.anticipate:anticipate_group",
    "api-root": "diapason.cli.collections:api_root_group",
    "audit": "diapason.cli.admin:audit_group",
    "backup": "diapason.cli.operations:backup_command",
    "collection": "diapason.cli.collections:collection_group",
    "coordinate": "diapason.cli.coordinate:coordinate_group",
    "demo": "diapason.cli.demo:demo_command",
    "eval": "diapason.cli.osint:eval_group",
    "export": "diapason.cli.objects:export_command",
    "gazetteer": "diapason.cli.osint:gazetteer_group",
    "import": "diapason.cli.objects:import_command",
    "ingest": "diapason.cli.osint:ingest_command",
    "init": "diapason.cli.server:init_command",
    "migrate-to": "diapason.cli.operations:migrate_to_command",
    "partner": "diapason.cli.exchange:partner_group",
    "protect": "diapason.cli.persons:protect_command",
    "release": "diapason.cli.exchange:release_group",
    "restore": "diapason.cli.operations:restore_command",
    "review": "diapason.cli.exchange:review_command",
    "search": "diapason.cli.objects:search_command",
    "serve": "diapason.cli.server:serve_command",
    "show": "diapason.cli.objects:show_command",
    "sync": "diapason.cli.exchange:sync_command",
    "token": "diapason.cli.admin:token_group",
    "user": "diapason.cli.admin:user_group",
}


class LazyGroup(click.Group):
    """A group whose commands are imported from ``COMMANDS`` when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="diapason")
def cli() -> None:
    """Diapason: a node for bilateral security cooperation (STIX 2.1 over TAXII 2.1).

    Every command takes the node's data folder as --data DIR or DIAPASON_DATA, and its
    database as DIAPASON_DATABASE_URL (default: a SQLite file in the data folder).
    """


def main(args: Sequence[str] | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
    """Entry point: known errors become one line on stderr and exit code 1, never a traceback.

    ``args`` default to the process's; ``clock`` is the time the joint mechanism's commands
    see (default: now; tests fix it), the root context's object."""
    try:
        cli.main(args, standalone_mode=False, obj=clock)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except DiapasonError as error:
        click.echo(f"diapason: error: {error}", err=True)
        sys.exit(1)
    except OSError as error:
        # A file or folder the operating system refused: say which, without a traceback.
        where = f": {error.filename}" if error.filename else ""
        click.echo(f"diapason: error: {error.strerror or error}{where}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)

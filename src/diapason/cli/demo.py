"""``diapason demo``: two nodes, rabat and paris, sharing under the release policy."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import Styled, json_option, print_json, table

MARKER = ".diapason-demo"


def invoked_as(argv0: str, executable: str, cwd: str) -> str:
    """The command as the user ran it, for hints to copy: ``.venv/bin/diapason`` when run
    as that, a bare ``diapason`` when found on PATH, ``.venv/bin/python -m diapason`` when
    run as a module; paths under ``cwd`` relative to it, others absolute."""

    def shown(path: str) -> str:
        absolute = os.path.normpath(os.path.join(cwd, path))
        relative = os.path.relpath(absolute, cwd)
        return absolute if relative.startswith("..") else relative

    if os.path.basename(argv0) == "__main__.py" or not argv0:
        return f"{shown(executable)} -m diapason"
    if os.sep not in argv0:
        return argv0
    return shown(argv0)


@click.command("demo")
@click.option(
    "--data-root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("diapason-demo"),
    show_default=True,
    help="Folder of the two nodes' data (made anew at each run).",
)
@click.option("--ports", default="8701,8702", show_default=True, help="Ports of rabat,paris.")
@click.option("--once", is_flag=True, help="Print what each side sees, then stop both nodes.")
@json_option
def demo_command(data_root: Path, ports: str, once: bool, as_json: bool) -> None:
    """Start two nodes, rabat and paris, partnered both ways; load samples under every
    marking; let them sync; print what each side sees and why. Ctrl+C stops them."""
    from diapason import demo

    try:
        rabat_port, paris_port = (int(value) for value in ports.split(","))
    except ValueError:
        raise click.BadParameter("two port numbers, e.g. 8701,8702", param_hint="--ports") from None
    if data_root.exists():
        if not (data_root / MARKER).exists():
            raise click.ClickException(
                f"{data_root} exists and is not a demo folder; choose another --data-root"
            )
        shutil.rmtree(data_root)
    data_root.mkdir(parents=True)
    (data_root / MARKER).write_text("made by diapason demo; deleted at its next run\n")
    console = Console(stderr=as_json)

    def say(text: str) -> None:
        console.print(escape(text))

    rabat, paris = demo.set_up(data_root, (rabat_port, paris_port), say)
    try:
        sent = {"rabat": demo.load(rabat, paris), "paris": demo.load(paris, rabat)}
        say(f"loaded {len(sent['rabat'])} sample objects on each node, under every marking")
        for node in (rabat, paris):
            demo.start(node)
        for node in (rabat, paris):
            demo.wait_healthy(node)
        say(f"serving rabat on {rabat.url} and paris on {paris.url}")
        say(
            "over mutual TLS: each node checks the other's certificate against the demo's CA "
            f"and presents its own; a browser warns about that CA ({rabat.ca}) unless told "
            "to trust it"
        )
        took = max(demo.wait_arrived(paris, sent["rabat"]), demo.wait_arrived(rabat, sent["paris"]))
        say(f"both sides hold what they are entitled to, {took:.1f} s after the nodes started")
        results = {
            "rabat -> paris": demo.outcome(rabat, paris, sent["rabat"]),
            "paris -> rabat": demo.outcome(paris, rabat, sent["paris"]),
        }
        if as_json:
            print_json(
                {
                    "urls": {"rabat": rabat.url, "paris": paris.url},
                    "flows": results,
                    "ok": all(
                        r["seen"] == r["expected"] for rows in results.values() for r in rows
                    ),
                }
            )
        else:
            for flow, rows in results.items():
                seen = {True: Styled("[green]yes[/green]"), False: Styled("[red]no[/red]")}
                console.print(
                    table(
                        ["object", "seen there", "decision", "why"],
                        ([r["label"], seen[r["seen"]], r["code"], r["reason"]] for r in rows),
                        title=flow,
                    )
                )
        if once:
            return
        command = invoked_as(sys.argv[0], sys.executable, os.getcwd())
        console.print(
            escape(
                "Both nodes keep running; explore them with the CLI, e.g. "
                f"`{command} search --data {data_root}/paris` or `{command} release show ID "
                f"--data {data_root}/rabat`. Ctrl+C stops them."
            )
        )
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping both nodes")
    finally:
        for node in (rabat, paris):
            demo.stop(node)

"""``diapason protect``: data-protection metadata on records about persons."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from diapason.cli.common import actor, data_option, json_option, opened, print_json
from diapason.domain.protection import SubjectCategory
from diapason.persons import ProtectRefused, parse_metadata


def _ids_from(path: str) -> list[str]:
    """One id a line (blank lines and ``#`` comments skipped); ``-`` is standard input."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


@click.command("protect")
@data_option
@click.argument("ids", nargs=-1)
@click.option(
    "--ids-from",
    "ids_from",
    default=None,
    metavar="FILE",
    help="Read more ids from FILE, one a line ('-': standard input).",
)
@click.option(
    "--category",
    required=True,
    help="Category of data subject: " + ", ".join(c.value for c in SubjectCategory) + ".",
)
@click.option("--review-by", "review_by", required=True, help="Review-by date, YYYY-MM-DD.")
@click.option("--nature", default=None, help="fact or assessment.")
@click.option("--legal-basis", "legal_basis", default=None, help="Legal basis, free text.")
@click.option("--purpose", default=None, help="Purpose of the processing, free text.")
@json_option
def protect_command(
    data_dir: Path | None,
    ids: tuple[str, ...],
    ids_from: str | None,
    category: str,
    review_by: str,
    nature: str | None,
    legal_basis: str | None,
    purpose: str | None,
    as_json: bool,
) -> None:
    """Add data-protection metadata to records about persons (IDs, and --ids-from FILE).

    Each record gets a new version (same id, later modified) carrying the category of data
    subject, the review-by date and, if given, nature, legal basis and purpose. All the
    records are protected or none: a record not held, not about a person, revoked, or
    created by another organisation (only its originator may version it) stops the
    command with its reason. Audited (protect).
    """
    wanted = list(ids) + (_ids_from(ids_from) if ids_from is not None else [])
    if not wanted:
        raise click.UsageError("give the ids of the records to protect (or --ids-from FILE)")
    metadata = parse_metadata(
        category, review_by, nature=nature, legal_basis=legal_basis, purpose=purpose
    )
    with opened(data_dir) as node:
        try:
            done = node.persons(actor()).protect(wanted, metadata)
        except ProtectRefused as error:
            raise ProtectRefused(f"nothing protected: {error}") from None
    versions = {object_id: version["modified"] for object_id, version in done.versions.items()}
    if as_json:
        print_json({"protected": versions})
        return
    console = Console()
    for object_id, modified in versions.items():
        console.print(f"{object_id}: protected (version {modified})", highlight=False)

"""Commands on STIX objects: import, export, search, show."""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from diapason.bundles import BundleError, bundle_files, make_bundle
from diapason.cli.common import (
    actor,
    data_option,
    json_option,
    opened,
    plural,
    print_json,
    progress_bar,
    stderr,
    table,
)
from diapason.cli.misp import Sources, export_misp
from diapason.domain.labels import labels
from diapason.domain.protection import is_about_person
from diapason.domain.stix import StixError
from diapason.domain.timestamps import as_store_timestamp
from diapason.exchange.misp import is_feed_folder
from diapason.node import Node
from diapason.store.interface import PutReport, Query, StoredObject


@click.command("import")
@data_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", default=None, help="Provenance recorded with the objects.")
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["auto", "stix", "misp"]),
    default="auto",
    show_default=True,
    help="STIX 2.1 bundles, or MISP event JSON (an event, a 'response' list, a feed "
    "folder with its manifest.json); auto: told by each file's content.",
)
@json_option
def import_command(
    data_dir: Path | None,
    paths: tuple[Path, ...],
    source: str | None,
    input_format: str,
    as_json: bool,
) -> None:
    """Import STIX 2.1 bundles or MISP events: files, or folders searched for *.json.

    Each object is checked on its own: refused objects are reported (position, id, field,
    reason) and nothing of them is written; the others are written. A MISP file or feed
    is converted (misp-stix) and checked whole first: if any of its events or objects is
    refused, nothing of it is written. Importing the same input twice changes nothing.
    Exit code 1 if any file or object was refused.
    """
    files = list(import_sources(paths, input_format))
    if not files:
        raise click.UsageError("no bundle files found in the paths given")
    failed_files: list[str] = []
    with opened(data_dir) as node, progress_bar(as_json) as progress:
        limit = node.settings.max_request_bytes
        # One bar for the whole import, in files (a big file advances it object by object):
        # a line per file made rich redraw every earlier line at each new file.
        label = plural(len(files), "file")
        task = progress.add_task(label, total=len(files))
        batches = _Batches(node, source, progress, task, label)
        sources = Sources(node, limit, progress)
        for path in files:
            try:
                objects = sources.objects(path, input_format)
            except BundleError as error:
                failed_files.append(str(error))
                stderr.print(f"[red]error:[/red] {escape(str(error))}")
                progress.advance(task, 1)
                continue
            batches.add(path, objects)
        batches.flush()
        progress.update(task, completed=len(files))  # the shares' rounding, made whole
    totals = batches.report
    summary = {**_counts(totals), "files": len(files), "failed_files": failed_files}
    if sources.events:
        summary["misp_events"] = sources.events
    if as_json:
        print_json({**summary, "problems": batches.problems})
    else:
        Console().print(
            f"{plural(len(files), 'file')}: {summary['written']:,} written, "
            f"{summary['unchanged']:,} unchanged, {summary['refused']:,} refused"
            + (f", {plural(len(failed_files), 'file')} unreadable" if failed_files else "")
            + (f" ({plural(sources.events, 'MISP event')})" if sources.events else "")
        )
    if totals.refused or failed_files:
        sys.exit(1)


def import_sources(paths: tuple[Path, ...], input_format: str) -> Iterator[Path]:
    """The files to import, in a stable order; a MISP feed folder (with its manifest.json)
    is one source, read whole (unless STIX only is asked for)."""
    for path in paths:
        if input_format != "stix" and is_feed_folder(path):
            yield path
        else:
            yield from bundle_files([path])


def _counts(report: PutReport) -> dict[str, int]:
    return {
        "written": len(report.written),
        "unchanged": len(report.unchanged),
        "refused": len(report.refused),
    }


@dataclass(slots=True)
class _Segment:
    """Consecutive objects of one file within a batch."""

    path: Path
    first_index: int  # position in its file of the segment's first object
    count: int
    share: float  # of the file's step on the progress bar, per object


class _Batches:
    """The objects of the files read so far, written ``batch_size`` at a time whatever
    their files: a folder of many small bundles costs about what one bundle of all their
    objects costs (a transaction per file took over 100 s for 100,000 objects in 2,000
    files). Each batch and its audit entry, which names the files and positions it covers,
    commit together; problems are reported with their position in their own file."""

    def __init__(
        self, node: Node, source: str | None, progress: Progress, task: Any, label: str
    ) -> None:
        self.node = node
        self.label = label  # the bar's description, before the count of objects checked
        self.checked = 0
        self.source = source
        self.progress = progress
        self.task = task
        self.step = node.settings.batch_size
        self.objects: list[Any] = []
        self.segments: list[_Segment] = []
        self.report = PutReport()
        self.problems: list[dict[str, Any]] = []  # each refused object, with its file

    def add(self, path: Path, objects: list[Any]) -> None:
        if not objects:
            self.progress.advance(self.task, 1)
            return
        position = 0
        while position < len(objects):
            piece = objects[position : position + self.step - len(self.objects)]
            self.segments.append(_Segment(path, position, len(piece), 1 / len(objects)))
            self.objects.extend(piece)
            position += len(piece)
            if len(self.objects) >= self.step:
                self.flush()

    def flush(self) -> None:
        if not self.objects:
            return
        objects, segments = self.objects, self.segments
        self.objects, self.segments = [], []
        node = self.node
        details = {
            "files": [
                {
                    "file": str(segment.path),
                    "first_index": segment.first_index,
                    "count": segment.count,
                }
                for segment in segments
            ]
        }

        def audit(connection: Any, written: list[str]) -> None:
            node.audit.append(actor(), "import", written, details=details, connection=connection)

        done = node.store.put_many(
            self._ticking(objects, segments), source=self.source, on_write=audit
        )
        # Positions in the batch, back to positions in each file.
        starts: list[int] = []
        offset = 0
        for segment in segments:
            starts.append(offset)
            offset += segment.count

        def where(index: int) -> tuple[_Segment, int]:
            number = bisect_right(starts, index) - 1
            segment = segments[number]
            return segment, segment.first_index + index - starts[number]

        refused = []
        for problem in done.refused:
            segment, index = where(problem.index)
            in_file = replace(problem, index=index)
            stderr.print(f"[red]refused:[/red] {escape(segment.path.name)}: {escape(str(in_file))}")
            refused.append(in_file)
            self.problems.append({"file": str(segment.path), **in_file.as_dict()})
        versions = [
            (where(index)[1], object_id, modified) for index, object_id, modified in done.versions
        ]
        self.report.merge(PutReport(done.written, done.unchanged, refused, versions))

    def _ticking(
        self, objects: list[Any], segments: list[_Segment], every: int = 1_000
    ) -> Iterator[Any]:
        """The objects, advancing the progress bar as they are read (a batch is large)."""
        offset = 0
        for segment in segments:
            for start in range(0, segment.count, every):
                count = min(every, segment.count - start)
                yield from objects[offset + start : offset + start + count]
                self.checked += count
                self.progress.update(
                    self.task,
                    advance=count * segment.share,
                    description=f"{self.label}, {plural(self.checked, 'object')}",
                )
            offset += segment.count


def _timestamp_option(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return as_store_timestamp(value, name)
    except StixError as error:
        raise click.BadParameter(str(error), param_hint=f"--{name}") from None


def _query_options(function: Any) -> Any:
    for decorator in reversed(
        [
            click.option("--type", "types", multiple=True, help="STIX type (repeatable)."),
            click.option("--created-by", default=None, help="Author identity id."),
            click.option("--marking", default=None, help="A marking-definition id."),
            click.option("--since", default=None, help="Modified at or after (RFC 3339)."),
            click.option("--until", default=None, help="Modified before (RFC 3339)."),
            click.option("--include-revoked", is_flag=True, help="Also revoked objects."),
        ]
    ):
        function = decorator(function)
    return function


def _iterate(node: Node, query: Query) -> Iterator[StoredObject]:
    page = node.store.query(query)
    while True:
        yield from page.objects
        if page.next_after is None:
            return
        page = node.store.query(Query(**{**query.__dict__, "after": page.next_after}))


@click.command("export")
@data_option
@_query_options
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the bundle to this file (default: standard output).",
)
@click.option(
    "--reason",
    default=None,
    help="Why this export is made (recorded in the audit); records about persons are "
    "exported only with a reason.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["stix", "misp"]),
    default="stix",
    show_default=True,
    help="A STIX 2.1 bundle, or MISP event JSON (misp-stix) a MISP instance imports.",
)
@click.option(
    "--misp-distribution",
    type=click.IntRange(0, 3),
    default=0,
    show_default=True,
    help="With --format misp: the MISP distribution of the events (0: your organisation "
    "only, 1: this community, 2: connected communities, 3: all).",
)
def export_command(
    data_dir: Path | None,
    types: tuple[str, ...],
    created_by: str | None,
    marking: str | None,
    since: str | None,
    until: str | None,
    include_revoked: bool,
    output: Path | None,
    reason: str | None,
    output_format: str,
    misp_distribution: int,
) -> None:
    """Export the current version of matching objects as one STIX 2.1 bundle, or as MISP
    event JSON (--format misp)."""
    query = Query(
        types=types,
        created_by=created_by,
        marking=marking,
        since=_timestamp_option(since, "since"),
        until=_timestamp_option(until, "until"),
        include_revoked=include_revoked,
        limit=1000,
    )
    has_reason = bool(reason and reason.strip())
    with opened(data_dir) as node:
        total = node.store.count(include_revoked=include_revoked)
        with progress_bar(output is None) as progress:
            task = progress.add_task("export", total=total)
            exported: list[dict[str, Any]] = []
            persons = left_out = 0
            for stored in _iterate(node, query):
                progress.advance(task)
                if is_about_person(stored.object):
                    # Records about persons are personal data: they leave the node only
                    # for a stated reason, recorded with the export.
                    if not has_reason:
                        left_out += 1
                        continue
                    persons += 1
                exported.append(stored.object)
            progress.update(task, total=len(exported), completed=len(exported))
        problems: list[str] = []
        document: Any = make_bundle(exported)
        if output_format == "misp":
            document, problems = export_misp(node, exported, misp_distribution)
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
        details: dict[str, Any] = {
            "output": str(output) if output else "stdout",
            "count": len(exported),
        }
        if output_format == "misp":
            details["format"] = "misp"
            if problems:
                details["not_converted"] = len(problems)
        if persons:
            details.update(personal_data=True, persons=persons)
        if left_out:
            details["persons_left_out"] = left_out
        node.audit.append(
            actor(), "export", [obj["id"] for obj in exported], reason=reason, details=details
        )
    for problem in problems[:20]:
        stderr.print(f"[yellow]not converted by misp-stix:[/yellow] {escape(problem)}")
    if left_out:
        stderr.print(
            f"{plural(left_out, 'record')} about persons left out: give --reason (why they are "
            "exported: purpose or case reference) to include them"
        )
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        try:
            output.write_bytes(data)
        except OSError as error:
            raise BundleError(f"{output}: cannot be written: {error.strerror}") from None
        stderr.print(f"{plural(len(exported), 'object')} written to {escape(str(output))}")


def _title(obj: dict[str, Any]) -> str:
    for key in ("name", "value", "abstract", "content", "opinion", "relationship_type"):
        value = obj.get(key)
        if isinstance(value, str):
            return value if len(value) <= 80 else value[:79] + "…"
    return ""


@click.command("search")
@data_option
@click.argument("text", required=False)
@_query_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--after", default=None, type=int, help="Cursor from a previous page.")
@json_option
def search_command(
    data_dir: Path | None,
    text: str | None,
    types: tuple[str, ...],
    created_by: str | None,
    marking: str | None,
    since: str | None,
    until: str | None,
    include_revoked: bool,
    limit: int,
    after: int | None,
    as_json: bool,
) -> None:
    """Search current objects by words in their text and by filters."""
    query = Query(
        types=types,
        created_by=created_by,
        marking=marking,
        text=text,
        since=_timestamp_option(since, "since"),
        until=_timestamp_option(until, "until"),
        include_revoked=include_revoked,
        limit=limit,
        after=after,
    )
    with opened(data_dir) as node:
        page = node.store.query(query)
        node.audit.append(
            actor(),
            "consult",
            [stored.id for stored in page.objects],
            details={"search": text, "types": list(types)},
        )
    if as_json:
        print_json(
            {
                "objects": [stored.object for stored in page.objects],
                "next": page.next_after,
            }
        )
        return
    console = Console()
    console.print(
        table(
            ["id", "type", "title", "modified"],
            (
                [stored.id, stored.type, _title(stored.object), stored.modified]
                for stored in page.objects
            ),
        )
    )
    if page.next_after is not None:
        console.print(f"more: --after {page.next_after}")


@click.command("show")
@data_option
@click.argument("object_id")
@click.option("--version", "version", default=None, help="A given version (its 'modified').")
@click.option("--versions", "all_versions", is_flag=True, help="Every version, oldest first.")
@click.option("--reason", default=None, help="Why you consult it (recorded in the audit).")
@json_option
def show_command(
    data_dir: Path | None,
    object_id: str,
    version: str | None,
    all_versions: bool,
    reason: str | None,
    as_json: bool,
) -> None:
    """Show one object: its current version, a given version, or all versions."""
    with opened(data_dir) as node:
        if all_versions:
            found = node.store.versions(object_id)
        else:
            one = (
                node.store.get_version(object_id, _timestamp_option(version, "version") or "")
                if version
                else node.store.get(object_id)
            )
            found = [one] if one is not None else []
        if not found:
            raise click.ClickException(
                f"no object {object_id}" + (f" at {version}" if version else "")
            )
        neighbours = node.store.neighbours(object_id)
        definitions = node.ledger.context().definitions
        # A record about a person is personal data: consulting it needs a reason, and the
        # audit entry says so (as the web interface does).
        person = any(is_about_person(stored.object) for stored in found)
        node.audit.append(
            actor(),
            "consult",
            [object_id],
            reason=reason,
            details={"personal_data": True} if person else None,
        )
    today = datetime.now(UTC).date()
    if as_json:
        print_json(
            {
                "versions": [
                    {
                        "date_added": stored.date_added,
                        "current": stored.current,
                        "source": stored.source,
                        "labels": labels(stored.object, definitions, today=today),
                        "object": stored.object,
                    }
                    for stored in found
                ],
                "edges": [
                    {"source": e.source_id, "property": e.property, "target": e.target_id}
                    for e in neighbours
                ],
            }
        )
        return
    console = Console()
    for stored in found:
        state = "current" if stored.current else "earlier version"
        if stored.revoked:
            state += ", revoked"
        console.print(f"[bold]{escape(stored.id)}[/bold]  ({state}, added {stored.date_added})")
        for kind, text in labels(stored.object, definitions, today=today).items():
            console.print(f"  {kind.replace('_', ' ')}: {escape(text)}")
        console.print_json(orjson.dumps(stored.object).decode())
    if neighbours:
        console.print(
            table(
                ["source", "property", "target"],
                ([edge.source_id, edge.property, edge.target_id] for edge in neighbours),
                title="references",
            )
        )

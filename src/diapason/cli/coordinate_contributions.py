"""``diapason coordinate rfi|figure|opinion …``: requests for information, indicator
figures and shared assessments."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import Styled, data_option, json_option, plural, print_json, show, stderr
from diapason.cli.coordinate import coordination, show_written, tlp_option
from diapason.coordinate.opinions import PERIODS, SCORES
from diapason.domain.coordination import RFI_PRIORITIES


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# -- requests for information ---------------------------------------------------------------
@click.group("rfi")
def rfi_group() -> None:
    """Requests for information and expertise (as in SIENA): deadlines, answers, and the
    share answered in time per partner."""


@rfi_group.command("add")
@data_option
@click.argument("title")
@click.option("--question", required=True)
@click.option("--to", "addressed_to", required=True, help="The partner asked.")
@click.option("--deadline", required=True, help="Date (YYYY-MM-DD) or RFC 3339; ahead.")
@click.option("--priority", type=click.Choice(RFI_PRIORITIES), default="normal")
@click.option("--link", "links", multiple=True, help="An object the request is about (repeat).")
@tlp_option
@json_option
def rfi_add(
    data_dir: Path | None,
    title: str,
    question: str,
    addressed_to: str,
    deadline: str,
    priority: str,
    links: tuple[str, ...],
    tlp: str | None,
    as_json: bool,
) -> None:
    """Send a request for information to a partner."""
    with coordination(data_dir) as joint:
        revision = joint.create_request(
            title,
            question,
            addressed_to,
            deadline,
            priority=priority,
            linked_refs=list(links),
            tlp=tlp,
        )
    show_written(revision, as_json, "request")


@rfi_group.command("list")
@data_option
@click.option("--to", "addressed_to", default=None, help="Only those addressed to a partner.")
@click.option(
    "--state",
    type=click.Choice(["open", "answered", "closed", "cancelled", "late"]),
    default=None,
)
@json_option
def rfi_list(
    data_dir: Path | None, addressed_to: str | None, state: str | None, as_json: bool
) -> None:
    """Requests made and received, soonest deadline first; late ones flagged."""
    with coordination(data_dir) as joint:
        found = joint.requests(addressed_to=addressed_to, state=state)
    show(
        found,
        ["id", "deadline", "priority", "from", "to", "title", "state"],
        (
            [
                r["id"],
                r["deadline"][:16],
                r["priority"],
                r["requester"],
                r["addressed_to"],
                r["title"],
                Styled(
                    ("[red]LATE[/red] " if r["late"] else "")
                    + escape(r["state"])
                    + (f" in {r['days_to_answer']} d" if r["days_to_answer"] is not None else "")
                ),
            ]
            for r in found
        ),
        as_json=as_json,
        title="requests",
    )


@rfi_group.command("answer")
@data_option
@click.argument("request_id")
@click.option("--text", required=True, help="The answer.")
@click.option("--provide", "provided", multiple=True, help="An object the answer provides.")
@json_option
def rfi_answer(
    data_dir: Path | None, request_id: str, text: str, provided: tuple[str, ...], as_json: bool
) -> None:
    """Answer a request addressed to this node (a STIX note linking what it provides)."""
    with coordination(data_dir) as joint:
        answer = joint.answer_request(request_id, text, list(provided))
    if as_json:
        print_json(answer)
    else:
        Console().print(f"answer {escape(answer['id'])} to {escape(request_id)}")


@rfi_group.command("close")
@data_option
@click.argument("request_id")
@click.option("--cancel", is_flag=True, help="Cancelled rather than closed.")
@click.option("--note", default=None, help="Why.")
@json_option
def rfi_close(
    data_dir: Path | None, request_id: str, cancel: bool, note: str | None, as_json: bool
) -> None:
    """Close (or cancel) a request this node made; later answers are refused."""
    with coordination(data_dir) as joint:
        edit = joint.close_request(request_id, "cancelled" if cancel else "closed", note)
    show_written(edit, as_json, "closed")


@rfi_group.command("stats")
@data_option
@json_option
def rfi_stats(data_dir: Path | None, as_json: bool) -> None:
    """Per partner asked: requests, answered, share answered within the deadline and
    within 5 days (Europol reports about 80%), mean days to answer, late."""
    with coordination(data_dir) as joint:
        rows = joint.request_statistics()
    show(
        rows,
        ["partner", "requests", "answered", "in time", "≤ 5 days", "mean days", "late"],
        (
            [
                r["partner"],
                r["requests"],
                r["answered"],
                _share(r["share_in_time"]),
                _share(r["share_within_5_days"]),
                r["mean_days_to_answer"] if r["mean_days_to_answer"] is not None else "—",
                r["late"],
            ]
            for r in rows
        ),
        as_json=as_json,
        title="requests answered in time",
    )


# -- indicator figures ----------------------------------------------------------------------
@click.group("figure")
def figure_group() -> None:
    """Monthly aggregate figures of the shared migration-governance indicators."""


@figure_group.command("definitions")
@data_option
@click.option("--lang", type=click.Choice(["fr", "en"]), default="en")
@json_option
def figure_definitions(data_dir: Path | None, lang: str, as_json: bool) -> None:
    """The shared indicator definitions (the same file on every node)."""
    with coordination(data_dir) as joint:
        rows = joint.indicator_definitions()
    show(
        rows,
        ["code", "unit", "name", "definition"],
        ([d["code"], d["unit"], d["name"][lang], d["definition"][lang]] for d in rows),
        as_json=as_json,
        title="indicators",
    )


@figure_group.command("add")
@data_option
@click.argument("indicator")
@click.argument("month")
@click.argument("value")
@click.option("--comment", default=None, help="About the figure (never about a person).")
@tlp_option
@json_option
def figure_add(
    data_dir: Path | None,
    indicator: str,
    month: str,
    value: str,
    comment: str | None,
    tlp: str | None,
    as_json: bool,
) -> None:
    """Enter this side's figure for an indicator and a month (YYYY-MM). Entered twice:
    an error; use `figure correct` with a reason."""
    entry = {"indicator": indicator, "month": month, "value": value, "comment": comment}
    with coordination(data_dir) as joint:
        revision = joint.enter_figure({k: v for k, v in entry.items() if v is not None}, tlp=tlp)
    show_written(revision, as_json, "figure")


@figure_group.command("correct")
@data_option
@click.argument("indicator")
@click.argument("month")
@click.argument("value")
@click.option("--reason", required=True, help="Why the figure changes (kept in its history).")
@json_option
def figure_correct(
    data_dir: Path | None, indicator: str, month: str, value: str, reason: str, as_json: bool
) -> None:
    """Correct this side's figure: a new revision with its reason; the old value stays in
    the history."""
    with coordination(data_dir) as joint:
        edit = joint.correct_figure(indicator, month, value, reason)
    show_written(edit, as_json, "corrected")


@figure_group.command("import")
@data_option
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@json_option
def figure_import(data_dir: Path | None, path: Path, as_json: bool) -> None:
    """Enter figures from a CSV file (columns indicator, month, value[, comment]); the
    whole file is refused at the first row that is not an aggregate figure."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path}: not UTF-8 text") from None
    with coordination(data_dir) as joint:
        written = joint.enter_figures_csv(text)
    if as_json:
        print_json([r.as_dict() for r in written])
    else:
        Console().print(f"{plural(len(written), 'figure')} entered from {escape(str(path))}")


@figure_group.command("list")
@data_option
@click.option("--indicator", default=None)
@json_option
def figure_list(data_dir: Path | None, indicator: str | None, as_json: bool) -> None:
    """Figures of both sides, with their corrections."""
    with coordination(data_dir) as joint:
        rows = joint.figures(indicator)
    show(
        rows,
        ["indicator", "month", "side", "value", "corrected"],
        (
            [
                r["indicator"],
                r["month"],
                r["side"],
                r["value"],
                f"from {r['first_value']} ({len(r['corrections'])}x)" if r["corrections"] else "",
            ]
            for r in rows
        ),
        as_json=as_json,
        title="figures",
    )


@figure_group.command("chart")
@data_option
@click.argument("indicator")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), required=True)
def figure_chart(data_dir: Path | None, indicator: str, lang: str, output: Path) -> None:
    """Draw an indicator's monthly figures side by side, as an SVG file."""
    with coordination(data_dir) as joint:
        svg = joint.figures_chart(indicator, lang)
    output.write_text(svg, encoding="utf-8")
    stderr.print(f"chart written to {escape(str(output))}")


# -- opinions -------------------------------------------------------------------------------
@click.group("opinion")
def opinion_group() -> None:
    """Agreement or disagreement with the partner's assessments, and the convergence index."""


@opinion_group.command("add")
@data_option
@click.argument("object_ids", nargs=-1, required=True)
@click.option("--opinion", "level", type=click.Choice(list(SCORES)), required=True)
@click.option("--topic", required=True, help="What the assessments are about.")
@click.option("--explanation", default=None)
@tlp_option
@json_option
def opinion_add(
    data_dir: Path | None,
    object_ids: tuple[str, ...],
    level: str,
    topic: str,
    explanation: str | None,
    tlp: str | None,
    as_json: bool,
) -> None:
    """Record this side's opinion of partner assessments (a STIX opinion)."""
    with coordination(data_dir) as joint:
        obj = joint.record_opinion(list(object_ids), level, topic, explanation, tlp=tlp or "amber")
    if as_json:
        print_json(obj)
    else:
        Console().print(f"opinion {escape(obj['id'])}")


@opinion_group.command("list")
@data_option
@click.option("--topic", default=None)
@json_option
def opinion_list(data_dir: Path | None, topic: str | None, as_json: bool) -> None:
    """Opinions held, both sides, oldest first."""
    with coordination(data_dir) as joint:
        rows = joint.opinions(topic)
    show(
        rows,
        ["created", "side", "topic", "opinion", "about"],
        (
            [o["created"][:10], o["side"], o["topic"], o["opinion"], ", ".join(o["object_refs"])]
            for o in rows
        ),
        as_json=as_json,
        title="opinions",
    )


@opinion_group.command("convergence")
@data_option
@click.option("--period", type=click.Choice(PERIODS), default="quarter", show_default=True)
@click.option("--topic", default=None)
@json_option
def opinion_convergence(
    data_dir: Path | None, period: str, topic: str | None, as_json: bool
) -> None:
    """The convergence index per topic and period: 1 full agreement, 0 full disagreement
    (formula in docs/coordinate.md)."""
    with coordination(data_dir) as joint:
        rows = joint.convergence(period, topic)
    show(
        rows,
        ["topic", "period", "index", "views", "per side", "gap", "opinions"],
        (
            [
                r["topic"],
                r["period"],
                f"{r['index']:.2f}",
                r["verdict"],
                ", ".join(f"{k} {v:.2f}" for k, v in r["sides"].items()),
                f"{r['gap']:.2f}",
                r["opinions"],
            ]
            for r in rows
        ),
        as_json=as_json,
        title="convergence",
    )

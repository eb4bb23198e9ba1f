"""``diapason anticipate``: event series, forecasts, backtests and alerts."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from diapason.anticipate.alerts import LEVEL, WINDOW, Alert, detect_alerts
from diapason.anticipate.backtest import BASELINES, BacktestResult, backtest
from diapason.anticipate.chart import chart_svg, pit_histogram_svg
from diapason.anticipate.events import store_series
from diapason.anticipate.forecast import Forecast, forecast
from diapason.anticipate.periods import FREQUENCIES, Frequency, PeriodError, parse_period
from diapason.anticipate.publish import publish_alerts
from diapason.anticipate.series import Series, read_csv, write_csv
from diapason.anticipate.synthetic import synthetic_series
from diapason.anticipate.ucdp import (
    ATTRIBUTION,
    FORMATS,
    Format,
    UcdpError,
    import_ucdp,
    read_ucdp,
    shipped_path,
)
from diapason.cli.common import (
    actor,
    data_option,
    json_option,
    opened,
    plural,
    print_json,
    progress_bar,
    show,
    stderr,
    table,
)
from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.grading import Lang
from diapason.node import Node


@dataclass
class Loaded:
    """Series from a CSV file or from the store, and what to say about them."""

    series: list[Series]
    notes: list[str] = field(default_factory=list)
    markings: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """Where the series come from: a CSV file, or the store and which series to build."""

    data_dir: Path | None
    csv_path: Path | None
    places: tuple[str, ...]
    categories: tuple[str, ...]
    frequency: Frequency
    until: str | None
    skip_bad_rows: bool


def _source_options(function: Any) -> Any:
    """The options that choose the series, handed to the command as one ``source``."""

    @functools.wraps(function)
    def command(
        *args: Any,
        data_dir: Path | None,
        csv_path: Path | None,
        places: tuple[str, ...],
        categories: tuple[str, ...],
        frequency: Frequency,
        until: str | None,
        skip_bad_rows: bool,
        **kwargs: Any,
    ) -> Any:
        source = Source(data_dir, csv_path, places, categories, frequency, until, skip_bad_rows)
        return function(*args, source=source, **kwargs)

    for decorator in reversed(
        [
            data_option,
            click.option(
                "--csv",
                "csv_path",
                type=click.Path(path_type=Path, dir_okay=False, exists=True),
                default=None,
                help="Read series from a CSV file (columns period,series,count) instead of "
                "the store.",
            ),
            click.option(
                "--place",
                "places",
                multiple=True,
                help="From the store: all, a country (ML), ML/<region> or a named region "
                "(sahel-saharan, maghreb, ...); repeatable. Default: all.",
            ),
            click.option(
                "--category",
                "categories",
                multiple=True,
                help="From the store: all, a topic (terrorism, migration, ...) or a PLOVER "
                "event type (COERCE); repeatable. Default: all.",
            ),
            click.option(
                "--frequency",
                type=click.Choice(FREQUENCIES),
                default="month",
                show_default=True,
                help="From the store: count per month or per ISO week.",
            ),
            click.option(
                "--until",
                default=None,
                help="From the store: last period counted (YYYY-MM or YYYY-Www); default "
                "the period of the latest event.",
            ),
            click.option(
                "--skip-bad-rows",
                is_flag=True,
                help="CSV: leave out bad rows (listed on stderr) instead of refusing the file.",
            ),
        ]
    ):
        command = decorator(command)
    return command


@contextmanager
def _loaded(source: Source, *, keep_node: bool = False) -> Iterator[tuple[Loaded, Node | None]]:
    """The series, and the node kept open when ``keep_node`` (to write alerts)."""
    data_dir, places, categories = source.data_dir, source.places, source.categories
    frequency, until = source.frequency, source.until
    if source.csv_path is not None:
        if places or categories or until:
            raise click.UsageError("--place, --category and --until apply to the store, not --csv")
        series, report = read_csv(source.csv_path, skip_bad_rows=source.skip_bad_rows)
        notes = [f"skipped: {line}" for line in report.skipped]
        if report.zero_filled:
            notes.append(plural(report.zero_filled, "period") + " without a row counted as zero")
        if keep_node:
            with opened(data_dir) as node:
                yield Loaded(series, notes), node
        else:
            yield Loaded(series, notes), None
        return
    try:
        last = parse_period(until, frequency) if until else None
    except PeriodError as error:
        raise click.BadParameter(str(error), param_hint="--until") from None
    with opened(data_dir) as node:
        found = store_series(
            node.store, places or ("all",), categories or ("all",), frequency, until=last
        )
        node.audit.append(
            actor(),
            "consult",
            found.event_ids,
            details={
                "anticipate": "series",
                "places": list(places),
                "categories": list(categories),
            },
        )
        notes = [f"{plural(count, 'event')} skipped: {why}" for why, count in found.skipped.items()]
        yield Loaded(found.series, notes, found.markings), (node if keep_node else None)


def _load(source: Source) -> Loaded:
    with _loaded(source) as (loaded, _):
        return loaded


def _say(notes: list[str]) -> None:
    for note in notes:
        stderr.print(f"[yellow]note:[/yellow] {escape(note)}")


def _chart_option(what: str) -> Callable[[Any], Any]:
    """``--chart FILE``: draw each series with ``what`` as SVG."""
    return click.option(
        "--chart",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help=f"Draw each series with {what} as SVG to this file (one file per series).",
    )


@click.group("anticipate")
def anticipate_group() -> None:
    """Event series, forecasts with predictive distributions, backtests and alerts."""


@anticipate_group.command("series")
@_source_options
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the series as a CSV (period,series,count).",
)
@json_option
def series_command(
    source: Source,
    output: Path | None,
    as_json: bool,
) -> None:
    """Event counts per period for each place and category (empty periods are zeros)."""
    loaded = _load(source)
    _say(loaded.notes)
    if output is not None:
        write_csv(loaded.series, output)
    show(
        {
            "series": [
                {"name": s.name, "periods": s.labels(), "counts": [int(c) for c in s.counts]}
                for s in loaded.series
            ]
        },
        ["series", "from", "to", "total", "last 6"],
        (
            [
                s.name,
                s.label(0),
                s.label(len(s.counts) - 1),
                int(s.counts.sum()),
                " ".join(str(int(c)) for c in s.counts[-6:]),
            ]
            for s in loaded.series
        ),
        as_json=as_json,
    )


def _write_chart(
    path: Path, loaded: Loaded, forecasts: list[Forecast], alerts: list[Alert]
) -> None:
    """One SVG per series: ``path`` itself for one series, ``path`` with the series' index
    before the suffix for several."""
    for index, one in enumerate(loaded.series):
        target = path if len(loaded.series) == 1 else path.with_stem(f"{path.stem}-{index + 1}")
        target.write_text(chart_svg(one, forecasts, alerts), encoding="utf-8")
        stderr.print(f"chart of {escape(one.name)} written to {escape(str(target))}")


@anticipate_group.command("forecast")
@_source_options
@click.option(
    "--horizon", default=6, show_default=True, type=click.IntRange(1, 12), help="Periods ahead."
)
@_chart_option("its forecast band")
@json_option
def forecast_command(
    source: Source,
    horizon: int,
    chart: Path | None,
    as_json: bool,
) -> None:
    """Forecast the next periods: mean and 5/25/50/75/95% quantiles of each series (--json:
    the nine scored levels, 0.05 to 0.95)."""
    loaded = _load(source)
    result = forecast(loaded.series, horizon)
    _say(loaded.notes + result.notes)
    if chart is not None:
        _write_chart(chart, loaded, result.forecasts, [])
    show(
        result.as_dict(),
        ["series", "period", "mean", "5%", "25%", "median", "75%", "95%", "method"],
        (
            [
                f.series,
                f.period,
                f"{f.mean:.1f}",
                *(f"{f.quantiles[level]:.0f}" for level in (0.05, 0.25, 0.5, 0.75, 0.95)),
                f.method,
            ]
            for f in result.forecasts
        ),
        as_json=as_json,
    )


def _group_option(text: str) -> tuple[str, list[str]]:
    name, separator, members = text.partition("=")
    chosen = [member.strip() for member in members.split(",") if member.strip()]
    if not separator or not name.strip() or not chosen:
        raise click.BadParameter(f"{text!r}: expected NAME=SERIES,SERIES,...", param_hint="--group")
    return name.strip(), chosen


def _period_option(text: str | None, frequency: str, option: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_period(text, "week" if frequency == "week" else "month")
    except PeriodError as error:
        raise click.BadParameter(str(error), param_hint=option) from None


def _percent(value: float) -> str:
    return "-" if value != value else f"{100 * value:.1f}%"


def _number(value: float, digits: int = 3) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def _print_backtest(console: Console, result: BacktestResult, per_series: bool) -> None:
    for period, first, last in result.periods:
        overall = result.table(period, "overall")
        console.print(
            table(
                ["method", "CRPS", "skill", "Brier", "AP", "5-95%", "25-75%", "forecasts"],
                (
                    [
                        row.method,
                        f"{row.crps:.3f}",
                        _number(row.skill),
                        f"{row.brier:.4f}",
                        _number(row.average_precision),
                        _percent(row.coverage90),
                        _percent(row.coverage50),
                        row.forecasts,
                    ]
                    for row in overall
                ),
                title=f"{period}: origins {first} to targets {last}, {result.series} series, "
                f"horizons 1-{result.horizons}, {plural(overall[0].escalations, 'escalation')} "
                f"(CRPS: pinball over 9 quantiles; skill against the best baseline, "
                f"{overall[0].best_baseline})",
            )
        )
        kinds = ["horizon", "group"] + (["series"] if per_series else [])
        for kind in kinds:
            models = [r for r in result.table(period, kind) if r.method == "model"]
            if not models:
                continue
            climate = {r.key: r for r in result.table(period, kind) if r.method == "climatology"}
            console.print(
                table(
                    [
                        kind,
                        "model CRPS",
                        "best baseline",
                        "skill",
                        "5-95%",
                        "25-75%",
                        "AP",
                        "AP climatology",
                    ],
                    (
                        [
                            row.key,
                            f"{row.crps:.3f}",
                            row.best_baseline,
                            _number(row.skill),
                            _percent(row.coverage90),
                            _percent(row.coverage50),
                            _number(row.average_precision),
                            _number(climate[row.key].average_precision),
                        ]
                        for row in models
                    ),
                    title=f"{period}, per {kind}",
                )
            )
        for histogram in result.histograms:
            if histogram.period != period:
                continue
            console.print(f"PIT histogram, {histogram.method}, {period} (1.00 = calibrated):")
            for position, value in enumerate(histogram.density):
                console.print(
                    f"  {position / 10:.1f}-{(position + 1) / 10:.1f} {value:5.2f} "
                    + "#" * round(20 * value)
                )


@anticipate_group.command("backtest")
@_source_options
@click.option(
    "--horizon",
    default=6,
    show_default=True,
    type=click.IntRange(1, 12),
    help="Periods ahead scored from each origin.",
)
@click.option(
    "--synthetic",
    "synthetic",
    type=click.IntRange(1, 5000),
    default=None,
    help="Backtest N synthetic series (10 years, planted escalations) instead.",
)
@click.option(
    "--split",
    default=None,
    help="First held-out period (YYYY-MM): score a development period (targets before "
    "it) and a held-out one (origins from the period before it) apart.",
)
@click.option(
    "--score-from",
    default=None,
    help="First origin scored (YYYY-MM); earlier origins still teach the model.",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="NAME=SERIES,SERIES,...: score these series apart (the rest as 'other'); repeatable.",
)
@click.option(
    "--chart",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the PIT histograms (model and climatology, per period) as SVG to this file.",
)
@click.option("--per-series", is_flag=True, help="Also print each series' rows.")
@json_option
def backtest_command(
    source: Source,
    horizon: int,
    synthetic: int | None,
    split: str | None,
    score_from: str | None,
    groups: tuple[str, ...],
    chart: Path | None,
    per_series: bool,
    as_json: bool,
) -> None:
    """Roll the forecast origin through the history; score the model and the baselines.

    Pinball CRPS over 9 quantiles and skill against the best baseline (last value,
    seasonal naive, mean of the last two years, their empirical quantiles), coverage of the
    5-95% and 25-75% intervals, PIT histograms, Brier score of exceedance of the 90th
    percentile of the past, and average precision of escalations (at least twice the last
    3 periods' mean, and 5); overall, per horizon, per group and per series.
    """
    if synthetic is not None:
        loaded = Loaded(synthetic_series(synthetic, 120, seed=0)[0])
    else:
        loaded = _load(source)
    _say(loaded.notes)
    named = dict(_group_option(text) for text in groups)
    frequency = loaded.series[0].frequency if loaded.series else "month"
    with progress_bar(as_json) as progress:
        task = progress.add_task("backtest", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = backtest(
            loaded.series,
            horizons=horizon,
            on_origin=advance,
            groups=named,
            split=_period_option(split, frequency, "--split"),
            score_from=_period_option(score_from, frequency, "--score-from"),
        )
    if chart is not None:
        chart.write_text(
            pit_histogram_svg(result.histograms, "PIT histograms of the backtest"),
            encoding="utf-8",
        )
        stderr.print(f"PIT histograms written to {escape(str(chart))}")
    if as_json:
        print_json(result.as_dict())
        return
    console = Console()
    _print_backtest(console, result, per_series)
    for baseline in BASELINES:
        console.print(
            f"model CRPS vs {baseline}: {100 * result.crps_improvement(baseline):.1f}% lower "
            f"overall; lower in {result.series_won(baseline)} of {result.series} series"
        )


@anticipate_group.command("alerts")
@_source_options
@click.option(
    "--window",
    default=WINDOW,
    show_default=True,
    type=click.IntRange(1, 520),
    help="Scan the last N periods.",
)
@click.option(
    "--level",
    default=LEVEL,
    show_default=True,
    type=click.FloatRange(1e-6, 0.5),
    help="Flag a count whose forecast probability of being so high is below this.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Write each alert to the store as an x-diapason-alert (shared under the "
    "release policy); alerts already stored are not written again.",
)
@click.option(
    "--tlp",
    type=click.Choice(sorted(TLP_2_0_IDS)),
    default="amber",
    show_default=True,
    help="Marking of written alerts whose series carry no event markings (--csv).",
)
@_chart_option("its alerts")
@click.option(
    "--lang",
    type=click.Choice(["en", "fr"]),
    default="en",
    show_default=True,
    help="Language of the explanations printed.",
)
@json_option
def alerts_command(
    source: Source,
    window: int,
    level: float,
    write: bool,
    tlp: str,
    chart: Path | None,
    lang: Lang,
    as_json: bool,
) -> None:
    """Episodes where counts rose above their forecast (upper tail) or shifted up (change
    point): one alert per episode, explained."""
    with _loaded(source, keep_node=write) as (loaded, node):
        alerts, notes = detect_alerts(loaded.series, window=window, level=level)
        written: list[str] = []
        unchanged: list[str] = []
        if write and node is not None:
            who = actor()
            published = publish_alerts(
                node.store,
                node.audit,
                alerts,
                actor=who,
                created_by=node.ensure_identity(who),
                markings=loaded.markings,
                default_markings=[TLP_2_0_IDS[tlp]],
            )
            written, unchanged = published.written, published.unchanged
    _say(loaded.notes + notes)
    if chart is not None:
        _write_chart(chart, loaded, [], alerts)
    if as_json:
        print_json(
            {
                "alerts": [alert.as_dict() for alert in alerts],
                "written": written,
                "unchanged": unchanged,
            }
        )
        return
    console = Console()
    for alert in alerts:
        console.print(f"[bold]{escape(alert.stix_id)}[/bold]\n  {escape(alert.explanation(lang))}")
    console.print(
        plural(len(alerts), "alert")
        + (f"; {len(written)} written, {len(unchanged)} already stored" if write else "")
    )


@anticipate_group.command("import")
@click.argument(
    "file", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=False
)
@data_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="The file's layout: GED events, long country-month rows "
    "(month_end,country,best_deaths) or the wide table (a column per country). "
    "Default: read from the header.",
)
@click.option(
    "--shipped",
    is_flag=True,
    help="Import the Sahel-Maghreb country-month file shipped with Diapason instead of FILE.",
)
@json_option
def import_command(
    file: Path | None, data_dir: Path | None, fmt: Format | None, shipped: bool, as_json: bool
) -> None:
    """Import UCDP data (GED events or country-month deaths) as graded open-source events.

    Every row is checked first; one bad row refuses the whole file, each problem named by
    line and column. Importing the same file again writes nothing."""
    if shipped == (file is not None):
        raise click.UsageError("give a FILE or --shipped (one of them)")
    path = shipped_path() if file is None else file
    with progress_bar(as_json) as progress:
        task = progress.add_task(f"checking {path.name}", total=None)
        try:
            parsed = read_ucdp(path, fmt)
        except UcdpError as error:
            progress.remove_task(task)
            progress.stop()
            for problem in error.problems:
                stderr.print(f"[red]error:[/red] {escape(problem)}")
            if error.more:
                stderr.print(f"[red]error:[/red] and {plural(error.more, 'more problem')}")
            stderr.print("nothing imported")
            sys.exit(1)
        progress.update(task, description=f"writing {plural(len(parsed.records), 'record')}")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with opened(data_dir) as node:
            try:
                imported = import_ucdp(
                    node.store, node.audit, parsed, actor=actor(), progress=advance
                )
            except UcdpError as error:
                raise click.ClickException(str(error)) from None
    _say(parsed.notes)
    summary = {
        "file": str(path),
        "format": parsed.format,
        "records": imported.records,
        "zero_months": len(parsed.zeros),
        "written": imported.written,
        "unchanged": imported.unchanged,
        "revised": imported.revised,
        "revoked": imported.revoked,
    }
    if as_json:
        print_json(summary)
        return
    Console().print(
        f"{escape(path.name)} ({parsed.format}): {plural(imported.records, 'record')}, "
        f"{imported.written:,} written, {imported.unchanged:,} unchanged"
        + (f", {imported.revised:,} revised" if imported.revised else "")
        + (f", {imported.revoked:,} revoked (now zero)" if imported.revoked else "")
        + (f"; {plural(len(parsed.zeros), 'zero month')} not stored" if parsed.zeros else "")
    )
    Console().print(escape(ATTRIBUTION))

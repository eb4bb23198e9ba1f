"""Benchmark: a backtest of 500 series x 10 years of monthly data (issue 6), and the
protocol of issue 24 on the UCDP data.

Target: under 60 s on one core. Anchor: the baselines' own backtest (last value, seasonal
naive, two-year mean and climatology) on the same series, in the same run. With
``--ucdp``, also the real-data backtest of docs/anticipate.md: every country of the UCDP
monthly fatalities 1989-2023 (read from ../shared/data, never by the product), origins
scored from 2010-01, a development period (targets up to 2021-12) and a held-out one
(origins from 2021-12, targets 2022-01 to 2023-12), Sahel-Maghreb scored apart. With
``--development`` the data is cut at 2021-12 first: the held-out months are not even read
(what tuning may look at).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.anticipate_backtest [--ucdp [--development]]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from tests.shared import DATA

from benchmarks.common import print_targets
from diapason.anticipate.backtest import BASELINES, BacktestResult, backtest
from diapason.anticipate.periods import parse_period
from diapason.anticipate.series import Series
from diapason.anticipate.synthetic import synthetic_series


def _shared_data() -> Path:
    """``shared/data`` beside the repository: the UCDP data is there."""
    if not DATA.is_dir():
        raise SystemExit(f"no shared data folder at {DATA}: the UCDP data is there")
    return DATA


UCDP_FILE = "ucdp/country_month_fatalities_1989_2023.csv"
SAHEL_MAGHREB = (
    "Mali",
    "Niger",
    "Burkina Faso",
    "Chad",
    "Mauritania",
    "Algeria",
    "Libya",
    "Morocco",
    "Tunisia",
)
SCORE_FROM = "2010-01"
SPLIT = "2022-01"


def ucdp_series() -> list[Series]:
    """Every country's monthly fatalities (the wide UCDP file: one column per country)."""
    with (_shared_data() / UCDP_FILE).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    names = rows[0][1:]
    matrix = np.array([[float(cell or 0) for cell in row[1 : len(names) + 1]] for row in rows[1:]])
    start = parse_period(rows[1][0], "month")
    return [
        Series(name, "month", start, matrix[:, index]) for index, name in enumerate(names) if name
    ]


def report(console: Console, title: str, result: BacktestResult, period: str = "all") -> None:
    console.print(f"[bold]{title}[/bold]: {result.series} series, {result.origins} origins")
    for method in ("model", *BASELINES):
        row = result.overall(method, period)
        console.print(
            f"  {method:<11} CRPS {row.crps:9.3f}  skill {row.skill:+.3f}  Brier {row.brier:.4f}"
            f"  AP {row.average_precision:.3f}  5-95% {100 * row.coverage90:5.1f}"
            f"  25-75% {100 * row.coverage50:5.1f}"
        )
    for kind in ("horizon", "group"):
        for row in result.table(period, kind):
            if row.method != "model":
                continue
            climate = result.row("climatology", period=period, kind=kind, key=row.key)
            console.print(
                f"  {kind} {row.key:<13} skill {row.skill:+.3f} (vs {row.best_baseline})"
                f"  5-95% {100 * row.coverage90:5.1f}  25-75% {100 * row.coverage50:5.1f}"
                f"  AP {row.average_precision:.3f} (climatology {climate.average_precision:.3f})"
            )
    for histogram in result.histograms:
        if histogram.period == period:
            bars = " ".join(f"{value:.2f}" for value in histogram.density)
            console.print(f"  PIT {histogram.method:<11} {bars}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--ucdp", action="store_true", help="also backtest the UCDP data")
    parser.add_argument(
        "--development",
        action="store_true",
        help="UCDP: cut the data before the held-out months (tuning looks at this only)",
    )
    arguments = parser.parse_args()
    console = Console()
    series, _ = synthetic_series(arguments.series, 120, seed=0)
    started = time.perf_counter()
    backtest(series, include_model=False)
    anchor = time.perf_counter() - started
    started = time.perf_counter()
    result = backtest(series)
    elapsed = time.perf_counter() - started
    report(console, "synthetic", result)
    console.print(
        f"baselines-only backtest (anchor): {anchor:.2f} s; full backtest: {elapsed:.2f} s "
        f"= {elapsed / anchor:.1f}x the anchor"
    )
    rows: list[tuple[str, str, bool | None]] = [
        (
            f"backtest of {arguments.series} series x 10 years under 60 s",
            f"{elapsed:.1f} s ({elapsed / anchor:.1f}x the baselines' {anchor:.2f} s)",
            elapsed < 60,
        )
    ]
    if arguments.ucdp:
        every = ucdp_series()
        split = parse_period(SPLIT, "month")
        if arguments.development:
            every = [one.head(split - one.start) for one in every]
        started = time.perf_counter()
        real = backtest(
            every,
            groups={"Sahel-Maghreb": SAHEL_MAGHREB},
            split=None if arguments.development else split,
            score_from=parse_period(SCORE_FROM, "month"),
        )
        real_elapsed = time.perf_counter() - started
        periods = ("all",) if arguments.development else ("development", "held-out")
        for period in periods:
            name = "development" if arguments.development else period
            report(console, f"UCDP, every country, {name}", real, period)
        console.print(f"UCDP backtest: {real_elapsed:.1f} s")
        last = periods[-1]
        skill = real.overall("model", last).skill
        rows.append(
            (f"CRPS skill over the best baseline >= 0.20 ({last})", f"{skill:.3f}", skill >= 0.2)
        )
        coverage = real.overall("model", last).coverage90
        rows.append(
            (
                f"5-95% coverage within 85-95% ({last})",
                f"{100 * coverage:.1f}%",
                0.85 <= coverage <= 0.95,
            )
        )
        precision = real.overall("model", last).average_precision
        rows.append((f"escalation AP >= 0.45 ({last})", f"{precision:.3f}", precision >= 0.45))
    print_targets(console, "issue 6 and 24 targets", rows)


if __name__ == "__main__":
    main()

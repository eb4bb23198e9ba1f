"""Benchmark: a backtest of 500 series x 10 years of monthly data (issue 6).

Target: under 60 s on one core. Anchor: the baselines' own backtest (last value,
historical distribution, seasonal naive) on the same series, in the same run. With
``--ucdp``, also the real-data backtest of docs/anticipate.md: every country of the UCDP
monthly fatalities 1989-2023 (read from ../shared/data, never by the product).

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.anticipate_backtest [--ucdp]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from benchmarks.common import print_targets
from diapason.anticipate.backtest import BASELINES, BacktestResult, backtest
from diapason.anticipate.periods import parse_period
from diapason.anticipate.series import Series
from diapason.anticipate.synthetic import synthetic_series


def _shared_data() -> Path:
    """``shared/data`` beside the repository (or beside a folder holding it)."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    raise SystemExit("no shared/data folder beside the repository: the UCDP data is there")


UCDP_FILE = "ucdp/country_month_fatalities_1989_2023.csv"


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


def report(console: Console, title: str, result: BacktestResult) -> None:
    console.print(f"[bold]{title}[/bold]: {result.series} series, {result.origins} origins")
    for method in ("model", *BASELINES):
        row = result.overall(method)
        console.print(
            f"  {method:<11} CRPS {row.crps:9.3f}  Brier {row.brier:.4f}  "
            f"AP {row.average_precision:.3f}"
        )
    for baseline in BASELINES:
        console.print(
            f"  model CRPS {100 * result.crps_improvement(baseline):.1f}% lower than {baseline}"
            f" (lower in {result.series_won(baseline)} of {result.series} series)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--ucdp", action="store_true", help="also backtest the UCDP data")
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
        started = time.perf_counter()
        real = backtest(ucdp_series())
        real_elapsed = time.perf_counter() - started
        report(console, "UCDP, every country", real)
        console.print(f"UCDP backtest: {real_elapsed:.1f} s")
        beaten = all(real.crps_improvement(b) > 0 for b in BASELINES)
        rows.append(("model beats every baseline on CRPS (UCDP)", "see above", beaten))
    print_targets(console, "issue 6 targets", rows)


if __name__ == "__main__":
    main()

"""Count series: one count per period for a named series, and reading them from CSV.

A series runs without gaps: a period with no row is a zero, not a hole. Series read
together share one calendar (the first to the last period seen in the file), so that a
series whose rows are only its non-zero months is not cut short.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from diapason.anticipate.periods import (
    Frequency,
    PeriodError,
    format_period,
    frequency_of,
    parse_period,
)
from diapason.errors import DiapasonError

CSV_HEADER = ("period", "series", "count")

FloatArray = npt.NDArray[np.float64]


class SeriesError(DiapasonError, ValueError):
    """Input that cannot make a count series (file, header, row, field, and why)."""


@dataclass(frozen=True)
class Series:
    """Counts of one series, one per period from ``start`` on, without gaps."""

    name: str
    frequency: Frequency
    start: int  # period index of counts[0]
    counts: FloatArray

    @property
    def end(self) -> int:
        """The index of the last period held."""
        return self.start + len(self.counts) - 1

    def label(self, offset: int) -> str:
        """The label of the ``offset``-th period of the series."""
        return format_period(self.start + offset, self.frequency)

    def labels(self) -> list[str]:
        return [self.label(offset) for offset in range(len(self.counts))]

    def head(self, length: int) -> Series:
        """The first ``length`` periods (what was known at an earlier forecast origin)."""
        return Series(self.name, self.frequency, self.start, self.counts[:length])


@dataclass
class CsvReport:
    """What reading a CSV found besides the series: rows skipped, gaps filled."""

    skipped: list[str] = field(default_factory=list)
    zero_filled: int = 0


def _count(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SeriesError(f"{where}: count {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SeriesError(f"{where}: count {text!r} is not a finite number")
    if value < 0:
        raise SeriesError(f"{where}: count {text!r} is negative")
    if value != int(value):
        raise SeriesError(f"{where}: count {text!r} is not a whole number")
    return value


def read_csv(path: Path, *, skip_bad_rows: bool = False) -> tuple[list[Series], CsvReport]:
    """Read ``period,series,count`` rows into series (for analysts and backtests).

    A wrong header, a bad period, a negative, fractional or non-numeric count, a row given
    twice or a mix of months and weeks is a ``SeriesError`` naming the file, line and field.
    With ``skip_bad_rows`` a bad row is left out and listed in the report instead (a wrong
    header or mixed frequencies still fail: nothing sensible can be read then).
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise SeriesError(f"{path}: not UTF-8 text") from None
    except csv.Error as error:
        raise SeriesError(f"{path}: not a CSV file: {error}") from None
    if not rows:
        raise SeriesError(f"{path}: empty file, expected the header period,series,count")
    header = tuple(cell.strip().lower() for cell in rows[0])
    if header != CSV_HEADER:
        raise SeriesError(
            f"{path} line 1: header is {','.join(rows[0])!r}, expected 'period,series,count'"
        )
    report = CsvReport()
    values: dict[str, dict[int, float]] = {}
    seen: dict[tuple[str, int], int] = {}
    frequency: Frequency | None = None
    for line, row in enumerate(rows[1:], start=2):
        where = f"{path} line {line}"
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != 3:
                raise SeriesError(f"{where}: {len(row)} fields, expected 3 (period,series,count)")
            label, name, text = (cell.strip() for cell in row)
            if not name:
                raise SeriesError(f"{where}: series: empty name")
            try:
                row_frequency = frequency_of(label)
                if frequency is None:
                    frequency = row_frequency
                elif row_frequency != frequency:
                    raise SeriesError(
                        f"{where}: period {label!r} is a {row_frequency}, earlier rows are "
                        f"{frequency}s: one file holds one frequency"
                    ) from None
                period = parse_period(label, frequency)
            except PeriodError as error:
                raise SeriesError(f"{where}: period: {error}") from None
            count = _count(text, where)
            if (name, period) in seen:
                raise SeriesError(
                    f"{where}: series {name!r} period {label!r} already given on line "
                    f"{seen[(name, period)]}"
                )
        except SeriesError as error:
            if not skip_bad_rows or "one file holds one frequency" in str(error):
                raise
            report.skipped.append(str(error))
            continue
        seen[(name, period)] = line
        values.setdefault(name, {})[period] = count
    if frequency is None or not values:
        raise SeriesError(f"{path}: no data rows")
    series = assemble(values, frequency)
    report.zero_filled = sum(len(s.counts) for s in series) - len(seen)
    return series, report


def assemble(values: dict[str, dict[int, float]], frequency: Frequency) -> list[Series]:
    """Series on one shared calendar from ``{name: {period: count}}``; missing periods are
    zeros. Series come sorted by name."""
    first = min(min(by_period) for by_period in values.values() if by_period)
    last = max(max(by_period) for by_period in values.values() if by_period)
    result = []
    for name in sorted(values):
        counts = np.zeros(last - first + 1)
        for period, count in values[name].items():
            counts[period - first] = count
        result.append(Series(name, frequency, first, counts))
    return result


def write_csv(series: Sequence[Series], path: Path) -> None:
    """Write series as ``period,series,count`` rows (the format ``read_csv`` reads)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for one in series:
            for offset, count in enumerate(one.counts):
                writer.writerow([one.label(offset), one.name, int(count)])


@dataclass(frozen=True)
class Aligned:
    """Series on one calendar as a matrix (rows: series in ``names`` order)."""

    names: tuple[str, ...]
    frequency: Frequency
    start: int
    counts: FloatArray

    def series(self, row: int) -> Series:
        return Series(self.names[row], self.frequency, self.start, self.counts[row])


def align(series: Sequence[Series]) -> Aligned:
    """Put series of one frequency on their common calendar; periods a series does not
    cover are zeros (as in a CSV, where a missing row is a zero)."""
    if not series:
        raise SeriesError("no series given")
    frequencies = {one.frequency for one in series}
    if len(frequencies) > 1:
        raise SeriesError("series of different frequencies (months and weeks) cannot be mixed")
    names = [one.name for one in series]
    if len(set(names)) != len(names):
        raise SeriesError("two series have the same name")
    first = min(one.start for one in series)
    last = max(one.end for one in series)
    matrix = np.zeros((len(series), last - first + 1))
    for row, one in enumerate(series):
        matrix[row, one.start - first : one.end - first + 1] = one.counts
    return Aligned(tuple(names), series[0].frequency, first, matrix)

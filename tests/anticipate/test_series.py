"""Periods and series read from CSV: good files, and every kind of bad one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diapason.anticipate.periods import (
    Frequency,
    PeriodError,
    format_period,
    parse_period,
)
from diapason.anticipate.series import Series, SeriesError, align, read_csv, write_csv


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_months_and_weeks_round_trip() -> None:
    for label in ("1989-01", "2023-12", "2024-02"):
        assert format_period(parse_period(label, "month"), "month") == label
    assert parse_period("2024-02-29", "month") == parse_period("2024-02", "month")
    for label in ("2024-W01", "2020-W53", "2026-W30"):
        assert format_period(parse_period(label, "week"), "week") == label
    assert parse_period("2024-W02", "week") == parse_period("2024-W01", "week") + 1
    assert parse_period("2024-01", "month") == parse_period("2023-12", "month") + 1


@pytest.mark.parametrize("label", ["2024-13", "2024-1", "24-01", "2024-02-30", "2023-W54"])
def test_bad_periods_are_refused(label: str) -> None:
    frequency: Frequency = "week" if "W" in label else "month"
    with pytest.raises(PeriodError):
        parse_period(label, frequency)


def test_csv_gaps_are_zeros_on_one_calendar(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.csv",
        "period,series,count\n2024-01,a,3\n2024-04,a,5\n2024-02,b,1\n",
    )
    series, report = read_csv(path)
    assert [s.name for s in series] == ["a", "b"]
    assert series[0].labels() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert list(series[0].counts) == [3, 0, 0, 5]
    assert list(series[1].counts) == [0, 1, 0, 0]
    assert report.zero_filled == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,name,value\n2024-01,a,1\n", "line 1: header is 'date,name,value'"),
        ("", "empty file"),
        ("period,series,count\n", "no data rows"),
        ("period,series,count\n2024-01,a,-2\n", "line 2: count '-2' is negative"),
        ("period,series,count\n2024-01,a,2.5\n", "line 2: count '2.5' is not a whole number"),
        ("period,series,count\n2024-01,a,many\n", "line 2: count 'many' is not a number"),
        ("period,series,count\n2024-01,a,nan\n", "not a finite number"),
        ("period,series,count\n2024-13,a,1\n", "line 2: period: '2024-13': month 13"),
        ("period,series,count\n2024-01,,1\n", "line 2: series: empty name"),
        ("period,series,count\n2024-01,a\n", "line 2: 2 fields, expected 3"),
        (
            "period,series,count\n2024-01,a,1\n2024-01,a,2\n",
            "line 3: series 'a' period '2024-01' already given on line 2",
        ),
        (
            "period,series,count\n2024-01,a,1\n2024-W03,a,2\n",
            "line 3: period '2024-W03' is a week, earlier rows are months",
        ),
    ],
)
def test_bad_csv_is_one_precise_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(SeriesError) as raised:
        read_csv(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_bad_rows_can_be_skipped_and_are_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.csv",
        "period,series,count\n2024-01,a,1\n2024-02,a,-1\n2024-03,a,1.5\n2024-04,a,4\n",
    )
    series, report = read_csv(path, skip_bad_rows=True)
    assert list(series[0].counts) == [1, 0, 0, 4]
    assert len(report.skipped) == 2
    assert "line 3" in report.skipped[0] and "line 4" in report.skipped[1]


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("period,series,count\n2024-01,Ségou,1\n".encode("latin-1"))
    with pytest.raises(SeriesError, match="not UTF-8"):
        read_csv(path)


def test_write_then_read_gives_the_same_series(tmp_path: Path) -> None:
    original = [
        Series("x", "week", parse_period("2024-W50", "week"), np.array([1.0, 0.0, 7.0, 2.0])),
        Series("y", "week", parse_period("2024-W50", "week"), np.array([0.0, 0.0, 0.0, 9.0])),
    ]
    write_csv(original, tmp_path / "w.csv")
    again, _ = read_csv(tmp_path / "w.csv")
    assert [s.name for s in again] == ["x", "y"]
    assert again[0].labels() == ["2024-W50", "2024-W51", "2024-W52", "2025-W01"]
    assert list(again[1].counts) == [0, 0, 0, 9]


def test_align_refuses_mixed_frequencies_and_duplicates() -> None:
    month = Series("a", "month", 0, np.zeros(3))
    week = Series("b", "week", 0, np.zeros(3))
    with pytest.raises(SeriesError, match="different frequencies"):
        align([month, week])
    with pytest.raises(SeriesError, match="same name"):
        align([month, month])
    with pytest.raises(SeriesError, match="no series"):
        align([])

"""Periods of a count series: calendar months (``YYYY-MM``) and ISO weeks (``YYYY-Www``).

A period is held as an integer index so that series are plain arrays and the period after
``p`` is ``p + 1``; these functions turn labels and dates into indexes and back.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

Frequency = Literal["month", "week"]
FREQUENCIES: tuple[Frequency, ...] = ("month", "week")

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class PeriodError(ValueError):
    """A period label that is not a month or an ISO week."""


def season_length(frequency: Frequency) -> int:
    """How many periods make a year: 12 months or 52 weeks."""
    return 12 if frequency == "month" else 52


def frequency_of(label: str) -> Frequency:
    """``month`` for ``YYYY-MM`` or ``YYYY-MM-DD`` (a day stands for its month), ``week``
    for ``YYYY-Www``."""
    if _WEEK.match(label):
        return "week"
    if _MONTH.match(label):
        return "month"
    raise PeriodError(f"{label!r} is not a period (YYYY-MM, YYYY-MM-DD or YYYY-Www)")


def parse_period(label: str, frequency: Frequency) -> int:
    """The index of the period ``label`` (month: year*12 + month-1; week: Mondays since
    0001-01-01)."""
    if frequency == "month":
        found = _MONTH.match(label)
        if not found:
            raise PeriodError(f"{label!r} is not a month (YYYY-MM or YYYY-MM-DD)")
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"{label!r}: month {month} is not 1-12")
        if found.group(3) is not None:
            try:
                date(year, month, int(found.group(3)))
            except ValueError as error:
                raise PeriodError(f"{label!r}: {error}") from None
        return year * 12 + month - 1
    week = _WEEK.match(label)
    if not week:
        raise PeriodError(f"{label!r} is not an ISO week (YYYY-Www)")
    try:
        monday = date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1)
    except ValueError as error:
        raise PeriodError(f"{label!r}: {error}") from None
    return (monday.toordinal() - 1) // 7


def period_of_date(day: date, frequency: Frequency) -> int:
    """The index of the month or ISO week that holds ``day``."""
    if frequency == "month":
        return day.year * 12 + day.month - 1
    return (day.toordinal() - 1) // 7


def format_period(index: int, frequency: Frequency) -> str:
    """The label of a period index: ``YYYY-MM`` or ``YYYY-Www``."""
    if frequency == "month":
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    year, week, _ = date.fromordinal(index * 7 + 1).isocalendar()
    return f"{year:04d}-W{week:02d}"

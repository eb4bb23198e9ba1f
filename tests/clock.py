"""The fixed time the tests run at: no test reads today's date, so the suite gives the same
result on any day of the year.

``NOW`` is the moment the joint mechanism sees in the tests (its service, its pages, its API
and its command line take a clock as their ``clock``); ``EDGES`` are moments at the turn of
a month and of the year, where date arithmetic goes wrong. ``Clock`` stays where a test puts
it; ``RunningClock`` starts at ``NOW`` and runs as time passes, for nodes served while a
test acts on them as users would (two edits made one after the other are dated in that
order, as they are in use).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 6, 15, 10, 0, 0, tzinfo=UTC)
EDGES = (
    datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC),
)


@dataclass
class Clock:
    """The time the service sees; tests move it to make deadlines pass without waiting."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class RunningClock:
    """``start`` (default ``NOW``) plus the time elapsed since the clock was made."""

    def __init__(self, start: datetime = NOW) -> None:
        self.start = start
        self.began = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)


def day(days: int = 0, moment: datetime = NOW) -> str:
    """The date ``days`` after ``moment`` (before it when negative), as YYYY-MM-DD."""
    return (moment + timedelta(days=days)).date().isoformat()


def instant(days: int = 0, moment: datetime = NOW) -> str:
    """The moment ``days`` after ``moment``, as a STIX timestamp to the second."""
    return (moment + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def month(back: int = 1, moment: datetime = NOW) -> str:
    """The month ``back`` months before the one of ``moment`` (after it when negative), as
    YYYY-MM: across the turn of the year both ways."""
    year, number = divmod(moment.year * 12 + moment.month - 1 - back, 12)
    return f"{year:04d}-{number + 1:02d}"

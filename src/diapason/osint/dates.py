"""Dates in article text, resolved against the publication date.

Conventions (those of event-data coding, see docs/osint.md):

- a bare weekday ("lundi", "on Tuesday", "ce mercredi") is the most recent such day on or
  before the publication date, the publication day included;
- "hier"/"yesterday" is D-1, "avant-hier"/"the day before yesterday" D-2, "aujourd'hui",
  "today" and "ce matin" are D;
- "mardi de la semaine dernière"/"last week on Tuesday" is the Tuesday of the previous
  calendar week; "la semaine dernière"/"last week" alone is the Monday of that week;
- "le lendemain"/"the next day" is the day after the date it is anchored to (the previous
  date found in the text), "la veille"/"the day before" the day before it;
- explicit dates ("3 février", "lundi 3 février", "12 November 2024", "November 12") take
  the year of publication, or the year before when that would put them in the future.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5,
    "dimanche": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip
_MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12, "january": 1, "february": 2, "march": 3, "april": 4,
    "may": 5, "june": 6, "july": 7, "august": 8, "september": 9, "october": 10,
    "november": 11, "december": 12,
}  # fmt: skip
_DAY = "|".join(_WEEKDAYS)
_MONTH = "|".join(_MONTHS)
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "explicit_dmy",
        re.compile(
            rf"\b(?:(?:{_DAY})\s+)?(\d{{1,2}})(?:er)?\s+({_MONTH})(?:\s+(\d{{4}}))?\b", re.I
        ),
    ),
    (
        "explicit_mdy",
        re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.I),
    ),
    (
        "weekday_last_week",
        re.compile(rf"\b({_DAY})\s+de\s+la\s+semaine\s+(?:dernière|passée)\b", re.I),
    ),
    (
        "last_week_weekday",
        re.compile(rf"\blast\s+week\s+on\s+({_DAY})\b|\blast\s+({_DAY})\b", re.I),
    ),
    (
        "day_before_yesterday",
        re.compile(r"\bavant-hier\b|\bthe\s+day\s+before\s+yesterday\b", re.I),
    ),
    ("yesterday", re.compile(r"\bhier\b|\byesterday\b", re.I)),
    (
        "today",
        re.compile(r"\baujourd['\u2019]hui\b|\bce\s+matin\b|\btoday\b|\bthis\s+morning\b", re.I),
    ),
    ("next_day", re.compile(r"\ble\s+lendemain\b|\bthe\s+(?:next|following)\s+day\b", re.I)),
    (
        "day_before",
        re.compile(
            r"\bla\s+veille\b(?!\s+(?:du|des|de|d['\u2019]une?)\b)|\bthe\s+(?:day\s+before|previous\s+day)\b",
            re.I,
        ),
    ),
    ("last_week", re.compile(r"\bla\s+semaine\s+(?:dernière|passée)\b|\blast\s+week\b", re.I)),
    ("weekday", re.compile(rf"\b({_DAY})\b", re.I)),
]


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date expression ``text[start:end]`` and the day it means."""

    start: int
    end: int
    surface: str
    day: date


def _weekday_on_or_before(anchor: date, weekday: int) -> date:
    return anchor - timedelta(days=(anchor.weekday() - weekday) % 7)


def _previous_week(anchor: date, weekday: int) -> date:
    monday = anchor - timedelta(days=anchor.weekday()) - timedelta(days=7)
    return monday + timedelta(days=weekday)


def _explicit(published: date, day: int, month: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        found = date(published.year, month, day)
    except ValueError:
        return None
    if found > published + timedelta(days=31):
        # "le 28 décembre" in an article of 3 January is last year's.
        try:
            found = date(published.year - 1, month, day)
        except ValueError:
            return None
    return found


def find_dates(text: str, published: date) -> list[DateMention]:
    """Every date expression in ``text``, in order, resolved against ``published``."""
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, int, str, str, re.Match[str]]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(not (end <= s or start >= e) for s, e in taken):
                continue
            taken.append((start, end))
            found.append((start, end, kind, match.group(), match))
    found.sort()
    result: list[DateMention] = []
    previous = published
    for start, end, kind, surface, match in found:
        day = _resolve(kind, match, published, previous)
        if day is None:
            continue
        result.append(DateMention(start, end, surface, day))
        previous = day
    return result


def _resolve(kind: str, match: re.Match[str], published: date, previous: date) -> date | None:
    if kind == "explicit_dmy":
        year = int(match.group(3)) if match.group(3) else None
        return _explicit(published, int(match.group(1)), _MONTHS[match.group(2).lower()], year)
    if kind == "explicit_mdy":
        year = int(match.group(3)) if match.group(3) else None
        return _explicit(published, int(match.group(2)), _MONTHS[match.group(1).lower()], year)
    if kind == "weekday_last_week":
        return _previous_week(published, _WEEKDAYS[match.group(1).lower()])
    if kind == "last_week_weekday":
        name = (match.group(1) or match.group(2)).lower()
        return _previous_week(published, _WEEKDAYS[name])
    if kind == "day_before_yesterday":
        return published - timedelta(days=2)
    if kind == "yesterday":
        return published - timedelta(days=1)
    if kind == "today":
        return published
    if kind == "next_day":
        return previous + timedelta(days=1)
    if kind == "day_before":
        return previous - timedelta(days=1)
    if kind == "last_week":
        return _previous_week(published, 0)
    if kind == "weekday":
        return _weekday_on_or_before(published, _WEEKDAYS[match.group(1).lower()])
    return None

"""Timestamps: the two text forms Diapason writes, and reading timestamps back. Pure, no I/O.

Both forms are RFC 3339 in UTC, ending in ``Z``, with a four-digit year:

- the **STIX form**, to the millisecond: ``2026-06-15T10:00:00.123Z``. The ``created``,
  ``modified`` and ``published`` of the objects Diapason makes, as STIX producers usually
  write them (``stix_timestamp``, ``stix_now``, ``stix_midnight``);
- the **store form**, to the microsecond, fixed width: ``2026-06-15T10:00:00.123456Z``.
  Text that sorts as time: the store's version keys (``modified`` as held), the dates
  added of collection entries (TAXII's ``date_added`` and ``X-TAXII-Date-Added-*``), and
  every ``*_at`` column (``store_timestamp``, ``store_now``, ``consecutive_store_timestamps``,
  ``as_store_timestamp`` for a timestamp received).

What comes in is any STIX timestamp (``YYYY-MM-DDTHH:MM:SS[.s]Z``, up to nine digits of
fraction): ``check_timestamp`` checks one, ``as_store_timestamp`` checks it and gives its
store form, ``parse_timestamp`` gives it as a datetime. They raise
:class:`diapason.domain.stix.StixError` naming the property.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn

# A STIX timestamp: the date and time to the second, then up to nine digits of fraction.
# ``\Z``, not ``$`` (which also matches before a trailing newline); ``re.ASCII``: ``\d``
# would otherwise accept other scripts' digits, which ``strptime`` reads but which do not sort.
TIMESTAMP_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z\Z", re.ASCII)

# The timestamps every calendar has: year 0001 to 9999, any month, days 1 to 28, hours,
# minutes and seconds in range. Anything else goes through as_store_timestamp's checks.
_PLAIN_TIMESTAMP_RE = re.compile(
    r"^(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:\.\d{1,9})?Z\Z",
    re.ASCII,
)

# The store form of 1970-01-01T00:00:00Z: the version key of objects that have neither
# ``modified`` nor ``created``.
STORE_EPOCH = "1970-01-01T00:00:00.000000Z"


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is read as UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _seconds(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` of a UTC datetime. strftime's ``%Y`` does not pad years
    before 1000 to four digits on every platform, so the year is written here."""
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.")


def stix_timestamp(moment: datetime) -> str:
    """The STIX form of ``moment``: ``YYYY-MM-DDTHH:MM:SS.mmmZ``, UTC, to the millisecond
    (truncated, not rounded)."""
    moment = _utc(moment)
    return f"{_seconds(moment)}{moment.microsecond // 1000:03d}Z"


def stix_now() -> str:
    """Now, in the STIX form (``YYYY-MM-DDTHH:MM:SS.mmmZ``)."""
    return stix_timestamp(datetime.now(UTC))


def stix_midnight(day: date) -> str:
    """The start of ``day`` (midnight UTC), in the STIX form: ``YYYY-MM-DDT00:00:00.000Z``."""
    return stix_timestamp(datetime.combine(day, time(), UTC))


def store_timestamp(moment: datetime) -> str:
    """The store form of ``moment``: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, UTC, to the
    microsecond, fixed width (sorts as time)."""
    moment = _utc(moment)
    return f"{_seconds(moment)}{moment.microsecond:06d}Z"


def store_now() -> str:
    """Now, in the store form (``YYYY-MM-DDTHH:MM:SS.ffffffZ``)."""
    return store_timestamp(datetime.now(UTC))


def consecutive_store_timestamps(first: datetime, count: int) -> list[str]:
    """``count`` store-form timestamps one microsecond apart, from ``first`` on: distinct
    and in order. Formats the date and time once per second, not once per value."""
    moment = _utc(first)
    stamps: list[str] = []
    while len(stamps) < count:
        prefix = _seconds(moment)
        start = moment.microsecond
        end = min(1_000_000, start + count - len(stamps))
        stamps.extend(f"{prefix}{micro:06d}Z" for micro in range(start, end))
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return stamps


def as_store_timestamp(value: Any, field: str = "timestamp") -> str:
    """A STIX timestamp received, checked, in the store form (``YYYY-MM-DDTHH:MM:SS.ffffffZ``):
    a shorter fraction is padded with zeros, a longer one cut to the microsecond.
    ``StixError`` naming ``field`` when ``value`` is not a STIX timestamp."""
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        _refuse(field, f"expected an RFC 3339 timestamp string, got {kind}")
    match = TIMESTAMP_RE.match(value)
    if match is None:
        shown = value if len(value) <= 80 else value[:80] + "…"
        _refuse(field, f"{shown!r} is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)")
    seconds, fraction = match.groups()
    try:
        # Calendar check only; the regex already fixed the layout. fromisoformat is C code,
        # many times faster than strptime on this hot path.
        datetime.fromisoformat(seconds)
    except ValueError:
        _refuse(field, f"{value!r} is not a real calendar date and time")
    fraction = (fraction or "")[:6].ljust(6, "0")
    return f"{seconds}.{fraction}Z"


def check_timestamp(value: Any, field: str = "timestamp") -> None:
    """What ``as_store_timestamp`` checks, without making the store form: for the
    timestamps an object only has to get right (first_seen, published, valid_from, …)."""
    if isinstance(value, str) and _PLAIN_TIMESTAMP_RE.match(value) is not None:
        return
    as_store_timestamp(value, field)  # the last days of months, or raises saying why


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime:
    """A STIX timestamp (either form above, or any other precision) as an aware UTC
    datetime, to the microsecond. ``StixError`` naming ``field`` when it is not one."""
    return datetime.strptime(as_store_timestamp(value, field), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC
    )


def timestamp_day(value: Any) -> date | None:
    """The calendar day a STIX timestamp (or a ``YYYY-MM-DD`` date) begins with; None for
    anything else. For reading days out of stored objects, which need not be Diapason's."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _refuse(field: str, message: str) -> NoReturn:
    # Imported here: diapason.domain.stix imports this module, and StixError is its error.
    from diapason.domain.stix import StixError

    raise StixError(field, message)

"""Timestamps: the STIX form (milliseconds) and the store form (microseconds), exactly as
Diapason has always written them, and reading any STIX timestamp back."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diapason.domain.stix import StixError
from diapason.domain.timestamps import (
    STORE_EPOCH,
    as_store_timestamp,
    check_timestamp,
    consecutive_store_timestamps,
    parse_timestamp,
    stix_midnight,
    stix_now,
    stix_timestamp,
    store_now,
    store_timestamp,
    timestamp_day,
)
from tests.clock import EDGES, NOW

# The spellings the modules used before there was one timestamp module: what is stored and
# what partners read must not change.
OLD_STORE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def old_stix_spelling(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- writing: the two forms --------------------------------------------------------------------


def test_the_two_forms_at_the_fixed_clock() -> None:
    moment = NOW.replace(microsecond=123_456)
    assert stix_timestamp(moment) == "2026-06-15T10:00:00.123Z"
    assert store_timestamp(moment) == "2026-06-15T10:00:00.123456Z"
    assert stix_timestamp(NOW) == "2026-06-15T10:00:00.000Z"
    assert store_timestamp(NOW) == "2026-06-15T10:00:00.000000Z"


def test_the_stix_form_truncates_to_the_millisecond() -> None:
    assert stix_timestamp(EDGES[1].replace(microsecond=999_999)) == "2026-12-31T23:59:59.999Z"
    assert stix_timestamp(EDGES[2].replace(microsecond=999)) == "2027-01-01T00:00:00.000Z"


MODERN = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31))


@given(moment=MODERN)
def test_the_forms_are_the_old_spellings(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    assert store_timestamp(aware) == aware.strftime(OLD_STORE_FORMAT)
    assert stix_timestamp(aware) == old_stix_spelling(aware)


@given(moment=st.datetimes(min_value=datetime.min, max_value=datetime.max))
def test_the_forms_have_a_fixed_width(moment: datetime) -> None:
    assert len(store_timestamp(moment)) == len(STORE_EPOCH) == 27
    assert len(stix_timestamp(moment.replace(tzinfo=UTC))) == 24


def test_years_before_1000_have_four_digits() -> None:
    moment = datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert store_timestamp(moment) == "0999-12-31T23:59:59.999999Z"
    assert stix_timestamp(moment) == "0999-12-31T23:59:59.999Z"
    assert store_timestamp(datetime.min) == "0001-01-01T00:00:00.000000Z"


def test_a_naive_datetime_is_read_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert store_timestamp(naive) == store_timestamp(NOW)
    assert stix_timestamp(naive) == stix_timestamp(NOW)


def test_the_store_form_converts_to_utc() -> None:
    paris = datetime(2026, 6, 15, 12, 0, 0, 42, tzinfo=timezone(timedelta(hours=2)))
    assert store_timestamp(paris) == "2026-06-15T10:00:00.000042Z"


def test_the_epoch_in_the_store_form() -> None:
    assert store_timestamp(datetime(1970, 1, 1, tzinfo=UTC)) == STORE_EPOCH


@pytest.mark.parametrize("moment", [NOW, *EDGES])
def test_midnight_in_the_stix_form(moment: datetime) -> None:
    day = moment.date()
    assert stix_midnight(day) == f"{day.isoformat()}T00:00:00.000Z"
    assert parse_timestamp(stix_midnight(day)) == datetime.combine(day, datetime.min.time(), UTC)


def test_midnight_of_an_early_year() -> None:
    assert stix_midnight(date(1, 1, 1)) == "0001-01-01T00:00:00.000Z"


def test_store_now_is_now() -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    stamp = store_now()
    assert len(stamp) == 27
    assert before <= parse_timestamp(stamp) <= datetime.now(UTC)


# -- consecutive store timestamps --------------------------------------------------------------


def test_consecutive_timestamps_cross_the_second() -> None:
    first = NOW.replace(microsecond=999_998)
    assert consecutive_store_timestamps(first, 4) == [
        "2026-06-15T10:00:00.999998Z",
        "2026-06-15T10:00:00.999999Z",
        "2026-06-15T10:00:01.000000Z",
        "2026-06-15T10:00:01.000001Z",
    ]


def test_consecutive_timestamps_cross_the_year() -> None:
    first = EDGES[1].replace(microsecond=999_999)
    assert consecutive_store_timestamps(first, 2) == [
        "2026-12-31T23:59:59.999999Z",
        "2027-01-01T00:00:00.000000Z",
    ]


def test_more_than_a_second_of_consecutive_timestamps() -> None:
    stamps = consecutive_store_timestamps(NOW.replace(microsecond=999_999), 1_000_002)
    assert stamps[:2] == ["2026-06-15T10:00:00.999999Z", "2026-06-15T10:00:01.000000Z"]
    assert stamps[-2:] == ["2026-06-15T10:00:01.999999Z", "2026-06-15T10:00:02.000000Z"]
    assert len(set(stamps)) == len(stamps)


def test_no_timestamps_asked_none_given() -> None:
    assert consecutive_store_timestamps(NOW, 0) == []


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    count=st.integers(min_value=1, max_value=3000),
)
def test_consecutive_timestamps_are_one_microsecond_apart(moment: datetime, count: int) -> None:
    stamps = consecutive_store_timestamps(moment, count)
    assert len(stamps) == count
    assert stamps == sorted(set(stamps))
    last = moment.replace(tzinfo=UTC) + timedelta(microseconds=count - 1)
    assert stamps[0] == store_timestamp(moment)
    assert stamps[-1] == store_timestamp(last)


# -- reading: as_store_timestamp, parse_timestamp ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("2024-04-22T10:00:00Z", "2024-04-22T10:00:00.000000Z"),
        ("2024-04-22T10:00:00.1Z", "2024-04-22T10:00:00.100000Z"),
        ("2024-04-22T10:00:00.123Z", "2024-04-22T10:00:00.123000Z"),
        ("2024-04-22T10:00:00.123456Z", "2024-04-22T10:00:00.123456Z"),
        ("2024-04-22T10:00:00.123456789Z", "2024-04-22T10:00:00.123456Z"),
        ("2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999000Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_as_store_timestamp(text: str, normalised: str) -> None:
    assert as_store_timestamp(text) == normalised
    assert as_store_timestamp(normalised) == normalised
    assert len(normalised) == len(STORE_EPOCH)


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30T00:00:00Z",  # no such day
        "2023-02-29T00:00:00Z",  # not a leap year
        "1900-02-29T00:00:00Z",  # not a leap year either
        "2024-04-31T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2016-12-31T23:59:60Z",  # leap seconds cannot be ordered as text; refused
        "2024-01-01t00:00:00z",
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00+00:00",
        "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00.1234567890Z",
        "24-01-01T00:00:00Z",
        "+2024-01-01T00:00:00Z",
        " 2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z ",
        "2024-01-01T00:00:00Z\n",
        "\u0662\u0660\u0662\u0664-01-01T00:00:00Z",  # Arabic-Indic digits
        "2024-01-01T00:00:00.\u0661Z",
        "2024-1-1T0:0:0Z",
        "",
    ],
)
def test_as_store_timestamp_refuses(text: str) -> None:
    with pytest.raises(StixError) as refused:
        as_store_timestamp(text, "valid_from")
    assert refused.value.field == "valid_from"
    assert str(refused.value) == f"valid_from: {refused.value.message}"


@pytest.mark.parametrize("value", [None, 20240422, 1.5, True, [], {}, b"2024-01-01T00:00:00Z"])
def test_as_store_timestamp_refuses_non_strings(value: Any) -> None:
    with pytest.raises(StixError) as refused:
        as_store_timestamp(value, "created")
    assert refused.value.field == "created"
    assert refused.value.message.startswith("expected an RFC 3339 timestamp string")


DATETIMES = st.datetimes(min_value=datetime.min, max_value=datetime.max)


def stix_text(moment: datetime, digits: int) -> str:
    """``moment`` written with ``digits`` fraction digits (truncating, or padding with 0s)."""
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    fraction = f"{moment.microsecond:06d}".ljust(digits, "0")[:digits]
    return f"{text}.{fraction}Z" if digits else f"{text}Z"


def truncated(moment: datetime, digits: int) -> datetime:
    step = 10 ** (6 - min(digits, 6))
    return moment.replace(microsecond=moment.microsecond // step * step)


@given(moment=DATETIMES, digits=st.integers(min_value=0, max_value=9))
def test_store_forms_parse_back_to_the_instant(moment: datetime, digits: int) -> None:
    text = stix_text(moment, digits)
    normalised = as_store_timestamp(text)
    assert len(normalised) == 27
    assert as_store_timestamp(normalised) == normalised
    assert parse_timestamp(text) == truncated(moment, digits).replace(tzinfo=UTC)
    assert parse_timestamp(normalised) == parse_timestamp(text)


@given(
    first=DATETIMES,
    second=DATETIMES,
    digits=st.integers(min_value=6, max_value=9),
    other_digits=st.integers(min_value=6, max_value=9),
)
def test_store_forms_sort_as_the_instants_do(
    first: datetime, second: datetime, digits: int, other_digits: int
) -> None:
    one, two = (
        as_store_timestamp(stix_text(first, digits)),
        as_store_timestamp(stix_text(second, other_digits)),
    )
    assert (one < two) == (first < second)
    assert (one == two) == (first == second)


@given(first=DATETIMES, second=DATETIMES, digits=st.integers(min_value=0, max_value=9))
def test_store_forms_at_one_precision_never_invert_order(
    first: datetime, second: datetime, digits: int
) -> None:
    low, high = sorted((first, second))
    assert as_store_timestamp(stix_text(low, digits)) <= as_store_timestamp(stix_text(high, digits))


@given(
    year=st.integers(min_value=1, max_value=9999),
    month=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_days_beyond_the_end_of_the_month_are_refused(
    year: int, month: int, data: st.DataObject
) -> None:
    last = calendar.monthrange(year, month)[1]
    day = data.draw(st.integers(min_value=last + 1, max_value=99), label="day")
    with pytest.raises(StixError, match="not a real calendar date"):
        as_store_timestamp(f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z")


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_stix_timestamp_writes_what_parse_timestamp_reads(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    text = stix_timestamp(aware)
    assert text.endswith("Z") and len(text) == 24
    assert parse_timestamp(text) == aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def test_stix_timestamp_converts_to_utc() -> None:
    rabat = datetime(2024, 4, 22, 13, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert stix_timestamp(rabat) == "2024-04-22T12:30:00.999Z"


def test_stix_now_is_now() -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    moment = parse_timestamp(stix_now())
    assert before <= moment <= datetime.now(UTC)


# -- round trips -------------------------------------------------------------------------------


@given(moment=st.datetimes(min_value=datetime.min, max_value=datetime.max))
def test_the_store_form_round_trips(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    stamp = store_timestamp(aware)
    assert parse_timestamp(stamp) == aware
    assert as_store_timestamp(stamp) == stamp
    check_timestamp(stamp)


@given(moment=st.datetimes(min_value=datetime.min, max_value=datetime.max))
def test_the_stix_form_reads_as_the_store_form_of_its_millisecond(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC)
    millisecond = aware.replace(microsecond=aware.microsecond // 1000 * 1000)
    assert as_store_timestamp(stix_timestamp(aware)) == store_timestamp(millisecond)
    assert stix_timestamp(parse_timestamp(stix_timestamp(aware))) == stix_timestamp(aware)


def test_parse_timestamp_names_the_field() -> None:
    with pytest.raises(StixError) as refused:
        parse_timestamp("2026-02-30T00:00:00Z", "deadline")
    assert refused.value.field == "deadline"
    with pytest.raises(StixError, match=r"^timestamp: expected an RFC 3339"):
        parse_timestamp(None)


# -- the day of a timestamp --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-06-15T10:00:00.000Z", date(2026, 6, 15)),
        ("2026-12-31", date(2026, 12, 31)),
        ("2027-01-01T00:00:00Z", date(2027, 1, 1)),
        ("2026-02-30T00:00:00Z", None),
        ("15/06/2026", None),
        ("2026-06", None),
        ("", None),
        (None, None),
        (20260615, None),
    ],
)
def test_timestamp_day(value: Any, day: date | None) -> None:
    assert timestamp_day(value) == day

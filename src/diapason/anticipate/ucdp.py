"""UCDP data into the store: Georeferenced Event Dataset events and country-month deaths.

For whom: ``diapason anticipate import`` and ``diapason demo`` (which loads the Sahel-Maghreb
country-month file shipped in ``data/``). The Uppsala Conflict Data Program publishes what
analysts of organised violence already use; imported here, it is history the series, the
forecasts, the alerts and the map count like any other event.

Three layouts, detected from the header (or named with ``fmt``):

- ``ged``: GED event rows (``id``, ``country``, ``date_start``, ``date_end``, ``best``,
  ``type_of_violence`` required; ``year``, ``conflict_name``, ``dyad_name``, ``side_a``,
  ``side_b``, ``country_id``, ``region``, ``adm_1``, ``latitude``, ``longitude``,
  ``where_prec``, ``date_prec``, ``low``, ``high``, ``source_article`` read when present);
- ``country-month``: long rows ``month_end,country,best_deaths``;
- ``country-month-wide``: one row per month (its last day in the first column), one column
  per country, deaths in the cells.

Every row is checked before anything is written: a file with one bad row is refused whole,
with every problem found named by file, line, column and why (``UcdpError``).

Each record becomes an ``x-diapason-event`` (PLOVER ``ASSAULT``: UCDP codes lethal
organised violence) with ``deaths_best`` (the UCDP best estimate), created by the
"Uppsala Conflict Data Program" identity, flagged as open source and graded B2 (Admiralty:
usually reliable, probably true), marked TLP:CLEAR, with an external reference carrying the
CC BY 4.0 attribution. A country-month record is an aggregate (``aggregate:
"country-month"``): it reports deaths, not one event. Ids are UUIDv5 of the UCDP key (the
GED event id, or the country and month), and timestamps come from the record's own dates,
so importing the same file again writes nothing; a record whose figures changed in a later
UCDP release becomes a new version of the same object, and a country-month that fell to
zero is revoked. A zero country-month is not written: series count a missing month as zero.
"""

from __future__ import annotations

import calendar
import csv
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from diapason.anticipate.places import countries
from diapason.audit import AuditLog
from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import (
    EVENT_EXTENSION_ID,
    GRADING_EXTENSION_ID,
    TLP_2_0_IDS,
    diapason_id,
)
from diapason.domain.grading import grade
from diapason.domain.timestamps import parse_timestamp, stix_midnight, stix_now, stix_timestamp
from diapason.errors import DiapasonError
from diapason.store.interface import ObjectStore, Query, StoredObject

Format = Literal["ged", "country-month", "country-month-wide"]
FORMATS: tuple[Format, ...] = ("ged", "country-month", "country-month-wide")

UCDP_NAME = "Uppsala Conflict Data Program"
UCDP_IDENTITY_ID = diapason_id("identity", "ucdp")
UCDP_URL = "https://ucdp.uu.se/downloads/"
LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
# What CC BY 4.0 asks: the source, its authors' citation, the licence.
_CITATIONS = (
    "Sundberg, Ralph {and} Erik Melander (2013), Introducing the UCDP Georeferenced Event "
    "Dataset, Journal of Peace Research 50(4): 523-532; Davies, Shawn, Therese Pettersson, "
    "Margareta Sollenberg {and} Magnus Öberg (2025), Organized violence 1989-2024, and the "
    "challenges of identifying civilian victims, Journal of Peace Research 62(4)."
)
_ATTRIBUTIONS = {
    "en": "UCDP data: Uppsala Conflict Data Program, licensed CC BY 4.0. "
    + _CITATIONS.format(**{"and": "and"}),
    "fr": "Données UCDP\u00a0: Uppsala Conflict Data Program, sous licence CC BY 4.0. "
    + _CITATIONS.format(**{"and": "et"}),
}
ATTRIBUTION = _ATTRIBUTIONS["en"]


def attribution(lang: str = "en") -> str:
    """The attribution UCDP's licence asks for, in English or French, wherever its data is
    shown."""
    return _ATTRIBUTIONS.get(lang, ATTRIBUTION)


# How far to trust it: a research programme with a published method (usually reliable),
# figures cross-checked from several sources but estimates all the same (probably true).
GRADE = ("admiralty", "B", "2")
# UCDP codes lethal organised violence: PLOVER's use of force against people.
PLOVER_TYPE = "ASSAULT"
AGGREGATE = "country-month"
VIOLENCE_TYPES = {"1": "state-based conflict", "2": "non-state conflict", "3": "one-sided violence"}
# The identity's fixed creation time (a shipped object: it never changes).
IDENTITY_CREATED = "2025-06-01T00:00:00.000Z"
# The package's own subset (see data/PROVENANCE.md).
SHIPPED = "data/ucdp_sahel_maghreb_country_month_1989_2023.csv"
MAX_PROBLEMS = 20
_TEXT_LIMIT = 2000

GED_REQUIRED = ("id", "country", "date_start", "date_end", "best", "type_of_violence")
LONG_HEADER = ("month_end", "country", "best_deaths")

# UCDP's country names that GeoNames (data/places.json) writes otherwise.
_ALIASES = {
    "bosnia-herzegovina": "BA",
    "cambodia (kampuchea)": "KH",
    "congo": "CG",
    "dr congo (zaire)": "CD",
    "kingdom of eswatini (swaziland)": "SZ",
    "madagascar (malagasy)": "MG",
    "myanmar (burma)": "MM",
    "netherlands": "NL",
    "russia (soviet union)": "RU",
    "serbia (yugoslavia)": "RS",
    "united states of america": "US",
    "yemen (north yemen)": "YE",
    "zimbabwe (rhodesia)": "ZW",
    "antigua & barbuda": "AG",
}


class UcdpError(DiapasonError, ValueError):
    """A UCDP file that cannot be imported: every problem found, each naming the file, the
    line, the column and why."""

    def __init__(self, problems: Sequence[str], more: int = 0) -> None:
        self.problems = list(problems)
        self.more = more
        text = "\n".join(self.problems)
        if more:
            text += f"\n... and {more} more problem{'s' if more > 1 else ''}"
        super().__init__(text)


@dataclass(frozen=True)
class Record:
    """One UCDP row: what it is about, when, and the deaths it reports."""

    key: str  # the UCDP key: "ged:<id>" or "country-month:<ISO>:<YYYY-MM>"
    line: int
    country: str  # ISO 3166 alpha-2
    country_name: str  # as UCDP writes it
    start: date
    end: date
    deaths: int
    details: Mapping[str, Any] = field(default_factory=dict)  # GED's other columns

    @property
    def aggregate(self) -> bool:
        return self.key.startswith(AGGREGATE)


@dataclass
class Parsed:
    """A checked file: its layout, its records, and what was read without being kept."""

    path: Path
    format: Format
    records: list[Record]
    zeros: list[str] = field(default_factory=list)  # keys of country-months at zero
    notes: list[str] = field(default_factory=list)


@cache
def _country_index() -> dict[str, str]:
    index = {name.casefold(): code for code, name in countries().items()}
    index.update(_ALIASES)
    return index


def country_code(name: str) -> str | None:
    """The ISO alpha-2 code of a country as UCDP names it ("DR Congo (Zaire)" is CD), or of
    a code given as it is ("ML"); None if unknown."""
    text = name.strip()
    if len(text) == 2 and text.upper() in countries():
        return text.upper()
    return _country_index().get(text.casefold())


def detect_format(header: Sequence[str]) -> Format | None:
    """The layout a header row is of, or None."""
    names = [cell.strip().lower() for cell in header]
    # A wide table has no column named "country"; a GED file has its "id" and dates.
    if "country" in names and ("best_deaths" in names or "month_end" in names):
        return "country-month"
    if "id" in names and ("date_start" in names or "type_of_violence" in names):
        return "ged"
    if len(names) > 1 and names[0] in ("", "month_end", "date", "month"):
        return "country-month-wide"
    return None


class _Problems:
    """Problems of one file, kept up to ``MAX_PROBLEMS`` and counted beyond."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept: list[str] = []
        self.more = 0

    def add(self, line: int, column: str | None, why: str) -> None:
        if len(self.kept) >= MAX_PROBLEMS:
            self.more += 1
            return
        where = f"{self.path} line {line}" + (f", column {column!r}" if column else "")
        self.kept.append(f"{where}: {why}")

    def check(self) -> None:
        if self.kept:
            raise UcdpError(self.kept, self.more)


def _deaths(text: str) -> int | str:
    """A count of deaths, or why it is not one."""
    cleaned = text.strip()
    if not cleaned:
        return "empty, expected a count of deaths"
    try:
        value = float(cleaned)
    except ValueError:
        return f"{cleaned!r} is not a number"
    if not math.isfinite(value):
        return f"{cleaned!r} is not a finite number"
    if value < 0:
        return f"{cleaned!r} is negative: deaths are counted from 0"
    if value != int(value):
        return f"{cleaned!r} is not a whole number"
    return int(value)


def _month_end(text: str) -> date | str:
    """The last day of a month (``2023-01-31``), or why the text is not one."""
    cleaned = text.strip()
    try:
        day = date.fromisoformat(cleaned)
    except ValueError:
        return f"{cleaned!r} is not a date YYYY-MM-DD (the month's last day)"
    last = calendar.monthrange(day.year, day.month)[1]
    if day.day != last:
        return (
            f"{cleaned!r} is not the last day of its month "
            f"(expected {day.replace(day=last).isoformat()})"
        )
    return day


_GED_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]00:00:00(?:\.0+)?Z?)?$")


def _ged_date(text: str) -> date | str:
    match = _GED_DATE.match(text.strip())
    if match is None:
        return f"{text.strip()!r} is not a date YYYY-MM-DD"
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return f"{text.strip()!r} is not a date of the calendar"


def _rows(path: Path) -> list[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))
    except UnicodeDecodeError:
        raise UcdpError([f"{path}: not UTF-8 text"]) from None
    except csv.Error as error:
        raise UcdpError([f"{path}: not a CSV file: {error}"]) from None
    except OSError as error:
        raise UcdpError([f"{path}: cannot be read: {error.strerror or error}"]) from None


def read_ucdp(path: Path, fmt: Format | None = None) -> Parsed:
    """Read and check a UCDP file of the layout ``fmt`` (detected when None). Raises
    ``UcdpError`` with every problem (up to ``MAX_PROBLEMS`` named, the rest counted)."""
    rows = _rows(path)
    if not rows:
        raise UcdpError([f"{path}: empty file, expected a header row"])
    header = rows[0]
    detected = detect_format(header)
    if fmt is None:
        if detected is None:
            raise UcdpError(
                [
                    f"{path} line 1: header {','.join(header)[:200]!r} is not a UCDP layout: "
                    "expected GED columns (" + ", ".join(GED_REQUIRED) + "), "
                    "'month_end,country,best_deaths', or a month column then one column per "
                    "country"
                ]
            )
        fmt = detected
    problems = _Problems(path)
    if fmt == "ged":
        parsed = _read_ged(path, rows, problems)
    elif fmt == "country-month":
        parsed = _read_long(path, rows, problems)
    else:
        parsed = _read_wide(path, rows, problems)
    problems.check()
    if not parsed.records and not parsed.zeros:
        raise UcdpError([f"{path}: no data rows"])
    return parsed


def _blank(row: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _month_key(country: str, day: date) -> str:
    return f"{AGGREGATE}:{country}:{day.year:04d}-{day.month:02d}"


def _month_record(
    parsed: Parsed, seen: dict[str, int], problems: _Problems, line: int, entry: tuple[Any, ...]
) -> None:
    """Keep one country-month (``entry``: column, country name, code, month end, deaths)."""
    column, name, code, end, deaths = entry
    key = _month_key(code, end)
    if key in seen:
        problems.add(line, column, f"{name} {end:%Y-%m} already given on line {seen[key]}")
        return
    seen[key] = line
    if deaths == 0:
        parsed.zeros.append(key)
        return
    parsed.records.append(Record(key, line, code, name, end.replace(day=1), end, deaths))


def _read_long(path: Path, rows: list[list[str]], problems: _Problems) -> Parsed:
    header = tuple(cell.strip().lower() for cell in rows[0])
    parsed = Parsed(path, "country-month", [])
    if header != LONG_HEADER:
        missing = [name for name in LONG_HEADER if name not in header]
        problems.add(
            1,
            missing[0] if missing else None,
            f"header is {','.join(rows[0])!r}, expected 'month_end,country,best_deaths'",
        )
        return parsed
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if _blank(row):
            continue
        if len(row) != 3:
            problems.add(
                line, None, f"{len(row)} fields, expected 3 (month_end,country,best_deaths)"
            )
            continue
        end = _month_end(row[0])
        if isinstance(end, str):
            problems.add(line, "month_end", end)
        name = row[1].strip()
        code = country_code(name)
        if code is None:
            problems.add(line, "country", f"unknown country {name!r}")
        deaths = _deaths(row[2])
        if isinstance(deaths, str):
            problems.add(line, "best_deaths", deaths)
        if isinstance(end, date) and code is not None and isinstance(deaths, int):
            _month_record(parsed, seen, problems, line, ("country", name, code, end, deaths))
    return parsed


def _read_wide(path: Path, rows: list[list[str]], problems: _Problems) -> Parsed:
    header = [cell.strip() for cell in rows[0]]
    parsed = Parsed(path, "country-month-wide", [])
    codes: dict[int, str] = {}
    unnamed: list[int] = []
    for index, name in enumerate(header[1:], start=1):
        if not name:
            unnamed.append(index)
            continue
        code = country_code(name)
        if code is None:
            problems.add(1, name, f"unknown country {name!r} (column {index + 1})")
        elif code in codes.values():
            problems.add(1, name, f"country {name!r} given twice")
        else:
            codes[index] = code
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if _blank(row):
            continue
        if len(row) != len(header):
            problems.add(line, None, f"{len(row)} fields, the header has {len(header)}")
            continue
        end = _month_end(row[0])
        if isinstance(end, str):
            problems.add(line, header[0] or "month", end)
        for index in unnamed:
            deaths = _deaths(row[index])
            if deaths != 0:
                why = deaths if isinstance(deaths, str) else f"{deaths} deaths"
                problems.add(line, f"#{index + 1}", f"a column without a country name holds {why}")
        for index, code in codes.items():
            deaths = _deaths(row[index])
            if isinstance(deaths, str):
                problems.add(line, header[index], deaths)
            elif isinstance(end, date):
                entry = (header[index], header[index], code, end, deaths)
                _month_record(parsed, seen, problems, line, entry)
    if unnamed:
        parsed.notes.append(f"{len(unnamed)} column(s) without a country name, all zero, left out")
    return parsed


def _float_in(text: str, low: float, high: float) -> float | str | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        return f"{cleaned!r} is not a number"
    if not math.isfinite(value) or not low <= value <= high:
        return f"{cleaned!r} is outside {low:g} to {high:g}"
    return value


def _integer_in(text: str, choices: range) -> int | str | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    if not cleaned.isdigit() or int(cleaned) not in choices:
        return f"{cleaned!r} is not one of {choices.start} to {choices.stop - 1}"
    return int(cleaned)


_GED_TEXT = ("conflict_name", "dyad_name", "side_a", "side_b", "region", "adm_1")


def _read_ged(path: Path, rows: list[list[str]], problems: _Problems) -> Parsed:
    header = [cell.strip().lower() for cell in rows[0]]
    parsed = Parsed(path, "ged", [])
    missing = [name for name in GED_REQUIRED if name not in header]
    for name in missing:
        problems.add(1, name, "missing: a GED file has the columns " + ", ".join(GED_REQUIRED))
    if missing:
        return parsed
    at = {name: header.index(name) for name in header if name}
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if _blank(row):
            continue
        if len(row) != len(header):
            problems.add(line, None, f"{len(row)} fields, the header has {len(header)}")
            continue
        record = _ged_record(line, row, at, problems)
        if record is None:
            continue
        if record.key in seen:
            problems.add(
                line, "id", f"event {record.key[4:]} already given on line {seen[record.key]}"
            )
            continue
        seen[record.key] = line
        parsed.records.append(record)
    return parsed


def _ged_record(
    line: int, row: list[str], at: Mapping[str, int], problems: _Problems
) -> Record | None:
    def cell(name: str) -> str:
        return row[at[name]].strip() if name in at else ""

    before = len(problems.kept) + problems.more
    event_id = cell("id")
    if not event_id.isdigit():
        problems.add(line, "id", f"{event_id!r} is not a GED event id (a whole number)")
    name = cell("country")
    code = country_code(name)
    if code is None:
        problems.add(line, "country", f"unknown country {name!r}")
    start, end = _ged_date(cell("date_start")), _ged_date(cell("date_end"))
    for column, value in (("date_start", start), ("date_end", end)):
        if isinstance(value, str):
            problems.add(line, column, value)
    if isinstance(start, date) and isinstance(end, date) and end < start:
        problems.add(line, "date_end", f"{end.isoformat()} is before date_start {start}")
    year = cell("year")
    if year and isinstance(start, date) and year != str(start.year):
        problems.add(line, "year", f"{year!r} is not the year of date_start ({start})")
    deaths = _deaths(cell("best"))
    if isinstance(deaths, str):
        problems.add(line, "best", deaths)
    violence = cell("type_of_violence")
    if violence not in VIOLENCE_TYPES:
        problems.add(line, "type_of_violence", f"{violence!r} is not 1, 2 or 3")
    details: dict[str, Any] = {"type_of_violence": int(violence) if violence.isdigit() else 0}
    checks: list[tuple[str, Callable[[str], Any]]] = [
        ("latitude", lambda text: _float_in(text, -90, 90)),
        ("longitude", lambda text: _float_in(text, -180, 180)),
        ("where_prec", lambda text: _integer_in(text, range(1, 8))),
        ("date_prec", lambda text: _integer_in(text, range(1, 6))),
        ("country_id", lambda text: _integer_in(text, range(0, 1000))),
    ]
    for column, check in checks:
        value = check(cell(column))
        if isinstance(value, str):
            problems.add(line, column, value)
        elif value is not None:
            details[column] = value
    for column in ("low", "high"):
        if cell(column):
            estimate = _deaths(cell(column))
            if isinstance(estimate, str):
                problems.add(line, column, estimate)
            else:
                details[f"deaths_{column}"] = estimate
    for column in _GED_TEXT:
        if cell(column):
            details[column] = cell(column)[:_TEXT_LIMIT]
    if cell("source_article"):
        details["source_article"] = cell("source_article")[:_TEXT_LIMIT]
    if len(problems.kept) + problems.more > before:
        return None
    assert code is not None and isinstance(start, date) and isinstance(end, date)
    assert isinstance(deaths, int)
    return Record(f"ged:{event_id}", line, code, name, start, end, deaths, details)


def shipped_path() -> Path:
    """The Sahel-Maghreb country-month file shipped with the package."""
    return Path(str(resources.files("diapason.anticipate").joinpath(SHIPPED)))


def ucdp_identity() -> dict[str, Any]:
    """The identity every imported record is created by."""
    obj = {
        "type": "identity",
        "spec_version": "2.1",
        "id": UCDP_IDENTITY_ID,
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "created_by_ref": UCDP_IDENTITY_ID,
        "name": UCDP_NAME,
        "identity_class": "organization",
        "sectors": ["education"],
        "description": "Department of Peace and Conflict Research, Uppsala University. "
        + ATTRIBUTION,
        "contact_information": UCDP_URL,
        "external_references": [_reference(None)],
        "object_marking_refs": [TLP_2_0_IDS["clear"]],
    }
    return grade(obj, *GRADE, osint=True)


def _reference(key: str | None) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "source_name": "ucdp",
        "description": f"{ATTRIBUTION} Licence: {LICENCE_URL}",
        "url": UCDP_URL,
    }
    if key is not None:
        reference["external_id"] = key
    return reference


def record_id(key: str) -> str:
    """The object id of a UCDP record: the same for every node and every import."""
    return diapason_id(EVENT_TYPE, f"ucdp:{key}")


def record_object(record: Record) -> dict[str, Any]:
    """The ``x-diapason-event`` of one record (timestamps from its own end date)."""
    stamp = _midnight(record.end)
    obj: dict[str, Any] = {
        "type": EVENT_TYPE,
        "spec_version": "2.1",
        "id": record_id(record.key),
        "created": stamp,
        "modified": stamp,
        "created_by_ref": UCDP_IDENTITY_ID,
        "plover_type": PLOVER_TYPE,
        "country": record.country,
        "deaths_best": record.deaths,
    }
    if record.aggregate:
        month = f"{record.end:%Y-%m}"
        obj["name"] = f"UCDP {record.country_name} {month}: {record.deaths} deaths"
        obj["event_date"] = record.end.isoformat()
        obj["aggregate"] = AGGREGATE
        obj["period"] = month
        obj["summary"] = (
            f"Deaths in organised violence in {record.country_name} in {month} (UCDP best "
            "estimate, summed over the month's events)"
        )
    else:
        details = dict(record.details)
        violence = VIOLENCE_TYPES.get(str(details.pop("type_of_violence")), "")
        obj["name"] = (
            f"UCDP GED {record.key[4:]} {record.start.isoformat()} {record.country_name}: "
            f"{record.deaths} deaths"
        )
        obj["event_date"] = record.start.isoformat()
        if record.end != record.start:
            obj["event_date_end"] = record.end.isoformat()
        sides = " - ".join(str(details[side]) for side in ("side_a", "side_b") if side in details)
        conflict = details.get("conflict_name") or details.get("dyad_name") or ""
        obj["summary"] = "; ".join(part for part in (violence, conflict, sides) if part)
        obj["ucdp_type_of_violence"] = violence
        if "adm_1" in details:
            obj["admin1"] = details.pop("adm_1")
        for name, value in details.items():
            obj[name if name.startswith("deaths_") else f"ucdp_{name}"] = value
    obj["external_references"] = [_reference(record.key)]
    obj["object_marking_refs"] = [TLP_2_0_IDS["clear"]]
    obj["extensions"] = {
        EVENT_EXTENSION_ID: {"extension_type": "new-sdo"},
        GRADING_EXTENSION_ID: dict(_grading()),
    }
    return obj


@cache
def _midnight(day: date) -> str:
    return stix_midnight(day)


@cache
def _grading() -> Mapping[str, Any]:
    """The grading extension every record carries (B2, open source), made once."""
    extension: Mapping[str, Any] = grade({}, *GRADE, osint=True)["extensions"][GRADING_EXTENSION_ID]
    return extension


@dataclass
class Imported:
    """What an import did."""

    records: int = 0
    written: int = 0  # new objects and new versions
    unchanged: int = 0
    revised: int = 0  # records whose figures changed since the last import (new versions)
    revoked: int = 0  # country-months fallen to zero
    written_ids: list[str] = field(default_factory=list)


_CONTENT_SKIP = frozenset({"created", "modified"})


def _same(held: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    keys = (set(held) | set(new)) - _CONTENT_SKIP
    return all(held.get(key) == new.get(key) for key in keys)


def _later(held: str) -> str:
    """Now, or one millisecond after the version held if that is later (a clock behind)."""
    now = stix_now()
    after = stix_timestamp(parse_timestamp(held).astimezone(UTC) + timedelta(milliseconds=1))
    return max(now, after)


def _held(store: ObjectStore, ids: set[str]) -> dict[str, StoredObject]:
    """The current versions of these ids: read one by one when few, else every UCDP
    event in pages (a re-import of a large file reads its history in a few queries)."""
    if len(ids) <= _FEW:
        found = (store.get(object_id) for object_id in sorted(ids))
        return {stored.id: stored for stored in found if stored is not None}
    held: dict[str, StoredObject] = {}
    after: int | None = None
    while True:
        query = Query(
            types=(EVENT_TYPE,),
            created_by=UCDP_IDENTITY_ID,
            include_revoked=True,
            limit=1000,
            after=after,
        )
        page = store.query(query)
        held.update((stored.id, stored) for stored in page.objects if stored.id in ids)
        if page.next_after is None:
            return held
        after = page.next_after


_FEW = 50


def _plan(store: ObjectStore, parsed: Parsed, imported: Imported) -> list[dict[str, Any]]:
    """The objects to write: new records as they are, changed ones as new versions, zeros
    that were held before as revocations; unchanged ones left out."""
    identity = ucdp_identity()
    made = [record_object(record) for record in parsed.records]
    zero_ids = [record_id(key) for key in parsed.zeros]
    known = store.known_ids([identity["id"], *(obj["id"] for obj in made), *zero_ids])
    held = _held(store, known - {identity["id"]})
    if identity["id"] in known:
        imported.unchanged += 1
    else:
        made.insert(0, identity)
    pending: list[dict[str, Any]] = []
    for obj in made:
        stored = held.get(obj["id"])
        if stored is None:
            pending.append(obj)
        elif _same(stored.object, obj):
            imported.unchanged += 1
        else:
            imported.revised += 1
            pending.append(
                {**obj, "created": stored.object["created"], "modified": _later(stored.modified)}
            )
    for object_id in zero_ids:
        stored = held.get(object_id)
        if stored is None or stored.revoked:
            continue
        imported.revoked += 1
        pending.append({**stored.object, "revoked": True, "modified": _later(stored.modified)})
    return pending


def import_ucdp(
    store: ObjectStore,
    audit: AuditLog,
    parsed: Parsed,
    *,
    actor: str,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> Imported:
    """Write a checked file's records to the store, ``batch`` objects per transaction, each
    with its audit entry; ``progress(done, total)`` after each. Raises ``UcdpError`` if the
    store refuses an object (nothing of that batch is then kept for it)."""
    imported = Imported(records=len(parsed.records))
    pending = _plan(store, parsed, imported)
    details = {"ucdp": str(parsed.path.name), "format": parsed.format}
    if progress is not None:
        progress(0, len(pending))

    def record(connection: Any, written: list[str]) -> None:
        audit.append(actor, "import", written, details=details, connection=connection)

    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        report = store.put_many(chunk, source="local", on_write=record)
        if report.refused:
            problem = report.refused[0]
            raise UcdpError(
                [f"{parsed.path}: the store refused {problem.object_id}: {problem.message}"]
            )
        imported.written += len(report.written)
        imported.unchanged += len(report.unchanged)
        imported.written_ids.extend(report.written)
        if progress is not None:
            progress(start + len(chunk), len(pending))
    return imported


def holds_ucdp(objects: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any of these objects was created by UCDP (the pages then show its
    attribution)."""
    return any(obj.get("created_by_ref") == UCDP_IDENTITY_ID for obj in objects)

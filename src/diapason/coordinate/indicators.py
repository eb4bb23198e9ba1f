"""Migration-governance indicators: monthly aggregate figures each side enters against the
shared definitions (``data/indicators.json``), shown side by side.

Aggregates only: a figure is a count for one indicator, one month and one side. Input
that looks like a record about an individual (a name, a date of birth, a document
number, an e-mail address, or any field other than indicator, month, value and comment)
is refused whole. A side enters only its own figures; a month's figure entered twice is an
error, and changing it is an explicit correction (a new revision with its reason), kept in
the figure's history.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from diapason.coordinate.editing import Edit, Kind, create, edit, item_view
from diapason.coordinate.records import CoordinationError, Records
from diapason.coordinate.revisions import Item, Revision
from diapason.domain.coordination import FIGURE_TYPE

FIGURE_FIELDS = frozenset({"indicator", "month", "value", "comment"})
MAX_VALUE = 1_000_000_000
MONTH_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])\Z")

# Field names that belong to records about persons, in English and French.
PERSONAL_FIELD_RE = re.compile(
    r"name|nom|prenom|prénom|birth|naissance|born|passport|passeport|nationalit|gender|sexe"
    r"|\bage\b|address|adresse|phone|téléphone|telephone|email|e-mail|courriel|document"
    r"|\bid\b|identity|identité|person|personne|individual|migrant",
    re.IGNORECASE,
)
# Text that identifies a person: an e-mail address, a date of birth, a document number.
PERSONAL_TEXT_RE = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+"
    r"|\b(?:born|né|née|date of birth|date de naissance|DOB)\b"
    r"|\b[A-Z]{1,3}[0-9]{6,9}\b"
    r"|\b[0-9]{1,2}[/.][0-9]{1,2}[/.](?:19|20)[0-9]{2}\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Definition:
    code: str
    unit: str
    names: Mapping[str, str]
    definitions: Mapping[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "unit": self.unit,
            "name": dict(self.names),
            "definition": dict(self.definitions),
        }


@cache
def definitions() -> dict[str, Definition]:
    """The shared indicator definitions shipped with the package, by code."""
    text = (
        resources.files("diapason.coordinate").joinpath("data/indicators.json").read_text("utf-8")
    )
    return {
        entry["code"]: Definition(
            entry["code"],
            entry["unit"],
            {lang: entry[lang]["name"] for lang in ("en", "fr")},
            {lang: entry[lang]["definition"] for lang in ("en", "fr")},
        )
        for entry in json.loads(text)["indicators"]
    }


def check_aggregate(entry: Mapping[str, Any], where: str) -> None:
    """Refuse what looks like a record about an individual rather than an aggregate."""
    for key in entry:
        if key in FIGURE_FIELDS:
            continue
        if PERSONAL_FIELD_RE.search(str(key)):
            raise CoordinationError(
                f"{where}: field {str(key)[:40]!r} looks like a record about an individual; "
                "only monthly aggregate figures are accepted"
            )
        raise CoordinationError(
            f"{where}: field {str(key)[:40]!r} is not accepted (fields: indicator, month, "
            "value, comment)"
        )
    comment = entry.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            raise CoordinationError(f"{where}: field comment: expected text")
        if PERSONAL_TEXT_RE.search(comment):
            raise CoordinationError(
                f"{where}: field comment: looks like it identifies a person (an e-mail, a "
                "date of birth, a document number); figures carry no personal data"
            )


def check_month(value: Any, today: date, where: str) -> str:
    match = MONTH_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise CoordinationError(f"{where}: {str(value)[:20]!r} is not a month (YYYY-MM)")
    if (int(match.group(1)), int(match.group(2))) > (today.year, today.month):
        raise CoordinationError(f"{where}: {value} has not begun yet")
    return str(value)


def check_value(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise CoordinationError(f"{where}: {str(value)[:20]!r} is not a whole number")
    if not 0 <= value <= MAX_VALUE:
        raise CoordinationError(f"{where}: {value} is out of range (0 to {MAX_VALUE:,})")
    return value


def check_figure(
    records: Records, state: dict[str, Any], base: Mapping[str, Any] | None
) -> dict[str, Any]:
    entry = {k: v for k, v in state.items() if k != "side"}
    check_aggregate(entry, "figure")
    code = state.get("indicator")
    if not isinstance(code, str) or code not in definitions():
        raise CoordinationError(
            f"figure: field indicator: {str(code)[:60]!r} is not a shared definition "
            f"(known: {', '.join(definitions())})"
        )
    state["month"] = check_month(state.get("month"), records.today(), "figure: field month")
    state["value"] = check_value(state.get("value"), "figure: field value")
    state["side"] = records.check_partner(state.get("side", records.me), "figure: field side")
    if not state.get("comment"):
        state.pop("comment", None)
    return state


def figure_recipients(records: Records, state: Mapping[str, Any]) -> list[str]:
    """Every partner: the figures are compared side by side."""
    return records.partners()


FIGURE = Kind(
    FIGURE_TYPE,
    "figure",
    frozenset({"value", "comment"}),
    check_figure,
    figure_recipients,
    owner_field="side",
)


def find(records: Records, indicator: str, month: str, side: str) -> Item | None:
    for item in records.items(FIGURE_TYPE).values():
        state = item.fields
        if (state.get("indicator"), state.get("month"), state.get("side")) == (
            indicator,
            month,
            side,
        ):
            return item
    return None


def enter(records: Records, entry: Mapping[str, Any], *, tlp: str | None = None) -> Revision:
    """Enter this side's figure for one indicator and month; an error if already entered."""
    check_aggregate(entry, "figure")
    state = check_figure(records, {**entry, "side": records.me}, None)
    existing = find(records, state["indicator"], state["month"], records.me)
    if existing is not None:
        raise CoordinationError(
            f"figure {state['indicator']} {state['month']}: already entered "
            f"({existing.fields.get('value')}, {existing.id}); to change it, correct it "
            "with a reason"
        )
    return create(records, FIGURE, state, tlp=tlp)


def correct(records: Records, indicator: str, month: str, value: Any, reason: str) -> Edit:
    """Correct this side's figure: a new revision with its reason, the old one kept."""
    if not isinstance(reason, str) or not reason.strip():
        raise CoordinationError("figure: a correction needs its reason")
    existing = find(records, indicator, month, records.me)
    if existing is None:
        raise CoordinationError(f"figure {indicator} {month}: no figure of ours to correct")
    return edit(records, FIGURE, existing.id, {"value": value}, note=reason.strip())


def read_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a CSV file of figures (columns indicator, month, value[, comment]); the
    whole file is refused at the first row or column that is not an aggregate figure."""
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    check_aggregate({name: None for name in columns if name}, "figures file: header")
    missing = {"indicator", "month", "value"} - set(columns)
    if missing:
        raise CoordinationError(f"figures file: header: missing {', '.join(sorted(missing))}")
    rows = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise CoordinationError(f"figures file: line {number}: more cells than columns")
        cleaned = {k: v for k, v in row.items() if k and (v or k != "comment")}
        check_aggregate(cleaned, f"figures file: line {number}")
        rows.append(cleaned)
    return rows


def enter_many(records: Records, rows: list[dict[str, Any]]) -> list[Revision]:
    """Enter several figures; all are checked (against each other and those held) before
    any is written, so a refused file writes nothing."""
    seen: set[tuple[str, str]] = set()
    checked = []
    for index, row in enumerate(rows):
        try:
            state = check_figure(records, {**row, "side": records.me}, None)
        except CoordinationError as error:
            raise CoordinationError(f"row {index + 1}: {error}") from None
        key = (state["indicator"], state["month"])
        if key in seen or find(records, *key, records.me) is not None:
            raise CoordinationError(f"row {index + 1}: figure {key[0]} {key[1]}: already entered")
        seen.add(key)
        checked.append(state)
    return [create(records, FIGURE, state) for state in checked]


def table(records: Records, indicator: str | None = None) -> list[dict[str, Any]]:
    """Every figure held (both sides), with its corrections, oldest month first."""
    rows = []
    for item in records.items(FIGURE_TYPE).values():
        if indicator is not None and item.fields.get("indicator") != indicator:
            continue
        view = item_view(records, item)
        view["corrections"] = [
            {"value": r.fields.get("value"), "reason": r.note, "at": r.created}
            for r in item.revisions[1:]
        ]
        view["first_value"] = item.first.fields.get("value")
        rows.append(view)
    rows.sort(key=lambda r: (r["indicator"], r["month"], r["side"]))
    records.consult([r["id"] for r in rows], "figures")
    return rows


def series(rows: list[dict[str, Any]], indicator: str) -> dict[str, dict[str, int]]:
    """``{month: {side: value}}`` of one indicator, for the chart."""
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["indicator"] == indicator:
            found.setdefault(row["month"], {})[row["side"]] = int(row["value"])
    return dict(sorted(found.items()))

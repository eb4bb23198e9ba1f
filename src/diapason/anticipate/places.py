"""Places a series can be about: a country (ISO 3166 alpha-2), a first-level region of a
country, a named region (a list of countries, in ``data/places.json``), or everywhere.

For whom: building series from the store, the CLI and the web interface (``places()``
lists what can be chosen).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from diapason.errors import DiapasonError

ALL = "all"


class PlaceError(DiapasonError, ValueError):
    """A place that is not a country code, a country/region pair or a named region."""


@cache
def _data() -> dict[str, Any]:
    text = resources.files("diapason.anticipate").joinpath("data/places.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 code -> English name."""
    return dict(_data()["countries"])


@cache
def country_codes() -> frozenset[str]:
    """The ISO 3166 alpha-2 codes known (read once: checked for every event counted)."""
    return frozenset(_data()["countries"])


def named_regions() -> dict[str, dict[str, Any]]:
    """Named regions: key -> {name_en, name_fr, countries, note}."""
    return {key: dict(value) for key, value in _data()["regions"].items()}


@dataclass(frozen=True)
class Place:
    """What a series counts: events in ``countries`` (all when None), and in one
    first-level region of the single country when ``admin1`` is set."""

    key: str
    countries: frozenset[str] | None
    admin1: str | None = None

    def holds(self, country: str, admin1: str | None) -> bool:
        if self.countries is not None and country not in self.countries:
            return False
        return self.admin1 is None or (admin1 or "").casefold() == self.admin1.casefold()


def resolve_place(text: str) -> Place:
    """``all``, a country code (``ML``), a country and first-level region (``ML/Gao``) or a
    named region (``sahel-saharan``); anything else is a ``PlaceError`` listing the choices."""
    cleaned = text.strip()
    if cleaned.lower() == ALL:
        return Place(ALL, None)
    regions = named_regions()
    if cleaned.lower() in regions:
        key = cleaned.lower()
        return Place(key, frozenset(regions[key]["countries"]))
    code, _, admin1 = cleaned.partition("/")
    if code.upper() in countries():
        if admin1.strip():
            return Place(
                f"{code.upper()}/{admin1.strip()}", frozenset({code.upper()}), admin1.strip()
            )
        return Place(code.upper(), frozenset({code.upper()}))
    raise PlaceError(
        f"unknown place {text!r}: not 'all', an ISO 3166 alpha-2 country code (ML), a "
        f"country/first-level region (ML/Gao) nor a named region ({', '.join(sorted(regions))})"
    )

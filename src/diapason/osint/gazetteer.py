"""The gazetteer: named things the pipeline knows before reading any article.

Three data files ship in ``osint/data`` (see ``data/PROVENANCE.md``):

- ``gazetteer.tsv``: institutions, security agencies, armed and criminal groups, regions;
- ``countries.tsv``: countries with their French, English and Arabic names;
- ``places.tsv``: a GeoNames subset (towns of 15,000 people or more in North and West
  Africa, the Sahel, Europe and the Arab states) for offline geocoding.

A node layers its analysts' corrections over the shipped gazetteer: the file
``<data folder>/osint/gazetteer.tsv`` has the same columns; an entry there with the same
type and canonical name replaces the shipped one, and type ``IGNORE`` tells the pipeline a
surface form is not an entity at all. :func:`record_correction` writes that file.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
OVERLAY_NAME = "osint/gazetteer.tsv"
ENTITY_TYPES = ("PER", "ORG", "LOC", "GROUP")
_COLUMNS = ("type", "canonical", "country", "aliases", "detail")
# Words, and apostrophes and hyphens as words of their own: "Maroc-France" holds "Maroc".
_WORD = re.compile(r"[\w\u0600-\u06ff]+|['\u2019-]", re.UNICODE)


class GazetteerError(ValueError):
    """A malformed gazetteer line or correction."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One known entity. ``country`` is "@" for a national body whose country comes from
    the article (``{country}`` in ``canonical`` is then replaced)."""

    type: str
    canonical: str
    country: str | None
    aliases: tuple[str, ...]
    detail: str = ""

    @property
    def coordinates(self) -> tuple[float, float] | None:
        if self.type != "LOC" or "," not in self.detail:
            return None
        latitude, longitude = self.detail.split(",", 1)
        return float(latitude), float(longitude)


@dataclass(frozen=True, slots=True)
class Place:
    """A GeoNames place."""

    geonameid: str
    name: str
    latitude: float
    longitude: float
    country: str
    admin1: str
    population: int


@dataclass(frozen=True, slots=True)
class Hit:
    """A gazetteer alias found in a text: ``text[start:end]`` is ``surface``."""

    start: int
    end: int
    surface: str
    entry: Entry


def normalise(text: str) -> str:
    """Lower case, no accents, one space: the key for case-insensitive lookups."""
    if text.isascii():  # nothing to decompose (most of the 64,000 names of places.tsv)
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """One word, normalised (cached: the same words come back in every article)."""
    return normalise(word)


_JOINERS = frozenset({"'", "-"})


def _is_loose(alias: str) -> bool:
    """Multi-word aliases match case-insensitively; single words and acronyms exactly."""
    return " " in alias.strip() and len(alias) >= 8


@dataclass
class Gazetteer:
    """Entries, countries and places, indexed for scanning text and for lookups."""

    entries: list[Entry]
    countries: dict[str, Entry]  # ISO code -> country entry (type LOC)
    places: dict[str, list[Place]]  # normalised name -> places, most populous first
    ignored: frozenset[str] = frozenset()  # normalised surfaces that are not entities
    _exact: dict[str, Entry] = field(default_factory=dict, repr=False)
    _loose: dict[str, Entry] = field(default_factory=dict, repr=False)
    # First word of an alias -> the most words an alias starting with it has.
    _exact_first: dict[str, int] = field(default_factory=dict, repr=False)
    _loose_first: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in [*self.entries, *self.countries.values()]:
            for alias in entry.aliases:
                words = tuple(_WORD.findall(alias.replace("\u2019", "'")))
                if not words:
                    continue
                if _is_loose(alias):
                    folded = tuple(_fold(word) for word in words)
                    self._loose.setdefault(" ".join(folded), entry)
                    first, table = folded[0], self._loose_first
                else:
                    self._exact.setdefault(" ".join(words), entry)
                    first, table = words[0], self._exact_first
                table[first] = max(table.get(first, 0), len(words))

    def lookup(self, surface: str) -> Entry | None:
        """The entry whose alias is ``surface`` (exactly, or loosely for long names)."""
        key = " ".join(_WORD.findall(surface.replace("\u2019", "'")))
        found = self._exact.get(key)
        if found is None:
            found = self._loose.get(normalise(key))
        return found

    def scan(self, text: str) -> list[Hit]:
        """Every alias in ``text``, longest first at each position, never overlapping.

        Only positions whose word starts some alias are tried, and only up to that alias
        length: the scan costs about one dictionary lookup per word of the text."""
        plain = text.replace("\u2019", "'")
        words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(plain)]
        folded = [_fold(word) for _, _, word in words]
        hits: list[Hit] = []
        index = 0
        while index < len(words):
            word = words[index][2]
            longest = max(self._exact_first.get(word, 0), self._loose_first.get(folded[index], 0))
            found: Hit | None = None
            for size in range(min(longest, len(words) - index), 0, -1):
                last = words[index + size - 1][2]
                if last in _JOINERS:
                    continue
                entry = self._exact.get(" ".join(w for _, _, w in words[index : index + size]))
                if entry is None and size > 1:
                    entry = self._loose.get(" ".join(folded[index : index + size]))
                if entry is None:
                    continue
                start, end = words[index][0], words[index + size - 1][1]
                surface = text[start:end]
                if normalise(surface) not in self.ignored:
                    found = Hit(start, end, surface, entry)
                    break
            if found is None:
                index += 1
            else:
                hits.append(found)
                index += size
        return hits

    def place(self, name: str, country: str | None = None) -> Place | None:
        """The most populous GeoNames place called ``name`` (in ``country`` if given)."""
        candidates = self.places.get(normalise(name), [])
        for candidate in candidates:
            if country is None or candidate.country == country:
                return candidate
        return None

    def country_entry(self, code: str) -> Entry | None:
        return self.countries.get(code)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return
        for number, row in enumerate(reader, start=2):
            if len(row) < 2:
                raise GazetteerError(f"{path}: line {number}: expected tab-separated columns")
            yield dict(zip(header, row, strict=False))


def _entries(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    for row in _rows(path):
        kind = row.get("type", "").strip()
        if kind not in (*ENTITY_TYPES, "IGNORE"):
            raise GazetteerError(f"{path}: type {kind!r} is not one of PER, ORG, LOC, GROUP")
        aliases = tuple(a.strip() for a in row.get("aliases", "").split("|") if a.strip())
        canonical = row.get("canonical", "").strip()
        if not canonical:
            raise GazetteerError(f"{path}: an entry of type {kind} has no canonical name")
        entries.append(
            Entry(
                kind,
                canonical,
                row.get("country", "").strip() or None,
                aliases or (canonical,),
                row.get("detail", "").strip(),
            )
        )
    return entries


def is_country(entry: Entry | None) -> bool:
    """Whether ``entry`` is one of the shipped countries (``data/countries.tsv``)."""
    if entry is None or entry.type != "LOC" or entry.country is None:
        return False
    country = _shipped()[1].get(entry.country)
    return country is not None and country.canonical == entry.canonical


@lru_cache(maxsize=1)
def _shipped() -> tuple[list[Entry], dict[str, Entry], dict[str, list[Place]]]:
    entries = _entries(DATA / "gazetteer.tsv")
    countries: dict[str, Entry] = {}
    for row in _rows(DATA / "countries.tsv"):
        aliases = tuple(a for a in row["aliases"].split("|") if a)
        countries[row["iso2"]] = Entry(
            "LOC", row["canonical"], row["iso2"], aliases, row.get("capital", "")
        )
    places: dict[str, list[Place]] = {}
    for row in _rows(DATA / "places.tsv"):
        place = Place(
            row["geonameid"],
            row["name"],
            float(row["latitude"]),
            float(row["longitude"]),
            row["country"],
            row["admin1"],
            int(row["population"] or 0),
        )
        names = {row["name"], *(n for n in row["alternate_names"].split("|") if n)}
        for name in {normalise(n) for n in names}:
            places.setdefault(name, []).append(place)
    for found in places.values():
        found.sort(key=lambda p: -p.population)
    return entries, countries, places


def overlay_path(data_dir: Path) -> Path:
    """Where a node keeps its analysts' gazetteer corrections."""
    return data_dir / OVERLAY_NAME


def load_gazetteer(data_dir: Path | None = None) -> Gazetteer:
    """The shipped gazetteer, with the node's corrections (if ``data_dir`` has any) on top."""
    entries, countries, places = _shipped()
    corrections: list[Entry] = []
    ignored: set[str] = set()
    if data_dir is not None and overlay_path(data_dir).exists():
        for entry in _entries(overlay_path(data_dir)):
            if entry.type == "IGNORE":
                ignored.update(normalise(alias) for alias in entry.aliases)
            else:
                corrections.append(entry)
    replaced = {(entry.type, entry.canonical) for entry in corrections}
    # Corrections first, so that their aliases win over the shipped ones.
    ordered = [*corrections, *(e for e in entries if (e.type, e.canonical) not in replaced)]
    return Gazetteer(ordered, dict(countries), places, frozenset(ignored))


def record_correction(
    data_dir: Path,
    surface: str,
    entity_type: str,
    canonical: str | None = None,
    country: str | None = None,
    detail: str = "",
) -> Entry:
    """Record an analyst's correction: ``surface`` is an entity of ``entity_type`` (PER, ORG,
    LOC, GROUP) named ``canonical``, or ``entity_type="IGNORE"``: not an entity.

    The correction goes to ``<data_dir>/osint/gazetteer.tsv`` (created if needed), which
    :func:`load_gazetteer` layers over the shipped gazetteer; an existing entry of the same
    type and canonical name gains ``surface`` as an alias. Returns the entry as recorded.
    """
    surface = " ".join(surface.split())
    if not surface:
        raise GazetteerError("surface: empty")
    if entity_type not in (*ENTITY_TYPES, "IGNORE"):
        raise GazetteerError(f"type: {entity_type!r} is not one of PER, ORG, LOC, GROUP, IGNORE")
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise GazetteerError(f"country: {country!r} is not an ISO 3166-1 alpha-2 code")
    for value in (surface, canonical or "", detail):
        if any(char in value for char in "\t\n\r|"):
            raise GazetteerError("tabs, line breaks and '|' are not allowed in a correction")
    name = canonical.strip() if canonical else surface
    path = overlay_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = _entries(path) if path.exists() else []
    result = Entry(entity_type, name, country, (surface,), detail)
    kept: list[Entry] = []
    for entry in existing:
        if (entry.type, entry.canonical) == (entity_type, name):
            aliases = entry.aliases if surface in entry.aliases else (*entry.aliases, surface)
            result = Entry(
                entity_type, name, country or entry.country, aliases, detail or entry.detail
            )
        else:
            kept.append(entry)
    kept.append(result)
    _write_entries(path, kept)
    return result


def _write_entries(path: Path, entries: list[Entry]) -> None:
    # Write aside, then rename: a reader never sees half a file.
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        handle.write("# Analysts' corrections, layered over the shipped gazetteer.\n")
        handle.write("\t".join(_COLUMNS) + "\n")
        for entry in entries:
            row = (entry.type, entry.canonical, entry.country or "", "|".join(entry.aliases))
            handle.write("\t".join((*row, entry.detail)) + "\n")
    temporary.replace(path)

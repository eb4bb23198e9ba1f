"""Named entities of one article: found, typed, and resolved within the article.

Mentions come from three places, in order of trust:

1. the gazetteer (institutions, agencies, groups, regions, countries): exact type and name;
2. French: spaCy's ``fr_core_news_sm`` NER; English: rules (capitalised sequences, typed by
   the place list, organisation head words and name shapes), since no English pipeline from
   spaCy's authors installs offline here;
3. rules for both: "M. X", "Name (ACRONYM)", "préfecture de police de X".

Resolution within the article then merges "Abdelouafi Laftit", "M. Laftit" and "Laftit";
turns a surname first tagged as a place into a person when its full name is a person;
attaches acronyms to the name they follow; and gives national bodies ("ministère de
l'Intérieur") the country their context says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from diapason.osint.gazetteer import DATA, Entry, Gazetteer, Place, normalise
from diapason.osint.nlp import spacy_entities


def _word_lists() -> tuple[frozenset[str], frozenset[str]]:
    lists: dict[str, frozenset[str]] = {}
    for line in (DATA / "words.tsv").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        name, words = line.split("\t", 1)
        lists[name] = frozenset(normalise(word) for word in words.split())
    return lists["org"], lists["not_name"]


_TITLES = re.compile(
    r"^(?:M\.|MM\.|Mme|Mmes|Mlle|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Pr\.?|SM|S\.M\.|General|Général|"
    r"Colonel|Commissioner|Minister|President|Président|Sheikh|Cheikh)\s+"
)
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w\u2019'-]+"
_PERSON_TITLE = re.compile(
    rf"\b(M\.|Mme|Mr\.?|Mrs\.?|Ms\.?|Dr\.?)\s+((?:{_NAME_WORD})(?:\s+{_NAME_WORD})?)"
)
_ACRONYM_AFTER = re.compile(r"\s*\(([A-Z][A-Z0-9&.-]{1,9})\)")
_DETERMINER = re.compile(r"^(?:le|la|les|l['\u2019]|the|du|des|de|d['\u2019])\s*", re.IGNORECASE)
_CAPITALISED = re.compile(
    r"(?<![\w\u2019'-])[A-ZÀ-ÖØ-Þ][\w\u2019'-]*"
    r"(?:\s+(?:(?:of|for|and|the|de|du|des|la|al|el|ben|bin|ibn)\s+){0,2}[A-ZÀ-ÖØ-Þ][\w\u2019'-]*)*"
)
_INSTITUTION = re.compile(
    r"(?<![\w-])(?i:préfecture de police|préfecture|wilaya|tribunal de première instance|"
    r"tribunal|cour d'appel|parquet|commissariat|sûreté régionale|sûreté préfectorale|"
    r"police of|police department of)\s+(?i:de|d'|du)\s*"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD})?)"
)
# A state body named by its nationality ("armée française", "gouvernement malien",
# "ambassade équatorienne"): the corpus guidelines count these descriptive references to a
# unique institution as organisations. The nationality is told by its suffix.
_NATIONAL_BODY = re.compile(
    r"(?<![\w-])(?:armée|gouvernement|police|ambassade|marine|diplomatie|présidence)\s+"
    r"(?:fédérale|[a-zàâäéèêëïîôöûüç-]+(?:aise|ais|ienne|ien|aine|ain|oise|ois|éenne|éen|ane|an)s?)"
    r"(?:\s+en\s+exil)?\b"
)
# A named square, island, airport, stadium or street is a place with its noun (the corpus
# guidelines' airports and stadiums): « place Tahrir », « îles Sanguinaires », « aéroport
# international Murtala-Muhammed », « Stade municipal de Berkane ».
_PLACE_NOUN = re.compile(
    r"(?<![\w-])(?:[Pp]lace|[Îî]les?|[Aa]éroport(?:\s+international)?|[Ss]tade(?:\s+municipal)?|"
    r"[Rr]ue|[Aa]venue|[Bb]oulevard)\s+(?:de\s+la\s+|de\s+l['\u2019]|du\s+|des\s+|de\s+|d['\u2019])?"
    rf"{_NAME_WORD}(?:[\s-]{_NAME_WORD})*"
)
# « ministère de l'Information », « secrétariat d'État aux Sports »: a ministry named by
# its portfolio is an organisation whatever the portfolio.
_MINISTRY = re.compile(
    r"(?<![\w-])(?:[Mm]inistère|[Ss]ecrétariat\s+d['\u2019]État)\s+"
    r"(?:de\s+l['\u2019]|de\s+la\s+|des\s+|du\s+|aux\s+|à\s+la\s+|chargé\s+de\s+la\s+)"
    rf"{_NAME_WORD}"
)
# English descriptive references to a unique state body ("the defence ministry"), which
# the corpus guidelines count as organisations, as the French « armée malienne ».
_ENGLISH_BODY = re.compile(
    r"(?<![\w-])(?:defen[cs]e|interior|foreign|justice|finance|home)\s+ministry\b"
)
# An acronym is an organisation's name, not a person's; a place only if places know it.
_ACRONYM = re.compile(r"^[A-ZÀ-Ý]{2,6}$")
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:an|ian|ese|ish|ench|ch)$")
_ROMAN = re.compile(r"^[IVXLC]+$")
# A single capitalised plural of a nationality or people that the places do not know.
_PEOPLE = re.compile(
    r"^[A-ZÀ-Ý][a-zà-ÿ-]+(?:ains|aines|iens|iennes|ais|aises|ois|oises|sses|ans|anes)$"
)
_ORG_WORDS, _NOT_NAMES = _word_lists()


@dataclass(frozen=True, slots=True)
class Mention:
    """One occurrence: ``text[start:end]`` of the analysed text (title, blank line, body)."""

    start: int
    end: int
    surface: str
    label: str  # PER, ORG, LOC, GROUP
    origin: str  # gazetteer, spacy, rule


@dataclass
class Entity:
    """An entity of the article with every mention of it."""

    type: str
    canonical: str
    country: str | None
    mentions: list[Mention] = field(default_factory=list)
    entry: Entry | None = None
    place: Place | None = None

    @property
    def surfaces(self) -> list[str]:
        """Distinct surface forms, in order of first appearance."""
        seen: dict[str, None] = {}
        for mention in sorted(self.mentions, key=lambda m: m.start):
            seen.setdefault(mention.surface, None)
        return list(seen)

    @property
    def first(self) -> int:
        return min(mention.start for mention in self.mentions)

    @property
    def group_kind(self) -> str:
        """For a GROUP: "armed" or "criminal"."""
        return self.entry.detail if self.entry is not None and self.entry.detail else "armed"


def extract_entities(
    text: str, language: str, gazetteer: Gazetteer, doc: Any = None
) -> list[Entity]:
    """The entities of ``text`` (an article's title and body), resolved within the article.

    ``doc`` is the spaCy document of ``text`` for French (see :mod:`diapason.osint.nlp`);
    English and other languages use the rules only.
    """
    mentions: list[tuple[Mention, Entry | None]] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(mention: Mention, entry: Entry | None) -> None:
        if free(mention.start, mention.end):
            mentions.append((mention, entry))
            taken.append((mention.start, mention.end))

    for match in _INSTITUTION.finditer(text):
        place_name = match.group(1)
        if gazetteer.place(place_name) is not None or gazetteer.lookup(place_name) is not None:
            add(Mention(match.start(), match.end(), match.group(), "ORG", "rule"), None)
    for hit in gazetteer.scan(text):
        if hit.entry.type in ("PER", "ORG", "LOC", "GROUP"):
            add(Mention(hit.start, hit.end, hit.surface, hit.entry.type, "gazetteer"), hit.entry)
    if language == "fr":
        for match in _PLACE_NOUN.finditer(text):
            add(Mention(match.start(), match.end(), match.group(), "LOC", "rule"), None)
    for match in _MINISTRY.finditer(text):
        add(Mention(match.start(), match.end(), match.group(), "ORG", "rule"), None)
    body = _NATIONAL_BODY if language == "fr" else _ENGLISH_BODY
    for match in body.finditer(text):
        add(Mention(match.start(), match.end(), match.group(), "ORG", "rule"), None)
    for match in _PERSON_TITLE.finditer(text):
        add(Mention(match.start(), match.end(), match.group(), "PER", "rule"), None)
    candidates = _spacy_candidates(text, doc) if doc is not None else _rule_candidates(text)
    for start, end, label in candidates:
        cleaned = _clean(text, start, end)
        if cleaned is None:
            continue
        start, end = cleaned
        surface = text[start:end]
        if normalise(surface) in gazetteer.ignored or normalise(surface) in _NOT_NAMES:
            continue
        typed = _retype(surface, label, gazetteer)
        if typed is None:
            continue
        add(Mention(start, end, surface, typed, "spacy" if doc is not None else "rule"), None)
    return _resolve(text, mentions, gazetteer)


def _spacy_candidates(text: str, doc: Any) -> list[tuple[int, int, str]]:
    return [(start, end, label) for start, end, label in spacy_entities(doc)]


def _rule_candidates(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for match in _CAPITALISED.finditer(text):
        words = [(m.start(), m.group()) for m in re.finditer(r"\S+", match.group())]
        words = [(match.start() + offset, word) for offset, word in words]
        # A single capitalised word opening a sentence is usually not a name.
        before = text[max(0, match.start() - 2) : match.start()]
        sentence_start = match.start() == 0 or before.strip() in ("", ".", "!", "?", "»", '"', ":")
        if len(words) == 1 and sentence_start and normalise(match.group()) in _NOT_NAMES:
            continue
        for part in _split_sequence(words):
            labelled = _label_sequence(part)
            if labelled is not None:
                found.append(labelled)
    return found


def _split_sequence(words: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """A capitalised sequence joined by "of", "and" or a possessive, cut where it joins
    two names rather than names one body: "Julien Moreau of the RAID" is a person and a
    unit, "Morocco and France" two places, "France's Ministry of the Interior" a country
    and its ministry; "Ministry of the Interior" (its head is an organisation word) stays
    one."""
    for index, (_, word) in enumerate(words[:-1]):
        if word.endswith(("'s", "\u2019s")):
            return [words[: index + 1], *_split_sequence(words[index + 1 :])]
        if word in ("of", "and"):
            left = words[:index]
            right = [w for w in words[index + 1 :] if w[1] not in ("the", "of", "and")]
            if left and right and not {normalise(w) for _, w in left} & _ORG_WORDS:
                return [*_split_sequence(left), *_split_sequence(right)]
    return [words]


def _label_sequence(words: list[tuple[int, str]]) -> tuple[int, int, str] | None:
    """(start, end, label) of a capitalised sequence by its words, or None."""
    organisation = bool({normalise(word) for _, word in words} & _ORG_WORDS)
    while words and normalise(words[0][1]) in _NOT_NAMES:
        if (
            organisation
            and len(words) > 1
            and (_DEMONYM.match(words[0][1]) or words[0][1] in ("General", "Général"))
        ):
            break  # "French National Police", "General Directorate": part of the name
        words = words[1:]
    while words and words[-1][1] in ("of", "and", "the", "for"):
        words = words[:-1]
    if not words:
        return None
    names = [word for _, word in words]
    start, end = words[0][0], words[-1][0] + len(words[-1][1])
    if names[0].endswith(("'s", "\u2019s")) and len(names) == 1:
        end -= 2
        names = [names[0][:-2]]
    surface = " ".join(names)
    if {normalise(word) for word in names} & _ORG_WORDS:
        label = "ORG"
    elif len(names) == 1 and _ACRONYM.match(surface) and not _ROMAN.match(surface):
        label = "ORG"  # an acronym: DGSN, FBI (Mohammed VI's numeral aside)
    elif len(names) in (2, 3) and all(word[:1].isupper() for word in names):
        label = "PER"
    else:
        label = "MISC"
    return start, end, label


def _clean(text: str, start: int, end: int) -> tuple[int, int] | None:
    surface = text[start:end]
    stripped = surface.rstrip(" .,;:!?»\"'\u2019)")
    end = start + len(stripped)
    lead = _DETERMINER.match(stripped)
    if lead and lead.end() < len(stripped) and stripped[lead.end() :][:1].isupper():
        start += lead.end()
    surface = text[start:end]
    if not surface or not surface[:1].isupper() or len(surface) < 2:
        return None
    if "\n" in surface or surface.startswith("http") or "//" in surface:
        return None
    return start, end


def _retype(surface: str, label: str, gazetteer: Gazetteer) -> str | None:
    """The type of a candidate the gazetteer did not know, or None to drop it."""
    entry = gazetteer.lookup(surface)
    if entry is not None:
        return entry.type
    # An all-caps word is an acronym: towns are written in title case, so GeoNames
    # knowing one by that alternate name (TVE for Torrelavega, OTAN for Otan Ayegbaju)
    # does not make it a place.
    acronym = _ACRONYM.match(surface) is not None
    known_place = not acronym and gazetteer.place(surface) is not None
    if label in ("PER", "LOC") and acronym:
        return "ORG"
    if label == "LOC" and not known_place and _PEOPLE.match(surface):
        return None  # "Russes", "Tibétains": a people, not a place
    if label == "PER" and len(surface.split()) == 1:
        # A lone capitalised word tagged PER: a place if it is one; a surname is merged
        # with its full name later (see _resolve), otherwise it is dropped there.
        return "LOC" if known_place else "PER?"
    if label == "PER":
        return "PER"
    if label == "LOC":
        return "LOC"
    if known_place and label in ("MISC", "ORG") and len(surface.split()) <= 3:
        return "LOC"
    if label == "ORG":
        return "ORG"
    if len(surface.split()) == 1:
        return "PER?"  # kept only if it is the surname of a person of the article
    return None


def _resolve(
    text: str, found: list[tuple[Mention, Entry | None]], gazetteer: Gazetteer
) -> list[Entity]:
    found.sort(key=lambda item: item[0].start)
    persons: dict[str, Entity] = {}  # normalised surname -> person
    entities: dict[tuple[str, str], Entity] = {}
    pending: list[Mention] = []
    national: dict[str, str | None] = {}  # a national body's country, decided once
    # Full names first, so that surnames seen earlier (in the title) still find them.
    for mention, entry in found:
        if entry is not None:
            _gazetteer_entity(entities, mention, entry, text, gazetteer, national)
            continue
        if mention.label == "PER":
            name = _TITLES.sub("", mention.surface).strip()
            if len(name.split()) >= 2:
                key = ("PER", normalise(name))
                entity = entities.setdefault(key, Entity("PER", name, None))
                entity.mentions.append(mention)
                persons.setdefault(normalise(name.split()[-1]), entity)
                continue
        pending.append(mention)
    for mention in pending:
        name = _TITLES.sub("", mention.surface).strip()
        person = persons.get(normalise(name.split()[-1])) if len(name.split()) == 1 else None
        if person is not None and mention.label in ("PER", "PER?", "LOC", "ORG"):
            # A surname first tagged as a place or organisation becomes the person.
            person.mentions.append(
                Mention(mention.start, mention.end, mention.surface, "PER", mention.origin)
            )
            continue
        if mention.label == "PER?":
            continue
        label = mention.label
        place = gazetteer.place(name) if label == "LOC" else None
        canonical = place.name if place is not None else name
        key = (label, normalise(canonical))
        entity = entities.setdefault(key, Entity(label, canonical, None, place=place))
        if place is not None:
            entity.country = place.country
        entity.mentions.append(
            Mention(mention.start, mention.end, mention.surface, label, mention.origin)
        )
    result = list(entities.values())
    _attach_acronyms(text, result)
    for entity in result:
        if entity.type == "PER" and entity.country is None:
            entity.country = _nationality(text, entity) or _office_country(text, entity, gazetteer)
    return sorted(result, key=lambda entity: entity.first)


# A national office named just before a person ("Le ministre de l'Intérieur, Abdelouafi
# Laftit", "SM le Roi Mohammed VI", "President X"): the person holds it in a country.
_OFFICE = re.compile(
    r"\b(?:ministres?|ministre\s+délégué|secrétaire\s+d['\u2019]État|premier\s+ministre|"
    r"présidente?|roi|reine|souverain|sm|sa\s+majesté|chef\s+de\s+l['\u2019]État|"
    r"chef\s+du\s+gouvernement|ambassadeur|ambassadrice|"
    r"minister|president|prime\s+minister|king|queen|his\s+majesty|ambassador)\b"
    r"[^.!?\n]{0,45}$",
    re.IGNORECASE,
)


def _office_country(text: str, person: Entity, gazetteer: Gazetteer) -> str | None:
    """The country of a national office said just before a mention of ``person`` without
    a nationality: the country its context names, as for a national body (the seed's
    "Le ministre de l'Intérieur, Abdelouafi Laftit" and "SM le Roi Mohammed VI" are
    Moroccan as the unqualified "ministère de l'Intérieur" is). Persons are located by
    their office the same way whichever country it is."""
    for mention in sorted(person.mentions, key=lambda m: m.start):
        window = text[max(0, mention.start - 60) : mention.start]
        window = re.split(r"[.!?\n]", window)[-1]
        if _OFFICE.search(window):
            return _office_context_country(text, mention.start, gazetteer)
    return None


def _office_context_country(text: str, position: int, gazetteer: Gazetteer) -> str | None:
    """A country named right before the office ("le roi du Maroc, Mohammed VI"), else the
    article's first country (the unqualified office of a news article is its own
    country's)."""
    window = re.split(r"[.!?\n]", text[max(0, position - 60) : position])[-1]
    named = [
        hit.entry.country
        for hit in gazetteer.scan(window)
        if hit.entry.type == "LOC"
        and hit.entry.country in gazetteer.countries
        and hit.entry.canonical == gazetteer.countries[hit.entry.country].canonical
    ]
    if named:
        return named[-1]
    return _first_country(text, gazetteer)


def _nationality(text: str, person: Entity) -> str | None:
    """A person's country when a nationality is said just before a mention of them, in the
    same sentence: "son homologue français, Bruno Retailleau", "un ressortissant marocain
    de 41 ans identifié comme Hicham Bouderka"."""
    for mention in sorted(person.mentions, key=lambda m: m.start):
        window = text[max(0, mention.start - 60) : mention.start]
        window = re.split(r"[.!?\n]", window)[-1]
        found = [m.lastgroup for m in _ADJECTIVE.finditer(window) if m.lastgroup]
        if found:
            return found[-1]
    return None


def _gazetteer_entity(
    entities: dict[tuple[str, str], Entity],
    mention: Mention,
    entry: Entry,
    text: str,
    gazetteer: Gazetteer,
    national: dict[str, str | None],
) -> None:
    canonical, country = entry.canonical, entry.country
    if country == "@":
        if entry.canonical not in national:
            national[entry.canonical] = _context_country(text, mention.start, gazetteer)
        country = national[entry.canonical]
        label = gazetteer.countries[country].canonical if country in gazetteer.countries else "?"
        canonical = canonical.replace("{country}", _FRENCH_COUNTRY.get(country or "", label))
    key = (entry.type, canonical)
    entity = entities.setdefault(key, Entity(entry.type, canonical, country, entry=entry))
    if entity.type == "LOC" and country is None and entry.country is None:
        entity.country = None
    entity.mentions.append(mention)


_FRENCH_COUNTRY = {
    "MA": "Maroc",
    "FR": "France",
    "ES": "Espagne",
    "NE": "Niger",
    "ML": "Mali",
    "BF": "Burkina Faso",
    "MR": "Mauritanie",
    "DZ": "Algérie",
    "TN": "Tunisie",
    "SN": "Sénégal",
    "TD": "Tchad",
    "BE": "Belgique",
    "DE": "Allemagne",
    "IT": "Italie",
    "LY": "Libye",
}
_ADJECTIVES = {
    "MA": r"marocaine?s?|moroccan|morocco's|du royaume|royaume",
    "FR": r"français(?:e|es)?|french|france's",
    "ES": r"espagnole?s?|spanish|spain's",
    "NE": r"nigériene?n?n?e?s?|nigerien|niger's",
    "ML": r"malienne?s?|malian|mali's",
    "BF": r"burkinabée?s?|burkinabe|burkina faso's",
    "MR": r"mauritanienne?s?|mauritanian",
    "DZ": r"algérienne?s?|algerian",
}
_ADJECTIVE = re.compile(
    "|".join(f"(?P<{code}>\\b(?:{pattern})\\b)" for code, pattern in _ADJECTIVES.items()), re.I
)


def _context_country(text: str, position: int, gazetteer: Gazetteer) -> str | None:
    """The country a national body belongs to: a nationality or country name right next
    to it, else the nearest one in the same sentence, else the article's first country."""
    window = text[max(0, position - 60) : position + 80]
    near = [(abs(m.start() - 60), m.lastgroup) for m in _ADJECTIVE.finditer(window)]
    for hit in gazetteer.scan(window):
        if hit.entry.type == "LOC" and hit.entry.canonical in {
            e.canonical for e in gazetteer.countries.values()
        }:
            near.append((abs(hit.start - 60), hit.entry.country))
    if near:
        return min(near)[1]
    return _first_country(text, gazetteer)


def _first_country(text: str, gazetteer: Gazetteer) -> str | None:
    """The first country the article names (its title included)."""
    for hit in gazetteer.scan(text[:2000]):
        if (
            hit.entry.country
            and hit.entry.country in gazetteer.countries
            and hit.entry.type == "LOC"
        ):
            return hit.entry.country
    return None


def _attach_acronyms(text: str, entities: list[Entity]) -> None:
    """ "Bureau central d'investigations judiciaires (BCIJ)": BCIJ is the same entity."""
    by_position = {(m.start, m.end): e for e in entities for m in e.mentions}
    for entity in list(entities):
        if entity.type in ("PER", "LOC"):
            # "Philippe Gosselin (UMP)": a person's party; "Directorate for Foreigners in
            # France (DGEF)": the body's acronym, not the country's.
            continue
        for mention in list(entity.mentions):
            match = _ACRONYM_AFTER.match(text, mention.end)
            if not match:
                continue
            acronym = match.group(1)
            for other in list(entities):
                if other is entity or not all(m.surface == acronym for m in other.mentions):
                    continue
                entity.mentions.extend(other.mentions)
                entities.remove(other)
            # Every other occurrence of the acronym is the entity too.
            for found in re.finditer(rf"(?<![\w-]){re.escape(acronym)}(?![\w-])", text):
                span = (found.start(), found.end())
                if span not in by_position and not _inside(span, by_position):
                    entity.mentions.append(Mention(*span, acronym, entity.type, "rule"))
                    by_position[span] = entity


def _inside(span: tuple[int, int], taken: dict[tuple[int, int], Entity]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in taken)

"""PLOVER event coding from the lexicon in ``data/events.tsv`` (French and English).

Sentence by sentence, every trigger of the lexicon makes a candidate event of its type and
mode (verbs are listed by infinitive and conjugated by :mod:`diapason.osint.verbs`; one
event per type and mode, at its first trigger; none inside a quotation); mode cues of the
same sentence give a mode to events that have none. Then:

- **actors and targets**: the named participants of the sentence, the most specific kind
  first (a person, else an organisation or group, else a country); those before the trigger
  act and those after receive, except for "host" triggers ("a reçu", "hosted") where the
  host receives the visit;
- **date**: the first date expression of the sentence, else the last date met before it in
  the article (an undated act tied to a dated one takes its date) unless that date is over
  31 days before publication, else the publication date;
- **place**: the first place of the sentence introduced by a locative word ("à", "in",
  "near"...), else the first place of the sentence (not a country named before the
  trigger: that is a party), else the place of the article's first
  placed event (not for remote acts: information passed, requests).

Background (history, yearly figures) and claims of responsibility are left out: sentences
with cues like "depuis 2022", "in recent years", "a été revendiquée" make no event. Events
of the same type, mode and date are one event; a mode found later goes to the event
already told without one.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from diapason.osint.dates import DateMention
from diapason.osint.entities import Entity, Mention
from diapason.osint.gazetteer import DATA, is_country
from diapason.osint.verbs import verb_cues, verb_pattern

_BACKGROUND = re.compile(
    r"\bdepuis\s+(?:20\d\d|des\s+années|plusieurs\s+années)|\bces\s+dernières\s+années\b|"
    r"\bin\s+recent\s+years\b|\bsince\s+20\d\d\b|\bl['\u2019]an\s+dernier\b|\blast\s+year\b|"
    r"\bentre\s+20\d\d\s+et\s+20\d\d\b|\bau\s+cours\s+de\s+l['\u2019]année\s+20\d\d\b|"
    r"\bprevious\s+meeting\b|\bprécédente\s+réunion\b|\bfirst\s+half\s+of\s+the\s+year\b|"
    r"\bprojetaient\b|\bplanned\s+to\b|"
    r"\bil\s+y\s+a\s+(?:quelques|plusieurs|\d+|deux|trois|dix)\s+(?:années|ans)\b|"
    r"\b(?:a\s+few|several|\d+|two|three|ten)\s+years\s+ago\b|"
    r"\bhas\s+not\s+been\s+(?:formally\s+)?claimed\b|\bn['\u2019]a\s+pas\s+été\s+revendiqu|"
    # Claims of responsibility are the group's word, not an event.
    r"\ba\s+été\s+revendiquée?\b|\bclaimed\s+responsibility\b|\brevendiqué\s+par\b",
    re.IGNORECASE,
)
_LOCATIVE = re.compile(
    r"(?:\bà|\bau|\baux|\ben|\bdans|\bprès\s+d[eu']?|\bnear|\bin|\bat|\bfrom|\bdepuis)\s*"
    r"(?:la\s+|le\s+|l['\u2019]|les\s+|the\s+|town\s+of\s+|ville\s+de\s+)?$",
    re.IGNORECASE,
)


_AGREED = frozenset({"CONSULT", "COOPERATE", "AID"})
# What was agreed or said: a place named after the trigger is what it is about ("renforcer
# les canaux d'échange ... dans la région sahélo-saharienne"), not where it happened.
_SPOKEN = frozenset({"AGREE", "ACCUSE", "REQUEST", "REJECT", "SUPPORT", "THREATEN"})
# "Les deux ministres ont convenu": the participants of the meeting told before.
_BOTH = re.compile(
    r"\b(?:les\s+deux\s+(?:ministres|parties|pays|hommes|délégations|responsables|"
    r"dirigeants|chefs\s+d['\u2019]État)|both\s+(?:ministers|sides|countries|men|delegations)|"
    r"the\s+two\s+(?:ministers|sides|countries|men|delegations))\b",
    re.IGNORECASE,
)
# Acts done at a distance (passing information, asking for help) have no place.
_REMOTE = frozenset({"COOPERATE", "REQUEST", "ACCUSE", "REJECT", "SUPPORT", "THREATEN"})
_REACH_BEFORE = 200
# An undated sentence does not take a date more than this many days before publication.
_STALE_DAYS = 31
_REACH_AFTER = 120


@dataclass(frozen=True, slots=True)
class Rule:
    language: str
    plover: str
    mode: str | None
    kind: str  # trigger or mode
    role: str  # active or host
    pattern: re.Pattern[str]
    # For verb rows: the sentence (lower case) must hold one of these to be searched.
    cues: frozenset[str] = frozenset()


@dataclass
class Event:
    """One coded event. ``actors``/``targets`` are entities of the article; ``trigger`` is
    the offset span of the words that made it."""

    plover: str
    mode: str | None
    day: date | None
    place: Entity | None
    actors: list[Entity] = field(default_factory=list)
    targets: list[Entity] = field(default_factory=list)
    trigger: tuple[int, int] = (0, 0)
    sentence: str = ""


@lru_cache(maxsize=1)
def lexicon() -> tuple[Rule, ...]:
    """The event lexicon (``data/events.tsv``), compiled once."""
    rules: list[Rule] = []
    with (DATA / "events.tsv").open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            pattern = row["pattern"]
            kind = row["kind"]
            cues: frozenset[str] = frozenset()
            if kind == "verb":
                # Lemmas: every inflected form of the verbs is a trigger (verbs.py).
                cues = verb_cues(row["lang"], pattern)
                pattern, kind = verb_pattern(row["lang"], pattern), "trigger"
            rules.append(
                Rule(
                    row["lang"],
                    row["plover"],
                    row["mode"] or None,
                    kind,
                    row["role"],
                    re.compile(pattern, re.IGNORECASE),
                    cues,
                )
            )
    return tuple(rules)


def _rank(entity: Entity) -> int:
    """Most specific participant first: person, organisation or group, country."""
    if entity.type == "PER":
        return 0
    if entity.type in ("ORG", "GROUP"):
        return 1
    return 2


def _participants(mentions: list[tuple[Mention, Entity]]) -> list[Entity]:
    chosen: list[Entity] = []
    candidates = [
        entity
        for _, entity in mentions
        if entity.type != "LOC" or (entity.place is None and entity.country is not None)
    ]
    if not candidates:
        return []
    best = min(_rank(entity) for entity in candidates)
    for entity in candidates:
        if _rank(entity) == best and entity not in chosen:
            chosen.append(entity)
    return chosen[:2]


def code_events(
    text: str,
    sentences: list[tuple[int, int]],
    body_start: int,
    language: str,
    entities: list[Entity],
    dates: list[DateMention],
    published: date | None,
) -> list[Event]:
    """The events of the article ``text`` (title, blank line, body); only sentences of the
    body (from ``body_start``) are coded, the title restating them."""
    rules = [rule for rule in lexicon() if rule.language == language]
    if not rules:
        return []
    placed = sorted(
        ((mention, entity) for entity in entities for mention in entity.mentions),
        key=lambda pair: pair[0].start,
    )
    events: list[Event] = []
    last_day = published
    for start, end in sentences:
        if end <= body_start:
            continue
        sentence = text[start:end]
        in_sentence = [d for d in dates if start <= d.start < end]
        day = in_sentence[0].day if in_sentence else last_day
        if (
            not in_sentence
            and day is not None
            and published is not None
            and (published - day).days > _STALE_DAYS
        ):
            # An undated act told after a date of the past (a death years ago) is news.
            day = published
        if in_sentence:
            last_day = in_sentence[-1].day
        if _BACKGROUND.search(sentence):
            continue
        found = [
            item for item in _triggers(rules, sentence) if not _quoted(text, start + item[1][0])
        ]
        if not found:
            continue
        mentions = [(m, e) for m, e in placed if start <= m.start < end]
        first_trigger = found[0][1][0]
        own_place = _place(text, start, mentions, first_trigger)
        if all(rule.plover in _SPOKEN for rule, _, _ in found):
            # Only a place told before what was agreed is where it was agreed.
            own_place = _place(
                text,
                start,
                [(m, e) for m, e in mentions if m.start - start < first_trigger],
                first_trigger,
            )
        # An act told without its place happened where the article's main (first placed)
        # event did: follow-ups of one operation share its place.
        inherited = next((e.place for e in events if e.place is not None), None)
        for rule, (trigger_start, trigger_end), mode in found:
            # Participants are near their verb: a name far down a long sentence belongs to
            # another clause.
            before = [
                (m, e)
                for m, e in mentions
                if trigger_start - _REACH_BEFORE <= m.start - start < trigger_start
            ]
            after = [
                (m, e)
                for m, e in mentions
                if trigger_end <= m.start - start <= trigger_end + _REACH_AFTER
            ]
            actors, targets = _participants(before), _participants(after)
            if rule.role == "host":
                # The subject receives; a place named after the verb is where, not who.
                actors = [a for a in targets if a.type != "LOC"]
                targets = _participants(before)
            actors = [a for a in actors if a is not own_place]
            targets = [t for t in targets if t is not own_place and t not in actors]
            if not actors and _BOTH.search(sentence[:trigger_start]):
                meeting = next(
                    (
                        e
                        for e in reversed(events)
                        if e.plover == "CONSULT" and (e.actors or e.targets)
                    ),
                    None,
                )
                if meeting is not None:
                    actors = _unique([*meeting.targets, *meeting.actors])
                    targets = [t for t in targets if t not in actors]
            events.append(
                Event(
                    rule.plover,
                    mode,
                    day,
                    own_place or (None if rule.plover in _REMOTE else inherited),
                    actors,
                    targets,
                    (start + trigger_start, start + trigger_end),
                    sentence.strip(),
                )
            )
    return _merge(events)


def _unique(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for entity in entities:
        if entity not in kept:
            kept.append(entity)
    return kept


def _triggers(rules: list[Rule], sentence: str) -> list[tuple[Rule, tuple[int, int], str | None]]:
    taken: list[tuple[int, int]] = []
    # One event per type and mode in a sentence, at its first trigger: the participants
    # are read around the verb that comes first (« s'est entretenu ... en visite »).
    first: dict[tuple[str, str | None], tuple[Rule, tuple[int, int]]] = {}
    lowered = sentence.lower()
    for rule in rules:
        if rule.kind != "trigger":
            continue
        if rule.cues and not any(cue in lowered for cue in rule.cues):
            continue
        for match in rule.pattern.finditer(sentence):
            span = match.span()
            if any(not (span[1] <= s or span[0] >= e) for s, e in taken):
                continue
            taken.append(span)
            key = (rule.plover, rule.mode)
            if key not in first or span[0] < first[key][1][0]:
                first[key] = (rule, span)
    found = [(rule, span, rule.mode) for rule, span in first.values()]
    # Cooperation or a meeting that the sentence says was agreed or decided is the
    # agreement's content, not an event of its own (PLOVER: future CONSULT/COOPERATE/AID
    # are AGREE).
    if any(rule.plover == "AGREE" for rule, _, _ in found):
        found = [item for item in found if item[0].plover not in _AGREED]
    result: list[tuple[Rule, tuple[int, int], str | None]] = []
    for rule, span, mode in found:
        if mode is None:
            for cue in rules:
                if (
                    cue.kind == "mode"
                    and cue.plover == rule.plover
                    and cue.pattern.search(sentence)
                ):
                    mode = cue.mode
                    break
        result.append((rule, span, mode))
    return sorted(result, key=lambda item: item[1])


def _quoted(text: str, position: int) -> bool:
    """Whether ``position`` is inside a quotation (« ... », “ ... ”, "...") of its paragraph: what
    a speaker says others did is their claim, not an event the article reports."""
    paragraph = text[text.rfind("\n", 0, position) + 1 : position]
    return (
        paragraph.count("«") > paragraph.count("»")
        or paragraph.count("“") > paragraph.count("”")
        or paragraph.count('"') % 2 == 1
    )


def _place(
    text: str, start: int, mentions: list[tuple[Mention, Entity]], trigger: int = 0
) -> Entity | None:
    places = [(m, e) for m, e in mentions if e.type == "LOC"]
    for mention, entity in places:
        if _LOCATIVE.search(text[max(start, mention.start - 25) : mention.start]):
            return entity
    # A country named without a locative word before the act is its party (« Le
    # Royaume-Uni a menacé », « la direction de la chaîne ... de la France a condamné »),
    # not where it happened.
    places = [(m, e) for m, e in places if m.start - start >= trigger or not is_country(e.entry)]
    return places[0][1] if places else None


def _merge(events: list[Event]) -> list[Event]:
    merged: dict[tuple[str, str | None, date | None], Event] = {}
    for event in events:
        key = (event.plover, event.mode, event.day)
        kept = merged.get(key)
        unmoded = (event.plover, None, event.day)
        if kept is None and event.mode is not None and unmoded in merged:
            # "une attaque" then "des hommes armés ont ouvert le feu": the mode found later
            # belongs to the event already told.
            kept = merged.pop(unmoded)
            kept.mode = event.mode
            merged[key] = kept
        # "a meeting" after "a visit" the same day is the same meeting, told again: it adds
        # nothing to the participants already found.
        if (
            kept is None
            and event.mode is None
            and any((e.plover, e.day) == (event.plover, event.day) for e in merged.values())
        ):
            continue
        if kept is None:
            merged[key] = event
            continue
        for actor in event.actors:
            if actor not in kept.actors:
                kept.actors.append(actor)
        for target in event.targets:
            if target not in kept.targets and target not in kept.actors:
                kept.targets.append(target)
        if kept.place is None:
            kept.place = event.place
    return list(merged.values())

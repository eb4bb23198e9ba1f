"""The words a reader sees for the store's keys: STIX type names, reference properties and
relationship types, topics, PLOVER event types and modes, and timestamps.

Each table maps a key to an English msgid marked with ``N_``; the page translates it with
the reader's catalogue (French in ``i18n/fr``). A key the tables do not know is shown as
readable as it can be made (``x-diapason-acts-in`` reads "acts in"), never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from diapason.domain.events import EVENT_TYPE
from diapason.web.ui.i18n import N_, Gettext, Lang

STIX_TYPES: dict[str, str] = {
    "attack-pattern": N_("attack pattern"),
    "campaign": N_("campaign"),
    "course-of-action": N_("course of action"),
    "grouping": N_("grouping"),
    "identity": N_("identity"),
    "incident": N_("incident"),
    "indicator": N_("indicator"),
    "infrastructure": N_("infrastructure"),
    "intrusion-set": N_("intrusion set"),
    "location": N_("location"),
    "malware": N_("malware"),
    "malware-analysis": N_("malware analysis"),
    "note": N_("note"),
    "observed-data": N_("observed data"),
    "opinion": N_("opinion"),
    "report": N_("report"),
    "threat-actor": N_("threat actor"),
    "tool": N_("tool"),
    "vulnerability": N_("vulnerability"),
    "relationship": N_("relationship"),
    "sighting": N_("sighting"),
    "marking-definition": N_("marking definition"),
    "extension-definition": N_("extension definition"),
    "language-content": N_("language content"),
    EVENT_TYPE: N_("event"),
    "x-diapason-alert": N_("alert"),
    "x-diapason-meeting": N_("meeting"),
    "x-diapason-rfi": N_("request for information"),
    "x-diapason-action": N_("action item"),
    "x-diapason-group": N_("coordination group"),
    "x-diapason-indicator-figure": N_("indicator figure"),
    "x-diapason-receipt": N_("receipt"),
}

# Reference properties (``object_refs[3]`` reads as ``object_refs``) and relationship
# types, as a verb read from the referring object to the referred one.
RELATIONS: dict[str, str] = {
    "object_refs": N_("contains"),
    "created_by_ref": N_("created by"),
    "actor_refs": N_("has actor"),
    "target_refs": N_("has target"),
    "location_ref": N_("takes place in"),
    "sighting_of_ref": N_("sighting of"),
    "where_sighted_refs": N_("sighted at"),
    "observed_data_refs": N_("observed data"),
    "sample_refs": N_("sample"),
    "object_marking_refs": N_("marked by"),
    "source_ref": N_("source"),
    "target_ref": N_("target"),
    "located-at": N_("located at"),
    "targets": N_("targets"),
    "uses": N_("uses"),
    "attributed-to": N_("attributed to"),
    "indicates": N_("indicates"),
    "related-to": N_("related to"),
    "duplicate-of": N_("duplicate of"),
    "derived-from": N_("derived from"),
    "mitigates": N_("mitigates"),
    "authored-by": N_("authored by"),
    "impersonates": N_("impersonates"),
    "x-diapason-acts-in": N_("acts in"),
    "x-diapason-targeted-by": N_("targeted by"),
    "x-diapason-hosts": N_("hosts"),
    "x-diapason-receives": N_("receives"),
    "x-diapason-duplicate-of": N_("duplicate of"),
}

TOPIC_NAMES: dict[str, str] = {
    "terrorism": N_("terrorism"),
    "organized_crime": N_("organised crime"),
    "drug_trafficking": N_("drug trafficking"),
    "migration": N_("migration"),
    "border_security": N_("border security"),
    "security_cooperation": N_("security cooperation"),
    "cyber": N_("cyber"),
    "none": N_("no topic"),
}

# PLOVER event types as a reader names an event ("Consultation (visit)").
PLOVER_NAMES: dict[str, str] = {
    "AGREE": N_("Agreement"),
    "CONSULT": N_("Consultation"),
    "SUPPORT": N_("Support"),
    "CONCEDE": N_("Concession"),
    "COOPERATE": N_("Cooperation"),
    "AID": N_("Aid"),
    "RETREAT": N_("Retreat"),
    "REQUEST": N_("Request"),
    "ACCUSE": N_("Accusation"),
    "REJECT": N_("Rejection"),
    "THREATEN": N_("Threat"),
    "PROTEST": N_("Protest"),
    "SANCTION": N_("Sanction"),
    "MOBILIZE": N_("Mobilisation"),
    "COERCE": N_("Coercion"),
    "ASSAULT": N_("Assault"),
}

PLOVER_MODES: dict[str, str] = {
    "abduct": N_("abduction"),
    "aerial": N_("aerial attack"),
    "allege": N_("allegation"),
    "arrest": N_("arrest"),
    "assist": N_("assistance"),
    "convict": N_("conviction"),
    "demo": N_("demonstration"),
    "deport": N_("deportation"),
    "disapprove": N_("disapproval"),
    "drone": N_("drone attack"),
    "explosives": N_("explosives"),
    "firearms": N_("firearms"),
    "investigate": N_("investigation"),
    "release": N_("release"),
    "restrict": N_("restriction"),
    "seize": N_("seizure"),
    "suicide-attack": N_("suicide attack"),
    "troops": N_("troops"),
    "visit": N_("visit"),
}

# The entity types of the OSINT pipeline (and IGNORE, a correction's "not an entity").
ENTITY_TYPES: dict[str, str] = {
    "PER": N_("person"),
    "ORG": N_("organisation"),
    "LOC": N_("place"),
    "GROUP": N_("armed or criminal group"),
    "MISC": N_("other entity"),
    "IGNORE": N_("not an entity"),
}

# Data protection (domain/protection.py): the categories of data subject (Directive
# 2016/680, Art. 6) and the nature of the data (Art. 7).
SUBJECT_CATEGORIES: dict[str, str] = {
    "suspect": N_("suspect"),
    "convicted": N_("convicted person"),
    "victim": N_("victim"),
    "witness": N_("witness"),
    "contact": N_("contact or associate"),
    "other": N_("other person"),
}
DATA_NATURES: dict[str, str] = {
    "fact": N_("fact"),
    "assessment": N_("assessment"),
}

# The joint mechanism's vocabularies (domain/coordination.py, coordinate/opinions.py).
GROUP_KINDS: dict[str, str] = {
    "gmmp": N_("permanent joint migration group"),
    "security": N_("security cooperation"),
    "other": N_("other group"),
}
MEETING_KINDS: dict[str, str] = {
    "tete-a-tete": N_("one-to-one"),
    "working": N_("working session"),
    "plenary": N_("plenary session"),
}
MEETING_STATUSES: dict[str, str] = {
    "planned": N_("planned"),
    "held": N_("held"),
    "cancelled": N_("cancelled"),
}
ACTION_STATUSES: dict[str, str] = {
    "open": N_("to do"),
    "in-progress": N_("in progress"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}
RFI_PRIORITIES: dict[str, str] = {
    "low": N_("low"),
    "normal": N_("normal"),
    "high": N_("high"),
    "urgent": N_("urgent"),
}
RFI_STATES: dict[str, str] = {
    "open": N_("awaiting an answer"),
    "answered": N_("answered"),
    "late": N_("late"),
    "closed": N_("closed"),
    "cancelled": N_("cancelled"),
}
OPINION_LEVELS: dict[str, str] = {
    "strongly-disagree": N_("strongly disagree"),
    "disagree": N_("disagree"),
    "neutral": N_("neutral"),
    "agree": N_("agree"),
    "strongly-agree": N_("strongly agree"),
}
PERIODS: dict[str, str] = {
    "month": N_("month"),
    "quarter": N_("quarter"),
    "year": N_("year"),
}
# The roles of domain/roles.py.
ROLES: dict[str, str] = {
    "admin": N_("administrator"),
    "analyst": N_("analyst"),
    "liaison": N_("liaison officer"),
    "auditor": N_("auditor"),
    "viewer": N_("reader"),
    "monitor": N_("monitoring"),
    "partner": N_("partner node"),
}
# The units of the shared indicators (coordinate/data/indicators.json).
UNITS: dict[str, str] = {
    "attempts": N_("attempts"),
    "documents": N_("documents"),
    "networks": N_("networks"),
    "persons": N_("persons"),
}
# How a forecast was made (anticipate/forecast.py).
FORECAST_METHODS: dict[str, str] = {
    "model": N_("model"),
    "historical": N_("past counts"),
}

# What the audit trail records (audit/log.py ACTIONS).
AUDIT_ACTIONS: dict[str, str] = {
    "access_denied": N_("access denied"),
    "audit_export": N_("audit trail exported"),
    "audit_key": N_("audit key"),
    "audit_verify": N_("audit trail verified"),
    "backup": N_("backup"),
    "collection_create": N_("collection created"),
    "collection_delete": N_("collection deleted"),
    "collection_update": N_("collection changed"),
    "config": N_("configuration"),
    "consult": N_("consultation"),
    "correct": N_("correction"),
    "create": N_("creation"),
    "delete": N_("deletion"),
    "disclose": N_("disclosure"),
    "erase": N_("erasure"),
    "export": N_("export"),
    "gazetteer_correct": N_("gazetteer correction"),
    "import": N_("import"),
    "ingest": N_("article ingested"),
    "init": N_("node created"),
    "key_rotate": N_("key rotated"),
    "login": N_("sign-in"),
    "login_failed": N_("sign-in failed"),
    "login_locked": N_("account locked"),
    "login_throttled": N_("sign-in slowed"),
    "logout": N_("sign-out"),
    "migrate": N_("database moved"),
    "partner_add": N_("partner added"),
    "partner_remove": N_("partner removed"),
    "partner_update": N_("partner changed"),
    "password_change": N_("password changed"),
    "poll_summary": N_("empty polls (summary)"),
    "protect": N_("data protection"),
    "receive": N_("reception"),
    "release": N_("released to a partner"),
    "request_refused": N_("request refused"),
    "restore": N_("restoration"),
    "review": N_("review"),
    "search": N_("search"),
    "sync": N_("synchronisation"),
    "token_create": N_("token created"),
    "token_revoke": N_("token revoked"),
    "update": N_("change"),
    "user_add": N_("account created"),
    "user_disable": N_("account disabled"),
    "user_enable": N_("account enabled"),
    "user_role": N_("role changed"),
    "user_unlock": N_("account unlocked"),
    "withhold": N_("withheld from a partner"),
}

# The tables a template names in ``term(vocabulary, key)``.
VOCABULARIES: dict[str, dict[str, str]] = {
    "audit_action": AUDIT_ACTIONS,
    "stix_type": STIX_TYPES,
    "relation": RELATIONS,
    "topic": TOPIC_NAMES,
    "plover": PLOVER_NAMES,
    "plover_mode": PLOVER_MODES,
    "entity": ENTITY_TYPES,
    "subject_category": SUBJECT_CATEGORIES,
    "data_nature": DATA_NATURES,
    "group_kind": GROUP_KINDS,
    "meeting_kind": MEETING_KINDS,
    "meeting_status": MEETING_STATUSES,
    "action_status": ACTION_STATUSES,
    "priority": RFI_PRIORITIES,
    "rfi_state": RFI_STATES,
    "opinion": OPINION_LEVELS,
    "period": PERIODS,
    "forecast_method": FORECAST_METHODS,
    "role": ROLES,
    "unit": UNITS,
}

_INDEX = re.compile(r"\[\d+\]")


def relation_key(path: str) -> str:
    """A reference's kind: the property path without list indexes (``object_refs[3]``
    is ``object_refs``; ``extensions.x.y_ref`` keeps its path)."""
    return _INDEX.sub("", path)


def _readable(key: str) -> str:
    text = key.removeprefix("x-diapason-").removeprefix("x_diapason_").removeprefix("x-")
    for suffix in ("_refs", "_ref"):
        text = text.removesuffix(suffix)
    return text.replace("_", " ").replace("-", " ").strip() or key


def word(gettext: Gettext, table: dict[str, str], key: str) -> str:
    """``key`` in the reader's language: its msgid translated, else made readable."""
    msgid = table.get(key)
    return str(gettext(msgid)) if msgid is not None else _readable(key)


def type_name(gettext: Gettext, stix_type: str) -> str:
    """A STIX type as a reader names it ("threat actor", « acteur de la menace »)."""
    return word(gettext, STIX_TYPES, stix_type)


def relation_name(gettext: Gettext, path: str) -> str:
    """A reference property or relationship type as a verb ("contains", « contient »)."""
    return word(gettext, RELATIONS, relation_key(path))


def term(gettext: Gettext, vocabulary: str, key: str) -> str:
    """``key`` of one of the ``VOCABULARIES`` in the reader's language."""
    return word(gettext, VOCABULARIES[vocabulary], key)


def event_label(gettext: Gettext, plover: str, mode: str | None) -> str:
    """An event's kind as a reader names it: "Consultation (visit)", « Consultation
    (visite) »."""
    label = word(gettext, PLOVER_NAMES, plover) if plover else ""
    return f"{label} ({word(gettext, PLOVER_MODES, mode)})" if mode else label


def event_title(gettext: Gettext, lang: Lang, obj: Mapping[str, Any]) -> str | None:
    """The title of an event whose name is the one the OSINT pipeline writes ("CONSULT
    (visit) 2024-04-22 Rabat"), in the reader's language: "Consultation (visit),
    22 April 2024, Rabat", « Consultation (visite), 22 avril 2024, Rabat ». None for
    another object, or an event named otherwise (its name is shown as written)."""
    if obj.get("type") != EVENT_TYPE:
        return None
    name, plover = obj.get("name"), obj.get("plover_type")
    mode, day = obj.get("plover_mode"), obj.get("event_date")
    if not isinstance(name, str) or not isinstance(plover, str) or not plover:
        return None
    mode = mode if isinstance(mode, str) and mode else None
    day = day if isinstance(day, str) and day else None
    code = plover + (f" ({mode})" if mode else "")
    written = " ".join(part for part in (code, day) if part)
    if name != written and not name.startswith(written + " "):
        return None
    place = name[len(written) :].strip()
    try:
        when = long_date(date.fromisoformat(day), lang) if day else ""
    except ValueError:
        when = day or ""
    return ", ".join(part for part in (event_label(gettext, plover, mode), when, place) if part)


def country_title(lang: Lang, obj: Mapping[str, Any]) -> str | None:
    """A location that is a country, named in the reader's language (the gazetteer names
    Morocco "Morocco": a French page says « Maroc »); None for another object."""
    code, name = obj.get("country"), obj.get("name")
    if obj.get("type") != "location" or not isinstance(code, str) or not isinstance(name, str):
        return None
    spelled = {country_name(code, other).casefold() for other in ("en", "fr")}
    return country_name(code, lang) if name.casefold() in spelled else None


def display_title(gettext: Gettext, lang: Lang, obj: Mapping[str, Any]) -> str | None:
    """The title a page shows for ``obj`` when its stored name is written in codes or in
    one language (an OSINT event, a country), else None (its own title is shown)."""
    return event_title(gettext, lang, obj) or country_title(lang, obj)


def language_name(code: str, lang: Lang) -> str:
    """A language code (``fr``, ``ar``) as the language's name in the reader's language
    ("French", « français »); the code itself when it names none."""
    try:
        return str(Locale(lang).languages.get(code.lower(), code)) if code else ""
    except ValueError:
        return code


def topic_name(gettext: Gettext, topic: str) -> str:
    """A topic key (``organized_crime``, or the label ``topic:organized_crime``)."""
    return word(gettext, TOPIC_NAMES, topic.removeprefix("topic:"))


def zone_of(name: str) -> ZoneInfo:
    """The time zone a node shows its times in (the ``time_zone`` setting)."""
    return ZoneInfo(name)


def parse_moment(text: str) -> datetime | None:
    """A STIX or store timestamp (``2026-12-07T14:05:00.000Z``, ``…+00:00``) as an aware
    datetime, or None when it is not one."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    cleaned = text.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def long_date(day: date, lang: Lang) -> str:
    """A day as a person reads it: 7 December 2026, 7 décembre 2026."""
    return format_date(day, format="long", locale="fr_FR" if lang == "fr" else "en_GB")


def human_moment(text: str, lang: Lang, zone: ZoneInfo) -> str:
    """A timestamp as a person reads it, in the node's time zone: "7 December 2026, 14:05"
    and « 7 décembre 2026 à 14:05 ». A date alone, or midnight UTC (how STIX writes
    a day), reads as the day; what is not a timestamp is shown as it is."""
    if isinstance(text, str) and len(text) == 10:
        try:
            return long_date(date.fromisoformat(text), lang)
        except ValueError:
            return text
    moment = parse_moment(text)
    if moment is None:
        return str(text)
    utc = moment.astimezone(UTC)
    if (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0):
        # Midnight UTC is how STIX writes a day (a published date, a meeting's day).
        return long_date(utc.date(), lang)
    local = moment.astimezone(zone)
    day = long_date(local.date(), lang)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    return f"{day} à {clock}" if lang == "fr" else f"{day}, {clock}"


_MONTH = re.compile(r"(\d{4})-(\d{2})")


def period_name(period: str, lang: Lang, *, short: bool = False) -> str:
    """A month period ("2024-05") as a reader names it: "May 2024", « mai 2024 », or
    (``short``, a chart's axis) "Jan 2022", « janv. 2022 »; a week ("2024-W05") or
    anything else as it is."""
    found = _MONTH.fullmatch(period) if isinstance(period, str) else None
    if found is None or not 1 <= int(found.group(2)) <= 12:
        return str(period)
    day = date(int(found.group(1)), int(found.group(2)), 1)
    month = "LLL y" if short else "LLLL y"
    return str(format_date(day, format=month, locale="fr_FR" if lang == "fr" else "en_GB"))


def number(value: float, digits: int, lang: Lang) -> str:
    """A figure as the reader writes it, rounded to ``digits`` decimals: 1,098.6 and
    « 1 098,6 »."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return str(format_decimal(value, format=pattern, locale="fr_FR" if lang == "fr" else "en_GB"))


def country_name(code: str, lang: Lang) -> str:
    """An ISO 3166 alpha-2 code as the country's name in the reader's language (the code
    itself when it names none)."""
    return str(Locale(lang).territories.get(code.upper(), code)) if code else ""


def country_note(name: str, code: str | None, lang: Lang) -> str:
    """The country to show beside an entity's name: its name in the reader's language,
    or nothing when the name already says it ("Ministère de l'Intérieur (Maroc)")."""
    if not code:
        return ""
    folded = name.casefold()
    spelled = {country_name(code, other).casefold() for other in ("en", "fr")}
    if folded in spelled:
        return ""  # the entity is the country itself ("Morocco")
    if f"({code.casefold()})" in folded or any(f"({known})" in folded for known in spelled):
        return ""
    return country_name(code, lang)

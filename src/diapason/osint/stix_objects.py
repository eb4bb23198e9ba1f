"""STIX 2.1 objects from an analysed article.

- a ``report`` (name, published, ``lang``, ``external_references`` to the source, the body
  as ``description`` so that it is searchable, whatever its language);
- ``identity`` objects for persons (``individual``) and organisations (``organization``);
- ``location`` objects (coordinates, ISO 3166-1 country, region);
- ``intrusion-set`` for armed groups, ``threat-actor`` (crime syndicate) for criminal ones;
- ``x-diapason-event`` objects (PLOVER), declared by the event extension-definition;
- relationships: persons and organisations ``located-at`` their country, events
  ``located-at`` their place, actors ``x-diapason-acts-in`` each event, and its recipients
  by their role (:func:`recipient_relationship`): a visit's host ``x-diapason-hosts`` it,
  the recipient of a cooperative act ``x-diapason-receives`` it, the target of a hostile
  one is ``x-diapason-targeted-by`` it; a duplicate report ``x-diapason-duplicate-of``
  the original.

Every id is deterministic (a UUIDv5 of what the object denotes): the same person, place or
group found in two articles is one object, and re-ingesting an article yields the same ids.
Entities already held by the knowledge base keep their own id (see ``resolve.py``). Every
object is flagged as open-source material (grading extension, ``osint: true``) and marked
TLP:CLEAR: the source is public.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import EVENT_EXTENSION_ID, TLP_2_0_IDS, diapason_id
from diapason.domain.grading import mark_osint
from diapason.domain.stix import new_object
from diapason.domain.timestamps import stix_midnight
from diapason.osint.entities import Entity
from diapason.osint.events import Event
from diapason.osint.gazetteer import Gazetteer
from diapason.osint.geo import geocode
from diapason.osint.pipeline import Analysis, event_date

OSINT_LABEL = "osint"
_CLEAR = TLP_2_0_IDS["clear"]

# STIX 2.1 region vocabulary (region-ov) by GeoNames continent and a few sub-regions.
_REGIONS = {
    "MA": "northern-africa", "DZ": "northern-africa", "TN": "northern-africa",
    "LY": "northern-africa", "EG": "northern-africa", "EH": "northern-africa",
    "SD": "northern-africa", "ML": "western-africa", "NE": "western-africa",
    "BF": "western-africa", "MR": "western-africa", "SN": "western-africa",
    "NG": "western-africa", "GN": "western-africa", "CI": "western-africa",
    "BJ": "western-africa", "TG": "western-africa", "GH": "western-africa",
    "GM": "western-africa", "CV": "western-africa", "TD": "middle-africa",
    "CM": "middle-africa", "CF": "middle-africa", "FR": "western-europe",
    "BE": "western-europe", "NL": "western-europe", "DE": "western-europe",
    "CH": "western-europe", "ES": "southern-europe", "PT": "southern-europe",
    "IT": "southern-europe", "GB": "northern-europe",
}  # fmt: skip
# Regions of the gazetteer that have no country, mapped to the STIX region vocabulary.
_AREA_REGIONS = {
    "Sahel": "western-africa", "Sahel-Saharan region": "africa", "Sahara": "africa",
    "Maghreb": "northern-africa", "West Africa": "western-africa",
    "North Africa": "northern-africa", "Sub-Saharan Africa": "sub-saharan-africa",
    "Africa": "africa", "Europe": "europe", "Mediterranean Sea": "europe",
    "Atlantic Ocean": "africa", "Strait of Gibraltar": "southern-europe",
    "Liptako-Gourma": "western-africa",
}  # fmt: skip


@dataclass
class Built:
    """The objects made for one article, and the id each entity got."""

    report_id: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    entity_ids: dict[int, str] = field(default_factory=dict)  # id(entity) -> STIX id


def article_key(analysis: Analysis) -> str:
    """What identifies an article for ever: its source URL, else a hash of its text."""
    article = analysis.article
    if article.source_url:
        return f"url:{article.source_url}"
    digest = hashlib.sha256(article.text.encode("utf-8")).hexdigest()
    return f"sha256:{digest}"


def report_id_for(analysis: Analysis) -> str:
    return diapason_id("report", f"osint:{article_key(analysis)}")


def entity_stix_type(entity: Entity) -> str:
    """The STIX type an entity becomes."""
    if entity.type == "LOC":
        return "location"
    if entity.type == "GROUP":
        return "threat-actor" if entity.group_kind == "criminal" else "intrusion-set"
    return "identity"


def entity_id(entity: Entity) -> str:
    """The deterministic id of an entity: its type and canonical name (and country)."""
    stix_type = entity_stix_type(entity)
    return diapason_id(stix_type, f"osint:{entity.type}:{entity.canonical}:{entity.country or ''}")


def _common(stix_type: str, object_id: str, timestamp: str, author: str | None) -> dict[str, Any]:
    return new_object(
        stix_type, object_id=object_id, created_by_ref=author, markings=[_CLEAR], now=timestamp
    )


def entity_object(
    entity: Entity, object_id: str, gazetteer: Gazetteer, timestamp: str, author: str | None
) -> dict[str, Any] | None:
    """The STIX object of one entity, or None for a place that cannot be located at all."""
    stix_type = entity_stix_type(entity)
    obj = _common(stix_type, object_id, timestamp, author)
    obj["name"] = entity.canonical
    aliases = sorted({s for s in entity.surfaces if s != entity.canonical})
    if entity.entry is not None:
        aliases = sorted({*aliases, *(a for a in entity.entry.aliases if a != entity.canonical)})
    if stix_type == "identity":
        obj["identity_class"] = "individual" if entity.type == "PER" else "organization"
        if entity.type == "ORG":
            obj["sectors"] = ["government-national"] if entity.country else ["government"]
    elif stix_type == "location":
        where = geocode(entity, gazetteer)
        if where.latitude is not None and where.longitude is not None:
            obj["latitude"] = round(where.latitude, 5)
            obj["longitude"] = round(where.longitude, 5)
        if where.country:
            obj["country"] = where.country
            if where.country in _REGIONS:
                obj["region"] = _REGIONS[where.country]
        elif entity.canonical in _AREA_REGIONS:
            obj["region"] = _AREA_REGIONS[entity.canonical]
        if where.region:
            obj["administrative_area"] = where.region
        if not any(key in obj for key in ("region", "country", "latitude")):
            return None
    elif stix_type == "intrusion-set":
        if aliases:
            obj["aliases"] = aliases
    else:
        obj["threat_actor_types"] = ["crime-syndicate"]
        if aliases:
            obj["aliases"] = aliases
    return mark_osint(obj)


def event_object(
    event: Event,
    object_id: str,
    analysis: Analysis,
    ids: dict[int, str],
    timestamp: str,
    author: str | None,
) -> dict[str, Any]:
    obj = _common(EVENT_TYPE, object_id, timestamp, author)
    day = event_date(event, analysis.article.published)
    place = event.place.canonical if event.place is not None else None
    label = event.plover + (f" ({event.mode})" if event.mode else "")
    obj["name"] = " ".join(part for part in (label, day.isoformat() if day else "", place) if part)
    obj["plover_type"] = event.plover
    if event.mode:
        obj["plover_mode"] = event.mode
    if day is not None:
        obj["event_date"] = day.isoformat()
    obj["summary"] = event.sentence[:2000]
    if event.place is not None and id(event.place) in ids:
        obj["location_ref"] = ids[id(event.place)]
    actors = [ids[id(a)] for a in event.actors if id(a) in ids]
    targets = [ids[id(t)] for t in event.targets if id(t) in ids]
    if actors:
        obj["actor_refs"] = actors
    if targets:
        obj["target_refs"] = targets
    obj["topics"] = list(analysis.topics)
    obj["extensions"] = {EVENT_EXTENSION_ID: {"extension_type": "new-sdo"}}
    return mark_osint(obj)


# PLOVER types whose recipient is a counterpart, not a target (manual: CONSULT to AID are
# cooperative). A visit's recipient is its host.
_COOPERATIVE = frozenset({"AGREE", "CONSULT", "SUPPORT", "COOPERATE", "AID", "REQUEST", "RETREAT"})


def recipient_relationship(plover: str) -> str:
    """The relationship type from an event's recipient (``target_refs``) to the event:
    the host of a meeting hosts it, the recipient of a cooperative act receives it, only
    the target of a hostile act (an attack, an arrest, an accusation) is targeted by it."""
    if plover == "CONSULT":
        return "x-diapason-hosts"
    if plover in _COOPERATIVE:
        return "x-diapason-receives"
    return "x-diapason-targeted-by"


def relationship(
    source: str, kind: str, target: str, timestamp: str, author: str | None
) -> dict[str, Any]:
    object_id = diapason_id("relationship", f"osint:{source}:{kind}:{target}")
    obj = _common("relationship", object_id, timestamp, author)
    obj.update(relationship_type=kind, source_ref=source, target_ref=target)
    return mark_osint(obj)


def source_name(url: str | None) -> str:
    """The outlet's name for ``external_references``: the URL's host, or "open source"."""
    if not url:
        return "open source"
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or "open source"


# Events that make an article a report on a threat: force, coercion, threats.
_HOSTILE = frozenset({"ASSAULT", "COERCE", "THREATEN", "SANCTION", "MOBILIZE"})


def report_types(analysis: Analysis) -> list[str]:
    """What a news article is primarily about, in STIX 2.1's report-type-ov (an open
    vocabulary with no value for general news): ``threat-report`` only when it reports a
    hostile act; ``threat-actor`` when it names an armed or criminal group; otherwise
    ``identity``, the persons and organisations it tells about (the seed: two ministers
    meeting and agreeing)."""
    kinds: list[str] = []
    if any(event.plover in _HOSTILE for event in analysis.events):
        kinds.append("threat-report")
    if any(entity.type == "GROUP" for entity in analysis.entities):
        kinds.append("threat-actor")
    return kinds or ["identity"]


def report_object(
    analysis: Analysis,
    object_refs: list[str],
    timestamp: str,
    author: str | None,
) -> dict[str, Any]:
    article = analysis.article
    published = stix_midnight(article.published) if article.published else timestamp
    obj = _common("report", report_id_for(analysis), timestamp, author)
    reference: dict[str, Any] = {"source_name": source_name(article.source_url)}
    if article.source_url:
        reference["url"] = article.source_url
        # The hash of the text read, so that a reader can tell if the page changed since.
        reference["hashes"] = {"SHA-256": hashlib.sha256(article.text.encode("utf-8")).hexdigest()}
    reference["external_id"] = article_key(analysis)[:250]
    name = article.title.strip() or article.body.strip().split("\n")[0][:120]
    obj.update(
        name=name[:500] or "untitled article",
        published=published,
        report_types=report_types(analysis),
        description=article.body,
        external_references=[reference],
        labels=[OSINT_LABEL, *(f"topic:{topic}" for topic in analysis.topics)],
        object_refs=object_refs,
    )
    if analysis.language != "und":
        obj["lang"] = analysis.language
    return mark_osint(obj)

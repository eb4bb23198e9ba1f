"""MISP events in and out, through MISP's own converter (``misp-stix``).

Reading: a MISP event (``{"Event": {...}}``), a list of them (``{"response": [...]}``, or a
JSON list) or a MISP feed folder (``manifest.json`` and one ``<uuid>.json`` per event) gives
events; :func:`event_to_stix` converts one with misp-stix's ``MISPtoSTIX21Parser`` and then
applies Diapason's rules to what it made (docs/misp.md has the table):

- the creating organisation (``Orgc``) is an ``identity`` and the ``created_by_ref`` of every
  SDO and SRO, so the third-party rule of the release policy applies;
- ``tlp:`` tags are the TLP 2.0 marking-definitions (TLP 1.0 ids are rewritten), ``PAP:``
  tags Diapason's PAP markings; other tags stay labels (misp-stix puts them there);
- the distribution of the event and of each attribute or object is a marking: 0 (your
  organisation only) TLP:RED, 1 (this community only) TLP:AMBER+STRICT, 2 and 3 nothing, 4
  (a sharing group) ``REL TO`` the member organisations that are partners of this node
  (TLP:RED when none is);
- what an attribute or object carries applies to the STIX objects made from it (their ids
  keep its UUID), on top of what the event carries; a relationship carries the markings of
  its two ends too.

Writing: :func:`stix_to_misp` converts STIX objects into MISP events with misp-stix's
``InternalSTIX2toMISPParser`` (content that came from MISP) or
``ExternalSTIX2toMISPParser`` (anything else), as misp-stix itself chooses.

Nothing here reads the store or writes anything: the callers (``diapason import`` and
``export``, the MISP feed of the web server) do, through the usual paths.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from diapason.bundles import BundleError, parse_json, read_limited
from diapason.domain.extensions import PAP_IDS, SHIPPED_CONTENT, TLP_2_0_IDS
from diapason.domain.grading import GradingError, grade, mark_osint
from diapason.domain.markings import (
    TLP_BY_ID,
    Tlp,
    partner_key,
    releasability_marking,
)
from diapason.domain.stix import SCO_TYPES
from diapason.domain.timestamps import parse_timestamp, stix_timestamp

# misp-stix logs a warning on every bundle it recognises as MISP's own: noise on a terminal.
logging.getLogger("misp_stix_converter").setLevel(logging.ERROR)


class _Heard(logging.Handler):
    """What PyMISP and misp-stix log in this thread while it converts: they skip what they
    cannot read (an attribute without a type, a timestamp that is no number) and only say
    so in their logs. Diapason turns what they say into errors."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage()[:300])


@contextmanager
def _listening() -> Iterator[_Heard]:
    heard = _Heard()
    loggers = [logging.getLogger(name) for name in ("pymisp", "misp_stix_converter")]
    for logger in loggers:
        logger.addHandler(heard)
    try:
        yield heard
    finally:
        for logger in loggers:
            logger.removeHandler(heard)


def _parser_errors(parser: Any) -> list[str]:
    """The errors misp-stix recorded (``errors``: lists of messages by identifier)."""
    found = getattr(parser, "errors", None) or {}
    return [f"{key}: {message}" for key, messages in found.items() for message in messages]


MANIFEST = "manifest.json"

# MISP distribution levels.
YOUR_ORGANISATION = 0
THIS_COMMUNITY = 1
CONNECTED_COMMUNITIES = 2
ALL_COMMUNITIES = 3
SHARING_GROUP = 4
INHERIT = 5

# The identity of a MISP organisation is the same whatever the event it came with: one
# version, whatever the order events arrive in (its name is all it says).
ORGANISATION_CREATED = "2000-01-01T00:00:00.000Z"

# Where the namespace of the export's bundle ids comes from (fixed: stable event uuids).
_NAMESPACE = uuid.UUID("0b8e4a43-6f55-4e0f-9f38-5c1a3e7f2d61")

_RELATIONSHIP_ENDS = ("source_ref", "target_ref", "sighting_of_ref")


class MispError(BundleError):
    """Input that is not MISP event JSON Diapason can take; the message says where and why."""


@dataclass(frozen=True)
class MispEvent:
    """One MISP event read from a file: ``origin`` says where (file, position)."""

    origin: str
    event: dict[str, Any]

    @property
    def uuid(self) -> str:
        return str(self.event.get("uuid", "?"))


# -- reading ------------------------------------------------------------------------------


def looks_like_misp(parsed: Any) -> bool:
    """Whether parsed JSON is MISP's: an ``Event``, a ``response`` list, or a list of events."""
    if isinstance(parsed, dict):
        return "Event" in parsed or isinstance(parsed.get("response"), list)
    return (
        isinstance(parsed, list)
        and bool(parsed)
        and all(isinstance(item, dict) and "Event" in item for item in parsed)
    )


def is_feed_folder(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def misp_events(parsed: Any, origin: str) -> list[MispEvent]:
    """The events of parsed MISP JSON (see :func:`looks_like_misp`), each checked enough to
    be converted: an object with ``uuid``, ``info`` and an ``Orgc`` naming its creator."""
    if isinstance(parsed, dict) and "Event" in parsed:
        return [_checked(parsed["Event"], origin)]
    items: Any = parsed.get("response") if isinstance(parsed, dict) else parsed
    if not isinstance(items, list):
        raise MispError(f"{origin}: not MISP event JSON (no 'Event' and no 'response' list)")
    events = []
    for position, item in enumerate(items):
        where = f"{origin}: response[{position}]"
        if not isinstance(item, dict) or "Event" not in item:
            raise MispError(f"{where}: expected {{'Event': {{...}}}}")
        events.append(_checked(item["Event"], where))
    return events


def _checked(event: Any, origin: str) -> MispEvent:
    if not isinstance(event, dict):
        raise MispError(f"{origin}: Event is not a JSON object")
    for field in ("uuid", "info"):
        if not isinstance(event.get(field), str) or not event[field].strip():
            raise MispError(f"{origin}: Event.{field}: required text missing")
    try:
        uuid.UUID(event["uuid"])
    except ValueError:
        raise MispError(f"{origin}: Event.uuid: {event['uuid']!r} is not a UUID") from None
    where = f"{origin} (event {event['uuid']})"
    orgc = event.get("Orgc")
    if not isinstance(orgc, dict) or not isinstance(orgc.get("name"), str) or not orgc["name"]:
        raise MispError(f"{where}: Event.Orgc: the creating organisation (its name) is missing")
    try:
        uuid.UUID(str(orgc.get("uuid")))
    except ValueError:
        raise MispError(f"{where}: Event.Orgc.uuid: {orgc.get('uuid')!r} is not a UUID") from None
    distribution = event.get("distribution", ALL_COMMUNITIES)
    if _level(distribution) not in range(0, 5):
        raise MispError(f"{where}: Event.distribution: {distribution!r} is not 0 to 4")
    for key in ("Attribute", "Object", "Tag", "Galaxy"):
        if key in event and not isinstance(event[key], list):
            raise MispError(f"{where}: Event.{key}: expected a list")
    # A tag misread would be a marking lost (a tlp:red dropped): every one is checked.
    _check_tags(event, f"{where}: Event")
    for position, attribute in enumerate(event.get("Attribute") or []):
        _check_tags(attribute, f"{where}: Event.Attribute[{position}]")
    for position, misp_object in enumerate(event.get("Object") or []):
        _check_tags(misp_object, f"{where}: Event.Object[{position}]")
        inner = misp_object.get("Attribute") if isinstance(misp_object, dict) else None
        for index, attribute in enumerate(inner or []):
            _check_tags(attribute, f"{where}: Event.Object[{position}].Attribute[{index}]")
    return MispEvent(where, event)


def _check_tags(element: Any, where: str) -> None:
    if not isinstance(element, dict):
        return  # misp-stix's own complaint names it (see event_to_stix)
    tags = element.get("Tag")
    if tags is None:
        return
    if not isinstance(tags, list):
        raise MispError(f"{where}.Tag: expected a list")
    for position, tag in enumerate(tags):
        if not isinstance(tag, dict) or not isinstance(tag.get("name"), str):
            raise MispError(f"{where}.Tag[{position}]: expected {{'name': '<tag>'}}")


def read_misp_file(path: Path, max_bytes: int) -> list[MispEvent]:
    """The events of one MISP JSON file (an event or a list of events)."""
    parsed = parse_json(read_limited(path, max_bytes), str(path))
    if not looks_like_misp(parsed):
        raise MispError(f"{path}: not MISP event JSON (no 'Event' and no 'response' list)")
    return misp_events(parsed, str(path))


def read_misp_feed(folder: Path, max_bytes: int) -> Iterator[MispEvent]:
    """The events a MISP feed folder lists in its ``manifest.json``, in the manifest's
    order; an event file missing, or holding another event, is an error."""
    manifest_path = folder / MANIFEST
    manifest = parse_json(read_limited(manifest_path, max_bytes), str(manifest_path))
    if not isinstance(manifest, dict):
        raise MispError(f"{manifest_path}: expected an object of event uuids")
    for event_uuid in manifest:
        try:
            uuid.UUID(event_uuid)
        except ValueError:
            raise MispError(f"{manifest_path}: {event_uuid!r} is not an event uuid") from None
        path = folder / f"{event_uuid}.json"
        if not path.is_file():
            raise MispError(f"{manifest_path}: lists {event_uuid}, but {path.name} is missing")
        events = read_misp_file(path, max_bytes)
        if len(events) != 1 or events[0].uuid != event_uuid:
            raise MispError(f"{path}: expected the event {event_uuid} alone")
        yield events[0]


def feed_size(folder: Path, max_bytes: int) -> int:
    """How many events a feed folder's manifest lists (for a progress bar)."""
    manifest = parse_json(read_limited(folder / MANIFEST, max_bytes), str(folder / MANIFEST))
    return len(manifest) if isinstance(manifest, dict) else 0


# -- MISP to STIX -------------------------------------------------------------------------


def _level(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@dataclass(frozen=True)
class _Sharing:
    """What the distribution of one element of an event says, as marking ids."""

    markings: tuple[str, ...]
    definitions: tuple[dict[str, Any], ...] = ()


def _tag_names(element: Mapping[str, Any]) -> list[str]:
    tags = element.get("Tag") or []
    return [
        tag["name"] for tag in tags if isinstance(tag, dict) and isinstance(tag.get("name"), str)
    ]


def tag_marking(name: str) -> str | None:
    """The marking-definition id of a ``tlp:`` or ``PAP:`` tag, or None (a label)."""
    lowered = name.strip().lower()
    if lowered.startswith("tlp:"):
        level = lowered.removeprefix("tlp:")
        level = {"white": "clear", "ex:chr": "red"}.get(level, level)
        return TLP_2_0_IDS.get(level)
    if lowered.startswith("pap:"):
        level = lowered.removeprefix("pap:")
        return PAP_IDS.get("clear" if level == "white" else level)
    return None


def _members(sharing_group: Any) -> list[str]:
    if not isinstance(sharing_group, dict):
        return []
    names = []
    for entry in sharing_group.get("SharingGroupOrg") or []:
        organisation = entry.get("Organisation") if isinstance(entry, dict) else None
        if isinstance(organisation, dict) and isinstance(organisation.get("name"), str):
            names.append(organisation["name"])
    owner = sharing_group.get("Organisation")
    if isinstance(owner, dict) and isinstance(owner.get("name"), str):
        names.append(owner["name"])
    return names


def distribution_sharing(level: int, sharing_group: Any, partners: Collection[str]) -> _Sharing:
    """The markings of a MISP distribution level (the table of docs/misp.md)."""
    if level == YOUR_ORGANISATION:
        return _Sharing((Tlp.RED.marking_id,))
    if level == THIS_COMMUNITY:
        return _Sharing((Tlp.AMBER_STRICT.marking_id,))
    if level == SHARING_GROUP:
        by_key = {partner_key(name): name for name in partners}
        named = sorted(
            {by_key[partner_key(m)] for m in _members(sharing_group) if partner_key(m) in by_key}
        )
        if not named:
            return _Sharing((Tlp.RED.marking_id,))
        definition = releasability_marking(named)
        return _Sharing((definition["id"],), (definition,))
    return _Sharing(())


@dataclass
class _EventMarkings:
    """Marking ids per MISP uuid (event, attributes, objects) and the definitions needed."""

    event: list[str]
    by_uuid: dict[str, list[str]]
    definitions: dict[str, dict[str, Any]]


def _element_markings(
    element: Mapping[str, Any],
    event: Mapping[str, Any],
    partners: Collection[str],
    definitions: dict[str, dict[str, Any]],
) -> list[str]:
    found = [m for m in map(tag_marking, _tag_names(element)) if m]
    level = _level(element.get("distribution", INHERIT))
    if level not in (INHERIT, -1):
        group = element.get("SharingGroup")
        if group is None and str(element.get("sharing_group_id")) == str(
            event.get("sharing_group_id")
        ):
            group = event.get("SharingGroup")
        sharing = distribution_sharing(level, group, partners)
        found.extend(sharing.markings)
        definitions.update({d["id"]: d for d in sharing.definitions})
    return found


def _event_markings(event: Mapping[str, Any], partners: Collection[str]) -> _EventMarkings:
    definitions: dict[str, dict[str, Any]] = {}
    event_level = _element_markings(event, event, partners, definitions)
    by_uuid: dict[str, list[str]] = {}
    for attribute in event.get("Attribute") or []:
        if isinstance(attribute, dict) and isinstance(attribute.get("uuid"), str):
            by_uuid[attribute["uuid"]] = _element_markings(attribute, event, partners, definitions)
    for misp_object in event.get("Object") or []:
        if not isinstance(misp_object, dict) or not isinstance(misp_object.get("uuid"), str):
            continue
        own = _element_markings(misp_object, event, partners, definitions)
        for attribute in misp_object.get("Attribute") or []:
            if isinstance(attribute, dict):
                marks = _element_markings(attribute, event, partners, definitions)
                own.extend(marks)
                if isinstance(attribute.get("uuid"), str):
                    by_uuid[attribute["uuid"]] = marks
        by_uuid[misp_object["uuid"]] = own
    return _EventMarkings(event_level, by_uuid, definitions)


def _with_timestamps(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` whose attributes and objects without a timestamp take the
    event's: misp-stix would stamp them with the time of conversion, and importing the same
    event twice would then make new versions."""
    stamp = event.get("timestamp") or event.get("publish_timestamp")
    if stamp is None:
        return event
    copy = {**event}

    def stamped(element: Any) -> Any:
        if isinstance(element, dict) and not element.get("timestamp"):
            return {**element, "timestamp": stamp}
        return element

    copy["Attribute"] = [stamped(a) for a in event.get("Attribute") or []]
    objects = []
    for misp_object in event.get("Object") or []:
        misp_object = stamped(misp_object)
        if isinstance(misp_object, dict):
            misp_object = {
                **misp_object,
                "Attribute": [stamped(a) for a in misp_object.get("Attribute") or []],
            }
        objects.append(misp_object)
    copy["Object"] = objects
    return copy


def _uuid_of(stix_id: str) -> str:
    return stix_id.rpartition("--")[2]


def event_to_stix(
    item: MispEvent, partners: Collection[str] = (), own_identity: str | None = None
) -> list[dict[str, Any]]:
    """The STIX 2.1 objects of one MISP event (misp-stix), with Diapason's markings,
    grading and authorship. ``partners``: this node's partner names (for sharing groups);
    ``own_identity``: this node's identity id (an event whose ``Orgc`` has its uuid is this
    node's own, and its identity is not made again)."""
    from misp_stix_converter import MISPtoSTIX21Parser

    event = _with_timestamps(item.event)
    parser = MISPtoSTIX21Parser()
    with _listening() as heard:
        try:
            parser.parse_misp_event({"Event": event})
            converted = [orjson.loads(obj.serialize()) for obj in parser.stix_objects]
        except Exception as error:  # misp-stix raises many kinds; each one is this event's
            raise MispError(f"{item.origin}: misp-stix could not convert it: {error}") from None
    skipped = [*heard.messages, *_parser_errors(parser)]
    if skipped:
        # Nothing of an event is imported when part of it would be left out unsaid.
        raise MispError(
            f"{item.origin}: misp-stix could not convert all of it: " + "; ".join(skipped[:5])
        )
    orgc = event["Orgc"]
    author = f"identity--{orgc['uuid']}"
    markings = _event_markings(event, partners)
    clusters = _clusters(event)
    tags = _element_tags(event)
    objects: list[dict[str, Any]] = []
    authors: dict[str, dict[str, Any]] = {}
    own: dict[str, list[str]] = {}
    for obj in converted:
        if obj["type"] == "marking-definition" and (
            obj["id"] in TLP_BY_ID or obj["id"] in SHIPPED_CONTENT
        ):
            continue  # every node knows the TLP definitions by id
        if obj["type"] == "identity" and obj["id"] == author:
            continue  # made below, the same whatever the event
        _retag(obj)
        cluster = clusters.get(_uuid_of(obj["id"]))
        if cluster is not None:
            # Galaxy clusters are shared knowledge: the same in every event that uses one,
            # with their own author, time and distribution, never the event's.
            creator = _cluster_author(cluster)
            authors[creator["id"]] = creator
            stamp = _cluster_stamp(cluster)
            obj.update(created_by_ref=creator["id"], created=stamp, modified=stamp)
            own[obj["id"]] = _element_markings(cluster, event, partners, markings.definitions)
        else:
            if obj["type"] not in SCO_TYPES and obj["type"] != "marking-definition":
                obj["created_by_ref"] = author
                obj = _graded(obj, [*_tag_names(event), *tags.get(_uuid_of(obj["id"]), [])])
            own[obj["id"]] = [*markings.event, *markings.by_uuid.get(_uuid_of(obj["id"]), [])]
        objects.append(obj)
    if author != own_identity:
        authors[author] = organisation_identity(orgc)
    objects[:0] = authors.values()
    for obj in objects:
        marks = list(own.get(obj["id"], []))
        if obj["type"] in ("relationship", "sighting"):
            for key in _RELATIONSHIP_ENDS:
                marks.extend(own.get(obj.get(key) or "", []))
        _mark(obj, marks)
    return [*markings.definitions.values(), *objects]


def _element_tags(event: Mapping[str, Any]) -> dict[str, list[str]]:
    """The tag names of each attribute and object (an object's: its own and its
    attributes'), by uuid."""
    found: dict[str, list[str]] = {}
    for attribute in event.get("Attribute") or []:
        if isinstance(attribute, dict) and isinstance(attribute.get("uuid"), str):
            found[attribute["uuid"]] = _tag_names(attribute)
    for misp_object in event.get("Object") or []:
        if isinstance(misp_object, dict) and isinstance(misp_object.get("uuid"), str):
            names = _tag_names(misp_object)
            for attribute in misp_object.get("Attribute") or []:
                if isinstance(attribute, dict):
                    names.extend(_tag_names(attribute))
            found[misp_object["uuid"]] = names
    return found


_RELIABILITY = 'admiralty-scale:source-reliability="'
_CREDIBILITY = 'admiralty-scale:information-credibility="'


def _graded(obj: dict[str, Any], tag_names: Sequence[str]) -> dict[str, Any]:
    """``obj`` graded by the MISP ``admiralty-scale`` tags among ``tag_names`` (the last of
    each scale wins: an attribute's come after its event's), flagged OSINT by any
    ``osint:`` tag; as it is when there are none."""
    reliability = credibility = None
    osint = False
    for name in tag_names:
        text = name.strip()
        if text.startswith(_RELIABILITY):
            reliability = text.removeprefix(_RELIABILITY).rstrip('"').upper()
        elif text.startswith(_CREDIBILITY):
            credibility = text.removeprefix(_CREDIBILITY).rstrip('"')
        elif text.lower().startswith("osint:"):
            osint = True
    if reliability and credibility:
        try:
            return grade(obj, "admiralty", reliability, credibility, osint=osint or None)
        except GradingError:
            pass  # a value off the scale grades nothing; the tag stays a label
    return mark_osint(obj) if osint else obj


def organisation_identity(organisation: Mapping[str, Any]) -> dict[str, Any]:
    """The identity of a MISP organisation: the same object whatever event it came with."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{organisation['uuid']}",
        "created": ORGANISATION_CREATED,
        "modified": ORGANISATION_CREATED,
        "name": str(organisation["name"]),
        "identity_class": "organization",
    }


# The author of MISP's shared galaxy clusters (the misp-galaxy project), when a cluster does
# not name its own organisation.
MISP_GALAXY = {
    "name": "MISP galaxy (misp-galaxy.org)",
    "uuid": str(uuid.uuid5(_NAMESPACE, "galaxy")),
}


def _clusters(event: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The galaxy clusters of an event (its own and its attributes'), by uuid."""
    found: dict[str, dict[str, Any]] = {}
    holders: list[Any] = [event, *(event.get("Attribute") or [])]
    for misp_object in event.get("Object") or []:
        if isinstance(misp_object, dict):
            holders.extend(misp_object.get("Attribute") or [])
    for holder in holders:
        if not isinstance(holder, dict):
            continue
        for galaxy in holder.get("Galaxy") or []:
            if not isinstance(galaxy, dict):
                continue
            for cluster in galaxy.get("GalaxyCluster") or []:
                if isinstance(cluster, dict) and isinstance(cluster.get("uuid"), str):
                    found[cluster["uuid"]] = cluster
    return found


def _cluster_author(cluster: Mapping[str, Any]) -> dict[str, Any]:
    orgc = cluster.get("Orgc")
    if isinstance(orgc, dict) and isinstance(orgc.get("name"), str) and orgc.get("uuid"):
        try:
            uuid.UUID(str(orgc["uuid"]))
            return organisation_identity(orgc)
        except ValueError:
            pass
    return organisation_identity(MISP_GALAXY)


def _cluster_stamp(cluster: Mapping[str, Any]) -> str:
    """A cluster's time: its own timestamp where MISP gives one, else a fixed time."""
    seconds = _level(cluster.get("timestamp"))
    if seconds > 0:
        return stix_timestamp(datetime.fromtimestamp(seconds, UTC))
    return ORGANISATION_CREATED


_TLP_1_TO_2 = {marking_id: level.marking_id for marking_id, level in TLP_BY_ID.items()}


def _retag(obj: dict[str, Any]) -> None:
    """TLP 1.0 ids as TLP 2.0 ids; ``tlp:``/``PAP:`` labels taken off (they are markings)."""
    if isinstance(obj.get("object_marking_refs"), list):
        obj["object_marking_refs"] = list(
            dict.fromkeys(_TLP_1_TO_2.get(ref, ref) for ref in obj["object_marking_refs"])
        )
    for entry in obj.get("granular_markings") or []:
        if isinstance(entry, dict) and "marking_ref" in entry:
            entry["marking_ref"] = _TLP_1_TO_2.get(entry["marking_ref"], entry["marking_ref"])
    if isinstance(obj.get("labels"), list):
        kept = [label for label in obj["labels"] if not tag_marking(str(label))]
        if kept:
            obj["labels"] = kept
        else:
            del obj["labels"]


def _mark(obj: dict[str, Any], marks: Iterable[str]) -> None:
    refs = list(dict.fromkeys([*(obj.get("object_marking_refs") or []), *marks]))
    if refs:
        obj["object_marking_refs"] = refs


# -- STIX to MISP -------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    """A MISP organisation: the ``Orgc`` of events made here."""

    name: str
    uuid: str

    @classmethod
    def of_identity(cls, identity: Mapping[str, Any] | None, node_name: str) -> Organisation:
        """The organisation of this node's identity (its name and uuid); without one, the
        node's name and a uuid derived from it."""
        if identity is None:
            return cls(node_name, str(uuid.uuid5(_NAMESPACE, f"node:{node_name}")))
        return cls(str(identity.get("name") or node_name), _uuid_of(str(identity["id"])))


def _definitions_for(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The TLP definitions the objects refer to (misp-stix turns them into ``tlp:`` tags);
    Diapason's other markings become tags of their own (:func:`_diapason_tags`)."""
    used = {
        ref for obj in objects for ref in obj.get("object_marking_refs") or [] if ref in TLP_BY_ID
    }
    return [orjson.loads(SHIPPED_CONTENT[ref]) for ref in sorted(used) if ref in SHIPPED_CONTENT]


_PAP_TAGS = {marking_id: f"PAP:{level.upper()}" for level, marking_id in PAP_IDS.items()}


@dataclass(frozen=True)
class MispExport:
    """MISP events made of STIX objects, and what misp-stix said it could not convert."""

    events: list[dict[str, Any]]
    problems: list[str]


def stix_to_misp(
    objects: Sequence[Mapping[str, Any]],
    organisation: Organisation,
    *,
    bundle_name: str = "diapason",
    distribution: int = YOUR_ORGANISATION,
) -> MispExport:
    """MISP events (``{"Event": {...}}`` each) of STIX objects, by misp-stix: one event per
    report or grouping, and one more for the objects in none (misp-stix, given reports,
    would leave those out: they are converted on their own). The ``Orgc`` of an event is
    the author of its report (or grouping) when that identity is among ``objects``, else
    ``organisation``; ``distribution`` the MISP distribution of what is made (default: your
    organisation only: what a partner's MISP gets from Diapason stays in that
    organisation). ``bundle_name`` makes the uuid of the event of objects in no report (the
    same name, the same uuid)."""
    kept = [
        dict(obj)
        for obj in objects
        if obj.get("type") not in ("marking-definition", "extension-definition")
    ]
    kept = _complete(kept)
    for obj in kept:
        # Markings other than TLP are Diapason's: tags of their own, after conversion.
        refs = [ref for ref in obj.get("object_marking_refs") or [] if ref in TLP_BY_ID]
        obj.pop("granular_markings", None)
        obj.pop("object_marking_refs", None)
        if refs:
            obj["object_marking_refs"] = refs
    inside, loose = _by_container(kept)
    by_id = {str(obj.get("id")): obj for obj in objects}
    answer: list[dict[str, Any]] = []
    problems: list[str] = []
    for group in (inside, loose):
        if not group:
            continue
        events, said = _convert(
            group, f"bundle--{uuid.uuid5(_NAMESPACE, bundle_name)}", distribution
        )
        problems.extend(said)
        for event in events:
            container = by_id.get(f"report--{event.uuid}") or by_id.get(f"grouping--{event.uuid}")
            creator = by_id.get(str((container or {}).get("created_by_ref")))
            chosen = Organisation.of_identity(creator, "") if creator else organisation
            answer.append(_finished(event, chosen, container, group, distribution))
    return MispExport(answer, problems)


def _by_container(
    objects: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The objects that make the events of reports and groupings (those and what they
    hold, with the relationships between what they hold), and the others with their
    authors. Identities are who wrote, not what was said: they go with what they wrote,
    and never make an event alone (it would tell a MISP nothing)."""
    containers = [obj for obj in objects if obj.get("type") in ("report", "grouping")]
    held = {str(obj["id"]) for obj in containers}
    for container in containers:
        held.update(container.get("object_refs") or [])
    identities = {str(obj["id"]): obj for obj in objects if obj.get("type") == "identity"}
    inside, content = [], []
    for obj in objects:
        between = (
            obj.get("type") == "relationship"
            and {
                obj.get("source_ref"),
                obj.get("target_ref"),
            }
            <= held
        )
        if str(obj.get("id")) in held or between or (containers and obj.get("type") == "identity"):
            inside.append(obj)
        elif obj.get("type") != "identity":
            content.append(obj)
    if not content:
        return inside, []
    authors = {obj.get("created_by_ref") for obj in content}
    return inside, [*content, *(obj for key, obj in identities.items() if key in authors)]


def _convert(
    objects: list[dict[str, Any]], bundle_id: str, distribution: int
) -> tuple[list[Any], list[str]]:
    """misp-stix's MISP events of ``objects`` (PyMISP ``MISPEvent``), and what it said."""
    from misp_stix_converter import ExternalSTIX2toMISPParser, InternalSTIX2toMISPParser
    from misp_stix_converter.tools.stix2_loading_helpers import load_stix2_content
    from misp_stix_converter.tools.stix2_to_misp_helpers import is_stix2_from_misp

    content = {
        "type": "bundle",
        "id": bundle_id,
        "objects": [*objects, *_definitions_for(objects)],
    }
    from_misp = is_stix2_from_misp(content["objects"])
    with _listening() as heard:
        try:
            invalid: dict[str, Any] = {}
            bundle = load_stix2_content(content, invalid)
            parser: Any = InternalSTIX2toMISPParser() if from_misp else ExternalSTIX2toMISPParser()
            parser.load_stix_bundle(bundle, invalid_objects=invalid)
            parser.parse_stix_bundle(distribution=distribution, single_event=False)
        except Exception as error:
            raise MispError(f"misp-stix could not convert the objects: {error}") from None
    problems = [*heard.messages, *_parser_errors(parser)]
    problems.extend(f"{key}: not loaded by misp-stix" for key in invalid)
    made = parser.misp_events
    return (made if isinstance(made, list) else [made]), problems


def _finished(
    event: Any,
    organisation: Organisation,
    container: Mapping[str, Any] | None,
    objects: Sequence[Mapping[str, Any]],
    distribution: int,
) -> dict[str, Any]:
    """A misp-stix event with its ``Orgc``, distribution, Diapason's tags and dates, as
    MISP JSON."""
    from pymisp import MISPOrganisation

    orgc = MISPOrganisation()
    orgc.from_dict(name=organisation.name, uuid=organisation.uuid)
    event.Orgc = orgc
    event.distribution = distribution
    for tag in _diapason_tags(container):
        event.add_tag(tag)
    _settle_dates(event, container, objects)
    # The timestamps misp-stix gave (the objects' modified), not the time of writing: a
    # MISP pulling a feed sees an event as changed only when it changed.
    for element in [event, *event.attributes, *event.objects]:
        element.force_timestamp = True
    return {"Event": orjson.loads(event.to_json())}


def _complete(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What misp-stix can convert of ``objects`` when some of what they refer to is not
    among them (a feed holds what was released, and observables are not, having no
    author): observed-data missing one of its observables is left out (its indicator
    carries the values), so are relationships missing an end, and reports and groupings
    refer only to what is there."""
    present = {str(obj.get("id")) for obj in objects}
    kept = [
        obj
        for obj in objects
        if obj.get("type") != "observed-data"
        or all(ref in present for ref in obj.get("object_refs") or [])
    ]
    present = {str(obj.get("id")) for obj in kept}
    complete = []
    for obj in kept:
        if obj.get("type") in ("relationship", "sighting") and any(
            isinstance(obj.get(key), str) and obj[key] not in present for key in _RELATIONSHIP_ENDS
        ):
            continue
        if obj.get("type") in ("report", "grouping", "note", "opinion"):
            obj = {**obj, "object_refs": [r for r in obj.get("object_refs") or [] if r in present]}
        complete.append(obj)
    return complete


def _diapason_tags(container: Mapping[str, Any] | None) -> list[str]:
    """The tags of Diapason markings (PAP) of the report or grouping an event is made of."""
    if container is None:
        return []
    return [
        _PAP_TAGS[ref] for ref in container.get("object_marking_refs") or [] if ref in _PAP_TAGS
    ]


def _settle_dates(
    event: Any, container: Mapping[str, Any] | None, objects: Sequence[Mapping[str, Any]]
) -> None:
    """The event's timestamp and date from the objects, never the time of conversion: its
    report's (or grouping's) ``modified`` and ``published``, else the newest object's."""
    if container is not None:
        stamp = str(container.get("modified") or container.get("created"))
        day = str(container.get("published") or stamp)[:10]
    else:
        stamp = max(str(obj.get("modified") or obj.get("created") or "") for obj in objects)
        day = stamp[:10]
    if stamp:
        event.timestamp = parse_timestamp(stamp)
    if day:
        event.date = date.fromisoformat(day)


def feed_bundle_name(node_identity: str, partner: str) -> str:
    """The name that makes a feed's event uuids stable for one partner."""
    return f"feed:{node_identity}:{partner_key(partner)}"


def to_feed(event: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """An event as a MISP feed holds it (PyMISP's ``to_feed``): the event file's JSON, its
    manifest entry and the md5 hashes of its values (``hashes.csv``)."""
    from pymisp import MISPEvent

    misp_event = MISPEvent()
    misp_event.from_dict(**event)
    feed = misp_event.to_feed(with_meta=True)
    hashes = feed["Event"].pop("_hashes", [])
    manifest = feed["Event"].pop("_manifest", {})
    return feed, manifest, list(hashes)

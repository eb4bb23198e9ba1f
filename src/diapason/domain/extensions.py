"""Diapason's own STIX extension-definitions and marking-definitions, shipped with every node.

STIX 2.1 extends objects through ``extension-definition`` objects: an object carries
``extensions: {"extension-definition--<id>": {"extension_type": "property-extension", ...}}``
and any STIX tool can carry it, even one that does not understand it. Diapason defines three
property extensions:

- **marking** (on ``marking-definition`` objects): Europol handling codes H0-H3,
  releasability (``REL TO``) and PAP, in the same way the OASIS TLP 2.0 extension
  expresses TLP (a marking-definition with an ``extensions`` entry and no
  ``definition_type``);
- **grading** (on any object): source reliability and information credibility, Admiralty or
  Europol 4x4, and the OSINT flag;
- **data protection** (on objects about persons): category of data subject, fact or
  assessment, legal basis, purpose, review-by date.

Every id here is a UUIDv5 of a fixed namespace, so every node computes the same ones and
two nodes recognise each other's markings without exchanging anything first. (STIX 2.1 says
meta objects SHOULD use UUIDv4; the validator warns ``{103}``. Deterministic ids are the
point here, so we accept that warning; nothing else is reported.)

Everything returned is a fresh ``dict``: callers may change what they get without changing
what the next caller gets.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from diapason.domain import coordination
from diapason.domain.events import PLOVER_TYPES

# Fixed for ever: every id below derives from it. Changing it would make this node's
# markings unknown to every other node.
NAMESPACE = uuid.UUID("b9729abd-e870-43de-bd53-76fdd55da06a")

# The creation time of everything Diapason ships (fixed, so the objects never change).
SHIPPED_CREATED = "2024-05-01T00:00:00.000Z"
EXTENSION_VERSION = "1.0.0"


def diapason_id(stix_type: str, name: str) -> str:
    """The deterministic STIX id Diapason gives the object ``name`` of type ``stix_type``."""
    return f"{stix_type}--{uuid.uuid5(NAMESPACE, f'{stix_type}:{name}')}"


DIAPASON_IDENTITY_ID = diapason_id("identity", "diapason")
MARKING_EXTENSION_ID = diapason_id("extension-definition", "marking")
GRADING_EXTENSION_ID = diapason_id("extension-definition", "grading")
PROTECTION_EXTENSION_ID = diapason_id("extension-definition", "data-protection")
RECEIPT_EXTENSION_ID = diapason_id("extension-definition", "receipt")
ALERT_EXTENSION_ID = diapason_id("extension-definition", "alert")
# The joint mechanism's objects (see domain/coordination.py): one new SDO each.
COORDINATION_EXTENSION_IDS: Mapping[str, str] = {
    stix_type: diapason_id("extension-definition", stix_type.removeprefix("x-diapason-"))
    for stix_type in coordination.ITEM_TYPES
}
EVENT_EXTENSION_ID = diapason_id("extension-definition", "event")

# The OASIS TLP 2.0 extension (oasis-open/cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0).
TLP_2_0_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

HANDLING_CODES: tuple[str, ...] = ("H0", "H1", "H2", "H3")
PAP_LEVELS: tuple[str, ...] = ("clear", "green", "amber", "red")

HANDLING_NAMES: Mapping[str, str] = {
    "H0": "H0: use only to prevent and combat crime",
    "H1": "H1: not to be disclosed in judicial proceedings without the provider's permission",
    "H2": "H2: not to be disseminated without the provider's permission",
    "H3": "H3: other restrictions, in free text",
}

# H3 has no fixed marking: each free text is its own marking-definition, made at run time.
FIXED_HANDLING_IDS: Mapping[str, str] = {
    code: diapason_id("marking-definition", f"handling:{code}") for code in ("H0", "H1", "H2")
}
PAP_IDS: Mapping[str, str] = {
    level: diapason_id("marking-definition", f"pap:{level}") for level in PAP_LEVELS
}

_JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
_PROPERTY_EXTENSION = {"const": "property-extension"}
# Some text: at least one character that is not a space.
_TEXT = {"type": "string", "pattern": "\\S"}

_MARKING_SCHEMA: dict[str, Any] = {
    "$schema": _JSON_SCHEMA,
    "title": "Diapason marking: a property extension of marking-definition",
    "description": (
        "Exactly one of handling_code (Europol handling code; H3 needs handling_text), "
        "releasable_to (partner names: the marked content may go only to these partners) "
        "or pap (Permissible Actions Protocol level)."
    ),
    "type": "object",
    "properties": {
        "extension_type": _PROPERTY_EXTENSION,
        "handling_code": {"enum": list(HANDLING_CODES)},
        "handling_text": _TEXT,
        "releasable_to": {"type": "array", "items": _TEXT, "minItems": 1, "uniqueItems": True},
        "pap": {"enum": list(PAP_LEVELS)},
    },
    "required": ["extension_type"],
    "additionalProperties": False,
    "oneOf": [
        {"required": ["handling_code"]},
        {"required": ["releasable_to"]},
        {"required": ["pap"]},
    ],
    "if": {"properties": {"handling_code": {"const": "H3"}}, "required": ["handling_code"]},
    "then": {"required": ["handling_text"]},
    "else": {"not": {"required": ["handling_text"]}},
}

_GRADING_SCHEMA: dict[str, Any] = {
    "$schema": _JSON_SCHEMA,
    "title": "Diapason grading: a property extension of any STIX object",
    "description": (
        "How far to trust the object: source reliability and information credibility, "
        "assessed independently, on the Admiralty (NATO) scale (A-F / 1-6) or Europol's "
        "4x4 (A, B, C, X / 1-4). osint: true marks open-source material, which may be "
        "released ungraded."
    ),
    "type": "object",
    "properties": {
        "extension_type": _PROPERTY_EXTENSION,
        "scheme": {"enum": ["admiralty", "europol-4x4"]},
        "source_reliability": {"type": "string"},
        "information_credibility": {"type": "string"},
        "osint": {"type": "boolean"},
    },
    "required": ["extension_type"],
    "additionalProperties": False,
    "dependentRequired": {
        "scheme": ["source_reliability", "information_credibility"],
        "source_reliability": ["scheme"],
        "information_credibility": ["scheme"],
    },
    "anyOf": [
        {"required": ["scheme"]},
        {"properties": {"osint": {"const": True}}, "required": ["osint"]},
    ],
    "allOf": [
        {
            "if": {"properties": {"scheme": {"const": "admiralty"}}, "required": ["scheme"]},
            "then": {
                "properties": {
                    "source_reliability": {"enum": ["A", "B", "C", "D", "E", "F"]},
                    "information_credibility": {"enum": ["1", "2", "3", "4", "5", "6"]},
                }
            },
        },
        {
            "if": {"properties": {"scheme": {"const": "europol-4x4"}}, "required": ["scheme"]},
            "then": {
                "properties": {
                    "source_reliability": {"enum": ["A", "B", "C", "X"]},
                    "information_credibility": {"enum": ["1", "2", "3", "4"]},
                }
            },
        },
    ],
}

_PROTECTION_SCHEMA: dict[str, Any] = {
    "$schema": _JSON_SCHEMA,
    "title": "Diapason data protection: a property extension of objects about persons",
    "description": (
        "Directive (EU) 2016/680 and Moroccan law 09-08: category of data subject (Art. 6), "
        "fact or personal assessment (Art. 7), legal basis and purpose of the processing, "
        "and the date by which the need to keep the record must be reviewed (Art. 5). "
        "Past review_by, the record is withheld from release."
    ),
    "type": "object",
    "properties": {
        "extension_type": _PROPERTY_EXTENSION,
        "data_subject_category": {
            "enum": ["suspect", "convicted", "victim", "witness", "contact", "other"]
        },
        "nature": {"enum": ["fact", "assessment"]},
        "legal_basis": _TEXT,
        "purpose": _TEXT,
        "review_by": {
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        },
    },
    "required": ["extension_type", "data_subject_category", "review_by"],
    "additionalProperties": False,
}


def _schema_text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


_IDENTITY: dict[str, Any] = {
    "type": "identity",
    "spec_version": "2.1",
    "id": DIAPASON_IDENTITY_ID,
    "created": SHIPPED_CREATED,
    "modified": SHIPPED_CREATED,
    "name": "Diapason",
    "description": (
        "The Diapason software, author of the extension-definitions and marking-definitions "
        "every Diapason node ships."
    ),
    "identity_class": "system",
}


def _extension_definition(
    extension_id: str,
    name: str,
    description: str,
    schema: Mapping[str, Any],
    extension_types: tuple[str, ...] = ("property-extension",),
) -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": extension_id,
        "created_by_ref": DIAPASON_IDENTITY_ID,
        "created": SHIPPED_CREATED,
        "modified": SHIPPED_CREATED,
        "name": name,
        "description": description,
        "schema": _schema_text(schema),
        "version": EXTENSION_VERSION,
        "extension_types": list(extension_types),
    }


# x-diapason-receipt: what a receiving node stored, acknowledged to the sending node.
_RECEIPT_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "x-diapason-receipt",
    "type": "object",
    "required": ["receiver", "received"],
    "properties": {
        "receiver": {"type": "string", "description": "the receiving node's name"},
        "received": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "version", "stored"],
                "properties": {
                    "id": {"type": "string"},
                    "version": {"type": "string"},
                    "stored": {"type": "string", "description": "when it was stored"},
                },
            },
        },
    },
}

# x-diapason-alert: an early warning from the anticipate package, one per episode.
_PERIOD = {"type": "string", "pattern": "^[0-9]{4}-(W[0-9]{2}|[0-9]{2})$"}
_COUNT = {"type": "number", "minimum": 0}
_ALERT_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "x-diapason-alert",
    "description": (
        "An early warning on a count series (events per period for a place and category): "
        "observed counts in the upper tail of their forecast, or a change point, over one "
        "episode of consecutive periods. The id derives from the series and the episode's "
        "first period, so finding the episode again updates the alert instead of adding one."
    ),
    "type": "object",
    "required": [
        "name",
        "series",
        "frequency",
        "alert_kinds",
        "period_start",
        "period_end",
        "peak_period",
        "observed",
        "expected_mean",
        "expected_low",
        "expected_high",
        "probability",
    ],
    "properties": {
        "name": _TEXT,
        "description": {"type": "string"},
        "series": {**_TEXT, "description": "the series: place and category"},
        "frequency": {"enum": ["month", "week"]},
        "alert_kinds": {
            "type": "array",
            "items": {"enum": ["upper-tail", "change-point"]},
            "minItems": 1,
            "uniqueItems": True,
        },
        "period_start": _PERIOD,
        "period_end": _PERIOD,
        "peak_period": {**_PERIOD, "description": "the most surprising period of the episode"},
        "observed": {**_COUNT, "description": "the count observed in the peak period"},
        "expected_mean": {**_COUNT, "description": "the forecast mean for the peak period"},
        "expected_low": {**_COUNT, "description": "5% quantile of the forecast"},
        "expected_high": {**_COUNT, "description": "95% quantile of the forecast"},
        "probability": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "forecast probability of a count at least as high as observed",
        },
    },
}
# x-diapason-event: an event coded from open sources (PLOVER types and modes).
_EVENT_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "x-diapason-event",
    "description": (
        "An event reported by a source, coded with the PLOVER 2.0 event types and modes "
        "(openeventdata/PLOVER): who did what to whom, when and where."
    ),
    "type": "object",
    "required": ["name", "plover_type"],
    "properties": {
        "name": _TEXT,
        "plover_type": {
            "enum": list(PLOVER_TYPES)
        },
        "plover_mode": {"type": "string", "description": "a mode of the type, PLOVER manual"},
        "event_date": {
            "type": "string",
            "format": "date",
            "description": "when it happened; absent when neither the text nor the "
            "publication date tells",
        },
        "summary": {"type": "string", "description": "the sentence that reports the event"},
        "location_ref": {"type": "string", "description": "a location id"},
        "actor_refs": {"type": "array", "items": {"type": "string"}},
        "target_refs": {"type": "array", "items": {"type": "string"}},
        "topics": {"type": "array", "items": {"type": "string"}},
    },
}  # fmt: skip

_EXTENSION_DEFINITIONS: tuple[dict[str, Any], ...] = (
    _extension_definition(
        MARKING_EXTENSION_ID,
        "Diapason marking",
        "Handling codes (Europol H0-H3), releasability (REL TO) and PAP as marking-definitions.",
        _MARKING_SCHEMA,
    ),
    _extension_definition(
        GRADING_EXTENSION_ID,
        "Diapason grading",
        "Source reliability and information credibility (Admiralty or Europol 4x4); OSINT flag.",
        _GRADING_SCHEMA,
    ),
    _extension_definition(
        PROTECTION_EXTENSION_ID,
        "Diapason data protection",
        "Data-protection metadata of records about persons (Directive 2016/680, law 09-08).",
        _PROTECTION_SCHEMA,
    ),
    _extension_definition(
        RECEIPT_EXTENSION_ID,
        "Diapason receipt",
        "x-diapason-receipt: the object versions a partner node stored, acknowledged to the "
        "node that released them.",
        _RECEIPT_SCHEMA,
        ("new-sdo",),
    ),
    _extension_definition(
        ALERT_EXTENSION_ID,
        "Diapason alert",
        "x-diapason-alert: an early warning on a count series (series, expected range, "
        "observed count, probability, period), one per episode.",
        _ALERT_SCHEMA,
        ("new-sdo",),
    ),
    *(
        _extension_definition(
            COORDINATION_EXTENSION_IDS[stix_type],
            f"Diapason {stix_type.removeprefix('x-diapason-').replace('-', ' ')}",
            f"{stix_type}: {coordination.DESCRIPTIONS[stix_type]}",
            coordination.SCHEMAS[stix_type],
            ("new-sdo",),
        )
        for stix_type in coordination.ITEM_TYPES
    ),
    _extension_definition(
        EVENT_EXTENSION_ID,
        "Diapason event",
        "x-diapason-event: an event reported by open sources, coded with PLOVER types and "
        "modes, with its actors, targets, date and place.",
        _EVENT_SCHEMA,
        ("new-sdo",),
    ),
)


def diapason_marking_definition(
    marking_id: str, name: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """A marking-definition carrying the Diapason marking extension with ``payload``.

    ``payload`` holds the extension's own properties (``handling_code``, ``pap``, …);
    ``extension_type`` is added here.
    """
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created_by_ref": DIAPASON_IDENTITY_ID,
        "created": SHIPPED_CREATED,
        "name": name,
        "extensions": {
            MARKING_EXTENSION_ID: {"extension_type": "property-extension", **payload},
        },
    }


_FIXED_MARKINGS: tuple[dict[str, Any], ...] = (
    *(
        diapason_marking_definition(marking_id, HANDLING_NAMES[code], {"handling_code": code})
        for code, marking_id in FIXED_HANDLING_IDS.items()
    ),
    *(
        diapason_marking_definition(marking_id, f"PAP:{level.upper()}", {"pap": level})
        for level, marking_id in PAP_IDS.items()
    ),
)

# The OASIS TLP 2.0 marking-definitions, as published (created 2022-10-01, no created_by_ref).
TLP_2_0_IDS: Mapping[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# The TLP 1.0 marking-definitions predefined by STIX 2.1 (section 7.2.1.4).
TLP_1_0_IDS: Mapping[str, str] = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}

_TLP_2_0_MARKINGS: tuple[dict[str, Any], ...] = tuple(
    {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.upper()}",
        "extensions": {
            TLP_2_0_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level},
        },
    }
    for level, marking_id in TLP_2_0_IDS.items()
)
_TLP_1_0_MARKINGS: tuple[dict[str, Any], ...] = tuple(
    {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": marking_id,
        "created": "2017-01-20T00:00:00.000Z",
        "name": f"TLP:{level.upper()}",
        "definition_type": "tlp",
        "definition": {"tlp": level},
    }
    for level, marking_id in TLP_1_0_IDS.items()
)


def diapason_identity() -> dict[str, Any]:
    """The identity of the Diapason software, ``created_by_ref`` of what Diapason ships."""
    return copy.deepcopy(_IDENTITY)


def extension_definitions() -> list[dict[str, Any]]:
    """Diapason's extension-definitions: marking, grading, data protection (property
    extensions), receipt, alert, event and the joint mechanism's objects (new SDOs)."""
    return copy.deepcopy(list(_EXTENSION_DEFINITIONS))


def fixed_marking_definitions() -> list[dict[str, Any]]:
    """Diapason's fixed marking-definitions: handling codes H0, H1, H2 and PAP levels."""
    return copy.deepcopy(list(_FIXED_MARKINGS))


def tlp_marking_definitions() -> list[dict[str, Any]]:
    """The TLP marking-definitions: the OASIS TLP 2.0 ones, then the STIX 2.1 TLP 1.0 ones."""
    return copy.deepcopy([*_TLP_2_0_MARKINGS, *_TLP_1_0_MARKINGS])


def shipped_objects() -> list[dict[str, Any]]:
    """Every STIX object a node ships: identity, extension- and marking-definitions."""
    return [
        diapason_identity(),
        *extension_definitions(),
        *fixed_marking_definitions(),
        *tlp_marking_definitions(),
    ]


SHIPPED_IDS: frozenset[str] = frozenset(
    obj["id"]
    for obj in (
        _IDENTITY,
        *_EXTENSION_DEFINITIONS,
        *_FIXED_MARKINGS,
        *_TLP_2_0_MARKINGS,
        *_TLP_1_0_MARKINGS,
    )
)


def canonical(obj: Mapping[str, Any]) -> str:
    """An object's canonical JSON (sorted keys): how the store holds it."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


# What every node ships, as the store holds it, by id: nothing received or imported may
# replace it (domain/trust.py).
SHIPPED_CONTENT: Mapping[str, str] = {obj["id"]: canonical(obj) for obj in shipped_objects()}


def extension_schema(extension_id: str) -> dict[str, Any]:
    """The JSON Schema of one of Diapason's extensions (what its ``schema`` property holds)."""
    schemas = {
        MARKING_EXTENSION_ID: _MARKING_SCHEMA,
        GRADING_EXTENSION_ID: _GRADING_SCHEMA,
        PROTECTION_EXTENSION_ID: _PROTECTION_SCHEMA,
        RECEIPT_EXTENSION_ID: _RECEIPT_SCHEMA,
        ALERT_EXTENSION_ID: _ALERT_SCHEMA,
        **{
            COORDINATION_EXTENSION_IDS[stix_type]: coordination.SCHEMAS[stix_type]
            for stix_type in coordination.ITEM_TYPES
        },
        EVENT_EXTENSION_ID: _EVENT_SCHEMA,
    }
    if extension_id not in schemas:
        raise KeyError(f"{extension_id} is not one of Diapason's extension-definitions")
    return copy.deepcopy(dict(schemas[extension_id]))

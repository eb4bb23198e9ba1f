"""The STIX 2.1 property rules: what every object passes on the way in, after ``prepare``'s
own checks of ``type``, ``id``, ``spec_version``, ``created``, ``modified``, ``revoked``,
``created_by_ref`` and of every reference (``_links`` in :mod:`diapason.domain.stix`).

A declarative table says, for each type STIX 2.1 defines, which properties it requires and
what rule each property's value follows (:mod:`diapason.domain.property_rules`);
:func:`check_object` applies it. Anything the table does not name (custom object types
such as ``x-diapason-*``, custom properties) is left as STIX leaves it, save the rules STIX
sets for every property: no null anywhere, no empty list, a well-formed name.

The rules come from the STIX 2.1 specification as its OASIS tools read it: the JSON schemas
bundled with ``stix2-validator`` (``schemas-2.1``), its ``musts``, and the property
definitions of the ``stix2`` library (``stix2/v21``). Where they differ the stricter holds:
``prepare`` refuses whatever the validator refuses.

Every failure raises ``StixError("path", "why")``, the path naming the property, nested ones
included (``external_references[2].source_name``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from diapason.domain.property_rules import (
    CHECKED,
    ENCODED,
    STRINGS,
    TEXT,
    Rule,
    boolean,
    check_name,
    choice,
    contents,
    custom,
    extension_types,
    extensions,
    external_reference,
    granular_marking,
    integer,
    json_object,
    kill_chain_phase,
    language_tag,
    list_of,
    missing,
    number,
    observed_objects,
    reference_not_to,
    reference_to,
    relationship_type,
    required_name,
    strings,
    timestamp,
    wrong,
)
from diapason.domain.stix import SCO_TYPES, StixError
from diapason.domain.timestamps import as_store_timestamp

# Type names STIX 2.1 reserves: no object may have them.
RESERVED_TYPES = frozenset({"action"})
OPINIONS = ("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")
# The four TLP 1.0 marking-definitions STIX 2.1 predefines (section 7.2.1.4): the only ones
# with definition_type "tlp", and they must be exactly these.
TLP_1_0 = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "white",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
_TLP_1_0_PROPERTIES = frozenset(
    {"type", "spec_version", "id", "created", "name", "definition_type", "definition"}
)


# -- rules over several properties of one object --------------------------------------------


# (later, earlier, strictly): ``later`` may not be before ``earlier`` (strictly: nor equal
# to it) when both are there (the validator's TIMESTAMP_COMPARE).
Order = tuple[str, str, bool]
_SEEN: tuple[Order, ...] = (("last_seen", "first_seen", False),)


def _location(obj: dict[str, Any]) -> None:
    has_latitude, has_longitude = "latitude" in obj, "longitude" in obj
    if has_latitude != has_longitude:
        present, absent = ("latitude", "longitude") if has_latitude else ("longitude", "latitude")
        raise StixError(absent, f"required when {present} is present")
    if "precision" in obj and not has_latitude:
        raise StixError("precision", "only with latitude and longitude")
    if not (has_latitude or "region" in obj or "country" in obj):
        raise StixError("region", "a location needs region, country, or latitude and longitude")


def _malware(obj: dict[str, Any]) -> None:
    if obj["is_family"] is True and "name" not in obj:
        raise StixError("name", "required when is_family is true")


def _malware_analysis(obj: dict[str, Any]) -> None:
    if "result" not in obj and "analysis_sco_refs" not in obj:
        raise StixError("result", "a malware-analysis needs result or analysis_sco_refs")


def _observed_data(obj: dict[str, Any]) -> None:
    if ("objects" in obj) == ("object_refs" in obj):
        raise StixError("object_refs", "observed-data needs exactly one of object_refs and objects")


def _marking_definition(obj: dict[str, Any]) -> None:
    own = obj["id"]
    if own in obj.get("object_marking_refs", ()):
        raise StixError("object_marking_refs", "a marking-definition may not mark itself")
    for position, marking in enumerate(obj.get("granular_markings", ())):
        if marking.get("marking_ref") == own:
            raise StixError(
                f"granular_markings[{position}].marking_ref",
                "a marking-definition may not mark itself",
            )
    kind = obj.get("definition_type")
    if "extensions" not in obj:
        if kind is None:
            raise StixError("definition_type", "required when there are no extensions")
        if "definition" not in obj:
            raise StixError("definition", "required when there are no extensions")
    if kind == "statement":
        definition = obj.get("definition")
        if definition is None:
            raise missing("definition")
        if "statement" not in definition:
            raise missing("definition.statement")
        if not isinstance(definition["statement"], str):
            raise wrong("definition.statement", "a string", definition["statement"])
    elif kind == "tlp":
        level = TLP_1_0.get(own)
        if level is None:
            raise StixError(
                "definition_type", "'tlp' is only for the four TLP 1.0 markings of STIX"
            )
        if (
            obj.get("name") != f"TLP:{level.upper()}"
            or obj.get("definition") != {"tlp": level}
            or obj.get("created") != "2017-01-20T00:00:00.000Z"
            or not obj.keys() <= _TLP_1_0_PROPERTIES
        ):
            raise StixError("definition", f"not the TLP:{level.upper()} marking STIX defines")


def _extension_definition(obj: dict[str, Any]) -> None:
    if "extension_properties" in obj and "toplevel-property-extension" not in obj.get(
        "extension_types", ()
    ):
        raise StixError(
            "extension_properties", "only for a toplevel-property-extension (extension_types)"
        )


# -- the table --------------------------------------------------------------------------------


# What check_object does to objects of one type with one list of property names (a
# shape): fetch the string properties (None if there are none) to test them, call the
# other rules, compare the timestamps that are there to compare.
Plan = tuple[
    Callable[[dict[str, Any]], Iterable[Any]] | None,
    tuple[tuple[str, Rule], ...],
    tuple[Order, ...],
]
# The plans of the shapes met so far, by type and shape: one per batch (``Memo.plans``
# in :mod:`diapason.domain.stix`). An import has a few shapes per type: the names and the
# required properties are checked once per shape, and the properties prepare checked
# itself are not looked at again. Bounded: cleared when full.
Plans = dict[tuple[str, tuple[str, ...]], Plan]
_PLANS_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class TypeRules:
    """What STIX 2.1 says of the properties of one object type."""

    properties: Mapping[str, Rule]  # property -> the rule of its value
    required: tuple[str, ...]  # beyond type, id, spec_version, created, modified
    constraints: Callable[[dict[str, Any]], None] | None  # over several properties
    order: tuple[Order, ...]  # timestamps in order

    def plan(self, obj: dict[str, Any], shape: tuple[str, ...]) -> Plan:
        """The plan of ``obj``'s shape, raising StixError if a required property is
        missing or a name is not a property name."""
        for key in self.required:
            if key not in obj:
                raise missing(key)
        texts: list[str] = []
        calls: list[tuple[str, Rule]] = []
        for key in shape:
            rule = self.properties.get(key)
            if rule is None:
                check_name(key, "")
                calls.append((key, ENCODED.get(key[-4:], custom)))
            elif rule is TEXT:
                texts.append(key)
            elif rule is not CHECKED:
                calls.append((key, rule))
        # The first key twice: itemgetter of one key gives the value, of several a tuple.
        fetch = operator.itemgetter(*texts, texts[0]) if texts else None
        orders = tuple(pair for pair in self.order if pair[0] in obj and pair[1] in obj)
        return (fetch, tuple(calls), orders)


# What every object has, checked by ``prepare`` itself (object_refs: as every reference).
_PREPARED = dict.fromkeys(
    (
        "type", "id", "spec_version", "created", "modified", "revoked", "created_by_ref",
        "object_marking_refs", "object_refs",
    ),
    CHECKED,
)  # fmt: skip
# The common properties of meta objects, of every STIX Domain and Relationship Object and
# of cyber-observables.
_META: dict[str, Rule] = {
    **_PREPARED,
    "external_references": list_of(external_reference, "external references"),
    "granular_markings": list_of(granular_marking, "granular markings"),
    "extensions": extensions,
}
_CORE: dict[str, Rule] = {
    **_META,
    "labels": strings,
    "confidence": integer(0, 100),
    "lang": language_tag,
}
_OBSERVABLE: dict[str, Rule] = {**_META, "defanged": boolean}
_KILL_CHAIN_PHASES = list_of(kill_chain_phase, "kill chain phases")
_RELATIONSHIP_END = reference_not_to(
    "relationship", "sighting", "bundle", "marking-definition", "language-content"
)
_SDO_TYPES = (
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
    "indicator", "infrastructure", "intrusion-set", "location", "malware-analysis", "malware",
    "note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
)  # fmt: skip


def _rules(
    required: str,
    text: str = "",
    texts: str = "",
    stamps: str = "",
    constraints: Callable[[dict[str, Any]], None] | None = None,
    order: tuple[Order, ...] = (),
    common: Mapping[str, Rule] = _CORE,
    **others: Rule,
) -> TypeRules:
    """One type's rules: its required properties; its string, list-of-strings and
    timestamp properties (names separated by spaces); its other properties with their
    rules. A required ``name`` must not be empty."""
    properties = {
        **common,
        **dict.fromkeys(text.split(), TEXT),
        **dict.fromkeys(texts.split(), strings),
        **dict.fromkeys(stamps.split(), timestamp),
        **others,
    }
    if "name" in required.split():
        properties["name"] = required_name
    return TypeRules(properties, tuple(required.split()), constraints, order)


TYPES: Mapping[str, TypeRules] = {
    "attack-pattern": _rules(
        "name", "name description", "aliases", kill_chain_phases=_KILL_CHAIN_PHASES
    ),
    "campaign": _rules(
        "name", "name description objective", "aliases", "first_seen last_seen", order=_SEEN
    ),
    "course-of-action": _rules("name", "name description"),
    "grouping": _rules("context object_refs", "name description context"),
    "identity": _rules(
        "name", "name description identity_class contact_information", "roles sectors"
    ),
    "incident": _rules("name", "name description", kill_chain_phases=_KILL_CHAIN_PHASES),
    "indicator": _rules(
        "pattern pattern_type valid_from",
        "name description pattern pattern_type pattern_version",
        "indicator_types",
        "valid_from valid_until",
        order=(("valid_until", "valid_from", True),),
        kill_chain_phases=_KILL_CHAIN_PHASES,
    ),
    "infrastructure": _rules(
        "name",
        "name description",
        "infrastructure_types aliases",
        "first_seen last_seen",
        order=_SEEN,
        kill_chain_phases=_KILL_CHAIN_PHASES,
    ),
    "intrusion-set": _rules(
        "name",
        "name description resource_level primary_motivation",
        "aliases goals secondary_motivations",
        "first_seen last_seen",
        order=_SEEN,
    ),
    "location": _rules(
        "",
        "name description region country administrative_area city street_address postal_code",
        constraints=_location,
        latitude=number(-90.0, 90.0),
        longitude=number(-180.0, 180.0),
        precision=number(0.0, None),
    ),
    "malware": _rules(
        "is_family",
        "name description",
        "malware_types aliases architecture_execution_envs implementation_languages capabilities",
        "first_seen last_seen",
        _malware,
        _SEEN,
        is_family=boolean,
        kill_chain_phases=_KILL_CHAIN_PHASES,
        operating_system_refs=reference_to("software"),
        sample_refs=reference_to("artifact", "file"),
    ),
    "malware-analysis": _rules(
        "product",
        "product version configuration_version analysis_engine_version "
        "analysis_definition_version result_name result",
        "modules",
        "submitted analysis_started analysis_ended",
        _malware_analysis,
        host_vm_ref=reference_to("software"),
        operating_system_ref=reference_to("software"),
        installed_software_refs=reference_to("software"),
        sample_ref=reference_to("artifact", "file", "network-traffic"),
    ),
    "note": _rules("content object_refs", "abstract content", "authors"),
    "observed-data": _rules(
        "first_observed last_observed number_observed",
        stamps="first_observed last_observed",
        constraints=_observed_data,
        order=(("last_observed", "first_observed", False),),
        number_observed=integer(1, 999_999_999),
        objects=observed_objects,
        object_refs=reference_not_to(*_SDO_TYPES),
    ),
    "opinion": _rules("opinion object_refs", "explanation", "authors", opinion=choice(OPINIONS)),
    "report": _rules("name published object_refs", "name description", "report_types", "published"),
    "threat-actor": _rules(
        "name",
        "name description sophistication resource_level primary_motivation",
        "threat_actor_types aliases roles goals secondary_motivations personal_motivations",
        "first_seen last_seen",
        order=_SEEN,
    ),
    "tool": _rules(
        "name",
        "name description tool_version",
        "tool_types aliases",
        kill_chain_phases=_KILL_CHAIN_PHASES,
    ),
    "vulnerability": _rules("name", "name description"),
    "relationship": _rules(
        "relationship_type source_ref target_ref",
        "description",
        stamps="start_time stop_time",
        order=(("stop_time", "start_time", True),),
        relationship_type=relationship_type,
        source_ref=_RELATIONSHIP_END,
        target_ref=_RELATIONSHIP_END,
    ),
    "sighting": _rules(
        "sighting_of_ref",
        "description",
        stamps="first_seen last_seen",
        order=_SEEN,
        count=integer(0, 999_999_999),
        sighting_of_ref=_RELATIONSHIP_END,
        observed_data_refs=reference_to("observed-data"),
        where_sighted_refs=reference_to("identity", "location"),
        summary=boolean,
    ),
    "language-content": _rules(
        "object_ref contents",
        stamps="object_modified",
        object_ref=reference_not_to("bundle", "language-content"),
        contents=contents,
    ),
    "marking-definition": _rules(
        "",
        "name definition_type",
        constraints=_marking_definition,
        common=_META,
        definition=json_object,
    ),
    "extension-definition": _rules(
        "created_by_ref name schema version extension_types",
        "name description schema version",
        "extension_properties",
        constraints=_extension_definition,
        extension_types=extension_types,
    ),
}
# Custom object types (``x-…``) have the common properties only; so have cyber-observables,
# whose own properties are not checked here.
CUSTOM = TypeRules(_CORE, (), None, ())
OBSERVABLE = TypeRules(_OBSERVABLE, (), None, ())


# -- the whole object -------------------------------------------------------------------------


def _resolve_selector(obj: dict[str, Any], selector: str) -> str | None:
    """Why ``selector`` selects nothing in ``obj``, or None when it selects something."""
    here: Any = obj
    for segment in selector.split("."):
        if segment[0] == "[":
            position = int(segment[1:-1])
            if not isinstance(here, list):
                return f"{segment} follows something that is not a list"
            if position >= len(here):
                return f"{segment} is past the end of the list"
            here = here[position]
        elif isinstance(here, dict) and segment in here:
            here = here[segment]
        else:
            return f"there is no property {segment!r} there"
    return None


def check_object(obj: dict[str, Any], stix_type: str, plans: Plans) -> None:
    """Check ``obj`` (of type ``stix_type``) against the STIX 2.1 property rules; raise
    ``StixError("path", "why")`` at the first it breaks. ``plans``: the batch's plans so far,
    which this adds to.

    ``prepare`` calls it once its own checks (type, id, versions, references) have passed.
    """
    rules = TYPES.get(stix_type)
    if rules is None:
        if stix_type in RESERVED_TYPES:
            raise StixError("type", f"{stix_type!r} is a type name STIX 2.1 reserves")
        rules = OBSERVABLE if stix_type in SCO_TYPES else CUSTOM
    shape = tuple(obj)
    plan = plans.get((stix_type, shape))
    if plan is None:
        plan = rules.plan(obj, shape)
        if len(plans) >= _PLANS_LIMIT:
            plans.clear()
        plans[stix_type, shape] = plan
    texts, calls, orders = plan
    # The string properties, all fetched and tested in C; which one is wrong is told then.
    if texts is not None and not all(map(isinstance, texts(obj), STRINGS)):
        for key in shape:
            if rules.properties.get(key) is TEXT and not isinstance(obj[key], str):
                raise wrong(key, "a string", obj[key])
    for key, rule in calls:
        rule(obj[key], key)
    if "granular_markings" in obj:
        for position, marking in enumerate(obj["granular_markings"]):
            for place, selector in enumerate(marking["selectors"]):
                why = _resolve_selector(obj, selector)
                if why is not None:
                    raise StixError(
                        f"granular_markings[{position}].selectors[{place}]",
                        f"{selector!r} selects nothing: {why}",
                    )
    for later, earlier, strictly in orders:
        end = as_store_timestamp(obj[later], later)
        start = as_store_timestamp(obj[earlier], earlier)
        if end < start or (strictly and end == start):
            relation = "later than" if strictly else "at or later than"
            raise StixError(later, f"{obj[later]} must be {relation} {earlier} {obj[earlier]}")
    if rules.constraints is not None:
        rules.constraints(obj)

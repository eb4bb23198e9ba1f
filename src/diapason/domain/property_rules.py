"""The rules of one STIX 2.1 property's value, for the table of :mod:`diapason.domain.validation`:
strings, lists of strings, timestamps, numbers, references of given types, and the common
types of STIX (external references, kill chain phases, granular markings, extensions,
dictionaries, hashes, binary and hex), with the checks STIX makes of every property
whatever its name (no null, no empty list, a well-formed name).

A rule is called with the value and its path (``external_references[2]``) and raises
``StixError("path", "why")`` when the value is wrong. Most are plain functions; a few are
made from parameters (``integer(0, 100)``, ``reference_to("software")``).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from diapason.domain.stix import StixError
from diapason.domain.timestamps import check_timestamp

# A rule checks one property's value (at ``path``) and raises StixError when it is wrong.
Rule = Callable[[Any, str], None]

# Property names (STIX 2.1, and the validator's ``properties.json``): ASCII
# lowercase letters, digits and '_', 3 to 250 of them, beginning with a letter. ``id`` is
# the one shorter name STIX defines.
PROPERTY_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,249}\Z")
# Property names STIX 2.1 reserves: no object may use them.
RESERVED_PROPERTIES = frozenset({"severity", "action", "username", "phone_numbers"})
# A selector of a granular marking (the validator's pattern).
SELECTOR_RE = re.compile(r"^(?:[a-z0-9_-]{3,249}(?:\.(?:\[\d+\]|[a-z0-9_-]{1,250}))*|id)\Z")
# Keys of ``extensions``: a predefined extension's name, or an extension-definition's id
# (RFC 4122 UUID of versions 1 to 5, as the validator's ``core.json``).
EXTENSION_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-ext\Z")
EXTENSION_ID_RE = re.compile(
    r"^extension-definition--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB]"
    r"[0-9a-fA-F]{3}-[0-9a-fA-F]{12}\Z"
)
EXTENSION_TYPES = frozenset(
    {"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}
)
# Dictionary keys.
DICTIONARY_KEY_RE = re.compile(r"^[a-zA-Z0-9_-]{1,250}\Z")
# The values of the hash algorithms of hash-algorithm-ov (the validator's hashes-type.json).
HASH_VALUE_RES: Mapping[str, re.Pattern[str]] = {
    "MD5": re.compile(r"^[a-fA-F0-9]{32}\Z"),
    "SHA-1": re.compile(r"^[a-fA-F0-9]{40}\Z"),
    "SHA-256": re.compile(r"^[a-fA-F0-9]{64}\Z"),
    "SHA-512": re.compile(r"^[a-fA-F0-9]{128}\Z"),
    "SHA3-256": re.compile(r"^[a-fA-F0-9]{64}\Z"),
    "SHA3-512": re.compile(r"^[a-fA-F0-9]{128}\Z"),
    "SSDEEP": re.compile(r"^[a-zA-Z0-9/+:.]{1,128}\Z"),
    "TLSH": re.compile(r"^[a-zA-Z0-9]{70}\Z"),
}
CVE_RE = re.compile(r"^CVE-\d{4}-(?:0\d{3}|[1-9]\d{3,})\Z", re.ASCII)
CAPEC_RE = re.compile(r"^CAPEC-\d+\Z", re.ASCII)
RELATIONSHIP_TYPE_RE = re.compile(r"^[a-z0-9-]+\Z")
# binary (base64, RFC 4648) and hex, the types of properties named …_bin and …_hex.
BASE64_RE = re.compile(
    r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)\Z"
)
HEX_RE = re.compile(r"^(?:[a-fA-F0-9]{2})+\Z")

# An absolute URI (RFC 3986 section 3), as the validator's ``url`` format "uri" wants it.
# Every '%' begins a percent-encoding ("%" and two hexadecimal digits): checked apart, so
# that each part of the pattern is a plain character class (an alternation per character
# made the pattern ten times slower).
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCHAR = rf"[{_UNRESERVED}{_SUB_DELIMS}:@%]"
URI_RE = re.compile(
    rf"^[A-Za-z][A-Za-z0-9+.\-]*:"  # scheme
    rf"(?:"
    rf"//(?:[{_UNRESERVED}{_SUB_DELIMS}:%]*@)?"  # userinfo
    rf"(?P<host>\[[^\]/?#@]*\]|[{_UNRESERVED}{_SUB_DELIMS}%]*)"  # host
    rf"(?::[0-9]*)?"  # port
    rf"(?:/{_PCHAR}*)*"  # path-abempty
    rf"|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*"  # path-rootless
    rf"|"  # path-empty
    rf")"
    rf"(?:\?[{_UNRESERVED}{_SUB_DELIMS}:@%/?]*)?"  # query
    rf"(?:\#[{_UNRESERVED}{_SUB_DELIMS}:@%/?]*)?\Z",  # fragment
)
_BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_IPV_FUTURE_RE = re.compile(rf"^v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+\Z")


def is_uri(value: str) -> bool:
    """Whether ``value`` is an absolute URI (RFC 3986 ``URI``)."""
    match = URI_RE.match(value)
    if match is None or ("%" in value and _BAD_PERCENT_RE.search(value)):
        return False
    host = match.group("host")
    if host and host[0] == "[":
        literal = host[1:-1]
        if _IPV_FUTURE_RE.match(literal):
            return True
        if "%" in literal:  # a zone id: RFC 6874, not RFC 3986
            return False
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return False
    return True


# -- messages -------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shown(path: str) -> str:
    """A path as a message may show it: escaped (on one line), at most 120 characters."""
    shown = path.encode("unicode_escape").decode("ascii")
    return shown if len(shown) <= 120 else shown[:120] + "…"


def wrong(path: str, expected: str, value: Any) -> StixError:
    if value is None:
        return _null(path)
    return StixError(path, f"expected {expected}, got {_kind(value)}")


def _null(path: str) -> StixError:
    return StixError(_shown(path), "null is not a STIX value (leave the property out)")


def missing(path: str) -> StixError:
    return StixError(path, "required property missing")


def _empty(path: str) -> StixError:
    return StixError(_shown(path), "an empty list is not allowed (leave the property out)")


# -- values anywhere ------------------------------------------------------------------------


def _find_null(value: Any, path: str) -> str | None:
    """The path of the first null in ``value`` (or of a float JSON cannot hold, which
    orjson would write as null)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return path
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, str):
                found = _find_null(item, f"{path}.{key}")
                if found is not None:
                    return found
    elif isinstance(value, list):
        for position, item in enumerate(value):
            if not isinstance(item, str):
                found = _find_null(item, f"{path}[{position}]")
                if found is not None:
                    return found
    return None


def _no_null(value: Any, path: str) -> None:
    """STIX 2.1 has no null values (nor has any schema of the validator): a property is
    there with a value, or it is not there."""
    found = _find_null(value, path)
    if found is not None:
        raise _null(found)


def check_name(name: str, where: str) -> None:
    """A property name well formed and not reserved."""
    if PROPERTY_NAME_RE.match(name) and name not in RESERVED_PROPERTIES:
        return
    shown = f"{where}.{_shown(name)}" if where else _shown(name)
    if not PROPERTY_NAME_RE.match(name):
        raise StixError(
            shown,
            "a property name is 3 to 250 ASCII lowercase letters, digits or '_', "
            "beginning with a letter",
        )
    raise StixError(shown, "a name STIX 2.1 reserves; no object may use it")


def custom(value: Any, path: str, where: str = "") -> None:
    """A property the table does not define (a custom one, or one of another type): any
    JSON value but null or an empty list. (Its name is checked apart.)"""
    if isinstance(value, list):
        if not value:
            raise _empty(f"{where}.{path}" if where else path)
        _no_null(value, f"{where}.{path}" if where else path)
    elif not isinstance(value, str):
        _no_null(value, f"{where}.{path}" if where else path)


# -- rules for one property -----------------------------------------------------------------

# str, for ever: ``all(map(isinstance, values, STRINGS))`` tests values in C.
STRINGS = itertools.repeat(str)


def _text(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise wrong(path, "a string", value)


def _checked(value: Any, path: str) -> None:
    """Checked by ``prepare`` itself: type, id, versions, references (nulls included)."""


# Two rules check_object tests by identity rather than calling them: strings (most
# properties) and what ``prepare`` checked already.
TEXT: Rule = _text
CHECKED: Rule = _checked


def required_name(value: Any, path: str) -> None:
    """A required name: a string with something in it."""
    if not isinstance(value, str):
        raise wrong(path, "a string", value)
    if not value:
        raise StixError(path, "must not be empty")


# A well-formed language tag (RFC 5646, section 2.1): language, script, region, variants,
# extensions, private use; or private use alone. Whether its subtags are registered is not
# checked (stix2-validator compares with a fixed list of 232 tags, which refuses well-formed
# tags such as fr-MA).
LANGUAGE_TAG_RE = re.compile(
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[Xx](?:-[A-Za-z0-9]{1,8})+"
)


def language_tag(value: Any, path: str) -> None:
    """``lang``: a well-formed RFC 5646 language tag (``fr``, ``ar-MA``, ``en-GB``)."""
    if not isinstance(value, str):
        raise wrong(path, "a string", value)
    if not LANGUAGE_TAG_RE.fullmatch(value):
        raise StixError(path, f"{value[:40]!r} is not an RFC 5646 language tag (fr, ar-MA, …)")


def strings(value: Any, path: str) -> None:
    """A non-empty list of strings (aliases, roles, open-vocabulary lists, …)."""
    if not isinstance(value, list):
        raise wrong(path, "a non-empty list of strings", value)
    if not value:
        raise _empty(path)
    if not all(map(isinstance, value, STRINGS)):
        for position, item in enumerate(value):
            if not isinstance(item, str):
                raise wrong(f"{path}[{position}]", "a string", item)


def boolean(value: Any, path: str) -> None:
    if value is not True and value is not False:
        raise wrong(path, "true or false", value)


timestamp: Rule = check_timestamp


def integer(low: int, high: int) -> Rule:
    def rule(value: Any, path: str) -> None:
        # bool is an int in Python, not in JSON.
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong(path, f"an integer from {low} to {high}", value)
        if not low <= value <= high:
            raise StixError(path, f"{value} is not an integer from {low} to {high}")

    return rule


def number(low: float, high: float | None) -> Rule:
    span = f"a number from {low:g} to {high:g}" if high is not None else f"a number ≥ {low:g}"

    def rule(value: Any, path: str) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise wrong(path, span, value)
        if not (math.isfinite(value) and low <= value and (high is None or value <= high)):
            raise StixError(path, f"{value!r} is not {span}")

    return rule


def choice(values: tuple[str, ...]) -> Rule:
    """One of ``values`` (a closed vocabulary)."""

    def rule(value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise wrong(path, "a string", value)
        if value not in values:
            raise StixError(path, f"{value[:80]!r} is not one of {', '.join(values)}")

    return rule


def relationship_type(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise wrong(path, "a string", value)
    if not RELATIONSHIP_TYPE_RE.match(value):
        raise StixError(path, f"{value[:80]!r} is not lowercase ASCII letters, digits and '-'")


# References: ``_links`` has already checked that every ``_ref`` holds an identifier and
# every ``_refs`` a non-empty list of them. These add the types STIX allows there.


def reference_to(*types: str) -> Rule:
    prefixes = tuple(f"{stix_type}--" for stix_type in types)
    told = " or ".join(types)

    def rule(value: Any, path: str) -> None:
        if isinstance(value, str):
            if not value.startswith(prefixes):
                raise StixError(path, f"{value!r} is not the id of a {told}")
            return
        for position, target in enumerate(value):
            if not target.startswith(prefixes):
                raise StixError(f"{path}[{position}]", f"{target!r} is not the id of a {told}")

    return rule


def reference_not_to(*types: str) -> Rule:
    prefixes = tuple(f"{stix_type}--" for stix_type in types)

    def rule(value: Any, path: str) -> None:
        if isinstance(value, str):
            if value.startswith(prefixes):
                raise StixError(path, f"may not refer to a {value.partition('--')[0]}")
            return
        for position, target in enumerate(value):
            if target.startswith(prefixes):
                kind = target.partition("--")[0]
                raise StixError(f"{path}[{position}]", f"may not refer to a {kind}")

    return rule


def binary(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise wrong(path, "a base64 string (a property named …_bin)", value)
    if not BASE64_RE.match(value):
        raise StixError(path, f"{value[:80]!r} is not base64 (RFC 4648, a property named …_bin)")


def hexadecimal(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise wrong(path, "a hexadecimal string (a property named …_hex)", value)
    if not HEX_RE.match(value):
        raise StixError(path, f"{value[:80]!r} is not pairs of hexadecimal digits (…_hex)")


# The types a property's name gives it, whatever the property.
ENCODED: Mapping[str, Rule] = {"_bin": binary, "_hex": hexadecimal}


def dictionary(value: Any, path: str) -> None:
    """A STIX dictionary: a JSON object with at least one key, keys of 1 to
    250 ASCII letters, digits, '-' or '_', no value null or an empty list."""
    if not isinstance(value, dict):
        raise wrong(path, "a dictionary (JSON object)", value)
    if not value:
        raise StixError(path, "an empty dictionary is not allowed (leave the property out)")
    for key, item in value.items():
        if not DICTIONARY_KEY_RE.match(key):
            raise StixError(
                path, f"key {_shown(key)!r} is not 1 to 250 ASCII letters, digits, '-' or '_'"
            )
        if isinstance(item, list) and not item:
            raise _empty(f"{path}.{key}")
        _no_null(item, f"{path}.{key}")


def hashes(value: Any, path: str) -> None:
    """The hashes of an external reference: algorithm names of hash-algorithm-ov (as the
    stix2 library requires), each value in its algorithm's format."""
    if not isinstance(value, dict):
        raise wrong(path, "a dictionary of hashes", value)
    if not value:
        raise StixError(path, "an empty dictionary is not allowed (leave the property out)")
    for algorithm, digest in value.items():
        form = HASH_VALUE_RES.get(algorithm)
        if form is None:
            raise StixError(
                path,
                f"{_shown(algorithm)!r} is not a hash algorithm of hash-algorithm-ov "
                f"({', '.join(HASH_VALUE_RES)})",
            )
        if not isinstance(digest, str):
            raise wrong(f"{path}.{algorithm}", "a string", digest)
        if not form.match(digest):
            raise StixError(f"{path}.{algorithm}", f"{digest[:80]!r} is not a {algorithm} value")


def list_of(rule: Callable[[Any, str], None], what: str) -> Rule:
    """A non-empty list whose every item passes ``rule`` (called with ``path[N]``)."""

    def check(value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise wrong(path, f"a non-empty list of {what}", value)
        if not value:
            raise _empty(path)
        for position, item in enumerate(value):
            rule(item, f"{path}[{position}]")

    return check


def _members(value: Any, path: str, what: str, rules: Mapping[str, Rule]) -> None:
    """A JSON object whose known members pass their rules and whose other members hold no
    null."""
    if not isinstance(value, dict):
        raise wrong(path, what, value)
    for key, item in value.items():
        rule = rules.get(key)
        if rule is TEXT:
            if not isinstance(item, str):
                raise wrong(f"{path}.{key}", "a string", item)
        elif rule is not None:
            rule(item, f"{path}.{key}")
        elif not isinstance(item, str):
            _no_null(item, f"{path}.{_shown(key)}")


def kill_chain_phase(value: Any, path: str) -> None:
    """A kill chain phase: kill_chain_name and phase_name."""
    _members(value, path, "a kill chain phase (JSON object)", _KILL_CHAIN_PHASE)
    for key in _KILL_CHAIN_PHASE:
        if key not in value:
            raise missing(f"{path}.{key}")


def _url(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise wrong(path, "a string", value)
    if not is_uri(value):
        raise StixError(path, f"{value[:80]!r} is not an absolute URI (RFC 3986)")


def external_reference(value: Any, path: str) -> None:
    """An external reference: source_name, and at least one of description, url and
    external_id; a ``cve`` or ``capec`` source names its entry in external_id."""
    _members(value, path, "an external reference (JSON object)", _EXTERNAL_REFERENCE)
    source = value.get("source_name")
    if source is None:
        raise missing(f"{path}.source_name")
    external_id = value.get("external_id")
    if source in ("cve", "capec"):
        form, example = (CVE_RE, "CVE-2024-1234") if source == "cve" else (CAPEC_RE, "CAPEC-98")
        if external_id is None:
            raise StixError(f"{path}.external_id", f"required when source_name is {source!r}")
        if not form.match(external_id):
            raise StixError(
                f"{path}.external_id", f"{external_id[:80]!r} is not a {source} id (like {example})"
            )
    elif external_id is None and "description" not in value and "url" not in value:
        raise StixError(path, "needs at least one of description, url and external_id")


def _selectors(value: Any, path: str) -> None:
    strings(value, path)
    for position, selector in enumerate(value):
        if not SELECTOR_RE.match(selector):
            raise StixError(
                f"{path}[{position}]",
                f"{selector[:80]!r} is not a selector (property names and [index] joined by '.')",
            )


def granular_marking(value: Any, path: str) -> None:
    """A granular marking: selectors, and exactly one of marking_ref and lang. (``_links``
    checked that a marking_ref is a marking-definition id; check_object that each selector
    selects something.)"""
    _members(value, path, "a granular marking (JSON object)", _GRANULAR_MARKING)
    if "selectors" not in value:
        raise missing(f"{path}.selectors")
    if ("marking_ref" in value) == ("lang" in value):
        raise StixError(path, "needs exactly one of marking_ref and lang")


def extensions(value: Any, path: str) -> None:
    """Extensions: extension-definition ids (each with its extension_type) or predefined
    ``…-ext`` names, each holding a JSON object of properties (named as properties are)."""
    if not isinstance(value, dict):
        raise wrong(path, "a dictionary of extensions", value)
    if not value:
        raise StixError(path, "an empty dictionary is not allowed (leave the property out)")
    for key, extension in value.items():
        where = f"{path}.{_shown(key)}"
        defined = EXTENSION_ID_RE.match(key) is not None
        if not defined and not EXTENSION_NAME_RE.match(key):
            raise StixError(
                where,
                "an extension is named by an extension-definition id or a predefined '…-ext' name",
            )
        if not isinstance(extension, dict):
            raise wrong(where, "a JSON object", extension)
        if not extension:
            raise StixError(where, "an empty extension is not allowed")
        if defined:
            if "extension_type" not in extension:
                raise missing(f"{where}.extension_type")
            kind = extension["extension_type"]
            if not isinstance(kind, str):
                raise wrong(f"{where}.extension_type", "a string", kind)
            if kind not in EXTENSION_TYPES:
                raise StixError(
                    f"{where}.extension_type",
                    f"{kind!r} is not one of {', '.join(sorted(EXTENSION_TYPES))}",
                )
        for name, item in extension.items():
            check_name(name, where)
            encoded = ENCODED.get(name[-4:])
            if encoded is not None:
                encoded(item, f"{where}.{name}")
            else:
                custom(item, name, where)


def observed_objects(value: Any, path: str) -> None:
    """observed-data's deprecated ``objects``: a dictionary of cyber-observables, each
    with its type (the observables' own properties are not checked here)."""
    dictionary(value, path)
    for key, observable in value.items():
        if not isinstance(observable, dict):
            raise wrong(f"{path}.{key}", "a cyber-observable (JSON object)", observable)
        if not isinstance(observable.get("type"), str):
            raise wrong(f"{path}.{key}.type", "a string", observable.get("type"))


def contents(value: Any, path: str) -> None:
    """language-content's ``contents``: language -> (property -> translated value)."""
    dictionary(value, path)
    for language, translations in value.items():
        if not isinstance(translations, dict):
            raise wrong(f"{path}.{language}", "a dictionary of translations", translations)
        if not translations:
            raise StixError(f"{path}.{language}", "an empty dictionary is not allowed")
        for name in translations:
            if not PROPERTY_NAME_RE.match(name):
                raise StixError(f"{path}.{language}", f"{_shown(name)!r} is not a property name")


def extension_types(value: Any, path: str) -> None:
    strings(value, path)
    for position, kind in enumerate(value):
        if kind not in EXTENSION_TYPES:
            raise StixError(
                f"{path}[{position}]",
                f"{kind[:80]!r} is not one of {', '.join(sorted(EXTENSION_TYPES))}",
            )


def json_object(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise wrong(path, "a JSON object", value)
    _no_null(value, path)


_KILL_CHAIN_PHASE: Mapping[str, Rule] = {"kill_chain_name": TEXT, "phase_name": TEXT}
_EXTERNAL_REFERENCE: Mapping[str, Rule] = {
    "source_name": TEXT,
    "description": TEXT,
    "url": _url,
    "hashes": hashes,
    "external_id": TEXT,
}
_GRANULAR_MARKING: Mapping[str, Rule] = {
    "selectors": _selectors,
    "lang": TEXT,
    "marking_ref": CHECKED,
}

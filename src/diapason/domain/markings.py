"""Markings: what travels with an object and restricts its use.

Four kinds, each a STIX ``marking-definition`` referenced from the object:

- **TLP 2.0** (CLEAR, GREEN, AMBER, AMBER+STRICT, RED), with the official OASIS ids; the
  TLP 1.0 ids predefined by STIX 2.1 are accepted and read as TLP 2.0 (WHITE is CLEAR).
- **Handling codes** H0-H3 (Europol): H0-H2 are fixed marking-definitions every node ships;
  each H3 free text is a marking-definition of its own (:func:`h3_marking`).
- **Releasability** (``REL TO``): the partners the object may go to
  (:func:`releasability_marking`).
- **PAP** (Permissible Actions Protocol): what the recipient may do with it.

:func:`effective_markings` reads them all from an object, object-level
(``object_marking_refs``) and granular (``granular_markings``) alike, into one
:class:`Markings` value. Diapason releases whole object versions and never redacts, so a
granular marking, whatever its selectors cover, counts as if it marked the whole object:
a TLP:RED ``name`` makes the object RED for release purposes.

Where several markings of one kind apply, the most restrictive wins: the highest TLP,
handling code and PAP, and the *intersection* of ``REL TO`` lists. A marking this node
cannot interpret (an unknown id, a malformed entry, a definition it does not understand) is
recorded in :attr:`Markings.problems`; the release policy withholds such an object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from diapason.domain.extensions import (
    FIXED_HANDLING_IDS,
    HANDLING_NAMES,
    MARKING_EXTENSION_ID,
    PAP_IDS,
    SHIPPED_CONTENT,
    TLP_1_0_IDS,
    TLP_2_0_EXTENSION_ID,
    TLP_2_0_IDS,
    canonical,
    diapason_id,
    diapason_marking_definition,
)


class Tlp(StrEnum):
    """TLP 2.0 levels; the value is the ``tlp_2_0`` property of the OASIS extension."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def rank(self) -> int:
        """0 (CLEAR) to 4 (RED): higher is more restrictive."""
        return _TLP_ORDER.index(self)

    @property
    def label(self) -> str:
        return f"TLP:{self.value.upper()}"

    @property
    def marking_id(self) -> str:
        """The official OASIS TLP 2.0 marking-definition id."""
        return TLP_2_0_IDS[self.value]


_TLP_ORDER = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)


class HandlingCode(StrEnum):
    """Europol handling codes.

    H0: use only to prevent and combat crime. H1: not to be disclosed in judicial
    proceedings without the provider's permission. H2: not to be disseminated without the
    provider's permission. H3: other restrictions, stated in free text.
    """

    H0 = "H0"
    H1 = "H1"
    H2 = "H2"
    H3 = "H3"

    @property
    def rank(self) -> int:
        # H3 ranks highest: its release needs a recorded consent, which also satisfies H2.
        return int(self.value[1])

    @property
    def meaning(self) -> str:
        return HANDLING_NAMES[self.value].partition(": ")[2]


class Pap(StrEnum):
    """Permissible Actions Protocol: what the recipient may do with the information.

    RED: non-detectable actions only. AMBER: passive cross-checks. GREEN: active actions.
    CLEAR: no restriction. PAP restricts use, not release.
    """

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return _PAP_ORDER.index(self)

    @property
    def label(self) -> str:
        return f"PAP:{self.value.upper()}"

    @property
    def marking_id(self) -> str:
        return PAP_IDS[self.value]


_PAP_ORDER = (Pap.CLEAR, Pap.GREEN, Pap.AMBER, Pap.RED)

TLP_BY_ID: Mapping[str, Tlp] = {
    **{marking_id: Tlp(level) for level, marking_id in TLP_2_0_IDS.items()},
    **{
        marking_id: Tlp.CLEAR if level == "white" else Tlp(level)
        for level, marking_id in TLP_1_0_IDS.items()
    },
}


def partner_key(name: str) -> str:
    """How partner names compare: spaces collapsed, case folded ("  france" is "France")."""
    return " ".join(name.split()).casefold()


def clean_partner_name(name: str) -> str:
    """A partner name as written in markings: surrounding and repeated spaces removed."""
    return " ".join(name.split())


@dataclass(frozen=True, slots=True)
class Meaning:
    """What one marking-definition says. Fields it does not set are ``None``.

    A definition that sets nothing (a copyright or terms-of-use statement) restricts
    nothing.
    """

    tlp: Tlp | None = None
    handling: HandlingCode | None = None
    h3_text: str | None = None
    rel_to: tuple[str, ...] | None = None
    pap: Pap | None = None


@dataclass(frozen=True, slots=True)
class Markings:
    """The markings in force on one object, combined most-restrictively.

    ``tlp`` is ``None`` when no TLP marking applies (the policy then reads AMBER: see
    :attr:`release_tlp`). ``rel_to`` is ``None`` when no releasability marking applies, and
    an empty set when several apply with no partner in common. ``problems`` lists markings
    that could not be interpreted; any problem makes the object unreleasable.
    """

    tlp: Tlp | None = None
    handling: HandlingCode | None = None
    rel_to: frozenset[str] | None = None
    pap: Pap | None = None
    h3_text: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        return not self.problems

    @property
    def release_tlp(self) -> Tlp:
        """The TLP level the policy applies: RED if a marking is not understood (the most
        restrictive), AMBER if the object has no TLP marking (least privilege)."""
        if self.problems:
            return Tlp.RED
        return self.tlp if self.tlp is not None else Tlp.AMBER

    def releasable_to(self, partner_name: str) -> bool:
        """Whether the ``REL TO`` lists, if any, name this partner."""
        if self.rel_to is None:
            return True
        key = partner_key(partner_name)
        return any(partner_key(name) == key for name in self.rel_to)


# Fixed Diapason markings, read without a lookup (every node has them).
_FIXED_MEANINGS: Mapping[str, Meaning] = {
    **{
        marking_id: Meaning(handling=HandlingCode(code))
        for code, marking_id in FIXED_HANDLING_IDS.items()
    },
    **{marking_id: Meaning(pap=Pap(level)) for level, marking_id in PAP_IDS.items()},
}


def interpret_marking(
    marking_ref: str, definitions: Mapping[str, Mapping[str, Any]] | None = None
) -> Meaning | str:
    """The meaning of one marking-definition id, or a sentence saying why it has none.

    TLP (2.0 and 1.0) and Diapason's fixed markings are known by id. Other ids are looked up
    in ``definitions`` (marking-definition objects by id): releasability and H3 markings
    made at run time, statement markings, other producers' definitions.
    """
    tlp = TLP_BY_ID.get(marking_ref)
    if tlp is not None:
        return Meaning(tlp=tlp)
    fixed = _FIXED_MEANINGS.get(marking_ref)
    if fixed is not None:
        return fixed
    definition = (definitions or {}).get(marking_ref)
    if definition is None:
        return f"{marking_ref} is not a known marking-definition"
    if (
        not isinstance(definition, Mapping)
        or definition.get("type") != "marking-definition"
        or definition.get("id") != marking_ref
    ):
        return f"{marking_ref}: the definition found is not that marking-definition"
    return _interpret_definition(marking_ref, definition)


def _interpret_definition(marking_ref: str, definition: Mapping[str, Any]) -> Meaning | str:
    extensions = definition.get("extensions")
    if extensions is not None:
        if not isinstance(extensions, Mapping) or not extensions:
            return f"{marking_ref}: extensions is not a dictionary of extensions"
        if TLP_2_0_EXTENSION_ID in extensions:
            # Some producers mint their own TLP 2.0 ids; only the official ones are trusted.
            return f"{marking_ref}: claims TLP 2.0 but is not an official TLP 2.0 id"
        unknown = sorted(key for key in extensions if key != MARKING_EXTENSION_ID)
        if unknown:
            return f"{marking_ref}: extension {unknown[0]} is not understood by this node"
        if "definition_type" in definition or "definition" in definition:
            return f"{marking_ref}: mixes a Diapason marking with a definition_type"
        if marking_ref not in SHIPPED_CONTENT:
            # A REL TO list or an H3 text is its id: a definition that is not what its
            # content derives (a partner's redefinition) is not believed.
            problem = derivation_problem(definition)
            if problem is not None:
                return f"{marking_ref}: {problem}"
        return _interpret_diapason(marking_ref, extensions[MARKING_EXTENSION_ID])
    definition_type = definition.get("definition_type")
    if definition_type == "statement":
        body = definition.get("definition")
        if isinstance(body, Mapping) and isinstance(body.get("statement"), str):
            # Copyright and terms-of-use statements travel with the object; they do not
            # restrict release. Restrictions in free text are H3 markings.
            return Meaning()
        return f"{marking_ref}: statement marking without a statement"
    if definition_type == "tlp":
        return f"{marking_ref}: claims TLP 1.0 but is not one of the STIX 2.1 TLP ids"
    return f"{marking_ref}: definition_type {definition_type!r} is not understood by this node"


_MARKING_KINDS = ("handling_code", "releasable_to", "pap")
_MARKING_PROPERTIES = frozenset({"extension_type", "handling_text", *_MARKING_KINDS})


def _interpret_diapason(marking_ref: str, payload: Any) -> Meaning | str:
    if not isinstance(payload, Mapping) or payload.get("extension_type") != "property-extension":
        return f"{marking_ref}: the Diapason marking extension is not a property-extension"
    kinds = [key for key in _MARKING_KINDS if key in payload]
    if len(kinds) != 1 or not set(payload) <= _MARKING_PROPERTIES:
        return (
            f"{marking_ref}: a Diapason marking sets exactly one of handling_code, "
            "releasable_to, pap, and nothing else"
        )
    text = payload.get("handling_text")
    if kinds == ["handling_code"]:
        code = payload["handling_code"]
        if not isinstance(code, str) or code not in HandlingCode.__members__:
            return f"{marking_ref}: handling_code {code!r} is not one of H0, H1, H2, H3"
        if code == "H3":
            if not isinstance(text, str) or not text.strip():
                return f"{marking_ref}: H3 needs its restrictions in handling_text"
            return Meaning(handling=HandlingCode.H3, h3_text=text.strip())
        if text is not None:
            return f"{marking_ref}: handling_text belongs to H3 only"
        return Meaning(handling=HandlingCode(code))
    if text is not None:
        return f"{marking_ref}: handling_text belongs to H3 only"
    if kinds == ["pap"]:
        level = payload["pap"]
        if not isinstance(level, str) or level not in Pap._value2member_map_:
            return f"{marking_ref}: pap {level!r} is not one of clear, green, amber, red"
        return Meaning(pap=Pap(level))
    partners = payload["releasable_to"]
    if (
        not isinstance(partners, list)
        or not partners
        or not all(isinstance(name, str) and name.strip() for name in partners)
    ):
        return f"{marking_ref}: releasable_to must be a non-empty list of partner names"
    return Meaning(rel_to=tuple(clean_partner_name(name) for name in partners))


def marking_refs(obj: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """Every marking reference of ``obj`` with where it is, and the malformed entries.

    Object-level and granular references alike; granular ``lang`` entries carry no marking.
    """
    found: list[tuple[str, str]] = []
    problems: list[str] = []
    object_level = obj.get("object_marking_refs")
    if object_level is not None:
        if not isinstance(object_level, list):
            problems.append("object_marking_refs: expected a list of marking-definition ids")
        else:
            for position, ref in enumerate(object_level):
                where = f"object_marking_refs[{position}]"
                if isinstance(ref, str) and ref.startswith("marking-definition--"):
                    found.append((where, ref))
                else:
                    problems.append(f"{where}: {ref!r} is not a marking-definition id")
    granular = obj.get("granular_markings")
    if granular is not None:
        if not isinstance(granular, list):
            problems.append("granular_markings: expected a list")
        else:
            for position, entry in enumerate(granular):
                where = f"granular_markings[{position}]"
                problem = _granular_problem(entry)
                if problem:
                    problems.append(f"{where}: {problem}")
                elif "marking_ref" in entry:
                    found.append((f"{where}.marking_ref", entry["marking_ref"]))
    return found, problems


def _granular_problem(entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return "expected a granular marking"
    selectors = entry.get("selectors")
    if (
        not isinstance(selectors, list)
        or not selectors
        or not all(isinstance(s, str) and s for s in selectors)
    ):
        return "needs a non-empty list of selectors"
    has_ref = "marking_ref" in entry
    has_lang = "lang" in entry
    if has_ref == has_lang:
        return "needs exactly one of marking_ref and lang"
    if has_ref:
        ref = entry["marking_ref"]
        if not (isinstance(ref, str) and ref.startswith("marking-definition--")):
            return f"{ref!r} is not a marking-definition id"
    return None


def effective_markings(
    obj: Mapping[str, Any], definitions: Mapping[str, Mapping[str, Any]] | None = None
) -> Markings:
    """The markings in force on ``obj``, combined most-restrictively.

    ``definitions`` maps marking-definition ids to the objects this node knows (run-time
    releasability and H3 markings, statements, other producers' markings); TLP and the
    fixed Diapason markings need no lookup. Granular markings count as whole-object ones.
    """
    found, problems = marking_refs(obj)
    tlp: Tlp | None = None
    handling: HandlingCode | None = None
    pap: Pap | None = None
    rel_to: list[str] | None = None
    h3_texts: list[str] = []
    for where, ref in found:
        meaning = interpret_marking(ref, definitions)
        if isinstance(meaning, str):
            problems.append(f"{where}: {meaning}")
            continue
        if meaning.tlp is not None and (tlp is None or meaning.tlp.rank > tlp.rank):
            tlp = meaning.tlp
        if meaning.handling is not None and (
            handling is None or meaning.handling.rank > handling.rank
        ):
            handling = meaning.handling
        if meaning.h3_text is not None and meaning.h3_text not in h3_texts:
            h3_texts.append(meaning.h3_text)
        if meaning.pap is not None and (pap is None or meaning.pap.rank > pap.rank):
            pap = meaning.pap
        if meaning.rel_to is not None:
            if rel_to is None:
                rel_to = list(meaning.rel_to)
            else:
                keep = {partner_key(name) for name in meaning.rel_to}
                rel_to = [name for name in rel_to if partner_key(name) in keep]
    return Markings(
        tlp=tlp,
        handling=handling,
        rel_to=None if rel_to is None else frozenset(rel_to),
        pap=pap,
        h3_text="\n".join(h3_texts) or None,
        problems=tuple(problems),
    )


def releasability_marking(partners: Iterable[str]) -> dict[str, Any]:
    """The ``REL TO`` marking-definition for these partner names.

    Its id depends only on the set of names (order, case and spacing aside), so every node
    that marks an object for the same partners uses the same marking-definition.
    """
    if isinstance(partners, str):
        raise TypeError("partners: expected a list of partner names, not one string")
    names: dict[str, str] = {}
    for name in partners:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"partners: {name!r} is not a partner name")
        names.setdefault(partner_key(name), clean_partner_name(name))
    if not names:
        raise ValueError("partners: a releasability marking names at least one partner")
    ordered = [names[key] for key in sorted(names)]
    marking_id = diapason_id("marking-definition", "rel-to:" + "\n".join(sorted(names)))
    return diapason_marking_definition(
        marking_id, "REL TO " + ", ".join(ordered), {"releasable_to": ordered}
    )


def h3_marking(text: str) -> dict[str, Any]:
    """The H3 marking-definition for these restrictions (free text, e.g. "not for court").

    The id depends only on the text (surrounding spaces aside): the same restrictions
    always give the same marking-definition.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("H3 needs its restrictions in free text")
    text = text.strip()
    marking_id = diapason_id("marking-definition", "handling:H3:" + text)
    return diapason_marking_definition(
        marking_id, f"H3: {text}", {"handling_code": "H3", "handling_text": text}
    )


def handling_marking_id(code: HandlingCode | str) -> str:
    """The fixed marking-definition id of handling code H0, H1 or H2 (H3: see h3_marking)."""
    code = HandlingCode(code)
    if code is HandlingCode.H3:
        raise ValueError("H3 has no fixed marking-definition: use h3_marking(text)")
    return FIXED_HANDLING_IDS[code.value]


def definitions_by_id(objects: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The marking-definitions among ``objects``, by id (the lookup the functions here take)."""
    return {
        obj["id"]: obj
        for obj in objects
        if obj.get("type") == "marking-definition" and isinstance(obj.get("id"), str)
    }


def add_markings(obj: Mapping[str, Any], *marking_ids: str) -> dict[str, Any]:
    """A copy of ``obj`` with these ids added to its ``object_marking_refs`` (no duplicates).

    It does not touch ``modified``: making a new version is the caller's business.
    """
    existing = list(obj.get("object_marking_refs") or [])
    for marking_id in marking_ids:
        if not marking_id.startswith("marking-definition--"):
            raise ValueError(f"{marking_id!r} is not a marking-definition id")
        if marking_id not in existing:
            existing.append(marking_id)
    return {**obj, "object_marking_refs": existing}


def add_granular_marking(
    obj: Mapping[str, Any], marking_id: str, selectors: Iterable[str]
) -> dict[str, Any]:
    """A copy of ``obj`` with a granular marking of ``selectors`` by ``marking_id``."""
    if not marking_id.startswith("marking-definition--"):
        raise ValueError(f"{marking_id!r} is not a marking-definition id")
    chosen = list(selectors)
    if not chosen or not all(isinstance(s, str) and s for s in chosen):
        raise ValueError("selectors: a granular marking needs at least one selector")
    granular = list(obj.get("granular_markings") or [])
    granular.append({"selectors": chosen, "marking_ref": marking_id})
    return {**obj, "granular_markings": granular}


def derivation_problem(definition: Mapping[str, Any]) -> str | None:
    """Why a marking-definition carrying Diapason's marking extension is not what its
    content derives (its id and every property), or None when it is, or does not carry it.

    ``REL TO`` and H3 definitions have ids derived from their names and text; handling
    codes H0-H2 and PAP levels are fixed, shipped definitions.
    """
    extensions = definition.get("extensions")
    if not isinstance(extensions, Mapping) or MARKING_EXTENSION_ID not in extensions:
        return None
    payload = extensions[MARKING_EXTENSION_ID]
    object_id = definition.get("id")
    if object_id in SHIPPED_CONTENT:
        if canonical(definition) != SHIPPED_CONTENT[str(object_id)]:
            return "differs from the definition Diapason ships under this id"
        return None
    if not isinstance(payload, Mapping):
        return "the Diapason marking extension is not a dictionary"
    try:
        if "releasable_to" in payload:
            names = payload["releasable_to"]
            if not isinstance(names, list):
                return "releasable_to is not a list of partner names"
            derived = releasability_marking(names)
        elif payload.get("handling_code") == "H3":
            derived = h3_marking(payload.get("handling_text"))  # type: ignore[arg-type]
        else:
            return "a handling code H0-H2 or a PAP level has only the shipped definition"
    except (TypeError, ValueError) as error:
        return f"not a valid Diapason marking ({error})"
    if derived["id"] != object_id:
        return f"its content derives the id {derived['id']}, not {object_id}"
    if canonical(derived) != canonical(definition):
        return "its properties are not the ones its content derives"
    return None

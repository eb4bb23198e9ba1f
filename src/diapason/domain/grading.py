"""Grading: how far to trust an object, carried as a STIX property extension.

Two scales, each assessing the source and the information independently:

- **Admiralty** (NATO): source reliability A (completely reliable) to F (cannot be judged),
  information credibility 1 (confirmed by other sources) to 6 (cannot be judged);
- **Europol 4x4**: source A, B, C or X (cannot be assessed), information 1 to 4.

Any object may carry it::

    {"extensions": {GRADING_EXTENSION_ID: {"extension_type": "property-extension",
        "scheme": "admiralty", "source_reliability": "B", "information_credibility": "2"}}}

**OSINT.** The release policy refuses ungraded objects, except open-source material. An
object is open-source material when its grading extension says ``"osint": true``; that
flag may stand alone (``{"extension_type": "property-extension", "osint": true}``) or
beside a grade. Nothing else makes an object OSINT: not its TLP, not its author, not its
type, so an analyst's or a pipeline's explicit statement is always behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from diapason.domain.extensions import GRADING_EXTENSION_ID


class Scheme(StrEnum):
    ADMIRALTY = "admiralty"
    EUROPOL_4X4 = "europol-4x4"


class GradingError(ValueError):
    """A grade outside its scale, or a malformed grading extension."""


Lang = Literal["en", "fr"]

_RELIABILITY: Mapping[Scheme, Mapping[str, Mapping[str, str]]] = {
    Scheme.ADMIRALTY: {
        "A": {"en": "completely reliable", "fr": "complètement fiable"},
        "B": {"en": "usually reliable", "fr": "habituellement fiable"},
        "C": {"en": "fairly reliable", "fr": "assez fiable"},
        "D": {"en": "not usually reliable", "fr": "pas toujours fiable"},
        "E": {"en": "unreliable", "fr": "peu fiable"},
        "F": {"en": "reliability cannot be judged", "fr": "fiabilité ne pouvant être jugée"},
    },
    Scheme.EUROPOL_4X4: {
        "A": {"en": "reliable in all instances", "fr": "fiable dans tous les cas"},
        "B": {"en": "reliable in most instances", "fr": "fiable dans la plupart des cas"},
        "C": {
            "en": "unreliable in most instances",
            "fr": "non fiable dans la plupart des cas",
        },
        "X": {"en": "reliability cannot be assessed", "fr": "fiabilité ne pouvant être évaluée"},
    },
}

_CREDIBILITY: Mapping[Scheme, Mapping[str, Mapping[str, str]]] = {
    Scheme.ADMIRALTY: {
        "1": {"en": "confirmed by other sources", "fr": "confirmée par d'autres sources"},
        "2": {"en": "probably true", "fr": "probablement vraie"},
        "3": {"en": "possibly true", "fr": "possiblement vraie"},
        "4": {"en": "doubtful", "fr": "douteuse"},
        "5": {"en": "improbable", "fr": "improbable"},
        "6": {"en": "truth cannot be judged", "fr": "véracité ne pouvant être jugée"},
    },
    Scheme.EUROPOL_4X4: {
        "1": {"en": "accuracy not in doubt", "fr": "exactitude non mise en doute"},
        "2": {
            "en": "known personally to the source but not to the official passing it on",
            "fr": "connue personnellement de la source mais pas de l'agent qui la transmet",
        },
        "3": {
            "en": "not known personally to the source but corroborated by information "
            "already recorded",
            "fr": "non connue personnellement de la source mais corroborée par des "
            "informations déjà enregistrées",
        },
        "4": {
            "en": "not known personally to the source and cannot be corroborated",
            "fr": "non connue personnellement de la source et non corroborée",
        },
    },
}

_SCHEME_NAMES: Mapping[Scheme, Mapping[str, str]] = {
    Scheme.ADMIRALTY: {"en": "Admiralty", "fr": "Amirauté"},
    Scheme.EUROPOL_4X4: {"en": "Europol 4x4", "fr": "Europol 4x4"},
}

# The values each scheme allows, in order.
RELIABILITY_VALUES: Mapping[Scheme, tuple[str, ...]] = {
    scheme: tuple(values) for scheme, values in _RELIABILITY.items()
}
CREDIBILITY_VALUES: Mapping[Scheme, tuple[str, ...]] = {
    scheme: tuple(values) for scheme, values in _CREDIBILITY.items()
}

_GRADE_KEYS = ("scheme", "source_reliability", "information_credibility")
_EXTENSION_KEYS = frozenset({"extension_type", "osint", *_GRADE_KEYS})


@dataclass(frozen=True, slots=True)
class Grading:
    """A grade: ``scheme``, ``source_reliability`` ("A"…) and ``information_credibility``
    ("1"…). Built only with values of the scheme's scales."""

    scheme: Scheme
    source_reliability: str
    information_credibility: str

    def __post_init__(self) -> None:
        if self.source_reliability not in RELIABILITY_VALUES[self.scheme]:
            allowed = ", ".join(RELIABILITY_VALUES[self.scheme])
            raise GradingError(
                f"source_reliability: {self.source_reliability!r} is not on the "
                f"{self.scheme.value} scale ({allowed})"
            )
        if self.information_credibility not in CREDIBILITY_VALUES[self.scheme]:
            allowed = ", ".join(CREDIBILITY_VALUES[self.scheme])
            raise GradingError(
                f"information_credibility: {self.information_credibility!r} is not on the "
                f"{self.scheme.value} scale ({allowed})"
            )

    @property
    def code(self) -> str:
        """The usual two-character form: "B2"."""
        return f"{self.source_reliability}{self.information_credibility}"


def make_grading(scheme: Scheme | str, reliability: str, credibility: str | int) -> Grading:
    """A :class:`Grading` from loosely written values ("admiralty", "b", 2)."""
    try:
        chosen = Scheme(scheme)
    except ValueError:
        raise GradingError(
            f"scheme: {scheme!r} is not one of {', '.join(s.value for s in Scheme)}"
        ) from None
    if not isinstance(reliability, str):
        raise GradingError(f"source_reliability: expected a letter, got {reliability!r}")
    if isinstance(credibility, bool) or not isinstance(credibility, str | int):
        raise GradingError(f"information_credibility: expected a digit, got {credibility!r}")
    return Grading(chosen, reliability.strip().upper(), str(credibility).strip())


def _extension(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extensions = obj.get("extensions")
    if not isinstance(extensions, Mapping):
        return None
    payload = extensions.get(GRADING_EXTENSION_ID)
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        raise GradingError("grading extension: expected a dictionary")
    return payload


def grade(
    obj: Mapping[str, Any],
    scheme: Scheme | str,
    reliability: str,
    credibility: str | int,
    *,
    osint: bool | None = None,
) -> dict[str, Any]:
    """A copy of ``obj`` graded ``reliability``/``credibility`` on ``scheme``.

    Raises :class:`GradingError` for values outside the scheme's scales. ``osint`` sets or
    clears the open-source flag; ``None`` keeps the object's current flag. Neither
    ``modified`` nor anything else is touched: making a new version is the caller's
    business.
    """
    grading = make_grading(scheme, reliability, credibility)
    keep_osint = is_osint(obj) if osint is None else osint
    payload: dict[str, Any] = {
        "extension_type": "property-extension",
        "scheme": grading.scheme.value,
        "source_reliability": grading.source_reliability,
        "information_credibility": grading.information_credibility,
    }
    if keep_osint:
        payload["osint"] = True
    return _with_extension(obj, payload)


def mark_osint(obj: Mapping[str, Any], osint: bool = True) -> dict[str, Any]:
    """A copy of ``obj`` flagged as open-source material (or no longer, with ``False``).

    An existing grade is kept. Removing the flag from an ungraded object removes the
    extension.
    """
    grading = grading_of(obj)
    payload: dict[str, Any] = {"extension_type": "property-extension"}
    if grading is not None:
        payload.update(
            scheme=grading.scheme.value,
            source_reliability=grading.source_reliability,
            information_credibility=grading.information_credibility,
        )
    if osint:
        payload["osint"] = True
    return _with_extension(obj, payload if len(payload) > 1 else None)


def _with_extension(obj: Mapping[str, Any], payload: dict[str, Any] | None) -> dict[str, Any]:
    current = obj.get("extensions")
    extensions = dict(current) if isinstance(current, Mapping) else {}
    if payload is None:
        extensions.pop(GRADING_EXTENSION_ID, None)
    else:
        extensions[GRADING_EXTENSION_ID] = payload
    result = dict(obj)
    if extensions:
        result["extensions"] = extensions
    else:
        result.pop("extensions", None)
    return result


def grading_of(obj: Mapping[str, Any]) -> Grading | None:
    """The grade ``obj`` carries, or ``None`` if it has none (an OSINT flag alone is no grade).

    Raises :class:`GradingError` if the grading extension is malformed or half filled.
    """
    payload = _extension(obj)
    if payload is None:
        return None
    if payload.get("extension_type") != "property-extension":
        raise GradingError("grading extension: extension_type must be 'property-extension'")
    unknown = sorted(str(key) for key in payload if key not in _EXTENSION_KEYS)
    if unknown:
        raise GradingError(f"grading extension: unknown property {unknown[0]!r}")
    osint = payload.get("osint")
    if osint is not None and not isinstance(osint, bool):
        raise GradingError("grading extension: osint must be true or false")
    present = [key for key in _GRADE_KEYS if key in payload]
    if not present:
        if osint is not True:
            raise GradingError("grading extension: neither a grade nor the OSINT flag")
        return None
    if len(present) != len(_GRADE_KEYS):
        missing = next(key for key in _GRADE_KEYS if key not in payload)
        raise GradingError(f"grading extension: {missing} is missing")
    scheme = payload["scheme"]
    if not isinstance(scheme, str) or scheme not in Scheme._value2member_map_:
        raise GradingError(f"scheme: {scheme!r} is not one of admiralty, europol-4x4")
    reliability = payload["source_reliability"]
    credibility = payload["information_credibility"]
    if not isinstance(reliability, str) or not isinstance(credibility, str):
        raise GradingError("grading extension: grades are written as strings ('B', '2')")
    return Grading(Scheme(scheme), reliability, credibility)


def is_osint(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is flagged as open-source material (``"osint": true`` in its grading
    extension). A malformed extension is not a flag."""
    try:
        payload = _extension(obj)
    except GradingError:
        return False
    return payload is not None and payload.get("osint") is True


def format_grading(grading: Grading, lang: Lang = "en") -> str:
    """The grade for people: "B2 (Admiralty: usually reliable, probably true)".

    ``lang`` is "en" or "fr" ("B2 (Amirauté : habituellement fiable, probablement vraie)").
    """
    if lang not in ("en", "fr"):
        raise ValueError(f"lang: {lang!r} is not one of en, fr")
    scheme = _SCHEME_NAMES[grading.scheme][lang]
    source = _RELIABILITY[grading.scheme][grading.source_reliability][lang]
    information = _CREDIBILITY[grading.scheme][grading.information_credibility][lang]
    colon = " :" if lang == "fr" else ":"
    return f"{grading.code} ({scheme}{colon} {source}, {information})"

"""Parsing and checking TAXII 2.1 request parameters: every refusal names the parameter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from diapason.domain.stix import ID_RE, TYPE_RE, StixError
from diapason.domain.timestamps import as_store_timestamp
from diapason.exchange.collections import EntryFilter

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
SPEC_VERSIONS = ("2.0", "2.1")

# Which filters each endpoint takes (TAXII 2.1, each endpoint's "URL Filtering Parameters").
ENDPOINT_PARAMETERS = {
    "objects": {"added_after", "limit", "next", "id", "type", "version", "spec_version"},
    "manifest": {"added_after", "limit", "next", "id", "type", "version", "spec_version"},
    "object": {"added_after", "limit", "next", "version", "spec_version"},
    "delete": {"version", "spec_version"},
    "versions": {"added_after", "limit", "next", "spec_version"},
}


class ParameterError(ValueError):
    """A query parameter the server cannot accept; the message starts with its name."""


@dataclass(frozen=True)
class Listing:
    filter: EntryFilter
    limit: int
    next: str | None


def _values(name: str, raw: str) -> list[str]:
    values = raw.split(",")
    if any(not value for value in values):
        raise ParameterError(f"{name}: empty value in {raw!r}")
    if len(set(values)) != len(values):
        raise ParameterError(f"{name}: a value is repeated in {raw!r}")
    return values


def parse(endpoint: str, items: Iterable[tuple[str, str]]) -> Listing:
    """Check the query parameters of a TAXII request for ``endpoint``."""
    allowed = ENDPOINT_PARAMETERS[endpoint]
    seen: dict[str, str] = {}
    for name, value in items:
        if name.startswith("match[") and name.endswith("]"):
            field = name[6:-1]
        elif name in ("added_after", "limit", "next"):
            field = name
        else:
            continue  # unknown parameters are ignored, as TAXII allows
        if field not in allowed:
            if name.startswith("match["):
                continue  # an unknown match field may be ignored (TAXII 2.1, 3.4)
            raise ParameterError(f"{name}: not accepted on this endpoint")
        if field in seen:
            raise ParameterError(f"{name}: given more than once")
        seen[field] = value

    added_after = None
    if "added_after" in seen:
        try:
            added_after = as_store_timestamp(seen["added_after"], "added_after")
        except StixError as error:
            raise ParameterError(str(error)) from None
    limit = DEFAULT_LIMIT
    if "limit" in seen:
        raw = seen["limit"]
        digits = raw.lstrip("0")
        if not raw.isascii() or not raw.isdigit() or not digits:
            raise ParameterError(f"limit: expected a positive whole number, got {raw[:40]!r}")
        # A huge value is simply capped; int() refuses strings of more than 4300 digits.
        limit = MAX_LIMIT if len(digits) > len(str(MAX_LIMIT)) else min(int(digits), MAX_LIMIT)
    ids: tuple[str, ...] = ()
    if "id" in seen:
        ids = tuple(_values("match[id]", seen["id"]))
        bad = next((value for value in ids if not ID_RE.match(value)), None)
        if bad is not None:
            raise ParameterError(f"match[id]: {bad[:80]!r} is not a STIX identifier")
    types: tuple[str, ...] = ()
    if "type" in seen:
        types = tuple(_values("match[type]", seen["type"]))
        bad = next((value for value in types if not TYPE_RE.match(value)), None)
        if bad is not None:
            raise ParameterError(f"match[type]: {bad[:80]!r} is not a STIX type name")
    versions: list[str] = []
    if "version" in seen:
        for value in _values("match[version]", seen["version"]):
            if value in ("first", "last", "all"):
                versions.append(value)
                continue
            try:
                versions.append(as_store_timestamp(value, "match[version]"))
            except StixError:
                raise ParameterError(
                    f"match[version]: {value[:80]!r} is not first, last, all or a timestamp"
                ) from None
        if "all" in versions and len(versions) > 1:
            raise ParameterError("match[version]: 'all' cannot be combined with other values")
    spec_versions: tuple[str, ...] = ()
    if "spec_version" in seen:
        spec_versions = tuple(_values("match[spec_version]", seen["spec_version"]))
        bad = next(
            (v for v in spec_versions if len(v) > 10 or not v.replace(".", "").isdigit()), None
        )
        if bad is not None:
            raise ParameterError(f"match[spec_version]: {bad[:80]!r} is not a version like 2.1")
    next_token = seen.get("next")
    if next_token is not None and not next_token:
        raise ParameterError("next: empty")
    return Listing(
        EntryFilter(
            ids=ids,
            types=types,
            versions=tuple(versions),
            spec_versions=spec_versions,
            added_after=added_after,
        ),
        limit,
        next_token,
    )

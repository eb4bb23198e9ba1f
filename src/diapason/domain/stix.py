"""STIX 2.1 helpers: identifiers, new objects, and the checks every object passes on the way in.

``prepare`` turns one parsed JSON value into a ``Prepared`` record (what the store writes)
or a ``Problem`` (what the caller reports). It is the hot path of every import, so it is
written as straight-line checks rather than through a schema library: the checks of the
type, id, versions and references here, the rules of the other properties in
:mod:`diapason.domain.validation`. Timestamps, their forms and their checks, are in
:mod:`diapason.domain.timestamps`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from diapason.domain.timestamps import STORE_EPOCH, as_store_timestamp, stix_now
from diapason.errors import DiapasonError

SPEC_VERSION = "2.1"

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, which would let
# "indicator--…\n" in as a second, different id.
# A type name (STIX 2.1, as the OASIS validator and stix2 library read it): 3 to
# 250 characters, lowercase ASCII letters, digits and single hyphens, beginning with a letter
# and ending with a letter or digit. An id is a type name, "--" and an RFC 4122 UUID: the
# variant bits 10, a version from 1 to 5 (the versions RFC 4122 defines).
TYPE_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,249}\Z")
ID_RE = re.compile(
    r"^([a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,249})--"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}\Z"
)
# Where a reference sits (``object_refs[3]``, ``extensions.x.y_ref``): it becomes a column of
# the edges table, so it is bounded and plain (no NUL, which PostgreSQL text refuses).
REF_PATH_RE = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,300}\Z")

# STIX Cyber-observable object types (STIX 2.1 section 6): they carry no created/modified.
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
# Objects without a ``modified`` property: they never change once created.
UNVERSIONED_TYPES = SCO_TYPES | {"marking-definition"}

# Properties whose text feeds full-text search.
TEXT_PROPERTIES = (
    "name",
    "description",
    "aliases",
    "abstract",
    "content",
    "explanation",
    "labels",
    "goals",
    "roles",
    "sectors",
    "x_mitre_aliases",
    "contact_information",
    "value",
    "x_diapason_title",
    "x_diapason_body",
)


class StixError(DiapasonError, ValueError):
    """A value that is not valid STIX 2.1: ``field`` names the property (a path such as
    ``external_references[2].url``), ``message`` says why. Shown as ``field: message``.
    (After stix2's ``InvalidValueError(cls, prop_name, reason)``: the parts are
    attributes, never a sentence to parse back.)"""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one object of a batch was refused.

    ``rule`` names the kind of refusal: ``invalid`` (not valid STIX), ``conflict`` (another
    content under a version already held, or a version older than an erasure), or one of
    the trust rules of :mod:`diapason.domain.trust` (what a sender may not say).
    """

    index: int
    object_id: str | None
    field: str
    message: str
    rule: str = "invalid"

    def __str__(self) -> str:
        where = f"object #{self.index}"
        if self.object_id:
            where += f" ({self.object_id})"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.object_id,
            "field": self.field,
            "message": self.message,
            "rule": self.rule,
        }


@dataclass(slots=True)
class Prepared:
    """A valid STIX object with the values the store indexes, computed once.

    Not frozen: one is made for every object imported, and a frozen dataclass sets each
    field through ``object.__setattr__``, which takes twice as long. Nothing changes one
    after ``prepare``.
    """

    index: int
    id: str
    type: str
    spec_version: str | None
    created: str | None
    modified: str  # the version key, in the store form: YYYY-MM-DDTHH:MM:SS.ffffffZ
    created_by_ref: str | None
    revoked: bool
    content: str  # canonical JSON (sorted keys)
    markings: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]  # (property path, target id)
    text: str


def new_id(stix_type: str) -> str:
    """A fresh STIX identifier of the given type (UUIDv4)."""
    if not TYPE_RE.match(stix_type):
        raise StixError("type", f"{stix_type!r} is not a valid STIX type name")
    return f"{stix_type}--{uuid.uuid4()}"


def new_object(
    stix_type: str,
    *,
    object_id: str | None = None,
    created_by_ref: str | None = None,
    markings: Sequence[str] = (),
    now: str | None = None,
    created: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A STIX 2.1 object of ``stix_type``: ``type``, ``spec_version``, ``id``, ``created``,
    ``modified``, ``created_by_ref``, then ``properties``, then ``object_marking_refs``.

    ``id``: ``object_id``, else a fresh UUIDv4 one (``new_id``). ``modified``: ``now``
    (a STIX timestamp), else now in the STIX form (``stix_now``); ``created`` the same,
    unless given (a later version of an object created before). ``created_by_ref`` and
    ``object_marking_refs`` (``markings``, as given) are left out when empty.
    """
    stamp = now or stix_now()
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": SPEC_VERSION,
        "id": object_id or new_id(stix_type),
        "created": created or stamp,
        "modified": stamp,
    }
    if created_by_ref:
        obj["created_by_ref"] = created_by_ref
    obj.update(properties)
    if markings:
        obj["object_marking_refs"] = list(markings)
    return obj


def new_organisation(name: str, markings: Sequence[str]) -> dict[str, Any]:
    """A new ``identity`` of an organisation that authors itself (``created_by_ref`` is its
    own id), as a node's own identity is."""
    identity_id = new_id("identity")
    return new_object(
        "identity",
        object_id=identity_id,
        created_by_ref=identity_id,
        markings=markings,
        name=name,
        identity_class="organization",
    )


class _SeenValid:
    """Whether a string matches ``pattern``, remembering the ones that did.

    References repeat a lot (authors, markings, the objects a report cites, paths such as
    ``object_refs[3]``), and the regular expressions were the largest cost of checking an
    import. Bounded: cleared when full. Only ever holds strings that matched.
    """

    LIMIT = 200_000

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.seen: set[str] = set()

    def __call__(self, value: str) -> bool:
        if value in self.seen:
            return True
        if self.pattern.match(value) is None:
            return False
        if len(self.seen) >= self.LIMIT:
            self.seen.clear()
        self.seen.add(value)
        return True


class Memo:
    """What ``prepare`` has found valid in one batch, so that the rest of the batch is not
    checked for it again: ids, reference paths, top-level reference keys, the paths of list
    entries, and the plans of the property rules (by type and shape, see
    :func:`diapason.domain.validation.check_object`).

    One per batch (``put_many`` makes one for each call), used by one thread at a time:
    ``put_many`` and ``neighbour_edges`` run on the web server's worker threads, and what
    one batch remembers is never shared with another, so it needs no lock. Each part is
    bounded, and all of it goes with the batch.
    """

    __slots__ = ("is_id", "is_path", "list_paths", "plans", "ref_keys")

    def __init__(self) -> None:
        self.is_id = _SeenValid(ID_RE)
        self.is_path = _SeenValid(REF_PATH_RE)
        # Top-level keys seen to be valid reference properties, each with whether it names
        # marking definitions. Objects use a handful of them (created_by_ref,
        # object_marking_refs, object_refs, source_ref…): one set intersection finds an
        # object's references without testing each of its keys. Bounded: cleared when full.
        self.ref_keys: dict[str, bool] = {}
        self.list_paths = _ListPaths()
        self.plans: validation.Plans = {}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _clip(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


_REF_SUFFIXES = ("_ref", "_refs")


def _walk_refs(value: Any, path: str) -> list[tuple[str, Any]]:
    """Every (property path, value) whose property name ends in ``_ref`` or ``_refs``."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        _refs_in_dict(value, path, found)
    elif isinstance(value, list):
        _refs_in_list(value, path, found)
    return found


def _add_ref(key: str, path: str, item: Any, found: list[tuple[str, Any]]) -> None:
    """The entries of reference property ``key`` (at ``path``): one per element of a
    non-empty ``_refs`` list, else the value itself (which ``_check_links`` refuses for a
    ``_refs`` property: its path ends in ``_refs``, not in ``]``)."""
    if key[-1] == "s" and isinstance(item, list) and item:
        found.extend((f"{path}[{position}]", element) for position, element in enumerate(item))
    else:
        found.append((path, item))


# A key this long or shorter stays a valid path with any "[position]" after it.
_LONGEST_FAST_KEY = 280
_REF_KEYS_LIMIT = 10_000


def _learn_ref_keys(obj: dict[str, Any], memo: Memo) -> None:
    ref_keys = memo.ref_keys
    for key in obj:
        if (
            key.endswith(_REF_SUFFIXES)
            and key not in ref_keys
            and len(key) <= _LONGEST_FAST_KEY
            and memo.is_path(key)
        ):
            if len(ref_keys) >= _REF_KEYS_LIMIT:
                ref_keys.clear()
            ref_keys[key] = _is_marking_path(key)


def _links(
    obj: dict[str, Any], content: bytes, memo: Memo
) -> tuple[list[str], list[tuple[str, str]]]:
    """The markings and the other references (edges) of an object, each checked.

    Raises ``StixError`` naming the first bad reference, as ``_check_links`` does.
    """
    # Every reference key holds "_ref" once (as does "external_references"): when the text
    # holds no other "_ref", the top-level reference keys are all there is. Any other (a
    # nested reference, a word in a value) only sends the object down the full walk.
    expected = content.count(b"_ref") - ("external_references" in obj)
    if not expected:
        return [], []
    top = obj.keys() & memo.ref_keys.keys()
    if len(top) != expected:
        _learn_ref_keys(obj, memo)
        top = obj.keys() & memo.ref_keys.keys()
    if len(top) == expected:
        # In the object's own order, as the walk gives them (one pass: an object may have
        # thousands of keys).
        keys = [key for key in obj if key in top] if expected > 1 else top
        found = _top_level_links(obj, keys, memo)
        if found is not None:
            return found
    # With no deeper reference, the walk finds only the top-level entries: the same list.
    return _check_links(_walk_refs(obj, ""), memo)


def _top_level_links(
    obj: dict[str, Any], keys: Iterable[str], memo: Memo
) -> tuple[list[str], list[tuple[str, str]]] | None:
    """What ``_check_links`` returns for these top-level reference keys (all there are, each
    a valid path), checking each key once and each list of ids in one set operation; None
    at the first sign of anything wrong, for ``_check_links`` to find and tell precisely.

    Most imports are many objects citing the same few authors, markings and earlier
    objects: checking every reference one by one was a third of ``prepare``.
    """
    is_id = memo.is_id
    known = is_id.seen
    ref_keys = memo.ref_keys
    markings: list[str] = []
    edges: list[tuple[str, str]] = []
    for key in keys:
        value = obj[key]
        # A key's entries are the key or "key[N]": classified as the key is.
        is_marking = ref_keys.get(key)
        if is_marking is None:  # forgotten meanwhile (the cache was full)
            return None
        if key[-1] == "s":  # a _refs property: a non-empty list of ids
            if not (isinstance(value, list) and value):
                return None
            try:
                all_known = known.issuperset(value)
            except TypeError:  # a list or an object among them
                return None
            if not all_known:
                for target in value:
                    if not (isinstance(target, str) and is_id(target)):
                        return None
            if is_marking:
                for target in value:
                    if not target.startswith("marking-definition--"):
                        return None
                    if target not in markings:
                        markings.append(target)
            else:
                # The paths may be more than the entries: zip stops at the last entry.
                edges += zip(memo.list_paths(key, len(value)), value, strict=False)
        # One id (most references): a set lookup, not a set operation on a tuple of one.
        elif not (isinstance(value, str) and (value in known or is_id(value))):
            return None
        elif not is_marking:
            edges.append((key, value))
        elif not value.startswith("marking-definition--"):
            return None
        elif value not in markings:
            markings.append(value)
    return markings, edges


class _ListPaths:
    """The paths of the entries of list reference properties (``object_refs[0]``, …), made
    once per key: a report cites tens of objects, and formatting each path anew was a tenth
    of ``_links``.

    Bounded: at most ``LONGEST`` positions per key, and ``BUDGET`` paths in all (cleared
    when full), so that hostile keys (up to 280 characters, thousands of them, even in
    objects refused later) cannot make it hold more than a few megabytes.
    """

    LONGEST = 1_000
    BUDGET = 20_000

    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = {}
        self.held = 0

    def __call__(self, key: str, count: int) -> list[str]:
        """At least ``count`` paths ``key[0]``, ``key[1]``, … in order."""
        cached = self.lists.get(key)
        if cached is not None and len(cached) >= count:
            return cached
        paths = [f"{key}[{position}]" for position in range(count)]
        if count <= self.LONGEST:
            if cached is not None:  # shorter: replaced by the longer list
                del self.lists[key]
                self.held -= len(cached)
            if self.held + count > self.BUDGET:
                self.lists.clear()
                self.held = 0
            self.lists[key] = paths
            self.held += count
        return paths


def _is_marking_path(path: str) -> bool:
    """Whether a reference at this path names a marking definition (not an edge)."""
    return path.startswith("object_marking_refs") or path.endswith(".marking_ref")


def _check_links(
    entries: list[tuple[str, Any]], memo: Memo
) -> tuple[list[str], list[tuple[str, str]]]:
    """Check reference entries ``(property path, value)`` in order, raising ``StixError``
    at the first bad one; then ``_split_links`` of them."""
    for path, target in entries:
        if not memo.is_path(path):
            # Shown escaped: a field is shown on one line.
            shown_path = path.encode("unicode_escape").decode("ascii")
            raise StixError(
                _clip(shown_path),
                "a reference property path must be at most 300 ASCII "
                "letters, digits, '_', '-', '.', '[' or ']'",
            )
        if path[-1] == "s":  # the whole value of a _refs property, not one of its entries
            if isinstance(target, list):
                raise StixError(path, "an empty list is not allowed (leave the property out)")
            raise StixError(
                path, f"expected a non-empty list of STIX identifiers, got {_kind(target)}"
            )
        if not isinstance(target, str) or not memo.is_id(target):
            shown = _clip(target) if isinstance(target, str) else _kind(target)
            raise StixError(path, f"{shown!r} is not a valid STIX identifier")
        if _is_marking_path(path) and not target.startswith("marking-definition--"):
            raise StixError(path, f"{target!r} is not a marking-definition id")
    return _split_links(entries)


def _split_links(entries: list[tuple[str, str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The markings (each once, in order of first appearance) and the edges among
    reference entries ``(property path, id)``."""
    markings: list[str] = []
    edges: list[tuple[str, str]] = []
    for path, target in entries:
        if _is_marking_path(path):
            if target not in markings:
                markings.append(target)
        else:
            edges.append((path, target))
    return markings, edges


def stored_links(content: str, memo: Memo | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """The markings and references (edges) of a stored version, from its canonical JSON:
    what ``prepare`` found when the version was written. Never raises: if a rule added
    since would refuse an entry, the entries are taken as they were stored (a reference
    that is not a string is skipped). ``memo``: as for ``prepare``, one per batch of
    versions read together (a new one when None)."""
    obj = orjson.loads(content)
    try:
        return _links(obj, content.encode(), memo or Memo())
    except StixError:
        pass
    return _split_links(
        [(path, target) for path, target in _walk_refs(obj, "") if isinstance(target, str)]
    )


def _refs_in_dict(value: dict[str, Any], path: str, found: list[tuple[str, Any]]) -> None:
    for key, item in value.items():
        if key.endswith(_REF_SUFFIXES):
            _add_ref(key, f"{path}.{key}" if path else key, item, found)
        elif isinstance(item, dict):
            _refs_in_dict(item, f"{path}.{key}" if path else key, found)
        elif isinstance(item, list):
            _refs_in_list(item, f"{path}.{key}" if path else key, found)


def _refs_in_list(value: list[Any], path: str, found: list[tuple[str, Any]]) -> None:
    for position, element in enumerate(value):
        if isinstance(element, dict):
            _refs_in_dict(element, f"{path}[{position}]", found)
        elif isinstance(element, list):
            _refs_in_list(element, f"{path}[{position}]", found)


def _text_of(obj: dict[str, Any]) -> str:
    parts: list[str] = []
    # A lookup for each of the few text properties, in their fixed order: cheaper than
    # going through the object's keys (an object may have thousands).
    for key in TEXT_PROPERTIES:
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [item for item in value if isinstance(item, str)]
    # Checked by validation.check_object: a list of objects whose these members are strings.
    for reference in obj.get("external_references", ()):
        for key in ("source_name", "external_id", "description"):
            item = reference.get(key)
            if item is not None:
                parts.append(item)
    return "\n".join(parts)


def prepare(obj: Any, index: int, max_bytes: int, memo: Memo | None = None) -> Prepared | Problem:
    """Validate one STIX 2.1 object and compute what the store indexes.

    Returns a ``Problem`` naming the field at fault rather than raising, so a batch can
    report every refused object and still write the good ones. ``memo``: what the batch
    has found valid so far (see ``Memo``), one per batch and thread; a new one when None.
    """
    if not isinstance(obj, dict):
        return Problem(index, None, "", f"expected a JSON object, got {_kind(obj)}")
    raw_id = obj.get("id")
    object_id = raw_id if isinstance(raw_id, str) else None
    try:
        return _prepare(obj, index, max_bytes, memo or Memo())
    except StixError as error:
        return Problem(index, object_id and _clip(object_id, 120), error.field, error.message)
    except RecursionError:
        # orjson parses up to 1024 levels; walking that deep exceeds Python's stack limit.
        return Problem(index, object_id and _clip(object_id, 120), "content", "nested too deeply")


def _check_type_and_id(stix_type: Any, object_id: Any) -> None:
    """The precise error about ``type`` or ``id``; returns when both are valid."""
    if stix_type is None:
        raise StixError("type", "required property missing")
    if not isinstance(stix_type, str) or not TYPE_RE.match(stix_type):
        raise StixError("type", f"{stix_type!r} is not a valid STIX type name")
    if object_id is None:
        raise StixError("id", "required property missing")
    if not isinstance(object_id, str):
        raise StixError("id", f"expected a string, got {_kind(object_id)}")
    match = ID_RE.match(object_id)
    if match is None:
        raise StixError("id", f"{_clip(object_id)!r} is not TYPE--UUID (RFC 4122)")
    if match.group(1) != stix_type:
        raise StixError("id", f"prefix {match.group(1)!r} does not match type {stix_type!r}")


# created and modified are precise to the millisecond at least (STIX 2.1): once
# a timestamp, "YYYY-MM-DDTHH:MM:SS.sssZ" or longer.
_MILLISECOND_STAMP = 24


def _not_to_the_millisecond(field: str, value: str) -> StixError:
    return StixError(field, f"{value} is not precise to the millisecond (HH:MM:SS.sssZ)")


def _prepare(obj: dict[str, Any], index: int, max_bytes: int, memo: Memo) -> Prepared:
    stix_type = obj.get("type")
    object_id = obj.get("id")
    # The id's pattern includes a valid type name and ends in "--" and a 36-character UUID:
    # when it matches and what comes before those 38 characters is the type, both are
    # valid. The id is then remembered as valid, so that the references to it that follow
    # (and its later versions) skip the pattern. Anything else is told precisely by
    # _check_type_and_id.
    if not (isinstance(object_id, str) and object_id[:-38] == stix_type and memo.is_id(object_id)):
        _check_type_and_id(stix_type, object_id)
    assert isinstance(stix_type, str) and isinstance(object_id, str)

    spec_version = obj.get("spec_version")
    if spec_version is None and stix_type not in SCO_TYPES:
        raise StixError(
            "spec_version", "required property missing (STIX 2.0 content must be converted to 2.1)"
        )
    if spec_version is None and "spec_version" in obj:
        raise StixError("spec_version", "null is not a STIX value (leave the property out)")
    if spec_version is not None and spec_version != SPEC_VERSION:
        raise StixError("spec_version", f"{spec_version!r} is not supported, only '2.1'")

    created: str | None = None
    if "created" in obj:
        created = as_store_timestamp(obj["created"], "created")
        if len(obj["created"]) < _MILLISECOND_STAMP:
            raise _not_to_the_millisecond("created", obj["created"])
    elif stix_type not in SCO_TYPES:
        raise StixError("created", "required property missing")
    if "modified" in obj:
        if created is not None and obj["modified"] == obj["created"]:
            modified = created  # the first version: the same text normalises the same
        else:
            modified = as_store_timestamp(obj["modified"], "modified")
            if len(obj["modified"]) < _MILLISECOND_STAMP:
                raise _not_to_the_millisecond("modified", obj["modified"])
        if created is not None and modified < created:
            raise StixError(
                "modified", f"{obj['modified']} is earlier than created {obj['created']}"
            )
    elif stix_type not in UNVERSIONED_TYPES:
        raise StixError("modified", "required property missing")
    else:
        modified = created or STORE_EPOCH

    revoked = obj.get("revoked", False)
    if not isinstance(revoked, bool):
        raise StixError("revoked", f"expected true or false, got {_kind(revoked)}")

    created_by_ref = obj.get("created_by_ref")
    if created_by_ref is not None and not (
        isinstance(created_by_ref, str) and created_by_ref.startswith("identity--")
    ):
        raise StixError("created_by_ref", f"{created_by_ref!r} is not an identity id")

    try:
        content = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError) as error:
        raise StixError("content", f"cannot be serialised as JSON: {error}") from None

    markings, edges = _links(obj, content, memo)
    # The rules of STIX 2.1 for the other properties: nulls, types, required properties.
    validation.check_object(obj, stix_type, memo.plans)

    if len(content) > max_bytes:
        raise StixError(
            "size", f"the object is {len(content):,} bytes, over the limit of {max_bytes:,}"
        )
    # Positional, in the fields' order: keywords cost a tenth more for every object.
    return Prepared(
        index,
        object_id,
        stix_type,
        spec_version,
        created,
        modified,
        created_by_ref,
        revoked,
        content.decode(),
        tuple(markings),
        tuple(edges),
        _text_of(obj),
    )


# At the end: validation uses StixError, defined above.
from diapason.domain import validation  # noqa: E402

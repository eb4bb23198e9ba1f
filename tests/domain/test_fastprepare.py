"""The C module of ``prepare`` against the Python checks (docs/store.md#the-c-accelerator).

The C module either returns exactly what ``python_prepare`` returns or None (the object is
left to Python). These tests draw objects near every edge the two must agree on: timestamps,
ids, reference keys and values, text properties, types the JSON parser never gives.
"""

from __future__ import annotations

import os
import sys
from collections import UserDict
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from benchmarks.generate import generate_objects
from hypothesis import given, settings
from hypothesis import strategies as st

from diapason.domain import stix
from diapason.domain.stix import (
    ID_RE,
    Prepared,
    Problem,
    StixError,
    normalise_timestamp,
    python_prepare,
)
from tests.domain.test_stix import JSON, MAX_BYTES, PROPERTY_NAMES, TLP_AMBER, TLP_GREEN, sdo

try:
    from diapason.domain import _fastprepare
except ImportError:  # pragma: no cover - a build without a C compiler
    if os.environ.get("CI"):
        raise
    pytest.skip("the C module is not built (no C compiler at install)", allow_module_level=True)


def fast(obj: Any, index: int = 0, max_bytes: int = MAX_BYTES) -> Prepared | None:
    return _fastprepare.prepare(obj, index, max_bytes)


def agrees(obj: Any, index: int = 0, max_bytes: int = MAX_BYTES) -> Prepared | None:
    """The C result, after checking that it is None or what Python gives."""
    result = fast(obj, index, max_bytes)
    if result is not None:
        assert result == python_prepare(obj, index, max_bytes)
    return result


def test_prepare_uses_the_c_module_unless_told_not_to() -> None:
    if os.environ.get("DIAPASON_PURE_PYTHON"):
        assert stix._fast_prepare is None
    else:
        assert stix._fast_prepare is _fastprepare.prepare


def test_every_object_of_the_benchmark_takes_the_c_path_with_the_python_result() -> None:
    """The realistic mix (every type, several versions, reports citing tens of objects,
    French text, external references) is served by C: if it stopped being, imports would
    lose a third of their speed and no other test would tell."""
    objects = generate_objects(5_000, seed=3)
    for index, obj in enumerate(objects):
        result = fast(obj, index)
        assert result is not None, f"left to Python: {obj}"
        assert result == python_prepare(obj, index, MAX_BYTES)


def test_a_refused_object_is_left_to_python_which_words_the_error() -> None:
    obj = sdo(created="2024-02-30T00:00:00Z")
    assert fast(obj) is None
    problem = stix.prepare(obj, 4, MAX_BYTES)
    assert isinstance(problem, Problem)
    assert (problem.index, problem.field) == (4, "created")
    assert "not a real calendar date" in problem.message


# -- timestamps and ids, character by character -----------------------------------------------

_TIMESTAMP_PARTS = st.lists(
    st.sampled_from(list("0123456789-T:.Z z\n٣")), min_size=0, max_size=32
).map("".join)
_TIMESTAMPS = st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,11})?Z?\Z"),
    st.from_regex(
        r"\A(0000|0001|1900|2000|2023|2024|9999)-(0[0-9]|1[0-3])-(0[0-9]|[1-3][0-9])"
        r"T(1[0-9]|2[0-5]):[0-6][0-9]:[5-6][0-9](\.[0-9]{1,10})?Z\Z"
    ),
    _TIMESTAMP_PARTS,
    st.just("2024-04-22T10:00:00.123456Z\n"),
)


@settings(max_examples=2_000)
@given(value=_TIMESTAMPS)
def test_timestamps_are_read_as_python_reads_them(value: str) -> None:
    try:
        expected: str | None = normalise_timestamp(value)
    except StixError:
        expected = None
    assert _fastprepare.normalise(value) == expected


def test_every_calendar_edge_is_read_as_python_reads_it() -> None:
    """Every month's first and last days and the days around them, leap years by each rule,
    every hour, minute and second near their limits: exhaustively, not by chance."""
    for year in (0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999):
        for month in range(14):
            for day in range(33):
                for clock in ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60"):
                    value = f"{year:04d}-{month:02d}-{day:02d}T{clock}.5Z"
                    try:
                        expected: str | None = normalise_timestamp(value)
                    except StixError:
                        expected = None
                    assert _fastprepare.normalise(value) == expected, value


@pytest.mark.parametrize("value", [None, 20240422, b"2024-04-22T10:00:00Z", ["x"]])
def test_a_timestamp_that_is_not_a_string_is_none(value: Any) -> None:
    assert _fastprepare.normalise(value) is None


_UUIDS = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda value: str(value).upper()),
    st.from_regex(r"\A[0-9a-gA-G-]{36}\Z"),
)
_IDS = st.one_of(
    st.builds(lambda t, u: f"{t}--{u}", st.from_regex(r"\A[a-z0-9-]{1,12}\Z"), _UUIDS),
    st.builds(
        lambda t, u: f"{t}--{u}", st.sampled_from(["identity", "A", "a--b", "x-", "é-x"]), _UUIDS
    ),
    st.text(max_size=60),
)


@settings(max_examples=2_000)
@given(value=_IDS)
def test_ids_are_checked_as_the_pattern_checks_them(value: str) -> None:
    assert _fastprepare.valid_id(value) is (ID_RE.match(value) is not None)


def test_ids_at_the_length_limits() -> None:
    uuid = "11111111-1111-4111-8111-111111111111"
    for length, valid in [(2, False), (3, True), (250, True), (251, False)]:
        value = f"a{'b' * (length - 1)}--{uuid}"
        assert _fastprepare.valid_id(value) is valid is (ID_RE.match(value) is not None)


# -- whole objects ----------------------------------------------------------------------------


class Text(str):
    pass


class Items(list[Any]):
    pass


_REF = "location--22222222-2222-4222-8222-222222222222"
_VALUES = st.one_of(
    JSON,
    st.sampled_from(
        [
            "2024-04-22T10:00:00Z",
            "2024-04-22T09:00:00.5Z",
            "2024-04-22T10:00:00.000Z",
            "2024-04-22T10:00:00.0000001Z",
            "2024-13-01T00:00:00Z",
            "identity--11111111-1111-4111-8111-111111111111",
            "identity--11111111-1111-4111-c111-111111111111",
            _REF,
            TLP_GREEN,
            TLP_AMBER,
            "2.1",
            "2.0",
            Text("2.1"),
            Text("texte"),
            "",
        ]
    ),
    st.lists(st.sampled_from([_REF, TLP_GREEN, TLP_AMBER, "x", 3, None, Text(_REF)]), max_size=4),
    st.builds(Items, st.lists(st.sampled_from([_REF, "mot"]), max_size=2)),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "source_name": st.sampled_from(["MAP", Text("AFP"), 3]),
                "external_id": st.sampled_from(["N-42", None]),
                "description": st.text(max_size=5),
                "url": st.just("https://example.org"),
            },
        ),
        max_size=3,
    ),
)
_NAMES = PROPERTY_NAMES | st.sampled_from(
    [
        "description",
        "x.marking_ref",
        "object_marking_refs_extra_refs",
        "é_ref",
        "clé_refs",
        "x_reference",
        "k" * 281 + "_ref",
    ]
)


@settings(max_examples=3_000)
@given(
    stix_type=st.sampled_from(["threat-actor", "relationship", "marking-definition", "ipv4-addr"]),
    changes=st.dictionaries(_NAMES, _VALUES, max_size=5),
    removed=st.sets(st.sampled_from(["spec_version", "created", "modified", "name"])),
    index=st.integers(0, 10**6),
)
def test_objects_near_every_edge_get_the_python_result_or_none(
    stix_type: str, changes: dict[str, Any], removed: set[str], index: int
) -> None:
    obj = sdo(stix_type)
    for key in removed:
        del obj[key]
    obj.update(changes)
    agrees(obj, index)


@settings(max_examples=500)
@given(
    refs=st.lists(st.sampled_from([_REF, TLP_GREEN, TLP_AMBER]), max_size=30),
    markings=st.lists(st.sampled_from([TLP_GREEN, TLP_AMBER]), max_size=4),
    max_bytes=st.integers(100, 2_000),
)
def test_references_markings_and_size_get_the_python_result(
    refs: list[str], markings: list[str], max_bytes: int
) -> None:
    """Objects that pass every check but the size: C must serve the valid ones."""
    obj = sdo("report", object_refs=refs, object_marking_refs=markings, published=sdo()["created"])
    result = agrees(obj, max_bytes=max_bytes)
    python = python_prepare(obj, 0, max_bytes)
    assert (result is None) is isinstance(python, Problem)


def test_what_json_never_gives_is_left_to_python() -> None:
    assert fast(UserDict(sdo())) is None
    assert fast(sdo(name=Text("nom"))) is None
    assert fast(sdo(aliases=Items(["a"]))) is None
    assert fast(sdo(id=Text(sdo()["id"]))) is None
    assert fast([sdo()]) is None
    assert fast({**sdo(), Text("x_key"): 1}) is None


def test_the_c_path_keeps_no_reference_to_what_it_reads() -> None:
    """Reference counts of what an object holds are the same before and after many calls,
    whether C keeps the object or leaves it."""
    kept = sdo("report", object_refs=[_REF] * 5, object_marking_refs=[TLP_GREEN])
    left = sdo(created="not a timestamp")
    for obj in (kept, left):
        values = [obj["id"], obj["type"], obj["created"], obj["modified"], obj["name"]]
        before = [sys.getrefcount(value) for value in values]
        for _ in range(1_000):
            fast(obj)
        assert [sys.getrefcount(value) for value in values] == before


@pytest.mark.parametrize("max_bytes", [2**63, 2**80, 10**6])
def test_any_size_limit_python_takes_gives_the_python_result(max_bytes: int) -> None:
    assert agrees(sdo(), 0, max_bytes) is not None


@pytest.mark.parametrize("max_bytes", [1e6, True, -(2**70)])
def test_a_size_limit_that_is_not_a_plain_int_is_left_to_python(max_bytes: Any) -> None:
    assert fast(sdo(), 0, max_bytes) is None
    assert isinstance(stix.prepare(sdo(), 0, max_bytes), Prepared | Problem)


_CHANGED: list[dict[Any, Any]] = []


@dataclass(slots=True)
class Changing:
    """A value orjson serialises by reading its field, which adds a key to the object
    waiting in ``_CHANGED``."""

    x: int

    def __getattribute__(self, name: str) -> Any:
        if name == "x" and _CHANGED:
            _CHANGED.pop()[b"\xe4\x00\x00\x00" + b"A" * 12 + b"k_ref"] = 1
        return object.__getattribute__(self, name)


def test_a_key_added_while_serialising_is_seen() -> None:
    """Python code run by orjson.dumps may add a key that is no str: the reference walk
    must see it before reading it as text (it would read past the end of the bytes)."""
    obj = sdo(created_by_ref="identity--11111111-1111-4111-8111-111111111111")
    obj["x_changing"] = Changing(1)
    _CHANGED.append(obj)
    assert fast(obj) is None
    assert not _CHANGED and len([key for key in obj if isinstance(key, bytes)]) == 1


def test_orjson_failures_are_left_to_python() -> None:
    obj = sdo(x_value=2**70)  # beyond orjson's integers
    assert fast(obj) is None
    problem = stix.prepare(obj, 0, MAX_BYTES)
    assert isinstance(problem, Problem) and problem.field == "content"


def test_the_c_module_reads_every_canonical_form_back() -> None:
    obj = sdo("report", object_refs=[_REF], object_marking_refs=[TLP_GREEN, TLP_GREEN])
    result = agrees(obj)
    assert result is not None
    assert orjson.loads(result.content) == obj
    assert result.markings == (TLP_GREEN,)
    assert result.edges == (("object_refs[0]", _REF),)

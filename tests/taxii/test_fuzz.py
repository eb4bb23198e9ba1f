"""No request a client can send gets a 500, and everything under /taxii2/ is TAXII.

Hypothesis builds requests from real and random parts (methods, path segments, query
parameters, Accept / Content-Type / Authorization headers, bodies) and sends them to the
application through Starlette's TestClient, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.builders import ipv4, new_id, sdo, stamp, version
from tests.taxii.conftest import PASSWORD, TAXII, Taxii, basic, bearer, body

pytestmark = pytest.mark.slow

T = TypeVar("T")
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE"]


@dataclass
class Target:
    """A node with content, and the real values requests are built from."""

    taxii: Taxii
    collections: list[str]  # ids and aliases in "main"; the last is hidden from the partner
    tiny: list[str]  # the collection in "tiny", whose API root takes 300 bytes at most
    objects: list[str]
    statuses: list[str]
    cursors: list[str]
    authorizations: list[str]


@pytest.fixture
def target(taxii: Taxii) -> Target:
    hidden = taxii.node.collections.add("main", "Hidden", alias="hidden")
    taxii.node.collections.add_api_root("tiny", "Tiny", max_content_length=300)
    tiny = taxii.node.collections.add("tiny", "Tiny one")
    first = sdo("indicator", created=stamp(1))
    objects = [first, version(first, stamp(2)), sdo("malware"), ipv4("198.51.100.3")]
    statuses = [taxii.add(objects), taxii.add([sdo("identity")], hidden)]
    partner = taxii.user("partner-a", "partner", grants={taxii.collection.id: (True, True)})
    taxii.user("alice", "analyst", password=PASSWORD, grants={tiny.id: (True, True)})
    cursors = [
        body(taxii.get(path, {"limit": "1"}))["next"]
        for path in (
            taxii.objects_path(),
            taxii.manifest_path(),
            taxii.object_path(first["id"]) + "versions/",
        )
    ]
    return Target(
        taxii,
        [taxii.collection.id, "shared", hidden.id],
        [tiny.id],
        [first["id"], objects[2]["id"], objects[3]["id"]],
        statuses,
        cursors,
        [
            bearer(taxii.token),
            bearer(partner),
            basic("partner-a", partner),
            basic("alice", PASSWORD),
        ],
    )


# -- strategies ---------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)  # no lone surrogates
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
HEADER_BYTES = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
TIMESTAMPS = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2024-01-01T00:00:00Z",
            "2024-01-02T00:00:00.000Z",
            "2024-02-30T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01",
        ]
    ),
)
NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(0, 6000).map(lambda n: "9" * n),
    st.sampled_from(["0", "-0", "1.5", "1e3", "0x10", " 1", "+1", "٣", "²"]),
)


def mostly(real: list[T], junk: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """A real value three times in four, so that most requests get past the first checks."""
    return st.integers(0, 3).flatmap(lambda n: junk if n == 3 else st.sampled_from(real))


def comma_list(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(values, min_size=1, max_size=4).map(",".join)


def segment(real: list[str]) -> st.SearchStrategy[str]:
    """A path segment: a real value, a plausible one, or junk (percent-encoded)."""
    return mostly(
        real,
        st.one_of(
            st.builds(lambda: new_id("indicator")),
            st.uuids().map(str),
            TEXT.map(lambda text: quote(text, safe="")),
            st.sampled_from(["%00", "%ff", "%2F", "..", ".", "", "a" * 300]),
        ),
    )


@st.composite
def paths(draw: st.DrawFn, target: Target) -> tuple[str, str]:
    """A method and a path: mostly one the server serves, sometimes anything."""
    root = draw(segment(["main", "main", "main", "tiny"]))
    collection = draw(segment(target.tiny if root == "tiny" else target.collections))
    obj = draw(segment(target.objects))
    base = f"/taxii2/{root}/"
    coll = f"{base}collections/{collection}/"
    choices = [
        ("GET", "/taxii2/"),
        ("GET", base),
        ("GET", f"{base}status/{draw(segment(target.statuses))}/"),
        ("GET", f"{base}collections/"),
        ("GET", coll),
        ("GET", f"{coll}manifest/"),
        ("GET", f"{coll}objects/"),
        ("POST", f"{coll}objects/"),
        ("POST", f"{coll}objects/"),
        ("POST", f"{coll}objects/"),
        ("GET", f"{coll}objects/{obj}/"),
        ("DELETE", f"{coll}objects/{obj}/"),
        ("GET", f"{coll}objects/{obj}/versions/"),
        (
            "GET",
            "/taxii2/" + "/".join(draw(st.lists(segment(["main", "collections"]), max_size=6))),
        ),
    ]
    method, path = draw(st.sampled_from(choices))
    if draw(st.integers(0, 4)) == 0:
        method = draw(st.sampled_from(METHODS))
    if draw(st.integers(0, 9)) == 0:
        path = path.rstrip("/")
    return method, path


@st.composite
def queries(draw: st.DrawFn, target: Target) -> list[tuple[str, str]]:
    names = st.one_of(
        st.sampled_from(
            [
                "added_after",
                "limit",
                "next",
                "match[id]",
                "match[type]",
                "match[version]",
                "match[spec_version]",
                "match[colour]",
                "match[",
                "match[]",
            ]
        ),
        TEXT,
    )
    cursor = st.sampled_from(target.cursors)
    values = st.one_of(
        TIMESTAMPS,
        NUMBERS,
        comma_list(st.sampled_from(["first", "last", "all", "2.0", "2.1", "indicator"])),
        comma_list(st.one_of(st.sampled_from(target.objects), TIMESTAMPS, TEXT)),
        cursor,
        cursor.map(lambda c: c[:-1]),
        cursor.map(lambda c: c.replace(".", "..")),
        cursor.map(lambda c: c[::-1]),
        TEXT,
    )
    return draw(st.lists(st.tuples(names, values), max_size=5))


JUNK_HEADER = st.one_of(st.none(), HEADER_TEXT, HEADER_BYTES)


def header(real: list[str | bytes | None]) -> st.SearchStrategy[str | bytes | None]:
    return mostly(real, JUNK_HEADER)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(10**20, 10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.one_of(TEXT, st.just("x_ref"), st.just("x\x00_ref")), children, max_size=4
        )
    ),
    max_leaves=15,
)


@st.composite
def stix_objects(draw: st.DrawFn, target: Target) -> dict[str, Any]:
    obj: dict[str, Any] = dict(
        draw(
            st.sampled_from([sdo("indicator"), sdo("malware"), ipv4("192.0.2.9"), sdo("identity")])
        )
    )
    for name in draw(
        st.lists(st.sampled_from(["type", "id", "created", "modified", "spec_version", "x_"]))
    ):
        obj[name] = draw(
            st.one_of(
                JSON_VALUES, TIMESTAMPS, st.sampled_from(target.objects), st.just(new_id("tool"))
            )
        )
    if draw(st.booleans()):
        obj["created_by_ref"] = draw(st.one_of(st.sampled_from(target.objects), TEXT))
    return obj


@st.composite
def bodies(draw: st.DrawFn, target: Target) -> bytes | None:
    content: bytes | None = draw(
        st.one_of(
            st.lists(stix_objects(target), max_size=4).map(
                lambda objects: json.dumps({"objects": objects}).encode()
            ),
            st.none(),
            st.binary(max_size=100),
            JSON_VALUES.map(lambda value: json.dumps(value).encode()),
            st.lists(stix_objects(target), max_size=4).map(
                lambda objects: json.dumps({"objects": objects}).encode()
            ),
            st.lists(JSON_VALUES, max_size=4).map(
                lambda objects: json.dumps({"objects": objects}).encode()
            ),
            st.sampled_from(
                [
                    b'{"objects": [1e999]}',
                    b'{"objects": [' + b"9" * 5000 + b"]}",
                    b"[" * 3000 + b"]" * 3000,
                    b'{"objects": ' + b"[" * 3000 + b"]" * 3000 + b"}",
                    b'{"objects": [{"type": "indicator", "id": "\\ud800"}]}',
                    b'{"objects": []} trailing',
                    b"\xef\xbb\xbf{}",
                ]
            ),
        )
    )
    return content


@st.composite
def headers(draw: st.DrawFn, target: Target) -> dict[str, str | bytes]:
    accept = draw(
        header(
            [TAXII, TAXII, TAXII, "application/taxii+json", "application/taxii+json;version=2.0"]
        )
    )
    content_type = draw(header([TAXII, TAXII, TAXII, "application/json"]))
    authorization = draw(
        mostly(
            list[str | bytes | None](target.authorizations),
            st.one_of(
                JUNK_HEADER,
                st.binary(max_size=30).map(lambda b: "Basic " + base64.b64encode(b).decode()),
                TEXT.map(lambda t: "Basic " + base64.b64encode(t.encode()).decode()),
                HEADER_TEXT.map(lambda t: "Bearer dia_" + t),
            ),
        )
    )
    chosen: dict[str, str | bytes] = {}
    for name, value in (
        ("Accept", accept),
        ("Content-Type", content_type),
        ("Authorization", authorization),
    ):
        if value is not None:
            chosen[name] = value
    if draw(st.integers(0, 14)) == 14:
        chosen["Content-Length"] = draw(NUMBERS).encode()
    return chosen


@st.composite
def requests(draw: st.DrawFn, target: Target) -> dict[str, Any]:
    """Any request: method, path, query, headers and body all drawn."""
    method, path = draw(paths(target))
    return {
        "method": method,
        "url": path,
        "params": draw(queries(target)),
        "headers": draw(headers(target)),
        "content": draw(bodies(target)),
    }


@st.composite
def posts(draw: st.DrawFn, target: Target) -> dict[str, Any]:
    """A post of objects to a real collection, mostly well formed up to its body."""
    root, collections = draw(st.sampled_from([("main", target.collections), ("tiny", target.tiny)]))
    collection = draw(st.sampled_from(collections))
    return {
        "method": "POST",
        "url": f"/taxii2/{root}/collections/{collection}/objects/",
        "params": draw(queries(target)),
        "headers": draw(headers(target)),
        "content": draw(bodies(target)),
    }


def check(target: Target, request: dict[str, Any]) -> None:
    response = target.taxii.client.request(**request)
    event(f"{request['method']} {response.status_code}")  # see --hypothesis-show-statistics
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if not unquote(response.request.url.path).startswith("/taxii2/"):
        return
    assert response.headers["content-type"] == TAXII, response.headers
    if response.content and request["method"] != "HEAD":
        message = orjson.loads(response.content)
        assert isinstance(message, dict)
        if response.status_code >= 400:
            assert message["http_status"] == str(response.status_code)
            assert message["title"]


FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@FUZZ
@given(data=st.data())
def test_no_request_gets_a_server_error(target: Target, data: st.DataObject) -> None:
    check(target, data.draw(requests(target)))


@FUZZ
@given(data=st.data())
def test_no_post_of_objects_gets_a_server_error(target: Target, data: st.DataObject) -> None:
    check(target, data.draw(posts(target)))

"""Bad requests get the right 4xx, as a TAXII error message, and never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import click.testing
import orjson
import pytest

from diapason.cli import cli
from diapason.exchange.collections import Collection
from tests.builders import sdo
from tests.taxii.conftest import TAXII, Taxii, body, is_error

OBJECT = "indicator--6b7a2f0e-1d1c-4c1e-9d5a-3c9f0b1f6a10"


@pytest.mark.parametrize(
    "path",
    [
        "/taxii2/nowhere/",
        "/taxii2/nowhere/collections/",
        "/taxii2/nowhere/status/0f4d6f5c-1c0e-4c5e-8f51-0b0f2c5d2f0a/",
        "/taxii2/main/collections/0f4d6f5c-1c0e-4c5e-8f51-0b0f2c5d2f0a/",
        "/taxii2/main/collections/nope/objects/",
        "/taxii2/main/collections/nope/manifest/",
        f"/taxii2/main/collections/nope/objects/{OBJECT}/",
        f"/taxii2/main/collections/nope/objects/{OBJECT}/versions/",
        "/taxii2/main/collections/a%00b/",
        "/taxii2/main/collections/a%00b/objects/",
        "/taxii2/main/status/a%00b/",
        "/taxii2/" + "x" * 2000 + "/",
    ],
)
def test_unknown_api_roots_and_collections_are_not_found(taxii: Taxii, path: str) -> None:
    is_error(taxii.get(path), 404)


@pytest.mark.parametrize("object_id", [OBJECT, "nonsense", "a%00b", "indicator--" + "1" * 300])
def test_unknown_objects_are_not_found(taxii: Taxii, object_id: str) -> None:
    path = taxii.objects_path() + object_id + "/"
    is_error(taxii.get(path), 404)
    is_error(taxii.get(path + "versions/"), 404)
    is_error(taxii.delete(path), 404)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("added_after", "yesterday"),
        ("added_after", "2024-01-01"),
        ("added_after", "2024-13-01T00:00:00Z"),
        ("added_after", "2024-01-01T00:00:00+01:00"),
        ("added_after", ""),
        ("limit", "0"),
        ("limit", "-1"),
        ("limit", "1.5"),
        ("limit", "ten"),
        ("limit", ""),
        ("limit", "٣"),
        ("match[id]", "nonsense"),
        ("match[id]", "indicator--1234"),
        ("match[id]", f"{OBJECT},"),
        ("match[id]", f"{OBJECT},{OBJECT}"),
        ("match[type]", "Indicator"),
        ("match[type]", "in dicator"),
        ("match[type]", ""),
        ("match[version]", "newest"),
        ("match[version]", "all,first"),
        ("match[version]", "last,last"),
        ("match[version]", "2024-01-01"),
        ("match[version]", "first,,last"),
        ("match[spec_version]", "two"),
        ("match[spec_version]", "2.1,"),
        ("next", ""),
    ],
)
def test_bad_filter_values_are_refused_naming_the_parameter(
    taxii: Taxii, name: str, value: str
) -> None:
    taxii.add([sdo("indicator")])
    message = is_error(taxii.get(taxii.objects_path(), {name: value}), 400)
    assert message["description"].startswith(name), message
    message = is_error(taxii.get(taxii.manifest_path(), {name: value}), 400)
    assert message["description"].startswith(name), message


@pytest.mark.parametrize(
    "query",
    [
        [("added_after", "2024-01-01T00:00:00Z"), ("added_after", "2024-01-02T00:00:00Z")],
        [("limit", "1"), ("limit", "2")],
        [("match[type]", "indicator"), ("match[type]", "malware")],
        [("match[version]", "all"), ("match[version]", "all")],
    ],
)
def test_a_parameter_given_twice_is_refused(taxii: Taxii, query: list[tuple[str, str]]) -> None:
    message = is_error(taxii.get(taxii.objects_path(), query), 400)
    assert message["description"].startswith(query[0][0])


def test_parameters_an_endpoint_does_not_take(taxii: Taxii) -> None:
    obj = sdo("indicator")
    taxii.add([obj])
    path = taxii.object_path(obj["id"])
    for name, value in (("limit", "1"), ("added_after", "2024-01-01T00:00:00Z"), ("next", "x")):
        message = is_error(taxii.delete(path, {name: value}), 400)
        assert message["description"].startswith(name)
    # Unknown match fields, and unknown parameters, are ignored (TAXII 2.1, 3.4).
    assert taxii.get(path, {"match[type]": "malware"}).status_code == 200
    assert taxii.get(path, {"colour": "blue"}).status_code == 200


def test_a_huge_limit_is_capped_not_an_error(taxii: Taxii) -> None:
    taxii.add([sdo("indicator")])
    for limit in ("99999999999999999999", "9" * 5000, "0" * 30 + "1"):
        response = taxii.get(taxii.objects_path(), {"limit": limit})
        assert response.status_code == 200
        assert len(body(response)["objects"]) == 1


@pytest.fixture
def tiny(taxii: Taxii) -> Iterator[Collection]:
    """A collection in an API root that takes request bodies of at most 600 bytes."""
    result = click.testing.CliRunner().invoke(
        cli,
        [
            *("api-root", "add", "tiny", "--title", "Tiny", "--max-content-length", "600"),
            *("--data", str(taxii.data)),
        ],
        env={"DIAPASON_DATABASE_URL": taxii.database_url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    yield taxii.node.collections.add("tiny", "In the tiny root")


def tiny_path(collection: Collection) -> str:
    return f"/taxii2/tiny/collections/{collection.id}/objects/"


def test_an_envelope_over_the_api_roots_size_is_refused(taxii: Taxii, tiny: Collection) -> None:
    assert body(taxii.get("/taxii2/tiny/"))["max_content_length"] == 600
    headers = taxii.headers(Content_Type=TAXII)
    small = orjson.dumps({"objects": [sdo("indicator")]})
    assert len(small) < 600
    exact = small[:-1] + b" " * (600 - len(small)) + b"}"
    assert len(exact) == 600
    assert taxii.client.post(tiny_path(tiny), content=exact, headers=headers).status_code == 202
    big = orjson.dumps({"objects": [sdo("indicator") for _ in range(3)]})
    assert len(big) > 600
    is_error(taxii.client.post(tiny_path(tiny), content=big, headers=headers), 413)
    is_error(taxii.client.post(tiny_path(tiny), content=exact + b" ", headers=headers), 413)

    # Sent in chunks, without a Content-Length: counted as it arrives.
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 100):
            yield big[start : start + 100]

    is_error(taxii.client.post(tiny_path(tiny), content=chunks(), headers=headers), 413)
    # A declared length over the limit is refused before reading, however large.
    for declared in ("601", "9" * 5000):
        response = taxii.client.post(
            tiny_path(tiny), content=small, headers={**headers, "Content-Length": declared}
        )
        is_error(response, 413)
    # b"\xb2" is "²" in Latin-1, which str.isdigit() takes for a digit.
    for raw in (b"-1", b"ten", b"1e3", b"\xb2", b"\xb2\xb2\xb2\xb2"):
        odd = {name.encode(): value.encode() for name, value in headers.items()}
        odd[b"Content-Length"] = raw
        is_error(taxii.client.post(tiny_path(tiny), content=small, headers=odd), 400)
    # Nothing of the refused envelopes was stored.
    assert len(body(taxii.get(tiny_path(tiny)))["objects"]) == 1


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 400),
        (b"{", 400),
        (b"not json", 400),
        (b"\xff\xfe", 400),
        (b'{"objects": [1e999]}', 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b"[]", 422),
        (b'"objects"', 422),
        (b"null", 422),
        (b'{"objects": {}}', 422),
        (b'{"objects": "x"}', 422),
        (b'{"objects": null}', 422),
    ],
)
def test_bodies_that_are_no_envelope(taxii: Taxii, content: bytes, status: int) -> None:
    response = taxii.client.post(
        taxii.objects_path(), content=content, headers=taxii.headers(Content_Type=TAXII)
    )
    is_error(response, status)


def test_odd_objects_are_refused_one_by_one(taxii: Taxii) -> None:
    good = sdo("indicator")
    deep: object = "bottom"
    for _ in range(600):
        deep = {"x": deep}
    odd: list[object] = [
        None,
        [],
        "indicator",
        {"type": 7},
        {**sdo("indicator"), "created": 20240101},
        {**sdo("indicator"), "x_deep": deep},
        {**sdo("indicator"), "object_marking_refs": ["identity--nope"]},
        {**sdo("indicator"), "x_big": 10**30},
        {**sdo("indicator"), "name": "a\u0000b"},
    ]
    # The standard library writes what orjson would not: deep nesting and big integers.
    content = json.dumps({"objects": [good, *odd]}).encode()
    response = taxii.client.post(
        taxii.objects_path(), content=content, headers=taxii.headers(Content_Type=TAXII)
    )
    assert response.status_code == 202
    status = body(response)
    assert status["success_count"] + status["failure_count"] == status["total_count"] == 10
    assert good["id"] in [s["id"] for s in status["successes"]]
    assert status["failure_count"] >= 6


def test_a_nul_in_a_reference_property_name_is_no_server_error(taxii: Taxii) -> None:
    """The store keeps reference paths in a text column: PostgreSQL refuses NUL there."""
    odd = {**sdo("indicator"), "x\u0000_ref": sdo("identity")["id"]}
    response = taxii.post([sdo("malware"), odd])
    assert response.status_code in (202, 422)
    body(response)


@pytest.mark.parametrize("segment", ["%00", "%ff", "%2e%2e", "%2F", quote("é"), "\u2603", "~"])
def test_odd_path_segments(taxii: Taxii, segment: str) -> None:
    for path in (
        f"/taxii2/{segment}/",
        f"/taxii2/main/collections/{segment}/",
        f"{taxii.objects_path()}{segment}/",
        f"{taxii.objects_path()}{segment}/versions/",
        f"/taxii2/main/status/{segment}/",
    ):
        response = taxii.client.get(path, headers=taxii.headers())
        assert 400 <= response.status_code < 500, (path, response.status_code)
        body(response)

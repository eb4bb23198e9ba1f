"""Every TAXII 2.1 endpoint, on SQLite and PostgreSQL: resources, headers, negotiation."""

from __future__ import annotations

import re

import orjson
import pytest

from tests.builders import ipv4, key, normalised, sdo, stamp, version
from tests.taxii.conftest import TAXII, Taxii, body, is_error

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
DATE_HEADERS = ("X-TAXII-Date-Added-First", "X-TAXII-Date-Added-Last")


def test_discovery(taxii: Taxii) -> None:
    response = taxii.get("/taxii2/")
    assert response.status_code == 200
    discovery = body(response)
    assert discovery["title"]
    assert discovery["api_roots"] == ["/taxii2/main/"]
    assert discovery["default"] in discovery["api_roots"]


def test_api_root(taxii: Taxii) -> None:
    root = body(taxii.get("/taxii2/main/"))
    assert root["title"]
    assert TAXII in root["versions"]
    assert isinstance(root["max_content_length"], int) and root["max_content_length"] > 0
    is_error(taxii.get("/taxii2/elsewhere/"), 404)


def test_several_api_roots_are_listed_and_an_empty_one_has_no_collections(
    taxii: Taxii,
) -> None:
    taxii.node.collections.add_api_root("empty", "Nothing here", "for tests", 1000)
    discovery = body(taxii.get("/taxii2/"))
    assert discovery["api_roots"] == ["/taxii2/empty/", "/taxii2/main/"]
    root = body(taxii.get("/taxii2/empty/"))
    assert root == {
        "title": "Nothing here",
        "description": "for tests",
        "versions": [TAXII],
        "max_content_length": 1000,
    }
    response = taxii.get("/taxii2/empty/collections/")
    assert response.status_code == 200
    assert body(response) == {}


def test_collections_and_one_collection(taxii: Taxii) -> None:
    other = taxii.node.collections.add("main", "Second")
    listed = body(taxii.get("/taxii2/main/collections/"))["collections"]
    assert [c["id"] for c in listed] == [taxii.collection.id, other.id]
    expected = {
        "id": taxii.collection.id,
        "title": "Shared indicators",
        "description": "What partners may see",
        "alias": "shared",
        "can_read": True,
        "can_write": True,
        "media_types": ["application/stix+json;version=2.1"],
    }
    assert listed[0] == expected
    assert body(taxii.get(taxii.collection_path())) == expected
    # The alias names the collection too.
    assert body(taxii.get(taxii.collection_path("shared"))) == expected
    is_error(taxii.get(taxii.collection_path("a2a3b5c6-0000-4000-8000-000000000000")), 404)


def test_add_objects_answers_a_status_and_get_objects_returns_them(taxii: Taxii) -> None:
    objects = [sdo("indicator"), sdo("malware"), ipv4("198.51.100.7")]
    response = taxii.post(objects)
    assert response.status_code == 202
    status = body(response)
    assert status["status"] == "complete"
    assert TIMESTAMP.match(status["request_timestamp"])
    assert (status["total_count"], status["success_count"]) == (3, 3)
    assert (status["failure_count"], status["pending_count"]) == (0, 0)
    assert [s["id"] for s in status["successes"]] == [o["id"] for o in objects]
    assert all(s["version"] for s in status["successes"])
    assert "failures" not in status and "pendings" not in status

    response = taxii.get(taxii.objects_path())
    assert response.status_code == 200
    envelope = body(response)
    assert envelope["objects"] == objects
    assert not envelope.get("more")
    assert "next" not in envelope
    manifest = body(taxii.get(taxii.manifest_path()))["objects"]
    assert response.headers["X-TAXII-Date-Added-First"] == manifest[0]["date_added"]
    assert response.headers["X-TAXII-Date-Added-Last"] == manifest[-1]["date_added"]


def test_an_empty_listing_is_an_empty_envelope_without_date_headers(taxii: Taxii) -> None:
    for path in (taxii.objects_path(), taxii.manifest_path()):
        response = taxii.get(path)
        assert response.status_code == 200
        assert body(response) == {}
        assert not any(name in response.headers for name in DATE_HEADERS)


def test_manifest_has_one_record_per_version(taxii: Taxii) -> None:
    first = sdo("indicator", created=stamp(1))
    taxii.add([first, ipv4("203.0.113.9")])
    taxii.add([version(first, stamp(2))])
    response = taxii.get(taxii.manifest_path(), {"match[version]": "all"})
    records = body(response)["objects"]
    assert [(r["id"], r["version"]) for r in records] == [
        (first["id"], normalised(stamp(1))),
        (ipv4("203.0.113.9")["id"], "1970-01-01T00:00:00.000000Z"),
        (first["id"], normalised(stamp(2))),
    ]
    for record in records:
        assert TIMESTAMP.match(record["date_added"])
        assert record["media_type"] == "application/stix+json;version=2.1"
    assert [r["date_added"] for r in records] == sorted(r["date_added"] for r in records)
    assert response.headers["X-TAXII-Date-Added-First"] == records[0]["date_added"]
    assert response.headers["X-TAXII-Date-Added-Last"] == records[-1]["date_added"]
    # By default, the latest version of each object only.
    latest = body(taxii.get(taxii.manifest_path()))["objects"]
    assert [(r["id"], r["version"]) for r in latest] == [
        (ipv4("203.0.113.9")["id"], "1970-01-01T00:00:00.000000Z"),
        (first["id"], normalised(stamp(2))),
    ]


def test_get_one_object_and_its_versions(taxii: Taxii) -> None:
    first = sdo("malware", created=stamp(1))
    second, third = version(first, stamp(2)), version(first, stamp(3), name="loader")
    taxii.add([first, second])
    taxii.add([third, sdo("indicator")])

    response = taxii.get(taxii.object_path(first["id"]))
    assert response.status_code == 200
    assert body(response)["objects"] == [third]
    for name in DATE_HEADERS:
        assert TIMESTAMP.match(response.headers[name])

    response = taxii.get(taxii.object_path(first["id"]) + "versions/")
    assert response.status_code == 200
    listed = body(response)
    assert listed["versions"] == [normalised(stamp(day)) for day in (1, 2, 3)]
    assert not listed.get("more")
    manifest = body(taxii.get(taxii.manifest_path(), {"match[version]": "all"}))["objects"]
    added = [r["date_added"] for r in manifest if r["id"] == first["id"]]
    assert response.headers["X-TAXII-Date-Added-First"] == added[0]
    assert response.headers["X-TAXII-Date-Added-Last"] == added[-1]

    absent = sdo("malware")["id"]
    is_error(taxii.get(taxii.object_path(absent)), 404)
    is_error(taxii.get(taxii.object_path(absent) + "versions/"), 404)


def test_an_object_of_another_collection_is_not_found_here(taxii: Taxii) -> None:
    other = taxii.node.collections.add("main", "Other")
    hidden = sdo("indicator")
    taxii.add([hidden], other)
    is_error(taxii.get(taxii.object_path(hidden["id"])), 404)
    assert body(taxii.get(taxii.objects_path())) == {}
    assert body(taxii.get(taxii.objects_path(other)))["objects"] == [hidden]


def test_delete_every_version_of_an_object(taxii: Taxii) -> None:
    doomed = sdo("indicator", created=stamp(1))
    kept = sdo("malware")
    taxii.add([doomed, version(doomed, stamp(2)), kept])
    response = taxii.delete(taxii.object_path(doomed["id"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == TAXII
    is_error(taxii.get(taxii.object_path(doomed["id"])), 404)
    is_error(taxii.get(taxii.object_path(doomed["id"]) + "versions/"), 404)
    manifest = body(taxii.get(taxii.manifest_path(), {"match[version]": "all"}))["objects"]
    assert [r["id"] for r in manifest] == [kept["id"]]
    assert body(taxii.get(taxii.objects_path()))["objects"] == [kept]
    is_error(taxii.delete(taxii.object_path(doomed["id"])), 404)


def test_delete_one_version_with_match_version(taxii: Taxii) -> None:
    obj = sdo("indicator", created=stamp(1))
    versions = [obj, version(obj, stamp(2)), version(obj, stamp(3))]
    taxii.add(versions)
    path = taxii.object_path(obj["id"])
    assert taxii.delete(path, {"match[version]": stamp(3)}).status_code == 200
    # The latest is now the second version; the first is still there.
    assert body(taxii.get(path))["objects"] == [versions[1]]
    assert body(taxii.get(path + "versions/"))["versions"] == [
        normalised(stamp(1)),
        normalised(stamp(2)),
    ]
    assert taxii.delete(path, {"match[version]": "first"}).status_code == 200
    assert body(taxii.get(path, {"match[version]": "all"}))["objects"] == [versions[1]]
    # A spec_version the object does not have deletes nothing.
    assert taxii.delete(path, {"match[spec_version]": "2.0"}).status_code == 200
    assert body(taxii.get(path))["objects"] == [versions[1]]


def test_status_can_be_read_back(taxii: Taxii) -> None:
    response = taxii.post([sdo("indicator"), {"type": "indicator"}])
    posted = body(response)
    found = taxii.get(f"/taxii2/main/status/{posted['id']}/")
    assert found.status_code == 200
    assert body(found) == posted
    is_error(taxii.get("/taxii2/main/status/7d4c1a4e-2c1b-4f7e-9a3c-0d3b2f1e6a55/"), 404)


def test_more_and_next_when_a_listing_is_cut(taxii: Taxii) -> None:
    objects = [sdo("indicator") for _ in range(5)]
    taxii.add(objects)
    page = body(taxii.get(taxii.objects_path(), {"limit": "2"}))
    assert page["more"] is True
    assert isinstance(page["next"], str) and page["next"]
    assert page["objects"] == objects[:2]
    assert taxii.all_pages(taxii.objects_path(), [("limit", "2")]) == objects
    manifest = taxii.all_pages(taxii.manifest_path(), [("limit", "2")])
    assert [r["id"] for r in manifest] == [o["id"] for o in objects]
    # Exactly the limit left: no "more" on the last page.
    last = body(taxii.get(taxii.objects_path(), {"limit": "5"}))
    assert not last.get("more") and "next" not in last


@pytest.mark.parametrize(
    "accept",
    [
        TAXII,
        "application/taxii+json",
        "application/taxii+json; version=2.1",
        "application/json, application/taxii+json;version=2.1;q=0.9",
        "APPLICATION/TAXII+JSON;VERSION=2.1",
    ],
)
def test_taxii_media_types_are_served(taxii: Taxii, accept: str) -> None:
    taxii.add([sdo("indicator")])
    for path in ("/taxii2/", taxii.objects_path(), taxii.manifest_path()):
        response = taxii.client.get(path, headers={**taxii.headers(), "Accept": accept})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"] == TAXII


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/stix+json;version=2.1",
        "application/taxii+json;version=2.0",
        "application/taxii+json;version=2.1;q=0",
    ],
)
def test_other_media_types_are_not_acceptable(taxii: Taxii, accept: str | None) -> None:
    headers = taxii.headers()
    del headers["Accept"]
    if accept is not None:
        headers["Accept"] = accept
    for path in ("/taxii2/", "/taxii2/main/", taxii.objects_path()):
        is_error(taxii.client.get(path, headers=headers), 406)
    is_error(taxii.client.post(taxii.objects_path(), content=b"{}", headers=headers), 406)


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/taxii+json;version=2.0", "text/plain"]
)
def test_posting_another_media_type_is_refused(taxii: Taxii, content_type: str | None) -> None:
    headers = taxii.headers()
    if content_type is not None:
        headers["Content-Type"] = content_type
    content = orjson.dumps({"objects": [sdo("indicator")]})
    response = taxii.client.post(taxii.objects_path(), content=content, headers=headers)
    is_error(response, 415)
    assert body(taxii.get(taxii.objects_path())) == {}


def test_posting_bare_taxii_json_is_accepted(taxii: Taxii) -> None:
    headers = taxii.headers(Content_Type="application/taxii+json")
    content = orjson.dumps({"objects": [sdo("indicator")]})
    assert (
        taxii.client.post(taxii.objects_path(), content=content, headers=headers).status_code == 202
    )


def test_errors_are_taxii_messages_even_for_unknown_paths_and_methods(taxii: Taxii) -> None:
    headers = taxii.headers()
    # A missing final slash is an error, not a redirect without a TAXII body.
    for path in ("/taxii2/main", taxii.objects_path()[:-1], "/taxii2/main/nowhere/"):
        response = taxii.client.get(path, headers=headers, follow_redirects=False)
        is_error(response, 404)
    response = taxii.client.put(taxii.objects_path(), headers=headers, content=b"{}")
    is_error(response, 405)
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
    is_error(taxii.client.post("/taxii2/", headers=headers), 405)
    is_error(taxii.client.delete(taxii.collection_path(), headers=headers), 405)


def test_responses_carry_the_objects_exactly_as_posted(taxii: Taxii) -> None:
    unusual = sdo(
        "indicator",
        created="2024-02-29T23:59:59.123456Z",
        description='accents éè, emoji \U0001f510, quote " and NUL \u0000',
        x_custom_number=12345678901234567,
        labels=["a", "b"],
    )
    taxii.add([unusual])
    assert body(taxii.get(taxii.objects_path()))["objects"] == [unusual]
    assert [key(o) for o in body(taxii.get(taxii.object_path(unusual["id"])))["objects"]] == [
        key(unusual)
    ]

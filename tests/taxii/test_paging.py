"""Stateless paging: ``next`` is a signed keyset cursor.

It cannot be forged or replayed on other data, and it works in any process that shares the
node's data folder (its secret key) and database: across a restart and across two server
processes at once.
"""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from diapason.domain.cursor import sign
from diapason.node import Node
from diapason.settings import Secret, load_settings
from diapason.web.app import create_app
from tests.builders import sdo
from tests.taxii.conftest import TAXII, Taxii, bearer, body, is_error, open_taxii
from tests.taxii.servers import Server


def first_cursor(taxii: Taxii, path: str, query: dict[str, str] | None = None) -> str:
    page = body(taxii.get(path, {"limit": "2", **(query or {})}))
    assert page["more"] is True
    return str(page["next"])


def decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def payload_of(cursor: str) -> dict[str, Any]:
    value = orjson.loads(decode(cursor.split(".")[0]))
    assert isinstance(value, dict)
    return value


def node_key(taxii: Taxii) -> bytes:
    """The node's secret key, as every server process of this data folder reads it."""
    return load_settings(taxii.data, environ={}).secret_key.reveal().encode()


@pytest.fixture
def filled(taxii: Taxii) -> Taxii:
    taxii.add([sdo("indicator") for _ in range(5)])
    taxii.add([sdo("malware") for _ in range(3)])
    return taxii


def test_a_cursor_is_opaque_url_safe_and_says_nothing_readable(filled: Taxii) -> None:
    cursor = first_cursor(filled, filled.objects_path())
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert filled.collection.id not in cursor


@pytest.mark.parametrize(
    "forged",
    [
        "x",
        "1000",
        "not.a.cursor",
        "eyJzIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA",  # {"s":1} with a made-up signature
        "%%%.%%%",
        "é.é",
        "a" * 5000,
    ],
)
def test_a_forged_cursor_is_refused(filled: Taxii, forged: str) -> None:
    message = is_error(filled.get(filled.objects_path(), {"next": forged, "limit": "2"}), 400)
    assert "next" in message["description"]


def test_a_tampered_cursor_is_refused(filled: Taxii) -> None:
    cursor = first_cursor(filled, filled.objects_path())
    mac = cursor.split(".")[1]
    payload = payload_of(cursor)
    for change in ({"s": 0}, {"s": payload["s"] + 3}, {"c": "another"}, {"f": "0" * 16}):
        altered = encode(orjson.dumps({**payload, **change}, option=orjson.OPT_SORT_KEYS))
        response = filled.get(filled.objects_path(), {"next": f"{altered}.{mac}", "limit": "2"})
        is_error(response, 400)
    # The same position signed with another key.
    other = sign(payload, b"some other node's key")
    is_error(filled.get(filled.objects_path(), {"next": other, "limit": "2"}), 400)
    # The genuine one still works.
    assert filled.get(filled.objects_path(), {"next": cursor, "limit": "2"}).status_code == 200


def test_a_stale_cursor_is_refused(filled: Taxii) -> None:
    cursor = first_cursor(filled, filled.objects_path())
    payload = payload_of(cursor)
    key = node_key(filled)
    # Re-signed with the node's own key, so only the age differs.
    fresh = sign({**payload, "t": int(time.time()) - 60}, key)
    assert filled.get(filled.objects_path(), {"next": fresh, "limit": "2"}).status_code == 200
    stale = sign({**payload, "t": int(time.time()) - 25 * 3600}, key)
    message = is_error(filled.get(filled.objects_path(), {"next": stale, "limit": "2"}), 400)
    assert "expired" in message["description"]
    future = sign({**payload, "t": int(time.time()) + 3600}, key)
    is_error(filled.get(filled.objects_path(), {"next": future, "limit": "2"}), 400)
    # A little ahead is another host's clock, not a forgery.
    ahead = sign({**payload, "t": int(time.time()) + 60}, key)
    assert filled.get(filled.objects_path(), {"next": ahead, "limit": "2"}).status_code == 200


def test_without_a_configured_key_cursors_still_cannot_be_forged(filled: Taxii) -> None:
    settings = replace(filled.node.settings, secret_key=Secret(""))
    node = Node.open(settings)
    with TestClient(create_app(settings, node)) as client:
        path = filled.objects_path()
        page = body(client.get(path, params={"limit": "2"}, headers=filled.headers()))
        payload = payload_of(page["next"])
        for key in (b"", b"diapason-unconfigured", node_key(filled)):
            forged = sign({**payload, "s": 0}, key)
            response = client.get(path, params={"next": forged}, headers=filled.headers())
            is_error(response, 400)
        genuine = client.get(path, params={"next": page["next"]}, headers=filled.headers())
        assert len(body(genuine)["objects"]) == 6


def test_a_cursor_is_bound_to_its_filters(filled: Taxii) -> None:
    path = filled.objects_path()
    cursor = first_cursor(filled, path, {"match[type]": "indicator"})
    # The same filters, in any spelling and with another limit, go on.
    for query in (
        {"match[type]": "indicator", "next": cursor, "limit": "2"},
        {"match[type]": "indicator", "next": cursor, "limit": "50"},
        {"match[type]": "indicator", "next": cursor},
    ):
        assert filled.get(path, query).status_code == 200, query
    for query in (
        {"next": cursor},
        {"match[type]": "malware", "next": cursor},
        {"match[type]": "indicator,malware", "next": cursor},
        {"match[type]": "indicator", "match[version]": "all", "next": cursor},
        {"match[type]": "indicator", "added_after": "2000-01-01T00:00:00Z", "next": cursor},
        {"match[type]": "indicator", "match[spec_version]": "2.1", "next": cursor},
    ):
        message = is_error(filled.get(path, query), 400)
        assert "next" in message["description"]


def test_a_cursor_is_bound_to_its_collection_endpoint_object_and_user(filled: Taxii) -> None:
    other = filled.node.collections.add("main", "Other")
    filled.add([sdo("indicator") for _ in range(5)], other)
    cursor = first_cursor(filled, filled.objects_path())
    is_error(filled.get(filled.objects_path(other), {"next": cursor}), 400)
    is_error(filled.get(filled.manifest_path(), {"next": cursor}), 400)
    # Issued to the admin, refused to another reader of the same collection.
    token = filled.user("reader", "analyst", grants={filled.collection.id: (True, False)})
    is_error(filled.get(filled.objects_path(), {"next": cursor}, auth=bearer(token)), 400)

    manifest_cursor = first_cursor(filled, filled.manifest_path())
    is_error(filled.get(filled.objects_path(), {"next": manifest_cursor}), 400)
    assert filled.get(filled.manifest_path(), {"next": manifest_cursor}).status_code == 200

    obj = sdo("indicator", created="2024-01-01T00:00:00.000Z")
    later = [{**obj, "modified": f"2024-01-0{day}T00:00:00.000Z"} for day in range(2, 6)]
    filled.add([obj, *later])
    versions_path = filled.object_path(obj["id"]) + "versions/"
    versions_cursor = first_cursor(filled, versions_path)
    assert filled.get(versions_path, {"next": versions_cursor}).status_code == 200
    object_path = filled.object_path(obj["id"])
    object_cursor = first_cursor(filled, object_path, {"match[version]": "all"})
    is_error(filled.get(versions_path, {"next": object_cursor}), 400)
    other_object = filled.object_path(filled.all_pages(filled.objects_path())[0]["id"])
    is_error(filled.get(other_object, {"next": object_cursor, "match[version]": "all"}), 400)


def test_a_cursor_never_reaches_a_collection_the_user_may_not_read(filled: Taxii) -> None:
    secret = filled.node.collections.add("main", "Secret")
    filled.add([sdo("indicator") for _ in range(4)], secret)
    token = filled.user("reader", "analyst", grants={filled.collection.id: (True, False)})
    mine = first_cursor(filled, filled.objects_path())
    # The admin's cursor of the secret collection is no key to it.
    theirs = first_cursor(filled, filled.objects_path(secret))
    for cursor in (mine, theirs):
        response = filled.get(filled.objects_path(secret), {"next": cursor}, auth=bearer(token))
        is_error(response, 404)


def test_objects_deleted_between_pages_are_skipped_not_repeated(filled: Taxii) -> None:
    listed = filled.all_pages(filled.objects_path())
    page = body(filled.get(filled.objects_path(), {"limit": "3"}))
    assert filled.delete(filled.object_path(listed[3]["id"])).status_code == 200
    rest = filled.all_pages(filled.objects_path(), [("limit", "3")], cursor=page["next"])
    assert page["objects"] + rest == listed[:3] + listed[4:]


# -- real server processes ---------------------------------------------------------------


def prepared_folder(tmp_path: Path, database_url: str) -> tuple[Path, str, str]:
    """A node's data folder (with its secret key) and database, its admin token, and a
    collection id; nothing stays open."""
    data = tmp_path / "served"
    node, token = open_taxii(data, database_url)
    collection = node.collections.add("main", "Served", alias="served")
    node.close()
    return data, token, collection.id


def headers(token: str) -> dict[str, str]:
    return {"Accept": TAXII, "Authorization": bearer(token), "Content-Type": TAXII}


def fetch(url: str, token: str, params: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(url, params=params, headers=headers(token), timeout=10)
    assert response.status_code == 200, response.text
    return body(response)


@pytest.mark.slow
def test_paging_across_two_server_processes_on_one_data_folder(
    tmp_path: Path, database_url: str
) -> None:
    data, token, collection = prepared_folder(tmp_path, database_url)
    first = Server.start(data, database_url)
    second = Server.start(data, database_url)
    try:
        path = f"/taxii2/main/collections/{collection}/objects/"
        objects = [sdo("indicator") for _ in range(9)]
        posted = httpx.post(
            first.url + path,
            content=orjson.dumps({"objects": objects}),
            headers=headers(token),
            timeout=10,
        )
        assert posted.status_code == 202
        status_id = body(posted)["id"]

        seen: list[dict[str, Any]] = []
        params = {"limit": "2", "match[type]": "indicator"}
        page = fetch(first.url + path, token, params)
        servers = [second, first]
        while True:
            seen.extend(page["objects"])
            if not page.get("more"):
                break
            server = servers[len(seen) // 2 % 2]
            page = fetch(server.url + path, token, {**params, "next": page["next"]})
        assert seen == objects
        # The status written by one process is read by the other.
        status = fetch(f"{second.url}/taxii2/main/status/{status_id}/", token, {})
        assert status["success_count"] == 9
        # A cursor from one process is checked, and refused, by the other as by itself.
        cursor = fetch(first.url + path, token, params)["next"]
        refused = httpx.get(
            second.url + path,
            params={"next": cursor, "match[type]": "malware"},
            headers=headers(token),
            timeout=10,
        )
        is_error(refused, 400)
    finally:
        first.stop()
        second.stop()


@pytest.mark.slow
def test_paging_and_statuses_survive_a_restart(tmp_path: Path, database_url: str) -> None:
    data, token, collection = prepared_folder(tmp_path, database_url)
    server = Server.start(data, database_url)
    try:
        path = f"/taxii2/main/collections/{collection}/manifest/"
        objects = [sdo("malware") for _ in range(5)]
        posted = httpx.post(
            f"{server.url}/taxii2/main/collections/{collection}/objects/",
            content=orjson.dumps({"objects": [*objects, {"type": "malware"}]}),
            headers=headers(token),
            timeout=10,
        )
        status = body(posted)
        page = fetch(server.url + path, token, {"limit": "3"})
        assert [r["id"] for r in page["objects"]] == [o["id"] for o in objects[:3]]

        server = server.restart()

        rest = fetch(server.url + path, token, {"limit": "3", "next": page["next"]})
        assert [r["id"] for r in rest["objects"]] == [o["id"] for o in objects[3:]]
        assert not rest.get("more")
        again = fetch(f"{server.url}/taxii2/main/status/{status['id']}/", token, {})
        assert again == status
        assert (again["success_count"], again["failure_count"]) == (5, 1)
    finally:
        server.stop()

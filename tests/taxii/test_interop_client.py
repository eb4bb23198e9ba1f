"""The OASIS reference client, taxii2-client, drives a real server process through the
whole protocol, with Basic (password and token) and Bearer authentication."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import requests.auth
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from tests.builders import ipv4, key, normalised, sdo, stamp, version
from tests.taxii.conftest import PASSWORD, open_taxii
from tests.taxii.servers import Server as Process

pytestmark = pytest.mark.slow


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer …`` (taxii2-client's own TokenAuth sends ``Token …``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@dataclass
class Served:
    process: Process
    collection_id: str
    tokens: dict[str, str]

    @property
    def discovery(self) -> str:
        return f"{self.process.url}/taxii2/"

    def collection(self, **auth: Any) -> Collection:
        server = Server(self.discovery, **auth)
        root: ApiRoot = server.default
        found = [c for c in root.collections if c.id == self.collection_id]
        assert len(found) == 1
        return found[0]


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    data = tmp_path / "served"
    node, _admin = open_taxii(data, database_url)
    collection = node.collections.add("main", "Interop", alias="interop")
    tokens = {}
    for name, role, grant in (
        ("alice", "analyst", (True, True)),
        ("partner-r", "partner", (True, False)),
    ):
        node.accounts.add_user(name, role, PASSWORD)
        tokens[name] = node.accounts.create_token(name, "interop").secret
        node.collections.grant(collection.id, name, read=grant[0], write=grant[1])
    node.close()
    process = Process.start(data, database_url)
    try:
        yield Served(process, collection.id, tokens)
    finally:
        process.stop()


def ids(envelope: dict[str, Any], name: str = "objects") -> list[tuple[str, str]]:
    return [key(o) for o in envelope.get(name, [])]


def test_the_whole_protocol_with_taxii2_client(served: Served) -> None:
    server = Server(served.discovery, user="alice", password=PASSWORD)
    assert server.title
    assert [root.url for root in server.api_roots] == [f"{served.process.url}/taxii2/main/"]
    root = server.default
    assert root.url == server.api_roots[0].url
    assert root.title
    assert "application/taxii+json;version=2.1" in root.versions
    assert root.max_content_length > 0
    [collection] = root.collections
    assert collection.id == served.collection_id
    assert collection.alias == "interop"
    assert (collection.can_read, collection.can_write) == (True, True)
    assert collection.media_types == ["application/stix+json;version=2.1"]

    indicator = sdo("indicator", created=stamp(1))
    malware = sdo("malware", created=stamp(2))
    address = ipv4("192.0.2.44")
    first = collection.add_objects({"objects": [indicator, malware, address]})
    assert first.status == "complete" and bool(first)
    assert (first.total_count, first.success_count, first.failure_count) == (3, 3, 0)
    middle = datetime.now(UTC)
    newer = version(indicator, stamp(3), name="renamed")
    second = collection.add_objects(
        {"objects": [newer, sdo("threat-actor"), {"type": "broken"}]}, wait_for_completion=False
    )
    assert (second.success_count, second.failure_count, second.pending_count) == (2, 1, 0)
    assert second.failures[0]["id"] == "object #2"
    again = root.get_status(second.id)
    assert (again.id, again.total_count, again.failures) == (
        second.id,
        3,
        second.failures,
    )
    second.refresh()
    assert second.success_count == 2

    everything = collection.get_objects()
    actor = everything["objects"][-1]
    assert ids(everything) == [key(malware), key(address), key(newer), key(actor)]
    assert actor["type"] == "threat-actor"
    assert ids(collection.get_objects(type="indicator")) == [key(newer)]
    assert ids(collection.get_objects(type=["indicator", "malware"])) == [
        key(malware),
        key(newer),
    ]
    assert ids(collection.get_objects(id=indicator["id"], version="all")) == [
        key(indicator),
        key(newer),
    ]
    assert ids(collection.get_objects(type="indicator", version="first")) == [key(indicator)]
    assert ids(collection.get_objects(version=stamp(3))) == [key(newer)]
    assert ids(collection.get_objects(version=datetime(2024, 1, 3, tzinfo=UTC))) == [key(newer)]
    assert ids(collection.get_objects(version=["first", "last"], id=indicator["id"])) == [
        key(indicator),
        key(newer),
    ]
    assert ids(collection.get_objects(spec_version="2.1")) == ids(everything)
    assert collection.get_objects(spec_version="2.0") == {}
    after = collection.get_objects(added_after=middle, version="all")
    assert ids(after)[:1] == [key(newer)] and len(ids(after)) == 2
    assert collection.get_objects(added_after=datetime(2999, 1, 1, tzinfo=UTC)) == {}
    page = collection.get_objects(limit=2)
    assert len(page["objects"]) == 2 and page["more"] is True and page["next"]

    assert ids(collection.get_object(indicator["id"])) == [key(newer)]
    assert ids(collection.get_object(indicator["id"], version="first")) == [key(indicator)]
    manifest = collection.get_manifest(version="all")
    assert [(r["id"], r["version"]) for r in manifest["objects"]][:2] == [
        (indicator["id"], normalised(stamp(1))),
        (malware["id"], normalised(stamp(2))),
    ]
    assert len(collection.get_manifest(type="indicator")["objects"]) == 1
    assert collection.object_versions(indicator["id"])["versions"] == [
        normalised(stamp(1)),
        normalised(stamp(3)),
    ]

    pages = list(as_pages(collection.get_objects, per_request=2))
    assert [len(p.get("objects", [])) for p in pages] == [2, 2]
    assert [key(o) for p in pages for o in p["objects"]] == ids(everything)
    pages = list(as_pages(collection.get_objects, per_request=1, version="all"))
    assert len(pages) == 5  # five versions, one a page
    pages = list(as_pages(collection.get_manifest, per_request=2, type="indicator", version="all"))
    assert [r["version"] for p in pages for r in p["objects"]] == [
        normalised(stamp(1)),
        normalised(stamp(3)),
    ]
    assert len(list(as_pages(collection.get_objects, per_request=0))) == 1

    assert collection.delete_object(indicator["id"], version=stamp(3)) is None
    assert ids(collection.get_object(indicator["id"])) == [key(indicator)]
    collection.delete_object(indicator["id"])
    with pytest.raises(requests.HTTPError) as raised:
        collection.get_object(indicator["id"])
    assert raised.value.response is not None
    assert raised.value.response.status_code == 404
    assert indicator["id"] not in [r["id"] for r in collection.get_manifest()["objects"]]


def test_every_way_of_authenticating_with_taxii2_client(served: Served) -> None:
    alice = served.tokens["alice"]
    for auth in (
        {"user": "alice", "password": PASSWORD},
        {"user": "alice", "password": alice},
        {"auth": BearerAuth(alice)},
    ):
        collection = served.collection(**auth)
        status = collection.add_objects({"objects": [sdo("indicator")]})
        assert status.success_count == 1
        assert collection.get_objects()["objects"]
    assert len(served.collection(auth=BearerAuth(alice)).get_objects()["objects"]) == 3

    for auth in (
        {"user": "alice", "password": "wrong password"},
        {"auth": BearerAuth("dia_wrong")},
    ):
        with pytest.raises(requests.HTTPError) as raised:
            Server(served.discovery, **auth).title  # noqa: B018 - the request is the point
        refused = raised.value.response
        assert refused is not None and refused.status_code == 401
        assert "Basic" in refused.headers["WWW-Authenticate"]

    # A reading partner: the client sees can_write false and does not even try to write.
    reader = served.collection(auth=BearerAuth(served.tokens["partner-r"]))
    assert (reader.can_read, reader.can_write) == (True, False)
    assert len(reader.get_objects()["objects"]) == 3
    with pytest.raises(AccessError):
        reader.add_objects({"objects": [sdo("indicator")]})
    # And the server refuses it anyway, should a client try.
    response = httpx.post(
        reader.objects_url,
        json={"objects": [sdo("indicator")]},
        headers={
            "Accept": "application/taxii+json;version=2.1",
            "Content-Type": "application/taxii+json;version=2.1",
            "Authorization": f"Bearer {served.tokens['partner-r']}",
        },
        timeout=10,
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/taxii+json;version=2.1"

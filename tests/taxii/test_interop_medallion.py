"""medallion (the OASIS reference server, memory backend) as a peer: the same objects are
posted to it and to our server with taxii2-client, and the same client reads the same
objects back from both.

Known medallion 3.0.0 deviations are left out of the comparison: DELETE without
parameters (it removes the latest version only), re-posting duplicates (it reports a
failure), the order of ``versions`` (descending there), and a bare ``application/taxii+json``
Accept (406 there).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests.auth
from taxii2client.v21 import Collection, Server, as_pages

from tests.builders import ipv4, normalised, sdo, stamp, version
from tests.taxii.conftest import PASSWORD, open_taxii
from tests.taxii.servers import Server as Process
from tests.taxii.servers import free_port

pytestmark = pytest.mark.slow

MEDALLION_COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
MEDALLION = Path(sys.executable).parent / "medallion"


@dataclass
class Medallion:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[Medallion]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    folder = tmp_path / "medallion"
    folder.mkdir()
    data = {
        "/discovery": {
            "title": "Medallion peer",
            "description": "test peer",
            "default": f"{url}/api1/",
            "api_roots": [f"{url}/api1/"],
        },
        "api1": {
            "information": {
                "title": "API root 1",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10485760,
            },
            "status": [],
            "collections": [
                {
                    "id": MEDALLION_COLLECTION,
                    "title": "rw collection",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (folder / "data.json").write_text(json.dumps(data))
    settings = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(folder / "data.json"),
        },
        "users": {"admin": "pass"},
        "taxii": {"max_page_size": 100},
    }
    config = folder / "config.json"
    config.write_text(json.dumps(settings))
    log = folder / "medallion.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(MEDALLION), "--host", "127.0.0.1", "--port", str(port), str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "medallion did not start"
            try:
                httpx.get(f"{url}/taxii2/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Medallion(url, process, log)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def ours(tmp_path: Path, database_url: str) -> Iterator[tuple[str, str]]:
    """Our server as a real process: (its discovery URL, its collection id)."""
    data = tmp_path / "ours"
    node, _token = open_taxii(data, database_url)
    collection = node.collections.add("main", "Peer test")
    node.accounts.add_user("alice", "analyst", PASSWORD)
    node.collections.grant(collection.id, "alice", read=True, write=True)
    node.close()
    process = Process.start(data, database_url)
    try:
        yield f"{process.url}/taxii2/", collection.id
    finally:
        process.stop()


def collection_of(discovery: str, ident: str, auth: requests.auth.AuthBase) -> Collection:
    [found] = [c for c in Server(discovery, auth=auth).default.collections if c.id == ident]
    return found


# An object without ``modified`` (a cyber-observable) has no version of its own: the
# server picks "a value consistent within the server" (TAXII 2.1, 5.3.1). We say
# 1970-01-01T00:00:00Z, medallion its date_added; both are right, so they are not compared.
UNVERSIONED = "unversioned"


def versions(envelope: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (o["id"], normalised(o["modified"]) if "modified" in o else UNVERSIONED)
        for o in envelope.get("objects", [])
    }


def records(manifest: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (r["id"], UNVERSIONED if r["id"].startswith("ipv4-addr--") else normalised(r["version"]))
        for r in manifest.get("objects", [])
    }


def test_medallion_and_our_server_answer_alike(medallion: Medallion, ours: tuple[str, str]) -> None:
    peers = {
        "medallion": collection_of(
            f"{medallion.url}/taxii2/",
            MEDALLION_COLLECTION,
            requests.auth.HTTPBasicAuth("admin", "pass"),
        ),
        "ours": collection_of(ours[0], ours[1], requests.auth.HTTPBasicAuth("alice", PASSWORD)),
    }
    indicator = sdo("indicator", created=stamp(1))
    malware = sdo("malware", created=stamp(2))
    actor = sdo("threat-actor", created=stamp(1), threat_actor_types=["spy"])
    first_post = [indicator, malware, actor, ipv4("192.0.2.1"), sdo("identity")]
    second_post = [
        version(indicator, stamp(3)),
        version(indicator, stamp(4), name="latest"),
        version(actor, stamp(5)),
        sdo("indicator", created=stamp(6)),
    ]
    for peer in peers.values():
        for posted in (first_post, second_post):
            status = peer.add_objects({"objects": posted})
            assert (status.success_count, status.failure_count) == (len(posted), 0)

    queries: list[dict[str, Any]] = [
        {},
        {"type": "indicator"},
        {"type": ["malware", "threat-actor", "ipv4-addr"]},
        {"id": indicator["id"]},
        {"id": [indicator["id"], actor["id"]], "version": "all"},
        {"version": "all"},
        {"version": "first"},
        {"version": "last"},
        {"version": stamp(3)},
        {"version": ["first", "last"]},
        {"type": "indicator", "version": "first"},
        {"spec_version": "2.1"},
        {"type": "campaign"},
    ]
    for query in queries:
        answers = {name: versions(peer.get_objects(**query)) for name, peer in peers.items()}
        assert answers["ours"] == answers["medallion"], query
        assert answers["ours"] or query == {"type": "campaign"}, query
        manifests = {name: records(peer.get_manifest(**query)) for name, peer in peers.items()}
        assert manifests["ours"] == manifests["medallion"] == answers["ours"], query

    # Paged with the client's as_pages: the same objects, whoever keeps the paging state.
    for per_request in (1, 2, 3):
        paged = {
            name: [
                o["id"]
                for page in as_pages(peer.get_objects, per_request=per_request, version="all")
                for o in page.get("objects", [])
            ]
            for name, peer in peers.items()
        }
        assert len(paged["ours"]) == len(paged["medallion"]) == 9
        assert sorted(paged["ours"]) == sorted(paged["medallion"])

    # What came with the second post, each server by its own date_added.
    for name, peer in peers.items():
        everything = peer.get_manifest(version="all")["objects"]
        firsts = versions({"objects": first_post})
        cut = max(
            r["date_added"] for r in everything if (r["id"], normalised(r["version"])) in firsts
        )
        after = versions(peer.get_objects(added_after=cut, version="all"))
        assert after == versions({"objects": second_post}), name

    for object_id in (indicator["id"], actor["id"], malware["id"]):
        one = {name: versions(peer.get_object(object_id)) for name, peer in peers.items()}
        assert one["ours"] == one["medallion"]
        every = {
            name: versions(peer.get_object(object_id, version="all"))
            for name, peer in peers.items()
        }
        assert every["ours"] == every["medallion"]
        listed = {
            name: sorted(normalised(v) for v in peer.object_versions(object_id)["versions"])
            for name, peer in peers.items()
        }
        assert listed["ours"] == listed["medallion"]

    # Deleting one named version is the same on both.
    for peer in peers.values():
        peer.delete_object(indicator["id"], version=stamp(4))
    after_delete = {name: versions(peer.get_objects()) for name, peer in peers.items()}
    assert after_delete["ours"] == after_delete["medallion"]
    assert (indicator["id"], normalised(stamp(3))) in after_delete["ours"]

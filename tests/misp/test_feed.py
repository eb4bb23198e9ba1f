"""The MISP feed a partner's MISP pulls: served by ``diapason serve`` on loopback, read
over real HTTP with the partner's token; only what the release policy and the ledger
released to that partner is in it, and every pull is audited as a disclosure."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from diapason.exchange.misp import event_to_stix, misp_events
from diapason.node import Node, init_node
from diapason.settings import Settings, load_settings
from tests.misp.events import phishing_event, uuid_of
from tests.taxii.servers import Server

GRADED = (
    "tlp:green",
    'admiralty-scale:source-reliability="b"',
    'admiralty-scale:information-credibility="2"',
)


def own_event(node: Node, number: int = 1) -> dict[str, Any]:
    """An event this node's own MISP made (its Orgc is the node's identity), TLP:GREEN and
    graded: released, but for its tlp:red attribute and the one for the organisation only."""
    data = phishing_event(number=number, tags=GRADED)
    identity = node.identity_id
    assert identity is not None
    data["Event"]["Orgc"] = {"name": "Rabat", "uuid": identity.partition("--")[2]}
    return data


def load(node: Node, data: dict[str, Any]) -> None:
    (event,) = misp_events(data, "test")
    report = node.store.put_many(event_to_stix(event, own_identity=node.identity_id))
    assert not report.refused, report.refused


def md5(value: bytes) -> str:
    """MISP's feed hash of a value (md5: MISP's choice, a lookup key, not a protection)."""
    return hashlib.md5(value, usedforsecurity=False).hexdigest()


def get(server: Server, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/misp/feed/{path}", headers=headers, timeout=60)


@pytest.mark.slow
def test_a_partner_pulls_what_was_released_to_it(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "rabat"

    def settings() -> Settings:
        return load_settings(data, environ={}, database_url=database_url, sync_interval=0)

    node, initialised = init_node(settings(), "tests")
    assert initialised is not None
    admin_token = initialised.token.secret
    try:
        _partner, issued = node.partners.add("paris", "http://127.0.0.1:9/", "their-token")
        assert issued is not None
        token = issued.secret
        load(node, own_event(node))
        # A third party's event, TLP:GREEN and graded: not ours to give.
        load(node, phishing_event(number=2, tags=GRADED))
        node.ledger.run("tests")
    finally:
        node.close()

    server = Server.start(data, database_url)
    try:
        manifest = get(server, "manifest.json", token)
        assert manifest.status_code == 200, manifest.text
        listed = manifest.json()
        assert list(listed) == [uuid_of(1)]
        assert listed[uuid_of(1)]["info"] == "Hameçonnage visant le ministère"

        pulled = get(server, f"{uuid_of(1)}.json", token)
        assert pulled.status_code == 200, pulled.text
        event = pulled.json()["Event"]
        text = pulled.text
        assert event["uuid"] == uuid_of(1)
        assert "tlp:green" in {tag["name"] for tag in event["Tag"]}
        values = {a["value"] for a in event.get("Attribute", [])} | {
            a["value"] for o in event.get("Object", []) for a in o["Attribute"]
        }
        assert "mail-ministere.example" in values
        # What the policy withholds is not there: the tlp:red attribute, the one for the
        # organisation only, the third party's galaxy cluster and event.
        assert "203.0.113.5" not in text
        assert "intranet.example" not in text
        assert "Fancy Bear" not in text
        assert get(server, f"{uuid_of(2)}.json", token).status_code == 404

        hashes = get(server, "hashes.csv", token)
        assert hashes.status_code == 200
        lines = set(hashes.text.splitlines())
        assert f"{md5(b'mail-ministere.example')},{uuid_of(1)}" in lines
        assert not [line for line in lines if md5(b"203.0.113.5") in line]

        # Refusals: no token, an account that is not a partner's, a name that is no uuid.
        anonymous = get(server, "manifest.json", None)
        assert anonymous.status_code == 401
        assert "credentials" in anonymous.json()["error"]
        admin = get(server, "manifest.json", admin_token)
        assert admin.status_code == 403
        assert admin.json() == {"error": "only a partner node's account reads the MISP feed"}
        assert get(server, "..%2Fmanifest.json", token).status_code == 404

        # A new event released while the node serves: in the next pull.
        node = Node.open(settings())
        try:
            load(node, own_event(node, number=3))
            node.ledger.run("tests")
        finally:
            node.close()
        assert sorted(get(server, "manifest.json", token).json()) == [uuid_of(1), uuid_of(3)]
    finally:
        server.stop()

    node = Node.open(settings())
    try:
        disclosed = node.audit.entries(actor="paris", action="disclose", limit=100)
        paths = [entry.details.get("misp_feed") for entry in disclosed]
        assert paths == [
            "/misp/feed/manifest.json",
            f"/misp/feed/{uuid_of(1)}.json",
            "/misp/feed/hashes.csv",
            "/misp/feed/manifest.json",
        ]
        event_entry = disclosed[1]
        assert f"report--{uuid_of(1)}" in event_entry.object_ids
        assert f"indicator--{uuid_of(0xA2)}" not in event_entry.object_ids
        assert event_entry.details["partner"] == "paris"
        refused = node.audit.entries(action="access_denied", limit=100)
        assert any("not a partner" in entry.details.get("why", "") for entry in refused)
    finally:
        node.close()

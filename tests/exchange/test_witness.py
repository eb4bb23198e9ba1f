"""The witness kept for partners: what is kept of the heads they send (by receipt or after
a round), what is refused, and the endpoint a partner reads them back from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import orjson
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from stix2validator import ValidationOptions, validate_instance

from diapason.audit import Head, WitnessedHead
from diapason.domain.extensions import RECEIPT_EXTENSION_ID, extension_schema
from diapason.exchange.protocol import WITNESS_PATH
from diapason.exchange.receipts import make_receipt
from diapason.exchange.witness import Witnesses, parse_head
from diapason.node import Node
from diapason.store.schema import witnessed_heads
from diapason.web.app import create_app
from tests.taxii.conftest import open_taxii

H = [f"{n:064x}" for n in range(40)]
DAY = "2026-03-0{}T{:02d}:{:02d}:00.000000Z"


def at(day: int, hour: int, minute: int = 0) -> str:
    return DAY.format(day, hour, minute)


@pytest.fixture
def witnesses(engine: sa.Engine) -> Witnesses:
    return Witnesses(engine)


def test_heads_are_kept_known_dropped_or_refused(witnesses: Witnesses) -> None:
    kept = witnesses.record("rabat", Head(5, H[5]), "sync", now=at(1, 10))
    assert (kept.outcome, kept.held) == ("kept", WitnessedHead(5, H[5], at(1, 10)))
    assert witnesses.record("rabat", Head(5, H[5]), "receipt", now=at(1, 11)).outcome == "known"
    # Older than the newest kept, or within a second of it: adds nothing.
    assert witnesses.record("rabat", Head(9, H[9]), "sync", now=at(1, 10)).outcome == "dropped"
    witnesses.record("rabat", Head(9, H[9]), "sync", now=at(1, 12))
    assert witnesses.record("rabat", Head(7, H[7]), "sync", now=at(1, 13)).outcome == "dropped"
    conflict = witnesses.record("rabat", Head(9, H[1]), "sync", now=at(1, 14))
    assert conflict.outcome == "conflict"
    assert conflict.held == WitnessedHead(9, H[9], at(1, 12))
    # Each partner has its own heads; a listing pages by seq.
    witnesses.record("tunis", Head(2, H[2]), "sync", now=at(1, 10))
    assert witnesses.heads("rabat") == [
        WitnessedHead(5, H[5], at(1, 10)),
        WitnessedHead(9, H[9], at(1, 12)),
    ]
    assert witnesses.heads("rabat", after=5) == [WitnessedHead(9, H[9], at(1, 12))]
    assert witnesses.heads("rabat", limit=1) == [WitnessedHead(5, H[5], at(1, 10))]
    assert [row["partner"] for row in witnesses.summary()] == ["rabat", "tunis"]
    assert witnesses.summary()[0] == {
        "partner": "rabat",
        "heads": 2,
        "last_seq": 9,
        "last_hash": H[9],
        "last_witnessed_at": at(1, 12),
    }


def test_after_a_day_an_hour_keeps_its_first_and_last_head(witnesses: Witnesses) -> None:
    seq = 0
    for hour in (8, 9):  # six heads in each of two hours
        for minute in range(0, 60, 10):
            seq += 1
            witnesses.record("rabat", Head(seq, H[seq]), "sync", now=at(1, hour, minute))
    assert len(witnesses.heads("rabat")) == 12
    # A day later, the first head of a new hour thins the hours older than a day.
    witnesses.record("rabat", Head(20, H[20]), "sync", now=at(2, 9, 30))
    assert [head.seq for head in witnesses.heads("rabat")] == [1, 6, 7, 8, 9, 10, 11, 12, 20]
    witnesses.record("rabat", Head(21, H[21]), "sync", now=at(2, 10, 30))
    assert [head.seq for head in witnesses.heads("rabat")] == [1, 6, 7, 12, 20, 21]


@pytest.mark.parametrize(
    "value",
    [
        {"seq": 3, "hash": H[3], "extra": 1},
        {"seq": 0, "hash": H[3]},
        {"seq": True, "hash": H[3]},
        {"seq": "3", "hash": H[3]},
        {"seq": 2**53 + 1, "hash": H[3]},
        {"seq": 3, "hash": "A" * 64},
        {"seq": 3, "hash": H[3][:63]},
        [3, H[3]],
        None,
    ],
)
def test_anything_but_a_head_is_not_one(value: object) -> None:
    assert parse_head(value) is None
    assert parse_head({"seq": 3, "hash": H[3]}) == Head(3, H[3])


def test_a_receipt_carries_the_head_and_stays_valid_stix() -> None:
    receipt = make_receipt(
        "rabat",
        "identity--6f0f1a35-9bd3-4f3e-8f4a-1b7b1c0a2d11",
        [("indicator--0b1c7c33-5d0f-4b5e-8a36-2c5f1e6b6f10", "2026-01-01T00:00:00.000Z")],
        Head(12, H[12]),
    )
    assert receipt["audit_head"] == {"seq": 12, "hash": H[12]}
    results = validate_instance(receipt, ValidationOptions(version="2.1"))
    assert results.is_valid, [str(error) for error in results.errors]
    # The receipt extension's schema (shipped unchanged) takes it as it is.
    jsonschema.Draft202012Validator(extension_schema(RECEIPT_EXTENSION_ID)).validate(receipt)
    assert "audit_head" not in make_receipt("rabat", None, [])


# -- the endpoint ---------------------------------------------------------------------------


@pytest.fixture
def paris(database_url: str, tmp_path: Path) -> Iterator[tuple[Node, TestClient, str]]:
    """A node with partner rabat (its account's token returned), served in process."""
    node, _admin = open_taxii(tmp_path / "paris", database_url)
    node.partners.add("rabat", "https://rabat.invalid:8000", "token-rabat-issued-for-paris")
    token = node.accounts.create_token("rabat", "rabat's node").secret
    with TestClient(create_app(node.settings, node)) as client:
        yield node, client, token


def test_a_partner_posts_its_head_and_reads_back_what_was_witnessed(
    paris: tuple[Node, TestClient, str],
) -> None:
    node, client, token = paris
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.post(WITNESS_PATH, content=orjson.dumps({"seq": 4, "hash": H[4]}), headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "kept"
    listing = client.get(WITNESS_PATH, headers=auth)
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "application/json"
    body = listing.json()
    assert (body["node"], body["partner"], body["more"]) == (
        node.settings.node_name,
        "rabat",
        False,
    )
    assert [(h["seq"], h["hash"]) for h in body["heads"]] == [(4, H[4])]
    # Reading the witness is audited here; keeping a head is not.
    assert [e.action for e in node.audit.entries(action="audit_verify")] == ["audit_verify"]


def test_a_contradicting_head_is_refused_and_audited(paris: tuple[Node, TestClient, str]) -> None:
    node, client, token = paris
    auth = {"Authorization": f"Bearer {token}"}
    client.post(WITNESS_PATH, content=orjson.dumps({"seq": 4, "hash": H[4]}), headers=auth)
    answer = client.post(WITNESS_PATH, content=orjson.dumps({"seq": 4, "hash": H[5]}), headers=auth)
    assert answer.status_code == 409
    assert answer.json()["error"].startswith(
        "entry 4 of partner rabat's audit trail differs from the head this node witnessed at "
    )
    refused = node.audit.entries(action="request_refused")
    assert [e.details["sent"] for e in refused] == [{"seq": 4, "hash": H[5]}]
    assert [(h.seq, h.hash) for h in Witnesses(node.database.engine).heads("rabat")] == [(4, H[4])]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the body is not JSON"),
        (b'{"seq": "4", "hash": "x"}', 'the body must be {"seq": N, "hash"'),
        (b"x" * 5000, "the body is over 4096 bytes"),
    ],
)
def test_a_bad_head_is_a_clear_400(
    paris: tuple[Node, TestClient, str], body: bytes, message: str
) -> None:
    _node, client, token = paris
    answer = client.post(WITNESS_PATH, content=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (400, 413)
    assert answer.json()["error"].startswith(message)


def test_only_a_partner_node_has_heads_witnessed(paris: tuple[Node, TestClient, str]) -> None:
    node, client, _token = paris
    anonymous = client.get(WITNESS_PATH)
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.headers["www-authenticate"]
    node.accounts.add_user("ana", "analyst")
    analyst = node.accounts.create_token("ana", "tests").secret
    refused = client.post(
        WITNESS_PATH,
        content=orjson.dumps({"seq": 1, "hash": H[1]}),
        headers={"Authorization": f"Bearer {analyst}"},
    )
    assert refused.status_code == 403
    assert [e.details["status"] for e in node.audit.entries(action="access_denied")] == [401, 403]
    with node.database.engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(witnessed_heads)).scalar()
            == 0
        )


def test_paging_parameters_are_checked(paris: tuple[Node, TestClient, str]) -> None:
    _node, client, token = paris
    auth = {"Authorization": f"Bearer {token}"}
    for query in ("after=-1", "limit=0", "limit=10001", "after=x"):
        answer = client.get(f"{WITNESS_PATH}?{query}", headers=auth)
        assert answer.status_code == 400, query
        assert "must be a whole number" in answer.json()["error"]

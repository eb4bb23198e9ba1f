"""Who may do what over TAXII: Basic (password or token) and Bearer, grants per collection
for users and partner nodes (set with ``diapason collection grant``), and the audit trail."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace

import click.testing
import pytest

from diapason.accounts import Limits
from diapason.cli import cli
from diapason.exchange.collections import Collection
from tests.builders import PERSON, sdo
from tests.taxii.conftest import PASSWORD, Taxii, basic, bearer, body, is_error

CHALLENGES = ("Basic", "Bearer")


def grant_with_the_cli(taxii: Taxii, *args: str) -> str:
    """Run ``diapason collection …`` in process, on the node's folder and database."""
    result = click.testing.CliRunner().invoke(
        cli,
        ["collection", *args, "--data", str(taxii.data)],
        env={"DIAPASON_DATABASE_URL": taxii.database_url, "COLUMNS": "200"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def private(taxii: Taxii) -> Iterator[Collection]:
    """A second collection nobody but admins may use, holding one object."""
    collection = taxii.node.collections.add("main", "Private", alias="private")
    taxii.add([sdo("indicator")], collection)
    yield collection


def test_basic_with_a_password(taxii: Taxii) -> None:
    taxii.user("alice", "analyst", password=PASSWORD)
    assert taxii.get("/taxii2/", auth=basic("alice", PASSWORD)).status_code == 200
    # Again, from the short cache of verified passwords.
    assert taxii.get("/taxii2/main/", auth=basic("alice", PASSWORD)).status_code == 200
    response = taxii.get("/taxii2/", auth=basic("alice", PASSWORD + "!"))
    is_error(response, 401)


def test_basic_with_an_api_token_as_the_password(taxii: Taxii) -> None:
    token = taxii.user("bot", "analyst")
    assert taxii.get("/taxii2/", auth=basic("bot", token)).status_code == 200
    # A token is only good with the name of its owner.
    is_error(taxii.get("/taxii2/", auth=basic("admin", token)), 401)
    is_error(taxii.get("/taxii2/", auth=basic("bot", taxii.token)), 401)


def test_bearer_tokens(taxii: Taxii) -> None:
    token = taxii.user("bot", "analyst")
    assert taxii.get("/taxii2/", auth=bearer(token)).status_code == 200
    assert taxii.get("/taxii2/", auth=f"bearer   {token}").status_code == 200
    is_error(taxii.get("/taxii2/", auth=bearer(token + "x")), 401)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer dia_nope",
        "Basic",
        "Basic !!!!",
        "Basic " + base64.b64encode(b"admin").decode(),
        "Basic " + base64.b64encode(b"admin:").decode(),
        "Basic " + base64.b64encode(b"nobody:" + PASSWORD.encode()).decode(),
        "Basic " + base64.b64encode(b"ad\x00min:" + PASSWORD.encode()).decode(),
        "Basic " + base64.b64encode("é:é".encode("latin-1")).decode(),
        "Digest username=admin",
        "Token dia_abc",
    ],
)
def test_missing_or_wrong_credentials_get_401_with_challenges(
    taxii: Taxii, authorization: str | None
) -> None:
    # Five attempts in a row: the throttle's first wait would come after the third.
    throttle = taxii.node.authenticator.throttle
    throttle.policy = replace(throttle.policy, account=Limits(10, 20))
    headers = taxii.headers()
    del headers["Authorization"]
    if authorization is not None:
        headers["Authorization"] = authorization
    for path in ("/taxii2/", "/taxii2/main/", taxii.objects_path(), taxii.manifest_path()):
        response = taxii.client.get(path, headers=headers)
        is_error(response, 401)
        challenge = response.headers["WWW-Authenticate"]
        assert all(scheme in challenge for scheme in CHALLENGES)
    response = taxii.client.post(taxii.objects_path(), headers=headers, content=b"{}")
    is_error(response, 401)


def test_credentials_that_cannot_be_decoded_get_401(taxii: Taxii) -> None:
    for raw in (b"Basic \xe9\xe9\xe9", b"Bearer \xff\xfe", b"Basic =\x01="):
        headers = {b"Accept": b"application/taxii+json;version=2.1", b"Authorization": raw}
        is_error(taxii.client.get("/taxii2/", headers=headers), 401)


def test_revoked_tokens_and_disabled_users_are_refused(taxii: Taxii) -> None:
    token = taxii.user("bot", "analyst")
    assert taxii.get("/taxii2/", auth=bearer(token)).status_code == 200
    info = taxii.node.accounts.list_tokens("bot")[0]
    taxii.node.accounts.revoke_token(info.id)
    is_error(taxii.get("/taxii2/", auth=bearer(token)), 401)
    other = taxii.user("carol", "analyst")
    taxii.node.accounts.disable_user("carol")
    is_error(taxii.get("/taxii2/", auth=bearer(other)), 401)


def test_a_role_without_taxii_access_is_forbidden(taxii: Taxii) -> None:
    token = taxii.user("audrey", "auditor")
    for path in ("/taxii2/", "/taxii2/main/", taxii.objects_path()):
        is_error(taxii.get(path, auth=bearer(token)), 403)


def test_partners_get_what_the_cli_grants(taxii: Taxii, private: Collection) -> None:
    shared = taxii.collection
    taxii.add([sdo("indicator")])
    reader = taxii.user("partner-r", "partner")
    writer = taxii.user("partner-w", "partner")
    both = taxii.user("partner-rw", "partner")
    grant_with_the_cli(taxii, "grant", "shared", "partner-r", "--read", "--no-write")
    grant_with_the_cli(taxii, "grant", "shared", "partner-w", "--no-read", "--write")
    output = grant_with_the_cli(taxii, "grant", shared.id, "partner-rw", "--read", "--write")
    assert "read=yes, write=yes" in output

    def seen(token: str) -> list[tuple[str, bool, bool]]:
        listed = body(taxii.get("/taxii2/main/collections/", auth=bearer(token)))
        return [(c["id"], c["can_read"], c["can_write"]) for c in listed.get("collections", [])]

    assert seen(reader) == [(shared.id, True, False)]
    assert seen(writer) == [(shared.id, False, True)]
    assert seen(both) == [(shared.id, True, True)]
    assert seen(taxii.token) == [(shared.id, True, True), (private.id, True, True)]
    assert body(taxii.get(taxii.collection_path(), auth=bearer(reader)))["can_write"] is False

    for token, can_read in ((reader, True), (writer, False), (both, True)):
        for path in (taxii.objects_path(), taxii.manifest_path()):
            response = taxii.get(path, auth=bearer(token))
            assert response.status_code == (200 if can_read else 403), response.text
    assert taxii.post([sdo("malware")], auth=bearer(writer)).status_code == 202
    assert taxii.post([sdo("malware")], auth=bearer(both)).status_code == 202
    is_error(taxii.post([sdo("malware")], auth=bearer(reader)), 403)

    # The private collection does not exist for any of them.
    for token in (reader, writer, both):
        for path in (
            taxii.collection_path(private),
            taxii.collection_path("private"),
            taxii.objects_path(private),
            taxii.manifest_path(private),
        ):
            is_error(taxii.get(path, auth=bearer(token)), 404)
        is_error(taxii.post([sdo("malware")], private, auth=bearer(token)), 404)

    grant_with_the_cli(taxii, "revoke", "shared", "partner-rw")
    assert seen(both) == []
    is_error(taxii.get(taxii.objects_path(), auth=bearer(both)), 404)


def test_a_grant_gives_no_more_than_the_role_allows(taxii: Taxii) -> None:
    """A viewer granted write still may not write: its role has no taxii:write."""
    vera = taxii.user("vera", "viewer", grants={taxii.collection.id: (True, True)})
    resource = body(taxii.get(taxii.collection_path(), auth=bearer(vera)))
    assert (resource["can_read"], resource["can_write"]) == (True, False)
    assert taxii.get(taxii.objects_path(), auth=bearer(vera)).status_code == 200
    is_error(taxii.post([sdo("indicator")], auth=bearer(vera)), 403)
    # An analyst with no grant sees no collection at all.
    ana = taxii.user("ana", "analyst")
    assert body(taxii.get("/taxii2/main/collections/", auth=bearer(ana))) == {}


@pytest.mark.parametrize(
    ("read", "write", "expected"),
    [(False, False, 404), (True, False, 403), (False, True, 403), (True, True, 200)],
)
def test_delete_follows_the_table_of_the_specification(
    taxii: Taxii, read: bool, write: bool, expected: int
) -> None:
    obj = sdo("indicator")
    taxii.add([obj])
    token = taxii.user("partner-x", "partner", grants={taxii.collection.id: (read, write)})
    response = taxii.delete(taxii.object_path(obj["id"]), auth=bearer(token))
    if expected == 200:
        assert response.status_code == 200
        is_error(taxii.get(taxii.object_path(obj["id"])), 404)
    else:
        is_error(response, expected)
        assert taxii.get(taxii.object_path(obj["id"])).status_code == 200


def test_every_kind_of_request_is_audited(taxii: Taxii, private: Collection) -> None:
    partner = taxii.user("partner-a", "partner", grants={taxii.collection.id: (True, True)})
    auth = bearer(partner)
    obj = sdo("indicator")
    start = taxii.node.audit.latest()
    after = start.seq if start else 0

    assert taxii.post([obj, {"type": "nothing"}], auth=auth).status_code == 202
    assert taxii.get(taxii.objects_path(), auth=auth).status_code == 200
    assert taxii.get(taxii.manifest_path(), auth=auth).status_code == 200
    assert taxii.get(taxii.object_path(obj["id"]), auth=auth).status_code == 200
    assert taxii.get(taxii.object_path(obj["id"]) + "versions/", auth=auth).status_code == 200
    assert taxii.get("/taxii2/main/collections/", auth=auth).status_code == 200
    assert taxii.delete(taxii.object_path(obj["id"]), auth=auth).status_code == 200
    assert taxii.get(taxii.objects_path(private), auth=auth).status_code == 404
    viewer = taxii.user("vera", "viewer", grants={taxii.collection.id: (True, False)})
    assert taxii.post([sdo("malware")], auth=bearer(viewer)).status_code == 403
    assert taxii.get("/taxii2/", auth=bearer("dia_wrong")).status_code == 401
    bad_filter = taxii.get(taxii.objects_path(), auth=auth, params={"limit": "none"})
    assert bad_filter.status_code == 400

    entries = taxii.node.audit.entries(after=after, limit=1000)
    mine = [(e.action, e.details.get("taxii")) for e in entries if e.actor == "partner-a"]
    assert mine == [
        ("receive", "add"),
        ("disclose", "objects"),
        ("disclose", "manifest"),
        ("disclose", "object"),
        ("disclose", "versions"),
        ("consult", "collections"),
        ("delete", "delete"),
        ("access_denied", taxii.objects_path(private)),
        ("request_refused", taxii.objects_path()),
    ]
    refused = next(e for e in entries if e.action == "request_refused")
    assert refused.details["status"] == 400 and refused.details["why"].startswith("limit:")
    received = next(e for e in entries if e.action == "receive")
    assert received.object_ids == (obj["id"],)
    assert received.details["refused"] == 1
    disclosed = next(e for e in entries if e.action == "disclose")
    assert disclosed.object_ids == (obj["id"],)
    assert disclosed.details["recipient"] == "partner-a"
    deleted = next(e for e in entries if e.action == "delete")
    assert deleted.object_ids == (obj["id"],)
    denials = [(e.actor, e.details["why"]) for e in entries if e.action == "access_denied"]
    assert denials == [
        ("partner-a", "no access to the collection"),
        ("vera", "no write access to the collection"),
        ("anonymous@testclient", "no valid credentials"),
    ]
    assert taxii.node.audit.verify().ok


def test_reading_a_person_over_taxii_is_a_personal_data_consultation(taxii: Taxii) -> None:
    """An analyst's read of a person record is audited as personal data, with the reason
    header where given; a viewer, whose role reads no personal data, does not get it."""
    other = sdo("indicator")
    taxii.add([PERSON, other])
    grants = {taxii.collection.id: (True, False)}
    ana = taxii.user("ana", "analyst", grants=grants)
    vera = taxii.user("vera", "viewer", grants=grants)

    response = taxii.client.get(
        taxii.objects_path(),
        headers=taxii.headers(bearer(ana), X_Diapason_Reason="case 7"),
    )
    assert PERSON["id"] in {obj["id"] for obj in body(response)["objects"]}
    one = taxii.get(taxii.object_path(PERSON["id"]), auth=bearer(ana))
    assert [obj["id"] for obj in body(one)["objects"]] == [PERSON["id"]]
    listed, single = taxii.node.audit.entries(actor="ana", action="consult")[-2:]
    assert listed.details["personal_data"] is True and listed.reason == "case 7"
    assert listed.details["persons"] == [PERSON["id"]]
    assert single.details["personal_data"] is True and single.reason is None

    seen = {
        obj["id"] for obj in body(taxii.get(taxii.objects_path(), auth=bearer(vera)))["objects"]
    }
    assert other["id"] in seen and PERSON["id"] not in seen
    refused = is_error(taxii.get(taxii.object_path(PERSON["id"]), auth=bearer(vera)), 403)
    assert "person" in refused["description"]
    entry = taxii.node.audit.entries(actor="vera", action="consult")[-1]
    assert entry.details["persons_withheld"] == 1 and "personal_data" not in entry.details

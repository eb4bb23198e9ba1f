"""Pairing two real nodes: ``partner invite`` / ``partner join`` both ways, a partner's
identity learned from its TAXII discovery, a mismatch refused, and joint items from a
partner whose identity is unknown counted as not attributed (never dropped silently)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from diapason.domain.coordination import RFI_TYPE
from diapason.domain.trust import Sender
from diapason.exchange.pairing import decode
from diapason.exchange.partners import IdentityMismatch, Partner, PartnerError
from diapason.exchange.protocol import IDENTITY_PROPERTY, TAXII
from tests.builders import sdo
from tests.clock import Clock, day
from tests.exchange.conftest import MakeFake, MakeNode
from tests.exchange.nodes import FedNode
from tests.exchange.test_tls import received, shared
from tests.pki import Pki


def ask(asker: FedNode, asked: str, title: str) -> str:
    """A request for information from ``asker`` to partner ``asked``; its id."""
    joint = asker.node.coordination(actor="tests", editor="tests", clock=Clock())
    revision = joint.create_request(title, "Quels relais ?", asked, day(14), priority="high")
    return str(revision.id)


def listed(node: FedNode) -> list[str]:
    """The ids ``coordinate rfi list`` shows on ``node``."""
    return [request["id"] for request in node.cli_json("coordinate", "rfi", "list")]


def sync(node: FedNode, partner: str) -> dict[str, object]:
    """One ``diapason sync`` round with ``partner``: its result (exit 1 when it failed)."""
    ran = node.cli("sync", "--partner", partner, "--force", "--json")
    [only] = orjson.loads(ran.stdout)["partners"]
    assert ran.returncode == (1 if only["status"] == "failed" else 0), ran.stderr
    return dict(only)


def invite(node: FedNode, name: str) -> str:
    made = node.cli("partner", "invite", name, "--url", node.url)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    # One line on standard output, the code alone: the rest goes to standard error.
    assert code.startswith("dpair1.") and "\n" not in code
    assert "diapason partner join" in made.stderr
    return code


@pytest.mark.slow
def test_invite_and_join_both_ways_pair_two_nodes_and_a_request_is_listed(
    make_node: MakeNode,
) -> None:
    rabat, paris = make_node("rabat"), make_node("paris")
    code = invite(rabat, "paris")
    # Its token is in no audit entry and no log: the audit keeps its id.
    assert code.split(".")[1] not in str(rabat.audit("token_create"))

    # paris joins from standard input (kept out of the shell's history), and prints the
    # code rabat needs, since rabat has no account on paris yet.
    command = [sys.executable, "-m", "diapason", "partner", "join", "-", "--url", paris.url]
    joined = subprocess.run(
        [*command, "--data", str(paris.data), "--json"],
        input=code,
        capture_output=True,
        text=True,
        env=paris.env(),
        timeout=120,
        check=False,
    )
    assert joined.returncode == 0, joined.stderr
    added = orjson.loads(joined.stdout)
    assert added["name"] == "rabat" and added["url"] == rabat.url
    assert added["identity_id"] == rabat.identity and added["identity_state"] == "unchecked"
    back = added["code_for_partner"]
    rejoined = rabat.cli_json("partner", "join", back)
    assert rejoined["identity_id"] == paris.identity and "code_for_partner" not in rejoined

    rabat.start()
    paris.start()
    request = ask(paris, "rabat", "Réseau de passeurs")
    assert sync(paris, "rabat")["status"] == "ok"  # releases it to rabat, confirms rabat
    assert sync(rabat, "paris")["status"] == "ok"  # pulls it, confirms paris
    assert listed(rabat) == [request]
    shown = rabat.cli("coordinate", "show", request)
    assert shown.returncode == 0 and "Réseau de passeurs" in shown.stdout

    partners = {p["name"]: p for p in rabat.cli_json("partner", "list")}
    assert partners["paris"]["identity_state"] == "confirmed"
    assert partners["paris"]["unattributed"] == 0
    assert paris.cli_json("partner", "list")[0]["identity_state"] == "confirmed"
    table = rabat.cli("partner", "list", env={**rabat.env(), "COLUMNS": "400"}).stdout
    assert f"partners of rabat (its identity: {rabat.identity})" in table
    assert f"│ {paris.identity} │ confirmed" in table


@pytest.mark.slow
def test_a_partner_added_without_identity_learns_it_and_its_requests_list(
    make_node: MakeNode,
) -> None:
    rabat, paris = make_node("rabat"), make_node("paris")
    # The manual steps, without --identity: an account and a token on each side first.
    for here, there in ((rabat, paris), (paris, rabat)):
        there.node.accounts.add_user(here.name, "partner")
    for here, there in ((rabat, paris), (paris, rabat)):
        token = there.node.accounts.create_token(here.name, f"{here.name} reads {there.name}")
        added = here.cli_json(
            "partner", "add", there.name, "--url", there.url, "--token", token.secret
        )
        assert added["identity_id"] is None and added["identity_state"] == "unknown"

    # A request paris sent before rabat knows its identity (as a TAXII POST of paris's
    # account would store it): stored, not listed, and said so.
    request = ask(paris, "rabat", "Filière")
    sent = paris.node.store.get(request)
    assert sent is not None and sent.type == RFI_TYPE
    report = rabat.node.store.put_many(
        [sent.object], source="partner:paris", sender=Sender(partner="paris")
    )
    assert report.written == [request]
    assert listed(rabat) == []
    [row] = rabat.cli_json("partner", "list")
    assert row["identity_state"] == "unknown" and row["unattributed"] == 1
    table = rabat.cli("partner", "list", env={**rabat.env(), "COLUMNS": "400"}).stdout
    assert "1 item from paris not attributed" in table

    paris.start()
    # The discovery states the node's identity (a custom property, as TAXII 2.1 allows).
    token = paris.node.accounts.create_token("rabat", "look")
    served = httpx.get(
        f"{paris.url}/taxii2/",
        headers={"Accept": TAXII, "Authorization": f"Bearer {token.secret}"},
        timeout=30,
    )
    assert served.status_code == 200 and served.json()[IDENTITY_PROPERTY] == paris.identity
    assert sync(rabat, "paris")["status"] == "ok"
    [row] = rabat.cli_json("partner", "list")
    assert row["identity_id"] == paris.identity and row["identity_state"] == "learned"
    assert row["unattributed"] == 0
    assert listed(rabat) == [request]
    learned = [d for _, d in rabat.audit("partner_update") if d.get("identity") == "learned"]
    assert learned == [{"partner": "paris", "identity_id": paris.identity, "identity": "learned"}]


@pytest.mark.slow
def test_an_identity_given_that_the_partner_contradicts_is_refused_not_overwritten(
    make_node: MakeNode,
) -> None:
    rabat, paris = make_node("rabat"), make_node("paris")
    # What `partner invite rabat` prepares on paris: rabat's account, collections, a token.
    token = paris.node.partners.prepare_account("rabat")
    wrong = f"identity--{uuid.uuid4()}"
    rabat.cli_json(
        "partner",
        "add",
        "paris",
        "--url",
        paris.url,
        "--token",
        token.secret,
        "--identity",
        wrong,
    )
    paris.start()
    failed = sync(rabat, "paris")
    assert failed["status"] == "failed"
    error = str(failed["error"])
    assert f"partner paris states identity {paris.identity}" in error
    assert f"this node's operator gave {wrong}" in error
    [row] = rabat.cli_json("partner", "list")
    assert row["identity_id"] == wrong and row["identity_state"] == "unchecked"
    assert "states identity" in str(row["last_error"])
    # The operator settles it: the next sync confirms it.
    updated = rabat.cli("partner", "update", "paris", "--identity", paris.identity)
    assert updated.returncode == 0, updated.stderr
    settled = sync(rabat, "paris")
    assert settled["status"] == "ok", settled["error"]
    assert rabat.cli_json("partner", "list")[0]["identity_state"] == "confirmed"


@pytest.mark.slow
def test_pairing_over_tls_pins_each_node_s_certificate(make_node: MakeNode, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    alpha, bravo = make_node("alpha"), make_node("bravo")
    alpha_cert, bravo_cert = pki.issue("alpha"), pki.issue("bravo")
    alpha.use_tls(alpha_cert)
    bravo.use_tls(bravo_cert)
    code = invite(alpha, "bravo")
    carried = decode(code, now=datetime.now(UTC), me="bravo")
    assert (carried.url, carried.fingerprint) == (alpha.url, alpha_cert.fingerprint)
    joined = bravo.cli_json("partner", "join", code, "--url", bravo.url)
    assert joined["security"] == "pinned" and joined["fingerprint"] == alpha_cert.fingerprint
    back = decode(joined["code_for_partner"], now=datetime.now(UTC), me="alpha")
    assert back.fingerprint == bravo_cert.fingerprint
    assert alpha.cli_json("partner", "join", joined["code_for_partner"])["security"] == "pinned"

    alpha.start()
    bravo.start()
    sent = shared(alpha, "bravo", 3)
    assert sync(alpha, "bravo")["status"] == "ok"
    assert sync(bravo, "alpha")["status"] == "ok"
    assert received(bravo, "alpha") >= sent
    assert bravo.cli_json("partner", "list")[0]["identity_state"] == "confirmed"


@pytest.mark.slow
def test_an_invited_node_not_yet_paired_writes_as_a_partner_never_as_this_node(
    make_node: MakeNode,
) -> None:
    rabat = make_node("rabat")
    # `partner invite paris` was run; paris has not paired back (no partner row here).
    token = rabat.node.partners.prepare_account("paris")
    inbox = rabat.node.collections.find_alias("main", "from-paris")
    assert inbox is not None and rabat.node.partners.get("paris") is None
    rabat.start()
    forged = sdo("threat-actor", name="signed as rabat", created_by_ref=rabat.identity)
    plain = sdo("threat-actor", name="paris's own")
    posted = httpx.post(
        f"{rabat.url}/taxii2/main/collections/{inbox.id}/objects/",
        content=orjson.dumps({"objects": [forged, plain]}),
        headers={
            "Accept": TAXII,
            "Content-Type": TAXII,
            "Authorization": f"Bearer {token.secret}",
        },
        timeout=30,
    )
    assert posted.status_code == 202, posted.text
    status = posted.json()
    assert (status["success_count"], status["failure_count"]) == (1, 1)
    assert "created by this node: no partner may send it" in str(status["failures"])
    assert [row[0] for row in rabat.versions("partner:paris")] == [plain["id"]]


@pytest.mark.slow
def test_joint_items_from_a_partner_that_states_no_identity_are_counted_and_said(
    make_node: MakeNode, make_fake: MakeFake
) -> None:
    rabat, paris = make_node("rabat"), make_node("paris")
    paris.node.partners.add("rabat", "http://127.0.0.1:9", "unused", identity_id=rabat.identity)
    request = ask(paris, "rabat", "Filière")
    sent = paris.node.store.get(request)
    assert sent is not None
    # An older node: a proper TAXII collection, its discovery states no identity.
    older = make_fake("objects", "rabat", [sent.object])
    rabat.node.partners.add("older", older.url, "dia_a-token-they-gave-us")
    ran = rabat.cli("sync", "--partner", "older", "--json")
    assert ran.returncode == 0, ran.stderr
    assert orjson.loads(ran.stdout)["partners"][0]["received"] == 1
    assert "1 joint item(s) from older not attributed: its identity is unknown" in ran.stderr
    [row] = rabat.cli_json("partner", "list")
    assert (row["identity_state"], row["unattributed"]) == ("unknown", 1)
    assert listed(rabat) == []


def test_a_partner_may_not_state_this_node_s_or_another_partner_s_identity(
    make_node: MakeNode,
) -> None:
    rabat = make_node("rabat")
    partners = rabat.node.partners
    own = rabat.node.own_identities()
    lyon = f"identity--{uuid.uuid4()}"
    partners.add("lyon", "http://127.0.0.1:9", "unused", identity_id=lyon)
    partners.add("paris", "http://127.0.0.1:9", "unused")

    def paris() -> Partner:
        found = partners.get("paris")
        assert found is not None
        return found

    assert partners.settle_identity(paris(), None, own) is None  # an older node: nothing
    with pytest.raises(IdentityMismatch, match="which is partner lyon's"):
        partners.settle_identity(paris(), lyon, own)
    with pytest.raises(IdentityMismatch, match="this node's own identity"):
        partners.settle_identity(paris(), rabat.identity, own)
    with pytest.raises(PartnerError, match="expected identity--<UUID>"):
        partners.settle_identity(paris(), "identity--not-a-uuid", own)
    assert paris().identity_id is None and paris().identity_state == "unknown"
    stated = f"identity--{uuid.uuid4()}"
    assert partners.settle_identity(paris(), stated, own) == "learned"
    assert partners.settle_identity(paris(), stated, own) is None  # settled: nothing more
    assert (paris().identity_id, paris().identity_state) == (stated, "learned")
    with pytest.raises(IdentityMismatch, match=f"but it stated before {stated}"):
        partners.settle_identity(paris(), f"identity--{uuid.uuid4()}", own)

"""Two real nodes over mutual TLS (certificates made in the test), and every refusal: wrong
CA, expired certificate, wrong pinned fingerprint, missing or wrong client certificate, an
account bound to another certificate, plain http outside loopback. Each is one clear line
in ``diapason sync`` and in ``partner list`` (table and JSON), never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from diapason.domain.markings import releasability_marking
from diapason.store.schema import partners
from tests.exchange.build import Clock, graded, sdo
from tests.exchange.conftest import MakeNode
from tests.exchange.nodes import FedNode, version_key, wait_for
from tests.pki import EXPIRED, Pki


def shared(node: FedNode, partner: str, count: int) -> set[tuple[str, str]]:
    """``count`` objects ``node`` releases to ``partner``, stored on ``node``; their versions."""
    clock = Clock()
    rel_to = releasability_marking([partner])
    objects = [rel_to] + [
        graded(sdo("threat-actor", node.identity, "green", clock, name=f"{node.name} {n}"))
        for n in range(count)
    ]
    node.put(objects)
    return {version_key(obj) for obj in objects}


def received(node: FedNode, partner: str) -> set[tuple[str, str]]:
    return {(i, m) for i, m, _ in node.versions(source=f"partner:{partner}")}


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def errors_of(node: FedNode, result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The error of each partner in ``diapason sync --json``'s output, checked against the
    last error ``partner list --json`` shows for it."""
    no_traceback(result)
    assert result.returncode == 1, (result.stdout, result.stderr)
    errors = {r["partner"]: r["error"] for r in orjson.loads(result.stdout)["partners"]}
    listed = {p["name"]: p["last_error"] for p in node.cli_json("partner", "list")}
    for name, error in errors.items():
        assert error is not None and "\n" not in error
        assert listed[name] == error
    return errors


@pytest.mark.slow
def test_two_nodes_sync_over_mutual_tls(make_node: MakeNode, tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    a, b = make_node("alpha"), make_node("bravo")
    a_cert, b_cert = pki.issue("alpha"), pki.issue("bravo")
    # Client certificates from the CA are required of every connection, both ways.
    a.use_tls(a_cert, pki.ca_file)
    b.use_tls(b_cert, pki.ca_file)
    from_a, from_b = shared(a, "bravo", 20), shared(b, "alpha", 5)

    # alpha checks bravo's certificate by its pinned fingerprint, bravo checks alpha's
    # against the CA; each binds the other's account to the other's client certificate.
    added = a.cli_json(
        "partner", "add", "bravo", "--url", b.url, "--token", "dia_later",
        "--identity", b.identity, "--fingerprint", b_cert.fingerprint,
        "--client-fingerprint", b_cert.fingerprint,
    )  # fmt: skip
    assert (added["security"], added["client_certificate"]) == ("pinned", b_cert.fingerprint)
    added = b.cli_json(
        "partner", "add", "alpha", "--url", a.url, "--token", added["token_for_partner"],
        "--identity", a.identity, "--ca", str(pki.ca_file),
        "--client-fingerprint", a_cert.fingerprint,
    )  # fmt: skip
    assert added["security"] == "ca" and added["url"].startswith("https://")
    updated = a.cli("partner", "update", "bravo", "--token", added["token_for_partner"])
    assert updated.returncode == 0, updated.stderr

    # The loops of both servers pull from each other over mTLS; the receipts go back.
    a.start(sync_interval=1)
    b.start(sync_interval=1)
    wait_for(lambda: received(b, "alpha") >= from_a, 60, "bravo receives alpha's objects")
    wait_for(lambda: received(a, "bravo") >= from_b, 60, "alpha receives bravo's objects")
    wait_for(
        lambda: a.node.deliveries.unacknowledged("bravo") == 0,
        60,
        "bravo's receipts reach alpha",
    )
    assert b.partner_row("alpha")["last_error"] is None
    b.stop()

    # A token alone is not enough: alpha binds bravo's account to another certificate (of
    # the same CA), and bravo's valid token over its own certificate is refused.
    other = pki.issue("bravo-old")
    rebound = a.cli("partner", "update", "bravo", "--client-fingerprint", other.fingerprint)
    assert rebound.returncode == 0, rebound.stderr
    errors = errors_of(b, b.cli("sync", "--json"))
    assert errors["alpha"].endswith(
        f"the partner refused our credentials (401); this node presents the client "
        f"certificate {b_cert.cert}"
    )
    denied = [details["why"] for _ids, details in a.audit("access_denied")]
    assert (
        f"valid credentials over the client certificate {b_cert.fingerprint}, not the one "
        f"bound ({other.fingerprint}); refused"
    ) in denied
    # A terminal wide enough that no cell wraps (at 80 columns they wrap, ids kept whole).
    table = b.cli("partner", "list", env={**b.env(), "COLUMNS": "400"})
    no_traceback(table)
    assert "refused our" in table.stdout and "https, its CA file" in table.stdout

    # Bound to the right certificate again, the next round goes through.
    bound = a.cli("partner", "update", "bravo", "--client-fingerprint", b_cert.fingerprint)
    assert bound.returncode == 0, bound.stderr
    again = b.cli_json("sync", "--force")
    assert [r["status"] for r in again["partners"]] == ["ok"]


@pytest.mark.slow
def test_every_refusal_is_one_clear_line(make_node: MakeNode, tmp_path: Path) -> None:
    pki, other = Pki(tmp_path / "pki"), Pki(tmp_path / "other", "other")
    a, stale, b = make_node("alpha"), make_node("stale"), make_node("bravo")
    a_cert = pki.issue("alpha")
    a.use_tls(a_cert, pki.ca_file)  # client certificates from the CA required
    stale.use_tls(pki.issue("stale", window=EXPIRED))  # an expired server certificate
    b_cert = pki.issue("bravo")
    b.use_tls(b_cert)
    a.start()
    stale.start()
    ca = pki.ca_file.read_text()
    add = b.node.partners.add
    add("wrong-ca", a.url, "dia_x", ca_certificates=other.ca_file.read_text())
    add("expired", stale.url, "dia_x", ca_certificates=ca)
    add("wrong-pin", a.url, "dia_x", fingerprint="ab" * 32)
    add("system-ca", a.url, "dia_x")
    add("plain", "http://192.0.2.10:8000", "dia_x", insecure=True)
    add("alpha", a.url, "dia_x", ca_certificates=ca)
    # A partner reached over plain http from before TLS (the migration leaves it so): the
    # operator has not allowed it, so nothing is sent to it.
    with b.node.database.engine.begin() as connection:
        connection.execute(
            partners.update().where(partners.c.name == "plain").values(insecure=False)
        )

    errors = errors_of(b, b.cli("sync", "--json"))
    host = "127.0.0.1"
    assert errors["wrong-ca"] == (
        f"TLS: {host}'s certificate is not signed by the CA file given for this partner; refused"
    )
    assert errors["system-ca"] == (
        f"TLS: {host}'s certificate is not signed by a CA this system trusts; refused"
    )
    assert errors["expired"] == f"TLS: {host} presented an expired certificate; refused"
    assert errors["wrong-pin"] == (
        f"TLS: {host} presented the certificate {a_cert.fingerprint}, not the pinned "
        f"{'ab' * 32}; refused"
    )
    assert errors["plain"] == (
        "partner URL http://192.0.2.10:8000: plain http outside loopback would send the token "
        "and everything in clear; use https, or allow it with --insecure"
    )
    # Past the TLS checks, alpha answers: the token is wrong.
    assert "the partner refused our credentials (401)" in errors["alpha"]
    # The table of `sync` and of `partner list` show them too, without a traceback.
    for args in (("sync", "--force"), ("partner", "list")):
        shown = b.cli(*args)
        no_traceback(shown)
        assert "expired" in shown.stdout and "pinned" in shown.stdout

    # What bravo presents to alpha, which requires a client certificate from its CA.
    foreign, expired = other.issue("bravo"), pki.issue("bravo-expired", window=EXPIRED)
    without = {k: v for k, v in b.env().items() if not k.startswith("DIAPASON_TLS_")}
    refused_certificates = {
        "none": (without, " (this node presents none: set sync_cert and sync_key, or tls_cert"),
        "another CA's": (
            b.env(DIAPASON_SYNC_CERT=str(foreign.cert), DIAPASON_SYNC_KEY=str(foreign.key)),
            f" (this node presents {foreign.cert})",
        ),
        "expired": (
            b.env(DIAPASON_SYNC_CERT=str(expired.cert), DIAPASON_SYNC_KEY=str(expired.key)),
            f" (this node's, {expired.cert}, expired on 2021-01-01)",
        ),
    }
    for what, (env, presented) in refused_certificates.items():
        result = b.cli("sync", "--partner", "alpha", "--force", "--json", env=env)
        error = errors_of(b, result)["alpha"]
        # Under TLS 1.3 the server refuses after the handshake and closes the connection,
        # its alert usually unread; when the alert is read, it says why.
        closed = f"TLS: {host} closed the connection without answering: it may have refused"
        alert = f"TLS: {host} refused the connection: "
        assert error.startswith((closed, alert)) and presented in error, (what, error)


@pytest.mark.slow
def test_partner_commands_refuse_what_would_not_protect(
    make_node: MakeNode, tmp_path: Path
) -> None:
    node = make_node("alpha")
    pki = Pki(tmp_path / "pki")
    issued = pki.issue("bravo")

    def refused(*args: str) -> str:
        result = node.cli("partner", *args)
        no_traceback(result)
        assert result.returncode == 1, result.stdout
        assert result.stderr.count("\n") == 1, result.stderr
        return result.stderr

    add = ("add", "bravo", "--token", "dia_x")
    assert "plain http outside loopback" in refused(*add, "--url", "http://192.0.2.10:8000")
    assert "use an https:// URL" in refused(
        *add, "--url", "http://127.0.0.1:9", "--ca", str(pki.ca_file)
    )
    assert "expected a SHA-256 fingerprint" in refused(
        *add, "--url", "https://192.0.2.10", "--fingerprint", "abc"
    )
    https = ("--url", "https://192.0.2.10")
    assert "holds a private key" in refused(*add, *https, "--ca", str(issued.key))
    assert "cannot be read" in refused(*add, *https, "--ca", str(tmp_path / "none.pem"))
    assert node.node.partners.all() == []

    # Said with --insecure, it is allowed, and shows.
    node.cli_json("partner", *add, "--url", "http://192.0.2.10:8000", "--insecure")
    listed = node.cli_json("partner", "list")
    assert (listed[0]["security"], listed[0]["insecure"]) == ("insecure", True)
    assert "INSECURE" in node.cli("partner", "list").stdout
    assert "plain http outside loopback" in refused("update", "bravo", "--no-insecure")

    # Moving it to https with its CA file; the fingerprint as openssl prints it.
    colons = ":".join(issued.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    updated = node.cli(
        "partner", "update", "bravo", "--url", "https://192.0.2.10:8443",
        "--ca", str(pki.ca_file), "--client-fingerprint", f"sha256 Fingerprint={colons}",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    partner = node.node.partners.get("bravo")
    assert partner is not None and partner.security == "ca"
    assert partner.client_certificate == issued.fingerprint
    account = node.node.accounts.get_user("bravo")
    assert account is not None and account.certificate == issued.fingerprint
    cleared = node.cli("partner", "update", "bravo", "--ca", "none", "--client-fingerprint", "none")
    assert cleared.returncode == 0, cleared.stderr
    partner = node.node.partners.get("bravo")
    assert partner is not None
    assert (partner.security, partner.client_certificate) == ("system", None)

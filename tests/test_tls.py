"""TLS pieces on their own: fingerprints as operators type them, loopback, CA files, the
TLS settings, and the authenticator's refusal of a token over the wrong certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from diapason.accounts import Accounts, SignInThrottle, ThrottlePolicy
from diapason.audit import AuditLog
from diapason.authentication import Authenticator, client_certificate
from diapason.settings import SettingsError, load_settings
from diapason.tls import (
    TlsError,
    ca_certificates,
    is_loopback,
    parse_fingerprint,
    pem_fingerprint,
    read_ca_file,
)
from tests.pki import Pki

DIGITS = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "typed",
    [
        DIGITS,
        DIGITS.upper(),
        ":".join(DIGITS[i : i + 2] for i in range(0, 64, 2)).upper(),
        f"sha256 Fingerprint={':'.join(DIGITS[i : i + 2] for i in range(0, 64, 2))}",
        f"SHA256:{DIGITS}",
        f"  {DIGITS}\n",
    ],
)
def test_fingerprints_as_typed(typed: str) -> None:
    assert parse_fingerprint(typed) == DIGITS


@pytest.mark.parametrize("typed", ["", "abc", DIGITS[:-1], DIGITS + "0", "g" * 64])
def test_what_is_not_a_fingerprint_is_refused(typed: str) -> None:
    with pytest.raises(TlsError, match="expected a SHA-256 fingerprint"):
        parse_fingerprint(typed)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.10", True),
        ("http://localhost:80/x", True),
        ("http://[::1]:8000", True),
        ("http://10.0.0.1:8000", False),
        ("http://partner.example", False),
        ("http://localhost.partner.example", False),
    ],
)
def test_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_ca_files_keep_certificates_only(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    text = pki.ca_file.read_text()
    assert read_ca_file(pki.ca_file) == text.strip() + "\n"
    assert ca_certificates(f"# comment\n{text}\ntrailing words\n") == text.strip() + "\n"
    issued = pki.issue("node")
    with pytest.raises(TlsError, match="holds a private key"):
        read_ca_file(issued.key)
    with pytest.raises(TlsError, match="no PEM certificate"):
        ca_certificates("not a certificate")
    (tmp_path / "binary.pem").write_bytes(b"\xff\xfe")
    with pytest.raises(TlsError, match="not a PEM file"):
        read_ca_file(tmp_path / "binary.pem")


def test_tls_settings(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        environ={
            "DIAPASON_TLS_CERT": "node.pem",
            "DIAPASON_TLS_KEY": "node.key",
            "DIAPASON_CLIENT_CA": "ca.pem",
            "DIAPASON_CLIENT_AUTH": "optional",
        },
    )
    assert (settings.tls_cert, settings.client_auth) == (Path("node.pem"), "optional")
    assert settings.sync_cert is None
    with pytest.raises(SettingsError, match=r"client_auth .*required, optional"):
        load_settings(tmp_path, environ={"DIAPASON_CLIENT_AUTH": "sometimes"})
    with pytest.raises(SettingsError, match="sync_cert and sync_key: give both or neither"):
        load_settings(tmp_path, environ={"DIAPASON_SYNC_KEY": "a.key"})
    with pytest.raises(SettingsError, match="client_ca: needs tls_cert"):
        load_settings(tmp_path, environ={"DIAPASON_CLIENT_CA": "ca.pem"})
    (tmp_path / "diapason.toml").write_text('tls_cert = ""\n')
    with pytest.raises(SettingsError, match=r"tls_cert .*expected a file"):
        load_settings(tmp_path, environ={})


def test_a_token_over_another_certificate_proves_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    accounts, audit = Accounts(engine), AuditLog(engine)
    throttle = SignInThrottle(
        engine, ThrottlePolicy.from_settings(load_settings(tmp_path, environ={}))
    )
    authenticator = Authenticator(accounts, audit, throttle)
    accounts.add_user("paris", "partner")
    token = accounts.create_token("paris").secret
    header = f"Bearer {token}"
    assert authenticator.authenticate(header) is not None  # not bound: the token is enough

    pki = Pki(tmp_path)
    bound, other = pki.issue("paris"), pki.issue("mallory")
    accounts.bind_certificate("paris", bound.fingerprint)
    assert authenticator.authenticate(header) is None
    assert authenticator.authenticate(header, certificate=other.fingerprint) is None
    user = authenticator.authenticate(header, certificate=bound.fingerprint)
    assert user is not None and user.certificate == bound.fingerprint
    whys = [entry.details["why"] for entry in audit.entries(action="access_denied")]
    assert whys == [
        "valid credentials over no client certificate; refused",
        f"valid credentials over the client certificate {other.fingerprint}, not the one "
        f"bound ({bound.fingerprint}); refused",
    ]
    accounts.bind_certificate("paris", None)
    assert authenticator.authenticate(header) is not None


def test_the_client_certificate_of_a_request(tmp_path: Path) -> None:
    issued = Pki(tmp_path).issue("paris")
    pem = issued.cert.read_text()
    scope = {"type": "http", "extensions": {"tls": {"client_cert_chain": [pem]}}}
    assert client_certificate(scope) == pem_fingerprint(pem) == issued.fingerprint
    assert client_certificate({"type": "http"}) is None
    assert client_certificate({"extensions": {"tls": {"client_cert_chain": []}}}) is None

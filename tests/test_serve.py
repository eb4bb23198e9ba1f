"""``diapason serve``: a real server process on loopback, and the application factory."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from diapason.settings import load_settings
from diapason.web.app import create_app
from tests.pki import EXPIRED, Pki
from tests.taxii.servers import free_port


def start(data: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    return subprocess.Popen(
        [sys.executable, "-m", "diapason", "serve", "--data", str(data), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def wait_healthy(port: int, process: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer within 30 s")


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=30)
    return output


def test_serve_initialises_on_first_run_and_prints_the_token_once(tmp_path: Path) -> None:
    data = tmp_path / "node"
    port = free_port()
    process = start(data, port)
    response = wait_healthy(port, process)
    first = stop(process)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    tokens = [line for line in first.splitlines() if line.startswith("dia_")]
    assert len(tokens) == 1

    process = start(data, port)
    wait_healthy(port, process)
    second = stop(process)
    assert tokens[0] not in second
    assert "initialised" not in second


def test_health_from_the_factory(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "node": "diapason", "version": "0.1.0"}
        assert client.get("/nowhere").status_code == 404


def start_tls(data: Path, port: int, *options: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    command = [sys.executable, "-m", "diapason", "serve", "--data", str(data)]
    return subprocess.Popen(
        [*command, "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_serve_over_mutual_tls(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    server, client = pki.issue("node"), pki.issue("client")
    port = free_port()
    process = start_tls(
        tmp_path / "node",
        port,
        "--tls-cert", str(server.cert), "--tls-key", str(server.key),
        "--client-ca", str(pki.ca_file),
    )  # fmt: skip
    trusted = ssl.create_default_context(cafile=pki.ca_file)
    with_certificate = ssl.create_default_context(cafile=pki.ca_file)
    with_certificate.load_cert_chain(client.cert, client.key)
    url = f"https://127.0.0.1:{port}/health"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                response = httpx.get(url, verify=with_certificate, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not answer within 30 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.headers["strict-transport-security"].startswith("max-age=")
        # Without a client certificate, the connection is refused; over plain http too.
        with pytest.raises(httpx.TransportError):
            httpx.get(url, verify=trusted, timeout=5)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:
        output = " ".join(stop(process).split())  # the console wraps long lines
    assert f"on https://127.0.0.1:{port}/" in output
    assert f"client certificates signed by {pki.ca_file} required" in output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--tls-cert", "{cert}"), "tls_cert and tls_key: give both or neither"),
        (("--tls-cert", "{cert}", "--tls-key", "{missing}"), "tls_cert {missing}: no such file"),
        (
            ("--tls-cert", "{cert}", "--tls-key", "{other_key}"),
            "tls_cert {cert} and key {other_key}: cannot be used together",
        ),
        (("--tls-cert", "{cert}", "--tls-key", "{key}", "--client-ca", "{key}"), "client_ca {key}"),
        (("--client-ca", "{ca}"), "client_ca: needs tls_cert and tls_key"),
    ],
)
def test_tls_settings_that_cannot_be_used_are_one_line(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    pki = Pki(tmp_path / "pki")
    issued, other = pki.issue("node"), pki.issue("other")
    names = {
        "cert": issued.cert,
        "key": issued.key,
        "other_key": other.key,
        "missing": tmp_path / "missing.key",
        "ca": pki.ca_file,
    }
    process = start_tls(tmp_path / "node", free_port(), *(o.format(**names) for o in options))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "Traceback" not in output
    assert output.startswith(f"diapason: error: {message.format(**names)}"), output
    assert output.count("\n") == 1


def test_an_expired_certificate_is_served_with_a_warning(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    issued = pki.issue("node", window=EXPIRED)
    port = free_port()
    process = start_tls(
        tmp_path / "node", port, "--tls-cert", str(issued.cert), "--tls-key", str(issued.key)
    )
    trusted = ssl.create_default_context(cafile=pki.ca_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None
            try:
                # A client that checks refuses it: what the sync agent says is in
                # tests/exchange/test_tls.py.
                httpx.get(f"https://127.0.0.1:{port}/health", timeout=1, verify=trusted)
            except httpx.ConnectError as error:
                if "expired" in str(error):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "no TLS answer within 30 s"
            time.sleep(0.2)
    finally:
        output = " ".join(stop(process).split())  # the console wraps long lines
    assert f"expired on {EXPIRED[1]:%Y-%m-%d}: partners will refuse it" in output

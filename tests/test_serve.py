"""``diapason serve``: a real server process on loopback, and the application factory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from diapason.settings import load_settings
from diapason.web.app import create_app
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

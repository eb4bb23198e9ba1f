"""``serve --workers 2``: every scrape of ``/metrics`` gives the sum over both worker
processes (prometheus-client's multiprocess mode, in the data folder's ``metrics/``), and
a restart starts from zero (the folder is emptied when ``serve`` starts)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from diapason.node import init_node
from diapason.settings import load_settings
from tests.exchange.nodes import TAXII, base_env, wait_for
from tests.taxii.servers import free_port
from tests.web.test_metrics import requests_of, samples, value

pytestmark = pytest.mark.slow

REQUESTS = 40


class Served:
    def __init__(self, data: Path, port: int, token: str) -> None:
        self.data, self.port, self.token = data, port, token
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "diapason", "serve", "--data", str(self.data)]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--workers", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=base_env(DIAPASON_SYNC_INTERVAL="0"),
        )
        # Both workers up: the live gauge of workers sums to 2.
        wait_for(lambda: self.workers() == 2, 60, "two workers answering")

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        # A new connection each time: the kernel hands it to either worker.
        answer = httpx.get(
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return samples(answer.text)

    def workers(self) -> float:
        try:
            return value(self.scrape(), "diapason_http_workers")
        except (httpx.TransportError, KeyError):
            return 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data = tmp_path / "node"
    node, initialised = init_node(load_settings(data, environ={}, sync_interval=0), "tests")
    assert initialised is not None
    node.close()
    made = Served(data, free_port(), initialised.token.secret)
    try:
        yield made
    finally:
        made.stop()


def test_a_scrape_sums_the_workers_and_a_restart_starts_afresh(served: Served) -> None:
    served.start()
    headers = {"Authorization": f"Bearer {served.token}", "Accept": TAXII}
    for _ in range(REQUESTS):
        assert httpx.get(f"{served.url}/taxii2/", headers=headers, timeout=10).status_code == 200
    # Whichever worker answers the scrape, it gives the total over both.
    for _ in range(6):
        found = served.scrape()
        assert requests_of(found, "/taxii2/") == {"200": REQUESTS}
        assert value(found, "diapason_http_workers") == 2
        assert (
            value(
                found,
                "diapason_http_request_duration_seconds_count",
                endpoint="/taxii2/",
                method="GET",
            )
            == REQUESTS
        )
    folder = served.data / "metrics"
    pids = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
    assert len(pids) == 2, sorted(path.name for path in folder.iterdir())
    served.stop()
    served.start()
    found = served.scrape()
    assert requests_of(found, "/taxii2/") == {}
    assert value(found, "diapason_http_workers") == 2
    pids_now = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
    assert not pids_now & pids, "the previous run's files were not removed"
    # A backup leaves the workers' figures out (they start afresh with serve anyway).
    backup = served.data.parent / "backup"
    result = subprocess.run(
        [sys.executable, "-m", "diapason", "backup", str(backup), "--data", str(served.data)],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    manifest = orjson.loads((backup / "manifest.json").read_bytes())
    paths = [entry["path"] for entry in manifest["files"]]
    assert paths and not [path for path in paths if "/metrics/" in f"/{path}"], paths

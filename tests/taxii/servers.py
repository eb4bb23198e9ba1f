"""Real ``diapason serve`` processes on loopback, several of them over one data folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text(errors='replace')}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url} within 30 s")


@dataclass
class Server:
    """One ``diapason serve`` process; its output goes to a log file (a pipe could fill)."""

    data: Path
    database_url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, data: Path, database_url: str, port: int | None = None) -> Server:
        port = port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
        env["DIAPASON_DATABASE_URL"] = database_url
        env["DIAPASON_LOG_LEVEL"] = "warning"
        log = data.parent / f"serve-{port}-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "diapason", "serve", "--data", str(data)]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*command, "--port", str(port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        server = cls(data, database_url, port, process, log)
        try:
            wait_until_up(f"{server.url}/health", process, log)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        return self.log.read_text(errors="replace")

    def restart(self) -> Server:
        """Stop this process and start a new one on the same port, folder and database."""
        self.stop()
        return Server.start(self.data, self.database_url, self.port)

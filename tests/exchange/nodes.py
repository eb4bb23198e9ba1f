"""Real nodes for the exchange tests: a data folder, a database, and ``diapason serve``
or ``diapason sync`` run as separate processes on loopback, as an operator runs them."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from diapason.domain.timestamps import as_store_timestamp
from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.store.schema import audit_log, objects, partners
from tests.pki import Issued
from tests.taxii.servers import free_port

TAXII = "application/taxii+json;version=2.1"


def version_key(obj: dict[str, Any]) -> tuple[str, str]:
    """``(id, modified)`` of an object version as the store and TAXII write it
    (microsecond precision; an unversioned object's version is its creation time)."""
    return str(obj["id"]), as_store_timestamp(obj.get("modified") or obj["created"])


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def base_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any DIAPASON_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


@dataclass
class FedNode:
    """One node: its folder, its database, the node opened in this process (to load and
    inspect it), and at most one ``diapason serve`` process."""

    name: str
    data: Path
    database_url: str
    port: int
    node: Node
    admin_token: str
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    # Over TLS: the DIAPASON_* variables of its certificate (served, and presented to its
    # partners), and the context /health is probed with.
    tls_env: dict[str, str] = field(default_factory=dict)
    probe: ssl.SSLContext | None = None

    @classmethod
    def create(cls, root: Path, name: str, database_url: str | None) -> FedNode:
        data = root / name
        settings = load_settings(data, environ={}, node_name=name, database_url=database_url)
        node, initialised = init_node(settings, "tests")
        assert initialised is not None
        return cls(
            name,
            data,
            settings.database_url.reveal(),
            free_port(),
            node,
            initialised.token.secret,
        )

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_env else 'http'}://127.0.0.1:{self.port}"

    def use_tls(
        self, issued: Issued, client_ca: Path | None = None, client_auth: str = "required"
    ) -> None:
        """Serve over https with ``issued`` (and present it to partners); with
        ``client_ca``, ask clients for a certificate signed by it."""
        self.tls_env = {"DIAPASON_TLS_CERT": str(issued.cert), "DIAPASON_TLS_KEY": str(issued.key)}
        if client_ca is not None:
            self.tls_env |= {
                "DIAPASON_CLIENT_CA": str(client_ca),
                "DIAPASON_CLIENT_AUTH": client_auth,
            }
        # The probe asks whether the server is up, not whom to trust: it presents the
        # node's own certificate and takes whatever the server presents.
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        probe.check_hostname = False
        probe.verify_mode = ssl.CERT_NONE
        probe.load_cert_chain(issued.cert, issued.key)
        self.probe = probe

    @property
    def identity(self) -> str:
        found = self.node.identity_id
        assert found is not None
        return found

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(DIAPASON_DATABASE_URL=self.database_url, **{**self.tls_env, **extra})

    # -- processes ----------------------------------------------------------------------
    def start(self, sync_interval: int = 0) -> None:
        """``diapason serve`` with the background exchange loop every ``sync_interval``
        seconds (0: off); returns once /health answers."""
        assert self.process is None or self.process.poll() is not None, "already serving"
        log = self.data.parent / f"{self.name}-serve-{len(self.logs)}.log"
        self.logs.append(log)
        env = self.env(DIAPASON_SYNC_INTERVAL=str(sync_interval), DIAPASON_LOG_LEVEL="info")
        command = [sys.executable, "-m", "diapason", "serve", "--data", str(self.data)]
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log_text()}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=1, verify=self.probe or True)
                if health.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not answer on {self.url} within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)

    def log_text(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    def close(self) -> None:
        self.stop()
        self.node.close()

    def cli(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m diapason ARGS --data FOLDER`` as a separate process."""
        return subprocess.run(
            [sys.executable, "-m", "diapason", *args, "--data", str(self.data)],
            capture_output=True,
            text=True,
            env=env or self.env(),
            timeout=timeout,
            check=False,
        )

    def cli_json(self, *args: str, expect: int = 0, timeout: float = 120) -> Any:
        result = self.cli(*args, "--json", timeout=timeout)
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
        return orjson.loads(result.stdout)

    def sync_process(self, *args: str, page_size: int | None = None) -> subprocess.Popen[bytes]:
        """``diapason sync`` started in the background (to be killed), pulling pages of
        ``page_size`` objects and writing each in its own transaction (default: the
        settings' defaults)."""
        extra = (
            {}
            if page_size is None
            else {"DIAPASON_SYNC_PAGE_SIZE": str(page_size), "DIAPASON_BATCH_SIZE": str(page_size)}
        )
        return subprocess.Popen(
            [sys.executable, "-m", "diapason", "sync", "--data", str(self.data), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(**extra),
        )

    # -- what the database holds ----------------------------------------------------------
    def versions(self, source: str | None = None) -> list[tuple[str, str, str]]:
        """Every stored ``(id, modified, content)``, duplicates included, optionally only
        those with this provenance."""
        statement = sa.select(objects.c.id, objects.c.modified, objects.c.content)
        if source is not None:
            statement = statement.where(objects.c.source == source)
        with self.node.database.engine.connect() as connection:
            return [(row[0], row[1], row[2]) for row in connection.execute(statement)]

    def audit(self, action: str) -> list[tuple[list[str], dict[str, Any]]]:
        """Every audit entry with this action: ``(object ids, details)``, oldest first."""
        statement = (
            sa.select(audit_log.c.object_ids, audit_log.c.details)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        )
        with self.node.database.engine.connect() as connection:
            return [
                (orjson.loads(row[0]), orjson.loads(row[1]))
                for row in connection.execute(statement)
            ]

    def partner_row(self, name: str) -> dict[str, Any]:
        with self.node.database.engine.connect() as connection:
            row = connection.execute(sa.select(partners).where(partners.c.name == name)).first()
        assert row is not None, f"{self.name} has no partner {name}"
        return dict(row._mapping)

    def put(self, items: Iterable[dict[str, Any]]) -> None:
        """Store objects as this node's analysts would (provenance ``local``)."""
        report = self.node.store.put_many(list(items), source="local")
        assert not report.refused, report.refused[:3]
        self.node.audit.append("tests", "import", report.written)


def federate(here: FedNode, there: FedNode) -> None:
    """Partner two nodes both ways, as their administrators would: on each side an account
    for the other, a token for it, and a partner record with the other's URL and identity."""
    for a, b in ((here, there), (there, here)):
        if b.node.accounts.get_user(a.name) is None:
            b.node.accounts.add_user(a.name, "partner")
    for a, b in ((here, there), (there, here)):
        token = b.node.accounts.create_token(a.name, f"{a.name} reads {b.name}")
        a.node.partners.add(b.name, b.url, token.secret, identity_id=b.identity, account=b.name)


def taxii_get(url: str, token: str, params: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(
        url,
        params=params,
        headers={"Accept": TAXII, "Authorization": f"Bearer {token}"},
        timeout=30,
    )


def read_collection(url: str, token: str) -> list[dict[str, Any]]:
    """Every object version of a TAXII collection, page after page, as a reader sees it."""
    found: list[dict[str, Any]] = []
    params = {"match[version]": "all", "limit": "1000"}
    for _ in range(1000):
        response = taxii_get(f"{url}objects/", token, params)
        assert response.status_code == 200, response.text
        envelope = orjson.loads(response.content)
        found.extend(envelope.get("objects", []))
        if not envelope.get("more"):
            return found
        params = {"match[version]": "all", "limit": "1000", "next": envelope["next"]}
    raise AssertionError("paging did not end")

"""``diapason demo``: two real nodes, ``rabat`` and ``paris``, sharing under the policy.

The demo sets both nodes up (accounts, tokens and partnerships both ways), loads sample
objects under every marking on each side, starts both as real server processes on
loopback, lets their background loops release and pull, and prints what each side sees
and why. Everything goes through the same channel, policy and audit trail as real use.

Both nodes talk over mutual TLS: a throw-away CA is made for the run (``trustme``), each
node serves https with a certificate it signed and presents that certificate when it pulls
from the other; each side checks the other's certificate against the CA, and binds the
other's account to its certificate, so the token alone is not enough (docs/security.md).
Browsers may still sign in to the web interface without a certificate of their own
(``client_auth = "optional"``).
"""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import trustme

from diapason.anticipate.ucdp import Imported, Parsed, import_ucdp, read_ucdp, shipped_path
from diapason.domain.extensions import FIXED_HANDLING_IDS, TLP_2_0_IDS
from diapason.domain.grading import grade, mark_osint
from diapason.domain.markings import h3_marking, releasability_marking
from diapason.domain.protection import protect
from diapason.domain.stix import new_object, new_organisation
from diapason.domain.timestamps import stix_now
from diapason.node import Node, init_node
from diapason.settings import CONFIG_FILE, load_settings
from diapason.tls import pem_fingerprint

NAMES = ("rabat", "paris")


@dataclass
class Sample:
    """A sample object and what the demo expects the other side to see."""

    label: str
    obj: dict[str, Any]
    expected: bool


def _sdo(stix_type: str, author: str, tlp: str | None, **properties: Any) -> dict[str, Any]:
    markings = [TLP_2_0_IDS[tlp]] if tlp is not None else []
    return new_object(stix_type, created_by_ref=author, markings=markings, **properties)


def samples_for(
    own: str, partner: str, third_party: str
) -> tuple[list[dict[str, Any]], list[Sample]]:
    """Definitions to store first, and the sample objects of a node facing ``partner``."""
    rel_to = releasability_marking([partner])
    h3 = h3_marking("Not for use in judicial proceedings without the provider's consent.")
    today = datetime.now(UTC).date()

    def graded(obj: dict[str, Any], code: str = "B2") -> dict[str, Any]:
        return grade(obj, "admiralty", code[0], code[1])

    def with_markings(obj: dict[str, Any], *refs: str) -> dict[str, Any]:
        return {**obj, "object_marking_refs": [*obj.get("object_marking_refs", []), *refs]}

    person = {"identity_class": "individual"}
    samples = [
        Sample(
            "TLP:CLEAR open-source report",
            mark_osint(
                _sdo(
                    "report",
                    own,
                    "clear",
                    name="Coopération sécuritaire et migration: communiqué public",
                    published=stix_now(),
                    object_refs=[own],
                )
            ),
            True,
        ),
        Sample(
            "TLP:GREEN threat actor, graded B2",
            graded(_sdo("threat-actor", own, "green", name="Réseau de passeurs du Sahel")),
            True,
        ),
        Sample(
            f"TLP:AMBER, REL TO {partner}",
            graded(
                with_markings(
                    _sdo("intrusion-set", own, "amber", name="Cellule logistique transsaharienne"),
                    rel_to["id"],
                ),
                "A2",
            ),
            True,
        ),
        Sample(
            "TLP:AMBER without a REL TO list",
            graded(_sdo("threat-actor", own, "amber", name="Filière de faux documents")),
            False,
        ),
        Sample(
            f"TLP:AMBER+STRICT, REL TO {partner}",
            graded(
                with_markings(
                    _sdo("threat-actor", own, "amber+strict", name="Groupe armé frontalier"),
                    rel_to["id"],
                )
            ),
            True,
        ),
        Sample(
            "TLP:RED note",
            graded(
                _sdo(
                    "note",
                    own,
                    "red",
                    content="Source humaine: ne pas diffuser.",
                    object_refs=[own],
                )
            ),
            False,
        ),
        Sample(
            "TLP:GREEN but H3 (restrictions in free text)",
            graded(
                with_markings(
                    _sdo("threat-actor", own, "green", name="Réseau sous enquête"), h3["id"]
                )
            ),
            False,
        ),
        Sample(
            "TLP:GREEN, H2 handling",
            graded(
                with_markings(
                    _sdo("threat-actor", own, "green", name="Trafic de migrants, axe côtier"),
                    FIXED_HANDLING_IDS["H2"],
                )
            ),
            True,
        ),
        Sample(
            "TLP:GREEN, ungraded",
            _sdo("threat-actor", own, "green", name="Signalement non évalué"),
            False,
        ),
        Sample(
            "TLP:GREEN person, review date passed",
            graded(
                protect(
                    _sdo("identity", own, "green", name="Personne A", **person),
                    "suspect",
                    today - timedelta(days=30),
                    nature="assessment",
                    legal_basis="Art. 8, Directive 2016/680",
                    purpose="Prevention of smuggling of migrants",
                )
            ),
            False,
        ),
        Sample(
            "TLP:GREEN person, review date ahead",
            graded(
                protect(
                    _sdo("identity", own, "green", name="Personne B", **person),
                    "suspect",
                    today + timedelta(days=180),
                    nature="fact",
                    legal_basis="Art. 8, Directive 2016/680",
                    purpose="Prevention of smuggling of migrants",
                )
            ),
            True,
        ),
        Sample(
            "TLP:GREEN, created by a third party",
            graded(_sdo("threat-actor", third_party, "green", name="Rapport d'un tiers")),
            False,
        ),
    ]
    return [rel_to, h3], samples


def _third_party() -> dict[str, Any]:
    identity = new_organisation("Agence tierce", [TLP_2_0_IDS["green"]])
    return grade(identity, "admiralty", "C", "3")


@dataclass
class DemoNode:
    name: str
    data: Path
    port: int
    node: Node
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        """The demo's CA certificate, which every certificate of the run is signed by."""
        return self.data.parent / CA_FILE

    @property
    def certificate(self) -> Path:
        return self.data / "tls" / "node.pem"


# The throw-away CA of the demo (its certificate; its key is not kept), in the data root.
CA_FILE = "demo-ca.pem"


def _certificates(root: Path, say: Callable[[str], None]) -> None:
    """A throw-away CA and, signed by it, each node's certificate for 127.0.0.1 and
    localhost (server and client use), its key readable by its owner only; kept if the
    folder has them already."""
    folders = [root / name / "tls" for name in NAMES]
    if (root / CA_FILE).exists() and all((f / "node.pem").exists() for f in folders):
        return
    authority = trustme.CA(organization_name="Diapason demo")
    root.mkdir(parents=True, exist_ok=True)
    authority.cert_pem.write_to_path(root / CA_FILE)
    for name, folder in zip(NAMES, folders, strict=True):
        folder.mkdir(parents=True, exist_ok=True)
        issued = authority.issue_cert(
            "127.0.0.1", "localhost", common_name=f"{name}.demo", organization_name=name
        )
        (folder / "node.pem").write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
        key = folder / "node.key"
        key.touch(mode=0o600)
        key.write_bytes(issued.private_key_pem.bytes())
    say(f"TLS: a throw-away CA for this run, {root / CA_FILE}; each node has a certificate from it")


def _serve_over_tls(data: Path) -> None:
    """Add the node's TLS settings to its ``diapason.toml`` (once): https with its
    certificate, client certificates from the demo's CA checked when presented (a browser
    signs in without one; partner accounts are bound to theirs)."""
    config = data / CONFIG_FILE
    if "tls_cert" in config.read_text(encoding="utf-8"):
        return
    folder = (data / "tls").resolve()
    ca = (data.parent / CA_FILE).resolve()
    with config.open("a", encoding="utf-8") as handle:
        handle.write(
            "\n# Added by diapason demo: mutual TLS with the demo's throw-away CA.\n"
            f'tls_cert = "{folder / "node.pem"}"\n'
            f'tls_key = "{folder / "node.key"}"\n'
            f'client_ca = "{ca}"\n'
            'client_auth = "optional"\n'
        )


# The demo's web account on each node (an analyst): its password and a TAXII token of its
# own are kept in this file of the node's data folder, readable by its owner only.
WEB_USER = "analyste"
WEB_PASSWORD_FILE = "demo-web-password"  # noqa: S105 (a file name)
PASSWORD_KEY = "password"  # noqa: S105 (a key of the file, not a secret)
TOKEN_KEY = "taxii-token"  # noqa: S105 (a key of the file, not a secret)


def read_credentials(path: Path) -> dict[str, str]:
    """The ``key: value`` lines of a demo credentials file (``password``, ``taxii-token``)."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            found[key.strip()] = value.strip()
    return found


def _web_user(demo_node: DemoNode, say: Callable[[str], None]) -> None:
    """An analyst account to sign in to the node's web interface with, and a TAXII token of
    the same account for ``/taxii2/``. Both are made once, written to a private file and
    shown then; later runs say where they are."""
    path = demo_node.data / WEB_PASSWORD_FILE
    where = f"password and TAXII token in {path}"
    if demo_node.node.accounts.get_user(WEB_USER) is None:
        password = secrets.token_urlsafe(12)
        demo_node.node.accounts.add_user(WEB_USER, "analyst", password=password)
        demo_node.node.audit.append("demo", "user_add", details={"username": WEB_USER})
        name = f"demo: {WEB_USER} over TAXII"
        token = demo_node.node.accounts.create_token(WEB_USER, name)
        demo_node.node.audit.append(
            "demo",
            "token_create",
            details={"username": WEB_USER, "token_id": token.info.id, "name": name},
        )
        path.touch(mode=0o600)
        path.write_text(
            f"{PASSWORD_KEY}: {password}\n{TOKEN_KEY}: {token.secret}\n", encoding="utf-8"
        )
        where = (
            f"password {password}; TAXII token {token.secret} for {demo_node.url}/taxii2/ "
            f"(shown once; both kept in {path})"
        )
    say(f"{demo_node.name}: web interface {demo_node.url}/ — sign in as {WEB_USER}, {where}")


def set_up(
    root: Path, ports: tuple[int, int], say: Callable[[str], None]
) -> tuple[DemoNode, DemoNode]:
    """Initialise both nodes and partner them both ways over mutual TLS (idempotent on an
    existing folder)."""
    nodes = []
    _certificates(root, say)
    for name, port in zip(NAMES, ports, strict=True):
        settings = load_settings(root / name, environ={}, node_name=name)
        node, _initialised = init_node(settings, "demo")
        _serve_over_tls(root / name)
        nodes.append(DemoNode(name, root / name, port, node))
    rabat, paris = nodes
    for demo_node in nodes:
        _web_user(demo_node, say)
    for here, there in ((rabat, paris), (paris, rabat)):
        if there.node.accounts.get_user(here.name) is None:
            there.node.accounts.add_user(here.name, "partner")
    for here, there in ((rabat, paris), (paris, rabat)):
        existing = here.node.partners.get(there.name)
        ca = here.ca.read_text(encoding="ascii")
        if existing is None:
            token = there.node.accounts.create_token(
                here.name, f"demo: {here.name} reads {there.name}"
            )
            here.node.partners.add(
                there.name,
                there.url,
                token.secret,
                identity_id=there.node.identity_id,
                account=there.name,
                ca_certificates=ca,
            )
            here.node.audit.append("demo", "partner_add", details={"partner": there.name})
            say(f"{here.name}: partner {there.name} at {there.url}")
        elif existing.url != there.url or existing.ca_certificates != ca:
            here.node.partners.update(
                there.name, url=there.url, ca_certificates=ca, remote_collection=None
            )
        # What ``there`` presents when it pulls from ``here``: its account is bound to it.
        bound = pem_fingerprint(there.certificate.read_text(encoding="ascii"))
        here.node.accounts.bind_certificate(there.name, bound)
    return rabat, paris


@cache
def _history() -> Parsed:
    """The Sahel-Maghreb UCDP country-months shipped with the package, read and checked
    once for both nodes."""
    return read_ucdp(shipped_path(), "country-month")


def load_history(here: DemoNode) -> Imported:
    """Real history for the anticipation page: the shipped UCDP country-month deaths
    (Sahel-Maghreb, 1989-2023, CC BY 4.0), imported as any node imports them. Each node
    loads its own: UCDP's records are a third party's, not released to the partner."""
    return import_ucdp(here.node.store, here.node.audit, _history(), actor="demo")


def load(here: DemoNode, there: DemoNode) -> list[Sample]:
    """The sample objects under every marking, and the shipped UCDP history."""
    load_history(here)
    third = _third_party()
    identity = here.node.identity_id
    assert identity is not None
    definitions, samples = samples_for(identity, there.name, third["id"])
    report = here.node.store.put_many(
        [third, *definitions, *(sample.obj for sample in samples)], source="local"
    )
    if report.refused:
        raise RuntimeError(f"demo sample refused: {report.refused[0]}")
    here.node.audit.append("demo", "import", report.written, details={"demo": True})
    return samples


def start(
    demo: DemoNode,
    *,
    interval: int = 1,
    database_url: str | None = None,
    own_session: bool = False,
) -> None:
    """``diapason serve`` for one node, its output appended to ``serve.log`` in its data
    folder; ``database_url`` instead of the SQLite file, ``own_session`` so that a signal
    to the caller's process group does not reach it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env["DIAPASON_SYNC_INTERVAL"] = str(interval)
    if database_url:
        env["DIAPASON_DATABASE_URL"] = database_url
    with (demo.data / "serve.log").open("ab") as log:
        demo.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "diapason",
                "serve",
                "--data",
                str(demo.data),
                "--port",
                str(demo.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=own_session,
        )


def wait_healthy(demo: DemoNode, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    trusted = ssl.create_default_context(cafile=demo.ca)
    while time.monotonic() < deadline:
        if demo.process is not None and demo.process.poll() is not None:
            raise RuntimeError(f"{demo.name} stopped; see {demo.data / 'serve.log'}")
        try:
            if httpx.get(f"{demo.url}/health", timeout=1, verify=trusted).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{demo.name} did not answer on {demo.url} within {timeout:.0f} s")


def wait_arrived(there: DemoNode, samples: list[Sample], timeout: float = 30.0) -> float:
    """Wait until ``there`` holds every sample it is entitled to; returns the seconds taken."""
    started = time.monotonic()
    wanted = [sample.obj["id"] for sample in samples if sample.expected]
    while time.monotonic() - started < timeout:
        if len(there.node.store.known_ids(wanted)) == len(wanted):
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"{there.name} did not receive everything within {timeout:.0f} s")


def stop(demo: DemoNode) -> None:
    if demo.process is not None and demo.process.poll() is None:
        demo.process.terminate()
        try:
            demo.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            demo.process.kill()
    demo.node.close()


def outcome(here: DemoNode, there: DemoNode, samples: list[Sample]) -> list[dict[str, Any]]:
    """For each sample: what ``there`` holds and the decision ``here`` recorded, with why."""
    rows = []
    held = there.node.store.known_ids([sample.obj["id"] for sample in samples])
    for sample in samples:
        decisions = [
            d for d in here.node.ledger.decisions(sample.obj["id"]) if d.partner == there.name
        ]
        decision = decisions[-1] if decisions else None
        rows.append(
            {
                "label": sample.label,
                "id": sample.obj["id"],
                "seen": sample.obj["id"] in held,
                "expected": sample.expected,
                "code": decision.code if decision else "undecided",
                "reason": decision.reason if decision else "",
            }
        )
    return rows


def today() -> date:
    return datetime.now(UTC).date()

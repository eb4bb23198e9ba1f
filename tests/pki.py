"""Certificates made in the test, written as files as an operator has them: a CA (trustme),
certificates it signs for a node (server and client use, for 127.0.0.1 and localhost), and
the ones the refusals need (another CA's, an expired one, with a fixed validity window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import trustme

from diapason.tls import pem_fingerprint

# A validity window wholly in the past, whatever today is: what TLS calls expired.
EXPIRED = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class Issued:
    """A certificate (PEM, with its chain) and its key, in files."""

    cert: Path
    key: Path

    @property
    def fingerprint(self) -> str:
        return pem_fingerprint(self.cert.read_text(encoding="ascii"))


class Pki:
    """One CA and what it issues, in ``folder``."""

    def __init__(self, folder: Path, name: str = "ca") -> None:
        self.folder = folder
        self.name = name
        self.authority = trustme.CA(organization_name=f"Test {name}")
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / f"{name}.pem"
        self.authority.cert_pem.write_to_path(self.ca_file)

    def issue(self, name: str, *, window: tuple[datetime, datetime] | None = None) -> Issued:
        issued = self.authority.issue_cert(
            "127.0.0.1",
            "localhost",
            common_name=name,
            not_before=window[0] if window else None,
            not_after=window[1] if window else None,
        )
        cert = self.folder / f"{self.name}-{name}.pem"
        key = self.folder / f"{self.name}-{name}.key"
        cert.write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
        key.write_bytes(issued.private_key_pem.bytes())
        key.chmod(0o600)
        return Issued(cert, key)

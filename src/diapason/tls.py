"""TLS between nodes: certificates, fingerprints, the contexts of both sides, and the one
line an operator reads when a TLS connection is refused.

``diapason serve`` checks its certificate, key and client CA here before it starts; the sync
agent builds here the context it connects to a partner with (the partner's CA file, a
pinned fingerprint, or the system's CAs; this node's certificate presented when asked) and
turns here what ``ssl`` and ``httpx`` raise into a sentence. No function here turns
verification off: a pinned fingerprint replaces the CA check by a stricter one (that exact
certificate), checked before the first byte of a request is sent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from diapason.errors import DiapasonError

FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}\Z")
_PEM_CERTIFICATE_RE = re.compile(
    r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----"
)
# OpenSSL's verification codes (X509_V_ERR_*) an operator meets, in words.
_NOT_TRUSTED = {2, 18, 19, 20, 21}  # no path to a trusted CA
_EXPIRED, _NOT_YET_VALID, _WRONG_HOST = 10, 9, 62
# What the server side of a refused handshake may answer (the alert OpenSSL reports).
_ALERTS = {
    "CERTIFICATE_REQUIRED": "it requires a client certificate",
    "UNKNOWN_CA": "it does not trust the CA of this node's certificate",
    "BAD_CERTIFICATE": "it refused this node's certificate",
    "CERTIFICATE_EXPIRED": "it says this node's certificate has expired",
    "CERTIFICATE_UNKNOWN": "it refused this node's certificate",
    "HANDSHAKE_FAILURE": "the TLS handshake failed",
    "PROTOCOL_VERSION": "no TLS version in common",
}
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"}


class TlsError(DiapasonError, ValueError):
    """A certificate, key, CA file or fingerprint this node cannot use; says which, why."""


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a certificate (DER bytes): 64 lower-case hex digits."""
    return hashlib.sha256(der).hexdigest()


def pem_fingerprint(pem: str) -> str:
    """The fingerprint of the first certificate of a PEM text."""
    return fingerprint(ssl.PEM_cert_to_DER_cert(pem))


def parse_fingerprint(text: str, what: str = "fingerprint") -> str:
    """A SHA-256 fingerprint as an operator may type it (``openssl x509 -fingerprint
    -sha256`` prints ``sha256 Fingerprint=AB:CD:…``; colons, spaces and case are free),
    as 64 lower-case hex digits."""
    value = text.strip().lower()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        value = value.removeprefix(prefix)
    value = value.replace(":", "").replace(" ", "")
    if not FINGERPRINT_RE.match(value):
        raise TlsError(
            f"{what} {text[:100]!r}: expected a SHA-256 fingerprint "
            "(64 hexadecimal digits, colons allowed)"
        )
    return value


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = httpx.URL(url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_ca_file(path: Path) -> str:
    """The CA certificates of a PEM file, checked, as the text to keep."""
    try:
        text = path.read_text(encoding="ascii")
    except OSError as error:
        raise TlsError(f"CA file {path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise TlsError(f"CA file {path}: not a PEM file") from None
    return ca_certificates(text, f"CA file {path}")


def ca_certificates(text: str, where: str = "CA certificates") -> str:
    """The CA certificates of a PEM text, checked, as the text to keep (certificates only:
    a private key in it is refused rather than copied)."""
    if "PRIVATE KEY" in text:
        raise TlsError(f"{where}: holds a private key; give the CA certificates only")
    certificates = _PEM_CERTIFICATE_RE.findall(text)
    if not certificates:
        raise TlsError(f"{where}: no PEM certificate in it")
    kept = "\n".join(certificates) + "\n"
    try:
        ssl.create_default_context(cadata=kept)
    except ssl.SSLError as error:
        raise TlsError(f"{where}: not usable ({error.reason or error})") from None
    return kept


def not_after(path: Path) -> datetime | None:
    """When the first certificate of a PEM file expires; None if it cannot be read."""
    # Imported here: only a failure's explanation and `serve` read a certificate's dates,
    # and every command opening a node imports this module.
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Identity:
    """This node's certificate (PEM, with its chain) and private key, presented to a
    partner that asks for a client certificate."""

    cert: Path
    key: Path

    def load_into(self, context: ssl.SSLContext, what: str = "certificate") -> None:
        """Load the certificate and key into ``context``, with a precise error."""
        for path in (self.cert, self.key):
            if not path.is_file():
                raise TlsError(f"{what} {path}: no such file")

        def no_password() -> str:
            raise TlsError(f"{what} key {self.key}: encrypted; give a key without a password")

        try:
            context.load_cert_chain(self.cert, self.key, password=no_password)
        except OSError as error:
            if isinstance(error, ssl.SSLError):
                raise TlsError(
                    f"{what} {self.cert} and key {self.key}: cannot be used together "
                    f"({error.reason or error})"
                ) from None
            raise TlsError(f"{what} {self.cert}: cannot be read: {error.strerror}") from None


def server_context(identity: Identity, client_ca: Path | None, required: bool) -> ssl.SSLContext:
    """The context ``diapason serve`` answers with (built here first so that a bad file is
    one clear line before the server starts): this node's certificate; with ``client_ca``,
    client certificates signed by it are checked, and required unless ``required`` is off."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    identity.load_into(context, "tls_cert")
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=client_ca)
        except FileNotFoundError:
            raise TlsError(f"client_ca {client_ca}: no such file") from None
        except ssl.SSLError as error:
            raise TlsError(
                f"client_ca {client_ca}: no usable CA certificate ({error.reason or error})"
            ) from None
        except OSError as error:
            raise TlsError(f"client_ca {client_ca}: cannot be read: {error.strerror}") from None
        context.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
    return context


def client_context(ca: str | None, pinned: str | None, identity: Identity | None) -> ssl.SSLContext:
    """The context of a connection to a partner: its certificate checked against ``ca``
    (PEM, host name included); or, with only ``pinned``, checked by its fingerprint alone
    (see ``PinCheck``); or against the system's CAs. ``identity`` is presented when the
    partner asks for a client certificate."""
    if ca is not None:
        context = ssl.create_default_context(cadata=ca)
    elif pinned is not None:
        # The pin is the check: this exact certificate, whoever signed it (a self-signed
        # one too), compared before anything is sent.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if identity is not None:
        identity.load_into(context, "sync_cert")
    return context


class PinMismatch(httpx.ConnectError):
    """The partner presented another certificate than the pinned one; says both."""


class PinCheck:
    """httpx's ``trace`` hook of the requests to a partner with a pinned fingerprint: each
    time a TLS handshake completes, before a byte of the request (its token) is sent, the
    certificate presented must be the pinned one, or the connection is closed and refused.
    It fails closed: a TLS proxy of its own (its handshake is checked too) cannot be used
    with a pin."""

    def __init__(self, host: str, pinned: str) -> None:
        self.host = host
        self.pinned = pinned

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if not event.endswith(".start_tls.complete"):
            return
        stream = info["return_value"]
        ssl_object = stream.get_extra_info("ssl_object")
        # Positional: httpcore gives the socket's inner SSL object, which takes no keyword
        # arguments.
        der = ssl_object.getpeercert(True) if ssl_object is not None else None
        found = fingerprint(der) if der else "none"
        if found != self.pinned:
            stream.close()
            raise PinMismatch(
                f"TLS: {self.host} presented the certificate {found}, not the pinned "
                f"{self.pinned}; refused"
            )


def pin_hook(url: str, pinned: str) -> Any:
    """An httpx request hook that gives each request the ``PinCheck`` of ``url``."""
    check = PinCheck(httpx.URL(url).host, pinned)

    def hook(request: httpx.Request) -> None:
        request.extensions["trace"] = check

    return hook


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def explain(error: BaseException, url: str, trusted: str, identity: Identity | None) -> str | None:
    """What a failed connection to ``url`` means in TLS terms, in one line; None when it
    is not a TLS matter. ``trusted`` names what the partner's certificate is checked
    against; ``identity`` is what this node presents when asked."""
    host = httpx.URL(url).host
    for cause in _causes(error):
        if isinstance(cause, PinMismatch):
            return str(cause)
        if isinstance(cause, ssl.SSLCertVerificationError):
            code = cause.verify_code
            if code == _EXPIRED:
                return f"TLS: {host} presented an expired certificate; refused"
            if code == _NOT_YET_VALID:
                return f"TLS: {host} presented a certificate not valid yet; refused"
            if code in _NOT_TRUSTED:
                return f"TLS: {host}'s certificate is not signed by {trusted}; refused"
            if code == _WRONG_HOST:
                return f"TLS: {host}'s certificate is not for {host}; refused"
            return f"TLS: {host}'s certificate was refused: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, ssl.SSLEOFError):
            reason = str(cause.reason or "")
            for alert, meaning in _ALERTS.items():
                if reason.endswith(f"ALERT_{alert}"):
                    return f"TLS: {host} refused the connection: {meaning}{_presented(identity)}"
            if reason in _NOT_TLS:
                return f"TLS: {host} does not answer in TLS on this port (plain http?)"
            return f"TLS: the connection to {host} failed ({reason or cause})"
    if url.startswith("https://") and _closed(error):
        # A server that refuses the client's certificate ends the handshake (or, under
        # TLS 1.3, the connection right after it) without a word the client can read.
        return (
            f"TLS: {host} closed the connection without answering: it may have refused "
            f"this node's client certificate{_presented(identity)}"
        )
    return None


def _closed(error: BaseException) -> bool:
    """Whether the server closed or reset the connection before any answer."""
    if isinstance(error, httpx.RemoteProtocolError):
        return "without sending a response" in str(error)
    return any(
        isinstance(cause, ssl.SSLEOFError | ConnectionResetError | BrokenPipeError)
        for cause in _causes(error)
    )


def _presented(identity: Identity | None) -> str:
    if identity is None:
        return " (this node presents none: set sync_cert and sync_key, or tls_cert and tls_key)"
    expires = not_after(identity.cert)
    if expires is not None and expires < datetime.now(UTC):
        return f" (this node's, {identity.cert}, expired on {expires:%Y-%m-%d})"
    return f" (this node presents {identity.cert})"

"""One-step pairing: a code that carries everything a node needs to read from another.

``diapason partner invite NAME`` prepares, on this node, what partner ``NAME`` needs to read
from it (its account, outbox and inbox, a new token) and prints one code; ``diapason partner
join CODE`` on the partner's node checks the code and adds this node as its partner. Done
both ways, the two nodes are paired.

A code is ``dpair1.<data>.<check>``: ``data`` is the base64url (unpadded) of a JSON object,
``check`` the first 8 hex digits of the SHA-256 of ``data``'s bytes, so that a code cut or
altered while copied is told apart from one that was never a code. The JSON object holds:

=============  =========================================================================
``v``          the version of the format: 1
``node``       the name of the node that made it (the partner's name on the joining node)
``for``        the name of the node it invites (the joining node's ``node_name``: its
               partner looks for collections ``to-<for>`` and ``from-<for>``)
``url``        the base URL the joining node reads from
``token``      the token of its account on the inviting node (a secret)
``identity``   the inviting node's STIX identity id (who authors what it sends)
``fingerprint``  the SHA-256 fingerprint of the certificate it serves, when it serves TLS
``expires``    after this moment (UTC) the code is refused
=============  =========================================================================

The code holds a secret token: it is printed once for the operator and never logged or
audited (the audit keeps the token's id).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from diapason.accounts import IssuedToken
from diapason.domain.timestamps import parse_timestamp, stix_timestamp
from diapason.errors import DiapasonError
from diapason.exchange.partners import (
    PARTNER_NAME_RE,
    Partner,
    PartnerError,
    Partners,
    check_identity,
    check_transport,
    check_url,
)
from diapason.settings import Settings
from diapason.tls import FINGERPRINT_RE, TlsError, pem_fingerprint

PREFIX = "dpair"
VERSION = 1
CHECK_DIGITS = 8
# The longest code read (a code is a few hundred characters; a pasted file is not one).
MAX_CODE = 4096
# How long a code is good for, by default, and at most.
DEFAULT_EXPIRY = timedelta(hours=24)
MAX_EXPIRY = timedelta(days=30)
_DURATION_RE = re.compile(r"^(\d{1,5})([mhd])\Z")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_FIELDS = ("v", "node", "for", "url", "token", "identity", "fingerprint", "expires")


class PairingError(DiapasonError, ValueError):
    """A pairing code refused; the message says which part and why (never the token)."""


@dataclass(frozen=True, repr=False)
class Invitation:
    """What one pairing code says. ``token`` is a secret: ``repr`` leaves it out."""

    node: str
    invited: str
    url: str
    token: str
    identity: str
    fingerprint: str | None
    expires: datetime

    def __repr__(self) -> str:
        return (
            f"Invitation(node={self.node!r}, invited={self.invited!r}, url={self.url!r}, "
            f"identity={self.identity!r}, token=<hidden>)"
        )

    def encode(self) -> str:
        """The code, on one line."""
        payload = {
            "v": VERSION,
            "node": self.node,
            "for": self.invited,
            "url": self.url,
            "token": self.token,
            "identity": self.identity,
            "fingerprint": self.fingerprint,
            "expires": stix_timestamp(self.expires),
        }
        data = base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")
        return f"{PREFIX}{VERSION}.{data}.{_check(data)}"

    def describe(self) -> dict[str, Any]:
        """Safe to print and audit: everything but the token."""
        return {
            "node": self.node,
            "for": self.invited,
            "url": self.url,
            "identity": self.identity,
            "fingerprint": self.fingerprint,
            "expires": stix_timestamp(self.expires),
        }


def _check(data: str) -> str:
    return hashlib.sha256(data.encode()).hexdigest()[:CHECK_DIGITS]


def parse_expiry(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``: how long a code is good for (at most 30 days)."""
    found = _DURATION_RE.match(text.strip().lower())
    if not found:
        raise PairingError(f"expiry {text[:40]!r}: a number and m, h or d (30m, 12h, 7d)")
    delay = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if not timedelta(minutes=1) <= delay <= MAX_EXPIRY:
        raise PairingError(f"expiry {text[:40]!r}: between 1 minute and 30 days")
    return delay


def decode(code: str, *, now: datetime, me: str) -> Invitation:
    """The invitation a code carries, checked for node ``me`` at ``now``; a
    :class:`PairingError` saying precisely what is wrong otherwise."""
    text = "".join(code.split())  # a code wrapped over lines in a mail or a terminal
    if len(text) > MAX_CODE:
        raise PairingError(f"pairing code: {len(text):,} characters; a code has a few hundred")
    version = re.match(rf"^{PREFIX}(\d+)\.", text)
    if version is None:
        raise PairingError(
            f"not a Diapason pairing code: it starts with {PREFIX}{VERSION}. "
            "(made by `diapason partner invite`)"
        )
    if int(version.group(1)) != VERSION:
        raise PairingError(
            f"pairing code of version {version.group(1)}; this node reads version {VERSION}"
        )
    parts = text.split(".")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise PairingError(
            f"pairing code incomplete: expected {PREFIX}{VERSION}.<data>.<check>; "
            "copy it again, whole"
        )
    data, check = parts[1], parts[2]
    if check.lower() != _check(data):
        raise PairingError(
            "pairing code damaged: its check digits do not match its data (a character "
            "was cut or changed while it was copied); copy it again, whole"
        )
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise PairingError("pairing code: its data is not base64url JSON") from None
    if not isinstance(payload, dict):
        raise PairingError("pairing code: its data is not a JSON object")
    return _invitation(payload, now=now, me=me)


def _invitation(payload: dict[str, Any], *, now: datetime, me: str) -> Invitation:
    missing = [name for name in _FIELDS if name not in payload]
    if missing:
        raise PairingError(f"pairing code: missing {', '.join(missing)}")
    if payload["v"] != VERSION:
        raise PairingError(f"pairing code: version {str(payload['v'])[:10]!r}, not {VERSION}")
    texts = {name: payload[name] for name in ("node", "for", "url", "token", "identity")}
    for name, value in texts.items():
        if not isinstance(value, str) or not value:
            raise PairingError(f"pairing code: {name!r} is not a non-empty string")
    node, invited = texts["node"], texts["for"]
    if not PARTNER_NAME_RE.match(node):
        raise PairingError(f"pairing code: node {node[:40]!r} is not a valid partner name")
    if node == me:
        raise PairingError(f"pairing code made by this node ({me}) itself: give it to the other")
    if invited != me:
        raise PairingError(
            f"pairing code for node {invited[:40]!r}, but this node is {me!r}: ask {node} "
            f"for a code made with `diapason partner invite {me}`"
        )
    fingerprint = payload["fingerprint"]
    if fingerprint is not None and (
        not isinstance(fingerprint, str) or not FINGERPRINT_RE.match(fingerprint)
    ):
        raise PairingError("pairing code: 'fingerprint' is not a SHA-256 fingerprint")
    try:
        url = check_url(texts["url"])
        identity = check_identity(texts["identity"], "pairing code: identity")
        check_transport(url, None, fingerprint, insecure=True)
    except PartnerError as error:
        raise PairingError(f"pairing code: {error}") from None
    token = texts["token"]
    if len(token) > 200 or not token.isprintable():
        raise PairingError("pairing code: 'token' is not 1 to 200 printable characters")
    try:
        expires = parse_timestamp(payload["expires"], "expires")
    except ValueError:
        raise PairingError("pairing code: 'expires' is not a timestamp") from None
    if expires <= now:
        late = now - expires
        raise PairingError(
            f"pairing code expired at {stix_timestamp(expires)} ({_ago(late)} ago); "
            f"ask {node} for a new one (`diapason partner invite {me}`)"
        )
    return Invitation(node, invited, url, token, identity, fingerprint, expires)


def _ago(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def invitation(
    node: str,
    invited: str,
    url: str,
    token: str,
    identity: str,
    fingerprint: str | None,
    *,
    now: datetime | None = None,
    valid_for: timedelta = DEFAULT_EXPIRY,
) -> Invitation:
    """The invitation this node (``node``) makes for ``invited``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return Invitation(node, invited, url, token, identity, fingerprint, moment + valid_for)


def own_address(settings: Settings, given: str | None) -> tuple[str, str | None]:
    """The URL partners reach this node at (``given``, else where ``serve`` listens) and,
    when it serves TLS itself, the fingerprint of its certificate (to pin)."""
    if given is not None:
        try:
            url = check_url(given)
        except PartnerError as error:
            raise PairingError(str(error)) from None
    else:
        host = settings.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - told apart, not bound to
            raise PairingError(
                f"serve listens on every address (host {host!r}): say with --url the "
                "address partners reach this node at"
            )
        scheme = "https" if settings.tls_cert else "http"
        url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{settings.port}"
    if not url.startswith("https://") or settings.tls_cert is None:
        return url, None
    try:
        pem = settings.tls_cert.read_text()
        return url, pem_fingerprint(pem)
    except (OSError, ValueError) as error:
        raise TlsError(
            f"tls_cert {settings.tls_cert}: cannot read its certificate ({error})"
        ) from None


@dataclass(frozen=True, repr=False)
class Invited:
    """An invitation made here and the token it carries (its id goes in the audit)."""

    invitation: Invitation
    token: IssuedToken

    def audit_details(self) -> dict[str, Any]:
        """What the audit keeps of it: never the token."""
        return {
            "user": self.token.info.username,
            "token_id": self.token.info.id,
            "pairing_invite": self.invitation.describe(),
        }


def invite(
    partners: Partners,
    settings: Settings,
    identity: str | None,
    name: str,
    *,
    url: str | None = None,
    valid_for: timedelta = DEFAULT_EXPIRY,
    account: str | None = None,
) -> Invited:
    """Prepare, on this node, what node ``name`` needs to read from it (``partner
    invite``): its account, outbox, inbox and a new token, in one code. Everything is
    checked before anything is written."""
    if identity is None:
        raise PairingError("this node has no identity yet: run `diapason init`")
    if name == settings.node_name:
        raise PairingError(f"{name!r} is this node's own name")
    address, fingerprint = own_address(settings, url)
    issued = partners.prepare_account(name, account)
    made = invitation(
        settings.node_name, name, address, issued.secret, identity, fingerprint,
        valid_for=valid_for,
    )  # fmt: skip
    return Invited(made, issued)


@dataclass(frozen=True)
class Joined:
    """The partner a code added here and, when it had no account here yet, the invitation
    it needs in turn."""

    partner: Partner
    reply: Invited | None


def join(
    partners: Partners,
    settings: Settings,
    identity: str | None,
    code: str,
    *,
    url: str | None = None,
    valid_for: timedelta = DEFAULT_EXPIRY,
    insecure: bool = False,
    now: datetime | None = None,
) -> Joined:
    """Add the node whose code this is as a partner (``partner join``); checked whole
    before anything is written."""
    me = settings.node_name
    invited = decode(code, now=(now or datetime.now(UTC)).astimezone(UTC), me=me)
    if identity is None:
        raise PairingError("this node has no identity yet: run `diapason init`")
    if partners.get(invited.node) is not None:
        raise PairingError(
            f"partner {invited.node!r} exists already; to change how it is reached: "
            f"`diapason partner update {invited.node} …`, or remove it first"
        )
    back = partners.accounts.get_user(invited.node) is None
    # The code printed back needs this node's address: known before anything is written.
    address, fingerprint = own_address(settings, url) if back else (None, None)
    partner, issued = partners.add(
        invited.node,
        invited.url,
        invited.token,
        identity_id=invited.identity,
        identity_source="code",
        fingerprint=invited.fingerprint,
        insecure=insecure,
    )
    reply = None
    if issued is not None and address is not None:
        made = invitation(
            me, invited.node, address, issued.secret, identity, fingerprint, valid_for=valid_for
        )
        reply = Invited(made, issued)
    return Joined(partner, reply)

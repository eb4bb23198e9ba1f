"""Partners: the other nodes this node exchanges with, their credentials and sync state.

Adding a partner sets up both directions on this side: a local account (role ``partner``)
that the partner's node uses to read from us, the partner's outbox collection here (its
disclosure ledger, which only that account may read), and the URL and token this node uses
to read from the partner. The token is a secret: stored to be used, never shown.

A partner's STIX identity (the ``created_by_ref`` of what it authors) is what attributes
its objects to it: the joint mechanism lists a request for information only when its
author is a known side. The operator may give it (``partner add --identity``), a pairing
code carries it (``exchange/pairing.py``), and the partner's TAXII discovery states it
(``x_diapason_identity``): the sync agent learns it from there when none was given, and
confirms the one given, refusing to go on when the two differ (:meth:`Partners.settle_identity`);
a given identity is never overwritten by what a partner says.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from diapason.accounts import Accounts, IssuedToken, User
from diapason.audit import AuditLog
from diapason.domain.coordination import ITEM_TYPES
from diapason.domain.stix import ID_RE, Problem
from diapason.domain.timestamps import store_now
from diapason.domain.trust import TRUST_RULES, Sender
from diapason.errors import DiapasonError
from diapason.exchange.collections import DEFAULT_API_ROOT, Collection, Collections
from diapason.settings import Secret
from diapason.store.db import write_transaction
from diapason.store.schema import objects, partners, users
from diapason.tls import FINGERPRINT_RE, is_loopback

log = logging.getLogger("diapason.partners")

PARTNER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}\Z")


class PartnerError(DiapasonError, ValueError):
    """A refused partner operation; the message says why and never shows a token."""


class IdentityMismatch(PartnerError):
    """The identity a partner states is not the one this node was given for it."""


# Where a partner's identity came from: the operator's word (``partner add --identity``,
# ``partner update --identity``, the admin page), a pairing code (``partner join``), the
# partner's TAXII discovery (``learned``), or one of the first two and the partner's
# discovery states the same (``confirmed``).
IDENTITY_SOURCES = ("operator", "code", "learned", "confirmed")
# Those that the partner's own statement has not checked yet.
UNCHECKED_SOURCES = frozenset({"operator", "code"})


@dataclass(frozen=True)
class Partner:
    name: str
    url: str
    token: Secret
    account: str
    identity_id: str | None
    outbox: str
    remote_collection: str | None
    remote_inbox: str | None
    watermark: str | None
    last_sync_at: str | None
    last_error: str | None
    failures: int
    next_attempt_at: str | None
    refused: int = 0
    last_refusal: str | None = None
    last_refusal_at: str | None = None
    # How its certificate is checked (docs/security.md): its CA certificates (PEM) and/or
    # the pinned fingerprint of the certificate itself; neither: the system's CAs.
    ca_certificates: str | None = None
    fingerprint: str | None = None
    # Plain http outside loopback, allowed by the operator (``--insecure``).
    insecure: bool = False
    # The client certificate its account is bound to (its fingerprint), if any.
    client_certificate: str | None = None
    # Where identity_id came from (IDENTITY_SOURCES); None while it is unknown.
    identity_source: str | None = None

    @property
    def identity_state(self) -> str:
        """How far this node may rely on the partner's identity: ``unknown`` (its objects
        cannot be attributed yet), ``unchecked`` (given here, not yet stated by the
        partner), ``learned`` or ``confirmed``."""
        if self.identity_id is None:
            return "unknown"
        if self.identity_source in UNCHECKED_SOURCES or self.identity_source is None:
            return "unchecked"
        return self.identity_source

    @property
    def security(self) -> str:
        """How this node reaches the partner, as a code: ``loopback`` (plain http on this
        machine), ``insecure`` (plain http allowed by ``--insecure``), ``refused`` (plain
        http elsewhere, not allowed), or over https: ``ca``, ``pinned``, ``ca+pinned``,
        ``system`` (the system's CAs)."""
        if not self.url.startswith("https://"):
            if is_loopback(self.url):
                return "loopback"
            return "insecure" if self.insecure else "refused"
        checks = [
            name for name, on in (("ca", self.ca_certificates), ("pinned", self.fingerprint)) if on
        ]
        return "+".join(checks) or "system"

    def transport(self) -> str:
        """``security`` in words, for the command line."""
        words = {
            "loopback": "plain http on loopback",
            "insecure": "INSECURE: plain http (--insecure)",
            "refused": "refused: plain http outside loopback",
            "ca": "https, its CA file",
            "pinned": f"https, pinned {(self.fingerprint or '')[:16]}",
            "ca+pinned": f"https, its CA file, pinned {(self.fingerprint or '')[:16]}",
            "system": "https, the system's CAs",
        }[self.security]
        if self.client_certificate:
            words += f"; its client certificate {self.client_certificate[:16]}"
        return words

    def refusal(self) -> str | None:
        """Why this node will not connect to the partner as it is set up, or None."""
        try:
            check_transport(self.url, self.ca_certificates, self.fingerprint, self.insecure)
        except PartnerError as error:
            return str(error)
        return None

    # The last head of this node's audit trail the partner said it keeps, and when.
    witnessed_seq: int | None = None
    witnessed_at: str | None = None

    def describe(self) -> dict[str, Any]:
        """Safe to print: everything but the token (and the CA certificates' text)."""
        return {
            "name": self.name,
            "url": self.url,
            "account": self.account,
            "identity_id": self.identity_id,
            "identity_source": self.identity_source,
            "identity_state": self.identity_state,
            "outbox": self.outbox,
            "remote_collection": self.remote_collection,
            "remote_inbox": self.remote_inbox,
            "watermark": self.watermark,
            "last_sync_at": self.last_sync_at,
            "last_error": self.last_error,
            "failures": self.failures,
            "next_attempt_at": self.next_attempt_at,
            "refused": self.refused,
            "last_refusal": self.last_refusal,
            "last_refusal_at": self.last_refusal_at,
            "security": self.security,
            "ca_certificates": bool(self.ca_certificates),
            "fingerprint": self.fingerprint,
            "insecure": self.insecure,
            "client_certificate": self.client_certificate,
            "transport": self.transport(),
            "witnessed_seq": self.witnessed_seq,
            "witnessed_at": self.witnessed_at,
        }


# A partner's row with the client certificate its account is bound to.
_PARTNERS = sa.select(partners, users.c.certificate.label("client_certificate")).select_from(
    partners.outerjoin(users, users.c.username == partners.c.account)
)


def _partner(row: sa.Row[Any]) -> Partner:
    return Partner(
        name=row.name,
        url=row.url,
        token=Secret(row.token),
        account=row.account,
        identity_id=row.identity_id,
        identity_source=row.identity_source if row.identity_id is not None else None,
        outbox=row.outbox,
        remote_collection=row.remote_collection,
        remote_inbox=row.remote_inbox,
        watermark=row.watermark,
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        failures=row.failures,
        next_attempt_at=row.next_attempt_at,
        refused=row.refused,
        last_refusal=row.last_refusal,
        last_refusal_at=row.last_refusal_at,
        ca_certificates=row.ca_certificates,
        fingerprint=row.fingerprint,
        insecure=bool(row.insecure),
        client_certificate=row.client_certificate,
        witnessed_seq=int(row.witnessed_seq) if row.witnessed_seq is not None else None,
        witnessed_at=row.witnessed_at,
    )


def check_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?\Z", url) or len(url) > 500:
        raise PartnerError(f"partner URL {url[:100]!r}: expected http(s)://HOST[:PORT][/PATH]")
    return url.rstrip("/")


def check_identity(value: str, what: str = "partner identity") -> str:
    """A STIX identity id (``identity--UUID``), else a precise refusal."""
    if (
        not isinstance(value, str)
        or not value.startswith("identity--")
        or not ID_RE.match(value)
        or len(value) > 100
    ):
        raise PartnerError(f"{what} {str(value)[:100]!r}: expected identity--<UUID>")
    return value


def check_transport(
    url: str, ca_certificates: str | None, fingerprint: str | None, insecure: bool
) -> None:
    """Refuse what would not protect the connection: plain http outside loopback without
    ``insecure``, or a CA file or fingerprint on a plain http URL (nothing to check)."""
    if fingerprint is not None and not FINGERPRINT_RE.match(fingerprint):
        raise PartnerError("a pinned fingerprint is 64 lower-case hex digits (SHA-256)")
    if url.startswith("https://"):
        return
    if ca_certificates or fingerprint:
        raise PartnerError(
            f"partner URL {url}: a CA file or a fingerprint checks a TLS certificate; "
            "use an https:// URL"
        )
    if not insecure and not is_loopback(url):
        raise PartnerError(
            f"partner URL {url}: plain http outside loopback would send the token and "
            "everything in clear; use https, or allow it with --insecure"
        )


class Partners:
    def __init__(self, engine: sa.Engine, accounts: Accounts, collections: Collections) -> None:
        self.engine = engine
        self.accounts = accounts
        self.collections = collections

    def add(
        self,
        name: str,
        url: str,
        token: str,
        *,
        identity_id: str | None = None,
        identity_source: str = "operator",
        account: str | None = None,
        ca_certificates: str | None = None,
        fingerprint: str | None = None,
        insecure: bool = False,
        client_certificate: str | None = None,
    ) -> tuple[Partner, IssuedToken | None]:
        """Register a partner; returns it and, when its account was created here, that
        account's first token (to hand to the partner, shown once).

        Its certificate is checked against ``ca_certificates`` (PEM, read with
        ``tls.read_ca_file``) and/or by its ``fingerprint``, else against the system's CAs;
        plain http outside loopback needs ``insecure``. ``client_certificate`` binds its
        account to the client certificate with that fingerprint."""
        if not PARTNER_NAME_RE.match(name):
            raise PartnerError(
                f"partner name {name!r}: 1-32 lower-case letters, digits, '.', '-' or '_'"
            )
        url = check_url(url)
        if not token or len(token) > 200 or not token.isprintable():
            raise PartnerError("partner token: 1 to 200 printable characters")
        if identity_id is not None:
            identity_id = check_identity(identity_id)
        if identity_source not in UNCHECKED_SOURCES:
            raise PartnerError(f"identity source {identity_source!r}: operator or code")
        check_transport(url, ca_certificates, fingerprint, insecure)
        if self.get(name) is not None:
            raise PartnerError(f"partner {name!r} exists already")
        account = account or name
        issued: IssuedToken | None = None
        user = self.accounts.get_user(account)
        if user is None:
            self.accounts.add_user(account, "partner")
            issued = self.accounts.create_token(account, f"partner node {name}")
        elif user.role != "partner":
            raise PartnerError(f"account {account!r} has role {user.role}, not partner")
        self.collections.ensure_default(name)
        outbox = self._collections_of(name, account)
        if client_certificate is not None:
            self.accounts.bind_certificate(account, client_certificate)
        with write_transaction(self.engine) as connection:
            connection.execute(
                partners.insert().values(
                    name=name,
                    url=url,
                    token=token,
                    account=account,
                    identity_id=identity_id,
                    identity_source=identity_source if identity_id is not None else None,
                    outbox=outbox.id,
                    failures=0,
                    created_at=store_now(),
                    ca_certificates=ca_certificates,
                    fingerprint=fingerprint,
                    insecure=insecure,
                )
            )
        found = self.get(name)
        assert found is not None
        return found, issued

    def prepare_account(self, name: str, account: str | None = None) -> IssuedToken:
        """What a partner needs to read from this node before it is added here (``partner
        invite``): its account (role ``partner``: read its outbox, write its inbox, nothing
        else), those two collections, and a new token for it, returned once."""
        if not PARTNER_NAME_RE.match(name):
            raise PartnerError(
                f"partner name {name!r}: 1-32 lower-case letters, digits, '.', '-' or '_'"
            )
        account = account or name
        user = self.accounts.get_user(account)
        if user is None:
            self.accounts.add_user(account, "partner")
        elif user.role != "partner":
            raise PartnerError(f"account {account!r} has role {user.role}, not partner")
        elif user.disabled:
            raise PartnerError(
                f"account {account!r} is disabled (partner {name} was removed); "
                "choose another --account"
            )
        self.collections.ensure_default(name)
        self._collections_of(name, account)
        return self.accounts.create_token(account, f"partner node {name} (invite)")

    def _collections_of(self, name: str, account: str) -> Collection:
        """The partner's outbox here (its ledger, which its account reads) and its inbox
        (where it acknowledges what it stored, and may push; its account writes), made if
        missing; returns the outbox."""
        outbox = self._collection(
            f"to-{name}",
            f"Released to {name}",
            f"The disclosure ledger of partner {name}: what this node releases to it.",
        )
        self.collections.grant(outbox.id, account, read=True, write=False)
        inbox = self._collection(
            f"from-{name}",
            f"Received from {name}",
            f"What partner {name} sends to this node: receipts, pushed objects.",
        )
        self.collections.grant(inbox.id, account, read=False, write=True)
        return outbox

    def settle_identity(
        self, partner: Partner, stated: str | None, own_identities: frozenset[str]
    ) -> str | None:
        """Compare what ``partner`` states as its identity (its TAXII discovery's
        ``x_diapason_identity``; None when it states none) with what this node holds.

        Unknown here: the stated one is learned (``learned``), unless it is this node's own
        or another partner's. Given here and stated the same: ``confirmed``. Given here and
        stated otherwise: :class:`IdentityMismatch`, nothing changed: a partner's word never
        replaces the operator's. Returns what changed (``learned``, ``confirmed``) or None.
        """
        if stated is None:
            return None
        stated = check_identity(stated, f"the identity partner {partner.name} states")
        if partner.identity_id is None:
            if stated in own_identities:
                raise IdentityMismatch(
                    f"partner {partner.name} states this node's own identity {stated}; "
                    "its objects stay unattributed"
                )
            for other in self.all():
                if other.name != partner.name and other.identity_id == stated:
                    raise IdentityMismatch(
                        f"partner {partner.name} states identity {stated}, which is partner "
                        f"{other.name}'s; its objects stay unattributed"
                    )
            self.update(partner.name, identity_id=stated, identity_source="learned")
            return "learned"
        if partner.identity_id != stated:
            given = {
                "code": "the pairing code gave",
                "learned": "it stated before",
            }.get(partner.identity_source or "", "this node's operator gave")
            raise IdentityMismatch(
                f"partner {partner.name} states identity {stated}, but {given} "
                f"{partner.identity_id}; nothing is pulled until an operator settles it "
                f"(`diapason partner update {partner.name} --identity ID` with the right one)"
            )
        if partner.identity_source in UNCHECKED_SOURCES or partner.identity_source is None:
            self.update(partner.name, identity_source="confirmed")
            return "confirmed"
        return None

    def unattributed(self, name: str, own_identities: frozenset[str]) -> int:
        """How many joint-mechanism items (requests for information, meetings, …) received
        from partner ``name`` have an author that is neither this node nor a partner it
        knows the identity of: stored, but no side can be given to them, so the joint
        records cannot list them until that identity is known."""
        known = set(own_identities) | {p.identity_id for p in self.all() if p.identity_id}
        author = objects.c.created_by_ref
        statement = (
            sa.select(sa.func.count())
            .select_from(objects)
            .where(
                objects.c.source == f"partner:{name}",
                objects.c.is_current.is_(sa.true()),
                objects.c.type.in_(ITEM_TYPES),
                sa.or_(author.is_(None), author.not_in(sorted(known))) if known else sa.true(),
            )
        )
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def _collection(self, alias: str, title: str, description: str) -> Collection:
        """The collection with this alias in the default API root, made if missing."""
        found = self.collections.find_alias(DEFAULT_API_ROOT, alias)
        return found or self.collections.add(
            DEFAULT_API_ROOT, title, alias=alias, description=description
        )

    def get(self, name: str) -> Partner | None:
        with self.engine.connect() as connection:
            row = connection.execute(_PARTNERS.where(partners.c.name == name)).first()
        return _partner(row) if row is not None else None

    def all(self) -> list[Partner]:
        with self.engine.connect() as connection:
            rows = connection.execute(_PARTNERS.order_by(partners.c.name)).all()
        return [_partner(row) for row in rows]

    def speaking_for(self, user: User) -> Partner | None:
        """The partner node an account speaks for, if it is a partner's account."""
        if user.role != "partner":
            return None
        with self.engine.connect() as connection:
            row = connection.execute(_PARTNERS.where(partners.c.account == user.username)).first()
        return _partner(row) if row is not None else None

    def update(self, name: str, **values: Any) -> None:
        """Change sync state (watermark, errors, remote collection, identity, token) or how
        the partner is reached (URL, CA certificates, fingerprint, ``insecure``)."""
        allowed = {
            "token",
            "url",
            "ca_certificates",
            "fingerprint",
            "insecure",
            "identity_id",
            "identity_source",
            "remote_collection",
            "remote_inbox",
            "watermark",
            "last_sync_at",
            "last_error",
            "failures",
            "next_attempt_at",
            "witnessed_seq",
            "witnessed_at",
        }
        unknown = set(values) - allowed
        if unknown:
            raise PartnerError(f"cannot change {', '.join(sorted(unknown))}")
        if "url" in values:
            values["url"] = check_url(values["url"])
        if values.get("identity_id") is not None:
            values["identity_id"] = check_identity(values["identity_id"])
            values.setdefault("identity_source", "operator")
        if values.get("identity_source") not in (None, *IDENTITY_SOURCES):
            raise PartnerError(f"identity source {values['identity_source']!r}: unknown")
        reached = {"url", "ca_certificates", "fingerprint", "insecure"} & set(values)
        if reached:
            found = self.get(name)
            if found is None:
                raise PartnerError(f"no partner {name!r}")
            check_transport(
                values.get("url", found.url),
                values.get("ca_certificates", found.ca_certificates),
                values.get("fingerprint", found.fingerprint),
                values.get("insecure", found.insecure),
            )
        with write_transaction(self.engine) as connection:
            connection.execute(partners.update().where(partners.c.name == name).values(**values))

    def sender(self, partner: Partner, own_identities: frozenset[str]) -> Sender:
        """What the trust rules know of ``partner`` when it sends us objects."""
        return Sender(
            partner=partner.name,
            identity_id=partner.identity_id,
            own_identities=own_identities,
            partner_identities={
                other.identity_id: other.name for other in self.all() if other.identity_id
            },
        )

    def record_refusals(self, name: str, count: int, last: str) -> None:
        """Count what the trust rules refused from this partner, and keep the last one
        (shown by ``partner list`` and the dashboard)."""
        if count <= 0:
            return
        with write_transaction(self.engine) as connection:
            connection.execute(
                partners.update()
                .where(partners.c.name == name)
                .values(
                    refused=partners.c.refused + count,
                    last_refusal=last[:2000],
                    last_refusal_at=store_now(),
                )
            )

    def remove(self, name: str) -> None:
        """Stop exchanging with a partner: its account is disabled, its ledger kept."""
        found = self.get(name)
        if found is None:
            raise PartnerError(f"no partner {name!r}")
        with write_transaction(self.engine) as connection:
            connection.execute(partners.delete().where(partners.c.name == name))
        if self.accounts.get_user(found.account) is not None:
            self.accounts.disable_user(found.account)


def report_untrusted(
    partners: Partners, audit: AuditLog, partner: str, actor: str, refused: list[Problem]
) -> list[Problem]:
    """What the trust rules refused of what ``partner`` sent (a pulled page, a TAXII POST):
    logged, audited as ``request_refused``, and counted against the partner with the last
    one kept for the operator. Returns those refusals (the others are invalid objects)."""
    untrusted = [problem for problem in refused if problem.rule in TRUST_RULES]
    if not untrusted:
        return []
    rules = Counter(problem.rule for problem in untrusted)
    log.warning(
        "%s sent %d object version(s) it may not send; refused (%s): %s",
        partner,
        len(untrusted),
        ", ".join(f"{rule} x{count}" for rule, count in sorted(rules.items())),
        "; ".join(str(problem) for problem in untrusted[:3]),
    )
    audit.append(
        actor,
        "request_refused",
        sorted({str(problem.object_id) for problem in untrusted})[:1000],
        details={
            "partner": partner,
            "why": "the trust rules: what a partner may not send",
            "rules": dict(rules),
            "refused": [problem.as_dict() for problem in untrusted[:50]],
        },
    )
    last = untrusted[-1]
    partners.record_refusals(
        partner, len(untrusted), f"{last.rule}: {last.object_id}: {last.message}"
    )
    return untrusted

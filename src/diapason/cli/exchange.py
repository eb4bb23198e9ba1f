"""Partners and sharing: ``diapason partner …``, ``sync``, ``release …``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import (
    actor,
    data_option,
    json_option,
    opened,
    plural,
    print_json,
    show,
    table,
)
from diapason.exchange.pairing import PairingError, invite, join, own_address, parse_expiry
from diapason.tls import parse_fingerprint, read_ca_file

F = TypeVar("F", bound=Callable[..., Any])


def tls_options(function: F) -> F:
    """How the partner's certificate is checked, and the one its node presents here."""
    for option in reversed(
        (
            click.option(
                "--ca",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Check its certificate against the CA certificates of this PEM file.",
            ),
            click.option(
                "--fingerprint",
                default=None,
                help="Accept only its certificate with this SHA-256 fingerprint (a pin).",
            ),
            click.option(
                "--client-fingerprint",
                default=None,
                help="Refuse its token unless its node presents the client certificate "
                "with this SHA-256 fingerprint.",
            ),
        )
    ):
        function = option(function)
    return function


@click.group("partner")
def partner_group() -> None:
    """The partner nodes this node exchanges with."""


@partner_group.command("add")
@data_option
@click.argument("name")
@click.option("--url", required=True, help="The partner node's base URL (http(s)://host:port).")
@click.option(
    "--token",
    envvar="DIAPASON_PARTNER_TOKEN",
    required=True,
    help="The token the partner issued to this node (or env DIAPASON_PARTNER_TOKEN).",
)
@click.option("--identity", "identity_id", default=None, help="The partner's STIX identity id.")
@click.option("--account", default=None, help="Local account it uses (default: NAME).")
@tls_options
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow a plain http:// URL outside loopback (nothing encrypted or checked).",
)
@json_option
def partner_add(
    data_dir: Path | None,
    name: str,
    url: str,
    token: str,
    identity_id: str | None,
    account: str | None,
    ca: Path | None,
    fingerprint: str | None,
    client_fingerprint: str | None,
    insecure: bool,
    as_json: bool,
) -> None:
    """Add a partner: its account here, its outbox collection (its ledger), how to reach it.

    When the account is new, its token is printed once: give it to the partner, which
    uses it to read what this node releases to it. Over https its certificate is checked
    against --ca, or by its --fingerprint, else against the system's CAs.
    """
    with opened(data_dir) as node:
        partner, issued = node.partners.add(
            name,
            url,
            token,
            identity_id=identity_id,
            account=account,
            ca_certificates=read_ca_file(ca) if ca is not None else None,
            fingerprint=parse_fingerprint(fingerprint) if fingerprint is not None else None,
            insecure=insecure,
            client_certificate=(
                parse_fingerprint(client_fingerprint, "client fingerprint")
                if client_fingerprint is not None
                else None
            ),
        )
        node.audit.append(actor(), "partner_add", details=partner.describe())
        run = node.ledger.run(actor())
    payload = {
        **partner.describe(),
        "released": run.released.get(name, 0),
        "withheld": run.withheld.get(name, 0),
    }
    if issued is not None:
        payload["token_for_partner"] = issued.secret
    if as_json:
        print_json(payload)
        return
    console = Console()
    console.print(
        f"partner {escape(name)} added; its ledger is collection {partner.outbox} "
        f"({payload['released']} released, {payload['withheld']} withheld so far); "
        f"reached over {escape(partner.transport())}"
    )
    if partner.identity_id is None:
        console.print(
            f"its identity will be learned from its TAXII discovery at the first sync "
            f"(`diapason sync --partner {escape(name)}`); until then what it authors is "
            "not attributed"
        )
    if issued is not None:
        console.print(f"token for {escape(name)} to read from this node (shown once):")
        click.echo(issued.secret)


@partner_group.command("list")
@data_option
@json_option
def partner_list(data_dir: Path | None, as_json: bool) -> None:
    """List partners and their sync state (never their tokens): each one's identity and
    whether it is confirmed, learned, unchecked or unknown, and how many joint items it
    sent that cannot be attributed yet. This node's own identity is in the title."""
    with opened(data_dir) as node:
        own = node.own_identities()
        found = [
            (
                partner,
                node.deliveries.unacknowledged(partner.name),
                node.outgoing_receipts.count(partner.name),
                node.partners.unattributed(partner.name, own),
            )
            for partner in node.partners.all()
        ]
        me, identity = node.settings.node_name, node.identity_id
    show(
        [
            {
                **partner.describe(),
                "unacknowledged": unacked,
                "receipts_owed": owed,
                "unattributed": unattributed,
            }
            for partner, unacked, owed, unattributed in found
        ],
        [
            "name",
            "url",
            "identity",
            "identity state",
            "not attributed",
            "last sync",
            "failures",
            "last error",
            "unacknowledged",
            "receipts owed",
            "refused",
            "transport",
        ],
        (
            [
                partner.name,
                partner.url,
                partner.identity_id or "unknown",
                partner.identity_state
                if partner.identity_id
                else "learned from its node at the next sync",
                f"{plural(unattributed, 'item')} from {partner.name} not attributed"
                if unattributed
                else 0,
                partner.last_sync_at or "never",
                partner.failures,
                partner.last_error,
                unacked,
                owed,
                f"{partner.refused} (last {partner.last_refusal_at}: {partner.last_refusal[:200]})"
                if partner.last_refusal
                else partner.refused,
                partner.transport(),
            ]
            for partner, unacked, owed, unattributed in found
        ),
        as_json=as_json,
        title=f"partners of {me} (its identity: {identity or 'none yet, run diapason init'})",
        empty=f"{me} (identity {identity}) has no partner yet: `diapason partner invite NAME`",
    )


@partner_group.command("identity")
@data_option
@click.option("--url", default=None, help="The URL partners reach this node at.")
@json_option
def partner_identity(data_dir: Path | None, url: str | None, as_json: bool) -> None:
    """This node's name, STIX identity id, URL and TLS fingerprint: what a partner's
    operator needs to add it by hand (``partner add --identity``)."""
    with opened(data_dir) as node:
        me, identity = node.settings.node_name, node.identity_id
        address: str | None
        problem: str | None
        try:
            address, fingerprint = own_address(node.settings, url)
        except PairingError as error:
            address, fingerprint = None, None
            problem = str(error)
        else:
            problem = None
    show(
        {"name": me, "identity_id": identity, "url": address, "fingerprint": fingerprint},
        ["", ""],
        [
            ["name", me],
            ["identity", identity or "none yet: run diapason init"],
            ["url", address or problem],
            ["fingerprint", fingerprint or "none (no TLS certificate served by this node)"],
        ],
        as_json=as_json,
        title="this node",
    )


@partner_group.command("invite")
@data_option
@click.argument("name")
@click.option(
    "--url",
    default=None,
    help="The URL NAME reaches this node at (default: where serve listens, if not 0.0.0.0).",
)
@click.option(
    "--expires",
    default="24h",
    show_default=True,
    help="How long the code is good for: 30m, 12h, 7d (at most 30d).",
)
@click.option("--account", default=None, help="Local account it uses (default: NAME).")
@json_option
def partner_invite(
    data_dir: Path | None,
    name: str,
    url: str | None,
    expires: str,
    account: str | None,
    as_json: bool,
) -> None:
    """Invite node NAME: make its account here (role partner: read what is released to
    it, acknowledge what it stored), a token for it, and print ONE pairing code holding
    this node's URL, that token, this node's identity and TLS fingerprint. NAME's operator
    runs `diapason partner join CODE`. The code holds a secret: it is shown once."""
    valid_for = parse_expiry(expires)
    with opened(data_dir) as node:
        invited = invite(
            node.partners, node.settings, node.identity_id, name,
            url=url, valid_for=valid_for, account=account,
        )  # fmt: skip
        node.audit.append(actor(), "token_create", details=invited.audit_details())
        added = node.partners.get(name) is not None
    made, issued = invited.invitation, invited.token
    code = made.encode()
    if as_json:
        print_json({**made.describe(), "token_id": issued.info.id, "code": code})
        return
    console = Console(stderr=True)
    console.print(
        f"pairing code for {escape(name)} (shown once: it holds a token; good until "
        f"{made.describe()['expires']}):"
    )
    click.echo(code)
    console.print(
        f"its token is token {issued.info.id} of account {escape(issued.info.username)}: "
        f"`diapason token revoke {issued.info.id}` if the code is not used"
    )
    console.print(
        f"on {escape(name)}: diapason partner join CODE"
        + (
            ""
            if added
            else f"; then, to read from {escape(name)}: its code here, `diapason partner "
            "join CODE` (its join prints it)"
        )
    )


@partner_group.command("join")
@data_option
@click.argument("code")
@click.option(
    "--url",
    default=None,
    help="The URL the inviting node reaches this node at, for the code printed back "
    "(default: where serve listens).",
)
@click.option(
    "--expires",
    default="24h",
    show_default=True,
    help="How long the code printed back is good for.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow a plain http:// URL outside loopback (nothing encrypted or checked).",
)
@json_option
def partner_join(
    data_dir: Path | None,
    code: str,
    url: str | None,
    expires: str,
    insecure: bool,
    as_json: bool,
) -> None:
    """Join the node whose pairing code CODE is (``-``: read it from standard input, kept
    out of the shell's history): add it as a partner with its URL, token, identity and
    certificate fingerprint. When it has no account here yet, print the code it needs to
    read from this node (its operator joins it): then the two nodes are paired both ways."""
    if code == "-":
        code = sys.stdin.read(8192)
    valid_for = parse_expiry(expires)
    with opened(data_dir) as node:
        me = node.settings.node_name
        joined = join(
            node.partners, node.settings, node.identity_id, code,
            url=url, valid_for=valid_for, insecure=insecure,
        )  # fmt: skip
        partner = joined.partner
        node.audit.append(
            actor(), "partner_add", details={**partner.describe(), "via": "pairing code"}
        )
        if joined.reply is not None:
            node.audit.append(actor(), "token_create", details=joined.reply.audit_details())
        run = node.ledger.run(actor())
    reply = joined.reply.invitation if joined.reply is not None else None
    payload: dict[str, Any] = {
        **partner.describe(),
        "released": run.released.get(partner.name, 0),
        "withheld": run.withheld.get(partner.name, 0),
    }
    if reply is not None:
        payload["code_for_partner"] = reply.encode()
    if as_json:
        print_json(payload)
        return
    console = Console(stderr=True)
    console.print(
        f"partner {escape(partner.name)} added (identity {partner.identity_id}, from its "
        f"code; reached over {escape(partner.transport())}); "
        f"{payload['released']} released to it, {payload['withheld']} withheld so far"
    )
    if reply is not None:
        console.print(
            f"pairing code for {escape(partner.name)} to read from this node "
            "(shown once: it holds a token):"
        )
        click.echo(payload["code_for_partner"])
        console.print(f"on {escape(partner.name)}: diapason partner join CODE")
    else:
        console.print(
            f"{escape(partner.name)} reads from {escape(me)} with the code "
            f"`diapason partner invite {escape(partner.name)}` gave it: paired both ways"
        )


@partner_group.command("remove")
@data_option
@click.argument("name")
def partner_remove(data_dir: Path | None, name: str) -> None:
    """Stop exchanging with a partner: its account is disabled; its ledger is kept."""
    with opened(data_dir) as node:
        node.partners.remove(name)
        node.audit.append(actor(), "partner_remove", details={"partner": name})
    Console().print(f"partner {escape(name)} removed")


@click.command("sync")
@data_option
@click.option("--partner", "only", default=None, help="Only this partner.")
@click.option("--force", is_flag=True, help="Also partners that are backing off.")
@json_option
def sync_command(data_dir: Path | None, only: str | None, force: bool, as_json: bool) -> None:
    """One round: release what is new to every partner, then pull from each partner."""
    with opened(data_dir) as node:
        released = node.ledger.run(actor())
        results = node.sync_agent().round(only=only, force=force)
        after = node.ledger.run(actor())
    show(
        {
            "released": {
                k: released.released[k] + after.released.get(k, 0) for k in released.released
            },
            "withheld": {
                k: released.withheld[k] + after.withheld.get(k, 0) for k in released.withheld
            },
            "partners": [result.as_dict() for result in results],
        },
        ["partner", "status", "received", "unchanged", "refused", "corrections", "error"],
        (
            [
                result.partner,
                result.status,
                result.received,
                result.unchanged,
                result.refused,
                result.corrections,
                result.error,
            ]
            for result in results
        ),
        as_json=as_json,
    )
    if any(result.status == "failed" for result in results):
        sys.exit(1)


@click.group("release")
def release_group() -> None:
    """The release policy: decisions, consents, named recipients, deliveries."""


@release_group.command("run")
@data_option
@json_option
def release_run(data_dir: Path | None, as_json: bool) -> None:
    """Decide every new object version for every partner (the sync loop does this too)."""
    with opened(data_dir) as node:
        run = node.ledger.run(actor())
    if as_json:
        print_json({"released": run.released, "withheld": run.withheld})
        return
    for name in sorted(run.released):
        Console().print(
            f"{escape(name)}: {run.released[name]} released, {run.withheld[name]} withheld"
        )


@release_group.command("show")
@data_option
@click.argument("object_id")
@json_option
def release_show(data_dir: Path | None, object_id: str, as_json: bool) -> None:
    """What was decided for an object, for each partner and version, and why; and which
    partners acknowledged storing it, and when."""
    with opened(data_dir) as node:
        decisions = node.ledger.decisions(object_id)
        delivered = node.deliveries.of_object(object_id)
        node.audit.append(actor(), "consult", [object_id], details={"release_show": True})
    if as_json:
        print_json(
            {
                "decisions": [decision.__dict__ for decision in decisions],
                "deliveries": [delivery.__dict__ for delivery in delivered],
            }
        )
        return
    console = Console()
    console.print(
        table(
            ["partner", "version", "decided", "released", "code", "reason"],
            (
                [
                    decision.partner,
                    decision.modified,
                    decision.decided_at,
                    "yes" if decision.released else "no",
                    decision.code,
                    decision.reason,
                ]
                for decision in decisions
            ),
        )
    )
    console.print(
        table(
            ["partner", "version", "stored there", "acknowledged"],
            (
                [delivery.partner, delivery.modified, delivery.stored_at, delivery.acknowledged_at]
                for delivery in delivered
            ),
            title="deliveries",
        )
        if delivered
        else "no delivery acknowledged yet"
    )


@release_group.command("consent")
@data_option
@click.argument("object_id")
@click.option("--originator", required=True, help="The originator's identity id.")
@click.option("--partner", required=True, help="The partner it may now go to.")
def release_consent(data_dir: Path | None, object_id: str, originator: str, partner: str) -> None:
    """Record an originator's consent to pass an object on to a partner (third-party rule)."""
    with opened(data_dir) as node:
        node.ledger.record_consent(object_id, originator, partner, actor())
        node.audit.append(
            actor(),
            "config",
            [object_id],
            details={"consent": {"originator": originator, "partner": partner}},
        )
        run = node.ledger.reconsider(object_id, actor())
    Console().print(f"consent recorded; {plural(run.released.get(partner, 0), 'version')} released")


@release_group.command("name")
@data_option
@click.argument("object_id")
@click.argument("partner")
def release_name(data_dir: Path | None, object_id: str, partner: str) -> None:
    """Name a partner as a recipient of a TLP:RED object."""
    with opened(data_dir) as node:
        node.ledger.name_recipient(object_id, partner)
        node.audit.append(actor(), "config", [object_id], details={"red_recipient": partner})
        run = node.ledger.reconsider(object_id, actor())
    Console().print(
        f"{escape(partner)} named; {plural(run.released.get(partner, 0), 'version')} released"
    )


@partner_group.command("update")
@data_option
@click.argument("name")
@click.option("--url", default=None, help="A new base URL.")
@click.option("--token", envvar="DIAPASON_PARTNER_TOKEN", default=None, help="A new token.")
@click.option("--identity", "identity_id", default=None, help="The partner's identity id.")
@tls_options
@click.option(
    "--insecure/--no-insecure",
    default=None,
    help="Allow (or no longer) a plain http:// URL outside loopback.",
)
def partner_update(
    data_dir: Path | None,
    name: str,
    url: str | None,
    token: str | None,
    identity_id: str | None,
    ca: Path | None,
    fingerprint: str | None,
    client_fingerprint: str | None,
    insecure: bool | None,
) -> None:
    """Change how to reach a partner; the next sync tries again at once. ``none`` as the
    value of --ca, --fingerprint or --client-fingerprint removes it."""
    values: dict[str, object] = {"failures": 0, "next_attempt_at": None, "last_error": None}
    if url is not None:
        values.update(url=url, remote_collection=None)
    if token is not None:
        values["token"] = token
    if identity_id is not None:
        values["identity_id"] = identity_id
    if ca is not None:
        values["ca_certificates"] = None if str(ca) == "none" else read_ca_file(ca)
    if fingerprint is not None:
        values["fingerprint"] = _fingerprint_or_none(fingerprint, "fingerprint")
    if insecure is not None:
        values["insecure"] = insecure
    bound = (
        _fingerprint_or_none(client_fingerprint, "client fingerprint")
        if client_fingerprint is not None
        else None
    )
    with opened(data_dir) as node:
        found = node.partners.get(name)
        if found is None:
            raise click.ClickException(f"no partner {name!r}")
        node.partners.update(name, **values)
        shown = [key for key in values if key not in ("failures", "next_attempt_at", "last_error")]
        if client_fingerprint is not None:
            node.accounts.bind_certificate(found.account, bound)
            shown.append("client_certificate")
        shown = sorted(key for key in shown if key != "remote_collection")
        node.audit.append(actor(), "partner_update", details={"partner": name, "changed": shown})
        updated = node.partners.get(name)
    transport = escape(updated.transport()) if updated is not None else ""
    Console().print(
        f"partner {escape(name)} updated ({', '.join(shown) or 'retry reset'}); "
        f"reached over {transport}"
    )


def _fingerprint_or_none(value: str, what: str) -> str | None:
    return None if value == "none" else parse_fingerprint(value, what)


@click.command("review")
@data_option
@json_option
def review_command(data_dir: Path | None, as_json: bool) -> None:
    """Records about persons past their review-by date (withheld from release until
    reviewed: a new version with a new review-by date)."""
    from datetime import UTC, datetime

    with opened(data_dir) as node:
        overdue = node.read.overdue_reviews(datetime.now(UTC).date())
        node.audit.append(
            actor(), "review", [object_id for object_id, _, _ in overdue], details={"overdue": True}
        )
    show(
        [{"id": i, "name": n, "review_by": d} for i, n, d in overdue],
        ["id", "name", "review by"],
        overdue,
        as_json=as_json,
        title="past their review date",
        empty="no record is past its review date",
    )

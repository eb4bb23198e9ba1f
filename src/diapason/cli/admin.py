"""Administration commands: the audit trail (and the heads of partners' trails witnessed
here), users and API tokens."""

from __future__ import annotations

import itertools
import sys
from datetime import datetime
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn

from diapason.accounts import Failures, TokenInfo, User
from diapason.audit import WitnessCheck, WitnessedHead
from diapason.cli.common import (
    actor,
    data_option,
    json_option,
    opened,
    plural,
    print_json,
    show,
    stderr,
)
from diapason.domain.roles import ROLES
from diapason.domain.stix import StixError
from diapason.domain.timestamps import as_store_timestamp
from diapason.exchange.witness import MAX_LISTING


@click.group("audit")
def audit_group() -> None:
    """The audit trail: verify its keyed hash chain (and against what partners witnessed),
    read its entries; the heads of partners' trails witnessed here."""


@audit_group.command("verify")
@data_option
@click.option(
    "--with-partners",
    is_flag=True,
    help="Also compare the trail with the heads every partner witnessed (asked now, over "
    "HTTP with this node's token for it).",
)
@click.option(
    "--partner",
    "only",
    default=None,
    help="With --with-partners: only this partner.",
)
@click.option(
    "--witness",
    "witness_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Also compare with the heads in FILE, as a partner's `diapason audit witnessed "
    "--partner <this node> --json` printed them (repeatable).",
)
@json_option
def audit_verify(
    data_dir: Path | None,
    with_partners: bool,
    only: str | None,
    witness_files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Walk the whole chain and name the first broken link (exit code 1 if any); with
    --with-partners or --witness, also name the first entry that differs from what a
    partner witnessed."""
    if only is not None and not with_partners:
        raise click.UsageError("--partner goes with --with-partners")
    heads_from_files = [_witness_file(path) for path in witness_files]
    with (
        opened(data_dir) as node,
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=stderr, disable=as_json
        ) as progress,
    ):
        task = progress.add_task("verifying", total=None)

        def advance(count: int) -> None:
            progress.update(task, description=f"verified {plural(count, 'entry', 'entries')}")

        node.audit.close_polls()  # the hours closed since the last poll: in the trail now
        result = node.audit.verify(progress=advance)
        # Each check, and where the heads came from: a partner's URL (taken from this
        # node's database, so shown), or a file.
        checks: list[tuple[WitnessCheck, str]] = []
        if with_partners:
            partners = [p for p in node.partners.all() if only is None or p.name == only]
            if only is not None and not partners:
                raise click.BadParameter(f"no partner {only!r}", param_hint="--partner")
            agent = node.sync_agent()
            for partner in partners:
                progress.update(task, description=f"asking {partner.name} at {partner.url}")
                checks.append((agent.check_witness(partner), partner.url))
        for (name, heads), path in zip(heads_from_files, witness_files, strict=True):
            checks.append((node.audit.check_witnessed(name, heads), str(path)))
    ok = result.ok and all(check.ok for check, _where in checks)
    if as_json:
        print_json(
            {
                "ok": ok,
                "checked": result.checked,
                "broken_seq": result.broken_seq,
                "message": result.message,
                "partners": [{**check.as_dict(), "from": where} for check, where in checks],
            }
        )
    else:
        console = Console()
        if result.ok:
            console.print(
                f"[green]audit trail intact[/green]: {plural(result.checked, 'entry', 'entries')}"
            )
        else:
            console.print(f"[red]audit trail broken[/red]: {escape(result.message)}")
        for check, where in checks:
            colour = "green" if check.ok else "red" if check.asked else "yellow"
            console.print(
                f"[{colour}]{escape(check.partner)}[/{colour}] ({escape(where)}): "
                f"{escape(check.message)}"
            )
    if not ok:
        sys.exit(1)


def _witness_file(path: Path) -> tuple[str, list[WitnessedHead]]:
    """The witnessing node's name and the heads in a file of ``audit witnessed --json``."""
    try:
        value = orjson.loads(path.read_bytes())
        name, heads = value["node"], value["heads"]
        found = [
            WitnessedHead(int(h["seq"]), str(h["hash"]), str(h["witnessed_at"])) for h in heads
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise click.BadParameter(
            f"{path}: not the output of `diapason audit witnessed --partner NAME --json`",
            param_hint="--witness",
        ) from None
    if not isinstance(name, str) or any(
        later.seq <= earlier.seq for earlier, later in itertools.pairwise(found)
    ):
        raise click.BadParameter(f"{path}: heads out of order", param_hint="--witness")
    return name, found


@audit_group.command("witnessed")
@data_option
@click.option("--partner", "name", default=None, help="List every head kept of this partner.")
@json_option
def audit_witnessed(data_dir: Path | None, name: str | None, as_json: bool) -> None:
    """The heads of partners' audit trails this node keeps as their witness: per partner
    the newest, or with --partner every head (what that partner's `audit verify
    --witness FILE` reads)."""
    with opened(data_dir) as node:
        witnesses = node.witnesses
        if name is None:
            rows = witnesses.summary()
            show(
                rows,
                ["partner", "heads", "last entry", "hash", "witnessed at"],
                (
                    [
                        r["partner"],
                        r["heads"],
                        r["last_seq"],
                        r["last_hash"],
                        r["last_witnessed_at"],
                    ]
                    for r in rows
                ),
                as_json=as_json,
                empty="No partner's audit head is kept here yet.",
            )
            return
        heads: list[WitnessedHead] = []
        after = 0
        while True:
            page = witnesses.heads(name, after=after, limit=MAX_LISTING)
            heads.extend(page)
            if len(page) < MAX_LISTING:
                break
            after = page[-1].seq
        node_name = node.settings.node_name
    show(
        {"node": node_name, "partner": name, "heads": [head.as_dict() for head in heads]},
        ["entry", "hash", "witnessed at"],
        ([head.seq, head.hash, head.witnessed_at] for head in heads),
        as_json=as_json,
        empty=f"No audit head of {name} is kept here.",
    )


@audit_group.command("list")
@data_option
@click.option("--after", default=0, type=int, help="Entries after this sequence number.")
@click.option("--limit", default=50, type=click.IntRange(1, 10_000), show_default=True)
@click.option("--actor", "who", default=None, help="Only this actor.")
@click.option("--action", default=None, help="Only this action.")
@click.option("--object", "object_id", default=None, help="Only entries about this object.")
@click.option("--since", default=None, help="Only entries at or after this time (RFC 3339).")
@json_option
def audit_list(
    data_dir: Path | None,
    after: int,
    limit: int,
    who: str | None,
    action: str | None,
    object_id: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    """List audit entries, oldest first."""
    if since is not None:
        try:
            since = as_store_timestamp(since, "since")
        except StixError as error:
            raise click.BadParameter(str(error), param_hint="--since") from None
    with opened(data_dir) as node:
        node.audit.close_polls()
        entries = node.audit.entries(
            after=after, limit=limit, actor=who, action=action, object_id=object_id, since=since
        )
    show(
        [entry.as_dict() for entry in entries],
        ["seq", "at", "actor", "action", "objects", "reason"],
        (
            [
                entry.seq,
                entry.at,
                entry.actor,
                entry.action,
                ", ".join(entry.object_ids[:3]) + (" …" if len(entry.object_ids) > 3 else ""),
                entry.reason,
            ]
            for entry in entries
        ),
        as_json=as_json,
    )


def _user_row(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


def _token_row(token: TokenInfo) -> dict[str, object]:
    return {
        "id": token.id,
        "username": token.username,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
        "last_used_at": token.last_used_at,
    }


@click.group("user")
def user_group() -> None:
    """Accounts of the people who use this node."""


@user_group.command("add")
@data_option
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option(
    "--password-stdin", is_flag=True, help="Read a password from standard input (for web login)."
)
@json_option
def user_add(
    data_dir: Path | None, username: str, role: str, password_stdin: bool, as_json: bool
) -> None:
    """Add a user. Without a password the user signs in with API tokens only."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with opened(data_dir) as node:
        user = node.accounts.add_user(username, role, password)
        node.audit.append(actor(), "user_add", details={"username": username, "role": role})
    if as_json:
        print_json(_user_row(user))
    else:
        Console().print(f"user {escape(user.username)} added with role {user.role}")


@user_group.command("list")
@data_option
@json_option
def user_list(data_dir: Path | None, as_json: bool) -> None:
    """List users."""
    with opened(data_dir) as node:
        users = node.accounts.list_users()
    show(
        [_user_row(user) for user in users],
        ["id", "username", "role", "state", "created"],
        (
            [
                user.id,
                user.username,
                user.role,
                "disabled" if user.disabled else "active",
                user.created_at,
            ]
            for user in users
        ),
        as_json=as_json,
    )


@user_group.command("password")
@data_option
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the new password from standard input (never from the command line).",
)
def user_password(data_dir: Path | None, username: str, password_stdin: bool) -> None:
    """Set or replace a user's password (for the web interface), e.g. the first admin's."""
    password = sys.stdin.readline().rstrip("\n")
    with opened(data_dir) as node:
        node.accounts.set_password(username, password)
        node.audit.append(actor(), "password_change", details={"username": username})
    Console().print(f"password of {escape(username)} set")


@user_group.command("disable")
@data_option
@click.argument("username")
def user_disable(data_dir: Path | None, username: str) -> None:
    """Disable a user and revoke all its tokens."""
    with opened(data_dir) as node:
        node.accounts.disable_user(username)
        node.audit.append(actor(), "user_disable", details={"username": username})
    Console().print(f"user {escape(username)} disabled; its tokens are revoked")


@user_group.command("unlock")
@data_option
@click.argument("username", required=False)
@click.option("--address", default=None, help="Lift the lock of this client address instead.")
def user_unlock(data_dir: Path | None, username: str | None, address: str | None) -> None:
    """Lift a sign-in lock or wait: forget an account's failed sign-ins (or an address's)."""
    if (username is None) == (address is None):
        raise click.UsageError("name a user, or give --address (one of the two)")
    with opened(data_dir) as node:
        forgotten = node.authenticator.unlock(
            actor(), username=username, address=address, via="cli"
        )
    named = escape(username if username is not None else f"address {address}")
    if forgotten:
        count = sum(f.failures for f in forgotten)
        Console().print(f"{named} unlocked: {count} failed sign-ins forgotten")
    else:
        Console().print(f"{named} had no failed sign-ins to forget")


@user_group.command("locks")
@data_option
@json_option
def user_locks(data_dir: Path | None, as_json: bool) -> None:
    """List account names and client addresses with recent failed sign-ins, locked first."""
    with opened(data_dir) as node:
        throttle = node.authenticator.throttle
        records = throttle.records()
        now = throttle.clock()

    def state(failures: Failures) -> str:
        if failures.locked(now):
            return "locked"
        return "waiting" if failures.holds(now) else "counting"

    listed = [
        {
            "scope": f.scope,
            "subject": f.subject,
            "failures": f.failures,
            "last_failure_at": _when(f.last_failure_at),
            "state": state(f),
            "until": _when(f.not_before) if f.holds(now) else None,
        }
        for f in records
    ]
    show(
        listed,
        ["scope", "name or address", "failures", "last failure", "state", "until"],
        (list(row.values()) for row in listed),
        as_json=as_json,
        empty="no failed sign-ins remembered",
    )


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group("token")
def token_group() -> None:
    """API tokens (for scripts, TAXII clients and partner nodes)."""


@token_group.command("create")
@data_option
@click.argument("username")
@click.option("--name", default="default", show_default=True, help="What the token is for.")
@json_option
def token_create(data_dir: Path | None, username: str, name: str, as_json: bool) -> None:
    """Create a token for a user. The secret is shown once, here, and never again."""
    with opened(data_dir) as node:
        issued = node.accounts.create_token(username, name)
        node.audit.append(
            actor(),
            "token_create",
            details={"username": username, "token_id": issued.info.id, "name": name},
        )
    if as_json:
        print_json({**_token_row(issued.info), "token": issued.secret})
    else:
        Console().print(
            f"token {issued.info.id} for {escape(username)} (shown once, keep it safe):"
        )
        click.echo(issued.secret)


@token_group.command("revoke")
@data_option
@click.argument("token_id", type=int)
def token_revoke(data_dir: Path | None, token_id: int) -> None:
    """Revoke a token by its id (see `diapason token list`)."""
    with opened(data_dir) as node:
        info = node.accounts.revoke_token(token_id)
        node.audit.append(
            actor(), "token_revoke", details={"token_id": token_id, "username": info.username}
        )
    Console().print(f"token {token_id} of {escape(info.username)} revoked")


@token_group.command("list")
@data_option
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@json_option
def token_list(data_dir: Path | None, username: str | None, as_json: bool) -> None:
    """List tokens (never their secrets: only a prefix that identifies them)."""
    with opened(data_dir) as node:
        tokens = node.accounts.list_tokens(username)
    show(
        [_token_row(token) for token in tokens],
        ["id", "user", "name", "prefix", "created", "last used", "state"],
        (
            [
                token.id,
                token.username,
                token.name,
                token.prefix,
                token.created_at,
                token.last_used_at,
                "revoked" if token.revoked_at else "active",
            ]
            for token in tokens
        ),
        as_json=as_json,
    )

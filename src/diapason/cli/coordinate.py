"""The joint mechanism from the command line: ``diapason coordinate …``.

Groups, meetings and actions here; requests, figures and opinions in
``coordinate_contributions.py``. Every command is a thin layer over ``Coordination``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.markup import escape

from diapason.cli.common import (
    Styled,
    actor,
    data_option,
    json_option,
    opened,
    print_json,
    show,
    stderr,
)
from diapason.coordinate import Coordination
from diapason.coordinate.documents import to_markdown, to_pdf
from diapason.coordinate.editing import Edit
from diapason.coordinate.groups import parse_member
from diapason.coordinate.meetings import parse_delegation
from diapason.coordinate.records import TLP_LEVELS
from diapason.coordinate.revisions import Revision
from diapason.domain.coordination import GROUP_KINDS, MEETING_KINDS, MEETING_STATUSES

F = TypeVar("F", bound=Callable[..., Any])


def editor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def given_clock() -> Callable[[], datetime] | None:
    """The clock given to ``main(clock=…)`` (tests fix the time), or None: now."""
    context = click.get_current_context(silent=True)
    given = context.find_root().obj if context is not None else None
    return given if callable(given) else None


@contextmanager
def coordination(data_dir: Path | None) -> Iterator[Coordination]:
    """The node's joint mechanism, acting as the operating-system user."""
    with opened(data_dir) as node:
        yield node.coordination(actor=actor(), editor=editor(), clock=given_clock())


def tlp_option(function: F) -> F:
    return click.option(
        "--tlp",
        type=click.Choice(TLP_LEVELS),
        default=None,
        help="TLP of the record (default amber; always REL TO the partners concerned).",
    )(function)


def parse_value(text: str) -> Any:
    """A ``--set`` value: JSON when it reads as JSON (numbers, lists, null), else text;
    ``@FILE`` reads the text of a file (minutes)."""
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise click.BadParameter(f"{text[1:]}: {error.strerror}") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def parse_sets(pairs: tuple[str, ...]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"{pair!r}: expected FIELD=VALUE", param_hint="--set")
        changes[name.strip()] = parse_value(value)
    return changes


def show_written(revision: Revision | Edit, as_json: bool, what: str) -> None:
    """Print what a command wrote: the item id, and whether it is now in conflict."""
    conflict = isinstance(revision, Edit) and revision.conflict
    written = revision.revision if isinstance(revision, Edit) else revision
    if as_json:
        print_json({**written.as_dict(), "conflict": conflict})
        return
    console = Console()
    console.print(f"{what} {escape(written.item_id)} (revision {escape(written.id)})")
    if conflict:
        console.print(
            "[yellow]conflict:[/yellow] this edit was based on an earlier revision; "
            f"see `diapason coordinate conflicts` and resolve {escape(written.item_id)}"
        )


@click.group("coordinate")
def coordinate_group() -> None:
    """The joint mechanism (GMMP): groups, meetings, actions, requests for information,
    indicator figures, opinions, conflicts and documents.

    Everything is a STIX object that travels to the partners concerned through the same
    channel, policy and audit trail as intelligence.
    """


# -- any item ------------------------------------------------------------------------------
@coordinate_group.command("show")
@data_option
@click.argument("item_id")
@json_option
def show_command(data_dir: Path | None, item_id: str, as_json: bool) -> None:
    """Show one joint item (group, meeting with its actions, action, request, figure)."""
    with coordination(data_dir) as joint:
        view = joint.get(item_id)
    if as_json:
        print_json(view)
        return
    console = Console()
    if view["conflict"]:
        console.print(
            f"[yellow]in conflict between {len(view['heads'])} revisions[/yellow]: "
            f"`diapason coordinate resolve {escape(view['id'])}`"
        )
    console.print_json(orjson.dumps(view).decode())


@coordinate_group.command("update")
@data_option
@click.argument("item_id")
@click.option("--set", "pairs", multiple=True, help="FIELD=VALUE (JSON or text; @FILE).")
@click.option("--based-on", default=None, help="The revision you edited (default: current).")
@click.option("--note", default=None, help="Why (kept with the revision).")
@json_option
def update_command(
    data_dir: Path | None,
    item_id: str,
    pairs: tuple[str, ...],
    based_on: str | None,
    note: str | None,
    as_json: bool,
) -> None:
    """Change fields of a joint item: a new revision, sent to the partners concerned.

    An edit based on a revision someone else has since edited is kept, and the item is
    then in conflict until resolved. While it is in conflict, plain edits are refused.
    """
    changes = parse_sets(pairs)
    if not changes:
        raise click.UsageError("nothing to change: give --set FIELD=VALUE")
    with coordination(data_dir) as joint:
        edit = joint.update(item_id, changes, based_on=based_on, note=note)
    show_written(edit, as_json, "updated")


@coordinate_group.command("history")
@data_option
@click.argument("item_id")
@json_option
def history_command(data_dir: Path | None, item_id: str, as_json: bool) -> None:
    """Every revision of an item, oldest first: who, on which side, what changed."""
    with coordination(data_dir) as joint:
        revisions = joint.history(item_id)
    show(
        revisions,
        ["revision", "created", "side", "by", "changed", "note", "head"],
        (
            [
                r["id"],
                r["created"],
                r["side"],
                r["edited_by"],
                ", ".join(f"{k}={v}" for k, v in r["changed"].items())[:120],
                r["note"],
                "yes" if r["head"] else "",
            ]
            for r in revisions
        ),
        as_json=as_json,
        title="history",
    )


@coordinate_group.command("conflicts")
@data_option
@json_option
def conflicts_command(data_dir: Path | None, as_json: bool) -> None:
    """Items edited concurrently on both sides (or by two users): what each changed."""
    with coordination(data_dir) as joint:
        found = joint.conflicts()
    show(
        found,
        ["item", "revision", "side", "by", "changed"],
        (
            [
                conflict["item"],
                head["id"],
                head["side"],
                head["edited_by"],
                ", ".join(f"{k}={v}" for k, v in head["changed"].items())[:120],
            ]
            for conflict in found
            for head in conflict["heads"]
        ),
        as_json=as_json,
        title="conflicts",
        empty="no conflicts",
    )
    if as_json:
        return
    for conflict in found:
        if conflict["clashes"]:
            fields = ", ".join(conflict["clashes"])
            stderr.print(f"{escape(conflict['item'])}: both sides changed {escape(fields)}")


@coordinate_group.command("resolve")
@data_option
@click.argument("item_id")
@click.option("--take", default=None, help="Settle every clash with this revision's values.")
@click.option("--set", "pairs", multiple=True, help="FIELD=VALUE for a clashing field.")
@click.option("--note", default=None, help="Why this resolution.")
@json_option
def resolve_command(
    data_dir: Path | None,
    item_id: str,
    take: str | None,
    pairs: tuple[str, ...],
    note: str | None,
    as_json: bool,
) -> None:
    """End a conflict: a revision based on every conflicting one. What only one side
    changed is kept; fields both changed are settled with --take or --set."""
    with coordination(data_dir) as joint:
        revision = joint.resolve(item_id, take=take, values=parse_sets(pairs), note=note)
    show_written(revision, as_json, "resolved")


# -- groups --------------------------------------------------------------------------------
@coordinate_group.group("group")
def group_group() -> None:
    """Joint groups (the GMMP, a security working group, …)."""


@group_group.command("add")
@data_option
@click.argument("name")
@click.option("--kind", type=click.Choice(GROUP_KINDS), required=True)
@click.option("--partner", "partners", multiple=True, required=True, help="A side (repeat).")
@click.option(
    "--member",
    "members",
    multiple=True,
    help="PARTNER:NAME[:FUNCTION]; a * after the name marks that side's chair (repeat).",
)
@click.option("--description", default=None)
@tlp_option
@json_option
def group_add(
    data_dir: Path | None,
    name: str,
    kind: str,
    partners: tuple[str, ...],
    members: tuple[str, ...],
    description: str | None,
    tlp: str | None,
    as_json: bool,
) -> None:
    """Create a joint group with its partners, members and a chair on each side."""
    with coordination(data_dir) as joint:
        revision = joint.create_group(
            name, kind, partners, [parse_member(m) for m in members], description, tlp=tlp
        )
    show_written(revision, as_json, "group")


@group_group.command("list")
@data_option
@json_option
def group_list(data_dir: Path | None, as_json: bool) -> None:
    """Joint groups, with their partners and chairs."""
    with coordination(data_dir) as joint:
        groups = joint.groups()
    show(
        groups,
        ["id", "name", "kind", "partners", "chairs", "members"],
        (
            [
                g["id"],
                g["name"],
                g["kind"],
                ", ".join(g["partners"]),
                ", ".join(f"{k}: {v}" for k, v in g["chairs"].items()),
                len(g.get("members", [])),
            ]
            for g in groups
        ),
        as_json=as_json,
        title="groups",
    )


# -- meetings ------------------------------------------------------------------------------
@coordinate_group.group("meeting")
def meeting_group() -> None:
    """Meetings of joint groups; their minutes and draft communiqués."""


@meeting_group.command("add")
@data_option
@click.argument("group_id")
@click.option("--title", required=True)
@click.option("--kind", type=click.Choice(MEETING_KINDS), required=True)
@click.option("--start", required=True, help="Date (YYYY-MM-DD) or RFC 3339 timestamp.")
@click.option("--place", required=True)
@click.option("--status", type=click.Choice(MEETING_STATUSES), default="planned")
@click.option(
    "--delegation",
    "delegations",
    multiple=True,
    help="PARTNER:HEAD[,MEMBER…] (repeat); a function in parentheses after a name: "
    "'rabat:Nadia Benali (directrice de la migration),Youssef El Idrissi'.",
)
@click.option("--agenda", multiple=True, help="An agenda point (repeat, in order).")
@tlp_option
@json_option
def meeting_add(
    data_dir: Path | None,
    group_id: str,
    title: str,
    kind: str,
    start: str,
    place: str,
    status: str,
    delegations: tuple[str, ...],
    agenda: tuple[str, ...],
    tlp: str | None,
    as_json: bool,
) -> None:
    """Record a meeting of a joint group (minutes and decisions: `coordinate update`)."""
    with coordination(data_dir) as joint:
        revision = joint.create_meeting(
            group_id,
            title,
            kind,
            start,
            place,
            delegations=[parse_delegation(d) for d in delegations],
            agenda=list(agenda),
            status=status,
            tlp=tlp,
        )
    show_written(revision, as_json, "meeting")


@meeting_group.command("list")
@data_option
@click.option("--group", default=None, help="Only this group's meetings.")
@json_option
def meeting_list(data_dir: Path | None, group: str | None, as_json: bool) -> None:
    """Meetings, oldest first."""
    with coordination(data_dir) as joint:
        meetings = joint.meetings(group)
    show(
        meetings,
        ["id", "start", "title", "kind", "place", "status", "conflict"],
        (
            [
                m["id"],
                m["start"][:16],
                m["title"],
                m["kind"],
                m["place"],
                m["status"],
                "CONFLICT" if m["conflict"] else "",
            ]
            for m in meetings
        ),
        as_json=as_json,
        title="meetings",
    )


def _document_command(name: str, what: str) -> Callable[..., None]:
    @meeting_group.command(name)
    @data_option
    @click.argument("meeting_id")
    @click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
    @click.option("--format", "form", type=click.Choice(["md", "pdf"]), default="md")
    @click.option(
        "--output",
        "-o",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="File to write (default: Markdown on standard output; PDF needs a file).",
    )
    def command(
        data_dir: Path | None, meeting_id: str, lang: str, form: str, output: Path | None
    ) -> None:
        with coordination(data_dir) as joint:
            document = getattr(joint, name)(meeting_id, lang)
        if form == "pdf":
            if output is None:
                raise click.UsageError("--format pdf needs --output FILE")
            output.write_bytes(to_pdf(document))
        elif output is None:
            click.echo(to_markdown(document), nl=False)
            return
        else:
            output.write_text(to_markdown(document), encoding="utf-8")
        stderr.print(f"{what} written to {escape(str(output))}")

    command.__doc__ = f"The {what} of a meeting, in French or English, as Markdown or PDF."
    return command


minutes_command = _document_command("minutes", "minutes")
communique_command = _document_command("communique", "draft joint communiqué")


@meeting_group.command("share-communique")
@data_option
@click.argument("meeting_id")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@json_option
def share_communique(data_dir: Path | None, meeting_id: str, lang: str, as_json: bool) -> None:
    """Store the draft communiqué as a STIX report sent to the group's partners for
    review at the next exchange round."""
    with coordination(data_dir) as joint:
        report = joint.share_communique(meeting_id, lang)
    if as_json:
        print_json(report)
    else:
        Console().print(f"report {escape(report['id'])}: {escape(report['name'])}")


# -- actions -------------------------------------------------------------------------------
@coordinate_group.group("action")
def action_group() -> None:
    """Action items: owner, assignee, due date, status; overdue ones flagged."""


@action_group.command("add")
@data_option
@click.argument("title")
@click.option("--owner", required=True, help="The owning partner (or this node).")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD (not in the past).")
@click.option("--meeting", default=None, help="The meeting that decided it.")
@click.option("--assignee", default=None)
@click.option("--description", default=None)
@click.option("--link", "links", multiple=True, help="An object it is about (repeat).")
@tlp_option
@json_option
def action_add(
    data_dir: Path | None,
    title: str,
    owner: str,
    due: str,
    meeting: str | None,
    assignee: str | None,
    description: str | None,
    links: tuple[str, ...],
    tlp: str | None,
    as_json: bool,
) -> None:
    """Create an action item."""
    with coordination(data_dir) as joint:
        revision = joint.create_action(
            title,
            owner,
            due,
            meeting_ref=meeting,
            assignee=assignee,
            description=description,
            linked_refs=list(links),
            tlp=tlp,
        )
    show_written(revision, as_json, "action")


@action_group.command("list")
@data_option
@click.option("--overdue", is_flag=True, help="Only overdue actions.")
@click.option("--owner", default=None)
@click.option("--meeting", default=None)
@json_option
def action_list(
    data_dir: Path | None, overdue: bool, owner: str | None, meeting: str | None, as_json: bool
) -> None:
    """Action items, soonest due first; overdue ones flagged."""
    with coordination(data_dir) as joint:
        actions = joint.actions(meeting=meeting, owner=owner, overdue=overdue)
    show(
        actions,
        ["id", "due", "title", "owner", "assignee", "status", "flag"],
        (
            [
                a["id"],
                a["due"],
                a["title"],
                a["owner"],
                a.get("assignee") or "",
                a["status"],
                Styled(
                    (f"[red]OVERDUE {a['days_overdue']} d[/red]" if a["overdue"] else "")
                    + (" [yellow]CONFLICT[/yellow]" if a["conflict"] else "")
                ),
            ]
            for a in actions
        ),
        as_json=as_json,
        title="actions",
    )


def register(group: click.Group) -> None:
    """Add the commands of ``coordinate_contributions`` (requests, figures, opinions)."""
    from diapason.cli.coordinate_contributions import figure_group, opinion_group, rfi_group

    for command in (rfi_group, figure_group, opinion_group):
        group.add_command(command)


register(coordinate_group)

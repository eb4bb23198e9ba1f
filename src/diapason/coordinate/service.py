"""``Coordination``: the public service of the joint mechanism, for the CLI, the JSON API
and the web interface.

One object per user and request: ``node.coordination(actor="web:nadia", editor="nadia")``.
Every method checks its input and raises ``CoordinationError`` (``.status`` is the HTTP
status it maps to) with one precise line; every write goes through the store with its
audit entry; every read made for a person is audited as a consultation. Views are plain
JSON-ready dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from diapason.coordinate import editing, indicators, opinions, requests
from diapason.coordinate.actions import ACTION, action_flags
from diapason.coordinate.chart import figures_svg
from diapason.coordinate.documents import Document, communique, minutes, to_markdown
from diapason.coordinate.editing import Edit, Kind, item_view
from diapason.coordinate.groups import GROUP, group_flags
from diapason.coordinate.indicators import FIGURE
from diapason.coordinate.meetings import MEETING, parties, sources_markings
from diapason.coordinate.records import (
    DEFAULT_TLP,
    TLP_LEVELS,
    CoordinationError,
    Holdings,
    NotFound,
    Records,
)
from diapason.coordinate.requests import RFI
from diapason.coordinate.revisions import Conflict, Revision
from diapason.coordinate.texts import Lang
from diapason.domain.grading import grade

# report_types of a draft joint communiqué (report-type-ov is open; none of its values fits).
COMMUNIQUE_REPORT_TYPE = "joint-communique-draft"
KINDS: dict[str, Kind] = {kind.type: kind for kind in (GROUP, MEETING, ACTION, RFI, FIGURE)}
LANG_VALUES = ("fr", "en")


def kind_of(item_id: str) -> Kind:
    """The kind of item an id names (by its STIX type)."""
    stix_type = str(item_id).partition("--")[0]
    if stix_type not in KINDS:
        raise NotFound(
            f"{str(item_id)[:80]}: not a joint item id (groups, meetings, actions, "
            "requests, figures)"
        )
    return KINDS[stix_type]


def _listed(value: Any, name: str) -> list[Any]:
    """A list argument as given (JSON bodies may hold anything): never a string's letters."""
    if isinstance(value, list | tuple):
        return list(value)
    raise CoordinationError(f"field {name}: expected a list")


def _lang(value: str) -> Lang:
    if value == "fr":
        return "fr"
    if value == "en":
        return "en"
    raise CoordinationError(f"lang: {value!r} is not fr or en")


class Coordination:
    """The joint mechanism of one node, as one user sees and changes it."""

    def __init__(
        self,
        holdings: Holdings,
        *,
        actor: str,
        editor: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.records = Records(holdings, actor, editor, clock or (lambda: datetime.now(UTC)))

    # -- any item ---------------------------------------------------------------------------
    def update(
        self,
        item_id: str,
        changes: Mapping[str, Any],
        *,
        based_on: str | None = None,
        note: str | None = None,
    ) -> Edit:
        """Change fields of any item; ``based_on`` is the revision the user edited."""
        return editing.edit(
            self.records, kind_of(item_id), item_id, changes, based_on=based_on, note=note
        )

    def get(self, item_id: str) -> dict[str, Any]:
        """One item as shown, whatever its kind (a meeting comes with its actions, a
        request with its answers)."""
        kind = kind_of(item_id)
        if kind is MEETING:
            return self.meeting(item_id)
        if kind is RFI:
            return self.request(item_id)
        item = self.records.item(kind.type, item_id)
        view = item_view(self.records, item)
        if kind is ACTION:
            view.update(action_flags(item, self.records.today()))
        if kind is GROUP:
            view.update(group_flags(item.fields))
        self.records.consult([item.id], kind.noun)
        return view

    def history(self, item_id: str) -> list[dict[str, Any]]:
        """Every revision of an item held, oldest first, with what each changed."""
        kind = kind_of(item_id)
        item = editing.history(self.records, kind, item_id)
        shown = []
        for revision in item.revisions:
            bases = [item.revision(b) for b in revision.based_on]
            before = bases[0].fields if bases and bases[0] is not None else {}
            shown.append(
                {
                    **revision.as_dict(),
                    "side": self.records.side_of(revision.author),
                    "changed": editing_changes(before, revision.fields),
                    "head": revision in item.heads,
                }
            )
        return shown

    def conflicts(self) -> list[dict[str, Any]]:
        """Every item in conflict (concurrent edits), with what each side changed."""
        found = editing.conflicts(self.records, list(KINDS.values()))
        self.records.consult([c.item.id for c in found], "conflicts")
        return [self._conflict_view(c) for c in found]

    def conflict(self, item_id: str) -> dict[str, Any] | None:
        found = editing.conflict(self.records, kind_of(item_id), item_id)
        return self._conflict_view(found) if found else None

    def _conflict_view(self, conflict: Conflict) -> dict[str, Any]:
        view = conflict.as_dict()
        for head in view["heads"]:
            head["side"] = self.records.side_of(head["author"])
        return view

    def resolve(
        self,
        item_id: str,
        *,
        take: str | None = None,
        values: Mapping[str, Any] | None = None,
        note: str | None = None,
    ) -> Revision:
        """End a conflict with a revision based on every head."""
        return editing.resolve(
            self.records, kind_of(item_id), item_id, take=take, values=values, note=note
        )

    # -- groups -------------------------------------------------------------------------
    def create_group(
        self,
        name: str,
        kind: str,
        partners: Sequence[str],
        members: Sequence[Mapping[str, Any]] = (),
        description: str | None = None,
        *,
        tlp: str | None = None,
    ) -> Revision:
        """A new joint group (GMMP, security working group, …)."""
        fields = {
            "name": name,
            "kind": kind,
            "partners": _listed(partners, "partners"),
            "members": _listed(members, "members"),
            "description": description,
        }
        return editing.create(self.records, GROUP, fields, tlp=tlp)

    def groups(self) -> list[dict[str, Any]]:
        shown = []
        for item in self.records.items(GROUP.type).values():
            shown.append({**item_view(self.records, item), **group_flags(item.fields)})
        self.records.consult([g["id"] for g in shown], "groups")
        return sorted(shown, key=lambda g: str(g["name"]))

    # -- meetings -----------------------------------------------------------------------
    def create_meeting(
        self,
        group_ref: str,
        title: str,
        kind: str,
        start: str,
        place: str,
        *,
        delegations: Sequence[Mapping[str, Any]] = (),
        agenda: Sequence[str] = (),
        status: str = "planned",
        tlp: str | None = None,
    ) -> Revision:
        """A new meeting of a joint group."""
        fields = {
            "group_ref": group_ref,
            "title": title,
            "kind": kind,
            "start": start,
            "place": place,
            "status": status,
            "delegations": _listed(delegations, "delegations"),
            "agenda": _listed(agenda, "agenda"),
        }
        return editing.create(self.records, MEETING, fields, tlp=tlp)

    def meetings(self, group: str | None = None) -> list[dict[str, Any]]:
        shown = [
            item_view(self.records, item)
            for item in self.records.items(MEETING.type).values()
            if group is None or item.fields.get("group_ref") == group
        ]
        self.records.consult([m["id"] for m in shown], "meetings")
        return sorted(shown, key=lambda m: str(m["start"]))

    def meeting(self, meeting_id: str) -> dict[str, Any]:
        """A meeting with its group's name and its action items."""
        item = self.records.item(MEETING.type, meeting_id)
        view = item_view(self.records, item)
        group = self.records.item(GROUP.type, str(item.fields["group_ref"]))
        view["group"] = {"id": group.id, "name": group.fields.get("name")}
        view["actions"] = self._actions(meeting=item.id)
        self.records.consult([item.id, *(a["id"] for a in view["actions"])], "meeting")
        return view

    # -- actions ------------------------------------------------------------------------
    def create_action(
        self,
        title: str,
        owner: str,
        due: str,
        *,
        meeting_ref: str | None = None,
        assignee: str | None = None,
        description: str | None = None,
        linked_refs: Sequence[str] = (),
        tlp: str | None = None,
    ) -> Revision:
        """A new action item; its due date may not be in the past, its owner must be a
        known partner (or this node)."""
        fields = {
            "title": title,
            "owner": owner,
            "due": due,
            "meeting_ref": meeting_ref,
            "assignee": assignee,
            "description": description,
            "linked_refs": _listed(linked_refs, "linked_refs"),
            "status": "open",
        }
        return editing.create(self.records, ACTION, fields, tlp=tlp)

    def _actions(
        self, *, meeting: str | None = None, owner: str | None = None, overdue: bool = False
    ) -> list[dict[str, Any]]:
        today = self.records.today()
        shown = []
        for item in self.records.items(ACTION.type).values():
            if meeting is not None and item.fields.get("meeting_ref") != meeting:
                continue
            if owner is not None and item.fields.get("owner") != owner:
                continue
            view = {**item_view(self.records, item), **action_flags(item, today)}
            if overdue and not view["overdue"]:
                continue
            shown.append(view)
        return sorted(shown, key=lambda a: (str(a["due"]), str(a["title"])))

    def actions(
        self, *, meeting: str | None = None, owner: str | None = None, overdue: bool = False
    ) -> list[dict[str, Any]]:
        """Action items, soonest due first, each flagged ``overdue`` when late."""
        shown = self._actions(meeting=meeting, owner=owner, overdue=overdue)
        self.records.consult([a["id"] for a in shown], "actions")
        return shown

    # -- requests for information -------------------------------------------------------
    def create_request(
        self,
        title: str,
        question: str,
        addressed_to: str,
        deadline: str,
        *,
        priority: str = "normal",
        linked_refs: Sequence[str] = (),
        tlp: str | None = None,
    ) -> Revision:
        """A request for information to a partner; the deadline must be ahead."""
        fields = {
            "title": title,
            "question": question,
            "addressed_to": addressed_to,
            "deadline": deadline,
            "priority": priority,
            "linked_refs": _listed(linked_refs, "linked_refs"),
            "status": "open",
        }
        return editing.create(self.records, RFI, fields, tlp=tlp)

    def answer_request(
        self, request_id: str, text: str, provided: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Answer a request addressed to this node (refused once it is closed)."""
        return requests.answer(
            self.records, request_id, text, _listed(provided, "provided")
        ).as_dict()

    def close_request(
        self, request_id: str, status: str = "closed", note: str | None = None
    ) -> Edit:
        return requests.close(self.records, request_id, status, note)

    def _request_views(self) -> list[dict[str, Any]]:
        held = requests.answers(self.records)
        now = self.records.now()
        return [
            requests.request_view(self.records, item, held, now)
            for item in self.records.items(RFI.type).values()
        ]

    def requests(
        self, *, addressed_to: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Requests held (made here or received), soonest deadline first."""
        shown = [
            view
            for view in self._request_views()
            if (addressed_to is None or view["addressed_to"] == addressed_to)
            and (state is None or view["state"] == state or (state == "late" and view["late"]))
        ]
        self.records.consult([r["id"] for r in shown], "requests")
        return sorted(shown, key=lambda r: str(r["deadline"]))

    def request(self, request_id: str) -> dict[str, Any]:
        item = self.records.item(RFI.type, request_id)
        view = requests.request_view(
            self.records, item, requests.answers(self.records), self.records.now()
        )
        self.records.consult([item.id, *(a["id"] for a in view["answers"])], "request")
        return view

    def request_statistics(self) -> list[dict[str, Any]]:
        """Per addressed partner: the share answered within the deadline, and within five
        days (Europol's yardstick: about 80%)."""
        views = self._request_views()
        self.records.consult([v["id"] for v in views], "request statistics")
        return requests.statistics(self.records, views)

    # -- indicators ---------------------------------------------------------------------
    @staticmethod
    def indicator_definitions() -> list[dict[str, Any]]:
        return [d.as_dict() for d in indicators.definitions().values()]

    def enter_figure(self, entry: Mapping[str, Any], *, tlp: str | None = None) -> Revision:
        """This side's figure ``{indicator, month, value[, comment]}``; aggregates only."""
        return indicators.enter(self.records, entry, tlp=tlp)

    def enter_figures_csv(self, text: str) -> list[Revision]:
        """Figures from CSV text; the whole file is refused at the first bad row."""
        return indicators.enter_many(self.records, indicators.read_csv(text))

    def correct_figure(self, indicator: str, month: str, value: Any, reason: str) -> Edit:
        return indicators.correct(self.records, indicator, month, value, reason)

    def figures(self, indicator: str | None = None) -> list[dict[str, Any]]:
        return indicators.table(self.records, indicator)

    def figures_chart(self, indicator: str, lang: str = "en", unit: str | None = None) -> str:
        """The side-by-side chart of one indicator, as SVG text; ``unit`` names its unit in
        the reader's words (default: the definition's unit code)."""
        definition = indicators.definitions().get(indicator)
        if definition is None:
            raise NotFound(f"indicator {indicator[:60]!r} is not a shared definition")
        chosen = _lang(lang)
        rows = self.figures(indicator)
        return figures_svg(
            definition.names[chosen],
            indicators.series(rows, indicator),
            self.records.partners(),
            unit=unit or definition.unit,
            empty_text="aucun chiffre" if chosen == "fr" else "no figures",
        )

    # -- opinions -----------------------------------------------------------------------
    def record_opinion(
        self,
        object_refs: Sequence[str],
        opinion: str,
        topic: str,
        explanation: str | None = None,
        *,
        tlp: str = "amber",
    ) -> dict[str, Any]:
        """This side's agreement or disagreement with partners' assessments."""
        return opinions.record(
            self.records, _listed(object_refs, "object_refs"), opinion, topic, explanation, tlp=tlp
        )

    def opinions(self, topic: str | None = None) -> list[dict[str, Any]]:
        shown = [
            o
            for o in opinions.held(self.records)
            if topic is None or o["topic"] == opinions.clean_topic(topic)
        ]
        self.records.consult([o["id"] for o in shown], "opinions")
        return shown

    def convergence(
        self, period: str = "quarter", topic: str | None = None
    ) -> list[dict[str, Any]]:
        """The convergence index per topic and period (formula in ``opinions``)."""
        return opinions.convergence(self.opinions(topic), period, topic)

    # -- documents ----------------------------------------------------------------------
    def minutes(self, meeting_id: str, lang: str) -> Document:
        """A meeting's minutes, in French or English, marked as the most restrictive of
        the meeting, its group and its action items."""
        view = self.meeting(meeting_id)
        group = self.records.item(GROUP.type, view["group"]["id"])
        sources = [
            *self._objects(MEETING.type, meeting_id),
            group.current.object,
            *(o for a in view["actions"] for o in self._objects(ACTION.type, a["id"])),
        ]
        return minutes(
            view,
            group.fields,
            view["actions"],
            _lang(lang),
            today=self.records.today(),
            parties=parties(self.records, group.fields.get("partners") or []),
            markings=sources_markings(self.records, sources),
        )

    def communique(self, meeting_id: str, lang: str) -> Document:
        """A draft joint communiqué after a meeting, with the topics where views meet (the
        convergence of the meeting's quarter), marked as the most restrictive of the
        meeting, its group and the opinions of that quarter."""
        view = self.meeting(meeting_id)
        group = self.records.item(GROUP.type, view["group"]["id"])
        quarter = opinions.period_of(str(view["start"]), "quarter")
        held = [
            o for o in self.opinions() if opinions.period_of(o["created"], "quarter") == quarter
        ]
        rows = [r for r in opinions.convergence(held, "quarter") if r["period"] == quarter]
        stored = (self.records.holdings.store.get(o["id"]) for o in held)
        sources = [
            *self._objects(MEETING.type, meeting_id),
            group.current.object,
            *(s.object for s in stored if s is not None),
        ]
        return communique(
            view,
            group.fields,
            rows,
            _lang(lang),
            today=self.records.today(),
            parties=parties(self.records, group.fields.get("partners") or []),
            markings=sources_markings(self.records, sources),
        )

    def _objects(self, stix_type: str, item_id: str) -> list[dict[str, Any]]:
        """The revisions of an item a document shows: its heads (every one in conflict)."""
        return [dict(head.object) for head in self.records.item(stix_type, item_id).heads]

    def share_communique(self, meeting_id: str, lang: str) -> dict[str, Any]:
        """Store the draft communiqué as a STIX ``report`` (Markdown in ``description``)
        referring to the meeting and its group, marked for the group's partners: it
        travels to them for review like any record. Returns the report."""
        document = self.communique(meeting_id, lang)
        meeting = self.records.item(MEETING.type, meeting_id)
        group = self.records.item(GROUP.type, str(meeting.fields["group_ref"]))
        # The report carries the document's markings: its TLP, and only the partners
        # every source may go to.
        found = document.markings
        tlp = found.release_tlp.value if found is not None else DEFAULT_TLP
        if tlp not in TLP_LEVELS:
            raise CoordinationError(
                f"meeting {meeting.id}: the communiqué draws on TLP:{tlp.upper()} records "
                "and cannot be shared as a joint record"
            )
        recipients = [
            side
            for side in group.fields.get("partners") or []
            if side != self.records.me and (found is None or found.releasable_to(side))
        ]
        if not recipients:
            raise CoordinationError(
                f"meeting {meeting.id}: the markings of the communiqué's sources release it "
                "to none of the group's partners"
            )
        markings, rel_to = self.records.markings_for(recipients, tlp)
        skeleton = self.records.new_object("report")
        report: dict[str, Any] = {
            **skeleton,
            "name": document.title,
            "description": to_markdown(document),
            "published": skeleton["created"],
            "report_types": [COMMUNIQUE_REPORT_TYPE],
            "object_refs": [meeting.id, group.id],
            "lang": document.lang,
            "object_marking_refs": markings,
        }
        report = grade(report, "admiralty", "A", "1")
        self.records.put_object(report, [rel_to])
        return report


def editing_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    from diapason.coordinate.revisions import changes

    return changes(before, after)

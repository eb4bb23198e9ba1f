"""The knowledge base: search and browse, and the page of one object.

Listing shows titles; a record about a person shows its title only to roles allowed to
read personal data. Opening such a record asks for a reason first (Directive 2016/680,
Art. 25): the consultation is audited with it, as ``diapason show --reason`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import orjson
from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from diapason.domain.events import EVENT_TYPE
from diapason.domain.extensions import TLP_2_0_IDS
from diapason.domain.labels import labels
from diapason.domain.markings import effective_markings, marking_refs
from diapason.domain.protection import (
    Nature,
    ProtectionError,
    SubjectCategory,
    is_about_person,
    proposal_of,
    protection_of,
    review_overdue,
)
from diapason.domain.stix import ID_RE, TYPE_RE, StixError
from diapason.domain.timestamps import as_store_timestamp
from diapason.domain.trust import partner_of_source
from diapason.persons import ProtectRefused, parse_metadata
from diapason.store.interface import Query, StoredObject
from diapason.store.read_model import Brief, title_of
from diapason.web.ui.core import NavItem, Refused, Ui, View
from diapason.web.ui.i18n import N_
from diapason.web.ui.svg import GraphNode, neighbour_graph
from diapason.web.ui.words import STIX_TYPES, long_date, relation_name

NAV = (NavItem(N_("Knowledge base"), "/objects", "objects:read", 20),)
PAGE_SIZE = 50
MAX_TEXT = 200
GRAPH_LIMIT = 24
MAX_REASON = 1000


def search(view: View) -> Response:
    """Filters by text, type and marking; pages forward with a keyset cursor."""
    text = view.query.get("q", "").strip()
    kind = view.query.get("type", "").strip()
    marking = view.query.get("marking", "").strip()
    after_text = view.query.get("after", "").strip()
    problems: list[str] = []
    if len(text) > MAX_TEXT:
        problems.append(str(view.gettext("Search text: at most %(n)s characters.", n=MAX_TEXT)))
    if kind and not TYPE_RE.match(kind):
        problems.append(
            str(view.gettext("Type %(type)s is not a STIX type (like threat-actor).", type=kind))
        )
    if marking and marking not in TLP_2_0_IDS:
        problems.append(str(view.gettext("Unknown marking.")))
    after = None
    if after_text:
        if not after_text.isdigit() or len(after_text) > 18:
            problems.append(str(view.gettext("The page cursor is not valid; start again.")))
        else:
            after = int(after_text)
    typed = {"q": text, "type": kind, "marking": marking}
    if problems:
        return view.render(
            "search.html",
            status=400,
            typed=typed,
            problems=problems,
            results=None,
            more=None,
            types=_type_choices(view, kind),
            markings=TLP_2_0_IDS,
        )
    page = view.node.store.query(
        Query(
            types=(kind,) if kind else (),
            marking=TLP_2_0_IDS[marking] if marking else None,
            text=text or None,
            limit=PAGE_SIZE,
            after=after,
        )
    )
    results = readable(
        view,
        [
            Brief(
                stored.id,
                stored.type,
                title_of(stored.object),
                stored.modified,
                is_about_person(stored.object),
            )
            for stored in page.objects
        ],
    )
    view.audit(
        "consult",
        [item.id for item in results],
        details={"search": text, "types": [kind] if kind else [], "marking": marking},
    )
    more = None
    if page.next_after is not None:
        more = {**{k: v for k, v in typed.items() if v}, "after": str(page.next_after)}
    return view.render(
        "search.html",
        typed=typed,
        problems=[],
        results=results,
        more=more,
        types=_type_choices(view, kind),
        markings=TLP_2_0_IDS,
    )


def _type_choices(view: View, typed: str) -> list[tuple[str, str]]:
    """The type filter's choices, (STIX type, its name in the reader's language), sorted
    by name; a type in the address that the list lacks is kept as a choice (a refused one
    too, so the form shows what was asked)."""
    keys = set(STIX_TYPES) | ({typed[:MAX_TEXT]} if typed else set())
    return sorted(((key, view.type_name(key)) for key in keys), key=lambda c: c[1].casefold())


RELATIONSHIP_TYPES = ("relationship", "sighting")


# The types whose stored names a page may rewrite in the reader's language (words.py).
RETITLED_TYPES = (EVENT_TYPE, "location")


def retitled(view: View, briefs: dict[str, Brief]) -> dict[str, Brief]:
    """``briefs`` (by id) with each OSINT event and each country titled in the reader's
    language ("CONSULT (visit) 2024-04-22 Rabat" reads « Consultation (visite), 22 avril
    2024, Rabat »)."""
    wanted = [b.id for b in briefs.values() if b.type in RETITLED_TYPES]
    if not wanted:
        return briefs
    shown = dict(briefs)
    for object_id, obj in view.node.read.current_objects(wanted).items():
        title = view.display_title(obj)
        if title and object_id in shown:
            shown[object_id] = replace(shown[object_id], title=title)
    return shown


def readable(view: View, briefs: list[Brief]) -> list[Brief]:
    """``briefs`` with each relationship titled by what it says ("Gérald Darmanin located
    at France") rather than its bare type, each sighting by what was sighted, and each
    OSINT event and country in the reader's language. A person at either end is named only
    to a reader allowed to read personal data."""
    by_id = retitled(view, {b.id: b for b in briefs})
    briefs = [by_id.get(b.id, b) for b in briefs]
    links = [b.id for b in briefs if b.type in RELATIONSHIP_TYPES]
    if not links:
        return briefs
    objects = view.node.read.current_objects(links)
    ends: dict[str, tuple[str, str, str]] = {}
    for object_id, obj in objects.items():
        if obj.get("type") == "relationship":
            source, target = obj.get("source_ref"), obj.get("target_ref")
            verb = str(obj.get("relationship_type", ""))
        else:
            source, target, verb = obj.get("sighting_of_ref"), None, "sighting_of_ref"
        if isinstance(source, str):
            ends[object_id] = (source, verb, target if isinstance(target, str) else "")
    named = retitled(
        view, view.node.read.briefs_of({e for s, _, t in ends.values() for e in (s, t) if e})
    )
    allowed = view.can("personal_data:read")

    def name(ref: str) -> str:
        found = named.get(ref)
        if found is None:
            return ref.partition("--")[0]
        if found.person and not allowed:
            return str(view.gettext("[record about a person]"))
        return found.title or ref.partition("--")[0]

    shown = []
    for brief in briefs:
        if brief.id in ends:
            source, verb, target = ends[brief.id]
            words = [name(source), relation_name(view.gettext, verb)]
            if target:
                words.append(name(target))
            brief = replace(brief, title=" ".join(words))
        shown.append(brief)
    return shown


def _provenance(view: View, source: str | None) -> str:
    if source is None or source == "local":
        return str(view.gettext("this node"))
    if source == "diapason":
        return str(view.gettext("shipped with Diapason"))
    if source == "osint":
        return str(view.gettext("open sources (ingested on this node)"))
    kind, _, name = source.partition(":")
    if kind == "partner":
        return str(view.gettext("partner %(name)s", name=name))
    if kind == "taxii":
        return str(view.gettext("TAXII client %(name)s", name=name))
    return source


def _definitions(view: View, obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The marking-definitions ``obj`` refers to, as held by this node."""
    refs, _ = marking_refs(obj)
    return view.node.read.current_objects([ref for _path, ref in refs])


def _links(view: View, stored: StoredObject) -> list[tuple[str, str, bool]]:
    """``(other id, relation, outgoing)`` for each neighbour. A relationship object is
    drawn as what it is for a reader: an edge to its other end, labelled with its type."""
    read = view.node.read
    found = [
        edge for edge in read.neighbours(stored.id, GRAPH_LIMIT) if edge.source_id != edge.target_id
    ]
    relationships = read.current_objects(
        [
            e.source_id
            for e in found
            if e.target_id == stored.id and e.source_id.startswith("relationship--")
        ],
    )
    links: list[tuple[str, str, bool]] = []
    for edge in found:
        outgoing = edge.source_id == stored.id
        other = edge.target_id if outgoing else edge.source_id
        relation = edge.property
        rel = relationships.get(other)
        if rel is not None and not rel.get("revoked"):
            relation = str(rel.get("relationship_type", relation))
            outgoing = rel.get("source_ref") == stored.id
            end = rel.get("target_ref") if outgoing else rel.get("source_ref")
            other = end if isinstance(end, str) else other
        links.append((other, relation, outgoing))
    return links


def _unheld_label(view: View, sender: str | None) -> str:
    """How a reference to an object this node does not hold reads: the partner that sent
    the referring object did not share it (or, for our own, it is not held here)."""
    partner = partner_of_source(sender)
    if partner is not None:
        return str(view.gettext("not shared with you by %(partner)s", partner=partner))
    return str(view.gettext("not held on this node"))


def _graph(
    view: View, stored: StoredObject, allowed_personal: bool, sender: str | None
) -> tuple[Any, list[GraphNode]]:
    """The neighbours, each object once: every reference between it and this object (an
    event's ``actor_refs`` and the ``x-diapason-acts-in`` relationship to the same person)
    joins one entry, drawn on the first and naming the others."""
    links = _links(view, stored)
    found_briefs = view.node.read.briefs_of({other for other, _, _ in links})
    known = {brief.id: brief for brief in readable(view, list(found_briefs.values()))}
    relations: dict[str, list[tuple[str, bool]]] = {}
    for other, relation, outgoing in links:
        kinds = relations.setdefault(other, [])
        shown = (relation_name(view.gettext, relation), outgoing)
        if shown not in kinds:
            kinds.append(shown)
    nodes: list[GraphNode] = []
    for other, kinds in relations.items():
        found = known.get(other)
        kind, _, rest = other.partition("--")
        label = rest[:8]
        if found is not None and found.title and (allowed_personal or not found.person):
            label = found.title
        elif found is not None and found.person:
            label = str(view.gettext("[record about a person]"))
        if found is None:
            label = _unheld_label(view, sender)
        href = f"/objects/{other}" if found is not None else None
        (relation, outgoing), *more = kinds
        nodes.append(
            GraphNode(
                other,
                kind,
                label,
                relation,
                outgoing,
                href,
                type_label=str(view.gettext("person"))
                if found is not None and found.person
                else view.type_name(kind),
                others=tuple(f"{'→' if out else '←'} {name}" for name, out in more),
            )
        )
        if len(nodes) >= GRAPH_LIMIT:
            break
    if not nodes:
        return None, nodes
    return neighbour_graph(
        view.display_title(stored.object) or title_of(stored.object) or stored.id,
        stored.type,
        nodes,
        title=str(view.gettext("Neighbours of this object")),
        description=str(
            view.ngettext(
                "%(n)s object linked to this one by references",
                "%(n)s objects linked to this one by references",
                len(nodes),
                n=len(nodes),
            )
        ),
        centre_type_label=view.type_name(stored.type),
    ), nodes


@dataclass(frozen=True)
class Ref:
    """A reference shown as text: the name of what it names (linked when held here)."""

    label: str
    href: str | None


def _refs(view: View, ids: list[str], allowed_personal: bool, sender: str | None) -> list[Ref]:
    known = retitled(view, view.node.read.briefs_of(ids))
    shown = []
    for ref in ids:
        found = known.get(ref)
        if found is None:
            shown.append(Ref(_unheld_label(view, sender), None))
        elif found.person and not allowed_personal:
            shown.append(Ref(str(view.gettext("[record about a person]")), f"/objects/{ref}"))
        else:
            shown.append(Ref(found.title or ref, f"/objects/{ref}"))
    return shown


def _event_fields(
    view: View, obj: dict[str, Any], allowed_personal: bool, sender: str | None
) -> dict[str, Any] | None:
    """What an event says, as text: its PLOVER type and mode, date, place, who acted on
    whom, its topics and the sentence it was read from (None for another type)."""
    if obj.get("type") != EVENT_TYPE:
        return None

    def text(key: str) -> str:
        value = obj.get(key)
        return value if isinstance(value, str) else ""

    def ids(key: str) -> list[str]:
        value = obj.get(key)
        if isinstance(value, str):
            value = [value]
        return [ref for ref in value if isinstance(ref, str)] if isinstance(value, list) else []

    kind, mode = text("plover_type"), text("plover_mode")
    day = text("event_date")
    try:
        when = long_date(date.fromisoformat(day), view.lang) if day else ""
    except ValueError:
        when = day
    topics = obj.get("topics")
    return {
        "type": view.term("plover", kind) if kind else "",
        "mode": view.term("plover_mode", mode) if mode else "",
        "date": when,
        "date_key": day,
        "place": _refs(view, ids("location_ref"), allowed_personal, sender),
        "actors": _refs(view, ids("actor_refs"), allowed_personal, sender),
        "targets": _refs(view, ids("target_refs"), allowed_personal, sender),
        "topics": [view.topic_name(topic) for topic in topics if isinstance(topic, str)]
        if isinstance(topics, list)
        else [],
        "sentence": text("summary"),
    }


def object_page(view: View) -> Response:
    """One object: marking banner, grading, provenance, versions, disclosures, neighbours."""
    object_id = view.request.path_params["object_id"]
    if not ID_RE.match(object_id):
        raise Refused(404, str(view.gettext("No such object.")))
    stored = view.node.store.get(object_id)
    if stored is None:
        raise Refused(404, str(view.gettext("No such object.")))
    versions = view.node.store.versions(object_id)
    person = any(is_about_person(version.object) for version in versions)
    reason: str | None = None
    if person:
        view.require("personal_data:read")
        reason = view.form.get("reason", "").strip() if view.request.method == "POST" else ""
        if not reason or len(reason) > MAX_REASON:
            problem = None
            if view.request.method == "POST":
                problem = view.gettext(
                    "Say why you consult this record (purpose or case reference, "
                    "at most %(n)s characters).",
                    n=MAX_REASON,
                )
            return view.render(
                "reason.html",
                status=400 if problem else 200,
                object_id=object_id,
                object_type=stored.type,
                typed=view.form.get("reason", ""),
                problem=problem,
            )
    return _show(view, stored, versions, person, reason)


def _show(
    view: View,
    stored: StoredObject,
    versions: list[StoredObject],
    person: bool,
    reason: str | None,
    *,
    notice: str | None = None,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page of ``stored`` (consulted for ``reason`` when it is about a person)."""
    object_id = stored.id
    shown = stored
    wanted = view.query.get("version")
    if wanted:
        try:
            modified = as_store_timestamp(wanted, "version")
        except (StixError, ValueError):
            raise Refused(404, str(view.gettext("No such version."))) from None
        chosen = next((v for v in versions if v.modified == modified), None)
        if chosen is None:
            raise Refused(404, str(view.gettext("No such version.")))
        shown = chosen
    definitions = _definitions(view, shown.object)
    today = datetime.now(UTC).date()
    marks = effective_markings(shown.object, definitions)
    shown_labels = labels(shown.object, definitions, today=today, lang=view.lang)
    shown_labels.pop("data_protection", None)  # said in words below (_data_protection)
    author = None
    author_ref = shown.object.get("created_by_ref")
    if isinstance(author_ref, str):
        found = view.node.read.briefs_of([author_ref]).get(author_ref)
        author = (author_ref, found.title if found else None)
    view.audit(
        "consult",
        [object_id],
        reason=reason,
        details={"page": "object", "personal_data": True} if person else {"page": "object"},
    )
    sender = versions[0].source if versions else stored.source
    graph, neighbours = _graph(view, stored, view.can("personal_data:read"), sender)
    return view.render(
        "object.html",
        status=status,
        stored=shown,
        current=stored,
        title=view.display_title(shown.object) or title_of(shown.object) or object_id,
        tlp=marks.tlp.value if marks.tlp else None,
        labels=shown_labels,
        data_protection=_data_protection(view, shown.object, today),
        provenance=_provenance(view, sender),
        version_rows=[(v, _provenance(view, v.source)) for v in versions],
        author=author,
        decisions=view.node.ledger.decisions(object_id),
        deliveries=view.node.deliveries.of_object(object_id),
        graph=graph,
        neighbours=neighbours,
        event=_event_fields(view, shown.object, view.can("personal_data:read"), sender),
        type_label=str(view.gettext("person"))
        if is_about_person(shown.object)
        else view.type_name(shown.type),
        description=shown.object.get("description")
        if isinstance(shown.object.get("description"), str)
        else None,
        body=orjson.dumps(shown.object, option=orjson.OPT_INDENT_2).decode(),
        person=person,
        protect_form=_protect_form(view, stored, person, reason, typed),
        notice=notice,
        problem=problem,
    )


def _data_protection(view: View, obj: dict[str, Any], today: date) -> Markup | None:
    """The data-protection metadata of a record about a person, in words: the category
    of data subject, the review date (overdue or not), the nature, the legal basis and
    the purpose (these two as the analyst wrote them)."""
    try:
        protection = protection_of(obj)
    except ProtectionError as error:
        return Markup("{}").format(str(error))
    if protection is None:
        return None
    day = long_date(protection.review_by, view.lang)
    parts: list[str] = [
        view.term("subject_category", protection.category.value),
        view.gettext("review overdue since %(day)s", day=day)
        if review_overdue(protection, today)
        else view.gettext("review by %(day)s", day=day),
    ]
    if protection.nature is not None:
        parts.append(view.term("data_nature", protection.nature.value))
    if protection.legal_basis:
        parts.append(view.gettext("legal basis: %(text)s", text=protection.legal_basis))
    if protection.purpose:
        parts.append(view.gettext("purpose: %(text)s", text=protection.purpose))
    # French puts a (narrow) non-breaking space before ";".
    return (Markup("\u202f; ") if view.lang == "fr" else Markup("; ")).join(parts)


def _protect_form(
    view: View,
    stored: StoredObject,
    person: bool,
    reason: str | None,
    typed: dict[str, str] | None,
) -> dict[str, Any] | None:
    """What the data-protection form shows, or None when this user may not protect this
    record (not about a person, not ours, no right to write)."""
    if not person or not view.can("objects:write") or not stored.current:
        return None
    persons = view.node.persons(view.actor)
    if persons.refusal(stored, stored.id) is not None:
        return None
    values = typed
    if values is None:
        try:
            current = protection_of(stored.object) or proposal_of(stored.object)
        except ProtectionError:
            current = proposal_of(stored.object)
        chosen = current or view.node.proposed_metadata()
        values = {
            "category": chosen.category.value,
            "review_by": chosen.review_by.isoformat(),
            "nature": chosen.nature.value if chosen.nature else "",
            "legal_basis": chosen.legal_basis or "",
            "purpose": chosen.purpose or "",
        }
    return {
        "values": values,
        "reason": reason or "",
        "categories": [c.value for c in SubjectCategory],
        "natures": [n.value for n in Nature],
    }


def protect_record(view: View) -> Response:
    """The data-protection form of a person's page: a new version carrying the metadata
    (``Persons.protect``, audited ``protect``), then the page again."""
    view.require("objects:write")
    view.require("personal_data:read")
    object_id = view.request.path_params["object_id"]
    stored = view.node.store.get(object_id) if ID_RE.match(object_id) else None
    if stored is None:
        raise Refused(404, str(view.gettext("No such object.")))
    reason = view.form.get("reason", "").strip()[:MAX_REASON] or str(
        view.gettext("data-protection metadata recorded")
    )
    typed = {
        key: view.form.get(key, "").strip()[:MAX_REASON]
        for key in ("category", "review_by", "nature", "legal_basis", "purpose")
    }
    persons = view.node.persons(view.actor)
    try:
        metadata = parse_metadata(
            typed["category"],
            typed["review_by"],
            nature=typed["nature"] or None,
            legal_basis=typed["legal_basis"],
            purpose=typed["purpose"],
        )
        persons.protect([object_id], metadata)
    except ProtectRefused as error:
        versions = view.node.store.versions(object_id)
        return _show(
            view, stored, versions, True, reason, problem=str(error), typed=typed, status=400
        )
    current = view.node.store.get(object_id) or stored
    return _show(
        view,
        current,
        view.node.store.versions(object_id),
        True,
        reason,
        notice=str(view.gettext("Data-protection metadata recorded: a new version was written.")),
    )


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/objects", search, permission="objects:read"),
        ui.page(
            "/objects/{object_id}",
            object_page,
            methods=("GET", "POST"),
            permission="objects:read",
        ),
        ui.page(
            "/objects/{object_id}/protect",
            protect_record,
            methods=("POST",),
            permission="objects:write",
        ),
    ]

"""OSINT: ingest an article (upload or paste), read it with its entities and events
highlighted, confirm or correct an entity (the correction feeds the node's gazetteer).

The article view shows what ingest kept of the article (``osint/view.py``): no language
model at view time. An article kept without it is analysed once, in the request's worker
thread, when first shown; a correction analyses the article again with the node's current
gazetteer, so it shows at once. The spans link to the objects the report refers to.
Everything of the article is escaped (``web/ui/highlight.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from diapason.domain.extensions import diapason_id
from diapason.domain.protection import is_about_person, proposal_of, protection_of
from diapason.domain.timestamps import timestamp_day
from diapason.osint.article import Article
from diapason.osint.gazetteer import ENTITY_TYPES, GazetteerError, load_gazetteer, record_correction
from diapason.osint.pipeline import analyse
from diapason.osint.view import ArticleView, ArticleViews, ViewEntity, article_view
from diapason.persons import ProtectRefused, needs_confirmation
from diapason.web.ui.core import NavItem, Refused, Ui, View
from diapason.web.ui.highlight import Mark, highlight
from diapason.web.ui.i18n import N_
from diapason.web.ui.words import country_note, country_title, event_label

NAV = (NavItem(N_("OSINT"), "/osint", "objects:read", 30),)
LATEST = 20
# What a knowledge-base object must be to name an entity, per entity type.
LINKABLE = {
    "identity": ("PER", "ORG"),
    "location": ("LOC",),
    "intrusion-set": ("GROUP",),
    "threat-actor": ("GROUP",),
}
CORRECTION_TYPES = (*ENTITY_TYPES, "IGNORE")


@dataclass(frozen=True)
class EntityRow:
    """One entity of the article, as the table of entities shows it."""

    number: int
    type: str
    canonical: str
    country: str | None
    surfaces: list[str]
    object_id: str | None
    country_note: str = ""  # the country, unless the name already says it
    shown_name: str = ""  # the name in the reader's language (a country's), else canonical


@dataclass(frozen=True)
class EventRow:
    number: int
    plover: str
    mode: str | None
    day: str | None
    place: str | None
    actors: list[str]
    targets: list[str]
    sentence: str
    object_id: str | None


def osint_home(
    view: View, typed: dict[str, str] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """The ingest form and the latest articles ingested on this node."""
    reports = view.node.read.newest_of_type("report", LATEST, source="osint")
    if reports:
        view.audit("consult", [r["id"] for r in reports], details={"page": "osint"})
    return view.render(
        "osint/home.html",
        status=status,
        reports=reports,
        typed=typed or {"text": "", "origin": ""},
        problem=problem,
    )


def ingest(view: View) -> Response:
    """Ingest the pasted text or the uploaded file; go to the article, or show the form
    again with what was typed and why the article was refused."""
    text = view.form.get("text", "")
    typed = {"text": text, "origin": view.form.get("origin", "").strip()[:200]}
    name, data = view.files.get("file", ("", b""))
    if data and text.strip():
        problem = view.gettext("Give either a file or pasted text, not both.")
        return osint_home(view, typed, str(problem), 400)
    if data:
        # The file as it is: the pipeline decodes it (UTF-8, else Windows-1252 line by
        # line) and refuses binary data.
        result = view.node.ingestor(view.actor).ingest_bytes(data, f"web:{name or 'upload'}")
    elif text.strip():
        origin = typed["origin"] or "pasted text"
        result = view.node.ingestor(view.actor).ingest_text(text, origin=f"web:{origin}")
    else:
        return osint_home(view, typed, str(view.gettext("Paste an article or choose a file.")), 400)
    if result.status == "refused" or result.report_id is None:
        problem = view.gettext("Article refused: %(why)s", why=result.error or "?")
        return osint_home(view, typed, str(problem), 400)
    return view.redirect(f"/osint/articles/{result.report_id}?status={result.status}")


def _article_of(report: dict[str, Any]) -> Article:
    published = timestamp_day(report.get("published"))
    url = next(
        (
            ref.get("url")
            for ref in report.get("external_references") or ()
            if isinstance(ref, dict) and isinstance(ref.get("url"), str)
        ),
        None,
    )
    return Article(
        str(report.get("name") or ""),
        str(report.get("description") or ""),
        published,
        url,
        str(report["id"]),
    )


def _linked(entity: ViewEntity, refs: dict[str, dict[str, Any]]) -> str | None:
    """The object of the report that stands for ``entity``: the one it was resolved to,
    else one of the report's objects of a fitting type bearing its canonical name."""
    if entity.object_id in refs:
        return entity.object_id
    wanted = entity.canonical.casefold()
    for object_id, obj in refs.items():
        kinds = LINKABLE.get(str(obj.get("type")), ())
        if entity.type in kinds and str(obj.get("name", "")).casefold() == wanted:
            return object_id
    return None


def _rows(
    view: View, shown: ArticleView, report_id: str, refs: dict[str, dict[str, Any]]
) -> tuple[list[EntityRow], list[EventRow], list[Mark], list[Mark]]:
    lang = view.lang
    entities: list[EntityRow] = []
    entity_marks: list[Mark] = []
    for number, entity in enumerate(shown.entities):
        link = _linked(entity, refs)
        place = {"type": "location", "name": entity.canonical, "country": entity.country}
        name = (country_title(lang, place) if entity.type == "LOC" else None) or entity.canonical
        entities.append(
            EntityRow(
                number,
                entity.type,
                entity.canonical,
                entity.country,
                list(entity.surfaces),
                link,
                country_note(entity.canonical, entity.country, lang),
                name,
            )
        )
        for start, end in entity.mentions:
            entity_marks.append(
                Mark(
                    start,
                    end,
                    entity.type,
                    f"{view.term('entity', entity.type)}: {name}",
                    f"/objects/{link}" if link else None,
                )
            )
    events: list[EventRow] = []
    event_marks: list[Mark] = []
    for number, event in enumerate(shown.events):
        event_id = diapason_id("x-diapason-event", f"osint:{report_id}:{number}")
        if event.start is not None:
            event_marks.append(
                Mark(
                    event.start,
                    event.start + len(event.sentence),
                    "EVENT",
                    event_label(view.gettext, event.plover, event.mode),
                    anchor=f"event-{number}",
                )
            )
        events.append(
            EventRow(
                number,
                event.plover,
                event.mode,
                event.day,
                event.place,
                list(event.actors),
                list(event.targets),
                event.sentence,
                event_id if event_id in refs else None,
            )
        )
    return entities, events, entity_marks, event_marks


@dataclass(frozen=True)
class PersonRow:
    """A person the article refers to, and the data-protection metadata it has or is
    proposed."""

    object_id: str
    name: str
    state: str  # "protected", "proposed", "not-ours"
    category: str
    review_by: str


def _persons(view: View, refs: dict[str, dict[str, Any]]) -> list[PersonRow]:
    persons = view.node.persons(view.actor)
    rows: list[PersonRow] = []
    fallback = view.node.proposed_metadata()
    for object_id, obj in refs.items():
        if not is_about_person(obj):
            continue
        name = str(obj.get("name") or object_id)
        if not needs_confirmation(obj):
            found = protection_of(obj)
            if found is not None:
                rows.append(
                    PersonRow(
                        object_id,
                        name,
                        "protected",
                        found.category.value,
                        found.review_by.isoformat(),
                    )
                )
            continue
        held = view.node.store.get(object_id)
        chosen = proposal_of(obj) or fallback
        state = "not-ours" if persons.refusal(held, object_id) else "proposed"
        rows.append(
            PersonRow(object_id, name, state, chosen.category.value, chosen.review_by.isoformat())
        )
    return rows


def _analysed_again(view: View, report: dict[str, Any], earlier: ArticleView | None) -> ArticleView:
    """The article analysed now, with the node's current gazetteer; its view kept. Runs
    the language model (in the request's worker thread, never on the event loop)."""
    language = report.get("lang") if isinstance(report.get("lang"), str) else None
    analysis = analyse(_article_of(report), load_gazetteer(view.node.settings.data_dir), language)
    shown = article_view(analysis, earlier=earlier)
    ArticleViews(view.node.facts).put(str(report["id"]), shown)
    return shown


def article_page(
    view: View, typed: dict[str, str] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """An ingested article, its entities and events highlighted, with the forms to confirm
    or correct an entity."""
    report_id = view.request.path_params["report_id"]
    stored = view.node.store.get(report_id) if report_id.startswith("report--") else None
    if stored is None:
        raise Refused(404, str(view.gettext("No such article.")))
    report = stored.object
    refs = view.node.read.current_objects(
        [r for r in report.get("object_refs") or () if isinstance(r, str)]
    )
    article = _article_of(report)
    shown = ArticleViews(view.node.facts).get(report_id) or _analysed_again(view, report, None)
    entities, events, entity_marks, event_marks = _rows(view, shown, report_id, refs)
    view.audit("consult", [report_id, *refs], details={"page": "osint-article"})
    return view.render(
        "osint/article.html",
        status=status,
        report=report,
        text=highlight(article.text, entity_marks, event_marks),
        language=shown.language,
        analysed=shown.analysed,
        entities=entities,
        events=events,
        types=CORRECTION_TYPES,
        ingested=view.query.get("status", ""),
        typed=typed or {},
        problem=problem,
        persons=_persons(view, refs),
    )


def article(view: View) -> Response:
    return article_page(view)


def correct(view: View) -> Response:
    """Confirm or correct an entity: record it in the node's gazetteer (audited as
    ``gazetteer_correct``), the layer every later ingestion reads."""
    view.require("objects:write")
    typed = {
        key: view.form.get(key, "").strip()
        for key in ("surface", "type", "canonical", "country", "object", "number")
    }
    entity_type, canonical = typed["type"], typed["canonical"] or None
    country = typed["country"].upper() or None
    try:
        if typed["object"]:
            found = view.node.store.get(typed["object"])
            kinds = LINKABLE.get(found.object.get("type", "")) if found else None
            if found is None or not kinds:
                raise GazetteerError(
                    str(
                        view.gettext(
                            "object: %(id)s is not a person, organisation, place or group of "
                            "the knowledge base",
                            id=typed["object"][:80],
                        )
                    )
                )
            obj = found.object
            # The object decides what the words name: a person or an organisation for an
            # identity (by its class), a place, a group.
            entity_type = (
                ("PER" if obj.get("identity_class") == "individual" else "ORG")
                if obj["type"] == "identity"
                else kinds[0]
            )
            canonical = str(obj.get("name") or canonical or "")
            country = country or (
                obj.get("country") if isinstance(obj.get("country"), str) else None
            )
        entry = record_correction(
            view.node.settings.data_dir, typed["surface"], entity_type, canonical, country
        )
    except GazetteerError as error:
        return article_page(view, typed, str(error), 400)
    view.audit(
        "gazetteer_correct",
        [typed["object"]] if typed["object"] else [],
        details={"surface": typed["surface"], "type": entity_type, "canonical": entry.canonical},
    )
    report_id = view.request.path_params["report_id"]
    stored = view.node.store.get(report_id) if report_id.startswith("report--") else None
    if stored is not None:
        # The correction shows at once: the article analysed again with it.
        _analysed_again(view, stored.object, ArticleViews(view.node.facts).get(report_id))
    return view.redirect(f"/osint/articles/{report_id}?status=corrected")


def confirm_persons(view: View) -> Response:
    """Confirm the proposed data-protection metadata of every person of the article that
    lacks it and that this node created: one new version each, one ``protect`` audit entry
    naming the article."""
    view.require("objects:write")
    view.require("personal_data:read")
    report_id = view.request.path_params["report_id"]
    stored = view.node.store.get(report_id) if report_id.startswith("report--") else None
    if stored is None:
        raise Refused(404, str(view.gettext("No such article.")))
    refs = view.node.read.current_objects(
        [r for r in stored.object.get("object_refs") or () if isinstance(r, str)]
    )
    wanted = [row.object_id for row in _persons(view, refs) if row.state == "proposed"]
    if not wanted:
        problem = view.gettext("No person of this article awaits confirmation.")
        return article_page(view, None, str(problem), 400)
    try:
        view.node.persons(view.actor).confirm_proposals(
            wanted, view.node.proposed_metadata(), details={"article": report_id}
        )
    except ProtectRefused as error:
        return article_page(view, None, str(error), 400)
    return view.redirect(f"/osint/articles/{report_id}?status=protected")


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/osint", osint_home, permission="objects:read"),
        ui.page("/osint/ingest", ingest, methods=("POST",), permission="import", uploads=1),
        ui.page("/osint/articles/{report_id}", article, permission="objects:read"),
        ui.page(
            "/osint/articles/{report_id}/correct",
            correct,
            methods=("POST",),
            permission="objects:read",
        ),
        ui.page(
            "/osint/articles/{report_id}/persons",
            confirm_persons,
            methods=("POST",),
            permission="objects:write",
        ),
    ]

"""Documents of the joint mechanism: a meeting's minutes and a draft joint communiqué, in
French and English, as Markdown and PDF: documents a ministry can circulate.

A document is built once as a list of blocks (headings, paragraphs, lists) with what frames
it: the markings of the records it comes from (the most restrictive wins), shown at the top
and bottom of the Markdown and in the header and footer of every PDF page, and a letterhead
(both parties by their official names, the group, the document's type, reference and date).
It is then written as Markdown (user text escaped, so a name cannot inject markup) or as PDF
with fpdf2 and the DejaVu fonts shipped in ``data/fonts`` (French accents, Arabic letters),
shaped with HarfBuzz so that Arabic names are joined and run right to left, with
``Page 2 sur 5`` at the foot of each page. French text follows French typography
(:func:`texts.typography`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from diapason.coordinate.texts import (
    NBSP,
    Lang,
    Party,
    capitalised,
    joined,
    label,
    long_date,
    state_named,
    typography,
    word,
)
from diapason.domain.markings import HandlingCode, Markings, Pap, Tlp, partner_key

if TYPE_CHECKING:
    from fpdf import FPDF

BlockKind = Literal["h1", "h2", "h3", "p", "ul", "ol", "meta"]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
# TLP 2.0 colours (FIRST's standard: the label in colour on black).
_TLP_COLOURS: Mapping[Tlp, tuple[int, int, int]] = {
    Tlp.CLEAR: (255, 255, 255),
    Tlp.GREEN: (51, 255, 0),
    Tlp.AMBER: (255, 192, 0),
    Tlp.AMBER_STRICT: (255, 192, 0),
    Tlp.RED: (255, 43, 43),
}


@dataclass(frozen=True)
class Letterhead:
    """What heads the first page: the parties (as a letterhead prints them), the group, the
    document's type, its reference and its date."""

    parties: tuple[str, ...]
    group: str
    kind: str
    reference: str
    date: str


@dataclass
class Document:
    """Blocks in order: ``(kind, text or list of texts)``, with the markings in force and the
    letterhead. French text is set in French typography as it is added."""

    title: str
    lang: Lang
    blocks: list[tuple[BlockKind, str | list[str]]] = field(default_factory=list)
    markings: Markings | None = None
    letterhead: Letterhead | None = None

    def __post_init__(self) -> None:
        self.title = typography(self.title, self.lang)

    def add(self, kind: BlockKind, content: str | list[str]) -> None:
        if content:
            if isinstance(content, list):
                content = [typography(item, self.lang) for item in content]
            else:
                content = typography(content, self.lang)
            self.blocks.append((kind, content))

    @property
    def marking(self) -> str:
        """The markings line (``TLP:AMBER — REL TO paris, rabat``), or "" without markings."""
        return marking_text(self.markings, self.lang) if self.markings is not None else ""


def combined(markings: Iterable[Markings]) -> Markings:
    """The markings of a document made from several records: the most restrictive of each
    kind (highest TLP, handling code and PAP), the partners every ``REL TO`` list names, every
    H3 restriction, every problem (a source whose markings are not understood makes the
    document TLP:RED, as the release policy reads it)."""
    tlp: Tlp | None = None
    handling: HandlingCode | None = None
    pap: Pap | None = None
    rel_to: dict[str, str] | None = None
    h3: list[str] = []
    problems: list[str] = []
    for found in markings:
        level = found.release_tlp
        if tlp is None or level.rank > tlp.rank:
            tlp = level
        if found.handling is not None and (handling is None or found.handling.rank > handling.rank):
            handling = found.handling
        if found.pap is not None and (pap is None or found.pap.rank > pap.rank):
            pap = found.pap
        if found.rel_to is not None:
            names = {partner_key(name): name for name in found.rel_to}
            rel_to = names if rel_to is None else {k: v for k, v in rel_to.items() if k in names}
        for text in (found.h3_text or "").split("\n"):
            if text and text not in h3:
                h3.append(text)
        problems += found.problems
    return Markings(
        tlp=tlp,
        handling=handling,
        rel_to=None if rel_to is None else frozenset(rel_to.values()),
        pap=pap,
        h3_text="\n".join(h3) or None,
        problems=tuple(problems),
    )


def marking_text(markings: Markings, lang: Lang) -> str:
    """``TLP:AMBER — H2 — PAP:GREEN — REL TO paris, rabat``: TLP 2.0 (AMBER when no source
    has one, RED when a marking is not understood), the handling code (with the H3
    restrictions), PAP, and the partners it may go to."""
    parts = [markings.release_tlp.label]
    if markings.handling is not None:
        code = markings.handling.value
        if markings.handling is HandlingCode.H3 and markings.h3_text:
            code = label_free(code, "; ".join(markings.h3_text.splitlines()), lang)
        parts.append(code)
    if markings.pap is not None:
        parts.append(markings.pap.label)
    if markings.rel_to is not None:
        names = sorted(markings.rel_to, key=partner_key)
        parts.append("REL TO " + (", ".join(names) if names else "—"))
    return typography(" — ".join(parts), lang)


def label_free(name: str, value: str, lang: Lang) -> str:
    return f"{name}{NBSP if lang == 'fr' else ''}: {value}"


def escape_markdown(text: str) -> str:
    """User text made inert in Markdown (no headings, links, HTML or emphasis)."""
    lines = [_MARKDOWN_SPECIAL.sub(r"\\\1", line) for line in str(text).splitlines()]
    # A line starting with a digit and a period, or a dash, would become a list item.
    return "\n".join(re.sub(r"^(\s*)([0-9]+)\.", r"\1\2\\.", line) for line in lines).replace(
        "\n-", "\n\\-"
    )


def to_markdown(document: Document) -> str:
    marking = f"**{escape_markdown(document.marking)}**" if document.marking else ""
    out = [marking, ""] if marking else []
    head = document.letterhead
    if head is not None:
        # Two trailing spaces: a line break inside the letterhead's paragraph.
        out += [
            escape_markdown(" — ".join(head.parties)) + "  ",
            escape_markdown(head.group) + "  ",
            escape_markdown(
                f"{head.kind} — {label('reference', head.reference, document.lang)}"
                f" — {label('date', head.date, document.lang)}"
            ),
            "",
        ]
    out += [f"# {escape_markdown(document.title)}", ""]
    for kind, content in document.blocks:
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + f" {escape_markdown(str(content))}", ""]
        elif kind == "ul":
            out += [f"- {escape_markdown(item)}" for item in content] + [""]
        elif kind == "ol":
            out += [f"{n}. {escape_markdown(item)}" for n, item in enumerate(content, 1)] + [""]
        elif kind == "meta":
            out += [f"*{escape_markdown(str(content))}*", ""]
        else:
            out += [escape_markdown(str(content)), ""]
    if marking:
        out += [marking]
    return "\n".join(out).rstrip() + "\n"


def _font(name: str) -> str:
    return str(resources.files("diapason.coordinate").joinpath(f"data/fonts/{name}"))


def to_pdf(document: Document) -> bytes:
    """The document as PDF (A4), in DejaVu Sans: the markings in the header and footer of
    every page, the letterhead on the first, ``Page N sur M`` at the foot of each. Drawn
    twice: the first pass counts the pages the second one numbers."""
    counting = _render(document, None)
    for font in counting.fonts.values():
        close = getattr(font, "close", None)  # output() closes them; this pass has none
        if close is not None:
            close()
    return bytes(_render(document, counting.pages_count).output())


@cache
def _pages_class() -> type[FPDF]:
    from fpdf import FPDF  # imported here: only document commands pay for it

    class Pages(FPDF):
        """A4 pages with the markings at the top and bottom and the page number below."""

        document: Document
        total: int | None

        def header(self) -> None:
            self._marking(8)

        def footer(self) -> None:
            self._marking(self.h - 16)
            if self.total is not None:
                self.set_y(self.h - 10)
                self.set_font("DejaVu", "", 8)
                self.set_text_color(80, 80, 80)
                text = word("page", self.document.lang).format(
                    page=self.page_no(), pages=self.total
                )
                self.cell(0, 4, text, align="C")
                self.set_text_color(0, 0, 0)

        def _marking(self, y: float) -> None:
            markings = self.document.markings
            if markings is None:
                return
            text = self.document.marking
            self.set_font("DejaVu", "B", 9)
            width = min(self.get_string_width(text) + 6, self.epw)
            self.set_xy((self.w - width) / 2, y)
            self.set_fill_color(0, 0, 0)
            self.set_text_color(*_TLP_COLOURS[markings.release_tlp])
            self.cell(width, 5, text, align="C", fill=True)
            self.set_text_color(0, 0, 0)

    return Pages


def _render(document: Document, total: int | None) -> FPDF:
    pdf = _pages_class()(format="A4")
    pdf.document = document  # type: ignore[attr-defined]
    pdf.total = total  # type: ignore[attr-defined]
    pdf.set_title(document.title)
    if document.marking:
        pdf.set_subject(document.marking)  # shown by viewers and document managers
    pdf.set_creator("Diapason")
    pdf.set_lang(document.lang)
    pdf.add_font("DejaVu", "", _font("DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", _font("DejaVuSans-Bold.ttf"))
    # Text shaping (HarfBuzz): Arabic names drawn joined and right to left, inside
    # paragraphs that run left to right even when they start with an Arabic name.
    pdf.set_text_shaping(use_shaping_engine=True, direction="ltr")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()
    if document.letterhead is not None:
        _letterhead(pdf, document.letterhead, document.lang)
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, document.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for kind, content in document.blocks:
        if kind in ("h1", "h2", "h3"):
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", {"h1": 15, "h2": 13, "h3": 11}[kind])
            pdf.multi_cell(0, 7, str(content), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind in ("ul", "ol"):
            pdf.set_font("DejaVu", "", 11)
            for number, item in enumerate(content, 1):
                mark = f"{number}." if kind == "ol" else "•"
                pdf.multi_cell(0, 6, f"{mark} {item}", align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        else:
            pdf.set_font("DejaVu", "", 9 if kind == "meta" else 11)
            pdf.multi_cell(0, 6, str(content), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    return pdf


def _letterhead(pdf: FPDF, head: Letterhead, lang: Lang) -> None:
    """Both parties side by side (or one line for more), the group, the type of document,
    its reference and date, and a rule."""
    pdf.set_y(18)
    pdf.set_font("DejaVu", "B", 10)
    if len(head.parties) == 2:
        half = pdf.epw / 2
        top = pdf.get_y()
        pdf.multi_cell(half, 5, head.parties[0], align="L", new_x="RIGHT", new_y="TOP")
        pdf.set_xy(pdf.l_margin + half, top)
        pdf.multi_cell(half, 5, head.parties[1], align="R", new_x="LMARGIN", new_y="NEXT")
    else:
        text = " — ".join(head.parties)
        pdf.multi_cell(0, 5, text, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 6, head.group, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, head.kind, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    line = f"{label('reference', head.reference, lang)} — {label('date', head.date, lang)}"
    pdf.multi_cell(0, 5, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(5)


_FUNCTION = re.compile(r"^(?P<name>.*?)\s*\((?P<function>[^()]+)\)\s*$")


def member_line(
    text: str, partner: str, head: str | None, group: Mapping[str, Any], lang: Lang
) -> str:
    """``Youssef El Idrissi, directeur de la migration (chef de délégation)``: the function
    is the group's record of that member (``members[].function``), else what the member's
    text gives in parentheses (``Youssef El Idrissi (directeur de la migration)``)."""
    found = _FUNCTION.match(text)
    name, function = (found["name"], found["function"]) if found else (text, None)
    if function is None:
        for member in group.get("members") or []:
            if (
                isinstance(member, Mapping)
                and partner_key(str(member.get("name", ""))) == partner_key(name)
                and partner_key(str(member.get("partner", ""))) == partner_key(partner)
                and member.get("function")
            ):
                function = str(member["function"])
                break
    line = f"{name}, {function.strip()}" if function else name
    if head is not None and partner_key(_FUNCTION.sub(r"\g<name>", head)) == partner_key(name):
        line += f" ({word('head', lang)})"
    return line


def _delegation(delegation: Mapping[str, Any], group: Mapping[str, Any], lang: Lang) -> list[str]:
    partner = str(delegation.get("partner", ""))
    head = delegation.get("head")
    members = [str(m) for m in delegation.get("members") or []]
    if isinstance(head, str) and head not in members:
        members.insert(0, head)
    return [
        member_line(member, partner, head if isinstance(head, str) else None, group, lang)
        for member in members
    ]


def _party(parties: Sequence[Party], side: str) -> Party:
    for party in parties:
        if partner_key(party.side) == partner_key(side):
            return party
    return Party(side, state_named([side]))


def _framed(
    doc: Document,
    kind: str,
    meeting: Mapping[str, Any],
    group: Mapping[str, Any],
    parties: Sequence[Party],
    markings: Markings,
    today: date,
) -> None:
    """The markings and the letterhead (reference ``PV/2026-12-08/3f2a1b9c``: type, date of
    the meeting, the start of its id)."""
    doc.markings = markings
    lang = doc.lang
    suffix = str(meeting.get("id", "")).partition("--")[2][:8]
    reference = "/".join(
        part for part in (word("ref:" + kind, lang), str(meeting["start"])[:10], suffix) if part
    )
    doc.letterhead = Letterhead(
        parties=tuple(party.heading(lang) for party in parties),
        group=typography(str(group.get("name", "")), lang),
        kind=word(kind, lang),
        reference=reference,
        date=long_date(today, lang),
    )


def minutes(
    meeting: Mapping[str, Any],
    group: Mapping[str, Any],
    actions: Sequence[Mapping[str, Any]],
    lang: Lang,
    *,
    today: date,
    parties: Sequence[Party] = (),
    markings: Markings | None = None,
) -> Document:
    """The minutes of one meeting: who met (each delegation under its party's official
    name, its members with their functions), where and when, agenda, record, decisions,
    and the action items decided, with their owners and due dates."""
    parties = list(parties) or [_party((), str(p)) for p in group.get("partners") or []]
    doc = Document(f"{word('minutes', lang)} — {meeting['title']}", lang)
    _framed(doc, "minutes", meeting, group, parties, markings or Markings(), today)
    doc.add("meta", word("draft_notice", lang).format(date=long_date(today, lang)))
    when = long_date(date.fromisoformat(meeting["start"][:10]), lang)
    doc.add(
        "ul",
        [
            label("group", str(group.get("name", "")), lang),
            label("kind", word("kind:" + str(meeting["kind"]), lang), lang),
            label("date", when, lang),
            label("place", str(meeting["place"]), lang),
            label("status", word("status:" + str(meeting["status"]), lang), lang),
        ],
    )
    delegations = meeting.get("delegations") or []
    if delegations:
        doc.add("h2", word("delegations", lang))
        for delegation in delegations:
            party = _party(parties, str(delegation.get("partner", "")))
            title = word("delegation_of", lang).format(party=party.of(lang))
            doc.add("h3", capitalised(title))
            doc.add("ul", _delegation(delegation, group, lang))
    doc.add("h2", word("agenda", lang))
    doc.add("ol", [str(point) for point in meeting.get("agenda") or []] or [word("none", lang)])
    doc.add("h2", word("record", lang))
    for paragraph in str(meeting.get("minutes") or word("no_minutes", lang)).split("\n\n"):
        doc.add("p", paragraph.strip())
    doc.add("h2", word("decisions", lang))
    doc.add("ol", [str(d) for d in meeting.get("decisions") or []] or [word("none", lang)])
    doc.add("h2", word("actions", lang))
    doc.add(
        "ul",
        [
            f"{a['title']} — {label('owner', _party(parties, str(a['owner'])).name(lang), lang)}"
            + (f", {label('assignee', str(a['assignee']), lang)}" if a.get("assignee") else "")
            + f", {label('due', long_date(date.fromisoformat(a['due']), lang), lang)}"
            + f", {label('state', word('status:' + str(a['status']), lang), lang)}"
            + (f" — {word('overdue', lang)}" if a.get("overdue") else "")
            for a in actions
        ]
        or [word("none", lang)],
    )
    return doc


def communique(
    meeting: Mapping[str, Any],
    group: Mapping[str, Any],
    convergence: Sequence[Mapping[str, Any]],
    lang: Lang,
    *,
    today: date,
    parties: Sequence[Party] = (),
    markings: Markings | None = None,
) -> Document:
    """A draft joint communiqué after a meeting: who met (the parties by their official
    names), the shared reading (topics where views meet, and where dialogue goes on, from
    the convergence index), the decisions, and where and when it was done."""
    parties = list(parties) or [_party((), str(p)) for p in group.get("partners") or []]
    when = long_date(date.fromisoformat(meeting["start"][:10]), lang)
    doc = Document(f"{word('communique', lang)} — {group.get('name', '')}", lang)
    _framed(doc, "communique", meeting, group, parties, markings or Markings(), today)
    doc.add("meta", word("draft_notice", lang).format(date=long_date(today, lang)))
    doc.add(
        "p",
        word("communique_opening", lang).format(
            partners=joined([party.of(lang) for party in parties], lang),
            place=meeting["place"],
            date=when,
            group=group.get("name", ""),
            kind=word("kind:" + str(meeting["kind"]), lang).lower(),
        ),
    )
    meet = [str(row["topic"]) for row in convergence if row["verdict"] == "meet"]
    other = [str(row["topic"]) for row in convergence if row["verdict"] != "meet"]
    if meet:
        doc.add("p", word("communique_convergence", lang))
        doc.add("ul", meet)
    if other:
        doc.add("p", word("communique_dialogue", lang))
        doc.add("ul", other)
    decisions = [str(d) for d in meeting.get("decisions") or []]
    if decisions:
        doc.add("p", word("communique_decisions", lang))
        doc.add("ol", decisions)
    doc.add("p", word("communique_closing", lang))
    doc.add("p", word("done_at", lang).format(place=meeting["place"], date=when))
    return doc

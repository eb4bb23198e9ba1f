"""Documents of the joint mechanism: a meeting's minutes and a draft joint communiqué, in
French and English, as Markdown and PDF.

A document is built once as a list of blocks (headings, paragraphs, lists), then written
as Markdown (user text escaped, so a name cannot inject markup) or as PDF with fpdf2 and
the DejaVu fonts shipped in ``data/fonts`` (French accents, Arabic letters), shaped with
HarfBuzz so that Arabic names are joined and run right to left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any, Literal

from diapason.coordinate.texts import Lang, long_date, word

BlockKind = Literal["h1", "h2", "p", "ul", "ol", "meta"]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


@dataclass
class Document:
    """Blocks in order: ``(kind, text or list of texts)``."""

    title: str
    lang: Lang
    blocks: list[tuple[BlockKind, str | list[str]]] = field(default_factory=list)

    def add(self, kind: BlockKind, content: str | list[str]) -> None:
        if content:
            self.blocks.append((kind, content))


def escape_markdown(text: str) -> str:
    """User text made inert in Markdown (no headings, links, HTML or emphasis)."""
    lines = [_MARKDOWN_SPECIAL.sub(r"\\\1", line) for line in str(text).splitlines()]
    # A line starting with a digit and a period, or a dash, would become a list item.
    return "\n".join(re.sub(r"^(\s*)([0-9]+)\.", r"\1\2\\.", line) for line in lines).replace(
        "\n-", "\n\\-"
    )


def to_markdown(document: Document) -> str:
    out = [f"# {escape_markdown(document.title)}", ""]
    for kind, content in document.blocks:
        if kind == "h2":
            out += [f"## {escape_markdown(str(content))}", ""]
        elif kind == "h1":
            out += [f"# {escape_markdown(str(content))}", ""]
        elif kind == "ul":
            out += [f"- {escape_markdown(item)}" for item in content] + [""]
        elif kind == "ol":
            out += [f"{n}. {escape_markdown(item)}" for n, item in enumerate(content, 1)] + [""]
        elif kind == "meta":
            out += [f"*{escape_markdown(str(content))}*", ""]
        else:
            out += [escape_markdown(str(content)), ""]
    return "\n".join(out).rstrip() + "\n"


def _font(name: str) -> str:
    return str(resources.files("diapason.coordinate").joinpath(f"data/fonts/{name}"))


def to_pdf(document: Document) -> bytes:
    """The document as PDF (A4), in DejaVu Sans."""
    from fpdf import FPDF  # imported here: only document commands pay for it

    pdf = FPDF(format="A4")
    pdf.set_title(document.title)
    pdf.set_creator("Diapason")
    pdf.set_lang(document.lang)
    pdf.add_font("DejaVu", "", _font("DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", _font("DejaVuSans-Bold.ttf"))
    # Text shaping (HarfBuzz): Arabic names drawn joined and right to left.
    pdf.set_text_shaping(use_shaping_engine=True)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, document.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for kind, content in document.blocks:
        if kind in ("h1", "h2"):
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 13 if kind == "h2" else 15)
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
    return bytes(pdf.output())


def _names(delegation: Mapping[str, Any]) -> str:
    members = [str(m) for m in delegation.get("members") or []]
    head = delegation.get("head")
    return ", ".join(members) if members else str(head or "")


def minutes(
    meeting: Mapping[str, Any],
    group: Mapping[str, Any],
    actions: Sequence[Mapping[str, Any]],
    lang: Lang,
    *,
    today: date,
) -> Document:
    """The minutes of one meeting: who met, where and when, agenda, record, decisions, and
    the action items decided, with their owners and due dates."""
    doc = Document(f"{word('minutes', lang)} — {meeting['title']}", lang)
    doc.add("meta", word("draft_notice", lang).format(date=long_date(today, lang)))
    doc.add(
        "ul",
        [
            f"{word('group', lang)}: {group.get('name', '')}",
            f"{word('kind', lang)}: {word('kind:' + str(meeting['kind']), lang)}",
            f"{word('date', lang)}: {long_date(date.fromisoformat(meeting['start'][:10]), lang)}",
            f"{word('place', lang)}: {meeting['place']}",
            f"{word('status', lang)}: {word('status:' + str(meeting['status']), lang)}",
        ],
    )
    delegations = meeting.get("delegations") or []
    if delegations:
        doc.add("h2", word("delegations", lang))
        doc.add(
            "ul",
            [
                f"{d['partner']}: {_names(d)}"
                + (f" ({word('head', lang)}: {d['head']})" if d.get("head") else "")
                for d in delegations
            ],
        )
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
            f"{a['title']} — {word('owner', lang)}: {a['owner']}"
            + (f", {word('assignee', lang)}: {a['assignee']}" if a.get("assignee") else "")
            + f", {word('due', lang)}: {long_date(date.fromisoformat(a['due']), lang)}"
            + f", {word('status', lang)}: {word('status:' + str(a['status']), lang)}"
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
) -> Document:
    """A draft joint communiqué after a meeting: who met, the shared reading (topics where
    views meet, and where dialogue goes on, from the convergence index), the decisions."""
    partners = [str(p) for p in group.get("partners") or []]
    when = long_date(date.fromisoformat(meeting["start"][:10]), lang)
    doc = Document(f"{word('communique', lang)} — {group.get('name', '')}", lang)
    doc.add("meta", word("draft_notice", lang).format(date=long_date(today, lang)))
    doc.add(
        "p",
        word("communique_opening", lang).format(
            partners=word("and", lang).join(partners)
            if len(partners) == 2
            else ", ".join(partners),
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
    return doc

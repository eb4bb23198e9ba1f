"""Reading one news article: title, publication date, source URL and body.

Three layouts are read:

- **markdown laid out like scraped pages** (the seed): ``# **Title**``, an optional
  ``## subtitle``, a bold ``**DD.MM.YYYY Title**`` line, paragraphs, a ``### **Source**``
  footer with ``: <URL>``; ``Lire aussi :`` teaser lines are dropped;
- **plain text**: the first non-empty line is the title, a date may be given on its own line
  (``DD.MM.YYYY`` or ``YYYY-MM-DD``) and a URL on a ``Source:`` line;
- **saved HTML pages**, through trafilatura (text, title, date, URL from the page's metadata).

A paragraph cut by a page break (a blank line in the middle of a sentence: the first part
ends without final punctuation and the next starts in lower case) is joined again.

Article text is untrusted: it is only ever treated as text, never as markup or code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# Larger files are refused: a news article is a few kilobytes; 2 MB leaves room for
# saved HTML pages with their scripts and styles.
MAX_ARTICLE_BYTES = 2 * 1024 * 1024

_TITLE = re.compile(r"^#\s+(.+?)\s*$")
_SUBTITLE = re.compile(r"^##\s+(?!#)(.+?)\s*$")
_DATE_LINE = re.compile(r"^\*\*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*(.*?)\*\*\s*$")
_FOOTER = re.compile(r"^#{2,4}\s*\**\s*(Source|Sources)\s*\**\s*:?\s*$", re.IGNORECASE)
_URL = re.compile(r"<?(https?://[^\s<>\"']+)>?")
_TEASER = re.compile(r"^\s*\**\s*(Lire aussi|À lire aussi|A lire aussi|Read also|See also)\b", re.I)
_PLAIN_DATE = re.compile(r"^\s*(?:(\d{1,2})[./](\d{1,2})[./](\d{4})|(\d{4})-(\d{2})-(\d{2}))\s*$")
_SOURCE_LINE = re.compile(r"^\s*(?:Source|URL)\s*:\s*(\S+)\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?»\"”:…)]\s*$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


class ArticleError(ValueError):
    """An input that is not a readable article (empty, binary, too large, no body)."""


@dataclass(frozen=True, slots=True)
class Article:
    """One article, ready for analysis. ``body`` is the text every entity offset refers to
    (paragraphs separated by blank lines, the title not included)."""

    title: str
    body: str
    published: date | None
    source_url: str | None
    origin: str  # where it was read from: a path, "-" for standard input, or a caller's label
    subtitle: str | None = None

    @property
    def text(self) -> str:
        """Title and body, as analysed for topics and duplicates."""
        return f"{self.title}\n\n{self.body}" if self.title else self.body


def decode(data: bytes, origin: str) -> str:
    """The text of ``data``: UTF-8 (with or without BOM), else Windows-1252 for the
    mixed-encoding pages scrapers produce. Binary data is refused."""
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleError(
            f"{origin}: {len(data):,} bytes is larger than the {MAX_ARTICLE_BYTES:,} bytes "
            "an article may have"
        )
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{origin}: binary data, not an article")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Mixed encodings: decode line by line, each as UTF-8 if it can, else cp1252.
        lines = []
        for raw in data.split(b"\n"):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(raw.decode("cp1252", errors="replace"))
        text = "\n".join(lines)
    controls = sum(1 for char in text[:8192] if ord(char) < 32 and char not in "\n\r\t\f")
    if controls > 8:
        raise ArticleError(f"{origin}: binary data, not an article")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_bytes(data: bytes, origin: str) -> Article:
    """An :class:`Article` from a file's bytes: HTML through trafilatura, markdown or plain
    text otherwise. Raises :class:`ArticleError` with a one-line reason."""
    text = decode(data, origin)
    if not text.strip():
        raise ArticleError(f"{origin}: empty file")
    head = text.lstrip()[:1024].lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head or "<head" in head:
        return parse_html(text, origin)
    return parse_text(text, origin)


def read_article(path: Path) -> Article:
    """Read and parse one file (see :func:`parse_bytes`)."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ArticleError(f"{path}: {error.strerror}") from None
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(
            f"{path}: {size:,} bytes is larger than the {MAX_ARTICLE_BYTES:,} bytes an article "
            "may have"
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ArticleError(f"{path}: {error.strerror}") from None
    return parse_bytes(data, str(path))


def parse_text(text: str, origin: str) -> Article:
    """An article from markdown laid out like the seed, or from plain text."""
    lines = text.split("\n")
    title = subtitle = url = None
    published: date | None = None
    body_lines: list[str] = []
    in_footer = False
    for line in lines:
        stripped = line.strip()
        if in_footer:
            found = _URL.search(stripped)
            if found and url is None:
                url = found.group(1)
            continue
        if _FOOTER.match(stripped):
            in_footer = True
            continue
        if title is None and (match := _TITLE.match(stripped)):
            title = _unbold(match.group(1))
            continue
        if subtitle is None and not any(body_lines) and (match := _SUBTITLE.match(stripped)):
            subtitle = _unbold(match.group(1))
            continue
        if published is None and not any(body_lines) and (match := _DATE_LINE.match(stripped)):
            published = _make_date(match.group(3), match.group(2), match.group(1))
            if title is None and match.group(4).strip():
                title = match.group(4).strip()
            continue
        # Plain text: a date on its own line, before the body or right after the title.
        early = (
            sum(
                1 for i, line in enumerate(body_lines) if line and (i == 0 or not body_lines[i - 1])
            )
            <= 1
        )
        if published is None and early and (match := _PLAIN_DATE.match(stripped)):
            year, month, day = (
                (match.group(3), match.group(2), match.group(1))
                if match.group(1)
                else (match.group(4), match.group(5), match.group(6))
            )
            published = _make_date(year, month, day)
            continue
        if url is None and (match := _SOURCE_LINE.match(stripped)) and _URL.match(match.group(1)):
            url = _URL.match(match.group(1)).group(1)  # type: ignore[union-attr]
            continue
        if _TEASER.match(stripped):
            continue
        body_lines.append(stripped)
    paragraphs = _paragraphs(body_lines)
    if title is None and paragraphs and len(paragraphs[0]) <= 200 and len(paragraphs) > 1:
        title = _unbold(paragraphs.pop(0))
    if published is None and paragraphs:
        published = _dateline(paragraphs[0])
    body = "\n\n".join(rejoin_page_breaks(paragraphs))
    if not body.strip():
        raise ArticleError(f"{origin}: no article body")
    return Article(title or "", body, published, url, origin, subtitle)


def parse_html(html: str, origin: str) -> Article:
    """An article from a saved HTML page, through trafilatura (scripts and styles are
    dropped by it, never run)."""
    import trafilatura  # imported here: it is slow to import and only HTML needs it

    document = trafilatura.bare_extraction(
        html, include_comments=False, include_tables=False, with_metadata=True
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text or not text.strip():
        raise ArticleError(f"{origin}: HTML page without an article body")
    title = getattr(document, "title", None) or ""
    published = None
    raw_date = getattr(document, "date", None)
    if raw_date and re.match(r"^\d{4}-\d{2}-\d{2}", raw_date):
        published = _make_date(raw_date[:4], raw_date[5:7], raw_date[8:10])
    url = getattr(document, "url", None)
    paragraphs = _paragraphs([line.strip() for line in text.split("\n")])
    # trafilatura gives one paragraph a line: keep them apart, then rejoin page breaks.
    paragraphs = [part for paragraph in paragraphs for part in paragraph.split("\n")]
    body = "\n\n".join(rejoin_page_breaks(paragraphs))
    return Article(title.strip(), body, published, url, origin)


def rejoin_page_breaks(paragraphs: list[str]) -> list[str]:
    """Join a paragraph cut by a page break: it ends without final punctuation and the next
    one starts with a lower-case letter ("afin de mieux" / "prévoir")."""
    joined: list[str] = []
    for paragraph in paragraphs:
        if (
            joined
            and not _SENTENCE_END.search(joined[-1])
            and paragraph[:1].islower()
            and not joined[-1].startswith("#")
        ):
            joined[-1] = f"{joined[-1]} {paragraph}"
        else:
            joined.append(paragraph)
    return joined


def _paragraphs(lines: list[str]) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(_unbold(line))
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return [p for p in paragraphs if p and not p.startswith("#")]


def _unbold(text: str) -> str:
    return _BOLD.sub(r"\1", text).strip().strip("*").strip()


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("janvier", "january"),
            ("février", "fevrier", "february"),
            ("mars", "march"),
            ("avril", "april"),
            ("mai", "may"),
            ("juin", "june"),
            ("juillet", "july"),
            ("août", "aout", "august"),
            ("septembre", "september"),
            ("octobre", "october"),
            ("novembre", "november"),
            ("décembre", "decembre", "december"),
        ),
        start=1,
    )
    for name in names
}
_DATELINE = re.compile(
    r"^(?:[A-ZÀ-Þ][\w' -]{0,30},\s+)?(\d{1,2})(?:er)?\s+([a-zéû]+)\s+(\d{4})"
    r"\s*[.,:\u2013\u2014-]",
    re.I,
)


def _dateline(paragraph: str) -> date | None:
    """The date a body opens with, as wire stories do: "22 mai 2012. - …",
    "RABAT, 3 June 2024 - …"."""
    match = _DATELINE.match(paragraph)
    if match is None or match.group(2).lower() not in _MONTHS:
        return None
    return _make_date(match.group(3), str(_MONTHS[match.group(2).lower()]), match.group(1))


def _make_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None

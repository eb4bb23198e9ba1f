"""Reading articles: the seed's layout, plain text, HTML, and bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from diapason.osint.article import (
    MAX_ARTICLE_BYTES,
    ArticleError,
    parse_bytes,
    read_article,
    rejoin_page_breaks,
)
from tests.shared import SEED

from .conftest import DEV


def test_seed_structure() -> None:
    article = read_article(SEED)
    assert article.title.startswith("Maroc-France : Coopération sécuritaire et migration")
    assert article.published == date(2024, 4, 22)
    assert article.source_url == (
        "https://www.leconomiste.com/flash-infos/maroc-france-cooperation-securitaire-et-"
        "migration-au-coeur-de-l-entretien-entre-laftit"
    )
    assert article.body.startswith("Le ministre de l'Intérieur, Abdelouafi Laftit a reçu")
    # The sentence cut by a page break is whole again, and the footer is not body.
    assert "afin de mieux prévoir les multiples menaces" in article.body
    assert "Source" not in article.body
    assert "22.04.2024" not in article.body


def test_subtitle_and_teaser_are_not_body() -> None:
    article = read_article(DEV / "articles" / "03.md")
    assert article.subtitle is not None and article.subtitle.startswith("Authorities blame")
    assert article.published == date(2024, 6, 18)
    text = "# **Titre**\n\n**01.02.2024 Titre**\n\nLire aussi : autre chose\n\nUn corps.\n"
    parsed = parse_bytes(text.encode(), "t.md")
    assert parsed.body == "Un corps."


def test_page_break_rejoin_only_mid_sentence() -> None:
    assert rejoin_page_breaks(["afin de mieux", "prévoir les menaces."]) == [
        "afin de mieux prévoir les menaces."
    ]
    assert rejoin_page_breaks(["Une phrase.", "une autre."]) == ["Une phrase.", "une autre."]
    assert rejoin_page_breaks(["Sans point", "Majuscule ensuite."]) == [
        "Sans point",
        "Majuscule ensuite.",
    ]


def test_plain_text() -> None:
    text = "Attack near Gao\n2024-05-02\n\nGunmen attacked a post on Tuesday.\nSource: https://example.com/a\n"
    article = parse_bytes(text.encode(), "a.txt")
    assert article.title == "Attack near Gao"
    assert article.published == date(2024, 5, 2)
    assert article.source_url == "https://example.com/a"
    assert article.body == "Gunmen attacked a post on Tuesday."


def test_html_page_with_scripts() -> None:
    paragraph = (
        "Le ministre de l'Intérieur a reçu lundi à Rabat son homologue français pour un "
        "entretien consacré à la coopération sécuritaire et à la migration. "
    )
    html = (
        "<!DOCTYPE html><html><head><title>Rencontre à Rabat</title>"
        "<meta property='og:url' content='https://example.com/rencontre'>"
        "<script>document.write('<p>injected</p>'); alert(1)</script></head><body>"
        "<script>var x = '<p>not text</p>';</script><article><h1>Rencontre à Rabat</h1>"
        f"<p>{paragraph * 3}</p><p>{paragraph}</p></article></body></html>"
    )
    article = parse_bytes(html.encode(), "page.html")
    assert article.title == "Rencontre à Rabat"
    assert "homologue français" in article.body
    assert "alert" not in article.body and "injected" not in article.body


def test_html_without_body_is_refused() -> None:
    html = "<html><head><script>alert(1)</script></head><body><script>x()</script></body></html>"
    with pytest.raises(ArticleError, match=r"page\.html: HTML page without an article body"):
        parse_bytes(html.encode(), "page.html")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"   \n\n  ", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (bytes(range(1, 32)) * 50, "binary data"),
        (b"# **Titre seul**\n", "no article body"),
    ],
)
def test_bad_input(data: bytes, message: str) -> None:
    with pytest.raises(ArticleError, match=message):
        parse_bytes(data, "bad")


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"Du texte. " * (MAX_ARTICLE_BYTES // 10 + 10))
    with pytest.raises(ArticleError, match=r"big.txt: .* larger than"):
        read_article(path)


def test_mixed_encodings() -> None:
    data = "Titre\n\nLa sûreté".encode() + b"\n\nLe minist\xe8re a parl\xe9.\n"
    article = parse_bytes(data, "mixed.txt")
    assert "La sûreté" in article.body
    assert "Le ministère a parlé." in article.body


@pytest.mark.parametrize(
    ("opening", "expected"),
    [
        (
            "22 mai 2012. - Prévu initialement pour samedi dernier, le lancement a eu lieu.",
            date(2012, 5, 22),
        ),
        ("RABAT, 3 June 2024 - The minister met his counterpart.", date(2024, 6, 3)),
        ("Le 3 juin 2024, le ministre a parlé.", None),
    ],
)
def test_dateline_gives_the_publication_date(opening: str, expected: date | None) -> None:
    article = parse_bytes(f"Titre\n\n{opening}\n".encode(), "wire.txt")
    assert article.published == expected

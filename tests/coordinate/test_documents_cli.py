"""``diapason coordinate meeting minutes|communique`` as a coordinator runs them: the PDF and
Markdown written carry the markings of the meeting on every page, the parties' official
names and the members' functions given on the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.clock import day
from tests.coordinate.conftest import CliNode

pypdf = pytest.importorskip("pypdf")


@pytest.mark.slow
def test_the_command_line_writes_marked_documents(rabat_cli: CliNode, tmp_path: Path) -> None:
    diapason = rabat_cli.diapason
    group = diapason.json(
        "coordinate", "group", "add", "GMMP", "--kind", "gmmp",
        "--partner", "rabat", "--partner", "paris",
        "--member", "rabat:Nadia Benali*:directrice de la migration",
    )  # fmt: skip
    meeting = diapason.json(
        "coordinate", "meeting", "add", group["id"], "--title", "Plénière",
        "--kind", "plenary", "--start", day(14), "--place", "Rabat", "--tlp", "amber",
        "--delegation", "rabat:Nadia Benali,Youssef El Idrissi (chef de division)",
        "--delegation", "paris:Hélène Lefèvre (directrice générale des étrangers en France)",
    )  # fmt: skip
    marking = "TLP:AMBER — REL TO paris, rabat"

    pdf = tmp_path / "minutes.pdf"
    ran = diapason(
        "coordinate", "meeting", "minutes", meeting["id"], "--format", "pdf", "-o", str(pdf)
    )
    assert ran.returncode == 0, ran.stderr
    pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages]
    for number, text in enumerate(pages, 1):
        assert text.count(marking) == 2 and f"Page {number} sur {len(pages)}" in text
    assert "ROYAUME DU MAROC" in pages[0] and "RÉPUBLIQUE FRANÇAISE" in pages[0]

    ran = diapason("coordinate", "meeting", "minutes", meeting["id"], "--lang", "en")
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == lines[-1] == f"**{marking}**"
    for text in (
        "### Delegation of the Kingdom of Morocco",
        "- Nadia Benali, directrice de la migration (head of delegation)",
        "- Youssef El Idrissi, chef de division",
        "- Hélène Lefèvre, directrice générale des étrangers en France (head of delegation)",
    ):
        assert text in lines, text
    ran = diapason("coordinate", "meeting", "communique", meeting["id"])
    assert ran.returncode == 0, ran.stderr
    assert "Les délégations du Royaume du Maroc et de la République française" in ran.stdout

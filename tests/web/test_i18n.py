"""Every message of the interface has its French translation, with the same placeholders;
the reader's language comes from the switch, else the browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message, TranslationError
from babel.messages.checkers import checkers
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from diapason.web.ui.i18n import choose_language
from tests.shared import REPOSITORY

WEB = REPOSITORY / "src" / "diapason" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def messages() -> set[str]:
    """The msgids of the templates and page modules, as pybabel extracts them
    (``src/diapason/web/babel.cfg``)."""
    found: set[str] = set()
    method_map = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**/ui/**.py", "python")]
    options = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    keywords = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
    for _, _, message, _, _ in extract_from_dir(
        str(WEB), method_map=method_map, options_map=options, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_is_translated_into_french() -> None:
    with (WEB / "i18n" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    translated: dict[str, tuple[str, ...]] = {}
    for m in catalogue:
        if not m.id or m.fuzzy:
            continue
        # A plural message (ngettext) has its singular and plural forms, and one French
        # form per plural of the language (two: 0 and 1, then more).
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        forms = (m.string,) if isinstance(m.string, str) else tuple(m.string or ())
        if all(forms):
            translated[ids[0]] = (*ids, *forms)
    wanted = messages()
    assert len(wanted) > 100
    missing = sorted(wanted - set(translated))
    assert not missing, f"messages without a French translation: {missing}"
    for message, texts in translated.items():
        for text in texts:
            assert sorted(PLACEHOLDER.findall(message)) == sorted(PLACEHOLDER.findall(text)), text


CATALOGUES = sorted((WEB / "i18n").glob("*/LC_MESSAGES/*.po"))


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda path: path.parent.parent.name)
def test_every_catalogue_passes_the_gettext_checks(po: Path) -> None:
    """``msgfmt -c`` accepts every catalogue (a ``python-format`` message whose
    translation breaks its directives, like a bare "%", would be refused), and so do
    Babel's checkers, which the interface compiles the catalogues with."""
    assert CATALOGUES, "no catalogue found"
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale=po.parent.parent.name)
    problems = [
        f"{message.id!r}: {error}"
        for message in catalogue
        if message.id
        for checker in checkers
        for error in _errors(checker, catalogue, message)
    ]
    assert not problems
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (gettext) is not installed; Babel's checkers passed")
    done = subprocess.run(
        [msgfmt, "-c", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def _errors(
    checker: Callable[[Catalog | None, Message], object], catalogue: Catalog, message: Message
) -> list[str]:
    try:
        checker(catalogue, message)
    except TranslationError as error:
        return [str(error)]
    return []


def test_language_choice() -> None:
    assert choose_language("fr", "en") == "fr"
    assert choose_language("de", "fr-CA,fr;q=0.9") == "fr"
    assert choose_language(None, "de, en-GB;q=0.5, fr;q=0.4") == "en"
    assert choose_language(None, "en;q=0.5, fr-FR;q=0.8") == "fr"
    assert choose_language(None, "fr;q=0, en;q=0.1") == "en"
    assert choose_language(None, "xx, ;q=bad, *") == "en"
    assert choose_language(None, None) == "en"

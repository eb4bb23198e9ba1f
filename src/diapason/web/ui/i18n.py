"""The interface's languages: French and English, from Babel message catalogues.

English is the source language (the msgids in templates and page modules); French comes
from ``web/i18n/fr/LC_MESSAGES/messages.po``. The ``.po`` file is the only copy kept in the
repository: it is compiled in memory when the application starts, once per process, so no
build step can forget it.

A reader chooses a language with the switch in the page header (a cookie); without one,
the browser's ``Accept-Language`` decides, and English is the fallback.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import resources
from typing import Any, Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from markupsafe import Markup

Lang = Literal["en", "fr"]
LANGUAGES: tuple[Lang, ...] = ("en", "fr")
DEFAULT_LANGUAGE: Lang = "en"
LANG_COOKIE = "diapason_lang"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (translated at render)."""
    return message


def load_catalogues() -> dict[Lang, NullTranslations]:
    """The translations of every language, compiled from the packaged ``.po`` files."""
    found: dict[Lang, NullTranslations] = {"en": NullTranslations()}
    folder = resources.files("diapason.web") / "i18n"
    for lang in LANGUAGES:
        po = folder / lang / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        found[lang] = Translations(compiled)
    return found


def choose_language(cookie: str | None, accept_language: str | None) -> Lang:
    """The reader's language: the cookie if valid, else the best of ``Accept-Language``
    (``fr-CA`` counts as ``fr``), else English."""
    for lang in LANGUAGES:
        if cookie == lang:
            return lang
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "")[:500].split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        parameters = parameters.strip()
        if parameters.startswith("q="):
            try:
                quality = float(parameters[2:])
            except ValueError:
                continue
        language = tag.strip().replace("_", "-").split("-")[0].lower()
        if quality > 0:
            # Higher quality first; at equal quality, the header's order.
            ranked.append((-quality, position, language))
    for _, _, language in sorted(ranked):
        for lang in LANGUAGES:
            if language == lang:
                return lang
    return DEFAULT_LANGUAGE


Gettext = Callable[..., Markup]


def make_gettext(translations: NullTranslations) -> Gettext:
    """``_("text %(name)s", name=value)`` for templates and pages: translated, then the
    values interpolated with HTML escaping (the catalogue is trusted, the values are not)."""

    def gettext(message: str, **variables: Any) -> Markup:
        text = Markup(translations.gettext(message))  # noqa: S704 - our own catalogue
        return text % variables if variables else text

    return gettext


def make_ngettext(translations: NullTranslations) -> Gettext:
    """``ngettext("%(n)s event", "%(n)s events", n, n=n)``: the plural form the language
    gives ``n`` (French: one for 0 and 1), interpolated as ``gettext`` does."""

    def ngettext(singular: str, plural: str, number: int, /, **variables: Any) -> Markup:
        chosen = translations.ngettext(singular, plural, number)
        text = Markup(chosen)  # noqa: S704 - our own catalogue
        return text % variables if variables else text

    return ngettext

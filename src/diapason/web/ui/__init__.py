"""The server-rendered web interface (Jinja2 templates, French and English).

Pages live in modules named ``pages_*.py`` beside this file; each has ``NAV`` (its entries
in the navigation bar) and ``routes(ui)`` (its Starlette routes, made with ``ui.page``).
They are found by name, so adding a page is adding one module and its template(s):
see docs/web.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from datetime import datetime

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from diapason.node import Node
from diapason.web.ui.core import Ui


def page_modules() -> list[str]:
    """The names of the page modules, in a stable order."""
    return sorted(
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if info.name.startswith("pages_")
    )


def build_ui(
    node: Node, key: bytes, *, clock: Callable[[], datetime] | None = None
) -> tuple[Ui, list[BaseRoute]]:
    """The interface of ``node`` and every route it serves, static files included;
    ``clock`` is the time its coordination pages see (default: now)."""
    ui = Ui(node, key, clock=clock)
    routes: list[BaseRoute] = [
        Mount("/static", StaticFiles(packages=[("diapason.web", "static")]), name="static")
    ]
    for name in page_modules():
        module = importlib.import_module(name)
        ui.nav.extend(module.NAV)
        routes.extend(module.routes(ui))
    return ui, routes

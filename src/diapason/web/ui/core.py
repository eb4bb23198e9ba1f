"""The machinery every page of the web interface shares.

A page is a plain function ``handler(view) -> Response``, declared with ``Ui.page`` (path,
methods, the permission of ``domain/roles.py`` it needs). ``Ui.page`` does, for every page
alike and before the handler runs: the reader's language, the session and its user, the
CSRF check of every POST, the sign-in redirect, the permission check (an ``access_denied``
audit entry when refused). Handlers are synchronous (the store is) and run in a worker
thread; they render templates with ``view.render`` and audit with ``view.audit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.domain.roles import has_permission
from diapason.node import Node
from diapason.web.ui.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    Gettext,
    Lang,
    choose_language,
    load_catalogues,
    make_gettext,
)
from diapason.web.ui.sessions import (
    ANONYMOUS_COOKIE,
    SESSION_COOKIE,
    Session,
    Sessions,
    new_anonymous_id,
    well_formed,
)

# A browser form never needs more; bigger bodies are refused before they are parsed.
MAX_FORM_BYTES = 1_048_576
MAX_FORM_FIELDS = 200
# Pages that take a file (an article) accept a bigger body: the file and the form around it.
MAX_UPLOAD_BYTES = 3 * 1_048_576


class Refused(Exception):
    """Raised by a handler to answer with an error page (status and a one-line reason)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation bar: shown to users whose role has ``permission``.

    ``label`` is an English msgid (marked with ``N_``), translated when the page renders;
    ``order`` places it (10 dashboard, 20 knowledge base, 30-60 reserved for OSINT,
    anticipation and coordination, 80 audit, 90 administration)."""

    label: str
    path: str
    permission: str | None
    order: int


Handler = Callable[["View"], Response]


class Typed(dict[str, Any]):
    """What a user typed into a form, shown again when it is refused: a field not typed
    reads as empty, so templates need no default for each field."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass
class View:
    """Everything a page handler needs about the request it answers."""

    ui: Ui
    request: Request
    node: Node
    user: User | None
    session: Session | None
    lang: Lang
    gettext: Gettext
    form: Mapping[str, str]
    csrf: str
    files: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)
    cookies: list[tuple[str, str | None, int | None]] = field(default_factory=list)

    @property
    def query(self) -> Mapping[str, str]:
        """The GET parameters."""
        return self.request.query_params

    @property
    def actor(self) -> str:
        """How the audit trail names the person acting through the web interface."""
        return f"web:{self.user.username}" if self.user else "web:anonymous"

    def can(self, permission: str) -> bool:
        """Whether the signed-in user's role grants ``permission`` (roles.py)."""
        return self.user is not None and has_permission(self.user.role, permission)

    def require(self, permission: str) -> None:
        """Refuse (403, audited as ``access_denied``) unless the role grants it."""
        if not self.can(permission):
            self.audit(
                "access_denied", details={"path": self.request.url.path, "needs": permission}
            )
            raise Refused(403, str(self.gettext("Your role does not allow this.")))

    def audit(
        self,
        action: str,
        object_ids: Sequence[str] = (),
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Append an audit entry in the signed-in user's name (``web:USERNAME``)."""
        self.node.audit.append(
            self.actor, action, object_ids, reason=reason, details={"via": "web", **(details or {})}
        )

    def set_cookie(self, name: str, value: str | None, max_age: int | None = None) -> None:
        """Set (or, with None, delete) a cookie on whatever response the handler returns."""
        self.cookies.append((name, value, max_age))

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A template rendered with the layout's context (language, navigation, CSRF).
        ``typed`` and ``*_typed`` values (what forms hold) read missing fields as empty."""
        for key, value in context.items():
            if (key == "typed" or key.endswith("_typed")) and isinstance(value, dict):
                context[key] = Typed(value)
        body = self.ui.templates.get_template(template).render(
            **self.ui.base_context(self), **context
        )
        return HTMLResponse(body, status_code=status, headers={"Content-Language": self.lang})

    def redirect(self, path: str) -> RedirectResponse:
        """Go to ``path`` (after a form: the answer to a POST is never a page to re-post)."""
        # 303: the browser follows a POST's answer with a GET, so reloading re-posts nothing.
        return RedirectResponse(path, status_code=303)

    def error(self, status: int, message: str) -> HTMLResponse:
        """The error page, with a one-line reason."""
        return self.render("error.html", status=status, status_code=status, message=message)


def safe_next(target: str | None) -> str:
    """A same-site path to go to after sign-in; anything else goes to the dashboard."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


class Ui:
    """The web interface of one node: templates, catalogues, sessions, navigation, routes."""

    def __init__(
        self,
        node: Node,
        key: bytes,
        sessions: Sessions | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.node = node
        # The time the joint mechanism's pages see (None: now); tests pass a fixed one.
        self.clock = clock
        self.sessions = sessions or Sessions(node.facts, key)
        self.catalogues = load_catalogues()
        self.templates = Environment(
            loader=PackageLoader("diapason.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.nav: list[NavItem] = []
        # Named after the node: browsers keep cookies per host, not per port, and two
        # nodes on one host (the demo: rabat and paris) must not overwrite each other's.
        name = node.settings.node_name
        self.session_cookie = f"{SESSION_COOKIE}_{name}"
        self.anonymous_cookie = f"{ANONYMOUS_COOKIE}_{name}"

    def base_context(self, view: View) -> dict[str, Any]:
        """What the base layout needs on every page."""
        path = view.request.url.path
        items = [
            item
            for item in sorted(self.nav, key=lambda item: item.order)
            if item.permission is None or view.can(item.permission)
        ]
        return {
            "_": view.gettext,
            "lang": view.lang,
            "languages": LANGUAGES,
            "node_name": self.node.settings.node_name,
            "user": view.user,
            "csrf": view.csrf,
            "nav": [
                (
                    str(view.gettext(item.label)),
                    item.path,
                    path == item.path or (item.path != "/" and path.startswith(item.path)),
                )
                for item in items
            ],
            "here": path + (f"?{view.request.url.query}" if view.request.url.query else ""),
            "can": view.can,
        }

    def page(
        self,
        path: str,
        handler: Handler,
        *,
        methods: Sequence[str] = ("GET",),
        permission: str | None = None,
        public: bool = False,
        uploads: int = 0,
    ) -> Route:
        """A route serving ``handler`` with sessions, CSRF, sign-in and permission checks.
        ``uploads``: how many files its form may carry (``view.files``: name, bytes)."""
        limit = MAX_UPLOAD_BYTES if uploads else MAX_FORM_BYTES

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            form: dict[str, str] = {}
            files: dict[str, tuple[str, bytes]] = {}
            if request.method == "POST":
                length = request.headers.get("content-length")
                if length is None or not length.isdigit() or int(length) > limit:
                    return HTMLResponse("form too large or without a length", status_code=413)
                try:
                    parsed: FormData = await request.form(
                        max_files=uploads, max_fields=MAX_FORM_FIELDS, max_part_size=limit
                    )
                except MultiPartException as error:
                    return HTMLResponse(f"unreadable form: {error.message}", status_code=400)
                for name, value in parsed.multi_items():
                    if isinstance(value, str):
                        form.setdefault(name, value)
                    elif name not in files:
                        files[name] = (value.filename or "", await value.read())
                # Uploaded files are spooled to temporary files: release them now.
                await parsed.close()
            response = await anyio.to_thread.run_sync(
                self._serve, request, form, handler, permission, public, files
            )
            # The page's server time (session, checks, queries, audit, rendering), which
            # the benchmark reads; it tells nothing a signed-in reader could not time.
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
            return response

        return Route(path, endpoint, methods=list(methods))

    def _serve(
        self,
        request: Request,
        form: dict[str, str],
        handler: Handler,
        permission: str | None,
        public: bool,
        files: dict[str, tuple[str, bytes]],
    ) -> Response:
        lang = choose_language(
            request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
        )
        gettext = make_gettext(self.catalogues[lang])
        session = self.sessions.resolve(request.cookies.get(self.session_cookie))
        user = self.node.accounts.get_user(session.username) if session else None
        if session is not None and (user is None or user.disabled or user.role == "partner"):
            self.sessions.end(session.sid)
            session, user = None, None
        anonymous = request.cookies.get(self.anonymous_cookie)
        fresh_anonymous = not well_formed(anonymous)
        if fresh_anonymous:
            anonymous = new_anonymous_id()
        assert anonymous is not None
        binding = session.sid if session is not None else anonymous
        view = View(
            self,
            request,
            self.node,
            user,
            session,
            lang,
            gettext,
            form,
            self.sessions.csrf_token(binding),
            files,
        )
        if fresh_anonymous:
            view.set_cookie(self.anonymous_cookie, anonymous)
        response = self._answer(view, handler, permission, public, binding)
        secure = request.url.scheme == "https"
        for name, value, max_age in view.cookies:
            if value is None:
                response.delete_cookie(name, path="/", secure=secure, httponly=True)
            else:
                response.set_cookie(
                    name,
                    value,
                    max_age=max_age,
                    path="/",
                    secure=secure,
                    httponly=True,
                    samesite="lax",
                )
        return response

    def _answer(
        self,
        view: View,
        handler: Handler,
        permission: str | None,
        public: bool,
        binding: str,
    ) -> Response:
        request = view.request
        if request.method == "POST" and not (
            self._same_origin(request) and self.sessions.csrf_valid(binding, view.form.get("csrf"))
        ):
            view.audit(
                "request_refused",
                details={"path": request.url.path, "why": "missing or wrong CSRF token"},
            )
            return view.error(
                403,
                str(
                    view.gettext(
                        "This form has expired or did not come from this site. "
                        "Reload the page and try again."
                    )
                ),
            )
        if not public and view.user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return view.redirect("/login?next=" + quote(target, safe=""))
        try:
            if permission is not None:
                view.require(permission)
            return handler(view)
        except Refused as refused:
            return view.error(refused.status, refused.message)

    @staticmethod
    def _same_origin(request: Request) -> bool:
        """A POST's Origin, when the browser names one, must be this site. (Under the
        ``no-referrer`` policy browsers send ``Origin: null``: the CSRF token decides.)"""
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

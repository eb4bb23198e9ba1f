"""The machinery every page of the web interface shares.

A page is a plain function ``handler(view) -> Response``, declared with ``Ui.page`` (path,
methods, the permission of ``domain/roles.py`` it needs). ``Ui.page`` does, for every page
alike and before the handler runs: the reader's language, the session and its user, the
CSRF check of every POST, the sign-in redirect, the permission check (an ``access_denied``
audit entry when refused). It serves the page through the request pipeline
(``diapason.http.pipeline``), which the TAXII server and the JSON API use too: the session
admits the reader, the form is read within a limit, a ``Refused`` becomes the error page.
Handlers are synchronous (the store is) and run in a worker thread; they render templates
with ``view.render`` and audit with ``view.audit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from diapason.accounts import User
from diapason.domain.roles import has_permission
from diapason.http.pipeline import Body, Pipeline, over

# Raised by a handler to answer with the error page (status, a one-line reason); the pages
# import it from here.
from diapason.http.pipeline import Refused as Refused
from diapason.node import Node
from diapason.web.ui.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    Gettext,
    Lang,
    choose_language,
    load_catalogues,
    make_gettext,
    make_ngettext,
)
from diapason.web.ui.sessions import (
    ANONYMOUS_COOKIE,
    SESSION_COOKIE,
    Session,
    Sessions,
    new_anonymous_id,
    well_formed,
)
from diapason.web.ui.words import (
    display_title,
    human_moment,
    language_name,
    number,
    period_name,
    term,
    topic_name,
    type_name,
    zone_of,
)

# A browser form never needs more; bigger bodies are refused before they are parsed.
MAX_FORM_BYTES = 1_048_576
MAX_FORM_FIELDS = 200
# Pages that take a file (an article) accept a bigger body: the file and the form around it.
MAX_UPLOAD_BYTES = 3 * 1_048_576


class Unreadable(Refused):
    """A form the server cannot read (too large, malformed): answered with a line of
    text, not a page."""


async def read_form(uploads: int, request: Request, limit: int) -> Form:
    """A POST's form fields (the first of each name) and up to ``uploads`` files."""
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if request.method != "POST":
        return form, files
    length = request.headers.get("content-length")
    if length is None or not (length.isascii() and length.isdigit()) or over(length, limit):
        raise Unreadable(413, "form too large or without a length")
    try:
        parsed: FormData = await request.form(
            max_files=uploads, max_fields=MAX_FORM_FIELDS, max_part_size=limit
        )
    except MultiPartException as error:
        raise Unreadable(400, f"unreadable form: {error.message}") from None
    for name, value in parsed.multi_items():
        if isinstance(value, str):
            form.setdefault(name, value)
        elif name not in files:
            files[name] = (value.filename or "", await value.read())
    # Uploaded files are spooled to temporary files: release them now.
    await parsed.close()
    return form, files


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
# A form's fields, and its files by field name: (file name, content).
Form = tuple[dict[str, str], dict[str, tuple[str, bytes]]]


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
    # What the CSRF token is bound to: the session id, or the anonymous cookie's value.
    binding: str = ""

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

    @property
    def ngettext(self) -> Gettext:
        """The plural-aware ``gettext`` of the reader's language."""
        return make_ngettext(self.ui.catalogues[self.lang])

    def when(self, timestamp: str) -> str:
        """A stored timestamp as the reader reads it, in the node's time zone."""
        return human_moment(timestamp, self.lang, self.ui.zone)

    def moment(self, timestamp: object) -> Markup:
        """``<time datetime=…>`` with the timestamp as the reader reads it (empty when
        there is none)."""
        if not isinstance(timestamp, str) or not timestamp:
            return Markup("")
        return Markup('<time datetime="{}">{}</time>').format(timestamp, self.when(timestamp))

    def type_name(self, stix_type: str) -> str:
        """A STIX type in the reader's language."""
        return type_name(self.gettext, stix_type)

    def topic_name(self, topic: str) -> str:
        """A topic key in the reader's language."""
        return topic_name(self.gettext, topic)

    def term(self, vocabulary: str, key: str) -> str:
        """A code of one of ``words.VOCABULARIES`` (a PLOVER type, an RFI's state, …) in
        the reader's language."""
        return term(self.gettext, vocabulary, key)

    def number(self, value: float, digits: int = 0) -> str:
        """A figure in the reader's way of writing numbers."""
        return number(value, digits, self.lang)

    def period_name(self, period: str) -> str:
        """A month period ("2024-05") as the reader names it (« mai 2024 »)."""
        return period_name(period, self.lang)

    def language_name(self, code: str) -> str:
        """A language code as the language's name in the reader's language."""
        return language_name(code, self.lang)

    def display_title(self, obj: Mapping[str, Any]) -> str | None:
        """The title of ``obj`` in the reader's language when its name is written in
        codes (an OSINT event) or in one language (a country); None otherwise."""
        return display_title(self.gettext, self.lang, obj)

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
        # The time zone the pages show times in (stored times are UTC).
        self.zone = zone_of(node.settings.time_zone)
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
        # Every page is served through the request pipeline: the session admits the reader,
        # a refusal is answered with the error page (audited where it was decided).
        self.pipeline = Pipeline(self._visit, self._refused)

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
            "ngettext": view.ngettext,
            "when": view.when,
            "moment": view.moment,
            "type_name": view.type_name,
            "topic_name": view.topic_name,
            "term": view.term,
            "language_name": view.language_name,
            "number": view.number,
            "period_name": view.period_name,
            "time_zone": self.node.settings.time_zone,
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
        form = Body[View](
            partial(read_form, uploads), limit=MAX_UPLOAD_BYTES if uploads else MAX_FORM_BYTES
        )
        endpoint = self.pipeline.endpoint(
            partial(self._serve, handler, permission, public), body=form
        )
        return Route(path, endpoint, methods=list(methods))

    def _visit(self, request: Request) -> View:
        """Who is reading (the pipeline's admission): language, session and its user, the
        anonymous cookie that binds the CSRF token of a reader not signed in."""
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
            {},
            self.sessions.csrf_token(binding),
            binding=binding,
        )
        if fresh_anonymous:
            view.set_cookie(self.anonymous_cookie, anonymous)
        return view

    def _serve(
        self,
        handler: Handler,
        permission: str | None,
        public: bool,
        request: Request,
        view: View,
    ) -> Response:
        """The page: CSRF check of a POST, sign-in redirect, permission check, handler."""
        view.form, view.files = request.state.body
        if request.method == "POST" and not (
            self._same_origin(request)
            and self.sessions.csrf_valid(view.binding, view.form.get("csrf"))
        ):
            view.audit(
                "request_refused",
                details={"path": request.url.path, "why": "missing or wrong CSRF token"},
            )
            raise Refused(
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
            return self._finish(view, view.redirect("/login?next=" + quote(target, safe="")))
        if permission is not None:
            view.require(permission)
        return self._finish(view, handler(view))

    def _refused(self, request: Request, view: View | None, refused: Refused) -> Response:
        """A refusal (audited where it was decided) as the error page, with a one-line
        reason; a form that cannot be read as that line alone."""
        if view is None or isinstance(refused, Unreadable):
            return HTMLResponse(refused.message, status_code=refused.status)
        return self._finish(view, view.error(refused.status, refused.message))

    @staticmethod
    def _finish(view: View, response: Response) -> Response:
        """The cookies the page set, and its server time."""
        request = view.request
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
        # The page's server time (session, checks, queries, audit, rendering), which the
        # benchmark reads; it tells nothing a signed-in reader could not time.
        elapsed = (time.perf_counter() - request.state.started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
        return response

    @staticmethod
    def _same_origin(request: Request) -> bool:
        """A POST's Origin, when the browser names one, must be this site. (Under the
        ``no-referrer`` policy browsers send ``Origin: null``: the CSRF token decides.)"""
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")

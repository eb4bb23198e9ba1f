"""Signing in and out, and the language switch."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import MAX_PASSWORD_LENGTH, USERNAME_RE
from diapason.web.ui.core import NavItem, Ui, View, safe_next
from diapason.web.ui.i18n import LANG_COOKIE, LANGUAGES

NAV: tuple[NavItem, ...] = ()
LANG_COOKIE_AGE = 365 * 86400


def login(view: View) -> Response:
    """The sign-in form; on POST, a password check (Argon2) and a new session."""
    target = safe_next(view.form.get("next") or view.query.get("next"))
    if view.request.method == "GET":
        if view.user is not None:
            return view.redirect(target)
        return view.render("login.html", username="", next=target, problem=None)
    username = view.form.get("username", "").strip()
    password = view.form.get("password", "")
    user = None
    if USERNAME_RE.match(username) and 0 < len(password) <= MAX_PASSWORD_LENGTH:
        user = view.node.accounts.check_password(username, password)
    if user is None or user.role == "partner":
        # One message for every cause: the page must not tell which names exist.
        view.node.audit.append(
            "web:anonymous",
            "login_failed",
            details={"via": "web", "username": username[:100]},
        )
        return view.render(
            "login.html",
            status=401,
            username=username,
            next=target,
            problem=view.gettext("Wrong user name or password."),
        )
    if view.session is not None:
        view.ui.sessions.end(view.session.sid)
    session = view.ui.sessions.create(user.username)
    view.node.audit.append(f"web:{user.username}", "login", details={"via": "web"})
    view.set_cookie(view.ui.session_cookie, session.sid)
    return view.redirect(target)


def logout(view: View) -> Response:
    """End the session (the cookie is worthless afterwards) and go to the sign-in form."""
    if view.session is not None:
        view.ui.sessions.end(view.session.sid)
        view.audit("logout")
    view.set_cookie(view.ui.session_cookie, None)
    return view.redirect("/login")


def language(view: View) -> Response:
    """Remember the chosen language in a cookie and go back to the page."""
    chosen = view.form.get("lang", "")
    if chosen in LANGUAGES:
        view.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_AGE)
    return view.redirect(safe_next(view.form.get("next")))


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/login", login, methods=("GET", "POST"), public=True),
        ui.page("/logout", logout, methods=("POST",), public=True),
        ui.page("/language", language, methods=("POST",), public=True),
    ]

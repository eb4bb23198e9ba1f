"""Signing in and out, and the language switch."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from diapason.authentication import SignInThrottled
from diapason.web.ui.core import NavItem, Ui, View, safe_next
from diapason.web.ui.i18n import LANG_COOKIE, LANGUAGES

NAV: tuple[NavItem, ...] = ()
LANG_COOKIE_AGE = 365 * 86400


def login(view: View) -> Response:
    """The sign-in form; on POST, a password check (Argon2, throttled) and a new session."""
    target = safe_next(view.form.get("next") or view.query.get("next"))
    if view.request.method == "GET":
        if view.user is not None:
            return view.redirect(target)
        return view.render("login.html", username="", next=target, problem=None)
    username = view.form.get("username", "").strip()
    client = view.request.client.host if view.request.client else None
    try:
        # Failures, refusals and locks are audited by the authenticator.
        user = view.node.authenticator.sign_in(
            username, view.form.get("password", ""), client=client, via="web"
        )
    except SignInThrottled as refusal:
        # Refused before the password was looked at: the same answer, right or wrong.
        response = view.render(
            "login.html",
            status=429,
            username=username,
            next=target,
            problem=wait_message(view, refusal.retry_after),
        )
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    if user is not None and user.role == "partner":
        view.node.audit.append(
            "web:anonymous",
            "login_failed",
            details={"via": "web", "username": username[:100], "why": "partner account"},
        )
        user = None
    if user is None:
        # One message for every cause: the page must not tell which names exist (unknown
        # names wait as long as real ones).
        problem = view.gettext("Wrong user name or password.")
        wait = view.node.authenticator.wait(username, client)
        if wait:
            problem += " " + wait_message(view, wait)
        return view.render(
            "login.html", status=401, username=username, next=target, problem=problem
        )
    if view.session is not None:
        view.ui.sessions.end(view.session.sid)
    session = view.ui.sessions.create(user.username)
    view.node.audit.append(f"web:{user.username}", "login", details={"via": "web"})
    view.set_cookie(view.ui.session_cookie, session.sid)
    return view.redirect(target)


def wait_message(view: View, seconds: int) -> str:
    """Why the form refuses for now, and for how long (in minutes from two minutes on)."""
    if seconds < 120:
        return view.gettext(
            "Too many failed sign-ins: try again in %(seconds)s s.", seconds=seconds
        )
    return view.gettext(
        "Too many failed sign-ins: try again in %(minutes)s min.", minutes=-(-seconds // 60)
    )


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

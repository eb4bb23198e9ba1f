"""Administration of people: users (add, disable, unlock) and API tokens (shown once)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import ACCOUNT, AccountError
from diapason.domain.roles import ROLES
from diapason.web.ui.core import NavItem, Refused, Ui, View
from diapason.web.ui.i18n import N_

NAV = (
    NavItem(N_("Users"), "/admin/users", "users:manage", 90),
    NavItem(N_("API tokens"), "/admin/tokens", "tokens:manage_own", 91),
)


def users_page(
    view: View, typed: dict[str, str] | None = None, problem: str | None = None, status: int = 200
) -> Response:
    """The users page, with a problem and what was typed when a form was refused."""
    throttle = view.node.authenticator.throttle
    now = throttle.clock()
    return view.render(
        "admin/users.html",
        status=status,
        users=view.node.accounts.list_users(),
        # Accounts whose password sign-in is locked (docs/security.md), until when (UTC).
        locked={
            f.subject: f.not_before.strftime("%Y-%m-%d %H:%M")
            for f in throttle.records()
            if f.scope == ACCOUNT and f.locked(now)
        },
        roles=[role for role in ROLES if role != "partner"],
        typed=typed or {"username": "", "role": "analyst"},
        problem=problem,
    )


def users(view: View) -> Response:
    """The list of users and the form to add one."""
    return users_page(view)


def add_user(view: View) -> Response:
    """Add a user; a refusal shows the form again with what was typed (not passwords)."""
    typed = {"username": view.form.get("username", "").strip(), "role": view.form.get("role", "")}
    password = view.form.get("password", "")
    if password != view.form.get("password2", ""):
        return users_page(view, typed, str(view.gettext("The two passwords differ.")), 400)
    if typed["role"] == "partner":
        # Partner accounts are made with the partner, on the partners page.
        return users_page(view, typed, str(view.gettext("Add partners on the partners page.")), 400)
    try:
        user = view.node.accounts.add_user(typed["username"], typed["role"], password or None)
    except AccountError as error:
        return users_page(view, typed, str(error), 400)
    view.audit("user_add", details={"username": user.username, "role": user.role})
    return view.redirect("/admin/users")


def disable_user(view: View) -> Response:
    """Disable a user: its tokens are revoked and its web sessions ended."""
    username = view.request.path_params["username"]
    if view.user is not None and username == view.user.username:
        raise Refused(400, str(view.gettext("You cannot disable your own account.")))
    try:
        view.node.accounts.disable_user(username)
    except AccountError as error:
        raise Refused(404, str(error)) from None
    view.ui.sessions.end_all(username)
    view.audit("user_disable", details={"username": username})
    return view.redirect("/admin/users")


def unlock_user(view: View) -> Response:
    """Lift the sign-in lock of a user: its failed sign-ins are forgotten (audited)."""
    try:
        view.node.authenticator.unlock(
            view.actor, username=view.request.path_params["username"], via="web"
        )
    except AccountError as error:
        raise Refused(404, str(error)) from None
    return view.redirect("/admin/users")


def tokens_page(
    view: View,
    *,
    issued: str | None = None,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The tokens page; ``issued`` is a new secret, shown this once."""
    assert view.user is not None
    every = view.can("tokens:manage_all")
    return view.render(
        "admin/tokens.html",
        status=status,
        tokens=view.node.accounts.list_tokens(None if every else view.user.username),
        every=every,
        usernames=[u.username for u in view.node.accounts.list_users() if not u.disabled]
        if every
        else [view.user.username],
        typed=typed or {"name": "", "username": view.user.username},
        issued=issued,
        problem=problem,
    )


def tokens(view: View) -> Response:
    """The reader's API tokens (everyone's with ``tokens:manage_all``)."""
    return tokens_page(view)


def create_token(view: View) -> Response:
    """Issue a token and show its secret, this once."""
    assert view.user is not None
    typed = {
        "name": view.form.get("name", "").strip(),
        "username": view.form.get("username", view.user.username).strip(),
    }
    if typed["username"] != view.user.username:
        view.require("tokens:manage_all")
    try:
        issued = view.node.accounts.create_token(typed["username"], typed["name"])
    except AccountError as error:
        return tokens_page(view, typed=typed, problem=str(error), status=400)
    view.audit(
        "token_create",
        details={"username": typed["username"], "token_id": issued.info.id, "name": typed["name"]},
    )
    # The only time the secret exists in clear: shown in this answer (never cached), not kept.
    return tokens_page(view, issued=issued.secret)


def revoke_token(view: View) -> Response:
    """Revoke one of one's own tokens (anyone's with ``tokens:manage_all``)."""
    assert view.user is not None
    raw = view.request.path_params["token_id"]
    mine = {token.id for token in view.node.accounts.list_tokens(view.user.username)}
    if not raw.isdigit() or len(raw) > 18:
        raise Refused(404, str(view.gettext("No such token.")))
    token_id = int(raw)
    if token_id not in mine:
        view.require("tokens:manage_all")
    try:
        info = view.node.accounts.revoke_token(token_id)
    except AccountError as error:
        raise Refused(404, str(error)) from None
    view.audit("token_revoke", details={"token_id": token_id, "username": info.username})
    return view.redirect("/admin/tokens")


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/admin/users", users, permission="users:manage"),
        ui.page("/admin/users/add", add_user, methods=("POST",), permission="users:manage"),
        ui.page(
            "/admin/users/{username}/disable",
            disable_user,
            methods=("POST",),
            permission="users:manage",
        ),
        ui.page(
            "/admin/users/{username}/unlock",
            unlock_user,
            methods=("POST",),
            permission="users:manage",
        ),
        ui.page("/admin/tokens", tokens, permission="tokens:manage_own"),
        ui.page(
            "/admin/tokens/create", create_token, methods=("POST",), permission="tokens:manage_own"
        ),
        ui.page(
            "/admin/tokens/{token_id}/revoke",
            revoke_token,
            methods=("POST",),
            permission="tokens:manage_own",
        ),
    ]

"""Administration of the exchange: partner nodes and TAXII collections with their grants."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from diapason.accounts import AccountError
from diapason.exchange.collections import DEFAULT_API_ROOT, CollectionError
from diapason.exchange.pairing import PairingError, invite, join, parse_expiry
from diapason.exchange.partners import PartnerError
from diapason.tls import TlsError, ca_certificates, parse_fingerprint
from diapason.web.ui.core import NavItem, Refused, Ui, View
from diapason.web.ui.i18n import N_

NAV = (
    NavItem(N_("Partners"), "/admin/partners", "partners:manage", 92),
    NavItem(N_("Collections"), "/admin/collections", "collections:manage", 93),
)
PARTNER_FIELDS = ("name", "url", "identity", "account", "ca", "fingerprint", "client_fingerprint")


def partners_page(
    view: View,
    *,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    issued: tuple[str, str] | None = None,
    status: int = 200,
    code: tuple[str, str] | None = None,
    paired: str | None = None,
    pairing_problem: tuple[str, str] | None = None,
) -> Response:
    """The partners page; ``issued`` is (partner, token) and ``code`` (node, pairing code),
    shown this once; ``paired`` the partner a code just added; ``pairing_problem``
    (``invite`` or ``join``, why) a refused pairing form."""
    found = view.node.partners.all()
    own = view.node.own_identities()
    return view.render(
        "admin/partners.html",
        status=status,
        partners=found,
        own_identity=view.node.identity_id,
        unattributed={p.name: view.node.partners.unattributed(p.name, own) for p in found},
        typed=typed or dict.fromkeys(PARTNER_FIELDS, ""),
        problem=problem,
        issued=issued,
        code=code,
        paired=paired,
        pairing_problem=pairing_problem,
    )


def partners(view: View) -> Response:
    """Partners, their sync state, and the form to add one."""
    return partners_page(view)


def add_partner(view: View) -> Response:
    """Add a partner (its account, outbox and inbox), show its token once, run the ledger."""
    typed = {name: view.form.get(name, "").strip() for name in PARTNER_FIELDS}
    token = view.form.get("token", "").strip()
    try:
        partner, issued = view.node.partners.add(
            typed["name"],
            typed["url"],
            token,
            identity_id=typed["identity"] or None,
            account=typed["account"] or None,
            ca_certificates=ca_certificates(typed["ca"]) if typed["ca"] else None,
            fingerprint=parse_fingerprint(typed["fingerprint"]) if typed["fingerprint"] else None,
            insecure=view.form.get("insecure") == "on",
            client_certificate=(
                parse_fingerprint(typed["client_fingerprint"], "client fingerprint")
                if typed["client_fingerprint"]
                else None
            ),
        )
    except (PartnerError, AccountError, CollectionError, TlsError) as error:
        # The token typed is a secret: it is not sent back into the page.
        return partners_page(view, typed=typed, problem=str(error), status=400)
    view.audit("partner_add", details=partner.describe())
    view.node.ledger.run(view.actor)
    return partners_page(view, issued=(partner.name, issued.secret) if issued else None)


# What a pairing form may refuse, said on the page (never with the code or a token).
PAIRING_ERRORS = (PairingError, PartnerError, AccountError, CollectionError, TlsError)


def invite_partner(view: View) -> Response:
    """Make node NAME's account, outbox, inbox and token here; show its pairing code once."""
    name = view.form.get("name", "").strip()
    try:
        invited = invite(
            view.node.partners,
            view.node.settings,
            view.node.identity_id,
            name,
            url=view.form.get("url", "").strip() or None,
            valid_for=parse_expiry(view.form.get("expires", "").strip() or "24h"),
        )
    except PAIRING_ERRORS as error:
        return partners_page(view, pairing_problem=("invite", str(error)), status=400)
    view.audit("token_create", details=invited.audit_details())
    return partners_page(view, code=(name, invited.invitation.encode()))


def join_partner(view: View) -> Response:
    """Add the node whose pairing code was pasted; show the code it needs back, once."""
    try:
        joined = join(
            view.node.partners,
            view.node.settings,
            view.node.identity_id,
            view.form.get("code", ""),
            url=view.form.get("url", "").strip() or None,
            insecure=view.form.get("insecure") == "on",
        )
    except PAIRING_ERRORS as error:
        # The code holds a token: it is not sent back into the page.
        return partners_page(view, pairing_problem=("join", str(error)), status=400)
    partner = joined.partner
    view.audit("partner_add", details={**partner.describe(), "via": "pairing code"})
    if joined.reply is not None:
        view.audit("token_create", details=joined.reply.audit_details())
    view.node.ledger.run(view.actor)
    reply = joined.reply
    return partners_page(
        view,
        paired=partner.name,
        code=(partner.name, reply.invitation.encode()) if reply is not None else None,
    )


def remove_partner(view: View) -> Response:
    """Stop exchanging with a partner: its account is disabled, its ledger kept."""
    name = view.request.path_params["name"]
    try:
        view.node.partners.remove(name)
    except PartnerError as error:
        raise Refused(404, str(error)) from None
    view.audit("partner_remove", details={"name": name})
    return view.redirect("/admin/partners")


def collections_page(
    view: View,
    *,
    typed: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    """The collections page, with a problem and what was typed when a form was refused."""
    found = view.node.collections.all()
    grants = view.node.collections.grants()
    return view.render(
        "admin/collections.html",
        status=status,
        collections=found,
        grants={c.id: [g for g in grants if g.collection_id == c.id] for c in found},
        typed=typed
        or {
            "title": "",
            "alias": "",
            "description": "",
            "collection": "",
            "username": "",
            "access": "read",
        },
        problem=problem,
    )


def collections(view: View) -> Response:
    """TAXII collections with who may read or write them."""
    return collections_page(view)


def add_collection(view: View) -> Response:
    """Add a collection to the default API root."""
    typed = {
        "title": view.form.get("title", "").strip(),
        "alias": view.form.get("alias", "").strip(),
        "description": view.form.get("description", "").strip(),
    }
    try:
        made = view.node.collections.add(
            DEFAULT_API_ROOT,
            typed["title"],
            alias=typed["alias"] or None,
            description=typed["description"] or None,
        )
    except CollectionError as error:
        return collections_page(view, typed=typed, problem=str(error), status=400)
    view.audit(
        "collection_create", details={"id": made.id, "title": made.title, "alias": made.alias}
    )
    return view.redirect("/admin/collections")


def grant(view: View) -> Response:
    """Set what a user or partner account may do in a collection."""
    typed = {
        "collection": view.form.get("collection", "").strip(),
        "username": view.form.get("username", "").strip(),
        "access": view.form.get("access", ""),
    }
    access = {
        "none": (False, False),
        "read": (True, False),
        "write": (False, True),
        "both": (True, True),
    }
    problem = None
    found = next((c for c in view.node.collections.all() if c.id == typed["collection"]), None)
    if found is None:
        problem = str(view.gettext("Choose a collection."))
    elif view.node.accounts.get_user(typed["username"]) is None:
        problem = str(view.gettext("No user named %(name)s.", name=typed["username"]))
    elif typed["access"] not in access:
        problem = str(view.gettext("Choose the access to grant."))
    if problem is not None or found is None:
        return collections_page(view, typed=typed, problem=problem, status=400)
    read, write = access[typed["access"]]
    view.node.collections.grant(found.id, typed["username"], read=read, write=write)
    view.audit(
        "collection_update",
        details={"id": found.id, "grant": typed["username"], "read": read, "write": write},
    )
    return view.redirect("/admin/collections")


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/admin/partners", partners, permission="partners:manage"),
        ui.page(
            "/admin/partners/add", add_partner, methods=("POST",), permission="partners:manage"
        ),
        ui.page(
            "/admin/partners/invite",
            invite_partner,
            methods=("POST",),
            permission="partners:manage",
        ),
        ui.page(
            "/admin/partners/join", join_partner, methods=("POST",), permission="partners:manage"
        ),
        ui.page(
            "/admin/partners/{name}/remove",
            remove_partner,
            methods=("POST",),
            permission="partners:manage",
        ),
        ui.page("/admin/collections", collections, permission="collections:manage"),
        ui.page(
            "/admin/collections/add",
            add_collection,
            methods=("POST",),
            permission="collections:manage",
        ),
        ui.page(
            "/admin/collections/grant", grant, methods=("POST",), permission="collections:manage"
        ),
    ]

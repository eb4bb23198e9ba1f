"""The audit trail: search it, and verify its hash chain."""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import Route

from diapason.audit.log import ACTIONS
from diapason.domain.stix import ID_RE
from diapason.web.ui.core import NavItem, Ui, View
from diapason.web.ui.i18n import N_

NAV = (NavItem(N_("Audit"), "/audit", "audit:read", 80),)
PAGE_SIZE = 100
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
ACTOR_RE = re.compile(r"^[\w:.@-]{1,200}\Z")


def _filters(view: View) -> tuple[dict[str, str], list[str]]:
    typed = {
        name: view.query.get(name, "").strip()
        for name in ("actor", "action", "object", "since", "after")
    }
    problems: list[str] = []
    if typed["actor"] and not ACTOR_RE.match(typed["actor"]):
        problems.append(str(view.gettext("Actor: a name like web:nadia, cli:root or sync.")))
    if typed["action"] and typed["action"] not in ACTIONS:
        problems.append(str(view.gettext("Unknown action.")))
    if typed["object"] and not ID_RE.match(typed["object"]):
        problems.append(str(view.gettext("Object: a STIX id like threat-actor--<uuid>.")))
    if typed["since"] and not DATE_RE.match(typed["since"]):
        problems.append(str(view.gettext("Since: a date, YYYY-MM-DD.")))
    if typed["after"] and (not typed["after"].isdigit() or len(typed["after"]) > 18):
        problems.append(str(view.gettext("The page cursor is not valid; start again.")))
    return typed, problems


def audit_page(view: View, verification: object = None) -> Response:
    """The trail, filtered by the GET parameters; ``verification`` an outcome to show."""
    typed, problems = _filters(view)
    entries = []
    more = None
    if not problems:
        after = int(typed["after"]) if typed["after"] else None
        filtered = any(typed[name] for name in ("actor", "action", "object", "since"))
        if after is None and not filtered:
            # Unfiltered, the trail opens on its latest entries.
            latest = view.node.audit.latest()
            after = max(0, latest.seq - PAGE_SIZE) if latest is not None else 0
        entries = view.node.audit.entries(
            after=after or 0,
            limit=PAGE_SIZE,
            actor=typed["actor"] or None,
            action=typed["action"] or None,
            object_id=typed["object"] or None,
            since=typed["since"] or None,
        )
        if len(entries) == PAGE_SIZE:
            more = {**{k: v for k, v in typed.items() if v}, "after": str(entries[-1].seq)}
    # Reading the trail is itself a consultation, and recorded as one.
    view.audit("consult", details={"page": "audit", "shown": len(entries), **typed})
    return view.render(
        "audit.html",
        status=400 if problems else 200,
        typed=typed,
        problems=problems,
        entries=entries,
        more=more,
        actions=sorted(ACTIONS),
        verification=verification,
    )


def audit_search(view: View) -> Response:
    """The trail, filtered and paged."""
    return audit_page(view)


def audit_verify(view: View) -> Response:
    """Recompute the whole hash chain and show the outcome above the trail."""
    view.require("audit:verify")
    result = view.node.audit.verify()
    view.audit(
        "audit_verify",
        details={"ok": result.ok, "checked": result.checked, "broken_seq": result.broken_seq},
    )
    return audit_page(view, result)


def routes(ui: Ui) -> list[Route]:
    """This module's pages, declared with ``ui.page`` (found by ``build_ui``)."""
    return [
        ui.page("/audit", audit_search, permission="audit:read"),
        ui.page("/audit/verify", audit_verify, methods=("POST",), permission="audit:read"),
    ]

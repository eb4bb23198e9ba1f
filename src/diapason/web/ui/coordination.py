"""What the coordination pages share: the service as the signed-in user, reading form
fields into the service's arguments, and the sub-navigation of the joint mechanism.

The pages call ``diapason.coordinate.Coordination`` as the CLI and the JSON API do, so the
checks (partners, dates, owner rules, conflicts) are the same everywhere; its errors carry
the HTTP status to answer and a one-line message naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from diapason.coordinate import Coordination
from diapason.coordinate.records import CoordinationError
from diapason.web.ui.core import View
from diapason.web.ui.i18n import N_

# The joint mechanism's pages, in the order of the sub-navigation.
SECTIONS = (
    (N_("Groups"), "/coordination"),
    (N_("Meetings"), "/coordination/meetings"),
    (N_("Actions"), "/coordination/actions"),
    (N_("Requests for information"), "/coordination/requests"),
    (N_("Indicators"), "/coordination/indicators"),
    (N_("Opinions and convergence"), "/coordination/opinions"),
    (N_("Conflicts"), "/coordination/conflicts"),
)


def service(view: View) -> Coordination:
    """The joint mechanism as the signed-in user (audited as ``web:USERNAME``), at the
    time of the interface's clock."""
    assert view.user is not None
    return view.node.coordination(actor=view.actor, editor=view.user.username, clock=view.ui.clock)


def typed_fields(view: View, names: tuple[str, ...]) -> dict[str, str]:
    """The form's fields, stripped, as typed (what a refused form shows again)."""
    return {name: view.form.get(name, "").strip() for name in names}


def lines(text: str) -> list[str]:
    """One entry per non-empty line of a text area."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def ids(text: str) -> list[str]:
    """STIX ids separated by spaces, commas or lines."""
    return [part for part in text.replace(",", " ").split() if part]


def attempt(
    write: Callable[[], Any],
    on_refusal: Callable[[str, int], Response],
    on_success: Callable[[Any], Response],
) -> Response:
    """Run a write of the service; a refusal re-renders the page (with what was typed)
    with the service's one-line reason and status, never a 500."""
    try:
        written = write()
    except CoordinationError as error:
        return on_refusal(str(error), error.status)
    return on_success(written)


class Loose(dict[str, Any]):
    """A record as a template reads it: an optional field that is absent reads as None
    (items come from partners too, and their optional fields vary)."""

    def __missing__(self, key: str) -> None:
        return None


def loose(value: Any) -> Any:
    """``value`` with every dict in it made ``Loose`` (lists and dicts walked)."""
    if isinstance(value, dict) and not isinstance(value, Loose):
        return Loose({key: loose(item) for key, item in value.items()})
    if isinstance(value, list):
        return [loose(item) for item in value]
    return value


def context(view: View, **values: Any) -> dict[str, Any]:
    """What every coordination template gets: the sub-navigation, the sides, and the
    page's own values (records ``Loose``)."""
    here = view.request.url.path
    sections = [
        (
            str(view.gettext(label)),
            path,
            here == path or (path != "/coordination" and here.startswith(path)),
        )
        for label, path in SECTIONS
    ]
    sides = [view.node.settings.node_name, *(p.name for p in view.node.partners.all())]
    shown = {key: loose(value) for key, value in values.items()}
    return {"sections": sections, "sides": sides, **shown}

"""The coordination pages over real HTTP (SQLite and PostgreSQL): groups, a meeting with its
decisions and an action item, overdue actions, requests for information made, answered and
closed with their statistics, indicators, opinions and convergence, a conflict shown and
resolved; refused forms keep what was typed; roles."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from diapason.coordinate.meetings import moment
from diapason.domain.coordination import RFI_TYPE
from diapason.domain.extensions import COORDINATION_EXTENSION_IDS, TLP_2_0_IDS
from diapason.domain.stix import new_id
from diapason.domain.timestamps import stix_timestamp
from diapason.node import Node
from tests.builders import sdo
from tests.clock import NOW, day
from tests.web.conftest import Site
from tests.web.objects import SCRIPT
from tests.web.site import PASSWORD, WebClient, put, text_of

PARIS_IDENTITY = "identity--0b6cf3f5-8a2e-4f43-9a5b-1f6f0f9c2d11"
SOON = day(20)  # twenty days after tests.clock.NOW, where the site's clock starts


@pytest.fixture
def joint(site: Site) -> Site:
    """The site's node with partner paris (not running: nothing here needs it)."""
    site.node.partners.add("paris", "http://127.0.0.1:9", "unused", identity_id=PARIS_IDENTITY)
    return site


def make_group(client: WebClient) -> str:
    answer = client.post(
        "/coordination/groups",
        {"name": "GMMP", "kind": "gmmp", "partners": "rabat, paris", "description": "Migration"},
        page="/coordination",
    )
    assert answer.status_code == 303, text_of(answer.text)[:400]
    found = re.search(r"group=(x-diapason-group--[0-9a-f-]{36})", client.get("/coordination").text)
    assert found is not None
    return found.group(1)


def make_meeting(client: WebClient, group: str) -> str:
    answer = client.post(
        "/coordination/meetings",
        {
            "group_ref": group,
            "title": "GMMP plenary",
            "kind": "plenary",
            "start": SOON,
            "place": "Rabat",
            "status": "planned",
            "agenda": "Returns\nSmuggling networks",
        },
        page="/coordination/meetings",
    )
    assert answer.status_code == 303, text_of(answer.text)[:400]
    return str(answer.headers["location"])


def partner_request(node: Node, deadline: str) -> dict[str, Any]:
    """A request from paris to rabat, stored as the sync agent stores a partner's object."""
    stamp = stix_timestamp(NOW)  # the sites' clocks start there
    obj: dict[str, Any] = {
        "type": RFI_TYPE,
        "spec_version": "2.1",
        "id": new_id(RFI_TYPE),
        "created": stamp,
        "modified": stamp,
        "created_by_ref": PARIS_IDENTITY,
        "title": f"Réseau de Nador {SCRIPT}",
        "question": "Quels relais ?",
        "priority": "high",
        "deadline": moment(deadline, "deadline"),
        "requester": "paris",
        "addressed_to": "rabat",
        "status": "open",
        "object_marking_refs": [TLP_2_0_IDS["green"]],
        "extensions": {COORDINATION_EXTENSION_IDS[RFI_TYPE]: {"extension_type": "new-sdo"}},
    }
    put(node, obj, source="partner:paris")
    return obj


def test_group_meeting_decisions_and_an_action(joint: Site, admin: WebClient) -> None:
    group = make_group(admin)
    assert "GMMP" in admin.get("/coordination").text
    path = make_meeting(admin, group)
    page = admin.get(path).text
    assert "GMMP plenary" in page and "Smuggling networks" in page
    based_on = re.search(r'name="based_on" value="([^"]+)"', page)
    assert based_on is not None
    recorded = admin.post(
        f"{path}/record",
        {
            "status": "held",
            "decisions": "Exchange liaison officers\nMeet again in June",
            "minutes": "Both delegations …",
            "based_on": based_on.group(1),
        },
        page=path,
    )
    assert recorded.status_code == 303
    action = admin.post(
        f"{path}/actions",
        {
            "title": "Name the liaison officers",
            "owner": "paris",
            "assignee": "DGEF",
            "due": SOON,
            "description": "",
        },
        page=path,
    )
    assert action.status_code == 303
    page = admin.get(path).text
    assert "Exchange liaison officers" in page and "Name the liaison officers" in page
    assert "held" in page
    # The action's own statuses on its status form, its own status chosen.
    assert '<option value="open" selected>to do</option>' in page
    assert '<option value="in-progress">' in page
    minutes = admin.get(f"{path}/minutes.md")
    assert minutes.headers["content-type"].startswith("text/markdown")
    assert "Name the liaison officers" in minutes.text
    assert admin.get(f"{path}/other.md").status_code == 404
    listed = admin.get("/coordination/actions").text
    assert "Name the liaison officers" in listed and "overdue by" not in listed


def test_refused_forms_keep_what_was_typed(joint: Site, admin: WebClient) -> None:
    bad_group = admin.post(
        "/coordination/groups",
        {"name": "Working group <b>", "kind": "gmmp", "partners": "rabat, lisbon"},
        page="/coordination",
    )
    assert bad_group.status_code == 400 and "'lisbon' is not a known partner" in text_of(
        bad_group.text
    )
    assert 'value="Working group &lt;b&gt;"' in bad_group.text
    group = make_group(admin)
    bad_meeting = admin.post(
        "/coordination/meetings",
        {
            "group_ref": group,
            "title": "Plenary",
            "kind": "plenary",
            "start": "2026-13-40",
            "place": "Paris",
            "agenda": "Item one",
        },
        page="/coordination/meetings",
    )
    assert bad_meeting.status_code == 400 and "is not a real date" in bad_meeting.text
    assert "Item one</textarea>" in bad_meeting.text and 'value="Paris"' in bad_meeting.text
    past = admin.post(
        "/coordination/actions",
        {"title": "Too late", "owner": "rabat", "due": "2020-01-01"},
        page="/coordination/actions",
    )
    assert past.status_code == 400 and 'value="Too late"' in past.text
    path = make_meeting(admin, group)
    late_action = admin.post(
        f"{path}/actions", {"title": "Backdated", "owner": "rabat", "due": "2020-01-01"}, page=path
    )
    assert late_action.status_code == 400 and 'value="Backdated"' in late_action.text
    request = admin.post(
        "/coordination/requests",
        {
            "title": "Routes",
            "question": "Which routes?",
            "addressed_to": "paris",
            "deadline": "2020-01-01",
            "priority": "high",
        },
        page="/coordination/requests",
    )
    assert request.status_code == 400 and "Which routes?</textarea>" in request.text
    figure = admin.post(
        "/coordination/indicators",
        {
            "indicator": "assisted-voluntary-returns",
            "month": "2024-03",
            "value": "-4",
            "comment": "call nadia@example.org",
        },
        page="/coordination/indicators",
    )
    assert figure.status_code == 400 and 'value="-4"' in figure.text
    opinion = admin.post(
        "/coordination/opinions",
        {
            "object_refs": "report--00000000-0000-4000-8000-000000000000",
            "opinion": "agree",
            "topic": "sahel",
        },
        page="/coordination/opinions",
    )
    assert opinion.status_code in (400, 404) and 'value="sahel"' in opinion.text


def test_requests_made_answered_closed_and_counted(joint: Site, admin: WebClient) -> None:
    made = admin.post(
        "/coordination/requests",
        {
            "title": "Boats seized",
            "question": "How many boats in March?",
            "addressed_to": "paris",
            "deadline": SOON,
            "priority": "high",
        },
        page="/coordination/requests",
    )
    assert made.status_code == 303
    ours = made.headers["location"]
    page = admin.get(ours).text
    # Asked here: no answer form (only paris answers), a close form.
    assert "/answers" not in page and "/close" in page
    theirs = partner_request(joint.node, SOON)
    path = f"/coordination/requests/{theirs['id']}"
    page = admin.get(path).text
    assert "&lt;script&gt;" in page and "<script>window" not in page
    assert "/answers" in page and "/close" not in page
    empty = admin.post(f"{path}/answers", {"text": "  ", "provided": ""}, page=path)
    assert empty.status_code == 400
    answered = admin.post(
        f"{path}/answers", {"text": "Three relays in Nador.", "provided": ""}, page=path
    )
    assert answered.status_code == 303
    page = admin.get(path).text
    assert "Three relays in Nador." in page and "answered" in page
    closed = admin.post(
        f"{ours}/close", {"status": "closed", "note": "no longer needed"}, page=ours
    )
    assert closed.status_code == 303
    listing = admin.get("/coordination/requests").text
    assert "Boats seized" in listing and "closed" in listing
    stats = listing.split('id="stats-h"')[1]
    assert "<td>rabat</td><td>1</td><td>1</td>" in stats
    assert "<td>100 %</td>" in stats
    dashboard = admin.get("/").text
    assert "Open requests for information" in dashboard
    assert f"/coordination/requests/{theirs['id']}" in dashboard
    assert "Boats seized" not in dashboard  # closed
    assert admin.get("/coordination/requests", state="answered").text.count("<tr>") >= 2


def test_overdue_actions_are_flagged_and_on_the_dashboard(joint: Site, admin: WebClient) -> None:
    earlier = joint.clock() - timedelta(days=30)
    past = joint.node.coordination(actor="tests", editor="nadia", clock=lambda: earlier)
    past.create_action("Send the list of returns", "rabat", day(5, earlier))
    listed = admin.get("/coordination/actions", overdue="1").text
    assert "Send the list of returns" in listed and "overdue by 25 days" in listed
    dashboard = admin.get("/").text
    assert "Send the list of returns" in dashboard and "overdue by 25 days" in dashboard
    # Marking it done ends the flag.
    action_id = re.search(
        r"/coordination/actions/(x-diapason-action--[0-9a-f-]{36})/status", listed
    )
    revision = re.search(r'name="based_on" value="([^"]+)"', listed)
    assert action_id is not None and revision is not None
    done = admin.post(
        f"/coordination/actions/{action_id.group(1)}/status",
        {"status": "done", "based_on": revision.group(1)},
        page="/coordination/actions",
    )
    assert done.status_code == 303
    assert "Send the list of returns" not in admin.get("/").text


def test_indicators_chart_and_figures(joint: Site, admin: WebClient) -> None:
    page = admin.get("/coordination/indicators")
    assert page.status_code == 200 and "<svg" in page.text
    code = re.search(r'<option value="([a-z-]+)" selected>', page.text)
    assert code is not None
    entered = admin.post(
        "/coordination/indicators",
        {"indicator": code.group(1), "month": "2024-03", "value": "412", "comment": ""},
        page="/coordination/indicators",
    )
    assert entered.status_code == 303
    again = admin.post(
        "/coordination/indicators",
        {"indicator": code.group(1), "month": "2024-03", "value": "415"},
        page="/coordination/indicators",
    )
    assert again.status_code == 400 and "correct" in again.text
    corrected = admin.post(
        "/coordination/indicators",
        {"indicator": code.group(1), "month": "2024-03", "value": "415", "reason": "late report"},
        page="/coordination/indicators",
    )
    assert corrected.status_code == 303
    shown = admin.get("/coordination/indicators", indicator=code.group(1)).text
    assert "412 → 415: late report" in shown and "<rect" in shown
    assert admin.get("/coordination/indicators", indicator="nothing").status_code == 404


def test_opinions_and_convergence(joint: Site, admin: WebClient) -> None:
    assessment = sdo(
        "report",
        name="Sahel outlook",
        published="2024-03-01T00:00:00Z",
        object_refs=[PARIS_IDENTITY],
        created_by_ref=PARIS_IDENTITY,
        object_marking_refs=[TLP_2_0_IDS["green"]],
    )
    put(joint.node, assessment, source="partner:paris")
    recorded = admin.post(
        "/coordination/opinions",
        {
            "object_refs": assessment["id"],
            "opinion": "strongly-agree",
            "topic": "Sahel",
            "explanation": "Same reading",
        },
        page="/coordination/opinions",
    )
    assert recorded.status_code == 303, text_of(recorded.text)[:300]
    page = admin.get("/coordination/opinions").text
    assert "Same reading" in page and "<meter" in page and "meet" in page
    assert admin.get("/coordination/opinions", period="year").status_code == 200


def test_a_conflict_is_shown_with_both_sides_and_resolved(joint: Site, admin: WebClient) -> None:
    path = make_meeting(admin, make_group(admin))
    page = admin.get(path).text
    based_on = re.search(r'name="based_on" value="([^"]+)"', page)
    assert based_on is not None
    for place_minutes in ("First account", "Second account"):
        answer = admin.post(
            f"{path}/record",
            {
                "status": "held",
                "decisions": "",
                "minutes": place_minutes,
                "based_on": based_on.group(1),
            },
            page=path,
        )
        assert answer.status_code == 303
    assert "edited on both sides at once" in admin.get(path).text
    conflicts = admin.get("/coordination/conflicts").text
    assert "First account" in conflicts and "Second account" in conflicts
    assert 'name="take:minutes"' in conflicts
    item = path.rsplit("/", 1)[1]
    unchosen = admin.post(
        f"/coordination/conflicts/{item}/resolve", {"note": "kept"}, page="/coordination/conflicts"
    )
    assert unchosen.status_code == 400 and "Choose one side" in unchosen.text
    assert 'value="kept"' in unchosen.text
    heads = re.findall(r'name="take:minutes" value="([^"]+)"', conflicts)
    resolved = admin.post(
        f"/coordination/conflicts/{item}/resolve",
        {"take:minutes": heads[1], "note": "second is right"},
        page="/coordination/conflicts",
    )
    assert resolved.status_code == 303
    assert "No conflict." in admin.get("/coordination/conflicts").text
    page = admin.get(path).text
    assert "edited on both sides" not in page and "Second account" in page


def test_roles_on_coordination(joint: Site, admin: WebClient) -> None:
    make_group(admin)
    joint.node.accounts.add_user("vera", "viewer", PASSWORD)
    joint.node.accounts.add_user("otto", "auditor", PASSWORD)
    viewer = joint.client()
    viewer.login("vera")
    for path in (
        "/coordination",
        "/coordination/meetings",
        "/coordination/actions",
        "/coordination/requests",
        "/coordination/indicators",
        "/coordination/opinions",
        "/coordination/conflicts",
    ):
        page = viewer.get(path)
        assert page.status_code == 200, path
        assert 'method="post" action="/coordination' not in page.text, path
    refused = viewer.post(
        "/coordination/groups",
        {"name": "X", "kind": "gmmp", "partners": "rabat"},
        page="/coordination",
    )
    assert refused.status_code == 403
    auditor = joint.client()
    auditor.login("otto")
    assert auditor.get("/coordination").status_code == 403
    assert "Coordination" not in auditor.get("/audit").text.split("</nav>")[0]
    missing = admin.get(
        "/coordination/meetings/x-diapason-meeting--00000000-0000-4000-8000-000000000000"
    )
    assert missing.status_code == 404
    assert admin.get("/coordination/requests/nothing").status_code in (400, 404)

"""Data-protection metadata added where a person record is met: ``diapason protect`` (one
record, in bulk, refusals named), the form of the person's page, and the OSINT article
page's one action confirming what ingest proposed for every person of the article."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from diapason.domain.extensions import PROTECTION_EXTENSION_ID, TLP_2_0_IDS
from diapason.domain.grading import mark_osint
from diapason.domain.protection import PROPOSAL_PROPERTY, protection_of
from diapason.node import Node
from tests.builders import sdo
from tests.shared import SEED
from tests.web.conftest import Site
from tests.web.objects import actor
from tests.web.site import WebClient, put, text_of
from tests.web.test_osint_pages import ingest

PARTNER_IDENTITY = "identity--0b1c8f7e-2a4d-4e6f-8a9b-111111111111"


def unprotected(node: Node, name: str, author: str | None = None) -> dict[str, Any]:
    """An individual's identity created by ``author`` (default: this node), without
    data-protection metadata."""
    return mark_osint(
        sdo(
            "identity",
            name=name,
            identity_class="individual",
            created_by_ref=author or node.identity_id,
            object_marking_refs=[TLP_2_0_IDS["green"]],
        )
    )


def cli(node: Node, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env["DIAPASON_DATABASE_URL"] = node.settings.database_url.reveal()
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args, "--data", str(node.settings.data_dir)],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def audit_of(node: Node, action: str) -> list[tuple[list[str], dict[str, Any]]]:
    entries = node.audit.entries(action=action, limit=1000)
    return [(list(entry.object_ids), entry.details) for entry in entries]


@pytest.mark.slow
def test_protect_one_record_then_many_in_bulk(site: Site, tmp_path: Path) -> None:
    node = site.node
    one, two, three = (unprotected(node, name) for name in ("Karim B.", "Leila C.", "Omar D."))
    put(node, one, two, three)
    done = cli(
        node,
        "protect",
        one["id"],
        "--category",
        "victim",
        "--review-by",
        "2099-01-31",
        "--legal-basis",
        "Loi 09-08, art. 4",
        "--purpose",
        "enquête 12/2025",
        "--nature",
        "fact",
    )
    assert done.returncode == 0, done.stderr
    assert f"{one['id']}: protected" in done.stdout
    versions = node.store.versions(one["id"])
    assert len(versions) == 2
    new = versions[-1].object
    assert new["modified"] > one["modified"] and new["created"] == one["created"]
    protection = protection_of(new)
    assert protection is not None
    assert (protection.category.value, protection.review_by) == ("victim", date(2099, 1, 31))
    assert (protection.legal_basis, protection.purpose) == ("Loi 09-08, art. 4", "enquête 12/2025")
    entries = audit_of(node, "protect")
    assert entries[-1][0] == [one["id"]]
    assert entries[-1][1]["records"][one["id"]]["category"] == "victim"

    # In bulk: ids as arguments and from a file (comments and blank lines skipped).
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# persons of case 12\n\n{three['id']}\n", encoding="utf-8")
    done = cli(
        node,
        "protect",
        two["id"],
        "--ids-from",
        str(listing),
        "--category",
        "witness",
        "--review-by",
        "2099-06-30",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert set(orjson.loads(done.stdout)["protected"]) == {two["id"], three["id"]}
    entries = audit_of(node, "protect")
    assert sorted(entries[-1][0]) == sorted([two["id"], three["id"]])
    for record in (two, three):
        stored = node.store.get(record["id"])
        assert stored is not None
        found = protection_of(stored.object)
        assert found is not None and found.category.value == "witness"


@pytest.mark.slow
def test_protect_refuses_with_precise_messages_and_writes_nothing(site: Site) -> None:
    node = site.node
    ours = unprotected(node, "Karim B.")
    theirs = unprotected(node, "Jean P.", author=PARTNER_IDENTITY)
    group = actor()
    put(node, ours, group)
    put(node, theirs, source="partner:paris")
    before = len(audit_of(node, "protect"))

    def refused(*args: str, code: int = 1) -> str:
        done = cli(node, "protect", *args)
        assert done.returncode == code, done.stdout
        assert "Traceback" not in done.stderr
        return done.stderr

    dates = ("--category", "suspect", "--review-by", "2099-01-01")
    message = refused(ours["id"], theirs["id"], *dates)
    assert "nothing protected" in message
    assert (
        f"{theirs['id']}: created by partner paris, not by this node; only its originator "
        "may version it" in message
    )
    assert ours["id"] not in message  # ours was fine, but nothing is written
    assert f"{group['id']}: not a record about a person" in refused(group["id"], *dates)
    missing = "identity--00000000-0000-4000-8000-000000000000"
    assert f"{missing}: no such object on this node" in refused(missing, *dates)
    assert "category: 'boss' is not one of suspect" in refused(
        ours["id"], "--category", "boss", "--review-by", "2099-01-01"
    )
    assert "review-by: '31/01/2099' is not a date (YYYY-MM-DD)" in refused(
        ours["id"], "--category", "suspect", "--review-by", "31/01/2099"
    )
    assert "give the ids" in refused(*dates, code=2)  # a usage error
    assert len(node.store.versions(ours["id"])) == 1
    assert len(audit_of(node, "protect")) == before


def test_the_person_page_form_records_the_metadata(site: Site, admin: WebClient) -> None:
    node = site.node
    record = unprotected(node, "Karim B.")
    put(node, record)
    path = f"/objects/{record['id']}"
    page = admin.post(path, {"reason": "case 12"}, page=path)
    assert page.status_code == 200
    assert 'action="/objects/' in page.text and "/protect" in page.text
    form = {"reason": "case 12", "review_by": "2099-03-01", "legal_basis": "Loi 09-08"}
    # A bad date: refused, what was typed kept, nothing written.
    answer = admin.post(
        f"{path}/protect", {**form, "category": "suspect", "review_by": "demain"}, page=path
    )
    assert answer.status_code == 400
    assert "is not a date (YYYY-MM-DD)" in text_of(answer.text)
    assert 'value="Loi 09-08"' in answer.text
    assert len(node.store.versions(record["id"])) == 1
    answer = admin.post(f"{path}/protect", {**form, "category": "contact"}, page=path)
    assert answer.status_code == 200, answer.text
    assert "Data-protection metadata recorded" in answer.text
    stored = node.store.get(record["id"])
    assert stored is not None
    found = protection_of(stored.object)
    assert found is not None and found.category.value == "contact"
    assert audit_of(node, "protect")[-1][0] == [record["id"]]
    # In French too.
    page = admin.post(path, {"reason": "dossier 12"}, page=path)
    assert page.status_code == 200


def test_a_partners_person_has_no_form(site: Site, admin: WebClient) -> None:
    node = site.node
    theirs = unprotected(node, "Jean P.", author=PARTNER_IDENTITY)
    put(node, theirs, source="partner:paris")
    path = f"/objects/{theirs['id']}"
    page = admin.post(path, {"reason": "case 12"}, page=path)
    assert page.status_code == 200
    assert "/protect" not in page.text
    refused = admin.post(
        f"{path}/protect",
        {"reason": "x", "category": "suspect", "review_by": "2099-01-01"},
        page=path,
    )
    assert refused.status_code == 400
    assert "created by partner paris" in text_of(refused.text)


def test_the_article_page_confirms_every_persons_proposal(site: Site, admin: WebClient) -> None:
    node = site.node
    location = ingest(admin, SEED.read_text("utf-8"), "seed")
    report_id = location.split("/")[-1].split("?")[0]
    report = node.store.get(report_id)
    assert report is not None
    persons = [
        stored.object
        for ref in report.object["object_refs"]
        if (stored := node.store.get(ref)) is not None
        and stored.object.get("identity_class") == "individual"
    ]
    assert len(persons) >= 4
    for obj in persons:
        assert PROTECTION_EXTENSION_ID not in (obj.get("extensions") or {})
        assert obj[PROPOSAL_PROPERTY]["data_subject_category"] == "other"
    page = admin.get(location.split("?")[0])
    assert "Confirm the proposed metadata for every person" in page.text
    answer = admin.post(f"/osint/articles/{report_id}/persons", {}, page=location.split("?")[0])
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?status=protected")
    for obj in persons:
        stored = node.store.get(obj["id"])
        assert stored is not None
        found = protection_of(stored.object)
        assert found is not None and found.category.value == "other"
        assert found.review_by.isoformat() == obj[PROPOSAL_PROPERTY]["review_by"]
        assert PROPOSAL_PROPERTY not in stored.object
    ids, details = audit_of(node, "protect")[-1]
    assert sorted(ids) == sorted(obj["id"] for obj in persons)
    assert details["article"] == report_id
    # Nothing left to confirm: the action says so.
    again = admin.post(f"/osint/articles/{report_id}/persons", {}, page=location.split("?")[0])
    assert again.status_code == 400
    assert "No person of this article awaits confirmation." in again.text

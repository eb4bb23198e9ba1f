"""Every path that can return a record about a person is audited as a personal-data
consultation (or disclosure): the web page, TAXII, the CLI's show and export. The joint
mechanism's JSON API returns its own records only, never one about a person."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import orjson

from diapason.exchange.protocol import TAXII
from tests.web.conftest import Site
from tests.web.objects import person
from tests.web.site import WebClient


def _cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAPASON_")}
    env["DIAPASON_DATABASE_URL"] = site.node.settings.database_url.reveal()
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args, "--data", str(site.node.settings.data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_every_path_that_returns_a_person_is_audited_as_personal_data(
    site: Site, admin: WebClient
) -> None:
    record = person()
    token = site.node.accounts.create_token("admin", "tests").secret
    headers = {"Accept": TAXII, "Authorization": f"Bearer {token}"}
    root = site.node.collections.ensure_default(site.node.settings.node_name)
    collection = site.node.collections.add(root.name, "Tests", alias="tests")
    objects = f"{site.url}/taxii2/{root.name}/collections/{collection.id}/objects/"
    posted = httpx.post(
        objects,
        content=orjson.dumps({"objects": [record]}),
        headers={**headers, "Content-Type": TAXII},
    )
    assert posted.status_code == 202 and posted.json()["success_count"] == 1, posted.text
    start = site.node.audit.latest()
    assert start is not None

    # The web page asks for a reason first.
    path = f"/objects/{record['id']}"
    assert admin.post(path, {"reason": "case 1"}, page=path).status_code == 200
    # TAXII: a listing and one object, with and without a reason header.
    found = httpx.get(objects, headers={**headers, "X-Diapason-Reason": "case 2"}).json()
    assert record["id"] in {obj["id"] for obj in found["objects"]}
    one = httpx.get(f"{objects}{record['id']}/", headers=headers).json()
    assert [obj["id"] for obj in one["objects"]] == [record["id"]]
    # The CLI.
    shown = _cli(site, "show", record["id"], "--reason", "case 3", "--json")
    assert shown.returncode == 0 and "Ahmed Exemple" in shown.stdout, shown.stderr
    exported = _cli(site, "export", "--type", "identity", "--reason", "case 4")
    assert exported.returncode == 0 and "Ahmed Exemple" in exported.stdout, exported.stderr
    # The JSON API holds the joint mechanism's records only.
    api = httpx.get(
        f"{site.url}/api/v1/coordinate/items/{record['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code in (400, 404) and "Ahmed" not in api.text

    entries = site.node.audit.entries(after=start.seq, limit=1000)
    returned: list[tuple[str, Any, str | None]] = [
        (
            entry.action,
            entry.details.get("taxii") or entry.details.get("page") or "cli",
            entry.reason,
        )
        for entry in entries
        if record["id"] in entry.object_ids
    ]
    assert [(action, reason) for action, _, reason in returned] == [
        ("consult", "case 1"),
        ("consult", "case 2"),
        ("consult", None),
        ("consult", "case 3"),
        ("export", "case 4"),
    ], returned
    for entry in entries:
        if record["id"] in entry.object_ids:
            assert entry.details["personal_data"] is True, entry

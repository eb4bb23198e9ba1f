"""The seed article ingested on rabat, as paris sees it (two real nodes, each a ``diapason
serve`` process, synced with ``diapason sync``): before the persons are protected, paris
holds the report and shows each person it refers to as "not shared with you by rabat"
(never a bare id), and none of the relationships naming them; once an analyst on rabat
confirms the proposed metadata, the persons and those relationships reach paris and its
pages show the names."""

from __future__ import annotations

import re

import pytest

from tests.exchange.nodes import FedNode
from tests.shared import SEED
from tests.web.site import WebClient, text_of

pytestmark = pytest.mark.slow


def shown(client: WebClient, object_id: str) -> str:
    """The visible text of an object's page before its STIX content."""
    html = client.get(f"/objects/{object_id}").text
    return text_of(html.split('<pre class="json"', 1)[0])


def test_persons_of_the_seed_reach_paris_once_protected(
    two_nodes: tuple[FedNode, FedNode],
) -> None:
    rabat, paris = two_nodes
    result = rabat.node.ingestor("tests").ingest_text(SEED.read_text("utf-8"), origin="seed")
    assert result.status == "written" and result.report_id is not None
    report = rabat.node.store.get(result.report_id)
    assert report is not None
    persons = {
        ref: stored.object
        for ref in report.object["object_refs"]
        if (stored := rabat.node.store.get(ref)) is not None
        and stored.object.get("identity_class") == "individual"
    }
    assert len(persons) >= 4
    links = [
        obj
        for ref in report.object["object_refs"]
        if (obj := (rabat.node.store.get(ref) or report).object)["type"] == "relationship"
        and {obj["source_ref"], obj["target_ref"]} & set(persons)
    ]
    assert links
    rabat.node.ledger.run("tests")
    rabat.start()
    paris.start()
    assert paris.cli_json("sync")["partners"][0]["status"] == "ok"
    held = {object_id for object_id, _, _ in paris.versions("partner:rabat")}
    assert result.report_id in held
    assert not set(persons) & held
    assert not {link["id"] for link in links} & held
    codes = {d.code for link in links for d in rabat.node.ledger.decisions(link["id"])}
    assert codes == {"end-withheld"}

    client = WebClient.at(paris.url)
    french = WebClient.at(paris.url, **{"Accept-Language": "fr"})
    try:
        for web in (client, french):
            assert web.login().status_code == 303
        page = shown(client, result.report_id)
        assert page.count("not shared with you by rabat") >= len(persons)
        for person_id in persons:  # no bare id (the STIX content aside)
            assert person_id.partition("--")[2][:8] not in page
        assert "non communiqué par rabat" in text_of(
            french.get(f"/objects/{result.report_id}").text
        )

        # An analyst on rabat confirms the proposals for every person of the article.
        rabat.node.persons("tests").confirm_proposals(
            list(persons), rabat.node.proposed_metadata(), details={"article": result.report_id}
        )
        run = rabat.node.ledger.run("tests")
        assert run.released["paris"] >= len(persons) + len(links)
        assert paris.cli_json("sync")["partners"][0]["status"] == "ok"
        held = {object_id for object_id, _, _ in paris.versions("partner:rabat")}
        assert set(persons) <= held
        assert {link["id"] for link in links} <= held
        page = shown(client, result.report_id)
        assert "not shared with you by rabat" not in page
        names = [str(obj["name"]) for obj in persons.values()]
        assert all(re.search(re.escape(name[:20]), page) for name in names), names
    finally:
        client.close()
        french.close()

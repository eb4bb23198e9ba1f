"""A MISP event imported, exported back with ``diapason export --format misp``, and
compared: what survives the round trip (docs/misp.md says what does not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from diapason.domain.extensions import TLP_2_0_IDS
from diapason.exchange.misp import Organisation, event_to_stix, misp_events, stix_to_misp
from diapason.node import init_node
from diapason.settings import load_settings
from tests.builders import PERSON, sdo
from tests.misp.events import ORGC, ORGC_IDENTITY, phishing_event, uuid_of
from tests.misp.test_import import diapason, node_folder, stored  # noqa: F401  (a fixture)


def attributes(event: dict[str, Any]) -> dict[str, tuple[str, str, set[str]]]:
    """Each attribute by uuid: type, value, tag names."""
    return {
        a["uuid"]: (a["type"], a["value"], {t["name"] for t in a.get("Tag", [])})
        for a in event.get("Attribute", [])
    }


def objects(event: dict[str, Any]) -> dict[str, tuple[str, set[tuple[str, str]]]]:
    """Each MISP object by uuid: its name and (relation, value) pairs."""
    return {
        o["uuid"]: (o["name"], {(a["object_relation"], a["value"]) for a in o["Attribute"]})
        for o in event.get("Object", [])
    }


def tags(event: dict[str, Any]) -> set[str]:
    return {tag["name"] for tag in event.get("Tag", [])}


@pytest.mark.slow
def test_an_event_survives_import_and_export(node_folder: Path, tmp_path: Path) -> None:  # noqa: F811
    original = phishing_event(
        tags=(
            "tlp:green",
            'admiralty-scale:source-reliability="b"',
            'admiralty-scale:information-credibility="2"',
        )
    )["Event"]
    source = tmp_path / "event.json"
    source.write_bytes(orjson.dumps({"Event": original}))
    assert diapason(node_folder, "import", str(source)).returncode == 0
    out = tmp_path / "out.json"
    done = diapason(node_folder, "export", "--format", "misp", "-o", str(out))
    assert done.returncode == 0, done.stderr
    exported = orjson.loads(out.read_bytes())["Event"]

    # The event: its uuid, title, date, creator and last change.
    assert exported["uuid"] == original["uuid"]
    assert exported["info"] == original["info"]
    assert exported["date"] == "2026-03-01"
    assert exported["timestamp"] == original["timestamp"]
    assert exported["Orgc"] == {"name": ORGC["name"], "uuid": ORGC["uuid"]}
    # Its tags: TLP, PAP, the free tag and the grading come back as they were.
    assert tags(original) <= tags(exported)
    # Attributes: same uuids, types and values; tlp:red where it was, and on the one that
    # was for the organisation only (distribution 0 is TLP:RED in Diapason).
    before, after = attributes(original), attributes(exported)
    assert {k: v[:2] for k, v in before.items()} == {k: v[:2] for k, v in after.items()}
    assert after[uuid_of(0xA2)][2] == {"tlp:red"}
    assert after[uuid_of(0xC2)][2] == {"tlp:red"}
    # The file object and its attributes.
    assert objects(original) == objects(exported)
    # The galaxy cluster.
    clusters = {
        cluster["value"]
        for galaxy in exported.get("Galaxy", [])
        for cluster in galaxy.get("GalaxyCluster", [])
    }
    assert "APT28" in clusters
    # The export is audited as an export, in MISP format.
    assert exported["distribution"] == "0"

    # What was exported imports into another node as the same STIX objects (their ids
    # keep the MISP uuids); all of it RED there, as the export was for one organisation.
    second = tmp_path / "second"
    init_node(load_settings(second, environ={}), "tests")[0].close()
    again = diapason(second, "import", str(out), "--json")
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["refused"] == 0
    kinds = ("report", "indicator", "observed-data", "threat-actor", "file", "ipv4-addr")
    first_ids = {key for key in stored(node_folder) if key.split("--")[0] in kinds}
    second_held = stored(second)
    assert first_ids <= set(second_held)
    assert TLP_2_0_IDS["red"] in second_held[f"report--{original['uuid']}"]["object_marking_refs"]


@pytest.mark.slow
def test_misp_export_follows_the_persons_rule_and_is_audited(
    node_folder: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    source = tmp_path / "event.json"
    source.write_bytes(orjson.dumps(phishing_event()))
    person = tmp_path / "person.json"
    person.write_bytes(
        orjson.dumps({"type": "bundle", "id": "bundle--" + uuid_of(0x99), "objects": [PERSON]})
    )
    assert diapason(node_folder, "import", str(source), str(person)).returncode == 0

    out = tmp_path / "out.json"
    done = diapason(node_folder, "export", "--format", "misp", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 record about persons left out" in done.stderr
    assert PERSON["name"] not in out.read_text()

    listed = diapason(node_folder, "audit", "list", "--json", "--action", "export")
    (entry,) = orjson.loads(listed.stdout)
    assert entry["details"]["format"] == "misp"
    assert entry["details"]["persons_left_out"] == 1
    assert f"report--{uuid_of(1)}" in entry["object_ids"]
    assert PERSON["id"] not in entry["object_ids"]


def test_objects_in_no_report_make_one_more_event() -> None:
    """misp-stix, given reports, leaves out what none holds: it goes into an event of its
    own, whose uuid the bundle name fixes."""
    made = [
        obj
        for number in (1, 2)
        for obj in event_to_stix(misp_events(phishing_event(number=number), "x")[0])
    ]
    loose = sdo(
        "indicator",
        pattern="[domain-name:value = 'loose.example']",
        pattern_type="stix",
        valid_from="2026-01-01T00:00:00.000Z",
        created_by_ref=ORGC_IDENTITY,
    )
    organisation = Organisation("Rabat", uuid_of(0x77))
    converted = stix_to_misp([*made, loose], organisation, bundle_name="b")
    assert converted.problems == []
    events = [e["Event"] for e in converted.events]
    assert [e["uuid"] for e in events[:2]] == [uuid_of(1), uuid_of(2)]
    assert "loose.example" in orjson.dumps(events[2]).decode()
    again = stix_to_misp([*made, loose], organisation, bundle_name="b")
    assert again.events[2]["Event"]["uuid"] == events[2]["uuid"]
    # The organisations alone make no event.
    assert stix_to_misp([made[0]], organisation).events == []

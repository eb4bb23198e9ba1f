"""MISP events into Diapason: the marking table, authorship and grading, every input form
(an event, a response list, a feed folder), the errors, and what is stored checked by the
STIX validator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_instance

from diapason.domain.extensions import PAP_IDS, TLP_2_0_IDS
from diapason.domain.grading import grading_of
from diapason.domain.markings import definitions_by_id, effective_markings
from diapason.domain.policy import PartnerContext, ReleaseContext, Withhold, decide
from diapason.exchange.misp import (
    MispError,
    distribution_sharing,
    event_to_stix,
    looks_like_misp,
    misp_events,
    tag_marking,
)
from diapason.node import Node, init_node
from diapason.settings import load_settings
from diapason.store.interface import Query
from tests.misp.events import ORGC, ORGC_IDENTITY, phishing_event, shared_event, uuid_of
from tests.shared import SHARED  # noqa: F401  (the shared data must be there)

RED = TLP_2_0_IDS["red"]
GREEN = TLP_2_0_IDS["green"]
AMBER_STRICT = TLP_2_0_IDS["amber+strict"]


def convert(data: dict[str, Any], partners: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    (event,) = misp_events(data, "test.json")
    return {obj["id"]: obj for obj in event_to_stix(event, partners)}


def tlp_of(obj: dict[str, Any], objects: dict[str, dict[str, Any]]) -> str | None:
    markings = effective_markings(obj, definitions_by_id(objects.values()))
    assert markings.understood, markings.problems
    return markings.tlp.value if markings.tlp else None


def test_tags_and_distribution_become_markings_authorship_and_labels() -> None:
    objects = convert(phishing_event())
    report = objects[f"report--{uuid_of(1)}"]
    # tlp:green on the event: the TLP 2.0 id; PAP:AMBER Diapason's PAP marking; the free
    # tag stays a label, no tlp:/PAP: label is left.
    assert set(report["object_marking_refs"]) == {GREEN, PAP_IDS["amber"]}
    assert "operation:lighthouse" in report["labels"]
    assert not [label for label in report["labels"] if label.lower().startswith(("tlp:", "pap:"))]
    # The attribute tagged tlp:red, and what is made from it, is RED (the event's GREEN
    # is there too: the most restrictive wins).
    c2 = uuid_of(0xA2)
    for stix_id in (f"indicator--{c2}", f"observed-data--{c2}", f"ipv4-addr--{c2}"):
        assert tlp_of(objects[stix_id], objects) == "red", stix_id
    # Distribution 0 (your organisation only) on one attribute: TLP:RED.
    assert tlp_of(objects[f"observed-data--{uuid_of(0xC2)}"], objects) == "red"
    # An attribute with no tag of its own: the event's.
    assert tlp_of(objects[f"indicator--{uuid_of(0xB2)}"], objects) == "green"
    # The creating organisation is an identity and the author of every SDO and SRO.
    identity = objects[ORGC_IDENTITY]
    assert (identity["name"], identity["identity_class"]) == (ORGC["name"], "organization")
    for obj in objects.values():
        if obj["type"] in ("report", "indicator", "observed-data", "relationship"):
            assert obj["created_by_ref"] == ORGC_IDENTITY, obj["id"]
    # A relationship carries the markings of its ends.
    based_on = [
        obj
        for obj in objects.values()
        if obj["type"] == "relationship" and obj["source_ref"] == f"indicator--{c2}"
    ]
    assert based_on and tlp_of(based_on[0], objects) == "red"


def test_a_galaxy_cluster_is_shared_knowledge_with_its_own_author() -> None:
    first = convert(phishing_event(number=1))
    second = convert(phishing_event(number=2, tags=("tlp:amber",)))
    actor = "threat-actor--5b4ee3ea-eee3-4c8e-8323-85ae32658754"
    assert first[actor]["name"] == "APT28"
    # The same object from both events (not the events' markings): no conflict on import.
    assert first[actor] == second[actor]
    author = first[first[actor]["created_by_ref"]]
    assert author["name"] == "MISP galaxy (misp-galaxy.org)"


@pytest.mark.parametrize(
    ("distribution", "expected"),
    [(0, "red"), (1, "amber+strict"), (2, "green"), (3, "green")],
)
def test_distribution_levels(distribution: int, expected: str) -> None:
    objects = convert(phishing_event(distribution=distribution))
    assert tlp_of(objects[f"report--{uuid_of(1)}"], objects) == expected


def test_no_tlp_tag_means_no_marking_read_as_amber() -> None:
    objects = convert(phishing_event(tags=()))
    report = objects[f"report--{uuid_of(1)}"]
    assert tlp_of(report, objects) is None
    assert effective_markings(report).release_tlp.value == "amber"


def test_a_sharing_group_is_rel_to_its_members_that_are_partners() -> None:
    objects = convert(shared_event(["France", "Somewhere Else"]), partners=("france", "tunis"))
    report = objects[f"report--{uuid_of(2)}"]
    markings = effective_markings(report, definitions_by_id(objects.values()))
    assert markings.rel_to == frozenset({"france"})
    # No member is a partner: nobody (TLP:RED), not a list of strangers.
    alone = convert(shared_event(["Somewhere Else"]), partners=("france",))
    assert tlp_of(alone[f"report--{uuid_of(2)}"], alone) == "red"
    assert distribution_sharing(4, None, ["france"]).markings == (RED,)


def test_tlp_tags_map_to_tlp_2_0() -> None:
    assert tag_marking("tlp:white") == TLP_2_0_IDS["clear"]
    assert tag_marking("tlp:clear") == TLP_2_0_IDS["clear"]
    assert tag_marking("TLP:AMBER+STRICT") == AMBER_STRICT
    assert tag_marking("tlp:red") == RED
    assert tag_marking("PAP:WHITE") == PAP_IDS["clear"]
    assert tag_marking("tlp:purple") is None
    assert tag_marking("custom:foo") is None


def test_admiralty_tags_grade_and_osint_tags_flag() -> None:
    data = phishing_event(
        tags=(
            "tlp:green",
            'admiralty-scale:source-reliability="b"',
            'admiralty-scale:information-credibility="2"',
        )
    )
    objects = convert(data)
    grading = grading_of(objects[f"report--{uuid_of(1)}"])
    assert grading is not None
    assert (grading.source_reliability, grading.information_credibility) == ("B", "2")
    osint = convert(phishing_event(tags=("tlp:clear", 'osint:source-type="blog-post"')))
    extension = next(iter(osint[f"report--{uuid_of(1)}"]["extensions"].values()))
    assert extension["osint"] is True


def test_organisation_only_is_never_released_even_with_consent() -> None:
    objects = convert(phishing_event(distribution=0, tags=("tlp:clear",)))
    report = objects[f"report--{uuid_of(1)}"]
    report_id = report["id"]
    context = ReleaseContext(
        own_identities=frozenset({ORGC_IDENTITY}),
        today=date(2026, 6, 15),
        consents=frozenset({(report_id, ORGC_IDENTITY, "paris")}),
        definitions=definitions_by_id(objects.values()),
    )
    decision = decide(report, PartnerContext("paris"), context)
    assert isinstance(decision, Withhold)
    assert decision.code.value == "tlp-red"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"Event": "x"}, "Event is not a JSON object"),
        ({"Event": {"uuid": uuid_of(1)}}, "Event.info: required text missing"),
        ({"Event": {"uuid": "nope", "info": "x"}}, "'nope' is not a UUID"),
        ({"Event": {"uuid": uuid_of(1), "info": "x"}}, "Event.Orgc: the creating organisation"),
        ({"response": [1]}, "response[0]: expected"),
        (
            {"Event": {"uuid": uuid_of(1), "info": "x", "Orgc": ORGC, "distribution": 9}},
            "Event.distribution: 9 is not 0 to 4",
        ),
        (
            {"Event": {"uuid": uuid_of(1), "info": "x", "Orgc": ORGC, "Attribute": {}}},
            "Event.Attribute: expected a list",
        ),
    ],
)
def test_bad_events_are_refused_precisely(data: Any, message: str) -> None:
    with pytest.raises(MispError, match=None) as raised:
        misp_events(data, "bad.json")
    assert message in str(raised.value)
    assert str(raised.value).startswith("bad.json")


def test_every_form_of_misp_json_is_read() -> None:
    one, two = phishing_event(number=1), phishing_event(number=2)
    assert [e.uuid for e in misp_events(one, "a")] == [uuid_of(1)]
    assert [e.uuid for e in misp_events({"response": [one, two]}, "b")] == [uuid_of(1), uuid_of(2)]
    assert [e.uuid for e in misp_events([one, two], "c")] == [uuid_of(1), uuid_of(2)]
    assert looks_like_misp({"response": []}) and looks_like_misp([one])
    bundle = {"type": "bundle", "id": "bundle--" + uuid_of(9), "objects": []}
    assert not looks_like_misp(bundle) and not looks_like_misp([])
    with pytest.raises(MispError, match="not MISP event JSON"):
        misp_events(bundle, "bundle.json")


def _attribute(event: dict[str, Any], **changes: Any) -> None:
    event["Attribute"][0] = {**event["Attribute"][0], **changes}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e["Attribute"].append("x"), "Error loading Event"),
        (lambda e: e["Attribute"].append({"uuid": uuid_of(0xFF), "value": "x"}), "'type'"),
        (lambda e: _attribute(e, value=5), "Error validating Attribute"),
        (lambda e: _attribute(e, type="no-such-type"), "no-such-type is invalid"),
        (lambda e: e.__setitem__("timestamp", "yesterday"), "invalid literal for int()"),
        (lambda e: e.__setitem__("SharingGroup", "junk"), "MISPSharingGroup"),
        (lambda e: e["Tag"].append("tlp:red"), "Event.Tag[3]: expected {'name'"),
        (lambda e: _attribute(e, Tag=[{"name": 5}]), "Event.Attribute[0].Tag[0]: expected"),
    ],
)
def test_what_misp_stix_would_skip_refuses_the_event(change: Any, message: str) -> None:
    """PyMISP and misp-stix leave out what they cannot read and only log it: here the whole
    event is refused, saying what, never imported with a part (a tlp:red tag) missing."""
    data = phishing_event()
    change(data["Event"])
    with pytest.raises(MispError) as raised:
        convert(data)
    assert str(raised.value).startswith(f"test.json (event {uuid_of(1)})")
    assert message in str(raised.value)


# -- the command line ---------------------------------------------------------------------


def diapason(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diapason", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


@pytest.fixture
def node_folder(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "node"
    node, _ = init_node(load_settings(data, environ={}), "tests")
    node.close()
    yield data


def stored(data: Path) -> dict[str, dict[str, Any]]:
    node = Node.open(load_settings(data, environ={}))
    try:
        found: dict[str, dict[str, Any]] = {}
        after = None
        while True:
            page = node.store.query(Query(limit=1000, after=after))
            found.update((item.id, item.object) for item in page.objects)
            if page.next_after is None:
                return found
            after = page.next_after
    finally:
        node.close()


def write_feed(folder: Path, events: list[dict[str, Any]]) -> Path:
    """A MISP feed folder as PyMISP's feed generator writes one."""
    folder.mkdir()
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    for data in events:
        event = MISPEvent()
        event.from_dict(**data["Event"])
        feed = event.to_feed(with_meta=True)
        manifest.update(feed["Event"].pop("_manifest"))
        hashes.extend(f"{h},{event.uuid}" for h in feed["Event"].pop("_hashes"))
        (folder / f"{event.uuid}.json").write_bytes(orjson.dumps(feed))
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    (folder / "hashes.csv").write_text("\n".join(hashes) + "\n")
    return folder


@pytest.mark.slow
def test_import_an_event_a_list_and_a_feed_folder(node_folder: Path, tmp_path: Path) -> None:
    single = tmp_path / "event.json"
    single.write_bytes(orjson.dumps(phishing_event(number=1)))
    listed = tmp_path / "events.json"
    listed.write_bytes(orjson.dumps({"response": [shared_event(["France"], number=2)]}))
    feed = write_feed(tmp_path / "feed", [phishing_event(number=3, tags=("tlp:amber",))])

    done = diapason(node_folder, "import", str(single), str(listed), str(feed), "--json")
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert summary["misp_events"] == 3
    assert summary["refused"] == 0 and summary["written"] > 30
    held = stored(node_folder)
    for number in (1, 2, 3):
        assert f"report--{uuid_of(number)}" in held
    assert held[ORGC_IDENTITY]["name"] == ORGC["name"]

    # Again: nothing changes. Forced as STIX, the MISP file is no bundle: refused.
    again = orjson.loads(
        diapason(node_folder, "import", str(single), str(listed), str(feed), "--json").stdout
    )
    assert (again["written"], again["refused"]) == (0, 0)
    forced = diapason(node_folder, "import", "--format", "stix", str(single))
    assert forced.returncode == 1
    assert "not a STIX bundle" in forced.stderr

    # Every object stored is valid STIX 2.1 for the OASIS validator.
    options = ValidationOptions(version="2.1", strict=False, disabled=["103"])
    for obj in held.values():
        result = validate_instance(obj, options)
        assert result.is_valid, (obj["id"], [str(e) for e in result.errors])


@pytest.mark.slow
def test_a_source_with_one_bad_event_writes_nothing(node_folder: Path, tmp_path: Path) -> None:
    broken = phishing_event(number=5)
    broken["Event"]["Orgc"] = {"name": "No uuid"}
    listed = tmp_path / "events.json"
    listed.write_bytes(orjson.dumps({"response": [phishing_event(number=4), broken]}))
    feed = write_feed(tmp_path / "feed", [phishing_event(number=6)])
    (feed / f"{uuid_of(6)}.json").unlink()

    done = diapason(node_folder, "import", str(listed), str(feed))
    assert done.returncode == 1
    assert f"response[1] (event {uuid_of(5)}): Event.Orgc.uuid" in done.stderr
    assert f"lists {uuid_of(6)}, but {uuid_of(6)}.json is missing" in done.stderr
    held = stored(node_folder)
    assert f"report--{uuid_of(4)}" not in held
    assert not [key for key in held if key.startswith("indicator--")]

"""MISP events built with PyMISP, as a MISP instance exports them: attributes, objects,
a galaxy with its cluster, tags, a sharing group; fixed uuids and timestamps."""

from __future__ import annotations

from typing import Any

import orjson
from pymisp import (
    MISPAttribute,
    MISPEvent,
    MISPGalaxy,
    MISPGalaxyCluster,
    MISPObject,
    MISPOrganisation,
    MISPSharingGroup,
)

# 1 March 2026, 09:00 UTC: every timestamp of the events below (published that day).
STAMP = 1772355600
ORGC = {"name": "CERT-Sahel", "uuid": "11111111-2222-4333-8444-555555555555"}
ORGC_IDENTITY = f"identity--{ORGC['uuid']}"


def uuid_of(number: int) -> str:
    return f"5e1b6a3c-0000-4000-8000-{number:012x}"


def _stamped(event: MISPEvent) -> dict[str, Any]:
    """The event's JSON as MISP exports it, every element with its timestamp."""
    data: dict[str, Any] = orjson.loads(event.to_json())
    data["timestamp"] = str(STAMP)
    data["publish_timestamp"] = str(STAMP + 600)  # published ten minutes later
    for attribute in data.get("Attribute", []):
        attribute["timestamp"] = str(STAMP)
    for misp_object in data.get("Object", []):
        misp_object["timestamp"] = str(STAMP)
        for attribute in misp_object.get("Attribute", []):
            attribute["timestamp"] = str(STAMP)
    return data


def phishing_event(
    *, distribution: int = 3, tags: tuple[str, ...] = ("tlp:green",), number: int = 1
) -> dict[str, Any]:
    """An event with two attributes (one tlp:red, one for the organisation only), a file
    object, the APT28 cluster of the threat-actor galaxy, TLP, PAP and a free tag."""
    event = MISPEvent()
    event.from_dict(
        uuid=uuid_of(number),
        info="Hameçonnage visant le ministère",
        date="2026-03-01",
        published=True,
        distribution=distribution,
        threat_level_id=2,
        analysis=2,
    )
    orgc = MISPOrganisation()
    orgc.from_dict(**ORGC)
    event.Orgc = orgc
    for tag in (*tags, "PAP:AMBER", "operation:lighthouse"):
        event.add_tag(tag)
    c2 = event.add_attribute(
        "ip-dst", "203.0.113.5", to_ids=True, comment="C2 server", uuid=uuid_of(0xA1 + number)
    )
    assert isinstance(c2, MISPAttribute)
    c2.add_tag("tlp:red")
    event.add_attribute(
        "domain", "mail-ministere.example", to_ids=True, uuid=uuid_of(0xB1 + number)
    )
    event.add_attribute(
        "url",
        "http://intranet.example/private",
        to_ids=False,
        distribution=0,
        uuid=uuid_of(0xC1 + number),
    )
    attachment = MISPObject("file")
    attachment.uuid = uuid_of(0xD1 + number)
    attachment.add_attribute("filename", "convocation.pdf.exe")
    attachment.add_attribute("md5", "0cc175b9c0f1b6a831c399e269772661")
    event.add_object(attachment)
    galaxy = MISPGalaxy()
    galaxy.from_dict(
        uuid="698774c7-8022-42c4-917f-8d6e4f06ada3",
        name="Threat Actor",
        type="threat-actor",
        namespace="misp",
        description="Threat actors",
    )
    cluster = MISPGalaxyCluster()
    cluster.from_dict(
        uuid="5b4ee3ea-eee3-4c8e-8323-85ae32658754",
        value="APT28",
        type="threat-actor",
        description="A threat group",
        tag_name='misp-galaxy:threat-actor="APT28"',
        meta={"synonyms": ["Fancy Bear"]},
    )
    galaxy.clusters.append(cluster)
    event.galaxies.append(galaxy)
    return {"Event": _stamped(event)}


def shared_event(members: list[str], number: int = 2) -> dict[str, Any]:
    """An event for a sharing group of ``members`` (organisation names)."""
    data = phishing_event(distribution=4, number=number)
    group = MISPSharingGroup()
    group.from_dict(
        name="Bilateral",
        uuid=uuid_of(0xE0 + number),
        SharingGroupOrg=[
            {"Organisation": {"name": name, "uuid": uuid_of(0xF00 + index)}}
            for index, name in enumerate(members)
        ],
    )
    data["Event"]["sharing_group_id"] = "7"
    data["Event"]["SharingGroup"] = orjson.loads(group.to_json())
    return data

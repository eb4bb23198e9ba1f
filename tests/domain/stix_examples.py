"""Valid STIX 2.1 objects of every type ``prepare`` knows the rules of, for the validation
tests: each passes the OASIS validator without an error, each property set as STIX allows.

Every call makes new ids, so objects never clash with ones seen before.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.builders import TLP_AMBER, TLP_GREEN

CREATED = "2024-04-22T10:00:00.000Z"
MODIFIED = "2024-04-23T11:00:00.000Z"
EXTENSION = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"


def new(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def common(stix_type: str, **properties: Any) -> dict[str, Any]:
    """The common properties of an SDO or SRO, all of them, then ``properties``."""
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": new(stix_type),
        "created_by_ref": new("identity"),
        "created": CREATED,
        "modified": MODIFIED,
        "revoked": False,
        "labels": ["sahel"],
        "confidence": 80,
        "lang": "fr",
        "external_references": [
            {
                "source_name": "rapport",
                "description": "Rapport public",
                "url": "https://example.org/rapports/2024/17",
                "hashes": {"SHA-256": "a" * 64},
                "external_id": "R-17",
            },
            {"source_name": "capec", "external_id": "CAPEC-163"},
        ],
        "object_marking_refs": [TLP_GREEN],
        "granular_markings": [{"marking_ref": TLP_AMBER, "selectors": ["labels.[0]"]}],
        "extensions": {
            EXTENSION: {"extension_type": "property-extension", "x_rank": 2, "x_tags": ["a"]}
        },
    }
    obj.update(properties)
    return obj


KILL_CHAIN_PHASES = [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]


def attack_pattern() -> dict[str, Any]:
    return common(
        "attack-pattern",
        name="Hameçonnage ciblé",
        description="Pièces jointes piégées",
        aliases=["Spearphishing"],
        kill_chain_phases=KILL_CHAIN_PHASES,
    )


def campaign() -> dict[str, Any]:
    return common(
        "campaign",
        name="Opération Harmattan",
        description="Campagne",
        aliases=["Harmattan"],
        first_seen="2023-01-01T00:00:00Z",
        last_seen="2023-06-01T00:00:00Z",
        objective="Renseignement",
    )


def course_of_action() -> dict[str, Any]:
    return common("course-of-action", name="Filtrer les pièces jointes", description="Filtrage")


def grouping() -> dict[str, Any]:
    return common(
        "grouping",
        name="Dossier",
        description="Objets liés",
        context="suspicious-activity",
        object_refs=[new("indicator"), new("location")],
    )


def identity() -> dict[str, Any]:
    return common(
        "identity",
        name="Ministère de l'Intérieur",
        description="Partenaire",
        roles=["ministry"],
        identity_class="organization",
        sectors=["government-national"],
        contact_information="contact@example.org",
    )


def incident() -> dict[str, Any]:
    return common(
        "incident", name="Intrusion", description="Messagerie", kill_chain_phases=KILL_CHAIN_PHASES
    )


def indicator() -> dict[str, Any]:
    return common(
        "indicator",
        name="Serveur de commande",
        description="Adresse",
        indicator_types=["malicious-activity"],
        pattern="[ipv4-addr:value = '203.0.113.9']",
        pattern_type="stix",
        pattern_version="2.1",
        valid_from="2024-01-01T00:00:00Z",
        valid_until="2025-01-01T00:00:00Z",
        kill_chain_phases=KILL_CHAIN_PHASES,
    )


def infrastructure() -> dict[str, Any]:
    return common(
        "infrastructure",
        name="Serveurs privés virtuels",
        description="Hébergement",
        infrastructure_types=["hosting-malware"],
        aliases=["VPS"],
        kill_chain_phases=KILL_CHAIN_PHASES,
        first_seen="2023-01-01T00:00:00Z",
        last_seen="2023-06-01T00:00:00Z",
    )


def intrusion_set() -> dict[str, Any]:
    return common(
        "intrusion-set",
        name="Tombouctou",
        description="Groupe",
        aliases=["IS-304"],
        first_seen="2023-01-01T00:00:00Z",
        last_seen="2023-06-01T00:00:00Z",
        goals=["espionnage"],
        resource_level="organization",
        primary_motivation="ideology",
        secondary_motivations=["dominance"],
    )


def location() -> dict[str, Any]:
    return common(
        "location",
        name="Bamako",
        description="Capitale",
        latitude=12.65,
        longitude=-8.0,
        precision=1000.0,
        region="western-africa",
        country="ML",
        administrative_area="District de Bamako",
        city="Bamako",
        street_address="Avenue de l'Indépendance",
        postal_code="BP 1",
    )


def malware() -> dict[str, Any]:
    return common(
        "malware",
        name="DuneLoader",
        description="Chargeur",
        malware_types=["downloader"],
        is_family=True,
        aliases=["Dune"],
        kill_chain_phases=KILL_CHAIN_PHASES,
        first_seen="2023-01-01T00:00:00Z",
        last_seen="2023-06-01T00:00:00Z",
        operating_system_refs=[new("software")],
        architecture_execution_envs=["x86-64"],
        implementation_languages=["go"],
        capabilities=["communicates-with-c2"],
        sample_refs=[new("file")],
    )


def malware_analysis() -> dict[str, Any]:
    return common(
        "malware-analysis",
        product="analyseur",
        version="1.0",
        host_vm_ref=new("software"),
        operating_system_ref=new("software"),
        installed_software_refs=[new("software")],
        configuration_version="3",
        modules=["pe"],
        analysis_engine_version="2.0",
        analysis_definition_version="2024-01",
        submitted="2024-01-01T00:00:00Z",
        analysis_started="2024-01-01T00:01:00Z",
        analysis_ended="2024-01-01T00:02:00Z",
        result_name="DuneLoader",
        result="malicious",
        analysis_sco_refs=[new("file")],
        sample_ref=new("file"),
    )


def note() -> dict[str, Any]:
    return common(
        "note",
        abstract="Commentaire",
        content="Texte de la note",
        authors=["Fatou Ba"],
        object_refs=[new("threat-actor")],
    )


def observed_data() -> dict[str, Any]:
    return common(
        "observed-data",
        first_observed="2024-01-01T00:00:00Z",
        last_observed="2024-01-02T00:00:00Z",
        number_observed=3,
        object_refs=[new("ipv4-addr")],
    )


def opinion() -> dict[str, Any]:
    return common(
        "opinion",
        explanation="Source fiable",
        authors=["Omar Diallo"],
        opinion="agree",
        object_refs=[new("report")],
    )


def report() -> dict[str, Any]:
    return common(
        "report",
        name="Note d'analyse",
        description="Analyse",
        report_types=["threat-report"],
        published="2024-04-22T12:00:00Z",
        object_refs=[new("threat-actor"), new("location")],
    )


def threat_actor() -> dict[str, Any]:
    return common(
        "threat-actor",
        name="Varan du Niger",
        description="Acteur",
        threat_actor_types=["criminal"],
        aliases=["Harmattan Cobra"],
        first_seen="2023-01-01T00:00:00Z",
        last_seen="2023-06-01T00:00:00Z",
        roles=["director"],
        goals=["contrôle des routes"],
        sophistication="strategic",
        resource_level="organization",
        primary_motivation="personal-gain",
        secondary_motivations=["dominance"],
        personal_motivations=["revenge"],
    )


def tool() -> dict[str, Any]:
    return common(
        "tool",
        name="Cobalt Strike",
        description="Outil",
        tool_types=["remote-access"],
        aliases=["CS"],
        kill_chain_phases=KILL_CHAIN_PHASES,
        tool_version="4.9",
    )


def vulnerability() -> dict[str, Any]:
    return common("vulnerability", name="CVE-2024-3400", description="Injection")


def relationship() -> dict[str, Any]:
    return common(
        "relationship",
        relationship_type="uses",
        description="Utilise",
        source_ref=new("threat-actor"),
        target_ref=new("malware"),
        start_time="2023-01-01T00:00:00Z",
        stop_time="2023-06-01T00:00:00Z",
    )


def sighting() -> dict[str, Any]:
    return common(
        "sighting",
        description="Vu",
        first_seen="2023-01-01T00:00:00Z",
        last_seen="2023-06-01T00:00:00Z",
        count=4,
        sighting_of_ref=new("indicator"),
        observed_data_refs=[new("observed-data")],
        where_sighted_refs=[new("identity")],
        summary=False,
    )


def language_content() -> dict[str, Any]:
    obj = common(
        "language-content",
        object_ref=new("report"),
        object_modified="2024-04-22T10:00:00.000Z",
        contents={"en": {"name": "Analysis note", "description": "Analysis"}},
    )
    del obj["lang"]  # not a property of language-content
    return obj


def marking_definition() -> dict[str, Any]:
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": new("marking-definition"),
        "created_by_ref": new("identity"),
        "created": CREATED,
        "name": "Diffusion restreinte",
        "definition_type": "statement",
        "definition": {"statement": "Usage interne"},
        "external_references": [{"source_name": "charte", "external_id": "C-1"}],
        "object_marking_refs": [TLP_GREEN],
        "granular_markings": [{"marking_ref": TLP_AMBER, "selectors": ["name"]}],
    }


def extension_definition() -> dict[str, Any]:
    obj = common(
        "extension-definition",
        name="Extension",
        description="Propriétés de l'exemple",
        schema="https://example.org/schema.json",
        version="1.0.0",
        extension_types=["property-extension"],
    )
    for key in ("confidence", "lang", "extensions"):  # not properties of extension-definition
        del obj[key]
    return obj


def ipv4_addr() -> dict[str, Any]:
    """A cyber-observable: its common properties only are checked."""
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": new("ipv4-addr"),
        "value": "203.0.113.9",
        "defanged": False,
        "object_marking_refs": [TLP_GREEN],
        "granular_markings": [{"marking_ref": TLP_AMBER, "selectors": ["value"]}],
    }


def custom_object() -> dict[str, Any]:
    """One of Diapason's own types: the common properties, and custom ones."""
    return common(
        "x-diapason-meeting",
        name="Réunion du groupe mixte",
        x_diapason_body="Ordre du jour",
        x_diapason_attendee_refs=[new("identity")],
        extensions={EXTENSION: {"extension_type": "new-sdo"}},
    )


EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "attack-pattern": attack_pattern,
    "campaign": campaign,
    "course-of-action": course_of_action,
    "grouping": grouping,
    "identity": identity,
    "incident": incident,
    "indicator": indicator,
    "infrastructure": infrastructure,
    "intrusion-set": intrusion_set,
    "location": location,
    "malware": malware,
    "malware-analysis": malware_analysis,
    "note": note,
    "observed-data": observed_data,
    "opinion": opinion,
    "report": report,
    "threat-actor": threat_actor,
    "tool": tool,
    "vulnerability": vulnerability,
    "relationship": relationship,
    "sighting": sighting,
    "language-content": language_content,
    "marking-definition": marking_definition,
    "extension-definition": extension_definition,
    "ipv4-addr": ipv4_addr,
    "x-diapason-meeting": custom_object,
}

"""A deterministic generator of realistic STIX 2.1 content for the benchmarks.

``generate_objects(count, seed)`` returns exactly ``count`` object *versions* (plain dicts):
identities (organisations, some ministries and agencies named in French, and individuals),
locations in North and West Africa (countries, regions, cities and sites with latitude,
longitude and ISO 3166-1 codes), threat actors and intrusion sets (names, aliases and
descriptions in French or English), the malware and attack patterns they use, reports
referring to 3-20 earlier objects, relationships between existing objects, and analyst
notes. Every object is marked with a TLP 2.0 marking definition and most carry a
``created_by_ref``; about a fifth of the identifiers come in 2-4 versions (a later
``modified`` and a changed description), the later versions appearing later in the stream.

The same ``(count, seed)`` always gives the same objects, byte for byte.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

# TLP 2.0 marking definitions (STIX 2.1 extension definitions by FIRST).
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
TLP_MARKINGS = (TLP_CLEAR, TLP_GREEN, TLP_AMBER, TLP_AMBER_STRICT, TLP_RED)
_TLP_WEIGHTS = (25, 35, 25, 10, 5)

# Share of each type among the identifiers after the fixed prefix (see ``_PREFIX``).
TYPE_WEIGHTS: dict[str, float] = {
    "relationship": 0.59,
    "report": 0.12,
    "note": 0.08,
    "identity": 0.05,
    "threat-actor": 0.045,
    "intrusion-set": 0.04,
    "location": 0.03,
    "malware": 0.03,
    "attack-pattern": 0.015,
}
# The first identifiers, so that every later reference has something to point to.
_PREFIX = (
    ["identity"] * 12
    + ["location"] * 24
    + ["threat-actor"] * 6
    + ["malware"] * 6
    + ["attack-pattern"] * 10
    + ["intrusion-set"] * 4
)
MULTI_VERSION_SHARE = 0.2  # identifiers with 2-4 versions

_START_MS = 1_546_300_800_000  # 2019-01-01T00:00:00Z
_SPAN_MS = 5 * 365 * 86_400_000  # objects are created over five years
_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name_en: str
    name_fr: str
    in_fr: str  # "au Sénégal", "en Côte d'Ivoire"
    of_fr: str  # "du Sénégal", "de Côte d'Ivoire"
    region: str  # STIX region vocabulary
    francophone: bool
    cities: tuple[tuple[str, float, float], ...]  # (name, latitude, longitude); capital first


COUNTRIES: tuple[Country, ...] = (
    Country(
        "SN",
        "Senegal",
        "Sénégal",
        "au Sénégal",
        "du Sénégal",
        "western-africa",
        True,
        (
            ("Dakar", 14.7167, -17.4677),
            ("Saint-Louis", 16.0179, -16.4896),
            ("Ziguinchor", 12.5681, -16.2719),
        ),
    ),
    Country(
        "ML",
        "Mali",
        "Mali",
        "au Mali",
        "du Mali",
        "western-africa",
        True,
        (
            ("Bamako", 12.6392, -8.0029),
            ("Tombouctou", 16.7666, -3.0026),
            ("Mopti", 14.4843, -4.1830),
        ),
    ),
    Country(
        "BF",
        "Burkina Faso",
        "Burkina Faso",
        "au Burkina Faso",
        "du Burkina Faso",
        "western-africa",
        True,
        (("Ouagadougou", 12.3714, -1.5197), ("Bobo-Dioulasso", 11.1771, -4.2979)),
    ),
    Country(
        "NE",
        "Niger",
        "Niger",
        "au Niger",
        "du Niger",
        "western-africa",
        True,
        (("Niamey", 13.5116, 2.1254), ("Agadez", 16.9733, 7.9911), ("Zinder", 13.8053, 8.9881)),
    ),
    Country(
        "CI",
        "Côte d'Ivoire",
        "Côte d'Ivoire",
        "en Côte d'Ivoire",
        "de Côte d'Ivoire",
        "western-africa",
        True,
        (
            ("Abidjan", 5.3600, -4.0083),
            ("Yamoussoukro", 6.8276, -5.2893),
            ("Bouaké", 7.6906, -5.0391),
        ),
    ),
    Country(
        "BJ",
        "Benin",
        "Bénin",
        "au Bénin",
        "du Bénin",
        "western-africa",
        True,
        (("Porto-Novo", 6.4969, 2.6289), ("Cotonou", 6.3703, 2.3912)),
    ),
    Country(
        "TG",
        "Togo",
        "Togo",
        "au Togo",
        "du Togo",
        "western-africa",
        True,
        (("Lomé", 6.1375, 1.2123), ("Kara", 9.5511, 1.1861)),
    ),
    Country(
        "GN",
        "Guinea",
        "Guinée",
        "en Guinée",
        "de Guinée",
        "western-africa",
        True,
        (("Conakry", 9.6412, -13.5784), ("Kankan", 10.3854, -9.3057)),
    ),
    Country(
        "GW",
        "Guinea-Bissau",
        "Guinée-Bissau",
        "en Guinée-Bissau",
        "de Guinée-Bissau",
        "western-africa",
        False,
        (("Bissau", 11.8636, -15.5977),),
    ),
    Country(
        "MR",
        "Mauritania",
        "Mauritanie",
        "en Mauritanie",
        "de Mauritanie",
        "western-africa",
        True,
        (("Nouakchott", 18.0735, -15.9582), ("Nouadhibou", 20.9310, -17.0347)),
    ),
    Country(
        "CV",
        "Cabo Verde",
        "Cap-Vert",
        "au Cap-Vert",
        "du Cap-Vert",
        "western-africa",
        False,
        (("Praia", 14.9330, -23.5133),),
    ),
    Country(
        "GM",
        "Gambia",
        "Gambie",
        "en Gambie",
        "de Gambie",
        "western-africa",
        False,
        (("Banjul", 13.4549, -16.5790),),
    ),
    Country(
        "GH",
        "Ghana",
        "Ghana",
        "au Ghana",
        "du Ghana",
        "western-africa",
        False,
        (("Accra", 5.6037, -0.1870), ("Kumasi", 6.6885, -1.6244), ("Tema", 5.6698, -0.0166)),
    ),
    Country(
        "NG",
        "Nigeria",
        "Nigeria",
        "au Nigeria",
        "du Nigeria",
        "western-africa",
        False,
        (
            ("Abuja", 9.0765, 7.3986),
            ("Lagos", 6.5244, 3.3792),
            ("Kano", 12.0022, 8.5920),
            ("Port Harcourt", 4.8156, 7.0498),
        ),
    ),
    Country(
        "SL",
        "Sierra Leone",
        "Sierra Leone",
        "en Sierra Leone",
        "de Sierra Leone",
        "western-africa",
        False,
        (("Freetown", 8.4657, -13.2317),),
    ),
    Country(
        "LR",
        "Liberia",
        "Liberia",
        "au Liberia",
        "du Liberia",
        "western-africa",
        False,
        (("Monrovia", 6.3156, -10.8074),),
    ),
    Country(
        "MA",
        "Morocco",
        "Maroc",
        "au Maroc",
        "du Maroc",
        "northern-africa",
        True,
        (
            ("Rabat", 34.0209, -6.8416),
            ("Casablanca", 33.5731, -7.5898),
            ("Tanger", 35.7595, -5.8340),
        ),
    ),
    Country(
        "DZ",
        "Algeria",
        "Algérie",
        "en Algérie",
        "d'Algérie",
        "northern-africa",
        True,
        (("Alger", 36.7538, 3.0588), ("Oran", 35.6971, -0.6308), ("Tamanrasset", 22.7850, 5.5228)),
    ),
    Country(
        "TN",
        "Tunisia",
        "Tunisie",
        "en Tunisie",
        "de Tunisie",
        "northern-africa",
        True,
        (("Tunis", 36.8065, 10.1815), ("Sfax", 34.7406, 10.7603)),
    ),
    Country(
        "LY",
        "Libya",
        "Libye",
        "en Libye",
        "de Libye",
        "northern-africa",
        False,
        (("Tripoli", 32.8872, 13.1913), ("Benghazi", 32.1167, 20.0667)),
    ),
    Country(
        "EG",
        "Egypt",
        "Égypte",
        "en Égypte",
        "d'Égypte",
        "northern-africa",
        False,
        (("Le Caire", 30.0444, 31.2357), ("Alexandrie", 31.2001, 29.9187)),
    ),
    Country(
        "SD",
        "Sudan",
        "Soudan",
        "au Soudan",
        "du Soudan",
        "northern-africa",
        False,
        (("Khartoum", 15.5007, 32.5599),),
    ),
)

_REGIONS = (
    ("western-africa", "Afrique de l'Ouest", "West Africa", 12.0, -3.0),
    ("northern-africa", "Afrique du Nord", "North Africa", 30.0, 10.0),
    ("western-africa", "Sahel central", "Central Sahel", 14.5, -1.0),
    ("western-africa", "Golfe de Guinée", "Gulf of Guinea", 4.0, 3.0),
)
_SITES_FR = (
    "port autonome",
    "aéroport international",
    "zone industrielle",
    "centre de données",
    "poste frontière",
    "siège régional",
)
_SITES_EN = (
    "seaport",
    "international airport",
    "industrial zone",
    "data centre",
    "border post",
    "regional headquarters",
)

_MINISTRIES_FR = (
    ("Ministère de l'Intérieur", "government-national"),
    ("Ministère des Affaires étrangères", "government-national"),
    ("Ministère des Forces armées", "defense"),
    ("Ministère de l'Économie numérique et des Télécommunications", "government-national"),
    ("Ministère des Finances", "government-national"),
    ("Direction générale des Douanes", "government-public-services"),
    ("Agence nationale de la sécurité des systèmes d'information", "government-national"),
    ("Autorité de régulation des télécommunications et des postes", "telecommunications"),
    ("Police nationale, Division spéciale de cybersécurité", "government-national"),
    ("Gendarmerie nationale, Section de recherches", "government-national"),
    ("Cellule nationale de traitement des informations financières", "financial-services"),
    ("CERT national", "government-national"),
    ("Port autonome", "transportation"),
    ("Société nationale d'électricité", "energy"),
)
_MINISTRIES_EN = (
    ("Ministry of Communications and Digitalisation", "government-national"),
    ("Ministry of Defence", "defense"),
    ("Ministry of Foreign Affairs", "government-national"),
    ("National Information Technology Development Agency", "government-national"),
    ("Police Force, Cybercrime Unit", "government-national"),
    ("Customs Service", "government-public-services"),
    ("Revenue Authority", "government-national"),
    ("Central Bank, Financial Intelligence Unit", "financial-services"),
    ("Ports Authority", "transportation"),
    ("Computer Emergency Response Team", "government-national"),
    ("Electricity Company", "energy"),
)
_COMPANIES = (
    ("Sahel Télécom SA", "telecommunications"),
    ("Banque du Littoral", "financial-services"),
    ("Kora Mobile Money", "financial-services"),
    ("Teranga Énergie", "energy"),
    ("Harmattan Logistics Ltd", "transportation"),
    ("Gulf of Guinea Shipping Co.", "transportation"),
    ("Niger Delta Power Ltd", "energy"),
    ("Atlas Assurances", "insurance"),
    ("Clinique du Fleuve", "healthcare"),
    ("Université Cheikh Numérique", "education"),
    ("West Africa Datacentres plc", "technology"),
)
_FIRST_NAMES = (
    "Aminata",
    "Moussa",
    "Fatou",
    "Ibrahima",
    "Awa",
    "Ousmane",
    "Mariam",
    "Abdoulaye",
    "Kwame",
    "Ama",
    "Chinedu",
    "Ngozi",
    "Yacine",
    "Karim",
    "Salma",
    "Youssef",
    "Khadija",
    "Mamadou",
    "Aïssatou",
    "Seydou",
    "Adjoa",
    "Oumar",
    "Nadia",
    "Tidiane",
)
_LAST_NAMES = (
    "Diallo",
    "Traoré",
    "Ndiaye",
    "Koné",
    "Ouédraogo",
    "Sow",
    "Diop",
    "Mensah",
    "Okafor",
    "Adeyemi",
    "Benali",
    "El Amrani",
    "Camara",
    "Touré",
    "Coulibaly",
    "Keïta",
    "Boateng",
    "Mahamadou",
    "Ba",
    "Bensaïd",
    "Kaboré",
    "Agbodjan",
)
_ROLES_FR = ("analyste", "point de contact", "officier de liaison", "responsable sécurité")
_ROLES_EN = ("analyst", "point of contact", "liaison officer", "security officer")

_ADJECTIVES_EN = (
    "Sand",
    "Desert",
    "Dune",
    "Harmattan",
    "Savanna",
    "Ghost",
    "Crimson",
    "Silent",
    "Copper",
    "Golden",
    "Night",
    "Iron",
    "Salt",
    "Amber",
    "Laterite",
    "Mangrove",
)
_ANIMALS_EN = (
    "Viper",
    "Jackal",
    "Scorpion",
    "Fennec",
    "Hyena",
    "Falcon",
    "Cobra",
    "Leopard",
    "Vulture",
    "Mamba",
    "Locust",
    "Caracal",
    "Oryx",
    "Heron",
)
_NAMES_FR = (
    "Scorpion du désert",
    "Chacal des sables",
    "Fennec noir",
    "Vipère de l'Aïr",
    "Faucon du Sahel",
    "Hyène de la lagune",
    "Caméléon du fleuve",
    "Mamba des palmes",
    "Criquet pèlerin",
    "Lion de la Teranga",
    "Varan du Niger",
    "Aigle de l'Atlas",
)
_OPERATIONS = (
    "Baobab",
    "Teranga",
    "Niger Delta",
    "Harmattan",
    "Mirage",
    "Oasis",
    "Sirocco",
    "Tombouctou",
    "Kora",
    "Djembé",
    "Caravane",
    "Palmeraie",
    "Lagune",
    "Savane",
    "Fleuve",
    "Acacia",
    "Dromadaire",
    "Karité",
)
_TA_TYPES = (
    "crime-syndicate",
    "criminal",
    "hacker",
    "nation-state",
    "spy",
    "activist",
    "insider-disgruntled",
)
_TA_ROLES = (
    "agent",
    "director",
    "independent",
    "infrastructure-operator",
    "malware-author",
    "sponsor",
)
_SOPHISTICATION = ("minimal", "intermediate", "advanced", "expert", "strategic")
_RESOURCE_LEVELS = ("individual", "club", "team", "organization", "government")
_MOTIVATIONS = (
    "organizational-gain",
    "personal-gain",
    "ideology",
    "dominance",
    "coercion",
    "notoriety",
)
_GOALS_FR = (
    "vol de données douanières",
    "espionnage des communications diplomatiques",
    "fraude aux paiements mobiles",
    "sabotage des réseaux électriques",
    "collecte de renseignements sur les forces de sécurité",
    "extorsion par rançongiciel des opérateurs portuaires",
)
_GOALS_EN = (
    "theft of customs data",
    "espionage against diplomatic communications",
    "mobile money fraud",
    "disruption of power distribution networks",
    "intelligence collection on security forces",
    "ransomware extortion of port operators",
)

_MALWARE = (
    ("SahelRAT", "remote-access-trojan"),
    ("DuneLoader", "downloader"),
    ("BaobabStealer", "spyware"),
    ("KoraSpy", "spyware"),
    ("HarmattanWiper", "wiper"),
    ("LagoonBot", "bot"),
    ("MirageDoor", "backdoor"),
    ("CaravanLock", "ransomware"),
    ("TerangaKeys", "keylogger"),
    ("OasisShell", "webshell"),
    ("SiroccoDrop", "dropper"),
    ("FennecRAT", "remote-access-trojan"),
)
_TECHNIQUES = (  # (name, ATT&CK id, English phrase, French phrase)
    (
        "Spearphishing Attachment",
        "T1566.001",
        "spear-phishing attachments",
        "des pièces jointes d'hameçonnage ciblé",
    ),
    ("Spearphishing Link", "T1566.002", "spear-phishing links", "des liens d'hameçonnage ciblé"),
    ("Valid Accounts", "T1078", "stolen valid accounts", "des comptes valides volés"),
    (
        "Exploit Public-Facing Application",
        "T1190",
        "exploitation of exposed VPN appliances",
        "l'exploitation de passerelles VPN exposées",
    ),
    (
        "Data Encrypted for Impact",
        "T1486",
        "ransomware encryption of file servers",
        "le chiffrement des serveurs de fichiers par rançongiciel",
    ),
    (
        "Exfiltration Over C2 Channel",
        "T1041",
        "exfiltration over the command channel",
        "l'exfiltration par le canal de commande",
    ),
    (
        "Server Software Component: Web Shell",
        "T1505.003",
        "web shells on public servers",
        "des webshells sur des serveurs publics",
    ),
    (
        "OS Credential Dumping",
        "T1003",
        "credential dumping with Mimikatz",
        "l'extraction d'identifiants avec Mimikatz",
    ),
    (
        "Brute Force: Password Spraying",
        "T1110.003",
        "password spraying against webmail",
        "la pulvérisation de mots de passe contre la messagerie web",
    ),
    ("Drive-by Compromise", "T1189", "watering-hole websites", "des sites de point d'eau"),
)
_SECTORS = (  # (English noun, French adjective phrase)
    ("government", "gouvernementales"),
    ("defence", "de défense"),
    ("telecommunications", "de télécommunications"),
    ("banking", "bancaires"),
    ("energy", "du secteur de l'énergie"),
    ("shipping", "de transport maritime"),
    ("customs", "douanières"),
    ("health", "de santé"),
    ("mobile money", "de paiement mobile"),
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

_SENTENCES_EN = (
    "{actor} targeted {sector} organisations in {country} using {technique}.",
    "The group deployed {malware} against {sector} networks around {city} between {month} "
    "and {month2} {year}.",
    "Analysts observed the theft of webmail credentials belonging to {sector} staff in {country}.",
    "Infrastructure hosted on compromised virtual private servers was used to exfiltrate "
    "documents from {city}.",
    "{malware} was delivered through fake invoices and forged customs clearance notices.",
    "The activity overlaps with earlier ransomware intrusions against port operators in the "
    "Gulf of Guinea.",
    "Several operators in {country} reported mobile money fraud and SIM swapping linked to "
    "{actor}.",
    "The actor relies on {technique} and on public tools such as Cobalt Strike.",
    "Command-and-control servers in {city} were sinkholed with the help of the national CERT.",
)
_SENTENCES_FR = (
    "{actor} a ciblé des organisations {sector_fr} {country_in} au moyen de {technique_fr}.",
    "Le groupe a déployé {malware} contre des réseaux {sector_fr} dans la région de {city} "
    "entre {month_fr} et {month2_fr} {year}.",
    "Les analystes ont constaté le vol d'identifiants de messagerie d'agents {sector_fr} "
    "{country_of}.",
    "Une infrastructure hébergée sur des serveurs privés virtuels compromis a servi à "
    "exfiltrer des documents depuis {city}.",
    "{malware} a été diffusé au moyen de fausses factures et de faux avis de dédouanement.",
    "Cette activité recoupe des intrusions antérieures par rançongiciel contre des "
    "opérateurs portuaires du golfe de Guinée.",
    "Plusieurs opérateurs {country_of} ont signalé des fraudes au paiement mobile et des "
    "échanges frauduleux de cartes SIM attribués à {actor}.",
    "L'acteur s'appuie sur {technique_fr} et sur des outils publics comme Cobalt Strike.",
    "Des serveurs de commande situés à {city} ont été neutralisés avec l'aide du CERT national.",
)
_UPDATES_EN = (
    "Update {n}: new indicators were shared by the national CERT.",
    "Update {n}: attribution confidence revised after a joint analysis.",
    "Update {n}: additional victims identified in the banking sector.",
)
_UPDATES_FR = (
    "Mise à jour {n} : de nouveaux indicateurs ont été partagés par le CERT national.",
    "Mise à jour {n} : le niveau de confiance de l'attribution a été revu après une analyse "
    "conjointe.",
    "Mise à jour {n} : de nouvelles victimes ont été identifiées dans le secteur bancaire.",
)
_CERT_SOURCES = (
    "CERT-SN",
    "CI-CERT",
    "ngCERT",
    "CSIRT-GH",
    "maCERT",
    "tunCERT",
    "CERT-BJ",
    "CIRT-BF",
)

# Words and phrases an analyst would type, all present in the generated text.
SEARCH_TERMS: tuple[str, ...] = (
    "hameçonnage",
    "rançongiciel",
    "ransomware",
    "phishing",
    "webshells",
    "Mimikatz",
    "Cobalt Strike",
    "douanières",
    "dédouanement",
    "customs",
    "exfiltrate",
    "exfiltrer",
    "mobile money",
    "paiement mobile",
    "cartes SIM",
    "SIM swapping",
    "VPN",
    "passerelles VPN",
    "golfe de Guinée",
    "Gulf of Guinea",
    "Dakar",
    "Bamako",
    "Abidjan",
    "Lagos",
    "Niamey",
    "Ouagadougou",
    "Tombouctou",
    "Nouakchott",
    "Casablanca",
    "Accra",
    "Sénégal",
    "Mali",
    "Nigeria",
    "Côte d'Ivoire",
    "Maroc",
    "Ministère de l'Intérieur",
    "Douanes",
    "Affaires étrangères",
    "Forces armées",
    "Sahel",
    "Harmattan",
    "Baobab",
    "Teranga",
    "SahelRAT",
    "DuneLoader",
    "CaravanLock",
    "KoraSpy",
    "HarmattanWiper",
    "espionnage",
    "espionage",
    "diplomatiques",
    "sinkholed",
    "neutralisés",
    "CERT national",
    "télécommunications",
    "telecommunications",
    "bancaire",
    "banking",
    "énergie",
    "identifiants",
    "credentials",
    "fausses factures",
    "fake invoices",
    "commande",
    "command-and-control",
    "Scorpion",
    "Fennec",
    "Jackal",
    "Opération Mirage",
    "Operation Sirocco",
    "analyse conjointe",
    "port operators",
    "opérateurs portuaires",
    "serveurs privés virtuels",
)


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stamp(ms: int) -> str:
    """Milliseconds since the epoch as an RFC 3339 UTC timestamp with milliseconds."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pools: dict[str, list[str]] = {kind: [] for kind in TYPE_WEIGHTS}
        self.all_ids: list[str] = []
        self.names: dict[str, str] = {}  # id -> name, for threat actors and malware

    # -- small helpers ------------------------------------------------------------------
    def pick(self, pool: list[str], skew: bool = True) -> str:
        """An element, biased towards older (better-known) ones when ``skew``."""
        if skew:
            return pool[int(len(pool) * self.rng.random() ** 1.6)]
        return pool[self.rng.randrange(len(pool))]

    def marking(self) -> list[str]:
        return self.rng.choices(TLP_MARKINGS, weights=_TLP_WEIGHTS)

    def country(self) -> Country:
        return COUNTRIES[self.rng.randrange(len(COUNTRIES))]

    def actor_name(self) -> str:
        if self.pools["threat-actor"] and self.rng.random() < 0.8:
            return self.names[self.pick(self.pools["threat-actor"])]
        return f"{self.rng.choice(_ADJECTIVES_EN)} {self.rng.choice(_ANIMALS_EN)}"

    def malware_name(self) -> str:
        return self.rng.choice(_MALWARE)[0]

    def sentences(self, french: bool, count: int) -> str:
        rng = self.rng
        out: list[str] = []
        for _ in range(count):
            country = self.country()
            sector = rng.choice(_SECTORS)
            technique = rng.choice(_TECHNIQUES)
            month = rng.randrange(12)
            template = rng.choice(_SENTENCES_FR if french else _SENTENCES_EN)
            out.append(
                template.format(
                    actor=self.actor_name(),
                    malware=self.malware_name(),
                    sector=sector[0],
                    sector_fr=sector[1],
                    technique=technique[2],
                    technique_fr=technique[3],
                    country=country.name_en,
                    country_in=country.in_fr,
                    country_of=country.of_fr,
                    city=rng.choice(country.cities)[0],
                    month=_MONTHS_EN[month],
                    month2=_MONTHS_EN[min(11, month + rng.randint(1, 4))],
                    month_fr=_MONTHS_FR[month],
                    month2_fr=_MONTHS_FR[min(11, month + rng.randint(1, 4))],
                    year=rng.randint(2019, 2024),
                )
            )
        return " ".join(out)

    def external_references(self, french: bool) -> list[dict[str, str]]:
        rng = self.rng
        source = rng.choice(_CERT_SOURCES)
        year = rng.randint(2019, 2024)
        number = rng.randint(1, 400)
        reference = {
            "source_name": source,
            "external_id": f"{source}-{year}-{number:04d}",
            "url": f"https://www.{source.lower()}.example/{'avis' if french else 'advisories'}/"
            f"{year}/{number:04d}",
        }
        if rng.random() < 0.5:
            reference["description"] = (
                f"Avis de sécurité {source} n° {number}"
                if french
                else f"{source} security advisory {number}"
            )
        return [reference]

    # -- objects ------------------------------------------------------------------------
    def common(self, stix_type: str, created_ms: int) -> dict[str, Any]:
        created = stamp(created_ms)
        obj: dict[str, Any] = {
            "type": stix_type,
            "spec_version": "2.1",
            "id": f"{stix_type}--{_uuid4(self.rng)}",
            "created": created,
            "modified": created,
        }
        identities = self.pools["identity"]
        if identities:
            obj["created_by_ref"] = self.pick(
                identities[:60] if self.rng.random() < 0.9 else identities
            )
        obj["object_marking_refs"] = self.marking()
        return obj

    def identity(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("identity", created_ms)
        country = self.country()
        roll = rng.random()
        if roll < 0.7:
            if country.francophone:
                label, sector = rng.choice(_MINISTRIES_FR)
                obj["name"] = f"{label} {country.of_fr}"
                obj["lang"] = "fr"
                obj["description"] = (
                    f"Administration {country.of_fr}, partenaire de la coopération bilatérale "
                    "en matière de cybersécurité."
                )
            else:
                label, sector = rng.choice(_MINISTRIES_EN)
                obj["name"] = f"{label}, {country.name_en}"
                obj["lang"] = "en"
                obj["description"] = (
                    f"Government body of {country.name_en}, partner in bilateral security "
                    "cooperation."
                )
            obj["identity_class"] = "organization"
            obj["sectors"] = [sector]
            obj["contact_information"] = f"cyber@{country.code.lower()}.gov.example"
        elif roll < 0.8:
            name, sector = rng.choice(_COMPANIES)
            obj["name"] = f"{name} ({country.name_fr})"
            obj["identity_class"] = "organization"
            obj["sectors"] = [sector]
        else:
            first = rng.choice(_FIRST_NAMES)
            last = rng.choice(_LAST_NAMES)
            french = country.francophone
            obj["name"] = f"{first} {last}"
            obj["identity_class"] = "individual"
            obj["roles"] = [rng.choice(_ROLES_FR if french else _ROLES_EN)]
            obj["lang"] = "fr" if french else "en"
            obj["contact_information"] = (
                f"{first.lower()}.{last.lower().replace(' ', '')}@mail.example"
            )
        return obj

    def location(self, created_ms: int, index: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("location", created_ms)
        if index < len(COUNTRIES):  # the prefix: one location per country
            country = COUNTRIES[index]
            _, latitude, longitude = country.cities[0]
            obj.update(
                name=country.name_fr if country.francophone else country.name_en,
                country=country.code,
                region=country.region,
                latitude=latitude,
                longitude=longitude,
            )
            return obj
        roll = rng.random()
        if roll < 0.1:
            region, name_fr, name_en, latitude, longitude = rng.choice(_REGIONS)
            obj.update(
                name=name_fr if rng.random() < 0.6 else name_en,
                region=region,
                latitude=latitude,
                longitude=longitude,
            )
            return obj
        country = self.country()
        city, latitude, longitude = rng.choice(country.cities)
        obj.update(country=country.code, region=country.region, city=city)
        if roll < 0.5:
            obj["name"] = city
            obj["latitude"] = latitude
            obj["longitude"] = longitude
        else:
            french = country.francophone
            site = rng.randrange(len(_SITES_FR))
            obj["name"] = f"{city}, {_SITES_FR[site]}" if french else f"{city} {_SITES_EN[site]}"
            obj["latitude"] = round(latitude + rng.uniform(-0.05, 0.05), 5)
            obj["longitude"] = round(longitude + rng.uniform(-0.05, 0.05), 5)
            obj["precision"] = round(rng.uniform(50, 2000), 1)
            obj["description"] = self.sentences(french, 1)
            obj["lang"] = "fr" if french else "en"
        return obj

    def threat_actor(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("threat-actor", created_ms)
        french = rng.random() < 0.55
        english_name = f"{rng.choice(_ADJECTIVES_EN)} {rng.choice(_ANIMALS_EN)}"
        french_name = rng.choice(_NAMES_FR)
        name = french_name if french else english_name
        aliases = [english_name if french else french_name, f"TA{rng.randint(400, 999)}"]
        if rng.random() < 0.4:
            aliases.append(f"UNC{rng.randint(1000, 5999)}")
        obj.update(
            name=name,
            aliases=aliases,
            description=self.sentences(french, rng.randint(1, 3)),
            threat_actor_types=[rng.choice(_TA_TYPES)],
            roles=[rng.choice(_TA_ROLES)],
            goals=[rng.choice(_GOALS_FR if french else _GOALS_EN)],
            sophistication=rng.choice(_SOPHISTICATION),
            resource_level=rng.choice(_RESOURCE_LEVELS),
            primary_motivation=rng.choice(_MOTIVATIONS),
            first_seen=stamp(created_ms - rng.randint(30, 900) * _DAY_MS),
            lang="fr" if french else "en",
            confidence=rng.choice((15, 50, 85)),
        )
        if rng.random() < 0.3:
            obj["external_references"] = self.external_references(french)
        self.names[obj["id"]] = name
        return obj

    def intrusion_set(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("intrusion-set", created_ms)
        french = rng.random() < 0.55
        operation = rng.choice(_OPERATIONS)
        number = rng.randint(1, 99)
        name = f"Opération {operation} {number}" if french else f"Operation {operation} {number}"
        obj.update(
            name=name,
            aliases=[
                f"Campagne {operation}" if french else f"{operation} cluster",
                f"IS-{rng.randint(100, 999)}",
            ],
            description=self.sentences(french, rng.randint(1, 3)),
            goals=[rng.choice(_GOALS_FR if french else _GOALS_EN)],
            resource_level=rng.choice(_RESOURCE_LEVELS),
            primary_motivation=rng.choice(_MOTIVATIONS),
            first_seen=stamp(created_ms - rng.randint(10, 400) * _DAY_MS),
            lang="fr" if french else "en",
        )
        if rng.random() < 0.3:
            obj["external_references"] = self.external_references(french)
        return obj

    def malware(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("malware", created_ms)
        name, kind = rng.choice(_MALWARE)
        french = rng.random() < 0.5
        variant = f"{name} v{rng.randint(1, 5)}.{rng.randint(0, 9)}"
        obj.update(
            name=variant,
            aliases=[name],
            is_family=True,
            malware_types=[kind],
            description=self.sentences(french, rng.randint(1, 2)),
            lang="fr" if french else "en",
        )
        self.names[obj["id"]] = variant
        return obj

    def attack_pattern(self, created_ms: int, index: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("attack-pattern", created_ms)
        name, technique_id, english, french_phrase = _TECHNIQUES[index % len(_TECHNIQUES)]
        french = rng.random() < 0.5
        obj.update(
            name=name,
            description=(
                f"Technique observée : {french_phrase}."
                if french
                else f"Observed technique: {english}."
            ),
            external_references=[
                {
                    "source_name": "mitre-attack",
                    "external_id": technique_id,
                    "url": "https://attack.mitre.org/techniques/" + technique_id.replace(".", "/"),
                }
            ],
            lang="fr" if french else "en",
        )
        return obj

    _RELATIONSHIPS = (  # (weight, source type, relationship type, target type)
        (14, "threat-actor", "uses", "malware"),
        (10, "threat-actor", "uses", "attack-pattern"),
        (10, "threat-actor", "targets", "identity"),
        (8, "threat-actor", "targets", "location"),
        (6, "threat-actor", "located-at", "location"),
        (2, "threat-actor", "impersonates", "identity"),
        (10, "intrusion-set", "attributed-to", "threat-actor"),
        (8, "intrusion-set", "uses", "malware"),
        (8, "intrusion-set", "uses", "attack-pattern"),
        (8, "intrusion-set", "targets", "identity"),
        (6, "intrusion-set", "targets", "location"),
        (3, "intrusion-set", "originates-from", "location"),
        (5, "identity", "located-at", "location"),
        (2, "malware", "targets", "identity"),
    )
    _RELATIONSHIP_WEIGHTS = tuple(weight for weight, *_ in _RELATIONSHIPS)

    def relationship(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("relationship", created_ms)
        _, source_type, relationship_type, target_type = rng.choices(
            self._RELATIONSHIPS, weights=self._RELATIONSHIP_WEIGHTS
        )[0]
        if not self.pools[source_type]:
            source_type, relationship_type, target_type = "threat-actor", "uses", "malware"
        obj["relationship_type"] = relationship_type
        obj["source_ref"] = self.pick(self.pools[source_type], skew=False)
        obj["target_ref"] = self.pick(self.pools[target_type])
        roll = rng.random()
        if roll < 0.35:
            obj["description"] = self.sentences(rng.random() < 0.55, 1)
        if roll > 0.7:
            obj["start_time"] = stamp(created_ms - rng.randint(1, 300) * _DAY_MS)
        if rng.random() < 0.3:
            obj["confidence"] = rng.choice((15, 50, 85))
        return obj

    def refs(self, low: int, high: int) -> list[str]:
        """``low``-``high`` distinct earlier identifiers, mostly recent ones."""
        window = self.all_ids[-5000:]
        count = min(len(window), self.rng.randint(low, high))
        return self.rng.sample(window, count)

    def report(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("report", created_ms)
        french = rng.random() < 0.55
        country = self.country()
        actor = self.actor_name()
        quarter = rng.randint(1, 4)
        year = rng.randint(2019, 2024)
        if french:
            name = rng.choice(
                (
                    f"Bulletin de menace : {actor} {country.in_fr}",
                    f"Rapport trimestriel sur la cybermenace, T{quarter} {year}",
                    f"Note d'analyse : campagne d'hameçonnage {country.in_fr}",
                    f"Fiche acteur : {actor}",
                )
            )
        else:
            name = rng.choice(
                (
                    f"Threat bulletin: {actor} in {country.name_en}",
                    f"Quarterly cyber threat report, Q{quarter} {year}",
                    f"Analysis note: phishing campaign in {country.name_en}",
                    f"Actor profile: {actor}",
                )
            )
        obj.update(
            name=name,
            description=self.sentences(french, rng.randint(2, 4)),
            published=stamp(created_ms - rng.randint(0, 72) * _HOUR_MS),
            report_types=[
                rng.choice(
                    ("threat-report", "threat-actor", "intrusion-set", "malware", "attack-pattern")
                )
            ],
            object_refs=self.refs(3, 20),
            lang="fr" if french else "en",
        )
        if rng.random() < 0.4:
            obj["external_references"] = self.external_references(french)
        return obj

    def note(self, created_ms: int) -> dict[str, Any]:
        rng = self.rng
        obj = self.common("note", created_ms)
        french = rng.random() < 0.55
        obj.update(
            abstract=("Commentaire d'analyste" if french else "Analyst comment"),
            content=self.sentences(french, rng.randint(1, 3)),
            authors=[f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"],
            object_refs=self.refs(1, 3),
            lang="fr" if french else "en",
        )
        return obj

    def build(self, stix_type: str, created_ms: int, index: int) -> dict[str, Any]:
        if stix_type == "relationship":
            return self.relationship(created_ms)
        if stix_type == "report":
            return self.report(created_ms)
        if stix_type == "note":
            return self.note(created_ms)
        if stix_type == "identity":
            return self.identity(created_ms)
        if stix_type == "location":
            return self.location(created_ms, len(self.pools["location"]))
        if stix_type == "threat-actor":
            return self.threat_actor(created_ms)
        if stix_type == "intrusion-set":
            return self.intrusion_set(created_ms)
        if stix_type == "malware":
            return self.malware(created_ms)
        return self.attack_pattern(created_ms, len(self.pools["attack-pattern"]))

    def revise(self, previous: dict[str, Any], version: int, modified_ms: int) -> dict[str, Any]:
        """The next version: a later ``modified`` and a changed description (or content)."""
        rng = self.rng
        obj = dict(previous)
        obj["modified"] = stamp(modified_ms)
        french = obj.get("lang") == "fr"
        update = rng.choice(_UPDATES_FR if french else _UPDATES_EN).format(n=version - 1)
        if obj["type"] == "note":
            obj["content"] = f"{obj['content']} {update}"
        else:
            base = obj.get("description")
            obj["description"] = f"{base} {update}" if base else update
        if "confidence" in obj or rng.random() < 0.3:
            obj["confidence"] = rng.choice((15, 50, 85, 95))
        return obj


def _version_counts(count: int, rng: random.Random) -> list[int]:
    """Versions per identifier, in order, summing to exactly ``count``."""
    counts: list[int] = []
    total = 0
    while total < count:
        versions = rng.randint(2, 4) if rng.random() < MULTI_VERSION_SHARE else 1
        versions = min(versions, count - total)
        counts.append(versions)
        total += versions
    return counts


def generate_objects(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` STIX 2.1 object versions (dicts), the same for the same arguments."""
    if count <= 0:
        return []
    generator = _Generator(seed)
    rng = generator.rng
    counts = _version_counts(count, rng)
    identifiers = len(counts)
    kinds = list(TYPE_WEIGHTS)
    types = _PREFIX[:identifiers] + rng.choices(
        kinds, weights=[TYPE_WEIGHTS[kind] for kind in kinds], k=max(0, identifiers - len(_PREFIX))
    )
    step = _SPAN_MS // identifiers
    spread = max(1, identifiers // 8)  # how far later in the stream a new version lands

    keyed: list[tuple[int, int, dict[str, Any]]] = []
    for position, (stix_type, versions) in enumerate(zip(types, counts, strict=True)):
        created_ms = _START_MS + position * step + rng.randrange(_DAY_MS)
        obj = generator.build(stix_type, created_ms, position)
        generator.pools[stix_type].append(obj["id"])
        generator.all_ids.append(obj["id"])
        keyed.append((position, 0, obj))
        later = position
        modified_ms = created_ms
        for version in range(2, versions + 1):
            later = min(identifiers - 1, later + rng.randint(1, spread))
            modified_ms += rng.randint(1, 90 * 24) * _HOUR_MS + rng.randrange(1000)
            obj = generator.revise(obj, version, modified_ms)
            keyed.append((later, version, obj))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [obj for _, _, obj in keyed]


def type_counts(objects: list[dict[str, Any]]) -> dict[str, int]:
    """How many versions of each type (for the benchmark's description of the data)."""
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))

"""STIX objects under every marking, built with the domain helpers, and an independent
model of who is entitled to what (written from the marking rules, not from ``decide``)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from diapason.domain.extensions import FIXED_HANDLING_IDS, PAP_IDS, TLP_2_0_IDS
from diapason.domain.grading import grade, mark_osint
from diapason.domain.markings import add_granular_marking, h3_marking, releasability_marking
from diapason.domain.protection import protect
from diapason.domain.timestamps import as_store_timestamp
from tests import builders

TLPS = (None, "clear", "green", "amber", "amber+strict", "red")


class Clock:
    """Distinct, increasing STIX timestamps (millisecond steps), starting a day ago."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC) - timedelta(days=1)

    def tick(self) -> str:
        self.moment += timedelta(milliseconds=1)
        return (
            self.moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.moment.microsecond // 1000:03d}Z"
        )


def identity(name: str, clock: Clock) -> dict[str, Any]:
    """A third organisation's identity (graded, TLP:GREEN, created by itself)."""
    identity_id = f"identity--{uuid.uuid4()}"
    now = clock.tick()
    return grade(
        {
            "type": "identity",
            "spec_version": "2.1",
            "id": identity_id,
            "created": now,
            "modified": now,
            "created_by_ref": identity_id,
            "name": name,
            "identity_class": "organization",
            "object_marking_refs": [TLP_2_0_IDS["green"]],
        },
        "admiralty",
        "C",
        "3",
    )


def sdo(
    stix_type: str,
    author: str,
    tlp: str | None,
    clock: Clock,
    *,
    markings: tuple[str, ...] = (),
    **properties: Any,
) -> dict[str, Any]:
    """``tests.builders.sdo`` created by ``author`` at the clock's next tick, under ``tlp``."""
    now = clock.tick()
    obj = builders.sdo(stix_type, created=now, created_by_ref=author, **properties)
    refs = ([TLP_2_0_IDS[tlp]] if tlp is not None else []) + list(markings)
    if refs:
        obj["object_marking_refs"] = refs
    return obj


def graded(obj: dict[str, Any], code: str = "B2") -> dict[str, Any]:
    return grade(obj, "admiralty", code[0], code[1])


def new_version(obj: dict[str, Any], clock: Clock, **changes: Any) -> dict[str, Any]:
    """The next version of ``obj``: same id and created, a later ``modified``."""
    version = {**obj, **changes, "modified": clock.tick()}
    return {key: value for key, value in version.items() if value is not None}


@dataclass(frozen=True)
class Spec:
    """What one generated object version carries, as the test chose it."""

    tlp: str | None
    rel_to: tuple[str, ...] | None  # partner names of its REL TO list, if any
    grading: str  # "admiralty", "europol", "osint", "none"
    handling: str | None  # None, "H0", "H1", "H2", "H3"
    pap: str | None  # PAP level: carried, no part in the release decision
    author: str  # "own" or "third"
    person: str | None  # None, "past", "future", "unprotected"
    granular_red: bool


def entitled(spec: Spec, partner: str) -> bool:
    """Whether ``partner`` may receive a version with these markings: the sharing rules of
    docs/release.md, written out here from the markings the test generated."""
    if spec.author != "own":
        return False  # third-party rule (no consent recorded in these tests)
    if spec.tlp == "red" or spec.granular_red:
        return False  # TLP:RED goes to named recipients only (none here)
    names = {" ".join(name.lower().split()) for name in spec.rel_to or ()}
    if spec.rel_to is not None and partner not in names:
        return False
    if spec.tlp in (None, "amber", "amber+strict") and spec.rel_to is None:
        return False  # AMBER (or no TLP, read as AMBER) needs a REL TO list
    if spec.handling == "H3":
        return False  # held for manual review
    if spec.person in ("past", "unprotected"):
        return False  # review overdue, or no data-protection metadata
    return spec.grading != "none"  # ungraded only with the OSINT flag


# REL TO lists that name the receiving partner (in several spellings) or do not.
def rel_to_lists(partner: str) -> list[tuple[str, ...]]:
    return [
        (partner,),
        (partner.upper(), "north"),
        (f"  {partner.title()} ", "north", "south"),
        ("north",),
        ("north", "south"),
    ]


class Generator:
    """Random object versions of mixed markings for ``own`` facing ``partner``."""

    def __init__(self, own: str, partner: str, seed: int) -> None:
        self.own = own
        self.partner = partner
        self.random = random.Random(seed)
        self.clock = Clock()
        self.third = [identity(f"Agence tierce {n}", self.clock) for n in range(3)]
        self.rel_to = {names: releasability_marking(list(names)) for names in rel_to_lists(partner)}
        self.h3 = h3_marking("Not for use in judicial proceedings without consent.")
        self.today = datetime.now(UTC).date()

    def definitions(self) -> list[dict[str, Any]]:
        """The marking-definitions the objects use (stored before them)."""
        return [*self.rel_to.values(), self.h3]

    def entitled_definitions(self) -> set[str]:
        """Definitions the partner gets: REL TO lists naming it, and H3 texts."""
        key = self.partner
        return {
            definition["id"]
            for names, definition in self.rel_to.items()
            if key in {" ".join(name.lower().split()) for name in names}
        } | {self.h3["id"]}

    def spec(self) -> Spec:
        pick = self.random.choice
        person = pick([None, None, None, "past", "future", "future", "unprotected"])
        return Spec(
            tlp=pick(TLPS),
            rel_to=pick([None, None, *self.rel_to]),
            grading=pick(["admiralty", "europol", "osint", "none"]),
            handling=pick([None, None, None, "H0", "H1", "H2", "H3"]),
            pap=pick([None, None, "clear", "green", "amber", "red"]),
            author=pick(["own"] * 5 + ["third"]),
            person=person,
            granular_red=self.random.random() < 0.03,
        )

    def build(self, spec: Spec, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """An object version carrying ``spec`` (a new version of ``base`` if given: same
        id, type, author and creation time)."""
        if base is not None:
            author = str(base["created_by_ref"])
        else:
            author = self.own if spec.author == "own" else self.pick_third()
        markings: list[str] = []
        if spec.rel_to is not None:
            markings.append(self.rel_to[spec.rel_to]["id"])
        if spec.handling == "H3":
            markings.append(self.h3["id"])
        elif spec.handling is not None:
            markings.append(FIXED_HANDLING_IDS[spec.handling])
        if spec.pap is not None:
            markings.append(PAP_IDS[spec.pap])
        if spec.person is not None:
            fresh = sdo(
                "identity",
                author,
                spec.tlp,
                self.clock,
                markings=tuple(markings),
                name=f"Personne {self.random.randrange(10**6)}",
                description="Passeur présumé",
                identity_class="individual",
            )
        else:
            stix_type = (
                str(base["type"])
                if base is not None
                else self.random.choice(["threat-actor", "intrusion-set", "campaign"])
            )
            fresh = sdo(
                stix_type,
                author,
                spec.tlp,
                self.clock,
                markings=tuple(markings),
                name=f"Objet {self.random.randrange(10**6)}",
                description="Réseau transsaharien, axe côtier",
            )
        obj = fresh if base is None else {**fresh, "id": base["id"], "created": base["created"]}
        if spec.person is not None and spec.person != "unprotected":
            days = -self.random.randint(2, 400) if spec.person == "past" else 30
            obj = protect(obj, "suspect", self.today + timedelta(days=days), nature="fact")
        if spec.granular_red:
            obj = add_granular_marking(obj, TLP_2_0_IDS["red"], ["description"])
        if spec.grading == "admiralty":
            obj = grade(
                obj, "admiralty", self.random.choice("ABCDEF"), self.random.choice("123456")
            )
        elif spec.grading == "europol":
            obj = grade(obj, "europol-4x4", self.random.choice("ABCX"), self.random.choice("1234"))
        elif spec.grading == "osint":
            obj = mark_osint(obj)
        return obj

    def pick_third(self) -> str:
        return str(self.random.choice(self.third)["id"])

    def objects(
        self, count: int, second_versions: float = 0.1
    ) -> tuple[list[dict[str, Any]], set[tuple[str, str]], set[tuple[str, str]]]:
        """``count`` objects, some with a second version of other markings (a marking
        raised to RED loses the release; lowered, it gains it). Returns the versions in
        write order, the entitled ``(id, modified)`` and the rest."""
        written: list[dict[str, Any]] = []
        allowed: set[tuple[str, str]] = set()
        refused: set[tuple[str, str]] = set()
        for _ in range(count):
            chain = [self.spec()]
            if self.random.random() < second_versions:
                # Same author and kind of record; other markings, grading, review date.
                later = self.spec()
                person = (later.person or "future") if chain[0].person else None
                chain.append(replace(later, author=chain[0].author, person=person))
            base: dict[str, Any] | None = None
            for spec in chain:
                obj = self.build(spec, base)
                base = obj
                written.append(obj)
                key = (obj["id"], as_store_timestamp(obj["modified"]))
                (allowed if entitled(spec, self.partner) else refused).add(key)
        return written, allowed, refused

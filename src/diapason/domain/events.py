"""The shared vocabulary of events: Diapason's event object, PLOVER types and topics.

The OSINT pipeline writes events with this vocabulary and anticipation counts them by it;
keeping it here lets each package rely on the other's objects without importing it.
"""

from __future__ import annotations

# The custom STIX object type of an event (declared by the "event" extension-definition).
EVENT_TYPE = "x-diapason-event"

# PLOVER 2.0 event types (openeventdata/PLOVER), cooperative to conflictual.
PLOVER_TYPES: tuple[str, ...] = (
    "AGREE",
    "CONSULT",
    "SUPPORT",
    "CONCEDE",
    "COOPERATE",
    "AID",
    "RETREAT",
    "REQUEST",
    "ACCUSE",
    "REJECT",
    "THREATEN",
    "PROTEST",
    "SANCTION",
    "MOBILIZE",
    "COERCE",
    "ASSAULT",
)

# The topics an article or event is about; NO_TOPIC when none applies.
TOPICS: tuple[str, ...] = (
    "terrorism",
    "organized_crime",
    "drug_trafficking",
    "migration",
    "border_security",
    "security_cooperation",
    "cyber",
)
NO_TOPIC = "none"

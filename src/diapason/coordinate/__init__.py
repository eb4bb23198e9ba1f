"""The joint mechanism (GMMP): groups, meetings, action items, requests for information,
migration indicators, shared assessments and their documents, all as STIX objects that
travel to partners through the same channel, policy and audit trail as intelligence.

``Coordination`` (``service.py``) is the public service the CLI, the JSON API and the web
interface call; ``CoordinationError`` is what it raises for a request it refuses.
"""

from diapason.coordinate.records import (
    ConflictError,
    CoordinationError,
    NotFound,
    Refused,
)
from diapason.coordinate.service import Coordination

__all__ = ["ConflictError", "Coordination", "CoordinationError", "NotFound", "Refused"]

"""Admission to the endpoints only a partner node calls: the MISP feed (``misp_feed.py``)
and the witness of audit heads (``witness_api.py``).

The caller shows credentials as for TAXII (a Bearer token, or HTTP Basic); an account that
does not speak for a partner node (``Partners.speaking_for``) is refused 403, audited as a
denial. Every refusal is audited and answered ``{"error": "<one line>"}``, through the one
request pipeline (``http/pipeline.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from diapason.accounts import User
from diapason.exchange.partners import Partner
from diapason.http.pipeline import Credentials, Pipeline, Refused, Trail, json_error
from diapason.node import Node


@dataclass(frozen=True)
class PartnerCaller:
    """Who calls: a partner node's account, and the partner it speaks for."""

    partner: Partner
    user: User


class PartnerAdmission:
    """Admits a partner node's account; ``refusal`` tells anyone else why not (403)."""

    def __init__(self, node: Node, refusal: str) -> None:
        self.partners = node.partners
        self.refusal = refusal
        self.trail = Trail(node.audit, "api", denial_status=True)
        self.credentials = Credentials(node.authenticator, self.trail)

    def pipeline(self) -> Pipeline[PartnerCaller]:
        """The request pipeline of an endpoint only partners call."""
        return Pipeline[PartnerCaller](self.admit, json_error, self.refused)

    def admit(self, request: Request) -> PartnerCaller:
        user = self.credentials.user(request)
        partner = self.partners.speaking_for(user)
        if partner is None:
            raise self.trail.denied(
                request, user, "not a partner node's account", Refused(403, self.refusal)
            )
        return PartnerCaller(partner, user)

    def refused(self, request: Request, caller: PartnerCaller | None, refused: Refused) -> None:
        self.trail.refused(request, caller.user if caller else None, refused)

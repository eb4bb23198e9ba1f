"""A MISP feed of what this node released to one partner, under ``/misp/feed/``.

A partner's MISP adds it as a feed (format "MISP Feed", with the header
``Authorization: Bearer <token>`` of the partner's account) and pulls it on its own
schedule: ``manifest.json`` lists the events, ``<event uuid>.json`` is one event,
``hashes.csv`` the md5 of every value with its event (MISP's feed format, written by
PyMISP's ``to_feed``). The events are the partner's outbox, the versions the release
policy and the ledger released to it, converted by misp-stix (``exchange/misp.py``): a
report or grouping is one event; what no released report holds is one more event.

Only a partner node's account may read it, and only its own outbox. Every pull is audited
as a ``disclose`` to that partner with the ids of the objects it carried; refusals are
audited and answered ``{"error": "<one line>"}``, through the one request pipeline.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from diapason.exchange.collections import EntryFilter
from diapason.exchange.misp import MispError, Organisation, feed_bundle_name, stix_to_misp, to_feed
from diapason.exchange.partners import Partner
from diapason.http.pipeline import Refused
from diapason.node import Node
from diapason.web.partner_api import PartnerAdmission, PartnerCaller

log = logging.getLogger("diapason.misp")

FEED_PATH = "/misp/feed"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Feed:
    """The feed of one partner: its events (feed JSON), manifest, hashes, and the STIX ids
    each event carries (what a pull of it discloses)."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    carried: dict[str, list[str]] = field(default_factory=dict)


class MispFeed:
    """The feed's three resources, served through the request pipeline."""

    def __init__(self, node: Node) -> None:
        self.node = node
        admission = PartnerAdmission(node, "only a partner node's account reads the MISP feed")
        self.pipeline = admission.pipeline()
        # Each partner's feed as last made, with what its outbox was then.
        self._feeds: dict[str, tuple[tuple[int, int], Feed]] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route(f"{FEED_PATH}/manifest.json", self.pipeline.endpoint(self._manifest)),
            Route(f"{FEED_PATH}/hashes.csv", self.pipeline.endpoint(self._hashes)),
            Route(f"{FEED_PATH}/{{name}}.json", self.pipeline.endpoint(self._event)),
        ]

    def feed(self, partner: Partner) -> Feed:
        """The partner's feed, made again only when its outbox changed since the last pull
        (a MISP pulls the manifest, then each event: one conversion serves them all)."""
        key = self._outbox_key(partner)
        with self._lock:
            held = self._feeds.get(partner.name)
            if held is not None and held[0] == key:
                return held[1]
        try:
            made = self._make(partner)
        except MispError as error:
            raise Refused(500, f"the MISP feed could not be made: {error}") from None
        with self._lock:
            self._feeds[partner.name] = (key, made)
        return made

    def _outbox_key(self, partner: Partner) -> tuple[int, int]:
        """What tells the outbox changed: how many latest versions it lists, the last one."""
        count = last = 0
        after = 0
        while True:
            page = self.node.collections.page(
                partner.outbox, EntryFilter(), after=after, limit=10_000, with_content=False
            )
            count += len(page.entries)
            if page.entries:
                last = after = page.entries[-1][0]
            if not page.more or not page.entries:
                return count, last

    def _make(self, partner: Partner) -> Feed:
        """The partner's feed, from the latest versions of its outbox."""
        objects: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.node.collections.page(partner.outbox, EntryFilter(), after=after)
            objects.extend(orjson.loads(text) for text in page.contents or [])
            if not page.more or not page.entries:
                break
            after = page.entries[-1][0]
        feed = Feed()
        if not objects:
            return feed
        node = self.node
        identity = node.store.get(node.identity_id) if node.identity_id else None
        organisation = Organisation.of_identity(
            identity.object if identity else None, node.settings.node_name
        )
        name = feed_bundle_name(node.identity_id or "", partner.name)
        made = stix_to_misp(objects, organisation, bundle_name=name)
        for problem in made.problems[:20]:
            log.warning("MISP feed of %s: not converted by misp-stix: %s", partner.name, problem)
        events = made.events
        in_containers: set[str] = set()
        for obj in objects:
            if obj.get("type") in ("report", "grouping"):
                in_containers.update(obj.get("object_refs") or [])
                in_containers.add(str(obj["id"]))
        for event in events:
            event_feed, manifest, hashes = to_feed(event["Event"])
            event_uuid = str(event["Event"]["uuid"])
            feed.events[event_uuid] = event_feed
            feed.manifest.update(manifest)
            feed.hashes.extend((value, event_uuid) for value in hashes)
            feed.carried[event_uuid] = _carried(event_uuid, objects, in_containers)
        return feed

    def _disclosed(self, reader: PartnerCaller, request: Request, ids: list[str]) -> None:
        self.node.audit.append(
            reader.user.username,
            "disclose",
            list(dict.fromkeys(ids)),
            details={
                "misp_feed": request.url.path[:300],
                "recipient": reader.user.username,
                "partner": reader.partner.name,
            },
        )

    def _manifest(self, request: Request, reader: PartnerCaller) -> Response:
        feed = self.feed(reader.partner)
        self._disclosed(reader, request, _containers(feed))
        return Response(orjson.dumps(feed.manifest), media_type="application/json")

    def _hashes(self, request: Request, reader: PartnerCaller) -> Response:
        feed = self.feed(reader.partner)
        self._disclosed(reader, request, [i for ids in feed.carried.values() for i in ids])
        text = "".join(f"{value},{event_uuid}\n" for value, event_uuid in feed.hashes)
        return Response(text, media_type="text/csv")

    def _event(self, request: Request, reader: PartnerCaller) -> Response:
        name = request.path_params["name"]
        if not _UUID.fullmatch(name):
            raise Refused(404, "no such event in this feed")
        feed = self.feed(reader.partner)
        event = feed.events.get(name)
        if event is None:
            raise Refused(404, "no such event in this feed")
        self._disclosed(reader, request, feed.carried[name])
        return Response(orjson.dumps(event), media_type="application/json")


def _containers(feed: Feed) -> list[str]:
    """What a manifest tells: the events' titles and tags, from their reports."""
    return [ids[0] for ids in feed.carried.values() if ids]


def _carried(event_uuid: str, objects: list[dict[str, Any]], in_containers: set[str]) -> list[str]:
    """The STIX ids an event was made of: its report (or grouping) and what that holds, or,
    for the event of objects in no report, those objects."""
    by_id = {str(obj["id"]): obj for obj in objects}
    for prefix in ("report", "grouping"):
        container = by_id.get(f"{prefix}--{event_uuid}")
        if container is not None:
            held = [ref for ref in container.get("object_refs") or [] if ref in by_id]
            return [str(container["id"]), *held]
    return [
        identifier
        for identifier, obj in by_id.items()
        if identifier not in in_containers
        and obj.get("type") not in ("marking-definition", "extension-definition", "identity")
    ]

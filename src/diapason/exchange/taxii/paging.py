"""The listings of manifest, objects, one object and versions: one page of a collection's
entries (keyset on the collection's ``seq``) and the signed, stateless cursor of the next."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from diapason.accounts import User
from diapason.domain.cursor import CursorError, filter_digest, sign, verify
from diapason.exchange.collections import Collection, EntryPage
from diapason.exchange.taxii.context import Context
from diapason.exchange.taxii.params import Listing
from diapason.http.pipeline import Refused

CURSOR_LIFETIME = 24 * 3600.0


@dataclass(frozen=True)
class Listed:
    """One page: its collection, its entries, the envelope's paging fields (``more``,
    ``next``) and the headers of its date-added range."""

    collection: Collection
    page: EntryPage
    envelope: dict[str, Any]
    headers: dict[str, str]


def _binding(
    collection: Collection,
    endpoint: str,
    user: User,
    listing: Listing,
    object_id: str | None,
) -> dict[str, Any]:
    """What a cursor is valid for: the collection, endpoint, object, user and filter."""
    entry_filter = listing.filter
    return {
        "c": collection.id,
        "e": endpoint,
        "o": object_id,
        "u": user.username,
        "f": filter_digest(
            [
                entry_filter.ids,
                entry_filter.types,
                entry_filter.versions,
                entry_filter.spec_versions,
                entry_filter.added_after,
            ]
        ),
    }


def _position(taxii: Context, listing: Listing, binding: dict[str, Any]) -> int:
    if listing.next is None:
        return 0
    try:
        return verify(
            listing.next,
            taxii.key,
            expected=binding,
            now=time.time(),
            lifetime=CURSOR_LIFETIME,
        )
    except CursorError as error:
        raise Refused(400, str(error)) from None


def page(
    taxii: Context,
    request: Request,
    user: User,
    endpoint: str,
    *,
    object_id: str | None = None,
    with_content: bool,
    default_versions: tuple[str, ...] = ("last",),
) -> Listed:
    """The page of ``endpoint`` the request asks for, in a collection the user may read."""
    collection = taxii.collection(request, user)
    listing = taxii.listing(request, endpoint)
    binding = _binding(collection, endpoint, user, listing, object_id)
    after = _position(taxii, listing, binding)
    entries = taxii.collections.page(
        collection.id,
        listing.filter,
        after=after,
        limit=listing.limit,
        object_id=object_id,
        with_content=with_content,
        default_versions=default_versions,
    )
    envelope: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if entries.entries:
        headers["X-TAXII-Date-Added-First"] = entries.entries[0][3]
        headers["X-TAXII-Date-Added-Last"] = entries.entries[-1][3]
    if entries.more:
        envelope["more"] = True
        envelope["next"] = sign(
            {**binding, "s": entries.entries[-1][0], "t": int(time.time())}, taxii.key
        )
    return Listed(collection, entries, envelope, headers)

"""Offline geocoding: a place entity's coordinates and ISO 3166-1 country code.

From the gazetteer entry (regions and small places it lists with coordinates), else the
GeoNames place the entity was resolved to; a country has its code only. No
network: everything comes from the data files shipped in ``osint/data``.
"""

from __future__ import annotations

from dataclasses import dataclass

from diapason.osint.entities import Entity
from diapason.osint.gazetteer import Gazetteer


@dataclass(frozen=True, slots=True)
class Geocode:
    latitude: float | None
    longitude: float | None
    country: str | None  # ISO 3166-1 alpha-2
    region: str | None  # admin-1 name (GeoNames), when known
    is_country: bool = False


def geocode(entity: Entity, gazetteer: Gazetteer) -> Geocode:
    """Where ``entity`` (a LOC) is; every field may be None for an unknown place. A country
    gets its code and no coordinates (a point would misstate it)."""
    entry = entity.entry
    if (
        entry is not None
        and entry.country is not None
        and gazetteer.countries.get(entry.country) is entry
    ):
        return Geocode(None, None, entry.country, None, is_country=True)
    if entry is not None and entry.coordinates is not None:
        latitude, longitude = entry.coordinates
        return Geocode(latitude, longitude, entry.country, None)
    if entity.place is not None:
        place = entity.place
        return Geocode(place.latitude, place.longitude, place.country, place.admin1 or None)
    return Geocode(None, None, entity.country, None)

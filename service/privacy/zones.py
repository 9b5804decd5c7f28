"""Privacy zones: the geometry, and the route as a given viewer may see it (README § Privacy
zones).

A zone is a circle (centre [lon, lat], radius in metres). Every route point inside one of the
owner's zones is removed for everyone but the owner (admins included), at read time, so zones
apply to past runs too. A route that starts inside a zone therefore starts, for others, at its
first point outside: the place it left from is never shown.

Cost: a cheap bounding-box test first, the haversine distance (the importer's, same Earth
radius) only for points near a zone: 20,000 points x 5 zones is a few milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from documents import Run, User
from documents.user import PrivacyZone
from service.imports.track import EARTH_RADIUS_M, haversine_m
from service.social.access import Relation, visible_levels

MAX_ZONES = 5
MIN_RADIUS_M = 100
MAX_RADIUS_M = 2_000
# arrays of a `run_routes` document parallel to its positions
PARALLEL = ("elevations", "timestamps", "heart_rates", "distances")


class _Zone:
    """A zone with its bounding box in degrees (slightly widened: only a pre-filter)."""

    __slots__ = ("dlat", "dlon", "lat", "lon", "radius_m")

    def __init__(self, zone: PrivacyZone) -> None:
        self.lon, self.lat = zone.center
        self.radius_m = zone.radius_m
        self.dlat = math.degrees(zone.radius_m / EARTH_RADIUS_M) * 1.01 + 1e-9
        cos = math.cos(math.radians(self.lat))
        # near a pole every longitude is close: no longitude pre-filter there
        self.dlon = self.dlat / cos if cos > 0.01 else 360.0

    def contains(self, lon: float, lat: float) -> bool:
        if abs(lat - self.lat) > self.dlat:
            return False
        dlon = abs(lon - self.lon)
        dlon = min(dlon, 360.0 - dlon)  # across the antimeridian
        if dlon > self.dlon:
            return False
        return haversine_m(self.lat, self.lon, lat, lon) <= self.radius_m


def inside_any(lon: float, lat: float, zones: Sequence[PrivacyZone]) -> bool:
    """Whether the point [lon, lat] lies inside (or on the edge of) one of the zones."""
    return any(_Zone(z).contains(lon, lat) for z in zones)


def filter_route(document: dict[str, Any], zones: Sequence[PrivacyZone]) -> dict[str, Any] | None:
    """A copy of a `run_routes` document without the positions inside the zones (and without
    their elevations, times, heart rates, distances); None when no position is left."""
    if not zones:
        return document
    prepared = [_Zone(z) for z in zones]
    coordinates = document["geometry"]["coordinates"]
    keep = [
        i
        for i, (lon, lat, *_) in enumerate(coordinates)
        if not any(z.contains(lon, lat) for z in prepared)
    ]
    if len(keep) == len(coordinates):
        return document
    if not keep:
        return None
    filtered = dict(document)
    filtered["geometry"] = {**document["geometry"], "coordinates": [coordinates[i] for i in keep]}
    for name in PARALLEL:
        values = document.get(name)
        if values is not None and len(values) == len(coordinates):
            filtered[name] = [values[i] for i in keep]
        elif values is not None:
            filtered[name] = None  # not parallel: cannot be filtered, so not shown
    return filtered


def visible_route(
    document: dict[str, Any], *, owner: User, viewer: User | None
) -> dict[str, Any] | None:
    """The route document as `viewer` may see it: all of it for its owner, else without the
    points inside the owner's privacy zones (None when nothing is left). The caller has
    checked the viewer may see the run and that its route is not hidden (`may_see_route`)."""
    if viewer is not None and viewer.id == owner.id:
        return document
    return filter_route(document, owner.privacy_zones)


def may_see_route(run: Run, viewer: User | None, rel: Relation) -> bool:
    """Whether a viewer whose relation to the runner is `rel` sees the run's route at all: they
    must see the run, and a `hide_route` run shows its route to its runner only."""
    if not run.has_route or run.visibility not in visible_levels(rel):
        return False
    return rel == "owner" or not run.hide_route

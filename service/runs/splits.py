"""Kilometre splits of a route with timestamps: pure functions over the stored parallel arrays.

A route's distance is the cumulative `distances` the importer stored (the file's own measure:
a device's distance, else the haversine sum within track segments, a gap between segments
adding nothing), or, for a typed-in route, the 2-D haversine sum along its positions (R =
6,371,008.8 m, the mean Earth radius the importer uses too). The time and the elevation at a
kilometre boundary are interpolated linearly between the two points around it, so splits
add up exactly to the route's time and distance. A split's time is clock time between its
ends (a pause counts in the split it happens in); its elevation gain sums every rise between
consecutive elevations within it (the boundaries interpolated), without smoothing. The last
split is partial (its distance below 1 km) unless under MIN_PARTIAL_M.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.runs.schemas import Split

EARTH_RADIUS_M = 6_371_008.8
SPLIT_M = 1000.0
# a remainder shorter than this after the last full kilometre is no split (its pace is noise)
MIN_PARTIAL_M = 10.0


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two positions given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cumulative_distances(coordinates: Sequence[Sequence[float]]) -> list[float]:
    """Metres from the first position to each position, along the positions."""
    total = 0.0
    out = [0.0]
    for a, b in itertools.pairwise(coordinates):
        total += haversine_m(a[0], a[1], b[0], b[1])
        out.append(total)
    return out


def of_route(document: dict[str, Any]) -> list[Split] | None:
    """The splits of a stored `run_routes` document; None when it has no timestamps."""
    timestamps: list[datetime] | None = document.get("timestamps")
    coordinates = document["geometry"]["coordinates"]
    if not timestamps or len(timestamps) != len(coordinates):
        return None
    distances = document.get("distances")
    if distances is None or len(distances) != len(coordinates):
        distances = cumulative_distances(coordinates)
    first = timestamps[0]
    seconds = [(t - first).total_seconds() for t in timestamps]
    elevations = document.get("elevations")
    if elevations is not None and len(elevations) != len(coordinates):
        elevations = None
    return compute(distances, seconds, elevations)


def compute(
    distances: Sequence[float],
    seconds: Sequence[float],
    elevations: Sequence[float] | None = None,
) -> list[Split]:
    """Splits of a track given as parallel arrays (cumulative metres, seconds, metres)."""
    n = len(distances)
    if n < 2:
        return []
    # a device's distance may stand still or, rarely, step back: never let it go backwards
    d = list(distances)
    for i in range(1, n):
        d[i] = max(d[i], d[i - 1])
    base = d[0]
    total = d[-1] - base
    boundaries = [SPLIT_M * k for k in range(1, int(total // SPLIT_M) + 1)]
    last_full = boundaries[-1] if boundaries else 0.0
    if total - last_full >= MIN_PARTIAL_M:
        boundaries.append(total)
    out: list[Split] = []
    i = 0  # the boundary lies in [d[i], d[i + 1]]
    previous_at = 0.0  # metres from the start at the previous boundary
    previous_time = seconds[0]
    last_elevation = elevations[0] if elevations is not None else 0.0
    gain = 0.0
    for km, boundary in enumerate(boundaries, start=1):
        target = base + boundary
        while i < n - 2 and d[i + 1] < target:
            i += 1
            if elevations is not None:  # point i is inside this split
                gain += max(0.0, elevations[i] - last_elevation)
                last_elevation = elevations[i]
        span = d[i + 1] - d[i]
        fraction = min(1.0, max(0.0, (target - d[i]) / span)) if span > 0 else 1.0
        time_at = seconds[i] + fraction * (seconds[i + 1] - seconds[i])
        elevation_gain = None
        if elevations is not None:
            elevation_at = elevations[i] + fraction * (elevations[i + 1] - elevations[i])
            gain += max(0.0, elevation_at - last_elevation)
            last_elevation = elevation_at
            elevation_gain = round(gain, 1)
        length_km = (boundary - previous_at) / 1000
        duration = time_at - previous_time
        out.append(
            Split(
                km=km,
                distance_km=round(length_km, 3),
                duration_s=round(duration, 1),
                pace_s_per_km=round(duration / length_km, 1),
                elevation_gain_m=elevation_gain,
            )
        )
        previous_at, previous_time, gain = boundary, time_at, 0.0
    return out

"""Best efforts: the fastest continuous stretch of a given distance inside one timed route.

Pure functions, no database. Distance along the route is the 2-D haversine sum between
consecutive positions (R = 6,371,008.8 m, the importer's); time along the route is linear
between two points. The time to cover [s, s + D] is T(s + D) - T(s), a piecewise-linear
function of s whose breaks are where s or s + D meets a point, so its minimum is at one of
them: a stretch that ends on a point (its start interpolated) or starts on one (its end
interpolated). Two pointers walk both families in one pass each: O(n) per distance.

Where the runner stood still (points at the same distance, time passing) a stretch starts at
the last of those points and ends at the first: standing still is never part of a best effort.
The time is elapsed time along the route (a pause while moving slowly counts, as on a watch).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

EARTH_RADIUS_M = 6_371_008.8

# name, metres: the running best efforts the records show
DISTANCES: tuple[tuple[str, float], ...] = (
    ("400m", 400.0),
    ("1k", 1_000.0),
    ("1mile", 1_609.344),
    ("5k", 5_000.0),
    ("10k", 10_000.0),
    ("half_marathon", 21_097.5),
    ("marathon", 42_195.0),
)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two [lon, lat] positions (degrees)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cumulative_distances(coordinates: Sequence[Sequence[float]]) -> list[float]:
    """Distance in metres from the first position to each position, along the route."""
    total = 0.0
    out = [0.0]
    for (lon1, lat1, *_), (lon2, lat2, *_) in itertools.pairwise(coordinates):
        total += haversine_m(lon1, lat1, lon2, lat2)
        out.append(total)
    return out


def seconds_since_start(timestamps: Sequence[datetime]) -> list[float]:
    first = timestamps[0]
    return [(t - first).total_seconds() for t in timestamps]


@dataclass(frozen=True)
class Effort:
    distance_m: float
    seconds: float
    start_m: float  # where the stretch starts, metres from the route's start


def best_effort(distances: Sequence[float], times: Sequence[float], target: float) -> Effort | None:
    """The fastest stretch of `target` metres; None when the route is shorter or never moves
    that far in positive time. `distances` and `times` are non-decreasing and parallel."""
    n = len(distances)
    if n < 2 or distances[-1] < target or target <= 0:
        return None
    best: tuple[float, float] | None = None  # (seconds, start_m)

    # stretches ending on point j: the start s = d[j] - target, at the last point i with
    # d[i] <= s (interpolated towards i + 1 when d[i] < s)
    i = 0
    for j in range(n):
        s = distances[j] - target
        if s < 0:
            continue
        while i + 1 < n and distances[i + 1] <= s:
            i += 1
        if distances[i] == s or i + 1 >= n:
            start_time = times[i]
        else:
            span = distances[i + 1] - distances[i]
            start_time = times[i] + (times[i + 1] - times[i]) * (s - distances[i]) / span
        seconds = times[j] - start_time
        if seconds > 0 and (best is None or seconds < best[0]):
            best = (seconds, s)

    # stretches starting on point i: the end e = d[i] + target, at the first point k with
    # d[k] >= e (interpolated from k - 1 when d[k] > e)
    k = 0
    for i in range(n):
        e = distances[i] + target
        if e > distances[-1]:
            break
        while distances[k] < e:
            k += 1
        if distances[k] == e:
            end_time = times[k]
        else:
            span = distances[k] - distances[k - 1]
            end_time = times[k - 1] + (times[k] - times[k - 1]) * (e - distances[k - 1]) / span
        seconds = end_time - times[i]
        if seconds > 0 and (best is None or seconds < best[0]):
            best = (seconds, distances[i])

    if best is None:
        return None
    return Effort(distance_m=target, seconds=best[0], start_m=best[1])


def best_efforts(
    coordinates: Sequence[Sequence[float]],
    timestamps: Sequence[datetime],
    distances: Sequence[float] | None = None,
) -> dict[str, Effort]:
    """Every standard distance the route covers, by name (see DISTANCES).

    `distances`: the route's own cumulative distances when it has them (an imported track: the
    device's, or the haversine sum within segments, so a gap between segments adds nothing);
    else, or when they are not non-decreasing, the haversine sum between consecutive positions.
    """
    if len(coordinates) != len(timestamps) or len(coordinates) < 2:
        return {}
    if (
        distances is None
        or len(distances) != len(coordinates)
        or any(b < a for a, b in itertools.pairwise(distances))
    ):
        distances = cumulative_distances(coordinates)
    else:
        distances = [d - distances[0] for d in distances]
    times = seconds_since_start(timestamps)
    found: dict[str, Effort] = {}
    for name, metres in DISTANCES:
        effort = best_effort(distances, times, metres)
        if effort is not None:
            found[name] = effort
    return found

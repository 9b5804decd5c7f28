"""What a parser hands to the import service: activities measured from one file.

The parser (`service.imports.parsing.parse`) is pure: bytes in, `ParsedFile` out, no database.
Every number here is already final (device totals preferred, else computed); the import service
only validates the runs against the run rules, stores them and their routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FileFormat = Literal["gpx", "tcx", "fit"]


@dataclass(slots=True)  # 20,000 of them per long track: no __dict__ each
class TrackPoint:
    time: datetime | None  # UTC, tz-aware
    lon: float | None
    lat: float | None
    elevation_m: float | None = None
    heart_rate: int | None = None
    # cumulative distance in metres along the activity (the device's when it records one, else
    # the haversine sum within segments): splits and best efforts use it
    distance_m: float | None = None


@dataclass
class ParsedActivity:
    started_at: datetime | None  # first valid timestamp (UTC), None for a file without times
    elapsed_s: int | None  # last - first valid timestamp
    duration_s: int | None  # moving time: device timer time, else the pause rule
    distance_km: float  # device total, else the haversine sum within segments
    elevation_gain_m: float | None
    avg_hr: int | None
    max_hr: int | None
    # the points kept (bad ones dropped), in order, at most MAX_ROUTE_POINTS (downsampled);
    # only points with a position form the route; empty for a treadmill file
    points: list[TrackPoint] = field(default_factory=list)
    sport: str | None = None  # as the file names it ("running", "Biking"...), informational


@dataclass
class ParsedFile:
    format: FileFormat
    sha256: str  # of the decompressed content: the duplicate-upload key
    activities: list[ParsedActivity]
    # human-readable notes about what was dropped or repaired ("12 points without a position
    # dropped", "clock jumped 3 days at point 812: the rest of the track was dropped")
    warnings: list[str] = field(default_factory=list)


MAX_ROUTE_POINTS = 20_000

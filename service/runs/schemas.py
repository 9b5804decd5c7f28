from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from documents.social import Visibility
from service.errors import Problem
from service.runs.limits import (
    MAX_DISTANCE_KM,
    MAX_DURATION_S,
    MAX_ELEVATION_GAIN_M,
    MAX_NOTES_LENGTH,
    MAX_ROUTE_POINTS,
    MIN_DURATION_S,
)
from service.validation import IsoDateTime, NoControlMultiline, StrictModel

# ISO 8601 strings only, years 2000-2100; a date alone is 00:00 that day; no offset means UTC
UtcDateTime = IsoDateTime
DistanceKm = Annotated[float, Field(gt=0, le=MAX_DISTANCE_KM, allow_inf_nan=False)]
DurationS = Annotated[int, Field(ge=MIN_DURATION_S, le=MAX_DURATION_S)]
ElevationGainM = Annotated[float, Field(ge=0, le=MAX_ELEVATION_GAIN_M, allow_inf_nan=False)]
Notes = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTES_LENGTH), NoControlMultiline
]
IdStr = Annotated[str, Field(min_length=1, max_length=64)]
Position = Annotated[
    list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=3)
]

MIN_ELEVATION_M = -1_000
MAX_ELEVATION_M = 10_000


_SERVER_COMPUTED = ("score", "score_version", "pace_s_per_km")


class RunInput(StrictModel):
    @model_validator(mode="before")
    @classmethod
    def _no_server_fields(cls, data: Any) -> Any:
        # extra="forbid" would refuse them too; this says why
        if isinstance(data, dict):
            sent = [name for name in _SERVER_COMPUTED if name in data]
            if sent:
                raise ValueError(f"{', '.join(sent)} cannot be sent: the server computes it")
        return data


class RouteIn(StrictModel):
    """A GeoJSON LineString of [lon, lat] or [lon, lat, elevation_m] positions."""

    type: Literal["LineString"]
    coordinates: list[Position] = Field(min_length=2, max_length=MAX_ROUTE_POINTS)
    timestamps: list[UtcDateTime] | None = Field(
        default=None, description="One ISO 8601 time per position, non-decreasing"
    )

    @model_validator(mode="after")
    def _check_positions(self) -> RouteIn:
        coordinates = self.coordinates
        dimension = len(coordinates[0])
        distinct = False
        first = coordinates[0]
        for i, position in enumerate(coordinates):
            if len(position) != dimension:
                raise ValueError(
                    f"coordinates[{i}]: every position must be [lon, lat] or every position "
                    "[lon, lat, elevation_m]"
                )
            lon, lat = position[0], position[1]
            if not -180 <= lon <= 180:
                raise ValueError(f"coordinates[{i}]: longitude {lon} is outside [-180, 180]")
            if not -90 <= lat <= 90:
                raise ValueError(f"coordinates[{i}]: latitude {lat} is outside [-90, 90]")
            if dimension == 3 and not MIN_ELEVATION_M <= position[2] <= MAX_ELEVATION_M:
                raise ValueError(
                    f"coordinates[{i}]: elevation {position[2]} m is outside "
                    f"[{MIN_ELEVATION_M}, {MAX_ELEVATION_M}]"
                )
            if i and _antipodal(coordinates[i - 1], position):
                # a 2dsphere index cannot store an edge between antipodes (ambiguous path)
                raise ValueError(f"coordinates[{i - 1}] and [{i}] are antipodal")
            distinct = distinct or lon != first[0] or lat != first[1]
        if not distinct:
            raise ValueError("a route needs at least two distinct positions")
        if self.timestamps is not None:
            if len(self.timestamps) != len(coordinates):
                raise ValueError(
                    f"timestamps has {len(self.timestamps)} entries for "
                    f"{len(coordinates)} positions; give one per position"
                )
            for i in range(1, len(self.timestamps)):
                if self.timestamps[i] < self.timestamps[i - 1]:
                    raise ValueError(f"timestamps[{i}] is earlier than timestamps[{i - 1}]")
        return self


def _antipodal(a: list[float], b: list[float]) -> bool:
    return a[1] == -b[1] and (abs(a[1]) == 90 or math.isclose(abs(a[0] - b[0]), 180))


class RouteOut(BaseModel):
    type: Literal["LineString"] = "LineString"
    coordinates: list[list[float]]
    timestamps: list[datetime] | None = None
    heart_rates: list[int | None] | None = Field(
        default=None,
        description="Beats per minute per position; present only when the route has them "
        "(imported files)",
        exclude_if=lambda value: value is None,
    )


class Split(BaseModel):
    """One kilometre of a run with a timed route (the last one may be partial)."""

    km: int = Field(description="1 for the first kilometre, ...")
    distance_km: float = Field(description="1.0, or less for the last, partial split")
    duration_s: float = Field(description="Clock time between the split's ends (pauses count)")
    pace_s_per_km: float
    elevation_gain_m: float | None = Field(
        default=None, description="Sum of the rises within the split; null without elevations"
    )


class RunCreate(RunInput):
    started_at: UtcDateTime = Field(
        description="ISO 8601; a date alone means 00:00 UTC; without an offset, UTC"
    )
    distance_km: DistanceKm = Field(description="Rounded to whole metres")
    duration_s: DurationS
    team_id: IdStr | None = Field(
        default=None, description="A team you belong to; default: your city's team"
    )
    elevation_gain_m: ElevationGainM | None = None
    notes: Notes | None = None
    route: RouteIn | None = None
    visibility: Visibility | None = Field(
        default=None,
        description="public, friends or private; default: your default_visibility",
    )
    hide_route: bool = Field(
        default=False, description="Show the route to nobody but you (splits stay visible)"
    )


_NOT_NULL = ("started_at", "distance_km", "duration_s", "team_id", "visibility", "hide_route")


class RunUpdate(RunInput):
    """Fields to change; distance, duration and start are re-validated and re-scored."""

    started_at: UtcDateTime | None = None
    distance_km: DistanceKm | None = None
    duration_s: DurationS | None = None
    team_id: IdStr | None = None
    elevation_gain_m: ElevationGainM | None = Field(default=None, description="null clears it")
    notes: Notes | None = Field(default=None, description="null or empty clears them")
    visibility: Visibility | None = Field(default=None, description="public, friends or private")
    hide_route: bool | None = Field(default=None, description="Show the route to nobody but you")

    @model_validator(mode="after")
    def _required_fields_stay(self) -> RunUpdate:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RunRead(BaseModel):
    """A run as whoever may see it sees it (README § Who sees what); lists never carry routes."""

    id: str
    user_id: str
    team_id: str
    city_id: str | None
    started_at: datetime
    distance_km: float
    duration_s: int
    pace_s_per_km: float
    score: int
    score_version: int
    elevation_gain_m: float | None
    notes: str | None
    has_route: bool
    elapsed_s: int | None = Field(
        default=None, description="Imported runs: last - first timestamp (duration_s is moving)"
    )
    avg_hr: int | None = None
    max_hr: int | None = None
    source: Literal["manual", "gpx", "tcx", "fit"] = Field(
        default="manual", description="manual (POST /runs) or the imported file's format"
    )
    visibility: Visibility = Field(default="public", description="public, friends or private")
    hide_route: bool = Field(default=False, description="The route is shown to its runner only")
    likes: int = Field(default=0, description="How many users liked it")
    comments: int = Field(default=0, description="How many comments it has")
    liked_by_me: bool = Field(default=False, description="Whether you liked it")
    created_at: datetime
    updated_at: datetime


class RunDetail(RunRead):
    """A single run, with its route for whoever may see the run (without the points inside the
    runner's privacy zones, for everyone but the runner) unless `hide_route`."""

    route: RouteOut | None = None
    route_hidden: bool = Field(
        default=False,
        description="The run has a route you may not see (hide_route, or all of it lies in "
        "the runner's privacy zones): `route` is null",
    )
    splits: list[Split] | None = Field(
        default=None, description="Per kilometre, when the route has timestamps"
    )


class RunConflictProblem(Problem):
    """409 on POST/PATCH /runs: the run overlaps another of the runner's runs, or a concurrent
    change to the runner's runs held them too long (retry)."""

    conflicting_run_id: str | None = Field(
        default=None,
        description="The stored run of yours that this one overlaps in time",
    )

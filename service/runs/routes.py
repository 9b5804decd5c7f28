"""GPS routes of runs: GeoJSON in the API, a 2-D LineString plus parallel arrays in `run_routes`.

The 2dsphere index takes [lon, lat] positions, so elevations, timestamps, heart rates and (for
imported tracks) cumulative distances live beside the geometry; elevations are zipped back
into [lon, lat, ele] positions for the owner. Routes are written and read as plain dicts:
Beanie's per-value Python encoder costs ~0.3 s on a 20,000-point track.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId

from documents import RunRoute
from service.runs.schemas import RouteIn, RouteOut


def to_document(
    *, run_id: PydanticObjectId, user_id: PydanticObjectId, route: RouteIn
) -> dict[str, Any]:
    """The `run_routes` document (the fields of documents.RunRoute) of a validated route."""
    three_d = len(route.coordinates[0]) == 3
    return {
        "_id": run_id,
        "user_id": user_id,
        "geometry": {"type": "LineString", "coordinates": [p[:2] for p in route.coordinates]},
        "elevations": [p[2] for p in route.coordinates] if three_d else None,
        "timestamps": route.timestamps,
    }


def document(
    *,
    run_id: PydanticObjectId,
    user_id: PydanticObjectId,
    coordinates: Sequence[Sequence[float]],
    elevations: list[float] | None = None,
    timestamps: list[datetime] | None = None,
    heart_rates: list[int | None] | None = None,
    distances: list[float] | None = None,
) -> dict[str, Any]:
    """The `run_routes` document of an imported track: [lon, lat] positions and, parallel to
    them, elevations, times, heart rates and cumulative distances (metres)."""
    return {
        "_id": run_id,
        "user_id": user_id,
        "geometry": {"type": "LineString", "coordinates": coordinates},
        "elevations": elevations,
        "timestamps": timestamps,
        "heart_rates": heart_rates,
        "distances": distances,
    }


async def insert(*, run_id: PydanticObjectId, user_id: PydanticObjectId, route: RouteIn) -> None:
    document = to_document(run_id=run_id, user_id=user_id, route=route)
    await RunRoute.get_motor_collection().insert_one(document)


async def insert_document(document: dict[str, Any]) -> None:
    await RunRoute.get_motor_collection().insert_one(document)


def to_geojson(document: dict[str, Any]) -> RouteOut:
    coordinates: list[list[float]] = document["geometry"]["coordinates"]
    elevations = document.get("elevations")
    if elevations is not None:
        coordinates = [[*p, e] for p, e in zip(coordinates, elevations, strict=True)]
    return RouteOut(
        coordinates=coordinates,
        timestamps=document.get("timestamps"),
        heart_rates=document.get("heart_rates"),
    )


def to_geojson_unchecked(document: dict[str, Any]) -> RouteOut:
    """`to_geojson` of a document this process built from values already checked (an imported
    track): the same RouteOut, without validating 20,000 positions, times and heart rates a
    second time (~0.1 s and as many new lists for the garbage collector to walk)."""
    positions: Sequence[Sequence[float]] = document["geometry"]["coordinates"]
    elevations = document.get("elevations")
    if elevations is not None:
        coordinates = [[p[0], p[1], e] for p, e in zip(positions, elevations, strict=True)]
    else:
        coordinates = list(map(list, positions))  # positions may be tuples (an import's)
    return RouteOut.model_construct(
        coordinates=coordinates,
        timestamps=document.get("timestamps"),
        heart_rates=document.get("heart_rates"),
    )


async def get_document(run_id: PydanticObjectId) -> dict[str, Any] | None:
    """The stored `run_routes` document, as a plain dict."""
    found: dict[str, Any] | None = await RunRoute.get_motor_collection().find_one({"_id": run_id})
    return found


async def get(run_id: PydanticObjectId) -> RouteOut | None:
    found = await get_document(run_id)
    return to_geojson(found) if found is not None else None

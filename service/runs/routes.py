"""GPS routes of runs: GeoJSON in the API, a 2-D LineString plus parallel arrays in `run_routes`.

The 2dsphere index takes [lon, lat] positions, so elevations and timestamps live beside the
geometry and are zipped back into [lon, lat, ele] positions for the owner.
"""

from __future__ import annotations

from beanie import PydanticObjectId

from documents import RunRoute
from service.runs.schemas import RouteIn, RouteOut


def to_document(*, run_id: PydanticObjectId, user_id: PydanticObjectId, route: RouteIn) -> RunRoute:
    three_d = len(route.coordinates[0]) == 3
    return RunRoute(
        id=run_id,
        user_id=user_id,
        geometry={"type": "LineString", "coordinates": [p[:2] for p in route.coordinates]},
        elevations=[p[2] for p in route.coordinates] if three_d else None,
        timestamps=route.timestamps,
    )


def to_geojson(route: RunRoute) -> RouteOut:
    coordinates: list[list[float]] = route.geometry["coordinates"]
    if route.elevations is not None:
        coordinates = [[*p, e] for p, e in zip(coordinates, route.elevations, strict=True)]
    return RouteOut(coordinates=coordinates, timestamps=route.timestamps)


async def get(run_id: PydanticObjectId) -> RouteOut | None:
    route = await RunRoute.get(run_id)
    return to_geojson(route) if route is not None else None

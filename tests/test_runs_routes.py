"""GPS routes of runs: GeoJSON in, GeoJSON out for the runner only, stored apart from the run."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId
from pymongo.errors import WriteError

from documents import RunRoute
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_runs import RUN, all_runs, assert_totals_match_runs, snapshot

LINE = [[2.3522, 48.8566], [2.3530, 48.8570], [2.3541, 48.8577]]
ROUTE = {"type": "LineString", "coordinates": LINE}


def track(
    points: int, *, elevation: bool = False, times: str | None = None, decimals: int = 6
) -> dict[str, Any]:
    """A wiggly track through Paris (6 decimals: 0.1 m, GPS precision)."""
    rng = random.Random(points)
    coordinates: list[list[float]] = []
    for i in range(points):
        position = [
            round(2.3 + i * 1e-5 + rng.uniform(0, 1e-6), decimals),
            round(48.85 + rng.uniform(-1e-3, 1e-3), decimals),
        ]
        if elevation:
            position.append(round(35 + rng.uniform(0, 50), 1))
        coordinates.append(position)
    route: dict[str, Any] = {"type": "LineString", "coordinates": coordinates}
    if times is not None:
        start = datetime(2024, 5, 1, 7, tzinfo=UTC)
        route["timestamps"] = [
            (start + timedelta(seconds=i)).isoformat(timespec=times).replace("+00:00", "Z")
            for i in range(points)
        ]
    return route


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


async def test_whoever_sees_a_public_run_sees_its_route_lists_never_carry_it(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    # issue 10 §2: anyone who may see a run sees its route (before it: the runner only);
    # hidden routes and privacy zones: tests/test_visibility_matrix.py, test_privacy_zones.py
    r = await client.post("/runs", json={**RUN, "route": ROUTE}, headers=runner.headers)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["has_route"] is True
    assert run["route"] == {"type": "LineString", "coordinates": LINE, "timestamps": None}

    mine = await client.get(f"/runs/{run['id']}", headers=runner.headers)
    assert mine.json()["route"] == run["route"]

    for viewer in (await api.user(city="Paris"), await api.admin()):
        theirs = await client.get(f"/runs/{run['id']}", headers=viewer.headers)
        assert theirs.status_code == 200
        assert theirs.json()["has_route"] is True
        assert theirs.json()["route"] == run["route"]
        assert theirs.json()["route_hidden"] is False
        listed = await all_runs(client, viewer)
        assert all("route" not in item for item in listed)


async def test_elevations_and_timestamps_come_back_as_given(
    client: httpx.AsyncClient, runner: Account
) -> None:
    route = {
        "type": "LineString",
        "coordinates": [[2.3522, 48.8566, 35.0], [2.3530, 48.8570, 36.5], [2.3541, 48.8577, 36.5]],
        "timestamps": ["2024-05-01T07:00:00Z", "2024-05-01T09:00:05+02:00", "2024-05-01T07:00:05"],
    }
    run = (await client.post("/runs", json={**RUN, "route": route}, headers=runner.headers)).json()
    got = (await client.get(f"/runs/{run['id']}", headers=runner.headers)).json()["route"]
    assert got["coordinates"] == route["coordinates"]
    # equal times are non-decreasing; offsets are converted and naive times read as UTC
    assert got["timestamps"] == [
        "2024-05-01T07:00:00Z",
        "2024-05-01T07:00:05Z",
        "2024-05-01T07:00:05Z",
    ]


async def test_the_route_is_stored_as_2d_geojson_beside_the_run(
    client: httpx.AsyncClient, runner: Account
) -> None:
    route = {"type": "LineString", "coordinates": [[2.35, 48.85, 30.0], [2.36, 48.86, 31.0]]}
    run = (await client.post("/runs", json={**RUN, "route": route}, headers=runner.headers)).json()
    stored = await RunRoute.get(PydanticObjectId(run["id"]))
    assert stored is not None
    assert stored.geometry == {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}
    assert stored.elevations == [30.0, 31.0]
    indexes = await RunRoute.get_motor_collection().index_information()
    assert dict(indexes["geometry_2dsphere"]["key"]) == {"geometry": "2dsphere"}


async def test_deleting_the_run_deletes_its_route(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = (await client.post("/runs", json={**RUN, "route": ROUTE}, headers=runner.headers)).json()
    await client.delete(f"/runs/{run['id']}", headers=runner.headers)
    assert await RunRoute.count() == 0


def _with(**changes: Any) -> dict[str, Any]:
    return {**ROUTE, **changes}


@pytest.mark.parametrize(
    ("route", "mentions"),
    [
        (_with(type="Point"), "type"),
        (_with(type="MultiLineString"), "type"),
        (_with(coordinates=[[2.35, 48.85]]), "coordinates"),
        (_with(coordinates=[]), "coordinates"),
        (_with(coordinates=[[2.35, 48.85]] * 3), "two distinct"),
        (_with(coordinates=[[181, 48.85], [2.35, 48.86]]), "longitude 181"),
        (_with(coordinates=[[2.35, 48.85], [-180.5, 0]]), "longitude -180.5"),
        (_with(coordinates=[[2.35, 91], [2.35, 48.86]]), "latitude 91"),
        (_with(coordinates=[[2.35], [2.36]]), "coordinates"),
        (_with(coordinates=[[2.35, 48.85, 1, 2], [2.36, 48.86, 1, 2]]), "coordinates"),
        (_with(coordinates=[[2.35, 48.85, 30], [2.36, 48.86]]), "every position"),
        (_with(coordinates=[[2.35, 48.85, 12_000], [2.36, 48.86, 30]]), "elevation"),
        (_with(coordinates=[["2.35", "x"], [2.36, 48.86]]), "coordinates"),
        (_with(coordinates=[[0, 0], [180, 0]]), "antipodal"),
        (_with(timestamps=["2024-05-01T07:00:00Z"]), "timestamps"),
        (
            _with(
                timestamps=["2024-05-01T07:00:10Z", "2024-05-01T07:00:20Z", "2024-05-01T07:00:15Z"]
            ),
            "earlier",
        ),
        (_with(timestamps=["2024-05-01T07:00:00Z", "soon", "later"]), "timestamps"),
        (_with(properties={"name": "loop"}), "properties"),
        ("LINESTRING(2 48, 3 49)", "route"),
    ],
)
async def test_bad_routes_are_422_and_store_nothing(
    client: httpx.AsyncClient, runner: Account, route: Any, mentions: str
) -> None:
    before = await snapshot(client, runner)
    r = await client.post("/runs", json={**RUN, "route": route}, headers=runner.headers)
    assert mentions in str(assert_problem(r, 422)["detail"])
    assert await snapshot(client, runner) == before


async def test_a_20000_point_track_with_elevation_and_times_is_accepted(
    client: httpx.AsyncClient, runner: Account
) -> None:
    route = track(20_000, elevation=True, times="seconds")
    body = json.dumps({**RUN, "distance_km": 20, "duration_s": 20_000, "route": route})
    assert len(body) < 1024 * 1024  # compact JSON: about 0.96 MB
    r = await client.post(
        "/runs", content=body, headers={**runner.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text[:300]
    got = (await client.get(f"/runs/{r.json()['id']}", headers=runner.headers)).json()
    assert got["route"]["coordinates"] == route["coordinates"]
    assert len(got["route"]["timestamps"]) == 20_000
    await assert_totals_match_runs(client, runner)


async def test_more_than_20000_points_are_422(client: httpx.AsyncClient, runner: Account) -> None:
    r = await client.post("/runs", json={**RUN, "route": track(20_001)}, headers=runner.headers)
    assert "coordinates" in str(assert_problem(r, 422)["detail"])
    assert await all_runs(client, runner) == []


async def test_a_route_over_the_1_mib_body_limit_is_413_and_stores_nothing(
    client: httpx.AsyncClient, runner: Account
) -> None:
    """20,000 points at 7 decimals with millisecond times no longer fit in 1 MiB."""
    route = track(20_000, elevation=True, times="milliseconds", decimals=7)
    r = await client.post("/runs", json={**RUN, "route": route}, headers=runner.headers)
    assert r.status_code == 413, r.text[:300]
    assert "exceeds 1048576 bytes" in str(assert_problem(r, 413)["detail"])
    assert await all_runs(client, runner) == []
    assert await RunRoute.count() == 0


async def test_a_geometry_mongodb_cannot_index_is_422_and_frees_the_key(
    client: httpx.AsyncClient, runner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real MongoDB refuses some lines the schema lets through (code 16755); mongomock never."""
    from service.runs import routes

    original = routes.insert

    async def refused(**kwargs: Any) -> None:
        monkeypatch.setattr(routes, "insert", original)
        raise WriteError(
            "Can't extract geo keys", code=16755, details={"errmsg": "Can't extract geo keys"}
        )

    monkeypatch.setattr(routes, "insert", refused)
    headers = {**runner.headers, "Idempotency-Key": "k"}
    before = await snapshot(client, runner)
    r = await client.post("/runs", json={**RUN, "route": ROUTE}, headers=headers)
    assert "Can't extract geo keys" in str(assert_problem(r, 422)["detail"])
    assert await snapshot(client, runner) == before

    r = await client.post("/runs", json={**RUN, "route": ROUTE}, headers=headers)
    assert r.status_code == 201, r.text

"""Privacy zones (issue 10 §2, README § Privacy zones): no route point inside one of the runner's
zones ever reaches another user, in JSON or GPX; the runner sees everything; zones apply to runs
recorded before them; PUT /users/me/privacy-zones validates and stores nothing on a 422."""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import gpxpy
import httpx
import pytest
from beanie import PydanticObjectId

from documents.social import Friendship, pair_key
from documents.user import PrivacyZone
from service.privacy import zones
from tests.conftest import assert_problem
from tests.factories import Account, Api

# an independent distance (spherical law of cosines, same Earth radius as service.imports)
EARTH_RADIUS_M = 6_371_008.8

HOME = (2.3522, 48.8566)  # [lon, lat]
WORK = (2.2945, 48.8584)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return EARTH_RADIUS_M * math.acos(max(-1.0, min(1.0, cos)))


def outside_all(points: list[list[float]], zone_list: list[dict[str, Any]]) -> list[list[float]]:
    """The points inside some zone (should be none), with a 1 cm tolerance at the edge."""
    return [
        p
        for p in points
        for z in zone_list
        if distance_m(p[0], p[1], *z["center"]) < z["radius_m"] - 0.01
    ]


def line_from_home(points: int = 200) -> dict[str, Any]:
    """A timed track that starts at HOME, runs west past WORK and comes back halfway."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    coordinates = []
    for i in range(points):
        t = i / (points - 1)
        lon = HOME[0] + (WORK[0] - HOME[0] - 0.01) * math.sin(math.pi * t * 0.75)
        lat = HOME[1] + 0.002 * math.sin(6 * t)
        coordinates.append([round(lon, 6), round(lat, 6), 35.0 + i])
    timestamps = [(start + timedelta(seconds=3 * i)).isoformat() for i in range(points)]
    return {"type": "LineString", "coordinates": coordinates, "timestamps": timestamps}


ZONES = [
    {"center": list(HOME), "radius_m": 400},
    {"center": list(WORK), "radius_m": 200},
]


async def put_zones(client: httpx.AsyncClient, account: Account, body: Any) -> httpx.Response:
    return await client.put("/users/me/privacy-zones", json=body, headers=account.headers)


async def received_points(
    client: httpx.AsyncClient, viewer: Account, run_id: str
) -> tuple[list[list[float]] | None, list[list[float]] | None, dict[str, Any]]:
    """(JSON route positions, GPX positions, the JSON detail) as `viewer` receives them."""
    r = await client.get(f"/runs/{run_id}", headers=viewer.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    route = body["route"]
    json_points = route["coordinates"] if route else None
    if route is not None and route["timestamps"] is not None:
        # the parallel arrays follow the positions kept
        assert len(route["timestamps"]) == len(json_points)
    g = await client.get(f"/runs/{run_id}/route.gpx", headers=viewer.headers)
    if route is None:
        assert_problem(g, 404)
        return None, None, body
    assert g.status_code == 200, g.text
    gpx_points = [
        [p.longitude, p.latitude]
        for t in gpxpy.parse(g.text).tracks
        for s in t.segments
        for p in s.points
    ]
    return json_points, gpx_points, body


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


async def test_no_point_inside_a_zone_reaches_anyone_else_the_runner_sees_all(
    client: httpx.AsyncClient, api: Api, runner: Account
) -> None:
    route = line_from_home()
    # recorded before the zones exist: zones apply to past runs too
    run = await api.run(
        runner, started_at=route["timestamps"][0], route=route, duration_s=600, distance_km=1.0
    )
    r = await put_zones(client, runner, ZONES)
    assert r.status_code == 200, r.text
    assert r.json() == ZONES

    friend, stranger, admin = await api.user(), await api.user(), await api.admin()
    ids = [PydanticObjectId(runner.id), PydanticObjectId(friend.id)]
    await Friendship(id=pair_key(*ids), users=ids).insert()
    everything = [p[:2] for p in route["coordinates"]]
    hidden = outside_all(everything, ZONES)
    assert len(hidden) >= 10, "the track crosses the zones"

    mine, mine_gpx, _ = await received_points(client, runner, run["id"])
    assert mine is not None
    assert mine_gpx is not None
    assert [p[:2] for p in mine] == everything
    assert mine_gpx == everything

    for viewer in (friend, stranger, admin):
        json_points, gpx_points, body = await received_points(client, viewer, run["id"])
        assert json_points is not None
        assert gpx_points is not None
        assert outside_all(json_points, ZONES) == []
        assert outside_all(gpx_points, ZONES) == []
        kept = [p for p in everything if p not in hidden]
        assert [p[:2] for p in json_points] == kept == gpx_points
        # the route starts inside HOME: what others see starts at the first point outside
        assert kept[0] == next(p for p in everything if p not in hidden)
        assert body["splits"], "splits carry no positions: kept"
        # lists carry no coordinates at all
        listed = await client.get(f"/users/{runner.id}/runs", headers=viewer.headers)
        assert all("route" not in item for item in listed.json()["items"])

    # removing the zones shows the whole route again
    assert (await put_zones(client, runner, [])).json() == []
    json_points, _, _ = await received_points(client, stranger, run["id"])
    assert json_points is not None
    assert [p[:2] for p in json_points] == everything


async def test_a_route_wholly_inside_a_zone_is_hidden_from_others(
    client: httpx.AsyncClient, api: Api, runner: Account
) -> None:
    route = {
        "type": "LineString",
        "coordinates": [[HOME[0], HOME[1]], [HOME[0] + 0.001, HOME[1]], [HOME[0], HOME[1] + 0.001]],
    }
    run = await api.run(runner, route=route)
    assert (
        await put_zones(client, runner, [{"center": list(HOME), "radius_m": 500}])
    ).status_code == 200
    stranger = await api.user()
    json_points, _, body = await received_points(client, stranger, run["id"])
    assert json_points is None
    assert body["has_route"] is True
    assert body["route_hidden"] is True
    mine, _, body = await received_points(client, runner, run["id"])
    assert mine is not None
    assert body["route_hidden"] is False


async def test_zones_are_read_back_and_belong_to_their_owner(
    client: httpx.AsyncClient, api: Api, runner: Account
) -> None:
    assert (await client.get("/users/me/privacy-zones", headers=runner.headers)).json() == []
    await put_zones(client, runner, ZONES)
    got = await client.get("/users/me/privacy-zones", headers=runner.headers)
    assert got.status_code == 200
    assert got.json() == ZONES
    other = await api.user()
    assert (await client.get("/users/me/privacy-zones", headers=other.headers)).json() == []
    assert_problem(await client.get("/users/me/privacy-zones"), 401)
    assert_problem(await client.put("/users/me/privacy-zones", json=ZONES), 401)


@pytest.mark.parametrize(
    "body",
    [
        [{"center": [2.35, 48.85], "radius_m": 99}],
        [{"center": [2.35, 48.85], "radius_m": 2001}],
        [{"center": [181, 48.85], "radius_m": 300}],
        [{"center": [2.35, -90.5], "radius_m": 300}],
        [{"center": [2.35], "radius_m": 300}],
        [{"center": [2.35, 48.85, 10], "radius_m": 300}],
        [{"center": ["east", 48.85], "radius_m": 300}],
        [{"center": [2.35, 48.85], "radius_m": 300, "name": "home"}],
        [{"center": [2.35, 48.85]}],
        [{"center": [2.35, 48.85], "radius_m": 300}] * 6,
        {"center": [2.35, 48.85], "radius_m": 300},
        None,
    ],
)
async def test_bad_zones_are_a_422_and_change_nothing(
    client: httpx.AsyncClient, runner: Account, body: Any
) -> None:
    await put_zones(client, runner, ZONES)
    assert_problem(await put_zones(client, runner, body), 422)
    got = await client.get("/users/me/privacy-zones", headers=runner.headers)
    assert got.json() == ZONES


async def test_five_zones_at_the_limits_are_accepted(
    client: httpx.AsyncClient, runner: Account
) -> None:
    body = [
        {"center": [-180, -90], "radius_m": 100},
        {"center": [180, 90], "radius_m": 2000},
        {"center": [0, 0], "radius_m": 100},
        {"center": [179.9999, 0.5], "radius_m": 2000},
        {"center": [-0.1278, 51.5074], "radius_m": 1000},
    ]
    r = await put_zones(client, runner, body)
    assert r.status_code == 200, r.text
    assert r.json() == body


# --- the geometry against a brute-force oracle ---------------------------------------------------


def test_filtering_matches_a_brute_force_distance_check() -> None:
    rng = random.Random(10)
    for _ in range(30):
        lat0 = rng.uniform(-85, 85)
        lon0 = rng.uniform(-180, 180)
        zone_list = [
            PrivacyZone(
                center=(
                    ((lon0 + rng.uniform(-0.02, 0.02) + 180) % 360) - 180,
                    max(-90.0, min(90.0, lat0 + rng.uniform(-0.02, 0.02))),
                ),
                radius_m=rng.randint(100, 2000),
            )
            for _ in range(rng.randint(1, 5))
        ]
        coordinates = [
            [
                ((lon0 + rng.uniform(-0.05, 0.05) + 180) % 360) - 180,
                max(-90.0, min(90.0, lat0 + rng.uniform(-0.05, 0.05))),
            ]
            for _ in range(300)
        ]
        document = {
            "geometry": {"type": "LineString", "coordinates": coordinates},
            "timestamps": list(range(len(coordinates))),
            "elevations": None,
        }
        filtered = zones.filter_route(document, zone_list)
        oracle = [
            i
            for i, (lon, lat) in enumerate(coordinates)
            if all(distance_m(lon, lat, *z.center) > z.radius_m + 0.001 for z in zone_list)
        ]
        near_edge = {
            i
            for i, (lon, lat) in enumerate(coordinates)
            if any(abs(distance_m(lon, lat, *z.center) - z.radius_m) <= 0.001 for z in zone_list)
        }
        kept = [] if filtered is None else filtered["timestamps"]
        assert [i for i in kept if i not in near_edge] == oracle
        if filtered is not None:
            assert filtered["geometry"]["coordinates"] == [coordinates[i] for i in kept]
            assert filtered["elevations"] is None


def test_zones_across_the_antimeridian_and_near_a_pole() -> None:
    east = PrivacyZone(center=(179.999, 10.0), radius_m=500)
    assert zones.inside_any(-179.999, 10.0, [east])  # ~220 m away, across the date line
    assert not zones.inside_any(-179.99, 10.0, [east])
    pole = PrivacyZone(center=(0.0, 89.999), radius_m=300)
    assert zones.inside_any(180.0, 89.999, [pole])  # ~220 m across the pole
    assert not zones.inside_any(0.0, 89.99, [pole])


def test_the_owner_gets_the_document_untouched() -> None:
    from documents import User

    owner = User(
        name="a",
        name_key="a",
        email="a@example.com",
        password_hash="x",
        privacy_zones=[PrivacyZone(center=HOME, radius_m=500)],
    )
    owner.id = PydanticObjectId()
    document = {"geometry": {"coordinates": [list(HOME), [3.0, 49.0]]}}
    assert zones.visible_route(document, owner=owner, viewer=owner) is document
    shown = zones.visible_route(document, owner=owner, viewer=None)
    assert shown is not None
    assert shown["geometry"]["coordinates"] == [[3.0, 49.0]]


def test_twenty_thousand_points_and_five_zones_filter_quickly() -> None:
    coordinates = [[2.0 + i * 1e-5, 48.8 + (i % 100) * 1e-5] for i in range(20_000)]
    zone_list = [PrivacyZone(center=(2.0 + k * 0.04, 48.8), radius_m=2000) for k in range(5)]
    document = {"geometry": {"type": "LineString", "coordinates": coordinates}}
    started = time.perf_counter()
    filtered = zones.filter_route(document, zone_list)
    elapsed = time.perf_counter() - started
    assert filtered is not None
    assert elapsed < 2.0, f"{elapsed:.2f} s"  # ~0.05 s here; bounded even on a busy machine

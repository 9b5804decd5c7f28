"""Checks that only a real MongoDB can answer (skipped only when TEST_MONGODB_URI is unset).

The rest of the suite runs against the real server too when TEST_MONGODB_URI is set; these
add what mongomock cannot show: the server version, index options it ignores, and the
2dsphere index accepting a route.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_MONGODB_URI, make_settings, serve
from tests.factories import Api

pytestmark = pytest.mark.skipif(
    not TEST_MONGODB_URI, reason="needs a real MongoDB: set TEST_MONGODB_URI"
)


async def test_the_server_is_mongodb_7_or_newer(app: FastAPI) -> None:
    info = await app.state.client.server_info()
    assert int(info["version"].split(".")[0]) >= 7


async def test_unique_and_geo_indexes_exist_on_the_server(app: FastAPI) -> None:
    database = app.state.database
    users = await database["users"].index_information()
    assert users["email_unique"]["unique"] is True
    assert users["name_key_unique"]["unique"] is True
    routes = await database["run_routes"].index_information()
    assert routes["geometry_2dsphere"]["key"] == [("geometry", "2dsphere")]
    failures = await database["login_failures"].index_information()
    assert failures["expires_at_ttl"]["expireAfterSeconds"] == 0


async def test_a_route_is_accepted_by_the_2dsphere_index(
    client: httpx.AsyncClient, api: Api
) -> None:
    runner = await api.user(city="Lyon")
    route = {
        "type": "LineString",
        "coordinates": [[4.83, 45.76, 170.0], [4.84, 45.77, 171.0], [4.84, 45.77, 171.0]],
    }
    r = await client.post(
        "/runs",
        json={"started_at": "2026-01-05", "distance_km": 5, "duration_s": 1500, "route": route},
        headers=runner.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["route"]["coordinates"][0] == [4.83, 45.76, 170.0]


async def test_the_app_restarts_on_its_own_database_and_rebuilds_no_index(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second start on an existing database (a restart, a deploy) keeps the data, and finds
    every index as declared: nothing dropped, rebuilt or created again."""
    settings = make_settings()
    async with serve(settings, keep_database=True) as client:
        runner = await Api(client).user(city="Lyon")
    caplog.set_level(logging.INFO, logger="service.indexes")
    async with serve(settings) as client:
        token = await Api(client).login(runner.email, runner.password)
        me = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["id"] == runner.id
    assert [r.getMessage() for r in caplog.records if r.name == "service.indexes"] == []

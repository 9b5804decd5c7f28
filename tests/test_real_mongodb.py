"""Checks that only a real MongoDB can answer (skipped only when TEST_MONGODB_URI is unset).

The rest of the suite runs against the real server too when TEST_MONGODB_URI is set; these
add what mongomock cannot show: the server version, index options it ignores, and the
2dsphere index accepting a route.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_MONGODB_URI
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

"""Each test gets a fresh app on an empty database.

Embedded (default): a new in-memory mongomock store per test.
TEST_MONGODB_URI set: a real MongoDB; each test uses its own database and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from service.main import create_app
from service.settings import Settings
from tests.factories import Api

TEST_MONGODB_URI = os.environ.get("TEST_MONGODB_URI") or None


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "mongodb_uri": TEST_MONGODB_URI,
        "mongodb_db": f"test_{uuid.uuid4().hex[:12]}",
        "secret_key": "test-secret-key-with-enough-length-32b",
        "demo_data": False,
        # cheap argon2 so the suite stays fast; production uses argon2-cffi's defaults
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        "admin_email": None,
        "admin_password": None,
        "cors_origins": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[misc]
        if TEST_MONGODB_URI:
            await application.state.client.drop_database(settings.mongodb_db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)

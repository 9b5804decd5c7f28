"""Each test gets a fresh app on an empty database.

Embedded (default): a new in-memory mongomock store per test.
TEST_MONGODB_URI set: a real MongoDB; each test uses its own database and drops it afterwards.
(`scripts/dev.py test` runs the suite both ways, the second through a secantusdb wire server:
its known bugs are expected failures there, see tests/wire_server_bugs.py.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from service.errors import PROBLEM_JSON
from service.main import create_app
from service.settings import Settings
from tests.factories import Api

TEST_MONGODB_URI = os.environ.get("TEST_MONGODB_URI") or None
# Startup creates every index (and may load the demo): through a real driver on a busy CI
# machine that takes seconds, not asgi-lifespan's default 5 s. Uvicorn sets no such limit.
LIFESPAN_TIMEOUT_S = 120.0

pytest_plugins = ["tests.wire_server_bugs"]


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
        # generous: tests log in and write a lot from one address; test_rate_limits sets low ones
        "rate_limit_auth": "10000/minute",
        "rate_limit_writes": "10000/minute",
        "admin_email": None,
        "admin_password": None,
        "cors_origins": "",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """The response is an RFC 9457 problem+json body with this status; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, object] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


@asynccontextmanager
async def serve(
    settings: Settings,
    application: FastAPI | None = None,
    *,
    raise_app_exceptions: bool = True,
    keep_database: bool = False,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app of its own (custom settings, or an app a test has extended).

    `keep_database`: leave a real test database in place for a later app with the same settings.
    """
    application = application or create_app(settings)
    async with LifespanManager(application, startup_timeout=LIFESPAN_TIMEOUT_S):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
        if TEST_MONGODB_URI and not keep_database:
            await application.state.client.drop_database(settings.mongodb_db)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    # The FastAPI object itself, so tests can reach app.state (the lifespan keeps no ASGI state).
    async with LifespanManager(application, startup_timeout=LIFESPAN_TIMEOUT_S):
        yield application
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

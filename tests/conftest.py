"""Each test gets a fresh app on an empty database.

Embedded (default): a new in-memory mongomock store per test.
TEST_MONGODB_URI set: a real MongoDB; each test's app starts on a database of its own, one an
earlier test used and that was reset to exactly what a fresh startup leaves (tests/wire_pool.py).
(`scripts/dev.py test` runs the suite both ways, the second through a secantusdb wire server:
its known bugs are expected failures there, see tests/wire_server_bugs.py.)
CHALLENGE_RUN_NOW set (ISO 8601, e.g. 2026-12-31T23:59:30Z): the clock is moved there for the
session (so module-level values see it) and back to it at the start of every test; time then
flows on from there. `scripts/dev.py test` runs the `clock` tests at a few awkward moments.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import httpx
import pytest
import time_machine
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from documents import clock
from service.errors import PROBLEM_JSON
from service.main import create_app
from service.settings import Settings
from tests import wire_pool
from tests.factories import Api


def _worker_uri() -> str | None:
    """TEST_MONGODB_URI, or with pytest-xdist one of TEST_MONGODB_URIS (separated by spaces):
    worker gwN takes the N-th, so parallel workers each talk to a server of their own
    (`scripts/dev.py test` starts one wire server per worker). The chosen one is set as
    TEST_MONGODB_URI, which scripts a test runs and tests/wire_server_bugs.py read."""
    uris = (os.environ.get("TEST_MONGODB_URIS") or "").split()
    if not uris:
        return os.environ.get("TEST_MONGODB_URI") or None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    uri = uris[int(worker) % len(uris) if worker.isdigit() else 0]
    os.environ["TEST_MONGODB_URI"] = uri
    return uri


TEST_MONGODB_URI = _worker_uri()
# Startup creates every index (and may load the demo): through a real driver on a busy CI
# machine that takes seconds, not asgi-lifespan's default 5 s; the whole demo (with its social
# data and feed rows) takes ~2 min on the Python wire server alone, more beside other jobs.
# Uvicorn sets no such limit.
LIFESPAN_TIMEOUT_S = 600.0
# On a server, tests reuse databases reset to a fresh startup's state (tests/wire_pool.py);
# TEST_FRESH_DATABASES=1 gives every test a new database instead, as before.
REUSE_DATABASES = bool(TEST_MONGODB_URI) and os.environ.get("TEST_FRESH_DATABASES") != "1"

pytest_plugins = ["tests.wire_server_bugs"]


def _fixed_now() -> datetime | None:
    value = os.environ.get("CHALLENGE_RUN_NOW")
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


FIXED_NOW = _fixed_now()
_travel: time_machine.travel | None = None
_moved: time_machine.Coordinates | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported, so a module-level date is computed at FIXED_NOW too.
    global _travel, _moved
    if FIXED_NOW is not None and _travel is None:
        _travel = time_machine.travel(FIXED_NOW, tick=True)
        _moved = _travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _travel, _moved
    if _travel is not None:
        _travel.stop()
        _travel = _moved = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`slow` tests first (in their order, the rest after in theirs): the minutes-long ones
    start at once and the other workers take the short ones queued behind them (pytest-xdist's
    `--dist worksteal`), instead of one worker finishing them alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"clock: CHALLENGE_RUN_NOW={FIXED_NOW.isoformat()}" if FIXED_NOW else None


@pytest.fixture(autouse=True)
def _clock_at_test_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts at CHALLENGE_RUN_NOW (when set), so it never depends on how long the
    tests before it took; and a module's `TODAY` is this test's today, not the day the module was
    imported (a run that crosses midnight would otherwise compare yesterday with today)."""
    if _moved is not None and FIXED_NOW is not None:
        _moved.move_to(FIXED_NOW)
    if isinstance(getattr(request.module, "TODAY", None), date):
        monkeypatch.setattr(request.module, "TODAY", clock.today())


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
        # a deep argon2 queue: parallel requests in tests never meet the 503 (on any CPU count);
        # test_passwords checks the gate with small ones
        "hash_queue": 1000,
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


async def _start_and_stop(name: str) -> None:
    application = create_app(make_settings(mongodb_db=name))
    async with LifespanManager(application, startup_timeout=LIFESPAN_TIMEOUT_S):
        pass


def pytest_sessionfinish(session: pytest.Session) -> None:
    wire_pool.close()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The test's app, started on its database. On a server the database is one a previous test
    used, reset to exactly what a fresh startup leaves (tests/wire_pool.py), unless the test has
    written to its own already; the app's whole startup still runs on it."""
    pool = wire_pool.pool(TEST_MONGODB_URI) if TEST_MONGODB_URI and REUSE_DATABASES else None
    if pool is not None:
        await wire_pool.ensure_template(pool, _start_and_stop)
        settings.mongodb_db = pool.take(settings.mongodb_db) or settings.mongodb_db
    application = create_app(settings)
    # The FastAPI object itself, so tests can reach app.state (the lifespan keeps no ASGI state).
    async with LifespanManager(application, startup_timeout=LIFESPAN_TIMEOUT_S):
        yield application
        if TEST_MONGODB_URI and pool is None:
            await application.state.client.drop_database(settings.mongodb_db)
    if pool is not None:  # after shutdown: no job of the app writes any more
        pool.release(settings.mongodb_db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)

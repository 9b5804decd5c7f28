"""Startup on an existing database: indexes are reconciled with the declared ones.

An older database may hold indexes this version no longer declares (the old unique
`bucket_key_unique` without `team_id` rejects member buckets), an index with the same name but
other keys or options (which made `init_beanie` crash), or indexes nobody declared.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pymongo import ASCENDING, GEOSPHERE, IndexModel
from pymongo.errors import PyMongoError

from documents import DOCUMENTS
from service import db
from service.indexes import declared, existing_spec, reconcile, spec
from service.main import create_app
from service.settings import Settings
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Api


async def _seed_old_database(client: Any, settings: Settings) -> None:
    database = client[settings.mongodb_db]
    buckets = database["score_buckets"]
    # stale: no longer declared, and unique without team_id
    await buckets.create_index(
        [("kind", 1), ("entity_id", 1), ("city_id", 1), ("day", 1)],
        name="bucket_key_unique",
        unique=True,
    )
    # same name as a declared index, other keys
    await buckets.create_index([("day", 1)], name="kind_day")
    users = database["users"]
    # same name and keys, an option lost (no longer unique)
    await users.create_index([("email", 1)], name="email_unique")
    # nobody declares it
    await users.create_index([("name", 1)], name="name_search")
    # a TTL index whose expiry changed
    await database["login_failures"].create_index(
        [("expires_at", 1)], name="expires_at_ttl", expireAfterSeconds=3600
    )
    await database["teams"].insert_one({"name": "Old Team", "kept": True})


async def _index_specs(document: Any) -> dict[str, Any]:
    info = await document.get_motor_collection().index_information()
    return {name: spec(index) for name, index in info.items() if name != "_id_"}


async def test_startup_reconciles_stale_changed_and_extra_indexes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The embedded store lives inside its client: seed the same client the app will use.
    client = db.make_client(settings)
    await _seed_old_database(client, settings)
    monkeypatch.setattr(db, "make_client", lambda _settings: client)
    caplog.set_level(logging.INFO, logger="service.indexes")

    application = create_app(settings)
    async with serve(settings, application) as http:
        for document in DOCUMENTS:
            wanted = {name: spec(m.document) for name, m in declared(document).items()}
            assert await _index_specs(document) == wanted, document.__name__
        warnings = sorted(
            r.getMessage()
            for r in caplog.records
            if r.name == "service.indexes" and r.levelno == logging.WARNING
        )
        assert [w.split(" ")[1] for w in warnings] == [
            "login_failures.expires_at_ttl",
            "score_buckets.bucket_key_unique",
            "score_buckets.kind_day",
            "users.email_unique",
            "users.name_search",
        ]
        assert "no longer declared: dropped" in warnings[1]
        assert "rebuilt" in warnings[2]
        # data survives the rebuild
        old = await application.state.database["teams"].find_one({"name": "Old Team"})
        assert old is not None
        assert old["kept"] is True

        # A runner in two teams gets a member bucket per team on the same day: the stale
        # unique index would have rejected the second one.
        api = Api(http)
        runner = await api.user()
        first, second = await api.team(runner), await api.team(runner)
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        await api.run(runner, team_id=first["id"], started_at=f"{yesterday}T06:00:00Z")
        await api.run(runner, team_id=second["id"], started_at=f"{yesterday}T09:00:00Z")
        for team in (first, second):
            board = await http.get(f"/teams/{team['id']}/leaderboard", params={"period": "all"})
            assert board.status_code == 200, board.text
            assert [row["user"]["id"] for row in board.json()["items"]] == [runner.id]

        # a second reconciliation (another process starting) changes nothing, logs nothing
        caplog.clear()
        assert not (await reconcile(DOCUMENTS)).any
        assert not [r for r in caplog.records if r.name == "service.indexes"]


async def test_a_fresh_database_gets_every_declared_index_without_warnings(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.indexes")
    async with serve(settings):
        for document in DOCUMENTS:
            wanted = {name: spec(m.document) for name, m in declared(document).items()}
            assert await _index_specs(document) == wanted, document.__name__
    assert not [r for r in caplog.records if r.name == "service.indexes"]


def test_spec_ignores_server_bookkeeping_and_number_types() -> None:
    geo = IndexModel([("location", GEOSPHERE)], name="location_2dsphere", sparse=True)
    server = {
        "v": 2,
        "key": [("location", "2dsphere")],
        "sparse": True,
        "2dsphereIndexVersion": 3,
        "ns": "db.competitions",
    }
    assert spec(server) == spec(geo.document)
    ttl = IndexModel([("at", ASCENDING)], name="ttl", expireAfterSeconds=60)
    assert spec({"key": [("at", 1.0)], "expireAfterSeconds": 60, "v": 2}) == spec(ttl.document)
    assert spec({"key": [("at", 1)], "expireAfterSeconds": 61}) != spec(ttl.document)
    partial = IndexModel([("role", 1)], name="admins", partialFilterExpression={"role": "admin"})
    assert spec({"key": [("role", 1)], "unique": False}) != spec(partial.document)
    assert spec({"key": [("a", 1), ("b", 1)]}) != spec({"key": [("b", 1), ("a", 1)]})
    text = IndexModel([("title", "text"), ("body", "text")], name="search")
    reported = {"key": [("_fts", "text"), ("_ftsx", 1)], "weights": {"body": 1, "title": 1}}
    assert spec(reported) == spec(text.document)
    assert spec({**reported, "weights": {"title": 1}}) != spec(text.document)
    # a server fills in every collation field; only the declared ones count
    folded = IndexModel([("name", 1)], name="name", collation={"locale": "en", "strength": 2})
    full = {"locale": "en", "strength": 2, "caseLevel": False, "alternate": "non-ignorable"}
    want = spec(folded.document)
    assert existing_spec({"key": [("name", 1)], "collation": full}, folded) == want
    other = {**full, "strength": 1}
    assert existing_spec({"key": [("name", 1)], "collation": other}, folded) != want
    assert existing_spec({"key": [("name", 1)]}, folded) != want


# --- an unreachable server ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there any more


def _unreachable(timeout_ms: int = 500) -> Settings:
    return make_settings(
        mongodb_uri=f"mongodb://127.0.0.1:{_closed_port()}/?directConnection=true",
        mongodb_server_selection_timeout_ms=timeout_ms,
    )


async def test_startup_fails_fast_when_the_database_is_unreachable() -> None:
    started = time.monotonic()
    with pytest.raises(PyMongoError):
        async with LifespanManager(create_app(_unreachable()), startup_timeout=10):
            pass
    assert time.monotonic() - started < 5


async def test_ready_answers_503_within_the_selection_timeout_when_the_database_goes_away(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await client.get("/ready")).status_code == 200
    # the database goes away: the app's database now sits behind a closed port
    gone = db.make_client(_unreachable(timeout_ms=500))
    monkeypatch.setattr(app.state, "database", gone["challenge_run"])
    try:
        started = time.monotonic()
        r = await client.get("/ready")
        elapsed = time.monotonic() - started
    finally:
        gone.close()
    assert_problem(r, 503)
    assert elapsed < 3, elapsed


def test_the_server_selection_timeout_is_a_setting() -> None:
    assert make_settings().mongodb_server_selection_timeout_ms == 5000
    client = db.make_client(_unreachable(timeout_ms=750))
    try:
        assert client.options.server_selection_timeout == 0.75
    finally:
        client.close()

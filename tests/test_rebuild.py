"""The rebuild: buckets recomputed from the runs; drift is found, printed and repaired."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from bson import ObjectId
from pymongo import MongoClient
from typer.testing import CliRunner

from documents import BoardTotal, ScoreBucket
from service.leaderboards import rebuild
from tests.conftest import TEST_MONGODB_URI
from tests.leaderboard_world import fetch, normalized, oracle, random_world


async def test_drift_is_detected_and_repaired(client: httpx.AsyncClient) -> None:
    world = await random_world(random.Random(7), runs=80)
    assert (await rebuild.verify()).clean
    buckets = ScoreBucket.get_motor_collection()
    day_bucket = await buckets.find_one({"kind": "team"}, sort=[("day", 1), ("entity_id", 1)])
    month_bucket = await buckets.find_one({"kind": "user_month"}, sort=[("entity_id", 1)])
    city_bucket = await buckets.find_one({"kind": "city"}, sort=[("day", -1)])
    assert day_bucket
    assert month_bucket
    assert city_bucket
    await buckets.update_one({"_id": day_bucket["_id"]}, {"$inc": {"score": 5}})
    await buckets.update_one({"_id": month_bucket["_id"]}, {"$inc": {"distance_m": -1}})
    await buckets.delete_one({"_id": city_bucket["_id"]})
    ghost = {"kind": "team", "entity_id": day_bucket["entity_id"], "city_id": None}
    await buckets.insert_one(
        {**ghost, "day": datetime(2001, 1, 1, tzinfo=UTC), "score": 9, "distance_m": 9, "runs": 1}
    )

    drift = await rebuild.verify()
    assert drift.counts() == {
        "expected": drift.expected,
        "stored": drift.expected,  # one deleted, one added
        "missing": 1,
        "stale": 1,
        "changed": 2,
    }
    described = "\n".join(d.describe() for d in drift.differences)
    assert "2001-01-01" in described
    assert str(city_bucket["entity_id"]) in described

    repaired = await rebuild.repair(batch_size=2, insert_batch_size=2)
    assert repaired.counts() == drift.counts()
    assert (await rebuild.verify()).clean
    assert await ScoreBucket.count() == drift.expected
    board = await fetch(client, "/leaderboards/teams", period="all")
    assert normalized(board["items"]) == normalized(await oracle(world, "teams", None, None))


async def test_a_bucket_stored_under_a_foreign_id_is_replaced_so_runs_keep_counting(
    client: httpx.AsyncClient,
) -> None:
    """A bucket written by hand (e.g. in the Mongo shell) under an ObjectId is not the one
    run changes move; the rebuild swaps it for the bucket with the natural id."""
    world = await random_world(random.Random(9), runs=30)
    buckets = ScoreBucket.get_motor_collection()
    original = await buckets.find_one({"kind": "team"}, sort=[("_id", 1)])
    assert original is not None
    await buckets.delete_one({"_id": original["_id"]})
    await buckets.insert_one({**original, "_id": ObjectId()})

    drift = await rebuild.verify()
    assert drift.counts()["missing"] == 1
    assert drift.counts()["stale"] == 1
    await rebuild.repair()
    assert (await rebuild.verify()).clean
    assert (
        await buckets.count_documents(
            {"kind": "team", "entity_id": original["entity_id"], "day": original["day"]}
        )
        == 1
    )
    board = await fetch(client, "/leaderboards/teams", period="all")
    assert normalized(board["items"]) == normalized(await oracle(world, "teams", None, None))


async def test_rebuild_from_nothing_restores_every_board(client: httpx.AsyncClient) -> None:
    world = await random_world(random.Random(8), runs=60)
    before = await fetch(client, "/leaderboards/users", period="all")
    custom = {"period": "custom", "from": "2025-12-01", "to": "2026-04-01"}
    before_custom = await fetch(client, "/leaderboards/users", **custom)
    await ScoreBucket.get_motor_collection().delete_many({})
    await BoardTotal.get_motor_collection().delete_many({})
    assert (await fetch(client, "/leaderboards/users", period="all"))["items"] == []
    assert (await fetch(client, "/leaderboards/users", **custom))["items"] == []
    drift = await rebuild.repair()
    assert drift.counts()["missing"] == drift.expected > 0
    assert drift.totals.counts()["missing"] == drift.totals.expected > 0
    assert await fetch(client, "/leaderboards/users", period="all") == before
    assert await fetch(client, "/leaderboards/users", **custom) == before_custom
    assert normalized(before["items"]) == normalized(await oracle(world, "users", None, None))
    assert (await rebuild.verify()).clean


async def test_drift_in_board_totals_is_detected_and_repaired(client: httpx.AsyncClient) -> None:
    world = await random_world(random.Random(12), runs=60)
    assert (await rebuild.verify()).clean
    rows = BoardTotal.get_motor_collection()
    changed = await rows.find_one({"kind": "team", "period": "all"}, sort=[("entity_id", 1)])
    renamed = await rows.find_one({"kind": "user", "period": "month"}, sort=[("_id", 1)])
    gone = await rows.find_one({"kind": "city", "period": "week"}, sort=[("_id", 1)])
    assert changed
    assert renamed
    assert gone
    await rows.update_one({"_id": changed["_id"]}, {"$inc": {"score": 1000}})
    await rows.update_one({"_id": renamed["_id"]}, {"$set": {"sort_name": "zzz"}})
    await rows.delete_one({"_id": gone["_id"]})
    await rows.insert_one({**changed, "_id": "team|day|2001-01-01|-|x", "start": None})

    drift = await rebuild.verify()
    assert not drift.clean
    assert drift.differences == []  # the buckets are right
    assert drift.totals.counts() == {
        "expected": drift.totals.expected,
        "stored": drift.totals.expected,  # one deleted, one added
        "missing": 1,
        "stale": 1,
        "changed": 2,
    }
    assert (changed["_id"], {"score": changed["score"]}) in drift.totals.changed
    assert (renamed["_id"], {"sort_name": renamed["sort_name"]}) in drift.totals.changed
    await rebuild.repair()
    assert (await rebuild.verify()).clean
    board = await fetch(client, "/leaderboards/teams", period="all")
    assert normalized(board["items"]) == normalized(await oracle(world, "teams", None, None))


@pytest.fixture
def script_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The script reads its settings from the environment: cheap hashing, and the store the
    suite runs on (in the wire-server pass, a database of its own, dropped afterwards)."""
    for name, value in {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}.items():
        monkeypatch.setenv(name, value)
    if not TEST_MONGODB_URI:
        monkeypatch.delenv("MONGODB_URI", raising=False)
        yield
        return
    database = f"test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("MONGODB_URI", TEST_MONGODB_URI)
    monkeypatch.setenv("MONGODB_DB", database)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-with-enough-length-32b")
    try:
        yield
    finally:
        with MongoClient(TEST_MONGODB_URI) as client:
            client.drop_database(database)


@pytest.mark.slow  # minutes through the wire server: started first
@pytest.mark.usefixtures("script_environment")
def test_the_script_verifies_the_demo_data_and_exits_zero() -> None:
    from scripts.rebuild_scores import app

    result = CliRunner().invoke(app, ["--demo", "--verify", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "no drift" in result.output


@pytest.mark.slow  # minutes through the wire server: started first
@pytest.mark.usefixtures("script_environment")
def test_the_script_prints_drift_and_exits_one() -> None:
    from scripts.rebuild_scores import app

    result = CliRunner().invoke(app, ["--demo", "--verify", "--seed", "3", "--tamper"])
    assert result.exit_code == 1, result.output
    assert "drift" in result.output
    assert "missing 1, stale 1, changed 1" in " ".join(result.output.split())

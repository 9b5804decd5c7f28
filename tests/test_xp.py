"""XP ledger and levels: runs and workouts earn XP by the seed's formulas, once per source;
edits re-credit, deletes withdraw; `users.xp` always equals the ledger's sum and the level
follows it, also under concurrent submissions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import Badge, User, Workout, XpEntry
from documents.workout import WorkoutSet
from service import events
from service.xp.formulas import level_for, run_xp, workout_xp, xp_to_next_level
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
async def no_badges(client: httpx.AsyncClient) -> None:
    """An empty badge catalogue: these tests check the run and workout formulas alone (badge
    rewards are the badges' tests)."""
    await Badge.get_motor_collection().delete_many({})


def at(day: int, hour: int = 7) -> str:
    return f"2024-05-{day:02d}T{hour:02d}:00:00Z"


async def post_run(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict:
    body = {"started_at": at(1), "distance_km": 5.0, "duration_s": 1800, **fields}
    r = await client.post("/runs", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def profile(client: httpx.AsyncClient, account: Account) -> dict:
    r = await client.get("/users/me", headers=account.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def ledger(client: httpx.AsyncClient, viewer: Account, user_id: str) -> list[dict]:
    items: list[dict] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        r = await client.get(f"/users/{user_id}/xp", params=params, headers=viewer.headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if not r.json()["next"]:
            return items
        params = {"limit": 100, "after": r.json()["next"]}


async def assert_ledger_is_the_profile(client: httpx.AsyncClient, account: Account) -> int:
    me = await profile(client, account)
    entries = await ledger(client, account, account.id)
    assert sum(e["amount"] for e in entries) == me["xp"]
    assert me["level"] == me["xp"] // 1000 + 1
    assert me["xp_to_next_level"] == 1000 * me["level"] - me["xp"]
    return int(me["xp"])


# --- formulas ---------------------------------------------------------------------------------


def test_run_xp_is_five_per_minute_and_nothing_for_100_seconds_or_less() -> None:
    assert run_xp(1800) == 150
    assert run_xp(101) == 8  # floor(505 / 60)
    assert run_xp(100) == 0
    assert run_xp(59) == 0


def test_workout_xp_counts_sets_volume_and_duration() -> None:
    # 3 sets of 10 x 100 kg = 3,000 kg; 30 minutes
    assert workout_xp(sets=3, volume_kg=3000, duration_s=1800) == 15 + 30 + 15
    assert workout_xp(sets=1, volume_kg=99.9, duration_s=119) == 5


def seed_level(xp: int) -> int:
    """Tracksy's loop, as written in the seed."""
    level = 1
    while xp >= 1000 * level:
        level += 1
    return level


@pytest.mark.parametrize("xp", [0, 1, 999, 1000, 1001, 1999, 2000, 2999, 3000, 25_000, 123_456])
def test_level_is_the_seeds_loop_in_closed_form(xp: int) -> None:
    assert level_for(xp) == seed_level(xp)
    assert xp_to_next_level(xp) == 1000 * level_for(xp) - xp > 0


# --- runs through the API ---------------------------------------------------------------------


async def test_a_run_earns_xp_once_and_the_profile_shows_it(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    run = await post_run(client, runner)
    me = await profile(client, runner)
    assert (me["xp"], me["level"], me["xp_to_next_level"]) == (150, 1, 850)
    entries = await ledger(client, runner, runner.id)
    assert [(e["kind"], e["source_id"], e["amount"]) for e in entries] == [("run", run["id"], 150)]
    # others see the same public numbers
    other = await api.user(city="Paris")
    r = await client.get(f"/users/{runner.id}", headers=other.headers)
    assert (r.json()["xp"], r.json()["level"], r.json()["xp_to_next_level"]) == (150, 1, 850)


async def test_editing_a_run_recomputes_its_entry_and_deleting_withdraws_it(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    run = await post_run(client, runner)
    r = await client.patch(f"/runs/{run['id']}", json={"duration_s": 2400}, headers=runner.headers)
    assert r.status_code == 200, r.text
    assert await assert_ledger_is_the_profile(client, runner) == 200
    r = await client.patch(
        f"/runs/{run['id']}", json={"duration_s": 90, "distance_km": 0.3}, headers=runner.headers
    )
    assert r.status_code == 200, r.text  # 90 s earns nothing: the entry goes
    assert await assert_ledger_is_the_profile(client, runner) == 0
    assert await ledger(client, runner, runner.id) == []
    r = await client.patch(f"/runs/{run['id']}", json={"duration_s": 1200}, headers=runner.headers)
    assert await assert_ledger_is_the_profile(client, runner) == 100
    assert (await client.delete(f"/runs/{run['id']}", headers=runner.headers)).status_code == 204
    assert await assert_ledger_is_the_profile(client, runner) == 0
    assert await XpEntry.find_all().count() == 0


async def test_levels_follow_xp_up_and_down(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="Paris")
    # 200 minutes = 1,000 XP exactly: level 2
    first = await post_run(client, runner, distance_km=40.0, duration_s=12_000)
    me = await profile(client, runner)
    assert (me["xp"], me["level"], me["xp_to_next_level"]) == (1000, 2, 1000)
    await post_run(client, runner, started_at=at(3), distance_km=40.0, duration_s=12_000)
    assert (await profile(client, runner))["level"] == 3
    await client.delete(f"/runs/{first['id']}", headers=runner.headers)
    me = await profile(client, runner)
    assert (me["xp"], me["level"]) == (1000, 2)


async def test_the_ledger_is_newest_source_first_and_pages(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    ids = [(await post_run(client, runner, started_at=at(day)))["id"] for day in range(1, 8)]
    r = await client.get(f"/users/{runner.id}/xp", params={"limit": 3}, headers=runner.headers)
    body = r.json()
    assert body["total"] == 7
    assert [e["source_id"] for e in body["items"]] == ids[::-1][:3]
    assert [e["source_id"] for e in await ledger(client, runner, runner.id)] == ids[::-1]


async def test_nobody_sets_xp_directly(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="Paris")
    admin = await api.admin()
    r = await client.patch("/users/me", json={"xp": 5000}, headers=runner.headers)
    assert_problem(r, 422)
    r = await client.patch("/users/me", json={"level": 9}, headers=admin.headers)
    assert_problem(r, 422)
    assert (await profile(client, runner))["xp"] == 0
    assert (await profile(client, admin))["level"] == 1


async def test_ledger_errors(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="Paris")
    assert_problem(await client.get(f"/users/{runner.id}/xp"), 401)
    missing = str(PydanticObjectId())
    assert_problem(await client.get(f"/users/{missing}/xp", headers=runner.headers), 404)
    r = await client.get(f"/users/{runner.id}/xp", params={"limit": 0}, headers=runner.headers)
    assert_problem(r, 422)


async def test_deleting_the_account_removes_its_ledger(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="Paris")
    stays = await api.user(city="Paris")
    for day in range(1, 4):
        await post_run(client, runner, started_at=at(day))
    await post_run(client, stays)
    r = await client.request(
        "DELETE", "/users/me", json={"password": runner.password}, headers=runner.headers
    )
    assert r.status_code in (202, 204), r.text
    assert await XpEntry.find(XpEntry.user_id == PydanticObjectId(runner.id)).count() == 0
    assert await assert_ledger_is_the_profile(client, stays) == 150


# --- workouts: the hook's payload (the workouts API announces the same) -----------------------


async def test_a_workout_earns_xp_by_its_sets_volume_and_duration(
    api: Api, client: httpx.AsyncClient
) -> None:
    athlete = await api.user(city="Paris")
    user_id = PydanticObjectId(athlete.id)
    started = datetime(2024, 5, 2, 18, tzinfo=UTC)
    workout = Workout(
        user_id=user_id,
        started_at=started,
        day=started.replace(hour=0),
        duration_s=3600,
        sets=[WorkoutSet(exercise_id=PydanticObjectId(), reps=10, weight_kg=100.0)] * 3,
        sets_count=3,
        exercises_count=1,
        volume_kg=3000.0,
    )
    await workout.insert()
    await events.workout_recorded.emit(workout=workout)
    assert await assert_ledger_is_the_profile(client, athlete) == 15 + 30 + 30
    changed = workout.model_copy(update={"duration_s": 600, "sets_count": 1, "volume_kg": 1000.0})
    await events.workout_changed.emit(before=workout, after=changed)
    assert await assert_ledger_is_the_profile(client, athlete) == 5 + 10 + 5
    await events.workout_deleted.emit(workout=changed)
    assert await assert_ledger_is_the_profile(client, athlete) == 0


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.slow  # minutes through the wire server: started first
@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_runs_edits_and_deletes_keep_xp_equal_to_the_ledger(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    bodies = [
        {
            "started_at": f"2024-06-{1 + i // 4:02d}T{6 * (i % 4):02d}:00:00Z",
            "distance_km": 40.0,
            "duration_s": 12_000 + 60 * i,
        }
        for i in range(40)
    ]

    async def post(body: dict) -> httpx.Response:
        # the runner's lease may be busy longer than its wait on a slow server: 409 with
        # Retry-After, nothing stored; a client retries
        while True:
            r = await client.post("/runs", json=body, headers=runner.headers)
            if r.status_code != 409 or "retry-after" not in r.headers:
                return r

    responses = await asyncio.gather(*(post(b) for b in bodies))
    assert [r.status_code for r in responses] == [201] * 40
    expected = sum(run_xp(b["duration_s"]) for b in bodies)
    assert await assert_ledger_is_the_profile(client, runner) == expected
    ids = [r.json()["id"] for r in responses]
    changes = [
        client.patch(f"/runs/{i}", json={"duration_s": 6000}, headers=runner.headers)
        for i in ids[:20]
    ] + [client.delete(f"/runs/{i}", headers=runner.headers) for i in ids[20:]]
    results = await asyncio.gather(*changes)
    assert [r.status_code for r in results] == [200] * 20 + [204] * 20
    assert await assert_ledger_is_the_profile(client, runner) == 20 * run_xp(6000)
    user = await User.get(PydanticObjectId(runner.id))
    assert user is not None
    assert user.level == level_for(user.xp) == 11


async def test_workouts_through_the_api_earn_and_lose_xp(
    api: Api, client: httpx.AsyncClient
) -> None:
    athlete = await api.user(city="Paris")
    r = await client.get("/exercises", params={"search": "Back squat"})
    squat = next(e for e in r.json()["items"] if e["name"] == "Back squat")
    body = {
        "started_at": "2024-05-02T18:00:00Z",
        "duration_s": 3600,
        "sets": [{"exercise_id": squat["id"], "reps": 10, "weight_kg": 100}] * 3,
    }
    r = await client.post("/workouts", json=body, headers=athlete.headers)
    assert r.status_code == 201, r.text
    workout = r.json()
    assert await assert_ledger_is_the_profile(client, athlete) == 15 + 30 + 30
    r = await client.patch(
        f"/workouts/{workout['id']}", json={"duration_s": 600}, headers=athlete.headers
    )
    assert r.status_code == 200, r.text
    assert await assert_ledger_is_the_profile(client, athlete) == 15 + 30 + 5
    await client.post(
        "/workouts", json={**body, "started_at": "2024-05-03T18:00:00Z"}, headers=athlete.headers
    )
    assert await assert_ledger_is_the_profile(client, athlete) == 50 + 75
    r = await client.delete(f"/workouts/{workout['id']}", headers=athlete.headers)
    assert r.status_code == 204
    assert await assert_ledger_is_the_profile(client, athlete) == 75

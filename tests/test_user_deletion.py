"""Deleting an account with a long history: runs go in bulk, totals move in a few writes."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId
from bson import ObjectId

from documents import Run, ScoreBucket, User
from documents.clock import utcnow
from service import events
from service.accounts import service as accounts
from service.leaderboards import buckets, rebuild
from service.runs import service as runs
from tests.factories import Api
from tests.leaderboard_world import START, random_world

HISTORY = 2_000


class Counting:
    """A collection whose calls are counted (each is one round trip, or a cursor's first)."""

    def __init__(self, inner: Any, calls: Counter[str], name: str) -> None:
        self._inner, self._calls, self._name = inner, calls, name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if callable(value):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self._calls[f"{self._name}.{attr}"] += 1
                return value(*args, **kwargs)

            return counted
        return value


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counter: Counter[str] = Counter()
    for document in (Run, ScoreBucket):
        collection = document.get_motor_collection()
        wrapped = Counting(collection, counter, document.Settings.name)
        monkeypatch.setattr(document, "get_motor_collection", classmethod(lambda cls, w=wrapped: w))
    return counter


async def long_history(user: User, team_id: PydanticObjectId, n: int) -> list[Run]:
    """`n` runs of `user` stored directly (as a bulk import would), then the totals rebuilt."""
    rng = random.Random(11)
    rows = []
    for i in range(n):
        started = START + timedelta(minutes=45 * i)  # never overlapping, across many days
        distance = rng.choice([5.0005, 2.0025]) if i % 10 == 0 else rng.uniform(1, 40)
        rows.append(
            Run(
                user_id=user.id,  # type: ignore[arg-type]
                team_id=team_id,
                city_id=user.city_id,
                started_at=started,
                ends_at=started + timedelta(seconds=1800),
                day=buckets.day_of(started),
                distance_km=distance,
                duration_s=1800,
                pace_s_per_km=1800 / distance,
                score=rng.randrange(1, 1200),
            )
        )
    await Run.insert_many(rows)
    await rebuild.repair()
    return rows


@pytest.mark.slow  # minutes through the wire server: started first
async def test_deleting_a_user_with_2000_runs_is_bulk_and_leaves_exact_totals(
    client: httpx.AsyncClient, calls: Counter[str]
) -> None:
    world = await random_world(random.Random(5), runs=60)
    leaver = next(u for u in world.users if u.city_id is not None)
    assert leaver.id is not None
    await long_history(leaver, world.teams[0].id, HISTORY)  # type: ignore[arg-type]
    assert (await rebuild.verify()).clean
    others = await Run.find(Run.user_id != leaver.id).count()

    seen: list[Run] = []
    batches: list[int] = []

    async def on_run_deleted(*, run: Run) -> None:
        seen.append(run)

    async def on_runs_deleted(*, user: User, runs: list[Run]) -> None:
        assert user.id == leaver.id
        batches.append(len(runs))

    events.run_deleted.connect(on_run_deleted)
    events.runs_deleted.connect(on_runs_deleted)
    calls.clear()
    try:
        fresh = await User.get(leaver.id)
        assert fresh is not None
        await accounts.delete(user=fresh)
        round_trips = dict(calls)
    finally:
        events.run_deleted.handlers.remove(on_run_deleted)
        events.runs_deleted.handlers.remove(on_runs_deleted)

    assert await Run.find(Run.user_id == leaver.id).count() == 0
    assert await Run.find_all().count() == others
    # every total equals a rebuild from the runs that remain, and the leaver is on no board
    assert (await rebuild.verify()).clean
    assert await ScoreBucket.find({"kind": "user", "entity_id": leaver.id}).count() == 0
    # listeners still hear of every run, and of the batches
    assert len(seen) == HISTORY + sum(r.user_id == leaver.id for r in world.runs)
    assert sum(batches) == len(seen)
    # a few round trips per batch of USER_DELETION_BATCH runs, not several per run
    batches_needed = -(-len(seen) // runs.USER_DELETION_BATCH)
    assert sum(round_trips.values()) <= 8 * batches_needed + 4, round_trips


async def test_runs_left_claimed_by_a_crashed_deletion_are_taken_over(
    client: httpx.AsyncClient,
) -> None:
    world = await random_world(random.Random(8), runs=40)
    leaver = world.users[3]
    await long_history(leaver, world.teams[1].id, 30)  # type: ignore[arg-type]
    stale = ObjectId.from_datetime(utcnow() - runs.STALE_CLAIM - timedelta(minutes=1))
    await Run.get_motor_collection().update_many(
        {"user_id": leaver.id}, {"$set": {runs.DELETION_CLAIM: stale}}
    )
    fresh = await User.get(leaver.id)
    assert fresh is not None
    await accounts.delete(user=fresh)
    assert await Run.find(Run.user_id == leaver.id).count() == 0
    assert (await rebuild.verify()).clean


async def test_a_run_being_deleted_with_its_account_cannot_be_edited_or_deleted_alone(
    client: httpx.AsyncClient, api: Api
) -> None:
    runner = await api.user()
    team = await api.team(runner)
    run = await api.run(runner, team_id=team["id"])
    # an account deletion claimed it, and stopped before removing it (a crashed process)
    stale = ObjectId.from_datetime(utcnow() - runs.STALE_CLAIM - timedelta(minutes=1))
    await Run.get_motor_collection().update_one(
        {"_id": PydanticObjectId(run["id"])}, {"$set": {runs.DELETION_CLAIM: stale}}
    )
    r = await client.patch(f"/runs/{run['id']}", json={"distance_km": 7.5}, headers=runner.headers)
    assert r.status_code == 409, r.text
    r = await client.delete(f"/runs/{run['id']}", headers=runner.headers)
    assert r.status_code == 404, r.text
    assert (await rebuild.verify()).clean
    # deleting the account again completes it through the API, totals exact
    r = await client.delete("/users/me", headers=runner.headers)
    assert r.status_code == 204, r.text
    assert await Run.find_all().count() == 0
    assert (await rebuild.verify()).clean


@pytest.mark.slow  # minutes through the wire server: started first
async def test_batches_split_on_ties_of_the_start_time_lose_no_run(
    client: httpx.AsyncClient, calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "USER_DELETION_BATCH", 64)
    world = await random_world(random.Random(9), runs=30)
    leaver = world.users[5]
    stored = await long_history(leaver, world.teams[2].id, 300)  # type: ignore[arg-type]
    # runs five by five on one start time: batch edges fall inside the ties
    collection = Run.get_motor_collection()
    for i, run in enumerate(stored):
        same = stored[i - i % 5].started_at
        await collection.update_one({"_id": run.id}, {"$set": {"started_at": same}})
    await rebuild.repair()
    calls.clear()
    fresh = await User.get(leaver.id)
    assert fresh is not None
    assert await runs.delete_all_of(user=fresh) == 300 + sum(
        r.user_id == leaver.id for r in world.runs
    )
    round_trips = sum(calls.values())
    assert await Run.find(Run.user_id == leaver.id).count() == 0
    assert (await rebuild.verify()).clean
    assert round_trips <= 8 * -(-330 // 64) + 4


async def test_the_accounts_tokens_stop_working_before_its_things_are_removed(
    client: httpx.AsyncClient, api: Api
) -> None:
    """A request with the account's token while its deletion cleans up is a 401: nothing of
    theirs can be stored after their things were removed."""
    runner = await api.user(city="Paris")
    during: list[int] = []

    async def listen(*, user: User, **_: Any) -> None:
        # the clean-up is under way (hooked domains are removing the account's things)
        r = await client.get("/users/me", headers=runner.headers)
        during.append(r.status_code)

    events.user_deleted.connect(listen)
    try:
        r = await client.delete("/users/me", headers=runner.headers)
        assert r.status_code == 204
    finally:
        events.user_deleted.handlers.remove(listen)
    assert during == [401]
    assert (await client.get("/users/me", headers=runner.headers)).status_code == 401

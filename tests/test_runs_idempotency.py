"""Idempotency-Key retries and concurrent submissions: no run or point is lost or counted twice."""

from __future__ import annotations

import asyncio
import functools
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import mongomock_motor
import pytest
from pymongo.errors import AutoReconnect

from documents import Run
from service.leaderboards import buckets
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_runs import RUN, all_runs, assert_totals_match_runs, snapshot


def post(client: httpx.AsyncClient, account: Account, body: dict, key: str | bytes | None):
    headers: dict[str, Any] = dict(account.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/runs", json=body, headers=headers)


@pytest.fixture
def yielding_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every embedded-store call yield to the event loop, as a networked driver does.

    mongomock-motor answers without ever suspending, so concurrent requests would otherwise run
    one after the other between their few other await points; with this they interleave at
    every database call, which is where the races of real concurrent submissions happen. A
    seeded random number of yields per call varies who overtakes whom, reproducibly.
    """
    rng = random.Random(7)
    collection = mongomock_motor.AsyncMongoMockCollection
    for name in (
        "find_one",
        "insert_one",
        "update_one",
        "bulk_write",
        "delete_one",
        "delete_many",
        "find_one_and_delete",
        "find_one_and_update",
        "count_documents",
    ):
        original: Callable[..., Any] = getattr(collection, name)

        @functools.wraps(original)
        async def yielding(self: Any, *args: Any, __original=original, **kwargs: Any) -> Any:
            for _ in range(rng.randint(0, 4)):
                await asyncio.sleep(0)  # a yield, not a wait
            return await __original(self, *args, **kwargs)

        monkeypatch.setattr(collection, name, yielding)


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


async def test_a_retry_with_the_same_key_returns_the_first_run(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = await post(client, runner, RUN, "morning-run-1")
    assert first.status_code == 201
    again = await post(client, runner, RUN, "morning-run-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    runs = await assert_totals_match_runs(client, runner)
    assert [r["id"] for r in runs] == [first.json()["id"]]


async def test_a_replay_returns_the_run_as_it_is_now(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = (await post(client, runner, RUN, "k")).json()
    await client.patch(f"/runs/{first['id']}", json={"notes": "edited"}, headers=runner.headers)
    again = await post(client, runner, RUN, "k")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["notes"] == "edited"
    await assert_totals_match_runs(client, runner)


async def test_keys_belong_to_their_user(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    other = await api.user(city="Paris")
    mine = await post(client, runner, RUN, "shared-key")
    theirs = await post(client, other, RUN, "shared-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["user_id"] == other.id
    assert len(await assert_totals_match_runs(client, runner)) == 2


async def test_without_a_key_every_post_is_a_new_run(
    client: httpx.AsyncClient, runner: Account
) -> None:
    later = {**RUN, "started_at": "2024-05-01T18:00:00Z"}  # the same run again would overlap
    assert (await post(client, runner, RUN, None)).status_code == 201
    assert (await post(client, runner, later, None)).status_code == 201
    assert len(await assert_totals_match_runs(client, runner)) == 2


async def test_a_key_reused_for_a_different_run_is_422(
    client: httpx.AsyncClient, runner: Account
) -> None:
    await post(client, runner, RUN, "k")
    before = await snapshot(client, runner)
    r = await post(client, runner, {**RUN, "distance_km": 11}, "k")
    assert "different run" in str(assert_problem(r, 422)["detail"])
    assert await snapshot(client, runner) == before


async def test_a_refused_request_does_not_use_up_its_key(
    client: httpx.AsyncClient, runner: Account
) -> None:
    r = await post(client, runner, {**RUN, "distance_km": 100}, "k")  # 120 km/h
    assert_problem(r, 422)
    r = await post(client, runner, RUN, "k")
    assert r.status_code == 201, r.text


async def test_a_deleted_runs_key_records_a_new_run(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = (await post(client, runner, RUN, "k")).json()
    await client.delete(f"/runs/{first['id']}", headers=runner.headers)
    again = await post(client, runner, RUN, "k")
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]
    assert len(await assert_totals_match_runs(client, runner)) == 1


@pytest.mark.parametrize(
    "key", ["", "x" * 201, b"caf\xc3\xa9", "tab\there"], ids=["empty", "201", "utf8", "tab"]
)
async def test_malformed_keys_are_422(
    client: httpx.AsyncClient, runner: Account, key: str | bytes
) -> None:
    r = await post(client, runner, RUN, key)
    assert_problem(r, 422)
    assert await all_runs(client, runner) == []


@pytest.mark.parametrize("key", ["x" * 200, "a", "550e8400-e29b-41d4-a716-446655440000", "a b~!"])
async def test_printable_keys_up_to_200_characters_are_fine(
    client: httpx.AsyncClient, runner: Account, key: str
) -> None:
    assert (await post(client, runner, RUN, key)).status_code == 201
    assert (await post(client, runner, RUN, key)).status_code == 200


async def test_a_retry_after_a_failure_half_way_records_the_run_once(
    client: httpx.AsyncClient, runner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key was stored but the database went away before the run was: the retry finishes."""
    original = Run.insert

    async def connection_lost(self: Run, **kwargs: Any) -> Run:
        monkeypatch.setattr(Run, "insert", original)
        raise AutoReconnect("connection lost")

    monkeypatch.setattr(Run, "insert", connection_lost)
    with pytest.raises(AutoReconnect):
        await post(client, runner, RUN, "k")
    assert await all_runs(client, runner) == []

    r = await post(client, runner, RUN, "k")
    assert r.status_code == 201
    assert (await post(client, runner, RUN, "k")).json()["id"] == r.json()["id"]
    assert len(await assert_totals_match_runs(client, runner)) == 1


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_retries_of_one_key_store_one_run(
    client: httpx.AsyncClient, runner: Account
) -> None:
    route = {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}
    for round_ in range(5):  # each round interleaves differently
        key = f"k{round_}"
        body = {**RUN, "started_at": f"2024-05-0{1 + round_}T07:00:00Z", "route": route}
        responses = await asyncio.gather(*(post(client, runner, body, key) for _ in range(8)))
        assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
        assert len({r.json()["id"] for r in responses}) == 1
        assert all(r.json()["route"]["coordinates"] == route["coordinates"] for r in responses)
    assert len(await assert_totals_match_runs(client, runner)) == 5


@pytest.mark.usefixtures("yielding_database")
async def test_50_concurrent_submissions_lose_and_double_no_points(
    api: Api, client: httpx.AsyncClient
) -> None:
    cities = ["Paris", "Lyon", "Paris", "Berlin", "Lyon"]
    runners = [await api.user(city=city) for city in cities]
    team = await api.team(runners[0])
    for account in runners[1:]:
        await api.join(account, team["id"])

    submissions: list[tuple[Account, dict, str | None]] = []
    for i in range(30):  # distinct runs: 15 without a key, 15 with keys of their own
        account = runners[i % 5]
        body = {
            "started_at": f"2024-05-{1 + i % 3:02d}T{6 + i % 12:02d}:00:00Z",
            "distance_km": round(3 + i * 0.731, 3),
            "duration_s": 1200 + i * 97,
            **({"team_id": team["id"]} if i % 4 == 0 else {}),
        }
        submissions.append((account, body, f"solo-{i}" if i % 2 else None))
    for group in range(5):  # 5 runs, each sent 4 times with one key (same runner, same body)
        account = runners[group]
        body = {"started_at": "2024-05-04T07:30:00Z", "distance_km": 8 + group, "duration_s": 2900}
        submissions += [(account, body, f"retry-{group}")] * 4
    assert len(submissions) == 50

    responses = await asyncio.gather(*(post(client, a, b, k) for a, b, k in submissions))

    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    by_key: dict[str, list[httpx.Response]] = {}
    for (_, _, key), response in zip(submissions, responses, strict=True):
        if key is not None and key.startswith("retry-"):
            by_key.setdefault(key, []).append(response)
        else:
            assert response.status_code == 201
    for group in by_key.values():
        assert Counter(r.status_code for r in group) == {201: 1, 200: 3}
        assert len({r.json()["id"] for r in group}) == 1

    runs = await assert_totals_match_runs(client, runners[0])
    assert len(runs) == 35
    sent_once = [b["distance_km"] for _, b, k in submissions if not (k or "").startswith("retry")]
    assert sorted(r["distance_km"] for r in runs) == sorted(sent_once + [8 + g for g in range(5)])
    created = {r.json()["id"]: r.json() for r in responses if r.status_code == 201}
    assert sum(r["score"] for r in runs) == sum(r["score"] for r in created.values())


# Overlapping transitions of one run (X→Y by one PATCH, then a DELETE of Y by another request):
# the DELETE's -Y may reach a bucket before the PATCH's +Y, so a bucket dips below zero for a
# moment. buckets.apply deletes only exactly-empty buckets, so the late +Y brings it back to zero.
async def test_a_delete_overtaking_an_edits_bucket_move_leaves_no_points(
    client: httpx.AsyncClient, runner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PATCH stores X→Y and is held just before adding Y to the buckets; DELETE of Y runs."""
    run = (await post(client, runner, RUN, None)).json()
    original = buckets.apply
    held, release = asyncio.Event(), asyncio.Event()

    async def apply(run: Run, sign: int) -> None:
        if sign > 0 and not release.is_set():
            held.set()
            await release.wait()
        await original(run, sign)

    monkeypatch.setattr(buckets, "apply", apply)
    url = f"/runs/{run['id']}"
    edit = asyncio.create_task(client.patch(url, json={"duration_s": 2400}, headers=runner.headers))
    await held.wait()
    assert (await client.delete(url, headers=runner.headers)).status_code == 204
    release.set()
    assert (await edit).status_code == 200
    assert await assert_totals_match_runs(client, runner) == []


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_edits_keep_the_totals_exact(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    team = await api.team(runner)
    earlier = {**RUN, "started_at": "2024-04-20T07:00:00Z"}  # clear of every edit below
    city_team = (await post(client, runner, earlier, None)).json()["team_id"]
    run = (await post(client, runner, RUN, None)).json()
    edits = [
        {
            "distance_km": 5 + i,
            "duration_s": 1800 + 300 * i,
            "started_at": f"2024-05-{1 + i % 4:02d}T07:00:00Z",
            "team_id": team["id"] if i % 2 else city_team,
        }
        for i in range(10)
    ]
    responses = await asyncio.gather(
        *(client.patch(f"/runs/{run['id']}", json=e, headers=runner.headers) for e in edits)
    )
    assert {r.status_code for r in responses} <= {200, 409}
    assert 200 in {r.status_code for r in responses}
    runs = await assert_totals_match_runs(client, runner)
    final = next(r for r in runs if r["id"] == run["id"])
    assert {k: final[k] for k in edits[0]} in [{**e, "started_at": e["started_at"]} for e in edits]


@pytest.mark.usefixtures("yielding_database")
async def test_edits_racing_a_delete_leave_no_points_behind(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = (await post(client, runner, RUN, None)).json()
    url = f"/runs/{run['id']}"
    patches = [
        client.patch(url, json={"duration_s": 2000 + i * 100}, headers=runner.headers)
        for i in range(6)
    ]
    responses = await asyncio.gather(*patches, client.delete(url, headers=runner.headers))
    assert responses[-1].status_code == 204
    assert {r.status_code for r in responses[:-1]} <= {200, 404, 409}
    assert await assert_totals_match_runs(client, runner) == []

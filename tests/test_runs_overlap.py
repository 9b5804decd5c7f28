"""A runner's runs never overlap in time: [started_at, started_at + duration_s), half-open.

A new or edited run that overlaps another run of the same runner is refused with 409 naming
`conflicting_run_id`, atomically (concurrent overlapping requests: exactly one wins), and a
refused request changes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from documents import Run, RunSlotLease
from documents.clock import utcnow
from service.runs import overlap
from service.settings import Settings
from tests.conftest import TEST_MONGODB_URI, assert_problem
from tests.factories import Account, Api
from tests.test_runs import assert_totals_match_runs, snapshot, utc
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)

# 07:00-07:50 UTC
RUN = {"started_at": "2024-05-01T07:00:00Z", "distance_km": 10.0, "duration_s": 3000}


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


def post(client: httpx.AsyncClient, account: Account, body: dict, key: str | None = None) -> Any:
    headers = dict(account.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/runs", json=body, headers=headers)


def at(time: str, duration_s: int = 3000, **fields: Any) -> dict[str, Any]:
    """A run on 2024-05-01 starting at `time` (HH:MM:SS, UTC), at 12 km/h (10 km at most)."""
    distance_km = min(10.0, round(duration_s / 300, 3))
    return {
        "started_at": f"2024-05-01T{time}Z",
        "distance_km": distance_km,
        "duration_s": duration_s,
        **fields,
    }


def assert_overlap(response: httpx.Response, conflicting: dict[str, Any]) -> None:
    problem = assert_problem(response, 409)
    assert problem["conflicting_run_id"] == conflicting["id"]
    assert "overlaps" in str(problem["detail"])


# --- recording --------------------------------------------------------------------------------


async def test_the_same_run_twice_is_409_naming_the_first(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = (await post(client, runner, RUN)).json()
    before = await snapshot(client, runner)
    assert_overlap(await post(client, runner, RUN), first)
    assert await snapshot(client, runner) == before


async def test_five_identical_ultras_count_once(client: httpx.AsyncClient, runner: Account) -> None:
    """The reported exploit: five identical 350 km / 14 h runs made a new account #1."""
    ultra = {"started_at": "2024-05-01T06:00:00Z", "distance_km": 350, "duration_s": 14 * 3600}
    responses = [await post(client, runner, ultra) for _ in range(5)]
    assert [r.status_code for r in responses] == [201, 409, 409, 409, 409]
    board = await client.get("/leaderboards/users", params={"period": "all"})
    assert board.status_code == 200, board.text
    [entry] = board.json()["items"]
    assert entry["score"] == responses[0].json()["score"]
    await assert_totals_match_runs(client, runner)


@pytest.mark.parametrize(
    "body",
    [
        at("07:50:00"),  # starts exactly when the first ends
        at("06:10:00"),  # ends exactly when the first starts (06:10 + 50 min)
        at("07:50:00", duration_s=60),
        {**RUN, "started_at": "2024-05-02T07:00:00Z"},  # the same time another day
    ],
    ids=["starts-at-its-end", "ends-at-its-start", "short-after", "next-day"],
)
async def test_touching_runs_do_not_overlap(
    client: httpx.AsyncClient, runner: Account, body: dict
) -> None:
    assert (await post(client, runner, RUN)).status_code == 201
    r = await post(client, runner, body)
    assert r.status_code == 201, r.text
    await assert_totals_match_runs(client, runner)


@pytest.mark.parametrize(
    "body",
    [
        at("07:49:59"),  # its first second is the first run's last
        at("06:10:01"),  # its last second is the first run's first
        at("07:10:00", duration_s=600),  # inside it
        at("06:00:00", duration_s=10_800),  # around it
        at("07:00:00", duration_s=60),  # same start, shorter
        at("06:59:59", duration_s=3002),  # one second longer on each side
    ],
    ids=["1s-at-end", "1s-at-start", "inside", "around", "same-start", "wider"],
)
async def test_any_overlap_is_409_and_stores_nothing(
    client: httpx.AsyncClient, runner: Account, body: dict
) -> None:
    first = (await post(client, runner, RUN)).json()
    before = await snapshot(client, runner)
    assert_overlap(await post(client, runner, body), first)
    assert await snapshot(client, runner) == before


async def test_other_runners_never_conflict(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    other = await api.user(city="Paris")
    assert (await post(client, runner, RUN)).status_code == 201
    assert (await post(client, other, RUN)).status_code == 201
    assert len(await assert_totals_match_runs(client, runner)) == 2


async def test_deleting_a_run_frees_its_slot(client: httpx.AsyncClient, runner: Account) -> None:
    first = (await post(client, runner, RUN)).json()
    assert (await client.delete(f"/runs/{first['id']}", headers=runner.headers)).status_code == 204
    again = await post(client, runner, RUN)
    assert again.status_code == 201, again.text
    assert [r["id"] for r in await assert_totals_match_runs(client, runner)] == [again.json()["id"]]


async def test_a_day_holds_at_most_24_hours_of_running(
    client: httpx.AsyncClient, runner: Account
) -> None:
    """The per-day ceiling follows from the rule: 24 back-to-back hours fill a day."""
    for hour in range(24):
        r = await post(client, runner, at(f"{hour:02d}:00:00", duration_s=3600))
        assert r.status_code == 201, r.text
    for body in (at("12:30:00", duration_s=60), at("23:59:00", duration_s=60)):
        assert_problem(await post(client, runner, body), 409)
    runs = await assert_totals_match_runs(client, runner)
    assert sum(r["duration_s"] for r in runs) == 24 * 3600


async def test_an_idempotent_retry_returns_the_first_run_not_409(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = await post(client, runner, RUN, key="k")
    assert first.status_code == 201
    again = await post(client, runner, RUN, key="k")
    assert again.status_code == 200
    assert again.json() == first.json()
    # the same run under another key is a second submission of it: an overlap
    assert_overlap(await post(client, runner, RUN, key="other"), first.json())


async def test_a_refused_overlap_does_not_use_up_its_key(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = (await post(client, runner, RUN)).json()
    assert_overlap(await post(client, runner, at("07:30:00"), key="k"), first)
    fixed = await post(client, runner, at("08:00:00"), key="k")
    assert fixed.status_code == 201, fixed.text
    assert (await post(client, runner, at("08:00:00"), key="k")).status_code == 200


async def test_a_refused_run_stores_no_route(client: httpx.AsyncClient, runner: Account) -> None:
    first = (await post(client, runner, RUN)).json()
    before = await snapshot(client, runner)
    route = {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}
    assert_overlap(await post(client, runner, at("07:30:00", route=route), key="k"), first)
    assert await snapshot(client, runner) == before


# --- editing ----------------------------------------------------------------------------------


async def test_an_edit_into_another_run_is_409_and_changes_nothing(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = (await post(client, runner, RUN)).json()
    second = (await post(client, runner, at("09:00:00"))).json()
    before = await snapshot(client, runner)
    url = f"/runs/{second['id']}"
    for change in (
        {"started_at": "2024-05-01T07:30:00Z"},
        {"started_at": "2024-05-01T06:00:00Z", "duration_s": 3601, "notes": "moved"},
        {"started_at": "2024-05-01T07:45:00Z", "duration_s": 7200},  # starts in its last minutes
    ):
        assert_overlap(await client.patch(url, json=change, headers=runner.headers), first)
    # growing the first run into the second
    r = await client.patch(
        f"/runs/{first['id']}", json={"duration_s": 7201}, headers=runner.headers
    )
    assert_overlap(r, second)
    assert await snapshot(client, runner) == before


async def test_an_edit_overlapping_only_itself_is_fine(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = (await post(client, runner, RUN)).json()
    await post(client, runner, at("09:00:00"))
    url = f"/runs/{run['id']}"
    r = await client.patch(url, json={"started_at": "2024-05-01T07:10:00Z"}, headers=runner.headers)
    assert r.status_code == 200, r.text
    r = await client.patch(url, json={"duration_s": 6600}, headers=runner.headers)  # to 09:00
    assert r.status_code == 200, r.text
    assert utc(r.json()["started_at"]) + timedelta(seconds=6600) == utc("2024-05-01T09:00:00Z")
    r = await client.patch(url, json={"notes": "no time change"}, headers=runner.headers)
    assert r.status_code == 200, r.text
    await assert_totals_match_runs(client, runner)


async def test_an_edit_moves_the_slot_it_occupies(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = (await post(client, runner, RUN)).json()
    r = await client.patch(
        f"/runs/{run['id']}", json={"started_at": "2024-05-01T12:00:00Z"}, headers=runner.headers
    )
    assert r.status_code == 200
    assert (await post(client, runner, RUN)).status_code == 201  # the old slot is free
    assert_overlap(await post(client, runner, at("12:30:00")), run)


# --- runs stored before ends_at existed -------------------------------------------------------


async def test_runs_without_ends_at_still_block_their_slot_and_are_backfilled(
    client: httpx.AsyncClient, runner: Account
) -> None:
    first = (await post(client, runner, RUN)).json()
    collection = Run.get_motor_collection()
    await collection.update_many({}, {"$unset": {"ends_at": ""}})
    assert_overlap(await post(client, runner, at("07:49:00")), first)
    assert (await post(client, runner, at("07:50:00"))).status_code == 201

    await collection.update_many({}, {"$unset": {"ends_at": ""}})
    assert await overlap.backfill_ends_at(batch=1) == 2
    assert await overlap.backfill_ends_at() == 0
    ends = {str(doc["_id"]): doc["ends_at"] async for doc in collection.find({})}
    assert ends[first["id"]] == utc("2024-05-01T07:50:00Z")


async def test_editing_an_old_run_fills_in_ends_at(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = (await post(client, runner, RUN)).json()
    collection = Run.get_motor_collection()
    await collection.update_many({}, {"$unset": {"ends_at": ""}})
    r = await client.patch(f"/runs/{run['id']}", json={"notes": "hi"}, headers=runner.headers)
    assert r.status_code == 200
    stored = await collection.find_one({})
    assert stored is not None
    assert stored["ends_at"] == utc("2024-05-01T07:50:00Z")


# --- the lease --------------------------------------------------------------------------------


async def test_a_crashed_holders_lease_expires(client: httpx.AsyncClient, runner: Account) -> None:
    from beanie import PydanticObjectId

    stale = RunSlotLease(
        id=PydanticObjectId(runner.id), holder="crashed", until=utcnow() - timedelta(seconds=1)
    )
    await stale.insert()
    assert (await post(client, runner, RUN)).status_code == 201
    assert await RunSlotLease.count() == 0  # released after the write


async def test_a_lease_that_stays_busy_is_409_with_retry_after(
    client: httpx.AsyncClient, runner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from beanie import PydanticObjectId

    monkeypatch.setattr(overlap, "WAIT_SECONDS", 0.05)
    busy = RunSlotLease(
        id=PydanticObjectId(runner.id), holder="other", until=utcnow() + timedelta(seconds=30)
    )
    await busy.insert()
    before = await snapshot(client, runner)
    r = await post(client, runner, RUN)
    problem = assert_problem(r, 409)
    assert "retry" in str(problem["detail"])
    assert r.headers["Retry-After"] == "1"
    assert await snapshot(client, runner) == before
    lease = await RunSlotLease.get(PydanticObjectId(runner.id))
    assert lease is not None
    assert lease.holder == "other"  # a waiter never releases someone else's lease


# --- races ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_overlapping_posts_store_exactly_one(
    client: httpx.AsyncClient, runner: Account
) -> None:
    for day in range(1, 5):  # each round interleaves differently
        bodies = [
            {**RUN, "started_at": f"2024-05-0{day}T07:{i:02d}:00Z", "distance_km": 5 + i}
            for i in range(8)
        ]
        responses = await asyncio.gather(*(post(client, runner, b) for b in bodies))
        assert Counter(r.status_code for r in responses) == {201: 1, 409: 7}
        [winner] = [r.json() for r in responses if r.status_code == 201]
        for r in responses:
            if r.status_code == 409:
                assert_overlap(r, winner)
    runs = await assert_totals_match_runs(client, runner)
    assert len(runs) == 4
    board = (await client.get("/leaderboards/users", params={"period": "all"})).json()
    assert board["items"][0]["score"] == sum(r["score"] for r in runs)


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_overlapping_posts_with_keys_and_retries(
    client: httpx.AsyncClient, runner: Account
) -> None:
    """Overlapping runs under keys, each sent twice: one run wins, its retry replays it."""
    bodies = [{**RUN, "started_at": f"2024-05-01T07:{i:02d}:00Z"} for i in range(4)]
    sends = [(b, f"k{i}") for i, b in enumerate(bodies)] * 2
    responses = await asyncio.gather(*(post(client, runner, b, k) for b, k in sends))
    [winner] = [r.json() for r in responses if r.status_code == 201]
    winning_key = next(
        k for (_, k), r in zip(sends, responses, strict=True) if r.status_code == 201
    )
    for (_, key), r in zip(sends, responses, strict=True):
        if key == winning_key:
            assert r.status_code in (200, 201)
            assert r.json()["id"] == winner["id"]
        else:
            assert_overlap(r, winner)
    assert [r["id"] for r in await assert_totals_match_runs(client, runner)] == [winner["id"]]


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_edits_moving_two_runs_onto_each_other(
    client: httpx.AsyncClient, runner: Account
) -> None:
    a = (await post(client, runner, at("06:00:00"))).json()
    b = (await post(client, runner, at("10:00:00"))).json()
    for round_ in range(4):
        # both move into 08:00-09:00 (a to 08:00, b to 08:20): only one can land there
        moves = [
            client.patch(
                f"/runs/{a['id']}",
                json={"started_at": "2024-05-01T08:00:00Z", "notes": f"a{round_}"},
                headers=runner.headers,
            ),
            client.patch(
                f"/runs/{b['id']}",
                json={"started_at": "2024-05-01T08:20:00Z", "notes": f"b{round_}"},
                headers=runner.headers,
            ),
        ]
        ra, rb = await asyncio.gather(*moves)
        assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
        if ra.status_code == 409:
            assert_overlap(ra, b)
        else:
            assert_overlap(rb, a)
        runs = await assert_totals_match_runs(client, runner)
        assert len(runs) == 2
        # back to their own slots for the next round
        for run, start in ((a, "06:00:00"), (b, "10:00:00")):
            r = await client.patch(
                f"/runs/{run['id']}",
                json={"started_at": f"2024-05-01T{start}Z"},
                headers=runner.headers,
            )
            assert r.status_code == 200, r.text


@pytest.mark.usefixtures("yielding_database")
async def test_a_post_racing_an_edit_into_the_same_slot(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = (await post(client, runner, at("06:00:00"))).json()
    edit, new = await asyncio.gather(
        client.patch(
            f"/runs/{run['id']}",
            json={"started_at": "2024-05-01T12:00:00Z"},
            headers=runner.headers,
        ),
        post(client, runner, at("12:10:00")),
    )
    assert (edit.status_code, new.status_code) in {(200, 409), (409, 201)}, (edit.text, new.text)
    if new.status_code == 409:
        assert_overlap(new, run)
    else:
        assert_overlap(edit, new.json())
    await assert_totals_match_runs(client, runner)


# --- documentation ----------------------------------------------------------------------------


async def test_openapi_documents_the_overlap_409(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    ref = "#/components/schemas/RunConflictProblem"
    for path, method in (("/runs", "post"), ("/runs/{run_id}", "patch")):
        response = schema["paths"][path][method]["responses"]["409"]
        assert response["content"]["application/problem+json"]["schema"] == {"$ref": ref}
    properties = schema["components"]["schemas"]["RunConflictProblem"]["properties"]
    assert {"conflicting_run_id", "detail", "status"} <= properties.keys()


# --- demo data --------------------------------------------------------------------------------


@pytest.mark.usefixtures("app")  # a fresh, empty database
async def test_demo_runs_never_overlap(settings: Settings) -> None:
    from tests.test_demo_challenge import _load

    await _load(settings, seed=1)
    await _load(settings, seed=5)  # another seed's runs keep clear of the stored ones
    by_runner: dict[Any, list[Run]] = {}
    for run in await Run.find_all().sort("started_at").to_list():
        assert run.ends_at == run.started_at + timedelta(seconds=run.duration_s)
        by_runner.setdefault(run.user_id, []).append(run)
    assert sum(len(runs) for runs in by_runner.values()) > 800  # the second load added runs
    for runs in by_runner.values():
        for before, after in itertools.pairwise(runs):
            assert before.ends_at is not None
            assert before.ends_at <= after.started_at, (before, after)


# --- the index that serves the check ----------------------------------------------------------


def _index_scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every IXSCAN stage of an explain plan (wherever $or or FETCH put it)."""
    found = [plan] if plan.get("stage") == "IXSCAN" else []
    for key in ("inputStage", "queryPlan"):
        if isinstance(plan.get(key), dict):
            found += _index_scans(plan[key])
    for child in plan.get("inputStages", []):
        found += _index_scans(child)
    return found


@pytest.mark.skipif(not TEST_MONGODB_URI, reason="explain needs a real server")
async def test_the_overlap_query_is_an_index_scan_bounded_on_both_sides(
    client: httpx.AsyncClient, runner: Account
) -> None:
    from beanie import PydanticObjectId

    for hour in range(6, 12):
        await post(client, runner, at(f"{hour:02d}:00:00"))
    cursor = overlap.conflict_cursor(
        user_id=PydanticObjectId(runner.id),
        started_at=utc("2024-05-01T09:30:00Z"),
        duration_s=3000,
    )
    explained = await cursor.explain()
    scans = _index_scans(explained["queryPlanner"]["winningPlan"])
    assert scans, explained["queryPlanner"]["winningPlan"]
    assert {scan["indexName"] for scan in scans} == {"user_started"}
    for scan in scans:
        if "indexBounds" not in scan:  # the test server's explain omits bounds; MongoDB's has them
            continue
        # e.g. ['(new Date(<end>), new Date(<start - 48 h>))']: both ends are dates, not infinity
        bounds = scan["indexBounds"]["started_at"]
        assert len(bounds) == 1
        assert "inf" not in bounds[0].lower(), scan["indexBounds"]
        assert bounds[0].count("new Date(") == 2, bounds


def test_the_overlap_query_bounds_the_start_on_both_sides() -> None:
    from beanie import PydanticObjectId

    user, run = PydanticObjectId(), PydanticObjectId()
    start = utc("2024-05-03T09:30:00Z")
    query = overlap.conflict_query(user_id=user, started_at=start, duration_s=600, exclude=run)
    assert query["user_id"] == user
    # no run lasts more than 48 h: one starting earlier than that has ended by `start`
    assert query["started_at"] == {
        "$gt": utc("2024-05-01T09:30:00Z"),
        "$lt": utc("2024-05-03T09:40:00Z"),
    }
    assert query["_id"] == {"$ne": run}

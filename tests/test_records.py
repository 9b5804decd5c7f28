"""Personal records: best efforts from timed routes, run records, biggest week/month, strength.

The pure parts (best efforts, the bucket and strength pipelines) are checked against plain
Python oracles on randomized data; the rest through GET /users/{id}/records.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import BestEffort, ScoreBucket, StrengthRecord, StrengthSummary, Workout
from documents.workout import WorkoutSet
from service import events
from service.imports.model import TrackPoint
from service.records import efforts, pipelines
from service.records import service as records
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_imports import FakeParser, fake, upload  # noqa: F401  (fake: a fixture)
from tests.test_imports import activity as import_activity
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)

START = datetime(2024, 5, 1, 7, tzinfo=UTC)
METRES_PER_DEGREE = efforts.EARTH_RADIUS_M * math.pi / 180  # along a meridian


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def paced_route(
    paces: list[tuple[float, float]], *, start: datetime = START, step_m: float = 25.0
) -> dict[str, Any]:
    """A straight route north from Paris: `paces` is [(metres, seconds per km)] in order."""
    coordinates = [[2.35, 48.85]]
    timestamps = [start]
    t = 0.0
    at = 0.0
    steps = [(step_m, pace) for metres, pace in paces for _ in range(round(metres / step_m))]
    steps.append((0.01, paces[-1][1]))  # 1 cm more: float sums never fall short of the total
    for metres, pace in steps:
        at += metres
        t += metres * pace / 1000
        coordinates.append([2.35, 48.85 + at / METRES_PER_DEGREE])
        timestamps.append(start + timedelta(seconds=t))
    return {
        "type": "LineString",
        "coordinates": coordinates,
        "timestamps": [z(moment) for moment in timestamps],
    }


async def get_records(client: httpx.AsyncClient, viewer: Account, user_id: str) -> dict[str, Any]:
    r = await client.get(f"/users/{user_id}/records", headers=viewer.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def efforts_by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["distance"]: e for e in body["running"]["best_efforts"]}


# --- best efforts: the pure function against a brute-force oracle ------------------------------


def _time_leaving(distances: list[float], times: list[float], s: float) -> float:
    """Time at distance s, leaving it: the last point at s, else interpolated (linear scan)."""
    at = [t for d, t in zip(distances, times, strict=True) if d == s]
    if at:
        return max(at)
    for k in range(len(distances) - 1):
        if distances[k] < s < distances[k + 1]:
            f = (s - distances[k]) / (distances[k + 1] - distances[k])
            return times[k] + f * (times[k + 1] - times[k])
    raise AssertionError(s)


def _time_reaching(distances: list[float], times: list[float], e: float) -> float:
    """Time at distance e, arriving: the first point at e, else interpolated (linear scan)."""
    at = [t for d, t in zip(distances, times, strict=True) if d == e]
    if at:
        return min(at)
    return _time_leaving(distances, times, e)


def brute_force(distances: list[float], times: list[float], target: float) -> float | None:
    """O(n^2): the time over [s, s + target] at every breakpoint s (a point, or a point minus
    the target), the minimum of a piecewise-linear function being at one of them."""
    total = distances[-1]
    starts = {d for d in distances} | {d - target for d in distances}
    best: float | None = None
    for s in starts:
        if s < 0 or s + target > total:
            continue
        seconds = _time_reaching(distances, times, s + target) - _time_leaving(distances, times, s)
        if seconds > 0 and (best is None or seconds < best):
            best = seconds
    return best


def random_track(
    rng: random.Random, n: int, *, teleports: bool = False
) -> tuple[list[float], list[float]]:
    """Random steps: stops (time, no distance), repeated points, whole numbers (exact ties);
    `teleports`: also moves that take no time (bogus data)."""
    distances, times = [0.0], [0.0]
    for _ in range(n - 1):
        kind = rng.random()
        step = 0.0 if kind < 0.1 else rng.choice([rng.uniform(0, 30), float(rng.randrange(0, 40))])
        dt = 0.0 if kind > 0.95 else rng.choice([rng.uniform(0, 20), float(rng.randrange(0, 10))])
        if step > 0 and dt == 0 and not teleports:
            dt = rng.choice([0.5, 1.0])
        distances.append(distances[-1] + step)
        times.append(times[-1] + dt)
    return distances, times


@pytest.mark.parametrize("seed", range(300))
def test_best_effort_equals_the_brute_force_oracle(seed: int) -> None:
    rng = random.Random(seed)
    distances, times = random_track(rng, rng.randrange(2, 60))
    for target in (rng.uniform(1, 400), 50.0, 100.0, distances[-1], distances[-1] / 2):
        effort = efforts.best_effort(distances, times, target)
        expected = brute_force(distances, times, target)
        if expected is None:
            assert effort is None
            continue
        assert effort is not None
        assert effort.seconds == pytest.approx(expected, abs=1e-6)
        # the stretch it names takes that long
        start = effort.start_m
        again = _time_reaching(distances, times, start + target) - _time_leaving(
            distances, times, start
        )
        assert again == pytest.approx(effort.seconds, abs=1e-6)
        # no stretch anywhere is faster (sampled)
        for _ in range(30):
            s = rng.uniform(0, distances[-1] - target)
            if distances.count(s) or distances.count(s + target):
                continue
            seconds = _time_reaching(distances, times, s + target) - _time_leaving(
                distances, times, s
            )
            if seconds > 1e-9:
                assert seconds >= effort.seconds - 1e-6


@pytest.mark.parametrize("seed", range(100))
def test_moves_that_take_no_time_never_make_a_zero_best_effort(seed: int) -> None:
    # a stretch covered in no time (bogus data) has no positive minimum: the best effort is the
    # fastest stretch from a point or to a point that took any time at all
    rng = random.Random(seed)
    distances, times = random_track(rng, rng.randrange(2, 60), teleports=True)
    for target in (50.0, 100.0, distances[-1] / 2):
        effort = efforts.best_effort(distances, times, target)
        expected = brute_force(distances, times, target)
        if effort is not None:
            assert effort.seconds > 0
        if expected is not None:
            assert effort is not None
            assert effort.seconds <= expected + 1e-6


def test_best_effort_of_a_route_too_short_or_timeless_is_none() -> None:
    assert efforts.best_effort([0.0, 300.0], [0.0, 60.0], 400.0) is None
    assert efforts.best_effort([0.0, 500.0], [0.0, 0.0], 400.0) is None  # no positive time
    assert efforts.best_effort([0.0], [0.0], 400.0) is None


def test_interpolation_at_both_ends() -> None:
    # 0-100 m at 1 m/s, 100-200 m at 2 m/s, 200-300 m at 1 m/s: the fastest 150 m holds the
    # whole fast part plus 50 m at 1 m/s: 50 + 50 = 100 s
    effort = efforts.best_effort([0.0, 100.0, 200.0, 300.0], [0.0, 100.0, 150.0, 250.0], 150.0)
    assert effort is not None
    assert effort.seconds == pytest.approx(100.0)


class CountingList(list[float]):
    reads = 0

    def __getitem__(self, index: Any) -> Any:
        CountingList.reads += 1
        return super().__getitem__(index)


def test_best_efforts_of_20000_points_do_linear_work() -> None:
    rng = random.Random(3)
    for n in (2_000, 20_000):
        distances, times = random_track(rng, n)
        CountingList.reads = 0
        efforts.best_effort(CountingList(distances), CountingList(times), distances[-1] / 3)
        # two passes, each reading a handful of values per point: never n^2
        assert CountingList.reads <= 20 * n


def test_haversine_matches_the_meridian_arc() -> None:
    assert efforts.haversine_m(2.35, 48.0, 2.35, 49.0) == pytest.approx(METRES_PER_DEGREE)
    route = paced_route([(1000, 300)])
    distances = efforts.cumulative_distances(route["coordinates"])
    assert distances[-1] == pytest.approx(1000.01, abs=1e-6)


# --- best efforts through the API --------------------------------------------------------------


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


async def post_run(
    client: httpx.AsyncClient,
    account: Account,
    *,
    route: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"started_at": z(START), "distance_km": 5.0, "duration_s": 1800}
    body.update(fields)
    if route is not None:
        body["route"] = route
    r = await client.post("/runs", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


# 5 km at 6:00/km, except the third kilometre at 4:00/km
VARIED = [(2000, 360.0), (1000, 240.0), (2000, 360.0)]


async def test_the_fastest_kilometre_is_where_you_ran_it(
    client: httpx.AsyncClient, runner: Account, api: Api
) -> None:
    run = await post_run(client, runner, route=paced_route(VARIED), duration_s=1680)
    viewer = await api.user()
    body = await get_records(client, viewer, runner.id)
    best = efforts_by_name(body)
    assert set(best) == {"400m", "1k", "1mile", "5k"}  # no 10 km in a 5 km run
    assert best["400m"]["seconds"] == pytest.approx(96.0, abs=0.1)
    assert best["1k"]["seconds"] == pytest.approx(240.0, abs=0.1)
    assert best["1k"]["pace_s_per_km"] == pytest.approx(240.0, abs=0.1)
    # the fast kilometre plus 609.344 m at 6:00/km
    assert best["1mile"]["seconds"] == pytest.approx(240 + 609.344 * 0.36, abs=0.1)
    assert best["5k"]["seconds"] == pytest.approx(1680.0, abs=0.1)
    assert all(e["run_id"] == run["id"] for e in best.values())
    assert best["1k"]["started_at"] == z(START)
    stored = await BestEffort.find(BestEffort.distance == "1k").to_list()
    assert [round(e.start_m) for e in stored] == [2000]  # the stretch starts at 2 km


async def test_a_deleted_runs_record_falls_to_the_next_best(
    client: httpx.AsyncClient, runner: Account
) -> None:
    slow = await post_run(client, runner, route=paced_route([(5000, 330.0)]), duration_s=1650)
    fast_start = START + timedelta(days=1)
    fast = await post_run(
        client,
        runner,
        route=paced_route(VARIED, start=fast_start),
        started_at=z(fast_start),
        duration_s=1680,
    )
    best = efforts_by_name(await get_records(client, runner, runner.id))
    assert best["1k"]["run_id"] == fast["id"]
    assert best["5k"]["run_id"] == slow["id"]  # 5:30/km all along beats 1,680 s
    assert best["5k"]["seconds"] == pytest.approx(1650, abs=0.1)

    r = await client.delete(f"/runs/{fast['id']}", headers=runner.headers)
    assert r.status_code == 204
    best = efforts_by_name(await get_records(client, runner, runner.id))
    assert best["1k"]["run_id"] == slow["id"]
    assert best["1k"]["seconds"] == pytest.approx(330, abs=0.1)
    assert await BestEffort.find(BestEffort.run_id == PydanticObjectId(fast["id"])).count() == 0


async def test_moving_a_run_moves_its_records_date(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = await post_run(client, runner, route=paced_route(VARIED), duration_s=1680)
    moved = START - timedelta(days=3)
    r = await client.patch(
        f"/runs/{run['id']}", json={"started_at": z(moved)}, headers=runner.headers
    )
    assert r.status_code == 200, r.text
    body = await get_records(client, runner, runner.id)
    assert {e["started_at"] for e in body["running"]["best_efforts"]} == {z(moved)}
    assert body["running"]["longest_run"]["started_at"] == z(moved)


async def test_routes_without_times_give_no_best_efforts(
    client: httpx.AsyncClient, runner: Account
) -> None:
    route = paced_route(VARIED)
    del route["timestamps"]
    await post_run(client, runner, route=route)
    body = await get_records(client, runner, runner.id)
    assert body["running"]["best_efforts"] == []
    assert body["running"]["longest_run"]["distance_km"] == 5.0


# --- run records without routes ----------------------------------------------------------------


async def test_longest_run_duration_and_score_follow_edits_and_deletes(
    client: httpx.AsyncClient, runner: Account
) -> None:
    day = timedelta(days=1)
    long_run = await post_run(client, runner, distance_km=21.1, duration_s=7600)
    slow = await post_run(
        client, runner, started_at=z(START + day), distance_km=15.0, duration_s=9000
    )
    short = await post_run(client, runner, started_at=z(START + 2 * day), distance_km=3.0)
    running = (await get_records(client, runner, runner.id))["running"]
    assert running["longest_run"]["run_id"] == long_run["id"]
    assert running["longest_run"]["distance_km"] == 21.1
    assert running["longest_duration"]["run_id"] == slow["id"]
    assert running["longest_duration"]["duration_s"] == 9000
    best_score = max((long_run, slow, short), key=lambda r: r["score"])
    assert running["highest_score"]["run_id"] == best_score["id"]
    assert running["highest_score"]["score"] == best_score["score"]
    assert running["best_efforts"] == []

    r = await client.patch(
        f"/runs/{short['id']}",
        json={"distance_km": 30.0, "duration_s": 10000},
        headers=runner.headers,
    )
    assert r.status_code == 200, r.text
    running = (await get_records(client, runner, runner.id))["running"]
    assert running["longest_run"]["run_id"] == short["id"]
    assert running["longest_duration"]["run_id"] == short["id"]

    r = await client.delete(f"/runs/{short['id']}", headers=runner.headers)
    assert r.status_code == 204
    running = (await get_records(client, runner, runner.id))["running"]
    assert running["longest_run"]["run_id"] == long_run["id"]
    assert running["longest_duration"]["run_id"] == slow["id"]


async def test_biggest_week_and_month(client: httpx.AsyncClient, runner: Account) -> None:
    # Monday 2024-04-29 .. Sunday 2024-05-05 holds 3 runs of 10 km, across two months
    week = [datetime(2024, 4, 29, 7, tzinfo=UTC), datetime(2024, 5, 1, 7, tzinfo=UTC)]
    week.append(datetime(2024, 5, 5, 7, tzinfo=UTC))
    for started in week:
        await post_run(client, runner, started_at=z(started), distance_km=10.0, duration_s=3000)
    # May gets two more runs (of 7 km), in the next weeks
    for started in (datetime(2024, 5, 6, 7, tzinfo=UTC), datetime(2024, 5, 20, 7, tzinfo=UTC)):
        await post_run(client, runner, started_at=z(started), distance_km=7.0, duration_s=2400)
    running = (await get_records(client, runner, runner.id))["running"]
    assert running["biggest_week"] == {"start": "2024-04-29", "distance_km": 30.0, "runs": 3}
    assert running["biggest_month"] == {"start": "2024-05-01", "distance_km": 34.0, "runs": 4}


async def test_a_user_without_activity_has_empty_records(
    client: httpx.AsyncClient, runner: Account
) -> None:
    body = await get_records(client, runner, runner.id)
    assert body == {
        "user_id": runner.id,
        "running": {
            "best_efforts": [],
            "longest_run": None,
            "longest_duration": None,
            "highest_score": None,
            "biggest_week": None,
            "biggest_month": None,
        },
        "strength": {"exercises": [], "highest_volume_workout": None},
    }


async def test_records_need_a_login_and_an_existing_user(
    client: httpx.AsyncClient, runner: Account
) -> None:
    assert_problem(await client.get(f"/users/{runner.id}/records"), 401)
    missing = str(PydanticObjectId())
    assert_problem(await client.get(f"/users/{missing}/records", headers=runner.headers), 404)
    assert_problem(await client.get("/users/not-an-id/records", headers=runner.headers), 404)


async def test_deleting_the_account_removes_its_records(
    client: httpx.AsyncClient, runner: Account
) -> None:
    await post_run(client, runner, route=paced_route(VARIED), duration_s=1680)
    assert await BestEffort.find_all().count() == 4
    r = await client.request(
        "DELETE", "/users/me", headers=runner.headers, json={"password": runner.password}
    )
    assert r.status_code == 204, r.text
    assert await BestEffort.find_all().count() == 0


# --- biggest week/month: the pipelines against plain Python ------------------------------------


def _oracle_period(rows: list[tuple[datetime, int, int]], key: Any) -> tuple[Any, int, int] | None:
    totals: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for day, metres, runs in rows:
        totals[key(day)][0] += metres
        totals[key(day)][1] += runs
    ranked = sorted(
        ((k, m, r) for k, (m, r) in totals.items() if m > 0), key=lambda x: (-x[1], x[0])
    )
    return ranked[0] if ranked else None


@pytest.mark.parametrize("seed", range(6))
async def test_biggest_week_and_month_pipelines_match_plain_python(
    client: httpx.AsyncClient, seed: int
) -> None:
    rng = random.Random(seed)
    users = [PydanticObjectId() for _ in range(3)]
    cities = [PydanticObjectId(), PydanticObjectId(), None]
    docs: list[dict[str, Any]] = []
    rows: dict[PydanticObjectId, list[tuple[datetime, int, int]]] = defaultdict(list)
    month_rows: dict[PydanticObjectId, list[tuple[datetime, int, int]]] = defaultdict(list)
    for user in users:
        for _ in range(rng.randrange(0, 40)):
            day = datetime(2023, 12, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 120))
            city = rng.choice(cities)
            metres, runs = rng.randrange(0, 20_000), rng.randrange(1, 3)
            month = day.replace(day=1)
            for kind, when, target in (("user", day, rows), ("user_month", month, month_rows)):
                key = f"{kind}|{user}|-|{city or '-'}|{when:%Y-%m-%d}|{len(docs)}"
                docs.append(
                    {
                        "_id": key,
                        "kind": kind,
                        "entity_id": user,
                        "city_id": city,
                        "day": when,
                        "score": 1,
                        "distance_m": metres,
                        "runs": runs,
                    }
                )
                target[user].append((when, metres, runs))
    # other kinds of the same entity never count
    docs.append(
        {
            "_id": "x",
            "kind": "member",
            "entity_id": users[0],
            "day": START,
            "score": 1,
            "distance_m": 10**7,
            "runs": 1,
        }
    )
    if docs:
        await ScoreBucket.get_motor_collection().insert_many(docs)

    def monday(day: datetime) -> datetime:
        return day - timedelta(days=day.weekday())

    collection = ScoreBucket.get_motor_collection()
    for user in users:
        got = await collection.aggregate(pipelines.biggest_week(user)).to_list(None)
        expected = _oracle_period(rows[user], monday)
        if expected is None:
            assert got == []
        else:
            assert len(got) == 1
            start = pipelines.week_start(int(got[0]["_id"]))
            assert (start.date(), got[0]["distance_m"], got[0]["runs"]) == (
                expected[0].date(),
                expected[1],
                expected[2],
            )
        got = await collection.aggregate(pipelines.biggest_month(user)).to_list(None)
        expected = _oracle_period(month_rows[user], lambda d: d)
        if expected is None:
            assert got == []
        else:
            assert [(g["_id"].date(), g["distance_m"], g["runs"]) for g in got] == [
                (expected[0].date(), expected[1], expected[2])
            ]


def test_week_start_is_a_monday() -> None:
    for week in range(2800, 2900):
        start = pipelines.week_start(week)
        assert start.weekday() == 0
        assert start.time() == datetime.min.time()


# --- strength -----------------------------------------------------------------------------------


async def record_workout(
    user_id: str | PydanticObjectId, started_at: datetime, sets: list[WorkoutSet]
) -> Workout:
    """A workout stored and announced as the workouts service does."""
    volume = sum((s.reps or 0) * (s.weight_kg or 0) for s in sets)
    workout = Workout(
        user_id=PydanticObjectId(user_id),
        started_at=started_at,
        day=started_at.replace(hour=0, minute=0, second=0, microsecond=0),
        duration_s=3600,
        sets=sets,
        sets_count=len(sets),
        exercises_count=len({s.exercise_id for s in sets}),
        volume_kg=volume,
    )
    await workout.insert()
    await events.workout_recorded.emit(workout=workout)
    return workout


def test_epley_counts_a_single_as_the_weight_lifted() -> None:
    assert pipelines.estimated_1rm(100, 1) == 100
    assert pipelines.estimated_1rm(100, 10) == pytest.approx(133.333, abs=1e-3)
    assert pipelines.estimated_1rm(80, 5) == pytest.approx(80 * (1 + 5 / 30))


async def catalogue_id(client: httpx.AsyncClient, name: str) -> str:
    r = await client.get("/exercises", params={"search": name, "limit": 100})
    assert r.status_code == 200, r.text
    return next(e["id"] for e in r.json()["items"] if e["name"] == name)


async def post_workout(
    client: httpx.AsyncClient, account: Account, started_at: datetime, sets: list[dict[str, Any]]
) -> dict[str, Any]:
    body = {"started_at": z(started_at), "duration_s": 3600, "sets": sets}
    r = await client.post("/workouts", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_strength_records_per_exercise(client: httpx.AsyncClient, runner: Account) -> None:
    squat = await catalogue_id(client, "Back squat")
    pushup = await catalogue_id(client, "Push-up")
    day = timedelta(days=1)
    first = await post_workout(
        client,
        runner,
        START,
        [
            {"exercise_id": squat, "reps": 5, "weight_kg": 100},
            {"exercise_id": squat, "reps": 10, "weight_kg": 80},
            {"exercise_id": pushup, "reps": 30},
        ],
    )
    second = await post_workout(
        client,
        runner,
        START + day,
        [
            {"exercise_id": squat, "reps": 1, "weight_kg": 120},
            {"exercise_id": squat, "reps": 3, "weight_kg": 110},
            {"exercise_id": pushup, "reps": 45},
        ],
    )
    viewer = await Api(client).user()
    strength = (await get_records(client, viewer, runner.id))["strength"]
    by_name = {e["exercise_name"]: e for e in strength["exercises"]}
    assert list(by_name) == ["Back squat", "Push-up"]
    sq = by_name["Back squat"]
    assert sq["exercise_id"] == squat
    assert sq["heaviest_set"] == {
        "workout_id": second["id"],
        "started_at": z(START + day),
        "weight_kg": 120.0,
        "reps": 1,
    }
    assert sq["most_reps"]["reps"] == 10
    assert sq["most_reps"]["weight_kg"] == 80.0
    # 100 kg x 5: 116.67; 80 x 10: 106.67; 110 x 3: 121; 120 x 1: 120 (a single as lifted)
    assert sq["best_estimated_1rm"]["estimated_1rm_kg"] == pytest.approx(121.0)
    assert sq["best_estimated_1rm"]["weight_kg"] == 110
    assert sq["best_estimated_1rm"]["reps"] == 3
    assert sq["best_estimated_1rm"]["workout_id"] == second["id"]
    assert sq["highest_volume"]["volume_kg"] == 1300.0  # 500 + 800, the first workout
    assert sq["highest_volume"]["workout_id"] == first["id"]
    pu = by_name["Push-up"]
    assert pu["heaviest_set"] is None
    assert pu["best_estimated_1rm"] is None
    assert pu["highest_volume"] is None
    assert pu["most_reps"]["reps"] == 45
    assert strength["highest_volume_workout"] == {
        "workout_id": first["id"],
        "started_at": z(START),
        "volume_kg": 1300.0,
    }

    # the workout holding the 1RM record is deleted: the record falls to the next best
    r = await client.delete(f"/workouts/{second['id']}", headers=runner.headers)
    assert r.status_code == 204, r.text
    strength = (await get_records(client, runner, runner.id))["strength"]
    sq = next(e for e in strength["exercises"] if e["exercise_name"] == "Back squat")
    assert sq["heaviest_set"]["weight_kg"] == 100.0
    assert sq["best_estimated_1rm"]["estimated_1rm_kg"] == pytest.approx(116.67)  # 100 kg x 5

    # an edit drops the push-ups from the first workout: no push-up records left
    r = await client.patch(
        f"/workouts/{first['id']}",
        json={"sets": [{"exercise_id": squat, "reps": 5, "weight_kg": 100}]},
        headers=runner.headers,
    )
    assert r.status_code == 200, r.text
    strength = (await get_records(client, runner, runner.id))["strength"]
    assert [e["exercise_name"] for e in strength["exercises"]] == ["Back squat"]
    assert strength["highest_volume_workout"]["volume_kg"] == 500.0
    assert await StrengthSummary.find_all().count() == 1


async def test_deleting_the_account_removes_its_strength_rows(
    client: httpx.AsyncClient, runner: Account, api: Api
) -> None:
    squat = await catalogue_id(client, "Back squat")
    other = await api.user()
    for account in (runner, other):
        for i in range(3):
            await post_workout(
                client,
                account,
                START + timedelta(days=i),
                [{"exercise_id": squat, "reps": 5, "weight_kg": 60 + i}],
            )
    assert await StrengthSummary.find_all().count() == 6
    r = await client.request(
        "DELETE", "/users/me", headers=runner.headers, json={"password": runner.password}
    )
    assert r.status_code == 204, r.text
    assert await StrengthSummary.find_all().count() == 3
    body = await get_records(client, other, other.id)
    assert body["strength"]["exercises"][0]["heaviest_set"]["weight_kg"] == 62


def _oracle_strength(workouts: list[Workout]) -> dict[PydanticObjectId, dict[str, Any]]:
    """Per exercise: (value, workout id) of each record, from the sets in plain Python."""
    best: dict[PydanticObjectId, dict[str, Any]] = defaultdict(dict)
    for w in sorted(workouts, key=lambda w: (w.started_at, str(w.id))):
        volume: dict[PydanticObjectId, float] = defaultdict(float)
        for st in w.sets:
            b = best[st.exercise_id]
            if st.weight_kg is not None:
                key = (st.weight_kg, -1 if st.reps is None else st.reps)
                if "heaviest" not in b or key > b["heaviest"][0]:
                    b["heaviest"] = (key, w.id)
            if st.reps is not None:
                key2 = (st.reps, -1 if st.weight_kg is None else st.weight_kg)
                if "most_reps" not in b or key2 > b["most_reps"][0]:
                    b["most_reps"] = (key2, w.id)
            if st.weight_kg and st.reps:
                e1rm = round(st.weight_kg if st.reps == 1 else st.weight_kg * (1 + st.reps / 30), 2)
                if "best_1rm" not in b or e1rm > b["best_1rm"][0]:
                    b["best_1rm"] = (e1rm, w.id)
            if st.weight_kg is not None and st.reps is not None:
                volume[st.exercise_id] += st.weight_kg * st.reps
        for exercise_id, v in volume.items():
            b = best[exercise_id]
            v = round(v, 3)
            if v > 0 and ("volume" not in b or v > b["volume"][0]):
                b["volume"] = (v, w.id)
    return best


def random_sets(rng: random.Random, exercises: list[PydanticObjectId]) -> list[WorkoutSet]:
    sets = []
    for _ in range(rng.randrange(1, 8)):
        reps = rng.choice([None, rng.randrange(1, 20)])
        kg = rng.choice([None, 0.0, float(rng.randrange(20, 120, 5))])
        if reps is None and kg is None:
            reps = 1
        sets.append(WorkoutSet(exercise_id=rng.choice(exercises), reps=reps, weight_kg=kg))
    return sets


def _records_as_oracle(stored: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Stored `strength_records` in the oracle's terms: metric -> (value, workout id)."""

    def rank(value: Any) -> Any:
        return -1 if value is None else value

    out: dict[Any, dict[str, Any]] = {}
    for row in stored:
        got: dict[str, Any] = {}
        if row["heaviest"]:
            h = row["heaviest"]
            got["heaviest"] = ((h["heaviest_kg"], rank(h["heaviest_reps"])), h["workout_id"])
        if row["most_reps"]:
            m = row["most_reps"]
            got["most_reps"] = ((m["most_reps"], rank(m["most_reps_kg"])), m["workout_id"])
        if row["best_1rm"]:
            got["best_1rm"] = (row["best_1rm"]["best_1rm_kg"], row["best_1rm"]["workout_id"])
        if row["volume"]:
            got["volume"] = (row["volume"]["volume_kg"], row["volume"]["workout_id"])
        out[row["exercise_id"]] = got
    return out


@pytest.mark.parametrize("seed", range(5))
async def test_strength_records_follow_workouts_like_plain_python(
    client: httpx.AsyncClient, seed: int
) -> None:
    rng = random.Random(seed)
    user = PydanticObjectId()
    exercises = [PydanticObjectId() for _ in range(4)]
    workouts: list[Workout] = []
    for i in range(rng.randrange(1, 25)):
        started = START + timedelta(hours=7 * i)
        workouts.append(await record_workout(user, started, random_sets(rng, exercises)))
    # some are edited, some deleted: the records fall to the next best
    for workout in list(workouts):
        roll = rng.random()
        if roll < 0.2:
            await workout.delete()
            await events.workout_deleted.emit(workout=workout)
            workouts.remove(workout)
        elif roll < 0.4:
            after = workout.model_copy(update={"sets": random_sets(rng, exercises)})
            await after.replace()
            await events.workout_changed.emit(before=workout, after=after)
            workouts[workouts.index(workout)] = after
    oracle = {k: v for k, v in _oracle_strength(workouts).items() if v}
    stored = await StrengthRecord.get_motor_collection().find({"user_id": user}).to_list(None)
    assert _records_as_oracle(stored) == oracle
    # a bulk loader's fold of all the summaries gives the same documents
    summaries = await StrengthSummary.get_motor_collection().find({"user_id": user}).to_list(None)
    assert _records_as_oracle(pipelines.strength_records_of(summaries)) == oracle
    # the rebuild's plain fold of the summaries agrees with the hooks' index seeks
    summaries = await StrengthSummary.get_motor_collection().find({"user_id": user}).to_list(None)
    for row in stored:
        rows = [r for r in summaries if r["exercise_id"] == row["exercise_id"]]
        folded = pipelines.strength_record(user_id=user, exercise_id=row["exercise_id"], rows=rows)
        assert folded is not None
        assert _records_as_oracle([folded]) == _records_as_oracle([row])


async def test_a_late_refresh_writes_the_stored_run_or_nothing(
    client: httpx.AsyncClient, runner: Account
) -> None:
    run = await post_run(client, runner, route=paced_route(VARIED), duration_s=1680)
    from documents import Run

    stored = await Run.get(PydanticObjectId(run["id"]))
    assert stored is not None
    await records.refresh_efforts(stored)
    assert await BestEffort.find_all().count() == 4
    # a late refresh of an older edit (its payload has the old start) writes the stored start
    moved = START + timedelta(days=2)
    await Run.get_motor_collection().update_one({"_id": stored.id}, {"$set": {"started_at": moved}})
    await records.refresh_efforts(stored)
    starts = {row.started_at.replace(tzinfo=UTC) for row in await BestEffort.find_all().to_list()}
    assert starts == {moved}
    # a refresh that finishes after the run was deleted leaves nothing behind
    await Run.get_motor_collection().delete_one({"_id": stored.id})
    await records.refresh_efforts(stored)
    assert await BestEffort.find_all().count() == 0


# --- rebuild ------------------------------------------------------------------------------------


async def test_rebuild_finds_and_repairs_drift(client: httpx.AsyncClient, runner: Account) -> None:
    from service.records import rebuild

    run = await post_run(client, runner, route=paced_route(VARIED), duration_s=1680)
    squat = PydanticObjectId(await catalogue_id(client, "Front squat"))
    workout = await record_workout(
        runner.id, START + timedelta(days=1), [WorkoutSet(exercise_id=squat, reps=5, weight_kg=90)]
    )
    assert (await rebuild.verify()).clean

    efforts_collection = BestEffort.get_motor_collection()
    await efforts_collection.update_one({"_id": f"{run['id']}:1k"}, {"$set": {"seconds": 1.0}})
    await efforts_collection.delete_one({"_id": f"{run['id']}:400m"})
    ghost = PydanticObjectId()
    await efforts_collection.insert_one(
        {
            "_id": f"{ghost}:1k",
            "user_id": PydanticObjectId(runner.id),
            "run_id": ghost,
            "distance": "1k",
            "seconds": 2.0,
            "started_at": START,
            "start_m": 0.0,
        }
    )
    await StrengthSummary.get_motor_collection().delete_many({"workout_id": workout.id})
    await StrengthRecord.get_motor_collection().delete_many({})
    best = efforts_by_name(await get_records(client, runner, runner.id))
    assert best["1k"]["seconds"] == 1.0  # the tampered row is what records read

    drift = await rebuild.verify()
    assert drift.expected == {"best_efforts": 4, "strength_summaries": 1, "strength_records": 1}
    assert drift.counts() == {
        "best_efforts missing": 1,
        "strength_summaries missing": 1,
        "strength_records missing": 1,
        "best_efforts changed": 1,
        "strength_summaries changed": 0,
        "strength_records changed": 0,
        "best_efforts orphaned": 1,
        "strength_summaries orphaned": 0,
        "strength_records orphaned": 0,
    }
    await rebuild.repair()
    assert (await rebuild.verify()).clean
    body = await get_records(client, runner, runner.id)
    assert efforts_by_name(body)["1k"]["seconds"] == pytest.approx(240, abs=0.1)
    assert efforts_by_name(body)["1k"]["run_id"] == run["id"]
    assert body["strength"]["exercises"][0]["heaviest_set"]["weight_kg"] == 90


def test_imported_distances_are_used_when_the_route_has_them() -> None:
    # three points 1 km apart each, but the device says the second leg was a pause (no distance)
    coordinates = [[2.35, 48.85 + i * 1000 / METRES_PER_DEGREE] for i in range(3)]
    timestamps = [START + timedelta(seconds=s) for s in (0, 300, 600)]
    own = efforts.best_efforts(coordinates, timestamps)
    assert own["1k"].seconds == pytest.approx(300)
    assert "1mile" in own
    device = efforts.best_efforts(coordinates, timestamps, [0.0, 1000.0, 1000.0])
    assert set(device) == {"400m", "1k"}
    assert device["1k"].seconds == pytest.approx(300)
    # distances that step back are not trusted: the haversine sum is used
    assert set(efforts.best_efforts(coordinates, timestamps, [0.0, 1000.0, 900.0])) == set(own)


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_moves_and_deletes_leave_the_stored_runs_efforts(
    client: httpx.AsyncClient, runner: Account
) -> None:
    for round_ in range(6):  # each round interleaves differently
        start = START + timedelta(days=10 * round_)
        run = await post_run(
            client,
            runner,
            route=paced_route(VARIED, start=start),
            started_at=z(start),
            duration_s=1680,
        )
        moves = [
            client.patch(
                f"/runs/{run['id']}",
                json={"started_at": z(start + timedelta(days=1 + i))},
                headers=runner.headers,
            )
            for i in range(3)
        ]
        responses = await asyncio.gather(*moves)
        assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
        r = await client.get(f"/runs/{run['id']}", headers=runner.headers)
        stored_start = r.json()["started_at"]
        rows = await BestEffort.find(BestEffort.run_id == PydanticObjectId(run["id"])).to_list()
        assert len(rows) == 4
        assert {z(row.started_at.replace(tzinfo=UTC)) for row in rows} == {stored_start}

        move = client.patch(
            f"/runs/{run['id']}",
            json={"started_at": z(start + timedelta(days=5))},
            headers=runner.headers,
        )
        delete = client.delete(f"/runs/{run['id']}", headers=runner.headers)
        moved, deleted = await asyncio.gather(move, delete)
        assert deleted.status_code == 204, deleted.text
        assert moved.status_code in (200, 404, 409), moved.text
        assert await BestEffort.find(BestEffort.run_id == PydanticObjectId(run["id"])).count() == 0


# --- imported activities ------------------------------------------------------------------------


async def test_an_imported_track_measures_best_efforts_along_its_own_distances(
    client: httpx.AsyncClient,
    runner: Account,
    fake: FakeParser,  # noqa: F811  (the fixture imported above)
) -> None:
    # 2 km at 6:00/km, a 1 km bus ride in 30 s between two segments (the device adds no
    # distance for it), then 2 km more at 6:00/km: 4 km run, the bus never makes a record
    points = []
    t, position, along = 0.0, 0.0, 0.0
    for leg in range(2):
        for i in range(9):
            if i or leg == 0:
                if i:
                    t, position, along = t + 90, position + 250, along + 250
                points.append(
                    TrackPoint(
                        time=START + timedelta(seconds=t),
                        lon=2.35,
                        lat=48.85 + position / METRES_PER_DEGREE,
                        distance_m=along,
                    )
                )
        t, position = t + 30, position + 1000  # the bus: time and position, no distance
        if leg == 0:
            points.append(
                TrackPoint(
                    time=START + timedelta(seconds=t),
                    lon=2.35,
                    lat=48.85 + position / METRES_PER_DEGREE,
                    distance_m=along,
                )
            )
    content = fake.add(b"bus ride", import_activity(points, distance_km=4.0))
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text
    best = efforts_by_name(await get_records(client, runner, runner.id))
    assert set(best) == {"400m", "1k", "1mile"}
    assert best["1k"]["seconds"] == pytest.approx(360, abs=0.1)
    assert best["1k"]["run_id"] == r.json()["runs"][0]["id"]


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_workouts_leave_the_records_plain_python_gives(
    client: httpx.AsyncClient, runner: Account
) -> None:
    squat = await catalogue_id(client, "Back squat")
    rng = random.Random(4)

    def sets() -> list[dict[str, Any]]:
        return [
            {
                "exercise_id": squat,
                "reps": rng.randrange(1, 12),
                "weight_kg": rng.randrange(40, 140),
            }
            for _ in range(rng.randrange(1, 4))
        ]

    async def post(i: int) -> httpx.Response:
        body = {"started_at": z(START + timedelta(hours=3 * i)), "duration_s": 3600, "sets": sets()}
        return await client.post("/workouts", json=body, headers=runner.headers)

    first = await asyncio.gather(*(post(i) for i in range(8)))
    assert all(r.status_code == 201 for r in first), [r.text for r in first]
    # the heaviest ones go while others arrive
    by_weight = sorted(first, key=lambda r: -max(s["weight_kg"] for s in r.json()["sets"]))
    gone = [
        client.delete(f"/workouts/{r.json()['id']}", headers=runner.headers) for r in by_weight[:3]
    ]
    more = [post(i) for i in range(8, 12)]
    await asyncio.gather(*gone, *more)

    workouts = await Workout.find(Workout.user_id == PydanticObjectId(runner.id)).to_list()
    assert len(workouts) == 9
    stored = await StrengthRecord.get_motor_collection().find({}).to_list(None)
    assert _records_as_oracle(stored) == {k: v for k, v in _oracle_strength(workouts).items() if v}


async def test_a_record_written_from_a_stale_read_is_refused(
    client: httpx.AsyncClient, runner: Account
) -> None:
    squat = await catalogue_id(client, "Back squat")
    await post_workout(client, runner, START, [{"exercise_id": squat, "reps": 5, "weight_kg": 100}])
    collection = StrengthRecord.get_motor_collection()
    read_once = await collection.find_one({})
    assert read_once is not None
    assert read_once["version"] == 1
    changed = {**read_once, "volume": None}
    assert await records._swap(read_once, changed)  # first writer wins
    assert not await records._swap(read_once, {**read_once, "most_reps": None})  # stale
    assert not await records._swap(None, changed)  # "absent" is stale too: it exists
    stored = await collection.find_one({})
    assert stored is not None
    assert stored["version"] == 2
    assert stored["volume"] is None
    assert stored["most_reps"] is not None
    # a refresh puts back what the summaries say
    await records.refresh_records(stored["user_id"], [stored["exercise_id"]])
    stored = await collection.find_one({})
    assert stored is not None
    assert stored["volume"]["volume_kg"] == 500
    assert stored["version"] == 3

"""A user's statistics, chart series and streaks (GET /users/{id}/stats, /stats/series).

The day pipelines and every number of both endpoints are checked against plain-Python oracles
on randomized histories (documents inserted directly, and runs recorded, edited and deleted
through the API); streaks at awkward moments (a year end, a leap day, a Monday just after
midnight) with the clock pinned.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from beanie import PydanticObjectId

from documents import Run, Workout, clock
from documents.workout import WorkoutSet
from service.leaderboards import periods
from service.stats import calendar, pipelines
from service.stats.calendar import MAX_BUCKETS
from tests.conftest import assert_problem
from tests.factories import Account, Api

ONE_DAY = timedelta(days=1)


def at(day: date, hour: int = 7, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- documents and the oracle -------------------------------------------------------------


def run_doc(user_id: PydanticObjectId, started_at: datetime, rng: random.Random) -> Run:
    distance = round(rng.uniform(1, 30), 3)
    duration = int(distance * rng.uniform(240, 480))
    return Run(
        id=PydanticObjectId(),
        user_id=user_id,
        team_id=PydanticObjectId(),
        started_at=started_at,
        ends_at=started_at + timedelta(seconds=duration),
        day=periods.midnight(started_at.date()),
        distance_km=distance,
        duration_s=duration,
        pace_s_per_km=round(duration / distance, 1),
        score=rng.randint(0, 400),
        elevation_gain_m=rng.choice([None, round(rng.uniform(0, 800), 1)]),
    )


def workout_doc(user_id: PydanticObjectId, started_at: datetime, rng: random.Random) -> Workout:
    sets = rng.randint(1, 30)
    return Workout(
        id=PydanticObjectId(),
        user_id=user_id,
        started_at=started_at,
        day=periods.midnight(started_at.date()),
        duration_s=rng.randint(300, 7200),
        sets=[WorkoutSet(exercise_id=PydanticObjectId(), reps=10, weight_kg=20.0)],
        sets_count=sets,
        exercises_count=1,
        volume_kg=round(rng.uniform(0, 5000), 2),
    )


def random_moments(rng: random.Random, first: date, last: date, count: int) -> list[datetime]:
    """`count` start times on random days of [first, last], a few on period edges (00:00:00.000
    and 23:59:59.999 UTC)."""
    span = (last - first).days
    moments = []
    for _ in range(count):
        day = first + timedelta(days=rng.randint(0, span))
        edge = rng.random()
        if edge < 0.1:
            moments.append(at(day, 0))
        elif edge < 0.15:
            moments.append(at(day, 23, 59) + timedelta(seconds=59, milliseconds=999))
        else:
            moments.append(at(day, rng.randint(0, 23), rng.randint(0, 59)))
    return moments


class History:
    """A user's runs and workouts as plain dicts: what the oracle reads."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.workouts: dict[str, dict[str, Any]] = {}

    def add_run(self, run: Run | dict[str, Any]) -> None:
        doc = run.model_dump() if isinstance(run, Run) else run
        self.runs[str(doc["id"])] = doc

    def add_workout(self, workout: Workout | dict[str, Any]) -> None:
        doc = workout.model_dump() if isinstance(workout, Workout) else workout
        self.workouts[str(doc["id"])] = doc


def _started(doc: dict[str, Any]) -> datetime:
    value = doc["started_at"]
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _within(doc: dict[str, Any], start: datetime | None, end: datetime | None) -> bool:
    moment = _started(doc)
    return (start is None or moment >= start) and (end is None or moment < end)


def oracle_stats(
    history: History, start: datetime | None, end: datetime | None, today: date
) -> dict[str, Any]:
    runs = [r for r in history.runs.values() if _within(r, start, end)]
    workouts = [w for w in history.workouts.values() if _within(w, start, end)]
    distance = sum(r["distance_km"] for r in runs)
    duration = sum(r["duration_s"] for r in runs)
    every_day = {_started(d).date() for d in [*history.runs.values(), *history.workouts.values()]}
    return {
        "runs": {
            "count": len(runs),
            "distance_km": pytest.approx(round(distance, 3), abs=1e-9),
            "duration_s": duration,
            "elevation_gain_m": pytest.approx(
                round(sum(r["elevation_gain_m"] or 0 for r in runs), 1), abs=0.1001
            ),
            "score": sum(r["score"] for r in runs),
            "avg_pace_s_per_km": (
                pytest.approx(round(duration / distance, 1), abs=0.1001) if distance else None
            ),
            "longest_km": max((r["distance_km"] for r in runs), default=None),
        },
        "workouts": {
            "count": len(workouts),
            "duration_s": sum(w["duration_s"] for w in workouts),
            "sets": sum(w["sets_count"] for w in workouts),
            "volume_kg": pytest.approx(sum(w["volume_kg"] for w in workouts), abs=0.001),
        },
        "active_days": len({_started(d).date() for d in [*runs, *workouts]}),
        "streak": oracle_streaks(every_day, today),
    }


def oracle_streaks(days: Iterable[date], today: date) -> dict[str, int]:
    """Streaks by walking the calendar one day (one week) at a time."""
    active = {d for d in days if d <= today}
    weeks = {date.fromisocalendar(*d.isocalendar()[:2], 1) for d in active}

    def current(keys: set[date], now: date, step: timedelta) -> int:
        cursor = now if now in keys else now - step
        count = 0
        while cursor in keys:
            count += 1
            cursor -= step
        return count

    def longest(keys: set[date], step: timedelta) -> int:
        best = 0
        for key in keys:
            if key - step not in keys:  # the first key of a run: walk it
                length = 0
                while key + length * step in keys:
                    length += 1
                best = max(best, length)
        return best

    this_week = date.fromisocalendar(*today.isocalendar()[:2], 1)
    week = timedelta(days=7)
    return {
        "current_days": current(active, today, ONE_DAY),
        "longest_days": longest(active, ONE_DAY),
        "current_weeks": current(weeks, this_week, week),
        "longest_weeks": longest(weeks, week),
    }


def oracle_bucket(kind: str, day: date) -> date:
    if kind == "day":
        return day
    if kind == "week":
        year, week, _ = day.isocalendar()
        return date.fromisocalendar(year, week, 1)
    return date(day.year, day.month, 1)


def oracle_series(history: History, kind: str, first: date, end: date) -> list[dict[str, Any]]:
    """Zero-filled buckets found by walking every day of [first, end)."""
    rows: dict[date, dict[str, Any]] = {}
    day = first
    while day < end:
        start = oracle_bucket(kind, day)
        rows.setdefault(start, defaultdict(float, start=start.isoformat()))
        day += ONE_DAY
    for r in history.runs.values():
        day = _started(r).date()
        if first <= day < end:
            row = rows[oracle_bucket(kind, day)]
            row["runs"] += 1
            row["distance_km"] += r["distance_km"]
            row["duration_s"] += r["duration_s"]
            row["elevation_gain_m"] += r["elevation_gain_m"] or 0
            row["score"] += r["score"]
    for w in history.workouts.values():
        day = _started(w).date()
        if first <= day < end:
            row = rows[oracle_bucket(kind, day)]
            row["workouts"] += 1
            row["workout_duration_s"] += w["duration_s"]
            row["volume_kg"] += w["volume_kg"]
    out = []
    for start in sorted(rows):
        row = rows[start]
        out.append(
            {
                "start": row["start"],
                "runs": int(row["runs"]),
                "distance_km": pytest.approx(round(row["distance_km"], 3), abs=1e-9),
                "duration_s": int(row["duration_s"]),
                "elevation_gain_m": pytest.approx(round(row["elevation_gain_m"], 1), abs=0.1001),
                "score": int(row["score"]),
                "workouts": int(row["workouts"]),
                "workout_duration_s": int(row["workout_duration_s"]),
                "volume_kg": pytest.approx(row["volume_kg"], abs=0.001),
            }
        )
    return out


async def random_history(
    rng: random.Random,
    user_id: PydanticObjectId,
    first: date,
    last: date,
    *,
    runs: int,
    workouts: int,
) -> History:
    """Runs and workouts of `user_id` on random days of [first, last], stored directly (and as
    many of someone else's, which no number may include)."""
    history = History()
    mine = [run_doc(user_id, m, rng) for m in random_moments(rng, first, last, runs)]
    lifts = [workout_doc(user_id, m, rng) for m in random_moments(rng, first, last, workouts)]
    other = PydanticObjectId()
    noise_runs = [run_doc(other, m, rng) for m in random_moments(rng, first, last, runs // 2)]
    noise_lifts = [
        workout_doc(other, m, rng) for m in random_moments(rng, first, last, workouts // 2)
    ]
    await Run.insert_many([*mine, *noise_runs])
    await Workout.insert_many([*lifts, *noise_lifts])
    for run in mine:
        history.add_run(run)
    for workout in lifts:
        history.add_workout(workout)
    return history


async def get_stats(
    client: httpx.AsyncClient, viewer: Account, user_id: str, **params: str
) -> dict[str, Any]:
    r = await client.get(f"/users/{user_id}/stats", params=params, headers=viewer.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def get_series(
    client: httpx.AsyncClient, viewer: Account, user_id: str, **params: str
) -> dict[str, Any]:
    r = await client.get(f"/users/{user_id}/stats/series", params=params, headers=viewer.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def period_cases(today: date, rng: random.Random) -> list[dict[str, str]]:
    cases: list[dict[str, str]] = [
        {"period": "all"},
        {"period": "day"},
        {"period": "week"},
        {"period": "month"},
        {"period": "year"},
        {},  # the default, week
    ]
    for _ in range(4):
        some_day = today - timedelta(days=rng.randint(0, 500))
        cases.append({"period": rng.choice(["day", "week", "month", "year"]), "at": str(some_day)})
        first = today - timedelta(days=rng.randint(1, 600))
        cases.append(
            {
                "period": "custom",
                "from": str(first),
                "to": str(first + rng.randint(1, 200) * ONE_DAY),
            }
        )
    return cases


def resolved(params: dict[str, str], today: date) -> periods.Period:
    def day(name: str) -> date | None:
        return date.fromisoformat(params[name]) if name in params else None

    return periods.resolve(
        params.get("period", "week"),  # type: ignore[arg-type]
        at=day("at"),
        from_=day("from"),
        to=day("to"),
        today=today,
    )


async def assert_stats_match(
    client: httpx.AsyncClient,
    viewer: Account,
    user_id: str,
    history: History,
    rng: random.Random,
) -> None:
    today = datetime.now(UTC).date()
    for params in period_cases(today, rng):
        period = resolved(params, today)
        body = await get_stats(client, viewer, user_id, **params)
        expected = oracle_stats(history, period.start, period.end, today)
        assert {k: body[k] for k in expected} == expected, params
        assert body["period"]["kind"] == period.kind


async def assert_series_match(
    client: httpx.AsyncClient,
    viewer: Account,
    user_id: str,
    history: History,
    rng: random.Random,
) -> None:
    today = datetime.now(UTC).date()
    cases: list[dict[str, str]] = [{}, {"bucket": "week"}, {"bucket": "month"}]
    spans = {"day": 366, "week": 366 * 7, "month": 365 * 30}
    for kind in ("day", "week", "month"):
        for _ in range(2):
            first = today - timedelta(days=rng.randint(0, 700))
            to = first + timedelta(days=rng.randint(1, spans[kind] // 2))
            cases.append({"bucket": kind, "from": str(first), "to": str(to)})
    for params in cases:
        body = await get_series(client, viewer, user_id, **params)
        kind = params.get("bucket", "day")
        first, end = date.fromisoformat(body["from"]), date.fromisoformat(body["to"])
        assert body["bucket"] == kind
        if "from" in params:
            assert first == oracle_bucket(kind, date.fromisoformat(params["from"]))
            assert first <= date.fromisoformat(params["from"])
            assert end >= date.fromisoformat(params["to"])
        else:  # the default window ends with the bucket holding today
            assert first < end
            assert oracle_bucket(kind, today) == date.fromisoformat(body["items"][-1]["start"])
        assert body["items"] == oracle_series(history, kind, first, end), params


# --- the pipelines ------------------------------------------------------------------------


def _operands(expression: Any) -> list[str]:
    """Every string inside an expression (field paths start with $)."""
    if isinstance(expression, str):
        return [expression]
    if isinstance(expression, dict):
        return [s for value in expression.values() for s in _operands(value)]
    if isinstance(expression, list):
        return [s for value in expression for s in _operands(value)]
    return []


def test_pipelines_read_one_users_index_range_with_portable_stages() -> None:
    user_id = PydanticObjectId()
    start, end = at(date(2026, 3, 1), 0), at(date(2026, 4, 1), 0)
    for pipeline in (
        pipelines.run_days(user_id, start, end),
        pipelines.workout_days(user_id, start, end),
    ):
        # the user_started index: user_id, then a started_at range; $gt a millisecond before the
        # start selects the same documents as $gte and dodges the test server's $gte bug
        assert pipeline[0] == {
            "$match": {
                "user_id": user_id,
                "started_at": {"$gt": start - timedelta(milliseconds=1), "$lt": end},
            }
        }
        assert [next(iter(stage)) for stage in pipeline] == [
            "$match",
            "$project",
            "$group",
            "$sort",
        ]
        # only the fields the $group reads leave the $match
        fields = {k for k, v in pipeline[1]["$project"].items() if v == 1}
        assert fields == {"day"} | {
            value[1:] for value in _operands(pipeline[2]["$group"]) if value.startswith("$")
        }
        assert pipeline[2]["$group"]["_id"] == "$day"
        assert pipeline[-1] == {"$sort": {"_id": 1}}
    assert pipelines.run_days(user_id, None, None)[0] == {"$match": {"user_id": user_id}}
    assert pipelines.active_days(user_id, end) == [
        {"$match": {"user_id": user_id, "started_at": {"$lt": end}}},
        {"$project": {"_id": 0, "day": 1}},
        {"$group": {"_id": "$day"}},
        {"$sort": {"_id": 1}},
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_day_pipelines_match_python(client: httpx.AsyncClient, seed: int) -> None:
    rng = random.Random(seed)
    user_id = PydanticObjectId()
    history = await random_history(
        rng, user_id, date(2026, 1, 1), date(2026, 12, 31), runs=150, workouts=100
    )
    for _ in range(4):
        first = date(2026, 1, 1) + timedelta(days=rng.randint(0, 300))
        start, end = at(first, 0), at(first + timedelta(days=rng.randint(1, 120)), 0)
        got = (
            await Run.get_motor_collection()
            .aggregate(pipelines.run_days(user_id, start, end))
            .to_list(None)
        )
        expected: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for r in history.runs.values():
            if _within(r, start, end):
                expected[_started(r).date()].append(r)
        assert [row["_id"].date() for row in got] == sorted(expected)
        for row in got:
            day_runs = expected[row["_id"].date()]
            assert row["runs"] == len(day_runs)
            assert row["distance_km"] == pytest.approx(sum(r["distance_km"] for r in day_runs))
            assert row["duration_s"] == sum(r["duration_s"] for r in day_runs)
            assert row["score"] == sum(r["score"] for r in day_runs)
            assert row["longest_km"] == max(r["distance_km"] for r in day_runs)
            assert row["elevation_gain_m"] == pytest.approx(
                sum(r["elevation_gain_m"] or 0 for r in day_runs)
            )
        got = (
            await Workout.get_motor_collection()
            .aggregate(pipelines.workout_days(user_id, start, end))
            .to_list(None)
        )
        lifts: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for w in history.workouts.values():
            if _within(w, start, end):
                lifts[_started(w).date()].append(w)
        assert [row["_id"].date() for row in got] == sorted(lifts)
        for row in got:
            day_lifts = lifts[row["_id"].date()]
            assert row["workouts"] == len(day_lifts)
            assert row["duration_s"] == sum(w["duration_s"] for w in day_lifts)
            assert row["sets"] == sum(w["sets_count"] for w in day_lifts)
            assert row["volume_kg"] == pytest.approx(sum(w["volume_kg"] for w in day_lifts))
    before = at(date(2026, 7, 1), 0)
    got = (
        await Run.get_motor_collection()
        .aggregate(pipelines.active_days(user_id, before))
        .to_list(None)
    )
    assert [row["_id"].date() for row in got] == sorted(
        {_started(r).date() for r in history.runs.values() if _started(r) < before}
    )


def freeze_now(machine: time_machine.TimeMachineFixture) -> None:
    """Stop the clock where it is (an awkward moment under CHALLENGE_RUN_NOW): a slow run of the
    test must not cross midnight between the oracle's today and the service's."""
    machine.move_to(clock.utcnow(), tick=False)


# --- the endpoints against the oracle -----------------------------------------------------


@pytest.mark.clock  # periods and streaks around today
@pytest.mark.parametrize("seed", [7, 8])
async def test_stats_and_series_match_python_on_a_random_history(
    client: httpx.AsyncClient, api: Api, time_machine: time_machine.TimeMachineFixture, seed: int
) -> None:
    freeze_now(time_machine)
    rng = random.Random(seed)
    runner, viewer = await api.user(), await api.user()
    today = datetime.now(UTC).date()
    history = await random_history(
        rng,
        PydanticObjectId(runner.id),
        today - timedelta(days=720),
        today + ONE_DAY,  # a run just after midnight tonight counts in no streak yet
        runs=250,
        workouts=150,
    )
    # streaks long enough to matter: the last few days and weeks are active
    recent = [at(today - timedelta(days=n), 6) for n in range(rng.randint(1, 9))]
    recent += [at(today - timedelta(days=n), 5) for n in range(14, 60, 7)]
    recent_runs = [run_doc(PydanticObjectId(runner.id), m, rng) for m in recent]
    await Run.insert_many(recent_runs)
    for run in recent_runs:
        history.add_run(run)
    await assert_stats_match(client, viewer, runner.id, history, rng)
    await assert_series_match(client, viewer, runner.id, history, rng)


@pytest.mark.clock  # runs are recorded up to today
async def test_stats_follow_runs_recorded_edited_and_deleted_through_the_api(
    client: httpx.AsyncClient, api: Api, time_machine: time_machine.TimeMachineFixture
) -> None:
    freeze_now(time_machine)
    rng = random.Random(11)
    runner, viewer = await api.user(city="Lyon"), await api.user()
    today = datetime.now(UTC).date()
    history = History()
    days = sorted(rng.sample(range(1, 120), 24))
    for n in days:
        run = await api.run(
            runner,
            started_at=iso(at(today - timedelta(days=n), rng.randint(0, 20))),
            distance_km=round(rng.uniform(2, 20), 3),
            duration_s=rng.randint(3000, 6000),
            elevation_gain_m=rng.choice([None, 120.5]),
        )
        history.add_run(run)
    await assert_stats_match(client, viewer, runner.id, history, rng)
    ids = list(history.runs)
    targets = rng.sample([121, 130, 200, 365, 366, 500], 6)  # free days, one run each
    for run_id in rng.sample(ids, 6):  # moved to another day, longer, or dropped
        if rng.random() < 0.5:
            r = await client.delete(f"/runs/{run_id}", headers=runner.headers)
            assert r.status_code == 204, r.text
            del history.runs[run_id]
            continue
        moved = at(today - timedelta(days=targets.pop()), 21, 30)
        r = await client.patch(
            f"/runs/{run_id}",
            json={"started_at": iso(moved), "distance_km": 9.5},
            headers=runner.headers,
        )
        assert r.status_code == 200, r.text
        history.add_run(r.json())
    await assert_stats_match(client, viewer, runner.id, history, rng)
    await assert_series_match(client, viewer, runner.id, history, rng)


@pytest.mark.clock  # workouts are recorded up to today
async def test_stats_follow_workouts_recorded_edited_and_deleted_through_the_api(
    client: httpx.AsyncClient, api: Api, time_machine: time_machine.TimeMachineFixture
) -> None:
    freeze_now(time_machine)
    rng = random.Random(12)
    lifter, viewer = await api.user(), await api.user()
    r = await client.get("/exercises", params={"search": "Back squat", "limit": 100})
    squat = next(e["id"] for e in r.json()["items"] if e["name"] == "Back squat")
    today = datetime.now(UTC).date()
    history = History()

    def sets() -> list[dict[str, Any]]:
        return [
            {"exercise_id": squat, "reps": rng.randint(1, 12), "weight_kg": rng.randint(20, 180)}
            for _ in range(rng.randint(1, 8))
        ]

    for n in sorted(rng.sample(range(1, 90), 14)):
        started = at(today - timedelta(days=n), rng.randint(0, 22))
        payload = {"started_at": iso(started), "duration_s": rng.randint(600, 5400), "sets": sets()}
        r = await client.post("/workouts", json=payload, headers=lifter.headers)
        assert r.status_code == 201, r.text
        history.add_workout(r.json())
    await assert_stats_match(client, viewer, lifter.id, history, rng)
    for workout_id in rng.sample(list(history.workouts), 6):
        if rng.random() < 0.5:
            r = await client.delete(f"/workouts/{workout_id}", headers=lifter.headers)
            assert r.status_code == 204, r.text
            del history.workouts[workout_id]
            continue
        moved = at(today - timedelta(days=rng.randint(1, 400)), 12)
        r = await client.patch(
            f"/workouts/{workout_id}",
            json={"started_at": iso(moved), "sets": sets()},
            headers=lifter.headers,
        )
        assert r.status_code == 200, r.text
        history.add_workout(r.json())
    await assert_stats_match(client, viewer, lifter.id, history, rng)
    await assert_series_match(client, viewer, lifter.id, history, rng)


async def test_a_user_without_activity_has_zeros(client: httpx.AsyncClient, api: Api) -> None:
    runner = await api.user()
    body = await get_stats(client, runner, runner.id, period="all")
    assert body == {
        "user_id": runner.id,
        "period": {"kind": "all", "from": None, "to": None},
        "runs": {
            "count": 0,
            "distance_km": 0.0,
            "duration_s": 0,
            "elevation_gain_m": 0.0,
            "score": 0,
            "avg_pace_s_per_km": None,
            "longest_km": None,
        },
        "workouts": {"count": 0, "duration_s": 0, "sets": 0, "volume_kg": 0.0},
        "active_days": 0,
        "streak": {"current_days": 0, "longest_days": 0, "current_weeks": 0, "longest_weeks": 0},
    }
    series = await get_series(
        client, runner, runner.id, bucket="week", **{"from": "2026-01-01"}, to="2026-02-01"
    )
    assert series["from"] == "2025-12-29"  # the Monday of 2026-01-01's ISO week
    assert series["to"] == "2026-02-02"
    assert [row["start"] for row in series["items"]] == [
        "2025-12-29",
        "2026-01-05",
        "2026-01-12",
        "2026-01-19",
        "2026-01-26",
    ]
    assert all(row["runs"] == row["workouts"] == row["distance_km"] == 0 for row in series["items"])


async def test_stats_sum_a_runners_runs(
    client: httpx.AsyncClient, api: Api, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(datetime(2026, 6, 17, 12, tzinfo=UTC), tick=False)  # a Wednesday
    runner = await api.user(city="Lyon")
    # Monday 00:00:00.000 exactly: the first moment of the week counts in it (on every store)
    await api.run(
        runner,
        started_at="2026-06-15T00:00:00Z",
        distance_km=10,
        duration_s=3000,
        elevation_gain_m=50,
    )
    await api.run(runner, started_at="2026-06-16T07:00:00Z", distance_km=5, duration_s=1500)
    await api.run(runner, started_at="2026-06-14T23:44:59.999Z", distance_km=3, duration_s=900)
    body = await get_stats(client, runner, runner.id, period="week")
    assert body["period"] == {
        "kind": "week",
        "from": "2026-06-15T00:00:00Z",
        "to": "2026-06-22T00:00:00Z",
    }
    runs = body["runs"]
    assert (runs["count"], runs["distance_km"], runs["duration_s"]) == (2, 15.0, 4500)
    assert runs["elevation_gain_m"] == 50.0
    assert runs["avg_pace_s_per_km"] == 300.0
    assert runs["longest_km"] == 10.0
    assert body["active_days"] == 2
    # Sunday, Monday, Tuesday; nothing today (Wednesday) yet: the streak still counts
    assert body["streak"] == {
        "current_days": 3,
        "longest_days": 3,
        "current_weeks": 2,
        "longest_weeks": 2,
    }
    # streaks are as of now, whatever period is asked for
    january = await get_stats(client, runner, runner.id, period="month", at="2026-01-10")
    assert january["runs"]["count"] == january["active_days"] == 0
    assert january["streak"] == body["streak"]


async def test_workouts_count_in_stats_series_and_streaks(
    client: httpx.AsyncClient, api: Api, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(datetime(2026, 6, 17, 12, tzinfo=UTC), tick=False)
    runner = await api.user(city="Lyon")
    await api.run(runner, started_at="2026-06-15T07:00:00Z", distance_km=5, duration_s=1500)
    rng = random.Random(3)
    lifts = [
        workout_doc(PydanticObjectId(runner.id), at(date(2026, 6, d), 18), rng) for d in (16, 17)
    ]
    await Workout.insert_many(lifts)
    body = await get_stats(client, runner, runner.id, period="week")
    assert body["workouts"] == {
        "count": 2,
        "duration_s": sum(w.duration_s for w in lifts),
        "sets": sum(w.sets_count for w in lifts),
        "volume_kg": pytest.approx(sum(w.volume_kg for w in lifts)),
    }
    assert body["active_days"] == 3
    assert body["streak"]["current_days"] == 3  # a run, then two days of workouts
    series = await get_series(client, runner, runner.id, **{"from": "2026-06-15"}, to="2026-06-18")
    assert [(r["start"], r["runs"], r["workouts"]) for r in series["items"]] == [
        ("2026-06-15", 1, 0),
        ("2026-06-16", 0, 1),
        ("2026-06-17", 0, 1),
    ]


# --- streaks ------------------------------------------------------------------------------


def days_back(last: date, count: int) -> list[date]:
    return [last - timedelta(days=n) for n in range(count)]


def test_a_streak_runs_through_a_year_end_and_a_leap_day() -> None:
    new_year = days_back(date(2027, 1, 2), 6)  # 2026-12-28 (Monday, ISO week 53) to 2027-01-02
    assert calendar.streaks(new_year, today=date(2027, 1, 2)) == calendar.Streaks(6, 6, 1, 1)
    # those six days are one ISO week (53 of 2026); 2027-01-04 is the Monday of week 1 of 2027
    assert calendar.streaks(new_year, today=date(2027, 1, 4)).current_weeks == 1  # last week
    weeks = [date(2026, 12, 22), *new_year, date(2027, 1, 4)]
    assert calendar.streaks(weeks, today=date(2027, 1, 4)) == calendar.Streaks(1, 6, 3, 3)
    leap = days_back(date(2028, 3, 1), 4)  # 2028-02-27, 28, 29, 03-01
    assert calendar.streaks(leap, today=date(2028, 3, 1)).current_days == 4
    assert (
        calendar.streaks(days_back(date(2027, 3, 1), 4), today=date(2027, 3, 1)).longest_days == 4
    )


def test_a_current_streak_counts_through_yesterday_not_the_day_before() -> None:
    days = days_back(date(2026, 6, 16), 3)  # Sunday 14th to Tuesday 16th
    assert calendar.streaks(days, today=date(2026, 6, 16)).current_days == 3
    assert calendar.streaks(days, today=date(2026, 6, 17)).current_days == 3  # nothing yet today
    gone = calendar.streaks(days, today=date(2026, 6, 18))
    assert (gone.current_days, gone.longest_days) == (0, 3)
    # weeks: this week or last; two weeks later the streak is broken
    assert calendar.streaks(days, today=date(2026, 6, 28)).current_weeks == 2
    assert calendar.streaks(days, today=date(2026, 6, 29)).current_weeks == 0
    # days after today are not counted (a run logged a few minutes ahead of midnight)
    assert calendar.streaks([date(2026, 6, 17)], today=date(2026, 6, 16)) == calendar.Streaks(
        0, 0, 0, 0
    )


@pytest.mark.parametrize("seed", range(20))
def test_streaks_match_walking_the_calendar(seed: int) -> None:
    rng = random.Random(seed)
    today = date(2027, 1, 1) + timedelta(days=rng.randint(-400, 800))
    density = rng.choice([0.2, 0.5, 0.9])
    active = [today + timedelta(days=n) for n in range(-400, 3) if rng.random() < density]
    got = calendar.streaks(active, today=today)
    assert got.__dict__ == oracle_streaks(active, today)


MOMENTS = [
    datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC),
    datetime(2028, 2, 29, 12, tzinfo=UTC),
    datetime(2027, 3, 1, 0, 30, tzinfo=UTC),  # a Monday, the 1st of a month
]


@pytest.mark.parametrize("now", MOMENTS, ids=lambda m: m.isoformat())
async def test_streaks_through_the_api_at_awkward_moments(
    client: httpx.AsyncClient,
    api: Api,
    time_machine: time_machine.TimeMachineFixture,
    now: datetime,
) -> None:
    time_machine.move_to(now, tick=False)
    runner = await api.user(city="Lyon")
    today = now.date()
    # every day of the last 10 except today, and a run every week for 5 weeks before that
    for n in range(1, 11):
        await api.run(runner, started_at=iso(at(today - timedelta(days=n), 6)))
    for n in range(14, 50, 7):
        await api.run(runner, started_at=iso(at(today - timedelta(days=n), 6)))
    history = History()
    r = await client.get(
        "/runs", params={"user_id": runner.id, "limit": 100}, headers=runner.headers
    )
    for run in r.json()["items"]:
        history.add_run(run)
    expected = oracle_streaks((_started(d).date() for d in history.runs.values()), today)
    body = await get_stats(client, runner, runner.id, period="day")
    assert body["streak"] == expected
    assert body["streak"]["current_days"] == 10  # through yesterday
    assert body["runs"]["count"] == 0  # nothing today
    # a run started today (20 seconds ago) extends the streak
    await api.run(
        runner, started_at=iso(now - timedelta(seconds=20)), duration_s=60, distance_km=0.2
    )
    body = await get_stats(client, runner, runner.id, period="day")
    assert body["streak"]["current_days"] == 11
    assert body["runs"]["count"] == 1
    month = await get_series(client, runner, runner.id, bucket="month")
    assert month["items"][-1]["start"] == today.replace(day=1).isoformat()
    assert sum(row["runs"] for row in month["items"]) == 17


# --- errors -------------------------------------------------------------------------------


async def test_stats_need_a_token_and_an_existing_user(client: httpx.AsyncClient, api: Api) -> None:
    runner, other = await api.user(), await api.user()
    for path in (f"/users/{runner.id}/stats", f"/users/{runner.id}/stats/series"):
        assert_problem(await client.get(path), 401)
        # without a token, an unknown user is a 401 too: nothing is revealed
        assert_problem(await client.get(path.replace(runner.id, "0" * 24)), 401)
        for unknown in ("0" * 24, "nope"):
            r = await client.get(path.replace(runner.id, unknown), headers=other.headers)
            assert_problem(r, 404)
        # any signed-in user may read anyone's stats, as anyone's runs (no 403)
        r = await client.get(path, headers=other.headers)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("params", "locs"),
    [
        ({"period": "fortnight"}, [["query", "period"]]),
        ({"period": "custom", "from": "2026-01-01"}, [["query", "to"]]),
        ({"period": "week", "from": "2026-01-01"}, [["query", "from"]]),
        (
            {"period": "custom", "from": "2026-02-01", "to": "2026-01-01"},
            [["query", "from"], ["query", "to"]],
        ),
        ({"at": "2026-13-01"}, [["query", "at"]]),
        ({"at": "1999-12-31"}, [["query", "at"]]),
    ],
)
async def test_stats_refuse_bad_periods(
    client: httpx.AsyncClient, api: Api, params: dict[str, str], locs: list[list[str]]
) -> None:
    runner = await api.user()
    r = await client.get(f"/users/{runner.id}/stats", params=params, headers=runner.headers)
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == locs  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "locs"),
    [
        ({"bucket": "year"}, [["query", "bucket"]]),
        ({"from": "2026-01-01", "to": "2027-01-03"}, [["query", "from"], ["query", "to"]]),
        (
            {"bucket": "week", "from": "2019-01-01", "to": "2026-12-31"},
            [["query", "from"], ["query", "to"]],
        ),
        (
            {"bucket": "month", "from": "2000-01-01", "to": "2100-12-31"},
            [["query", "from"], ["query", "to"]],
        ),
        ({"from": "2026-02-01", "to": "2026-02-01"}, [["query", "from"], ["query", "to"]]),
        ({"from": "2100-12-31"}, [["query", "from"]]),
        ({"from": "01/02/2026"}, [["query", "from"]]),
        ({"to": "2101-01-01"}, [["query", "to"]]),
    ],
)
async def test_series_refuse_bad_ranges(
    client: httpx.AsyncClient, api: Api, params: dict[str, str], locs: list[list[str]]
) -> None:
    runner = await api.user()
    r = await client.get(f"/users/{runner.id}/stats/series", params=params, headers=runner.headers)
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == locs  # type: ignore[union-attr]


async def test_a_series_holds_at_most_366_buckets(client: httpx.AsyncClient, api: Api) -> None:
    runner = await api.user()
    leap_year = await get_series(
        client, runner, runner.id, **{"from": "2028-01-01"}, to="2029-01-01"
    )
    assert len(leap_year["items"]) == MAX_BUCKETS == 366
    months = await get_series(
        client, runner, runner.id, bucket="month", **{"from": "2000-01-15"}, to="2030-06-02"
    )
    assert (months["from"], months["to"], len(months["items"])) == ("2000-01-01", "2030-07-01", 366)

"""The demo training log: workouts, timed GPS routes on demo runs, and the records they make."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from datetime import timedelta

import httpx
import pytest

from documents import (
    BestEffort,
    City,
    Exercise,
    Run,
    RunRoute,
    StrengthRecord,
    StrengthSummary,
    User,
    Workout,
)
from documents.clock import utcnow
from service.demo import DEMO_PASSWORD
from service.demo.challenge import load_challenge
from service.demo.progress import NullProgress
from service.demo.training import DAYS, MAX_POINTS, load_training
from service.demo.users import DemoUser, load_users
from service.leaderboards import rebuild
from service.records import rebuild as records_rebuild
from service.records.efforts import haversine_m
from service.settings import Settings

STANDARD_M = {
    "400m": 400,
    "1k": 1_000,
    "1mile": 1_609.344,
    "5k": 5_000,
    "10k": 10_000,
    "half_marathon": 21_097.5,
    "marathon": 42_195,
}
RUNS = 800  # as the challenge demo's tests: enough runs for 250 routes among them


async def _load(
    settings: Settings, seed: int, *, runs: int = RUNS, **counts: int
) -> tuple[list[DemoUser], dict[str, int]]:
    rng = random.Random(seed)
    users = await load_users(settings=settings, rng=rng, size="embedded", progress=NullProgress())
    await load_challenge(rng=rng, size="embedded", users=users, progress=NullProgress(), runs=runs)
    summary = await load_training(
        seed=seed, size="embedded", users=users, progress=NullProgress(), **counts
    )
    return users, summary


def _route_length_m(coordinates: list[list[float]]) -> float:
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(coordinates))


@pytest.mark.slow  # minutes through the wire server: started first
async def test_demo_runners_have_workouts_and_timed_routes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    users, summary = await _load(settings, seed=3)
    now = utcnow()

    # --- workouts: ~2,000, sets that take what their exercise measures -----------------------
    workouts = await Workout.find_all().to_list()
    assert len(workouts) == summary["workouts"] >= 1_500
    exercises = {e.id: e for e in await Exercise.find(Exercise.owner_id == None).to_list()}  # noqa: E711
    per_day: set[tuple[object, object]] = set()
    for workout in workouts:
        assert now - timedelta(days=DAYS + 1) <= workout.started_at <= now
        assert (workout.user_id, workout.day) not in per_day  # one workout a lifter a day
        per_day.add((workout.user_id, workout.day))
        assert 1 <= len(workout.sets) <= 200
        assert workout.sets_count == len(workout.sets)
        assert workout.exercises_count == len({s.exercise_id for s in workout.sets})
        volume = sum((s.reps or 0) * (s.weight_kg or 0) for s in workout.sets)
        assert workout.volume_kg == pytest.approx(volume, abs=0.05)
        for s in workout.sets:
            exercise = exercises[s.exercise_id]  # from the public catalogue
            given = {m for m in ("reps", "weight_kg", "duration_s", "distance_m") if getattr(s, m)}
            assert given == set(exercise.measures), (exercise.name, s)
            assert s.reps is None or 1 <= s.reps <= 1_000
            assert s.weight_kg is None or 0 < s.weight_kg <= 1_000
            assert s.rpe is None or 1 <= s.rpe <= 10
    lifters = {w.user_id for w in workouts}
    assert users[0].id in lifters
    assert len(lifters) >= 50
    assert await StrengthSummary.count() == summary["strength_summaries"] > 0
    assert await StrengthRecord.count() == summary["strength_records"] > 0

    # --- routes: timed loops near home, the run's own distance and time ----------------------
    routed = await Run.find(Run.has_route == True).to_list()  # noqa: E712
    assert len(routed) == summary["routes"] >= 200
    assert any(r.user_id == users[0].id for r in routed)
    homes = {c.id: c.location["coordinates"] for c in await City.find_all().to_list()}
    city_of = {u.id: u.city_id for u in await User.find_all().to_list()}
    route_m = {}
    for run in routed:
        route = await RunRoute.get(run.id)
        assert route is not None
        coordinates = route.geometry["coordinates"]
        assert route.timestamps is not None
        assert route.elevations is not None
        assert route.heart_rates is not None
        n = len(coordinates)
        assert len(route.timestamps) == len(route.elevations) == len(route.heart_rates) == n
        # a point every 6-10 s (a few hundred points), sparser for long runs: at most MAX_POINTS
        assert min(100, run.duration_s // 10) <= n <= MAX_POINTS + 1
        assert route.timestamps[0] == run.started_at
        assert route.timestamps[-1] == run.started_at + timedelta(seconds=run.duration_s)
        steps = [(b - a).total_seconds() for a, b in itertools.pairwise(route.timestamps)]
        assert all(0 < s <= max(10, math.ceil(run.duration_s / MAX_POINTS)) for s in steps)
        # the loop is as long as the run (a sampled smooth curve is a hair shorter)
        route_m[run.id] = _route_length_m(coordinates)
        assert route_m[run.id] == pytest.approx(run.distance_km * 1000, rel=0.02)
        lon, lat = homes[city_of[run.user_id]]
        assert haversine_m(lon, lat, *coordinates[0]) < 6_000  # starts near the city centre
        assert all(60 <= hr <= 200 for hr in route.heart_rates if hr is not None)
        assert run.avg_hr == round(sum(route.heart_rates) / n)  # type: ignore[arg-type]
        assert run.max_hr == max(route.heart_rates)  # type: ignore[type-var]
        gain = sum(max(0.0, b - a) for a, b in itertools.pairwise(route.elevations))
        assert run.elevation_gain_m == pytest.approx(gain, abs=max(2.0, 0.05 * gain))

    # a runner's runs still never overlap, and the leaderboards did not move
    by_user = defaultdict(list)
    for run in await Run.find_all().to_list():
        by_user[run.user_id].append((run.started_at, run.ends_at))
    for spans in by_user.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert (await rebuild.verify()).clean
    # the records' derived rows are exactly what their hooks would have written
    assert (await records_rebuild.verify()).clean

    # --- what a demo user sees --------------------------------------------------------------
    first = await User.get(users[0].id)
    assert first is not None
    login = await client.post("/auth/login", json={"email": first.email, "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = await client.get(f"/users/{first.id}/records", headers=headers)
    assert r.status_code == 200, r.text
    records = r.json()
    efforts = {e["distance"]: e for e in records["running"]["best_efforts"]}
    # a best effort for every standard distance up to their longest run with a route
    longest_m = max(route_m[r.id] for r in routed if r.user_id == first.id)
    expected = {name for name, metres in STANDARD_M.items() if metres <= longest_m}
    assert efforts.keys() == expected
    assert {"400m", "1k"} <= expected
    assert efforts["400m"]["seconds"] < efforts["1k"]["seconds"]
    assert 150 <= efforts["1k"]["pace_s_per_km"] <= 480  # a plausible runner
    assert records["strength"]["exercises"]
    assert records["strength"]["highest_volume_workout"] is not None
    assert await BestEffort.count() == summary["best_efforts"]


@pytest.mark.clock  # dated relative to now: the awkward moments too (a small load)
@pytest.mark.usefixtures("app")  # a fresh, empty database
async def test_demo_training_is_deterministic_and_rerunnable(settings: Settings) -> None:
    _, summary = await _load(settings, seed=4, runs=300, workouts=300, routes=40)
    assert summary["workouts"] == 300
    assert summary["routes"] == 40
    now = utcnow()
    assert all(
        now - timedelta(days=DAYS + 1) <= w.started_at <= now - timedelta(hours=2)
        for w in await Workout.find_all().to_list()
    )
    workouts = {
        w.id: (w.user_id, w.started_at, w.volume_kg) for w in await Workout.find_all().to_list()
    }
    routes = {r.id: len(r.timestamps or []) for r in await RunRoute.find_all().to_list()}
    efforts, strength = await BestEffort.count(), await StrengthSummary.count()

    # as seed_demo.py re-runs: the challenge's runs first (their routes reset), then the log
    _, again = await _load(settings, seed=4, runs=300, workouts=300, routes=40)
    assert again == summary
    assert {
        w.id: (w.user_id, w.started_at, w.volume_kg) for w in await Workout.find_all().to_list()
    } == workouts
    assert {r.id: len(r.timestamps or []) for r in await RunRoute.find_all().to_list()} == routes
    assert await BestEffort.count() == efforts
    assert await StrengthSummary.count() == strength
    assert (await rebuild.verify()).clean

"""Demo training log (issue 8): workouts, and timed GPS routes on demo runs.

- Workouts: about 2,000 over the last 120 days (6,000 in the full set), by a quarter of the
  demo users (runner001 among them). Each lifter follows a small program (two or three session
  templates such as "Lower body" or "Core & mobility", each a fixed choice of catalogue
  exercises), three to five sets an exercise with the measures the exercise takes: reps and
  weights by equipment and the lifter's strength, slowly progressing over the 120 days; holds
  and mobility by time; cardio machines by time and distance at a plausible speed.
- Routes: 250 demo runs (1,000 in the full set) of some runners (runner001 first) get a timed
  GPS loop near their home city: a smooth closed loop as long as the run, starting a few
  kilometres from the city centre, a point every 5-10 s (the runner's watch) at the run's pace
  give or take a few percent, rolling elevation, heart rate that rises, drifts and follows the
  hills. The run keeps its distance, duration and score (the leaderboards do not move); it gains
  `has_route`, `elevation_gain_m` from the route, `avg_hr`, `max_hr` and `elapsed_s`. Runs keep
  their times, so the no-overlap rule holds as the challenge demo made it.
- Records follow through the records' own functions, in bulk: each routed run's best efforts
  (`records.service.effort_rows`), each workout's strength summaries
  (`records.pipelines.strength_summaries`) and each lifter's strength records folded from them
  (`records.pipelines.strength_record`), exactly what the hooks would have written.

Deterministic for a seed, with a generator of its own (`random.Random(f"{seed}:training")`), so
everything drawn before it (users, runs, competitions) is unchanged. Safe to re-run: workouts
are keyed by ids drawn from that generator, routes by their run's id; only runs without a route
are chosen, so a route a user uploaded is never replaced.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReplaceOne, UpdateOne

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
from documents.clock import as_stored, utcnow
from documents.workout import WorkoutSet
from service.demo.progress import Progress
from service.demo.users import DemoUser
from service.exercises.service import seed_catalogue
from service.leaderboards import buckets
from service.records import pipelines as records_pipelines
from service.records.service import effort_rows

WORKOUTS = {"full": 6_000, "embedded": 2_000}
ROUTES = {"full": 1_000, "embedded": 250}
DAYS = 120
LIFTER_SHARE = 0.25
BATCH = 1000
EARTH_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
LOOP_VERTICES = 240
MAX_POINTS = 400

# (session name, [(pool, how many exercises)]): pools are defined in _pools
TEMPLATES: list[tuple[str, list[tuple[str, int]]]] = [
    ("Lower body", [("lower", 4), ("core", 1)]),
    ("Upper body", [("push", 2), ("pull", 2), ("arms", 1)]),
    ("Full body", [("lower", 2), ("push", 1), ("pull", 1), ("core", 1)]),
    ("Runner's strength", [("lower", 3), ("core", 2), ("plyometrics", 1)]),
    ("Core & mobility", [("core", 2), ("mobility", 3)]),
    ("Conditioning", [("cardio", 2), ("plyometrics", 2), ("core", 1)]),
]
_LOWER = {"quadriceps", "glutes", "hamstrings", "calves"}
_PUSH = {"chest", "shoulders", "triceps"}
_PULL = {"back", "lats", "traps"}
_ARMS = {"biceps", "forearms", "triceps"}
_CORE = {"abs", "core", "obliques", "lower_back"}
# a typical working weight (kg) for an average lifter, by equipment, then by name
_BASE_KG = {
    "barbell": 60.0,
    "dumbbell": 16.0,
    "kettlebell": 16.0,
    "machine": 50.0,
    "cable": 30.0,
    "pull_up_bar": 10.0,
    "medicine_ball": 6.0,
    "sled": 80.0,
}
_NAME_FACTOR = [
    ("deadlift", 1.5),
    ("leg press", 2.4),
    ("hip thrust", 1.4),
    ("squat", 1.2),
    ("overhead", 0.6),
    ("curl", 0.45),
    ("raise", 0.45),
    ("fly", 0.5),
    ("extension", 0.5),
    ("face pull", 0.5),
    ("pushdown", 0.6),
    ("row", 0.9),
    ("carry", 1.5),
]
# metres a second on cardio machines (and in the pool)
_SPEED = {
    "rower": (3.6, 4.6),
    "bike": (6.0, 9.0),
    "treadmill": (2.6, 4.0),
    "ski_erg": (3.4, 4.2),
    "machine": (2.8, 3.8),
    "pool": (0.8, 1.3),
}


def _oid(rng: random.Random) -> PydanticObjectId:
    return PydanticObjectId(rng.randbytes(12))


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# --- workouts -----------------------------------------------------------------------------------


def _pools(catalogue: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    pools: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for exercise in sorted(catalogue, key=lambda e: e["name_key"]):
        muscles = set(exercise.get("primary_muscles") or [])
        category = exercise["category"]
        if category in {"cardio", "mobility", "plyometrics"}:
            pools[category].append(exercise)
        elif muscles & _CORE:
            pools["core"].append(exercise)
        elif muscles & _LOWER:
            pools["lower"].append(exercise)
        elif muscles & _PULL:
            pools["pull"].append(exercise)
        elif muscles & _PUSH:
            pools["push"].append(exercise)
        elif muscles & _ARMS:
            pools["arms"].append(exercise)
    return pools


def _program(
    rng: random.Random, pools: dict[str, list[dict[str, Any]]]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Two or three sessions, each a fixed list of exercises (the same ones week after week)."""
    program = []
    for name, parts in rng.sample(TEMPLATES, k=rng.choice([2, 2, 3])):
        chosen: list[dict[str, Any]] = []
        for pool, count in parts:
            candidates = [e for e in pools.get(pool, []) if e not in chosen]
            chosen.extend(rng.sample(candidates, k=min(count, len(candidates))))
        if chosen:
            program.append((name, chosen))
    return program


def _weight_kg(exercise: dict[str, Any], strength: float, progress: float, reps: int) -> float:
    base = _BASE_KG.get(exercise.get("equipment") or "", 20.0)
    name = exercise["name_key"]
    for word, factor in _NAME_FACTOR:
        if word in name:
            base *= factor
            break
    kg = base * strength * progress * (1 - 0.025 * (reps - 5))
    step = 2.5 if exercise.get("equipment") in {"barbell", "machine", "cable", "sled"} else 1.0
    return max(step, round(kg / step) * step)


def _sets(
    rng: random.Random, exercise: dict[str, Any], strength: float, progress: float
) -> list[dict[str, Any]]:
    measures = set(exercise["measures"])
    category = exercise["category"]
    count = rng.randint(3, 5) if category in {"strength", "plyometrics"} else rng.randint(1, 2)
    reps = rng.choice([5, 6, 8, 8, 10, 10, 12])
    sets = []
    for _ in range(count):
        values: dict[str, Any] = {"exercise_id": exercise["_id"]}
        if "reps" in measures:
            if "weight_kg" in measures:
                values["reps"] = reps
            elif category == "plyometrics":
                values["reps"] = rng.randint(5, 10)
            elif "pull" in exercise["name_key"] or "chin" in exercise["name_key"]:
                values["reps"] = max(1, round(rng.randint(4, 10) * strength))
            else:
                values["reps"] = max(1, round(rng.randint(10, 25) * strength))
        if "weight_kg" in measures:
            values["weight_kg"] = _weight_kg(exercise, strength, progress, values.get("reps", 5))
        if "duration_s" in measures:
            if category == "cardio":
                values["duration_s"] = rng.choice([60, 120, 300, 600, 900, 1200])
            else:
                values["duration_s"] = rng.choice([30, 45, 60, 60, 90])
        if "distance_m" in measures:
            if "duration_s" in values:
                low, high = _SPEED.get(exercise.get("equipment") or "", (2.5, 3.5))
                values["distance_m"] = round(values["duration_s"] * rng.uniform(low, high))
            else:  # carries and sled pushes
                values["distance_m"] = rng.choice([20, 25, 30, 40])
        if rng.random() < 0.5:
            values["rpe"] = rng.randint(6, 9)
        sets.append(values)
        reps = max(1, reps - rng.choice([0, 0, 0, 1, 2]))  # tiring over the sets
    return sets


def _workouts(
    rng: random.Random,
    count: int,
    users: list[DemoUser],
    pools: dict[str, list[dict[str, Any]]],
    now: datetime,
) -> list[dict[str, Any]]:
    lifters = [users[0], *rng.sample(users[1:], k=max(1, round(len(users) * LIFTER_SHARE)) - 1)]
    habit = {u.id: rng.lognormvariate(0, 0.6) for u in lifters}
    strength = {u.id: rng.uniform(0.6, 1.4) for u in lifters}
    programs = {u.id: _program(rng, pools) for u in lifters}
    today = _day_start(now)
    days = [today - timedelta(days=d) for d in range(DAYS)]
    weights = [habit[u.id] for u in lifters]
    taken: set[tuple[PydanticObjectId, datetime]] = set()  # one workout a lifter a day
    docs: list[dict[str, Any]] = []
    attempts = 0
    while len(docs) < count and attempts < count * 20:
        attempts += 1
        user = rng.choices(lifters, weights)[0]
        day = rng.choice(days)
        if (user.id, day) in taken or not programs[user.id]:
            continue
        started = day + timedelta(
            hours=rng.choice([6, 7, 12, 17, 18, 19, 20]), minutes=rng.choice([0, 15, 30, 45])
        )
        if started > now - timedelta(hours=2):
            continue  # nothing in the future, nor still going on
        taken.add((user.id, day))
        name, exercises = rng.choice(programs[user.id])
        # about +10 % over the 120 days for everyone: records move
        progress = 1 + 0.1 * (1 - (today - day).days / DAYS)
        sets = [s for e in exercises for s in _sets(rng, e, strength[user.id], progress)][:200]
        work = sum(s.get("duration_s", 45) for s in sets)
        duration = max(20 * 60, min(100 * 60, round((work + 75 * len(sets)) / 60) * 60))
        finished = started + timedelta(seconds=duration)
        volume = sum(s.get("reps", 0) * s.get("weight_kg", 0.0) for s in sets if "reps" in s)
        docs.append(
            {
                "_id": _oid(rng),
                "user_id": user.id,
                "started_at": started,
                "day": buckets.day_of(started),
                "duration_s": duration,
                "name": name,
                "notes": None,
                "sets": sets,
                "sets_count": len(sets),
                "exercises_count": len({s["exercise_id"] for s in sets}),
                "volume_kg": round(volume, 1),
                "visibility": "public",
                "likes_count": 0,
                "comments_count": 0,
                "revision": 0,
                "created_at": finished,
                "updated_at": finished,
            }
        )
    return docs


def _as_workout(doc: dict[str, Any]) -> Workout:
    """A generated workout as a Workout, unvalidated (made valid; 2,000 validations cost ~1 s)."""
    fields = {k: v for k, v in doc.items() if k != "_id"}
    fields["sets"] = [WorkoutSet.model_construct(**s) for s in doc["sets"]]
    return Workout.model_construct(id=doc["_id"], **fields)


async def _store_by_id(collection: Any, docs: list[dict[str, Any]]) -> None:
    """Insert the new ones, replace those a previous load stored (same ids)."""
    ids = [d["_id"] for d in docs]
    existing = {d["_id"] async for d in collection.find({"_id": {"$in": ids}}, {"_id": 1})}
    for i in range(0, len(docs), BATCH):
        batch = docs[i : i + BATCH]
        fresh = [d for d in batch if d["_id"] not in existing]
        again = [ReplaceOne({"_id": d["_id"]}, d) for d in batch if d["_id"] in existing]
        if fresh:
            await collection.insert_many(fresh, ordered=False)
        if again:
            await collection.bulk_write(again, ordered=False)


async def _replace_rows(collection: Any, key: str, owners: list[Any], rows: list[dict]) -> None:
    """The derived rows of these owners (runs, workouts), exactly `rows` afterwards."""
    for i in range(0, len(owners), BATCH):
        await collection.delete_many({key: {"$in": owners[i : i + BATCH]}})
    for i in range(0, len(rows), BATCH):
        await collection.insert_many(rows[i : i + BATCH], ordered=False)


async def _strength_records(user_ids: list[Any]) -> int:
    """The lifters' `strength_records`, folded from all their summary rows (the records'
    reference fold, `records.pipelines.strength_record`, as its rebuild does)."""
    rows: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    async for row in StrengthSummary.get_motor_collection().find({"user_id": {"$in": user_ids}}):
        rows[(row["user_id"], row["exercise_id"])].append(row)
    records = [
        record
        for (user_id, exercise_id), found in sorted(rows.items(), key=lambda kv: str(kv[0]))
        if (
            record := records_pipelines.strength_record(
                user_id=user_id, exercise_id=exercise_id, rows=found
            )
        )
        is not None
    ]
    await _replace_rows(StrengthRecord.get_motor_collection(), "user_id", user_ids, records)
    return len(records)


# --- routes -------------------------------------------------------------------------------------


def _loop(rng: random.Random) -> tuple[list[float], list[float], list[float]]:
    """A smooth closed loop in metres (x east, y north) and its cumulative length (unscaled)."""
    a1, a2 = rng.uniform(0, 0.25), rng.uniform(0, 0.15)
    p1, p2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    aspect, turn = rng.uniform(0.6, 1.4), rng.uniform(0, 2 * math.pi)
    direction = rng.choice([1, -1])
    xs, ys = [], []
    for k in range(LOOP_VERTICES + 1):
        theta = direction * 2 * math.pi * k / LOOP_VERTICES
        r = 1 + a1 * math.sin(2 * theta + p1) + a2 * math.sin(3 * theta + p2)
        x, y = r * math.cos(theta) - 1, r * math.sin(theta) * aspect  # starts at (0, 0)
        xs.append(x * math.cos(turn) - y * math.sin(turn))
        ys.append(x * math.sin(turn) + y * math.cos(turn))
    lengths = [0.0]
    for k in range(1, len(xs)):
        lengths.append(lengths[-1] + math.hypot(xs[k] - xs[k - 1], ys[k] - ys[k - 1]))
    return xs, ys, lengths


def route_for(
    rng: random.Random,
    *,
    center: tuple[float, float],
    started_at: datetime,
    distance_km: float,
    duration_s: int,
    interval_s: int,
    hr_max: int,
    effort: float,
) -> dict[str, Any]:
    """The route fields (geometry, elevations, timestamps, heart rates) of one demo run, plus
    `elevation_gain_m`, `avg_hr` and `max_hr` for the run."""
    distance_m = distance_km * 1000
    # the loop starts a few kilometres from the city centre, in any direction
    away, bearing = rng.uniform(300, 5000), rng.uniform(0, 2 * math.pi)
    lon0, lat0 = center
    lat_start = lat0 + away * math.cos(bearing) / EARTH_M_PER_DEG
    m_per_deg_lon = EARTH_M_PER_DEG * math.cos(math.radians(lat_start))
    lon_start = lon0 + away * math.sin(bearing) / m_per_deg_lon
    xs, ys, lengths = _loop(rng)
    scale = distance_m / lengths[-1]

    # sample times, and how far the runner got at each (pace varies a few percent); a long
    # run is sampled more sparsely (a few hundred points a route keep startup quick)
    interval_s = max(interval_s, math.ceil(duration_s / MAX_POINTS))
    times = [*range(0, duration_s, interval_s), duration_s]
    wave, phase = rng.uniform(300, 900), rng.uniform(0, 2 * math.pi)
    covered = [0.0]
    for i in range(1, len(times)):
        t = times[i]
        speed = 1 + 0.04 * math.sin(2 * math.pi * t / wave + phase) - 0.03 * t / duration_s
        covered.append(covered[-1] + speed * (t - times[i - 1]))
    stretch = distance_m / covered[-1]

    base = rng.uniform(5, 350)
    (a1, n1, p1), (a2, n2, p2) = (
        (rng.uniform(2, 25), 2 * math.pi * rng.randint(1, 4), rng.uniform(0, 2 * math.pi))
        for _ in "ab"
    )
    steady = hr_max * min(0.92, max(0.68, 0.62 + 0.2 * effort))
    coordinates, elevations, heart_rates = [], [], []
    previous_elevation, previous_s = None, 0.0
    gain = 0.0
    k, last = 0, len(lengths) - 2
    noise = rng.random
    for i, t in enumerate(times):
        s = min(distance_m, covered[i] * stretch)
        u = s / scale  # position along the unscaled loop
        while k < last and lengths[k + 1] <= u:  # samples only move forward along the loop
            k += 1
        part = (u - lengths[k]) / (lengths[k + 1] - lengths[k] or 1)
        x = (xs[k] + part * (xs[k + 1] - xs[k])) * scale
        y = (ys[k] + part * (ys[k + 1] - ys[k])) * scale
        coordinates.append(
            [round(lon_start + x / m_per_deg_lon, 6), round(lat_start + y / EARTH_M_PER_DEG, 6)]
        )
        fraction = s / distance_m
        elevation = base + a1 * math.sin(n1 * fraction + p1) + a2 * math.sin(n2 * fraction + p2)
        climb = 0.0 if previous_elevation is None else elevation - previous_elevation
        if climb > 0:
            gain += climb
        previous_elevation = elevation
        elevations.append(round(elevation, 1))
        # rises over the first minutes, drifts up over the run, follows the hills
        hr = 95 + (steady - 95) * (1 - math.exp(-t / 90)) + 0.04 * steady * t / duration_s
        step = s - previous_s
        previous_s = s
        hr += 150 * (climb / step if step > 1 else 0.0)  # +1.5 bpm a percent of grade
        heart_rates.append(int(min(hr_max, max(70, round(hr + 4 * noise() - 2)))))
    return {
        "geometry": {"type": "LineString", "coordinates": coordinates},
        "elevations": elevations,
        "timestamps": [started_at + timedelta(seconds=t) for t in times],
        "heart_rates": heart_rates,
        "elevation_gain_m": round(gain, 1),
        "avg_hr": round(sum(heart_rates) / len(heart_rates)),
        "max_hr": max(heart_rates),
    }


async def _homes(users: list[DemoUser]) -> dict[PydanticObjectId, tuple[float, float]]:
    """Each demo user's home city centre (lon, lat), where the challenge demo put them."""
    ids = [u.id for u in users]
    city_of = {
        d["_id"]: d.get("city_id")
        async for d in User.get_motor_collection().find({"_id": {"$in": ids}}, {"city_id": 1})
    }
    city_ids = list({c for c in city_of.values() if c is not None})
    centres = {
        c["_id"]: tuple(c["location"]["coordinates"])
        async for c in City.get_motor_collection().find({"_id": {"$in": city_ids}}, {"location": 1})
        if c.get("location")
    }
    return {u: centres[c] for u, c in city_of.items() if c in centres}  # type: ignore[misc]


async def _routes(
    rng: random.Random, count: int, users: list[DemoUser], progress: Progress
) -> tuple[int, int]:
    homes = await _homes(users)
    order = [users[0], *rng.sample(users[1:], k=len(users) - 1)]
    runs_collection = Run.get_motor_collection()
    chosen: list[dict[str, Any]] = []
    for user in order:
        if len(chosen) >= count:
            break
        if user.id not in homes:
            continue
        cursor = runs_collection.find(
            {"user_id": user.id, "has_route": False},
            {"user_id": 1, "started_at": 1, "distance_km": 1, "duration_s": 1},
        ).sort([("started_at", 1), ("_id", 1)])
        chosen.extend(await cursor.to_list(None))
    chosen = chosen[:count]
    progress.start("routes", len(chosen))
    # most watches record "smart": a point every few seconds, more on turns; 5-10 s here
    interval = {u.id: rng.choice([6, 8, 10, 10]) for u in users}
    hr_max = {u.id: rng.randint(172, 198) for u in users}
    typical_pace: dict[Any, float] = {}
    for run in chosen:
        typical_pace.setdefault(run["user_id"], run["duration_s"] / run["distance_km"])

    route_docs, updates, effort_docs = [], [], []
    for run in chosen:
        user_id = run["user_id"]
        started = as_stored(run["started_at"])
        pace = run["duration_s"] / run["distance_km"]
        made = route_for(
            rng,
            center=homes[user_id],
            started_at=started,
            distance_km=run["distance_km"],
            duration_s=run["duration_s"],
            interval_s=interval[user_id],
            hr_max=hr_max[user_id],
            effort=typical_pace[user_id] / pace,
        )
        route = {
            "_id": run["_id"],
            "user_id": user_id,
            "geometry": made["geometry"],
            "elevations": made["elevations"],
            "timestamps": made["timestamps"],
            "heart_rates": made["heart_rates"],
        }
        route_docs.append(route)
        updates.append(
            UpdateOne(
                {"_id": run["_id"]},
                {
                    "$set": {
                        "has_route": True,
                        "elevation_gain_m": made["elevation_gain_m"],
                        "avg_hr": made["avg_hr"],
                        "max_hr": made["max_hr"],
                        "elapsed_s": run["duration_s"],
                    }
                },
            )
        )
        effort_docs.extend(
            effort_rows(run_id=run["_id"], user_id=user_id, started_at=started, route=route)
        )
        progress.advance()
    await _store_by_id(RunRoute.get_motor_collection(), route_docs)
    for i in range(0, len(updates), BATCH):
        await runs_collection.bulk_write(updates[i : i + BATCH], ordered=False)
    await _replace_rows(
        BestEffort.get_motor_collection(), "run_id", [r["_id"] for r in route_docs], effort_docs
    )
    return len(route_docs), len(effort_docs)


# --- the loader ---------------------------------------------------------------------------------


async def load_training(
    *,
    seed: int,
    size: str,
    users: list[DemoUser],
    progress: Progress,
    workouts: int | None = None,
    routes: int | None = None,
) -> dict[str, int]:
    """Upsert the training log; `workouts` and `routes` override the size's counts (tests)."""
    rng = random.Random(f"{seed}:training")
    now = utcnow().replace(microsecond=0)
    # the catalogue is seeded at startup; the seed script has no startup, so make sure here
    await seed_catalogue()
    catalogue = await Exercise.get_motor_collection().find({"owner_id": None}).to_list(None)
    count = workouts if workouts is not None else WORKOUTS.get(size, WORKOUTS["embedded"])
    progress.start("workouts", count)
    docs = _workouts(rng, count, users, _pools(catalogue), now)
    await _store_by_id(Workout.get_motor_collection(), docs)
    summaries = [
        row for doc in docs for row in records_pipelines.strength_summaries(_as_workout(doc))
    ]
    await _replace_rows(
        StrengthSummary.get_motor_collection(), "workout_id", [d["_id"] for d in docs], summaries
    )
    strength_records = await _strength_records(list({d["user_id"] for d in docs}))
    progress.advance(count)

    wanted = routes if routes is not None else ROUTES.get(size, ROUTES["embedded"])
    routed, efforts = await _routes(rng, wanted, users, progress)
    return {
        "workouts": len(docs),
        "strength_summaries": len(summaries),
        "strength_records": strength_records,
        "routes": routed,
        "best_efforts": efforts,
    }

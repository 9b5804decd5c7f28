"""Personal records: kept in step with runs and workouts through the hooks, read in bounded steps.

- Best efforts: each run with a timed route has up to seven `best_efforts` rows (one per
  standard distance), computed when the run is recorded, when it moves in time or gains/loses
  its route, deleted with it. A record is one indexed find_one per distance.
- Longest run, longest duration, highest score: straight from `runs` through the
  `user_distance` / `user_duration` / `user_score` indexes (nothing derived to keep in step).
- Biggest week and month: aggregated from the runner's score buckets (`kind_entity_day`).
- Strength: one `strength_summaries` row per (workout, exercise), written by the workout hooks,
  and one `strength_records` row per (user, exercise), its four bests re-sought through the
  summaries' indexes whenever a workout with that exercise changes; a read is one row per
  exercise; the highest-volume workout comes from `workouts` (`user_volume`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReplaceOne
from pymongo.errors import DuplicateKeyError

from documents import (
    BestEffort,
    Exercise,
    Run,
    RunRoute,
    ScoreBucket,
    StrengthRecord,
    StrengthSummary,
    User,
    Workout,
)
from service import events
from service.queries import ASC, DESC, QueryShape
from service.records import efforts, pipelines
from service.records.schemas import (
    BestEffortRead,
    BestOneRepMax,
    ExerciseRecords,
    ExerciseVolume,
    HeaviestSet,
    MostReps,
    PeriodRecord,
    RecordsRead,
    RunningRecords,
    RunRecord,
    StrengthRecords,
    WorkoutVolume,
)

log = logging.getLogger("service.records")

# --- the queries a records read makes (service.queries: checked against the indexes) ---------
BEST_EFFORT = QueryShape(
    "records_best_effort",
    BestEffort,
    equality=("user_id", "distance"),
    sort=(("seconds", ASC),),
    index="user_distance_seconds",
)
# the earliest recorded run wins a tie, hence `_id` ascending after a descending key
_RUN_TOP = {
    field: QueryShape(
        f"records_top_{field}",
        Run,
        equality=("user_id",),
        sort=((field, DESC), ("_id", ASC)),
        index=index,
    )
    for field, index in (
        ("distance_km", "user_distance"),
        ("duration_s", "user_duration"),
        ("score", "user_score"),
    )
}
USER_BUCKETS = QueryShape(
    "records_user_buckets",
    ScoreBucket,
    equality=("kind", "entity_id"),
    index="kind_entity_day",
    tie_break=False,
)
_STRENGTH_INDEXES: dict[pipelines.StrengthMetric, str] = {
    "heaviest": "user_exercise_heaviest",
    "most_reps": "user_exercise_reps",
    "best_1rm": "user_exercise_1rm",
    "volume": "user_exercise_volume",
}
# the best summary row of a (user, exercise) by each metric: one index seek each
STRENGTH_BEST = {
    metric: QueryShape(
        f"records_strength_{metric}",
        StrengthSummary,
        equality=("user_id", "exercise_id"),
        sort=tuple(pipelines.metric_order(metric)),
        index=index,
    )
    for metric, index in _STRENGTH_INDEXES.items()
}
STRENGTH_RECORDS = QueryShape(
    "records_strength_records",
    StrengthRecord,
    equality=("user_id",),
    sort=(("exercise_id", ASC),),
    index="user_exercise",
    tie_break=False,  # one row per (user, exercise)
)
TOP_WORKOUT = QueryShape(
    "records_top_workout",
    Workout,
    equality=("user_id",),
    sort=(("volume_kg", DESC), ("_id", ASC)),
    range=("volume_kg",),
    index="user_volume",
)

# a route this long is measured in a worker thread (20,000 points: ~0.5 s of CPU, loaded machine)
_THREAD_POINTS = 2_000


# --- best efforts -----------------------------------------------------------------------------


def effort_rows(
    *, run_id: Any, user_id: Any, started_at: Any, route: dict[str, Any]
) -> list[dict[str, Any]]:
    """The `best_efforts` documents of one run from its stored route (none without times)."""
    timestamps = route.get("timestamps")
    coordinates = (route.get("geometry") or {}).get("coordinates") or []
    if not timestamps or len(timestamps) != len(coordinates):
        return []
    found = efforts.best_efforts(coordinates, timestamps, route.get("distances"))
    return [
        {
            "_id": f"{run_id}:{name}",
            "user_id": user_id,
            "run_id": run_id,
            "distance": name,
            "seconds": round(effort.seconds, 3),
            "started_at": started_at,
            "start_m": round(effort.start_m, 1),
        }
        for name, effort in found.items()
    ]


async def _route_of(run_id: PydanticObjectId) -> dict[str, Any] | None:
    projection = {"geometry.coordinates": 1, "timestamps": 1, "distances": 1}
    document: dict[str, Any] | None = await RunRoute.get_motor_collection().find_one(
        {"_id": run_id}, projection
    )
    return document


async def refresh_efforts(run: Run, route: dict[str, Any] | None = None) -> None:
    """(Re)compute and store one run's best efforts from its stored run and route.

    `route`: the run's stored route document when the caller has it (just inserted); else it
    is read from `run_routes`.

    Hooks of concurrent edits and deletes may interleave: the run is read again before and
    after writing, so whichever refresh finishes last leaves the rows of the stored run (its
    current start), and none once the run is gone.
    """
    collection = BestEffort.get_motor_collection()
    runs = Run.get_motor_collection()
    fields = {"user_id": 1, "started_at": 1, "has_route": 1}
    current = await runs.find_one({"_id": run.id}, fields)
    rows: list[dict[str, Any]] = []
    assert run.id is not None
    if not (current and current.get("has_route")):
        route = None
    elif route is None:
        route = await _route_of(run.id)
    if current is not None and route is not None:
        kwargs = {
            "run_id": run.id,
            "user_id": current["user_id"],
            "started_at": current["started_at"],
        }
        if len(route.get("timestamps") or ()) > _THREAD_POINTS:
            rows = await asyncio.to_thread(lambda: effort_rows(route=route, **kwargs))
        else:
            rows = effort_rows(route=route, **kwargs)
    if rows:
        await collection.bulk_write(
            [ReplaceOne({"_id": row["_id"]}, row, upsert=True) for row in rows], ordered=False
        )
    await collection.delete_many(
        {"run_id": run.id, "distance": {"$nin": [row["distance"] for row in rows]}}
    )
    if not rows:
        return
    latest = await runs.find_one({"_id": run.id}, fields)
    if latest is None:
        # deleted while we computed: its delete hook may have run before these rows existed
        await collection.delete_many({"run_id": run.id})
    elif latest["started_at"] != rows[0]["started_at"]:
        # moved meanwhile (that edit's own refresh may have finished before this one)
        await collection.update_many(
            {"run_id": run.id}, {"$set": {"started_at": latest["started_at"]}}
        )


async def _on_run_recorded(*, run: Run, route: dict[str, Any] | None = None, **_: Any) -> None:
    if run.has_route:
        await refresh_efforts(run, route)


async def _on_run_changed(*, before: Run, after: Run) -> None:
    if before.has_route != after.has_route or (
        after.has_route and before.started_at != after.started_at
    ):
        await refresh_efforts(after)


# run ids whose rows a `runs_deleted` batch already removed: their `run_deleted` skips the trip
_deleted_in_batch: set[PydanticObjectId] = set()


async def _on_run_deleted(*, run: Run) -> None:
    if run.id in _deleted_in_batch:
        _deleted_in_batch.discard(run.id)
        return
    if run.has_route:
        await BestEffort.get_motor_collection().delete_many({"run_id": run.id})


async def _on_runs_deleted(*, user: User, runs: list[Run]) -> None:
    routed = [run.id for run in runs if run.has_route]
    if routed:
        await BestEffort.get_motor_collection().delete_many(
            {"user_id": user.id, "run_id": {"$in": routed}}
        )
        _deleted_in_batch.update(r for r in routed if r is not None)


# --- strength summaries -----------------------------------------------------------------------


async def refresh_summaries(workout: Workout) -> list[dict[str, Any]]:
    """(Re)write one workout's per-exercise summaries; returns them (none if it is gone)."""
    collection = StrengthSummary.get_motor_collection()
    rows = pipelines.strength_summaries(workout)
    if rows:
        await collection.bulk_write(
            [ReplaceOne({"_id": row["_id"]}, row, upsert=True) for row in rows], ordered=False
        )
    await collection.delete_many(
        {"workout_id": workout.id, "_id": {"$nin": [row["_id"] for row in rows]}}
    )
    if await Workout.get_motor_collection().find_one({"_id": workout.id}, {"_id": 1}) is None:
        await collection.delete_many({"workout_id": workout.id})
        return []
    return rows


async def _best_record(user_id: Any, exercise_id: Any) -> dict[str, Any] | None:
    """The `strength_records` document of (user, exercise) from its best summary rows."""
    collection = StrengthSummary.get_motor_collection()
    record: dict[str, Any] = {
        "_id": f"{user_id}:{exercise_id}",
        "user_id": user_id,
        "exercise_id": exercise_id,
    }
    for metric, shape in STRENGTH_BEST.items():
        criteria = shape.check({"user_id": user_id, "exercise_id": exercise_id})
        row = await collection.find_one(criteria, sort=shape.order)
        record[metric] = pipelines.record_entry(metric, row)
    if all(record[metric] is None for metric in STRENGTH_BEST):
        return None
    return record


_CAS_ATTEMPTS = 5


async def _swap(current: dict[str, Any] | None, record: dict[str, Any] | None) -> bool:
    """Replace the stored record `current` (None: absent) by `record` (None: delete it) if
    nobody changed it since it was read (its `version`); False when someone did."""
    collection = StrengthRecord.get_motor_collection()
    if current is None:
        if record is None:
            return True
        try:
            await collection.insert_one({**record, "version": 1})
        except DuplicateKeyError:
            return False
        return True
    # a record written by the rebuild has no version yet
    seen = {"_id": current["_id"], "version": current.get("version", {"$exists": False})}
    if record is None:
        return bool((await collection.delete_one(seen)).deleted_count)
    fresh = {**record, "version": current.get("version", 0) + 1}
    return bool((await collection.replace_one(seen, fresh)).matched_count)


def _unversioned(record: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else {k: v for k, v in record.items() if k != "version"}


async def refresh_records(user_id: Any, exercise_ids: Iterable[Any]) -> None:
    """Recompute the user's records on these exercises from the summaries (four index seeks
    each), written compare-and-set on the record's `version`: a concurrent merge or refresh
    that wrote in between makes this one read and seek again."""
    collection = StrengthRecord.get_motor_collection()
    for exercise_id in set(exercise_ids):
        for _ in range(_CAS_ATTEMPTS):
            current = await collection.find_one({"_id": f"{user_id}:{exercise_id}"})
            record = await _best_record(user_id, exercise_id)
            if pipelines.same_record(_unversioned(current), record):
                break
            if await _swap(current, record):
                break
        else:
            log.warning("Strength record %s:%s kept changing; left as is", user_id, exercise_id)


async def merge_records(rows: list[dict[str, Any]]) -> None:
    """Raise the user's records with a new workout's summary rows: a new row can only beat a
    record, so each exercise is one read and at most one write (no seeks), compare-and-set;
    after contention, a full refresh."""
    collection = StrengthRecord.get_motor_collection()
    for row in rows:
        record_id = f"{row['user_id']}:{row['exercise_id']}"
        for _ in range(_CAS_ATTEMPTS):
            current = await collection.find_one({"_id": record_id})
            merged = pipelines.merged_record(_unversioned(current), row)
            # written even when unchanged: the version bump makes a refresh that read the
            # summaries before this row existed (a delete's re-seek) fail its swap and seek again
            if await _swap(current, merged):
                break
        else:
            await refresh_records(row["user_id"], [row["exercise_id"]])


def _holders(record: dict[str, Any] | None) -> set[Any]:
    """The workouts holding one of a record's metrics."""
    if record is None:
        return set()
    return {
        record[metric]["workout_id"] for metric in pipelines.STRENGTH_METRICS if record.get(metric)
    }


async def _refresh_held(user_id: Any, exercise_ids: Iterable[Any], workout_ids: set[Any]) -> None:
    """Refresh the records on these exercises that one of these workouts holds (the others
    cannot fall when those workouts change or go)."""
    wanted = list(set(exercise_ids))
    if not wanted:
        return
    ids = [f"{user_id}:{exercise_id}" for exercise_id in wanted]
    cursor = StrengthRecord.get_motor_collection().find({"_id": {"$in": ids}})
    held = [doc["exercise_id"] async for doc in cursor if _holders(doc) & workout_ids]
    await refresh_records(user_id, held)


def _exercises_of(*workouts: Workout) -> set[PydanticObjectId]:
    return {s.exercise_id for workout in workouts for s in workout.sets}


async def _on_workout_recorded(*, workout: Workout) -> None:
    rows = await refresh_summaries(workout)
    await merge_records(rows)
    if await Workout.get_motor_collection().find_one({"_id": workout.id}, {"_id": 1}) is None:
        # deleted meanwhile: its delete hook may have refreshed before this merge wrote
        await refresh_records(workout.user_id, _exercises_of(workout))


async def _on_workout_changed(*, before: Workout, after: Workout) -> None:
    rows = await refresh_summaries(after)
    # records the workout held may fall; elsewhere its new rows can only raise them
    await _refresh_held(after.user_id, _exercises_of(before, after), {after.id})
    await merge_records(rows)


# workout ids whose rows a `workouts_deleted` batch already removed
_workouts_deleted_in_batch: set[PydanticObjectId] = set()


async def _on_workout_deleted(*, workout: Workout) -> None:
    if workout.id in _workouts_deleted_in_batch:
        _workouts_deleted_in_batch.discard(workout.id)
        return
    await StrengthSummary.get_motor_collection().delete_many({"workout_id": workout.id})
    await _refresh_held(workout.user_id, _exercises_of(workout), {workout.id})


async def _on_workouts_deleted(*, user: User, workouts: list[Workout]) -> None:
    ids = [workout.id for workout in workouts if workout.id is not None]
    if ids:
        await StrengthSummary.get_motor_collection().delete_many(
            {"user_id": user.id, "workout_id": {"$in": ids}}
        )
        _workouts_deleted_in_batch.update(ids)
        await _refresh_held(user.id, _exercises_of(*workouts), set(ids))


async def _on_user_deleted(*, user: User) -> None:
    await BestEffort.get_motor_collection().delete_many({"user_id": user.id})
    await StrengthSummary.get_motor_collection().delete_many({"user_id": user.id})
    await StrengthRecord.get_motor_collection().delete_many({"user_id": user.id})


events.run_recorded.connect(_on_run_recorded)
events.run_changed.connect(_on_run_changed)
events.run_deleted.connect(_on_run_deleted)
events.runs_deleted.connect(_on_runs_deleted)
events.workout_recorded.connect(_on_workout_recorded)
events.workout_changed.connect(_on_workout_changed)
events.workout_deleted.connect(_on_workout_deleted)
events.workouts_deleted.connect(_on_workouts_deleted)
events.user_deleted.connect(_on_user_deleted)


# --- reading ----------------------------------------------------------------------------------


async def _best_efforts(user_id: PydanticObjectId) -> list[BestEffortRead]:
    collection = BestEffort.get_motor_collection()
    found: list[BestEffortRead] = []
    for name, metres in efforts.DISTANCES:
        row = await collection.find_one(
            BEST_EFFORT.check({"user_id": user_id, "distance": name}), sort=BEST_EFFORT.order
        )
        if row is None:
            continue
        seconds = row["seconds"]
        found.append(
            BestEffortRead(
                distance=name,
                distance_m=metres,
                seconds=round(seconds, 1),
                pace_s_per_km=round(seconds * 1000 / metres, 1),
                run_id=str(row["run_id"]),
                started_at=row["started_at"],
            )
        )
    return found


async def _top_run(user_id: PydanticObjectId, field: str) -> RunRecord | None:
    shape = _RUN_TOP[field]
    row = await Run.get_motor_collection().find_one(
        shape.check({"user_id": user_id}),
        {"started_at": 1, "distance_km": 1, "duration_s": 1, "score": 1},
        sort=shape.order,
    )
    if row is None:
        return None
    return RunRecord(
        run_id=str(row["_id"]),
        started_at=row["started_at"],
        distance_km=row["distance_km"],
        duration_s=row["duration_s"],
        score=row["score"],
    )


async def _period(pipeline: pipelines.Pipeline, *, week: bool) -> PeriodRecord | None:
    USER_BUCKETS.check(pipeline[0]["$match"])
    rows = await ScoreBucket.get_motor_collection().aggregate(pipeline).to_list(length=1)
    if not rows:
        return None
    row = rows[0]
    start = pipelines.week_start(int(row["_id"])) if week else row["_id"]
    return PeriodRecord(
        start=start.date(), distance_km=round(row["distance_m"] / 1000, 3), runs=row["runs"]
    )


async def _strength(user_id: PydanticObjectId) -> StrengthRecords:
    cursor = StrengthRecord.get_motor_collection().find(
        STRENGTH_RECORDS.check({"user_id": user_id}), sort=STRENGTH_RECORDS.order
    )
    stored = [row async for row in cursor]
    names = await _exercise_names(row["exercise_id"] for row in stored)
    exercises: list[ExerciseRecords] = []
    for row in stored:
        heaviest, most, one_rm, volume = (
            row.get(metric) for metric in ("heaviest", "most_reps", "best_1rm", "volume")
        )
        exercises.append(
            ExerciseRecords(
                exercise_id=str(row["exercise_id"]),
                exercise_name=names.get(row["exercise_id"]),
                heaviest_set=HeaviestSet(
                    **_ref(heaviest),
                    weight_kg=heaviest["heaviest_kg"],
                    reps=heaviest["heaviest_reps"],
                )
                if heaviest
                else None,
                most_reps=MostReps(
                    **_ref(most), reps=most["most_reps"], weight_kg=most["most_reps_kg"]
                )
                if most
                else None,
                best_estimated_1rm=BestOneRepMax(
                    **_ref(one_rm),
                    estimated_1rm_kg=one_rm["best_1rm_kg"],
                    weight_kg=one_rm["best_1rm_weight_kg"],
                    reps=one_rm["best_1rm_reps"],
                )
                if one_rm
                else None,
                highest_volume=ExerciseVolume(**_ref(volume), volume_kg=volume["volume_kg"])
                if volume
                else None,
            )
        )
    exercises.sort(key=lambda e: ((e.exercise_name or "").casefold(), e.exercise_id))
    top = await Workout.get_motor_collection().find_one(
        TOP_WORKOUT.check({"user_id": user_id, "volume_kg": {"$gt": 0}}),
        {"started_at": 1, "volume_kg": 1},
        sort=TOP_WORKOUT.order,
    )
    highest = (
        WorkoutVolume(
            workout_id=str(top["_id"]), started_at=top["started_at"], volume_kg=top["volume_kg"]
        )
        if top
        else None
    )
    return StrengthRecords(exercises=exercises, highest_volume_workout=highest)


def _ref(row: dict[str, Any]) -> dict[str, Any]:
    return {"workout_id": str(row["workout_id"]), "started_at": row["started_at"]}


async def _exercise_names(ids: Iterable[Any]) -> dict[Any, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    cursor = Exercise.get_motor_collection().find({"_id": {"$in": wanted}}, {"name": 1})
    return {row["_id"]: row["name"] async for row in cursor}


async def read(*, user: User) -> RecordsRead:
    """Every personal record of `user`."""
    assert user.id is not None
    running = RunningRecords(
        best_efforts=await _best_efforts(user.id),
        longest_run=await _top_run(user.id, "distance_km"),
        longest_duration=await _top_run(user.id, "duration_s"),
        highest_score=await _top_run(user.id, "score"),
        biggest_week=await _period(pipelines.biggest_week(user.id), week=True),
        biggest_month=await _period(pipelines.biggest_month(user.id), week=False),
    )
    return RecordsRead(user_id=str(user.id), running=running, strength=await _strength(user.id))

"""Personal records: pure functions building one user's summaries and aggregation pipelines.

Only `$match`, `$group` (`$sum`, `$first`), `$sort`, `$limit` and arithmetic that MongoDB 7+,
mongomock 4.3 and the wire test server all run (no `$isoWeek`/`$dateTrunc`: a week is computed
from the milliseconds since the epoch). tests/test_records.py checks each against plain Python.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from beanie import PydanticObjectId

from documents import Workout

Pipeline = list[dict[str, Any]]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a Thursday
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
# the Monday-based week of a day: floor((ms since the epoch + 3 days) / 7 days), since the
# epoch's Monday was 3 days before it
_MONDAY_SHIFT_MS = 3 * DAY_MS


def week_start(week: int) -> datetime:
    """The Monday 00:00 UTC starting week number `week` (as `biggest_week` groups them)."""
    return EPOCH + timedelta(days=week * 7 - 3)


def biggest_week(user_id: PydanticObjectId) -> Pipeline:
    """The user's ISO week (Monday to Sunday, UTC) with the most distance, from their day
    buckets (several per day when runs were credited to different cities: summed).

    One row `{_id: week number (see week_start), distance_m, runs}` or none; the earliest week
    wins a tie.
    """
    since_epoch = {"$subtract": ["$day", EPOCH]}
    week = {"$floor": {"$divide": [{"$add": [since_epoch, _MONDAY_SHIFT_MS]}, WEEK_MS]}}
    return [
        {"$match": {"kind": "user", "entity_id": user_id}},
        {"$group": {"_id": week, "distance_m": {"$sum": "$distance_m"}, "runs": {"$sum": "$runs"}}},
        {"$match": {"distance_m": {"$gt": 0}}},
        {"$sort": {"distance_m": -1, "_id": 1}},
        {"$limit": 1},
    ]


def biggest_month(user_id: PydanticObjectId) -> Pipeline:
    """The user's calendar month (UTC) with the most distance, from their month buckets.

    One row `{_id: first day of the month, distance_m, runs}` or none; the earliest wins a tie.
    """
    return [
        {"$match": {"kind": "user_month", "entity_id": user_id}},
        {
            "$group": {
                "_id": "$day",
                "distance_m": {"$sum": "$distance_m"},
                "runs": {"$sum": "$runs"},
            }
        },
        {"$match": {"distance_m": {"$gt": 0}}},
        {"$sort": {"distance_m": -1, "_id": 1}},
        {"$limit": 1},
    ]


StrengthMetric = Literal["heaviest", "most_reps", "best_1rm", "volume"]

# metric -> (the summary fields ranked on, best first, then the fields the record carries)
STRENGTH_METRICS: dict[StrengthMetric, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "heaviest": (("heaviest_kg", "heaviest_reps"), ()),
    "most_reps": (("most_reps", "most_reps_kg"), ()),
    "best_1rm": (("best_1rm_kg",), ("best_1rm_weight_kg", "best_1rm_reps")),
    "volume": (("volume_kg",), ()),
}


def metric_order(metric: StrengthMetric) -> list[tuple[str, int]]:
    """The order putting a (user, exercise)'s best summary row by `metric` first: its fields
    descending (a missing value ranks below any number), then the earliest workout."""
    ranked, _ = STRENGTH_METRICS[metric]
    return [*((name, -1) for name in ranked), ("started_at", 1), ("_id", 1)]


def record_entry(metric: StrengthMetric, row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record `row` makes for `metric` (its fields, workout_id, started_at), or None when
    it has no value for it (no weighted set; no volume)."""
    if row is None:
        return None
    ranked, carried = STRENGTH_METRICS[metric]
    value = row.get(ranked[0])
    if value is None or (metric == "volume" and value <= 0):
        return None
    entry = {name: row.get(name) for name in (*ranked, *carried)}
    entry.update(workout_id=row["workout_id"], started_at=row["started_at"])
    return entry


def _sort_key(metric: StrengthMetric, row: dict[str, Any]) -> tuple[Any, ...]:
    ranked, _ = STRENGTH_METRICS[metric]
    values = tuple(-_rank(row.get(name)) for name in ranked)
    return (*values, row["started_at"].replace(tzinfo=None), str(row["_id"]))


def _entry_as_row(entry: dict[str, Any], exercise_id: Any) -> dict[str, Any]:
    """A record entry back as the summary row it came from (enough of it to rank)."""
    return {**entry, "_id": f"{entry['workout_id']}:{exercise_id}"}


def merged_record(record: dict[str, Any] | None, row: dict[str, Any]) -> dict[str, Any] | None:
    """`record` (a `strength_records` document or None) raised by one new summary row of its
    (user, exercise): per metric the better of the two, ranked as the indexes rank them."""
    exercise_id = row["exercise_id"]
    candidates = {metric: [row] for metric in STRENGTH_METRICS}
    if record is not None:
        for metric in STRENGTH_METRICS:
            if record.get(metric):
                candidates[metric].append(_entry_as_row(record[metric], exercise_id))
    merged: dict[str, Any] = {
        "_id": f"{row['user_id']}:{exercise_id}",
        "user_id": row["user_id"],
        "exercise_id": exercise_id,
    }
    for metric, rows in candidates.items():
        present = [r for r in rows if record_entry(metric, r) is not None]
        best = min(present, key=lambda r: _sort_key(metric, r)) if present else None
        merged[metric] = record_entry(metric, best)
    if all(merged[metric] is None for metric in STRENGTH_METRICS):
        return None
    return merged


def same_record(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two `strength_records` documents hold the same records (times compared in UTC,
    whether the store hands them back with a timezone or not)."""
    return bool(_comparable(a) == _comparable(b))


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return value


def strength_record(
    *, user_id: Any, exercise_id: Any, rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The `strength_records` document of one (user, exercise) from all its summary rows, in
    plain Python (the rebuild's reference; the hooks seek each best row through an index)."""
    record: dict[str, Any] = {
        "_id": f"{user_id}:{exercise_id}",
        "user_id": user_id,
        "exercise_id": exercise_id,
    }
    for metric in STRENGTH_METRICS:
        best = min(rows, key=lambda row: _sort_key(metric, row)) if rows else None
        record[metric] = record_entry(metric, best)
    if all(record[metric] is None for metric in STRENGTH_METRICS):
        return None
    return record


def estimated_1rm(weight_kg: float, reps: int) -> float:
    """Epley's estimate, w x (1 + reps / 30); a single rep is the weight itself (what was lifted
    once is the one-rep max, not 3 % more)."""
    if reps == 1:
        return weight_kg
    return weight_kg * (1 + reps / 30)


def _rank(value: float | None) -> float:
    return -math.inf if value is None else value


def strength_summaries(workout: Workout) -> list[dict[str, Any]]:
    """The `strength_summaries` documents of a workout: one per exercise it has sets of."""
    by_exercise: dict[PydanticObjectId, dict[str, Any]] = {}
    for workout_set in workout.sets:
        row = by_exercise.setdefault(
            workout_set.exercise_id,
            {
                "_id": f"{workout.id}:{workout_set.exercise_id}",
                "user_id": workout.user_id,
                "workout_id": workout.id,
                "exercise_id": workout_set.exercise_id,
                "started_at": workout.started_at,
                "heaviest_kg": None,
                "heaviest_reps": None,
                "most_reps": None,
                "most_reps_kg": None,
                "best_1rm_kg": None,
                "best_1rm_weight_kg": None,
                "best_1rm_reps": None,
                "volume_kg": 0.0,
            },
        )
        weight, reps = workout_set.weight_kg, workout_set.reps
        # ties as the pipelines' sorts break them: a missing value ranks below any number
        if weight is not None and (
            row["heaviest_kg"] is None
            or (weight, _rank(reps)) > (row["heaviest_kg"], _rank(row["heaviest_reps"]))
        ):
            row["heaviest_kg"], row["heaviest_reps"] = weight, reps
        if reps is not None and (
            row["most_reps"] is None
            or (reps, _rank(weight)) > (row["most_reps"], _rank(row["most_reps_kg"]))
        ):
            row["most_reps"], row["most_reps_kg"] = reps, weight
        if weight is not None and reps is not None:
            row["volume_kg"] += weight * reps
            if weight > 0 and reps > 0:
                estimate = round(estimated_1rm(weight, reps), 2)
                if row["best_1rm_kg"] is None or estimate > row["best_1rm_kg"]:
                    row["best_1rm_kg"] = estimate
                    row["best_1rm_weight_kg"], row["best_1rm_reps"] = weight, reps
    for row in by_exercise.values():
        row["volume_kg"] = round(row["volume_kg"], 3)
    return list(by_exercise.values())


def strength_records_of(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `strength_records` documents of many summary rows at once (a bulk loader's: what the
    hooks would have left after recording those workouts one by one)."""
    by_exercise: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in summaries:
        key = (str(row["user_id"]), str(row["exercise_id"]))
        by_exercise.setdefault(key, []).append(row)
    records = (
        strength_record(user_id=rows[0]["user_id"], exercise_id=rows[0]["exercise_id"], rows=rows)
        for _, rows in sorted(by_exercise.items())
    )
    return [record for record in records if record is not None]

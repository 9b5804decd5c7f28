"""Recompute the records' derived rows from their sources, compare, repair the drift.

`best_efforts` from the runs' timed routes (one route in memory at a time),
`strength_summaries` from the workouts and `strength_records` from those summaries (held in
memory per (user, exercise) while the workouts are walked). `repair` writes only the
differences (replace by id, delete by id). Changes made while it runs can race with it: run it
in a quiet moment, then `verify` again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import DeleteOne, ReplaceOne

from documents import BestEffort, Run, RunRoute, StrengthRecord, StrengthSummary, Workout
from service.records import pipelines
from service.records.service import effort_rows

_BATCH = 1_000


@dataclass
class Drift:
    """Ids of derived rows per collection: missing (the source says so), changed, orphaned."""

    missing: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)
    orphaned: dict[str, list[str]] = field(default_factory=dict)
    # rows the sources call for, per collection
    expected: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(
            ids for part in (self.missing, self.changed, self.orphaned) for ids in part.values()
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for label, part in (
            ("missing", self.missing),
            ("changed", self.changed),
            ("orphaned", self.orphaned),
        ):
            for collection, ids in part.items():
                out[f"{collection} {label}"] = len(ids)
        return out


def _norm(value: Any) -> Any:
    """A value as compared: datetimes as naive UTC, floats to 6 decimals, dicts recursively."""
    if isinstance(value, dict):
        return {key: _norm(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, float):
        return round(value, 6)
    return value


def _same(stored: dict[str, Any], expected: dict[str, Any]) -> bool:
    # a strength record's write counter is bookkeeping, not data
    stored = {key: value for key, value in stored.items() if key != "version"}
    return bool(_norm(stored) == _norm(expected))


async def _expected_efforts() -> Any:
    """(run id, expected rows) for every run with a route, one route read at a time."""
    runs = (
        Run.get_motor_collection()
        .find({"has_route": True}, {"user_id": 1, "started_at": 1})
        .sort("_id", 1)
    )
    async for run in runs:
        route = await RunRoute.get_motor_collection().find_one(
            {"_id": run["_id"]}, {"geometry.coordinates": 1, "timestamps": 1, "distances": 1}
        )
        rows = (
            effort_rows(
                run_id=run["_id"],
                user_id=run["user_id"],
                started_at=run["started_at"],
                route=route,
            )
            if route is not None
            else []
        )
        yield run["_id"], rows


async def _compare(
    collection: Any, owner_field: str, expected: Any, name: str, drift: Drift, fixes: list[Any]
) -> None:
    missing = drift.missing.setdefault(name, [])
    changed = drift.changed.setdefault(name, [])
    orphaned = drift.orphaned.setdefault(name, [])
    drift.expected[name] = 0
    owners: set[Any] = set()
    async for owner, rows in expected:
        owners.add(owner)
        drift.expected[name] += len(rows)
        stored = {doc["_id"]: doc async for doc in collection.find({owner_field: owner})}
        for row in rows:
            doc = stored.pop(row["_id"], None)
            if doc is None:
                missing.append(row["_id"])
            elif not _same(doc, row):
                changed.append(row["_id"])
            else:
                continue
            fixes.append(ReplaceOne({"_id": row["_id"]}, row, upsert=True))
        for doc_id in stored:
            orphaned.append(doc_id)
            fixes.append(DeleteOne({"_id": doc_id}))
    # rows whose source is gone altogether (walked by id, in pages)
    async for doc in collection.find({}, {owner_field: 1}).sort("_id", 1):
        if doc[owner_field] not in owners:
            orphaned.append(doc["_id"])
            fixes.append(DeleteOne({"_id": doc["_id"]}))


async def _expected_summaries(by_exercise: dict[tuple[Any, Any], list[dict[str, Any]]]) -> Any:
    """(workout id, expected rows) for every workout; also collects the rows per (user,
    exercise) into `by_exercise` for the records."""
    async for raw in Workout.get_motor_collection().find({}).sort("_id", 1):
        workout = Workout.model_validate(raw)
        rows = pipelines.strength_summaries(workout)
        for row in rows:
            by_exercise[(row["user_id"], row["exercise_id"])].append(row)
        yield workout.id, rows


async def _expected_records(by_exercise: dict[tuple[Any, Any], list[dict[str, Any]]]) -> Any:
    for (user_id, exercise_id), rows in sorted(by_exercise.items(), key=lambda kv: str(kv[0])):
        record = pipelines.strength_record(user_id=user_id, exercise_id=exercise_id, rows=rows)
        yield f"{user_id}:{exercise_id}", [record] if record is not None else []


async def _run(*, write: bool) -> Drift:
    drift = Drift()
    by_exercise: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for collection, owner_field, expected, name in (
        (BestEffort.get_motor_collection(), "run_id", _expected_efforts(), "best_efforts"),
        (
            StrengthSummary.get_motor_collection(),
            "workout_id",
            _expected_summaries(by_exercise),
            "strength_summaries",
        ),
        # after the summaries: the records are folded from the rows they collected
        (StrengthRecord.get_motor_collection(), "_id", None, "strength_records"),
    ):
        if expected is None:
            expected = _expected_records(by_exercise)
        fixes: list[Any] = []
        await _compare(collection, owner_field, expected, name, drift, fixes)
        if write:
            for start in range(0, len(fixes), _BATCH):
                await collection.bulk_write(fixes[start : start + _BATCH], ordered=True)
    return drift


async def verify() -> Drift:
    """Compare the stored rows with what the runs' routes and the workouts say."""
    return await _run(write=False)


async def repair() -> Drift:
    """Like verify, then write the differences; returns what differed."""
    return await _run(write=True)

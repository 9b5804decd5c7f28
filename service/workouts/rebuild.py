"""Recompute what each workout stores beside its sets (`sets_count`, `exercises_count`,
`volume_kg`, `day`), or only report the workouts where it drifted.

Written with the sets in the same write, these never drift through the API; a hand edit, a bulk
load or an older version of the formulas can still leave them wrong. Used by
`python -m scripts.rebuild_workouts [--verify]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne

from documents import Workout
from documents.workout import WorkoutSet
from service.bulk import BulkWrites
from service.leaderboards.buckets import day_of
from service.workouts.service import derived

BATCH = 1000
_FIELDS = ("started_at", "day", "sets", "sets_count", "exercises_count", "volume_kg")


@dataclass
class Drift:
    checked: int = 0
    changed: list[ObjectId] = field(default_factory=list)  # ids of workouts that drifted

    @property
    def clean(self) -> bool:
        return not self.changed


def expected(doc: dict[str, Any]) -> dict[str, Any]:
    """The derived fields a stored workout should carry."""
    sets = [WorkoutSet.model_validate(s) for s in doc.get("sets") or []]
    return {**derived(sets), "day": day_of(doc["started_at"])}


async def _scan(*, repair: bool) -> Drift:
    collection = Workout.get_motor_collection()
    drift = Drift()
    fixes = BulkWrites(collection, BATCH)
    cursor = collection.find({}, dict.fromkeys(_FIELDS, 1)).sort("_id", 1).batch_size(BATCH)
    async for doc in cursor:
        drift.checked += 1
        diff = {k: v for k, v in expected(doc).items() if doc.get(k) != v}
        if not diff:
            continue
        drift.changed.append(doc["_id"])
        if repair:
            # only if the sets are still those read: an edit meanwhile wrote fresh totals
            guard = {"_id": doc["_id"], "sets": doc.get("sets")}
            await fixes.add(UpdateOne(guard, {"$set": diff}))
    await fixes.flush()
    return drift


async def verify() -> Drift:
    """The workouts whose stored totals differ from their sets (nothing written)."""
    return await _scan(repair=False)


async def repair() -> Drift:
    """Rewrite the drifted totals; returns what drifted."""
    return await _scan(repair=True)

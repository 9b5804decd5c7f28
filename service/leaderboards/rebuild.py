"""Recompute every score bucket from the runs, compare with the stored ones, repair the drift.

Day buckets come from the `rebuild_buckets` pipelines over `runs`; month rollups are their sums.
`repair` writes only the differences (inserts, `$set`s by id, deletes by id, in batches), so the
boards never go empty while it runs. Run changes made *while* it runs can race with it: run it in a
quiet moment, then `verify` again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo import UpdateOne

from documents import Run, ScoreBucket
from service.leaderboards import pipelines
from service.leaderboards.buckets import ENTITIES, day_of, month_kind, month_of

Key = tuple[str, PydanticObjectId, PydanticObjectId | None, datetime]
TOTALS = ("score", "distance_m", "runs")


@dataclass(frozen=True)
class Totals:
    score: int
    distance_m: int
    runs: int

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.score + other.score, self.distance_m + other.distance_m, self.runs + other.runs
        )


@dataclass(frozen=True)
class Difference:
    key: Key
    stored: Totals | None  # None: the bucket is missing
    expected: Totals | None  # None: no run backs the bucket

    def describe(self) -> str:
        kind, entity_id, city_id, day = self.key
        where = f"{kind} {entity_id}" + (f" city {city_id}" if city_id else "")
        return f"{where} {day.date().isoformat()}: stored {self.stored}, runs say {self.expected}"


@dataclass
class Drift:
    expected: int = 0  # buckets the runs call for
    stored: int = 0  # buckets found
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences

    def counts(self) -> dict[str, int]:
        missing = sum(d.stored is None for d in self.differences)
        stale = sum(d.expected is None for d in self.differences)
        return {
            "expected": self.expected,
            "stored": self.stored,
            "missing": missing,
            "stale": stale,
            "changed": len(self.differences) - missing - stale,
        }


def _key(kind: str, entity_id: Any, city_id: Any, day: datetime) -> Key:
    return (kind, entity_id, city_id, day_of(day))


async def expected_buckets() -> dict[Key, Totals]:
    """Every bucket the runs call for: day buckets by pipeline, month rollups summed from them."""
    runs = Run.get_motor_collection()
    expected: dict[Key, Totals] = {}
    for entity in ENTITIES:
        months: dict[Key, Totals] = {}
        async for row in runs.aggregate(pipelines.rebuild_buckets(entity)):
            group = row["_id"]
            totals = Totals(int(row["score"]), int(row["distance_m"]), int(row["runs"]))
            key = _key(entity, group["entity_id"], group.get("city_id"), group["day"])
            expected[key] = totals
            month = (month_kind(entity), key[1], key[2], month_of(key[3]))
            months[month] = months[month] + totals if month in months else totals
        expected.update(months)
    return expected


async def stored_buckets() -> dict[Key, tuple[Any, Totals]]:
    """Every stored bucket: key → (its _id, its totals)."""
    stored: dict[Key, tuple[Any, Totals]] = {}
    cursor = ScoreBucket.get_motor_collection().find({})
    async for doc in cursor:
        key = _key(doc["kind"], doc["entity_id"], doc.get("city_id"), doc["day"])
        totals = Totals(*(int(doc.get(name, 0)) for name in TOTALS))
        stored[key] = (doc["_id"], totals)
    return stored


async def _compare() -> tuple[Drift, dict[Key, tuple[Any, Totals]]]:
    expected = await expected_buckets()
    stored = await stored_buckets()
    drift = Drift(expected=len(expected), stored=len(stored))
    for key in sorted(expected.keys() | stored.keys(), key=_sort_key):
        want = expected.get(key)
        have = stored[key][1] if key in stored else None
        if want != have:
            drift.differences.append(Difference(key, have, want))
    return drift, stored


async def verify() -> Drift:
    """Compare the stored buckets with what the runs say; nothing is written."""
    drift, _ = await _compare()
    return drift


async def repair(*, batch_size: int = 1000) -> Drift:
    """Make the stored buckets equal to what the runs say; returns the drift it repaired."""
    drift, stored = await _compare()
    stale: list[Any] = []
    updates: list[UpdateOne] = []
    inserts: list[dict[str, Any]] = []
    for difference in drift.differences:
        if difference.expected is None:
            stale.append(stored[difference.key][0])
            continue
        totals = vars(difference.expected)
        if difference.stored is None:
            kind, entity_id, city_id, day = difference.key
            bucket = {"kind": kind, "entity_id": entity_id, "city_id": city_id, "day": day}
            inserts.append({**bucket, **totals})
        else:
            updates.append(UpdateOne({"_id": stored[difference.key][0]}, {"$set": totals}))
    collection = ScoreBucket.get_motor_collection()
    for i in range(0, len(stale), batch_size):
        await collection.delete_many({"_id": {"$in": stale[i : i + batch_size]}})
    for i in range(0, len(updates), batch_size):
        await collection.bulk_write(updates[i : i + batch_size], ordered=False)
    for i in range(0, len(inserts), batch_size):
        await collection.insert_many(inserts[i : i + batch_size], ordered=False)
    return drift


def _sort_key(key: Key) -> tuple[str, str, str, datetime]:
    kind, entity_id, city_id, day = key
    return (kind, str(entity_id), str(city_id or ""), day)

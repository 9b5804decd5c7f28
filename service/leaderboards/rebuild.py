"""Recompute every score bucket from the runs, compare with the stored ones, repair the drift.

One pipeline pass over `runs` gives totals per (team, user, city, day); every day bucket and
month rollup is a sum of those rows.
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
from service.leaderboards.buckets import bucket_id, day_of, keys_for

# (kind, entity_id, team_id, city_id, day)
Key = tuple[str, PydanticObjectId, PydanticObjectId | None, PydanticObjectId | None, datetime]
TOTALS = ("score", "distance_m", "runs")


@dataclass(frozen=True)
class Totals:
    score: int
    distance_m: int
    runs: int

    def __str__(self) -> str:
        return f"{self.score} pts, {self.distance_m} m, {self.runs} runs"

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.score + other.score, self.distance_m + other.distance_m, self.runs + other.runs
        )


@dataclass(frozen=True)
class Difference:
    key: Key
    stored: Totals | None  # None: the bucket is missing
    expected: Totals | None  # None: no run backs the bucket
    # stored under an _id that is not its natural key: stale even when the runs back its key
    # (the bucket with the natural _id, if any, is compared on its own)
    misplaced: bool = False

    def describe(self) -> str:
        kind, entity_id, team_id, city_id, day = self.key
        where = f"{kind} {entity_id}" + (f" team {team_id}" if team_id else "")
        where += f" city {city_id}" if city_id else ""
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


def _key(kind: str, entity_id: Any, team_id: Any, city_id: Any, day: datetime) -> Key:
    return (kind, entity_id, team_id, city_id, day_of(day))


async def expected_buckets() -> dict[Key, Totals]:
    """Every bucket the runs call for, from one pipeline pass over the runs.

    Each (team, user, city, day) row adds to every bucket `buckets.keys_for` names for it:
    the same keys `buckets.apply` moves for a run.
    """
    expected: dict[Key, Totals] = {}
    async for row in Run.get_motor_collection().aggregate(pipelines.rebuild_buckets()):
        group = row["_id"]
        totals = Totals(int(row["score"]), int(row["distance_m"]), int(row["runs"]))
        for bucket in keys_for(
            team_id=group["team_id"],
            user_id=group["user_id"],
            city_id=group.get("city_id"),
            day=group["day"],
        ):
            key = _key(**bucket)
            expected[key] = expected[key] + totals if key in expected else totals
    return expected


async def stored_buckets() -> tuple[dict[Key, tuple[Any, Totals]], list[tuple[Key, Any, Totals]]]:
    """Every stored bucket: key → (its _id, its totals), and the misplaced ones.

    A bucket is misplaced when its _id is not its natural key (`buckets.bucket_id`), e.g. one
    written by hand: `apply` would never find it, so it is always stale.
    """
    stored: dict[Key, tuple[Any, Totals]] = {}
    misplaced: list[tuple[Key, Any, Totals]] = []
    cursor = ScoreBucket.get_motor_collection().find({})
    async for doc in cursor:
        key = _key(
            doc["kind"], doc["entity_id"], doc.get("team_id"), doc.get("city_id"), doc["day"]
        )
        totals = Totals(*(int(doc.get(name, 0)) for name in TOTALS))
        if doc["_id"] == bucket_id(*key):
            stored[key] = (doc["_id"], totals)
        else:
            misplaced.append((key, doc["_id"], totals))
    return stored, misplaced


async def _compare() -> tuple[Drift, dict[Key, tuple[Any, Totals]], list[Any]]:
    """The drift, the well-placed stored buckets and the ids of misplaced ones."""
    expected = await expected_buckets()
    stored, misplaced = await stored_buckets()
    drift = Drift(expected=len(expected), stored=len(stored) + len(misplaced))
    for key in sorted(expected.keys() | stored.keys(), key=_sort_key):
        want = expected.get(key)
        have = stored[key][1] if key in stored else None
        if want != have:
            drift.differences.append(Difference(key, have, want))
    for key, _, totals in sorted(misplaced, key=lambda row: _sort_key(row[0])):
        drift.differences.append(Difference(key, totals, None, misplaced=True))
    return drift, stored, [bucket for _, bucket, _ in misplaced]


async def verify() -> Drift:
    """Compare the stored buckets with what the runs say; nothing is written."""
    drift, _, _ = await _compare()
    return drift


async def repair(*, batch_size: int = 1000, insert_batch_size: int = 10_000) -> Drift:
    """Make the stored buckets equal to what the runs say; returns the drift it repaired."""
    drift, stored, stale = await _compare()
    updates: list[UpdateOne] = []
    inserts: list[dict[str, Any]] = []
    for difference in drift.differences:
        if difference.misplaced:
            continue  # its id is in `stale` already; never touch the natural bucket of its key
        if difference.expected is None:
            if difference.key in stored:
                stale.append(stored[difference.key][0])
            continue
        totals = vars(difference.expected)
        if difference.stored is None:
            kind, entity_id, team_id, city_id, day = difference.key
            bucket = {
                "_id": bucket_id(*difference.key),
                "kind": kind,
                "entity_id": entity_id,
                "team_id": team_id,
                "city_id": city_id,
                "day": day,
            }
            inserts.append({**bucket, **totals})
        else:
            updates.append(UpdateOne({"_id": stored[difference.key][0]}, {"$set": totals}))
    collection = ScoreBucket.get_motor_collection()
    for i in range(0, len(stale), batch_size):
        await collection.delete_many({"_id": {"$in": stale[i : i + batch_size]}})
    for i in range(0, len(updates), batch_size):
        await collection.bulk_write(updates[i : i + batch_size], ordered=False)
    for i in range(0, len(inserts), insert_batch_size):
        await collection.insert_many(inserts[i : i + insert_batch_size], ordered=False)
    return drift


def _sort_key(key: Key) -> tuple[str, str, str, str, datetime]:
    kind, entity_id, team_id, city_id, day = key
    return (kind, str(entity_id), str(team_id or ""), str(city_id or ""), day)

"""Recompute every score bucket and board total from the runs, compare, repair the drift.

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

from documents import BoardTotal, Run, ScoreBucket
from service.leaderboards import pipelines
from service.leaderboards import totals as board_totals
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
class TotalsDrift:
    """Board totals (`board_totals`) against what the runs and the entities' names say."""

    expected: int = 0  # rows the runs call for
    stored: int = 0  # rows found
    missing: list[dict[str, Any]] = field(default_factory=list)  # full rows to insert
    stale: list[Any] = field(default_factory=list)  # ids of rows no run backs
    changed: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (id, right fields)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.changed)

    def counts(self) -> dict[str, int]:
        return {
            "expected": self.expected,
            "stored": self.stored,
            "missing": len(self.missing),
            "stale": len(self.stale),
            "changed": len(self.changed),
        }

    def describe(self, show: int) -> list[str]:
        lines = [f"missing {row['_id']}: {_totals_of(row)}" for row in self.missing]
        lines += [f"stale {_id}" for _id in self.stale]
        lines += [f"changed {_id}: should be {fields}" for _id, fields in self.changed]
        return lines[:show]


@dataclass
class Drift:
    expected: int = 0  # buckets the runs call for
    stored: int = 0  # buckets found
    differences: list[Difference] = field(default_factory=list)
    totals: TotalsDrift = field(default_factory=TotalsDrift)

    @property
    def clean(self) -> bool:
        return not self.differences and self.totals.clean

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


async def grains() -> list[tuple[board_totals.Grain, Totals]]:
    """Run totals per (team, user, city, day), from one pipeline pass over the runs."""
    rows = []
    async for row in Run.get_motor_collection().aggregate(pipelines.rebuild_buckets()):
        group = row["_id"]
        grain = (group["team_id"], group["user_id"], group.get("city_id"), day_of(group["day"]))
        rows.append((grain, Totals(int(row["score"]), int(row["distance_m"]), int(row["runs"]))))
    return rows


async def expected_buckets(
    rows: list[tuple[board_totals.Grain, Totals]] | None = None,
) -> dict[Key, Totals]:
    """Every bucket the runs call for.

    Each (team, user, city, day) row adds to every bucket `buckets.keys_for` names for it:
    the same keys `buckets.apply` moves for a run.
    """
    expected: dict[Key, Totals] = {}
    for (team_id, user_id, city_id, day), totals in rows if rows is not None else await grains():
        for bucket in keys_for(team_id=team_id, user_id=user_id, city_id=city_id, day=day):
            key = _key(**bucket)
            expected[key] = expected[key] + totals if key in expected else totals
    return expected


TOTAL_ROW_FIELDS = (
    "board",
    "kind",
    "period",
    "start",
    "scope_id",
    "entity_id",
    "sort_name",
    "team_kind",
    "team_city_id",
    *TOTALS,
)


def _totals_of(row: dict[str, Any]) -> str:
    return str(Totals(*(int(row.get(name, 0)) for name in TOTALS)))


async def expected_totals(
    rows: list[tuple[board_totals.Grain, Totals]],
) -> dict[Any, dict[str, Any]]:
    """Every `board_totals` row the runs call for (of entities that exist), by id."""
    labels = await board_totals.Labels.load_all()
    planned = board_totals.moves((grain, vars(totals)) for grain, totals in rows)
    expected: dict[Any, dict[str, Any]] = {}
    for _id, (key, inc) in planned.items():
        fields = labels.insert_fields(key)
        if fields is not None:
            expected[_id] = {"team_kind": None, "team_city_id": None, **fields, **inc}
    return expected


async def compare_totals(rows: list[tuple[board_totals.Grain, Totals]]) -> TotalsDrift:
    expected = await expected_totals(rows)
    drift = TotalsDrift(expected=len(expected))
    seen = set()
    async for doc in BoardTotal.get_motor_collection().find({}):
        drift.stored += 1
        want = expected.get(doc["_id"])
        if want is None:
            drift.stale.append(doc["_id"])
            continue
        seen.add(doc["_id"])
        wrong = {name: want[name] for name in TOTAL_ROW_FIELDS if doc.get(name) != want[name]}
        if wrong:
            drift.changed.append((doc["_id"], wrong))
    drift.missing = [row for _id, row in sorted(expected.items()) if _id not in seen]
    drift.changed.sort(key=lambda change: change[0])
    drift.stale.sort()
    return drift


async def repair_totals(drift: TotalsDrift, *, batch_size: int = 1000) -> None:
    collection = BoardTotal.get_motor_collection()
    for i in range(0, len(drift.stale), batch_size):
        await collection.delete_many({"_id": {"$in": drift.stale[i : i + batch_size]}})
    updates = [UpdateOne({"_id": _id}, {"$set": fields}) for _id, fields in drift.changed]
    for i in range(0, len(updates), batch_size):
        await collection.bulk_write(updates[i : i + batch_size], ordered=False)
    for i in range(0, len(drift.missing), batch_size * 10):
        await collection.insert_many(drift.missing[i : i + batch_size * 10], ordered=False)


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
    rows = await grains()
    expected = await expected_buckets(rows)
    stored, misplaced = await stored_buckets()
    drift = Drift(expected=len(expected), stored=len(stored) + len(misplaced))
    drift.totals = await compare_totals(rows)
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
    await repair_totals(drift.totals, batch_size=batch_size)
    return drift


def _sort_key(key: Key) -> tuple[str, str, str, str, datetime]:
    kind, entity_id, team_id, city_id, day = key
    return (kind, str(entity_id), str(team_id or ""), str(city_id or ""), day)

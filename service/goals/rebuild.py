"""Recompute the weekly goals' state from runs and workouts, or only report what differs.

- `goal_weeks`: every user's per-week totals, summed from the runs and workouts (read in
  batches by `_id`); wrong or missing weeks are rewritten (their `rev` moves on, so a
  settlement running meanwhile decides again), weeks no activity supports are removed.
- goal XP entries of the current week: credited exactly when the goal in force is met (the
  week is still live). Past weeks are frozen: an entry there is only checked to belong to a
  goal then in force (else it is an orphan), unless `all_weeks` (the demo's first derivation,
  or an operator's choice): then every week of every goal is settled from the activities.
Entries move through the ledger (`set_entry`/`remove_entry`), so `users.xp` follows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import DeleteOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from documents import Goal, Run, WeekTotals, Workout, XpEntry
from documents.clock import as_stored, utcnow
from service.goals import service as goals
from service.xp import ledger
from service.xp.formulas import FORMULA_VERSION
from service.xp.rebuild import _batches


@dataclass
class GoalDrift:
    weeks_missing: int = 0  # a week with activities but no totals
    weeks_wrong: int = 0  # totals that differ from the activities
    weeks_extra: int = 0  # totals no activity supports
    xp_missing: int = 0  # a goal met (in a live week) without its entry
    xp_wrong: int = 0  # an entry of another amount than GOAL_XP
    xp_orphans: int = 0  # an entry of a goal not met (live week) or not in force
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any(self.counts().values())

    def note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)

    def counts(self) -> dict[str, int]:
        return {
            "weeks_missing": self.weeks_missing,
            "weeks_wrong": self.weeks_wrong,
            "weeks_extra": self.weeks_extra,
            "xp_missing": self.xp_missing,
            "xp_wrong": self.xp_wrong,
            "xp_orphans": self.xp_orphans,
        }


def _zero(row: dict[str, Any]) -> bool:
    return not any(row.get(f, 0) for f in goals.FIELDS)


async def expected_weeks(users: list[Any] | None) -> dict[str, dict[str, Any]]:
    """Every (user, week)'s totals summed from the runs and workouts (pure reads: one
    streaming cursor per collection, users filtered here: an `$in` of hundreds of ids per
    document costs the embedded store more than reading them all)."""
    expected: dict[str, dict[str, Any]] = {}
    wanted = set(users) if users is not None else None
    sources = (
        (Run, {"user_id": 1, "started_at": 1, "distance_km": 1, "duration_s": 1, "score": 1}),
        (Workout, {"user_id": 1, "started_at": 1, "duration_s": 1}),
    )
    for document, projection in sources:
        amounts = goals.run_amounts if document is Run else goals.workout_amounts
        async for row in document.get_motor_collection().find({}, projection):
            if wanted is not None and row["user_id"] not in wanted:
                continue
            week = goals.week_of(row["started_at"])
            key = goals.week_id(row["user_id"], week)
            totals = expected.get(key)
            if totals is None:
                totals = expected[key] = {
                    "user_id": row["user_id"],
                    "week": week,
                    **dict.fromkeys(goals.FIELDS, 0),
                }
            for name, value in amounts(row).items():
                totals[name] += value
    return expected


async def _weeks(
    drift: GoalDrift, expected: dict[str, dict[str, Any]], users: list[Any] | None, repair: bool
) -> None:
    weeks = WeekTotals.get_motor_collection()
    query = {"user_id": {"$in": users}} if users is not None else None
    seen: set[str] = set()
    writes: list[Any] = []
    async for rows in _batches(weeks, {f: 1 for f in goals.FIELDS}, query):
        for row in rows:
            seen.add(row["_id"])
            want = expected.get(row["_id"])
            if want is None:
                if not _zero(row):
                    drift.weeks_extra += 1
                    drift.note(f"week {row['_id']}: totals without activities")
                    writes.append(DeleteOne({"_id": row["_id"]}))
            elif any(row.get(f, 0) != want[f] for f in goals.FIELDS):
                drift.weeks_wrong += 1
                drift.note(
                    f"week {row['_id']}: stored {[row.get(f, 0) for f in goals.FIELDS]}, "
                    f"activities say {[want[f] for f in goals.FIELDS]}"
                )
                writes.append(_write(row["_id"], want))
    missing = []
    for key, want in expected.items():
        if key not in seen and not _zero(want):
            drift.weeks_missing += 1
            drift.note(f"week {key}: missing")
            missing.append({"_id": key, **want, "rev": 1})
    if not repair:
        return
    # missing weeks are inserted (an upsert costs the embedded store a scan each); one created
    # by a hook meanwhile is corrected by an upsert instead
    for start in range(0, len(missing), 1000):
        chunk = missing[start : start + 1000]
        try:
            await weeks.insert_many(chunk, ordered=False)
        except BulkWriteError as error:
            failed = {e["index"] for e in error.details.get("writeErrors", [])}
            writes += [_write(chunk[i]["_id"], chunk[i]) for i in sorted(failed)]
    for start in range(0, len(writes), 1000):
        await weeks.bulk_write(writes[start : start + 1000], ordered=False)


def _write(key: str, want: dict[str, Any]) -> UpdateOne:
    return UpdateOne(
        {"_id": key},
        {
            "$set": {f: want[f] for f in goals.FIELDS},
            "$setOnInsert": {"user_id": want["user_id"], "week": want["week"]},
            "$inc": {"rev": 1},
        },
        upsert=True,
    )


async def _versions(users: list[Any] | None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    query = {"user_id": {"$in": users}} if users is not None else None
    projection = {"user_id": 1, "metric": 1, "target": 1, "from_week": 1, "until": 1}
    async for rows in _batches(Goal.get_motor_collection(), projection, query):
        for row in rows:
            found.setdefault((str(row["user_id"]), row["metric"]), []).append(row)
    return found


def _in_force(versions: list[dict[str, Any]], week: datetime) -> dict[str, Any] | None:
    for v in versions:
        if as_stored(v["from_week"]) <= week < as_stored(v["until"]):
            return v
    return None


async def _xp(
    drift: GoalDrift,
    expected: dict[str, dict[str, Any]],
    users: list[Any] | None,
    *,
    repair: bool,
    all_weeks: bool,
    via_ledger: bool = True,
) -> None:
    this_week = goals.week_of(utcnow())
    amount = goals.goal_xp()
    versions = await _versions(users)
    # the entries that should exist: (key -> (user_id, metric, week))
    wanted: dict[str, tuple[Any, str, datetime]] = {}
    for (_, metric), rows in versions.items():
        for v in rows:
            start = as_stored(v["from_week"])
            end = min(as_stored(v["until"]), this_week + goals.WEEK)
            week = start if all_weeks else max(start, this_week)
            while week < end:
                totals = expected.get(goals.week_id(v["user_id"], week))
                if goals.value_of(metric, totals) >= float(v["target"]) and amount > 0:
                    wanted[goals.xp_key(v["user_id"], metric, week)] = (v["user_id"], metric, week)
                week += goals.WEEK
    users_set = {str(u) for u in users} if users is not None else None
    entries = XpEntry.get_motor_collection()
    seen: set[str] = set()
    removals: list[str] = []
    async for rows in _batches(entries, {"user_id": 1, "amount": 1}, {"kind": "goal"}):
        for row in rows:
            if users_set is not None and str(row["user_id"]) not in users_set:
                continue
            key = row["_id"]
            seen.add(key)
            _, user, metric, day = key.split(":")
            week = goals.week_of(datetime.fromisoformat(day))
            if key in wanted:
                if row["amount"] != amount:
                    drift.xp_wrong += 1
                    drift.note(f"{key}: {row['amount']} XP, GOAL_XP is {amount}")
                    if repair:
                        user_id, metric, week = wanted[key]
                        await _credit(user_id, metric, week, amount)
                continue
            live = all_weeks or week >= this_week
            if live or _in_force(versions.get((user, metric), []), week) is None:
                drift.xp_orphans += 1
                drift.note(f"{key}: {'not met' if live else 'no goal in force that week'}")
                removals.append(key)
    bulk: list[Any] = []
    for key, (user_id, metric, week) in wanted.items():
        if key not in seen:
            drift.xp_missing += 1
            drift.note(f"{key}: goal met, no XP entry")
            if repair and via_ledger:
                await _credit(user_id, metric, week, amount)
            elif repair:
                bulk.append(_entry(user_id, metric, week, amount))
    for i in range(0, len(bulk), 1000):
        await entries.bulk_write(bulk[i : i + 1000], ordered=False)
    if repair:
        for key in removals:
            await ledger.remove_entry(key)


def _entry(user_id: Any, metric: str, week: datetime, amount: int) -> ReplaceOne:
    now = utcnow()
    key = goals.xp_key(user_id, metric, week)
    return ReplaceOne(
        {"_id": key},
        {
            "user_id": user_id,
            "kind": "goal",
            "source_id": goals.version_id(user_id, metric, week),
            "amount": amount,
            "at": min(now, week + goals.WEEK - timedelta(milliseconds=1)),
            "formula_version": FORMULA_VERSION,
            "created_at": now,
            "updated_at": now,
        },
        upsert=True,
    )


async def _credit(user_id: Any, metric: str, week: datetime, amount: int) -> None:
    now = utcnow()
    await ledger.set_entry(
        user_id=user_id,
        kind="goal",
        key=goals.xp_key(user_id, metric, week),
        source_id=goals.version_id(user_id, metric, week),
        amount=amount,
        at=min(now, week + goals.WEEK - timedelta(milliseconds=1)),
    )


async def rebuild(
    *,
    repair: bool,
    all_weeks: bool = False,
    user_ids: Collection[Any] | None = None,
    expected: dict[str, dict[str, Any]] | None = None,
    via_ledger: bool = True,
) -> GoalDrift:
    """Compare (and with `repair`, fix) week totals and goal XP against the activities;
    `user_ids` limits it to those users (the demo's), `expected` reuses their week totals
    (`expected_weeks`). `via_ledger=False` writes missing entries in bulk and leaves users'
    `xp` to the XP rebuild that must follow (the demo: no hooks, no per-entry writes)."""
    users = list(user_ids) if user_ids is not None else None
    drift = GoalDrift()
    expected = expected if expected is not None else await expected_weeks(users)
    await _weeks(drift, expected, users, repair)
    await _xp(drift, expected, users, repair=repair, all_weeks=all_weeks, via_ledger=via_ledger)
    return drift

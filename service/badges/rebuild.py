"""Rebuild (or only verify) the badges' derived state from the sources.

- `activity_totals` recomputed from the runs and workouts, `challenges_completed` from the
  challenge participations completed now;
- every badge a user meets but lacks is awarded (never revoked: earned badges stay earned);
- every award has its ledger entry "badge:<user>:<badge>" worth the badge's `xp_reward`, and no
  badge entry exists without its award.

Users are read in keyset batches of BATCH by `_id`; the badge entries as one `_id` range of the
ledger ("badge:" prefix), also in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beanie import PydanticObjectId
from pymongo import UpdateOne

from documents import ActivityTotals, Run, User, UserBadge, Workout, XpEntry
from service.badges import service as badges
from service.xp import ledger

BATCH = 500
TOTAL_FIELDS = (
    "runs",
    "run_distance_km",
    "run_duration_s",
    "score",
    "workouts",
    "workout_duration_s",
)


@dataclass
class BadgeDrift:
    totals: int = 0  # users whose activity_totals differ from their activities
    awards: int = 0  # badges met but not awarded
    entries: int = 0  # awards whose XP entry is missing or wrong
    orphans: int = 0  # badge XP entries without their award
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.totals or self.awards or self.entries or self.orphans)

    def counts(self) -> dict[str, int]:
        return {
            "totals": self.totals,
            "awards": self.awards,
            "entries": self.entries,
            "orphans": self.orphans,
        }

    def note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)


def _close(a: Any, b: Any) -> bool:
    return abs(float(a or 0) - float(b or 0)) < 1e-6


async def _expected_totals(ids: list[PydanticObjectId]) -> dict[Any, dict[str, Any]]:
    expected: dict[Any, dict[str, Any]] = {
        i: dict.fromkeys((*TOTAL_FIELDS, "challenges_completed"), 0) for i in ids
    }
    runs: list[dict[str, Any]] = [
        {"$match": {"user_id": {"$in": ids}}},
        {"$project": {"_id": 0, "user_id": 1, "distance_km": 1, "duration_s": 1, "score": 1}},
        {
            "$group": {
                "_id": "$user_id",
                "runs": {"$sum": 1},
                "run_distance_km": {"$sum": "$distance_km"},
                "run_duration_s": {"$sum": "$duration_s"},
                "score": {"$sum": "$score"},
            }
        },
        {"$sort": {"_id": 1}},
    ]
    async for row in Run.get_motor_collection().aggregate(runs):
        expected[row["_id"]].update({k: v for k, v in row.items() if k != "_id"})
    workouts: list[dict[str, Any]] = [
        {"$match": {"user_id": {"$in": ids}}},
        {"$project": {"_id": 0, "user_id": 1, "duration_s": 1}},
        {
            "$group": {
                "_id": "$user_id",
                "workouts": {"$sum": 1},
                "workout_duration_s": {"$sum": "$duration_s"},
            }
        },
        {"$sort": {"_id": 1}},
    ]
    async for row in Workout.get_motor_collection().aggregate(workouts):
        expected[row["_id"]].update({k: v for k, v in row.items() if k != "_id"})
    # completions held now (service.challenges' participants; by name: that feature owns it)
    participants = User.get_motor_collection().database["challenge_participants"]
    completed: list[dict[str, Any]] = [
        {"$match": {"user_id": {"$in": ids}, "completed_at": {"$ne": None}}},
        {"$project": {"_id": 0, "user_id": 1}},
        {"$group": {"_id": "$user_id", "challenges_completed": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
    ]
    async for row in participants.aggregate(completed):
        expected[row["_id"]]["challenges_completed"] = row["challenges_completed"]
    return expected


async def _totals(
    ids: list[PydanticObjectId], drift: BadgeDrift, repair: bool
) -> dict[Any, dict[str, Any]]:
    """Compare (and repair) the batch's totals; returns them as recomputed."""
    expected = await _expected_totals(ids)
    stored = {
        doc["_id"]: doc
        async for doc in ActivityTotals.get_motor_collection().find({"_id": {"$in": ids}})
    }
    fixes = []
    for user_id, want in expected.items():
        have = stored.get(user_id, {})
        empty = not any(want.values())
        if (empty and not have) or all(_close(have.get(k), v) for k, v in want.items()):
            continue
        drift.totals += 1
        drift.note(f"activity_totals {user_id}: {have or None} != {want}")
        fixes.append(UpdateOne({"_id": user_id}, {"$set": want}, upsert=True))
    if repair and fixes:
        await ActivityTotals.get_motor_collection().bulk_write(fixes, ordered=False)
    return expected


async def _entries(drift: BadgeDrift, repair: bool) -> None:
    """Each award's XP entry, and no badge entry without its award."""
    rewards = {b["_id"]: int(b.get("xp_reward", 0)) for b in await badges.catalogue()}
    awards = UserBadge.get_motor_collection()
    entries = XpEntry.get_motor_collection()
    last = None
    while True:  # awards -> entries
        criteria: dict[str, Any] = {} if last is None else {"_id": {"$gt": last}}
        rows = await awards.find(criteria).sort("_id", 1).limit(BATCH).to_list(None)
        if not rows:
            break
        last = rows[-1]["_id"]
        keys = [ledger.entry_id("badge", r["user_id"], r["badge_id"]) for r in rows]
        # entry ids are "badge:" + the award id: the batch's entries are one _id range
        span = {"_id": {"$gte": keys[0], "$lte": keys[-1]}}
        have = {doc["_id"]: int(doc["amount"]) async for doc in entries.find(span, {"amount": 1})}
        for row, key in zip(rows, keys, strict=True):
            want = rewards.get(row["badge_id"], 0)
            if have.get(key, 0) == want:
                continue
            drift.entries += 1
            drift.note(f"xp entry {key}: {have.get(key)} != {want}")
            if repair:
                await ledger.set_entry(
                    user_id=row["user_id"],
                    kind="badge",
                    key=key,
                    source_id=str(row["badge_id"]),
                    amount=want,
                    at=row["earned_at"],
                )
    last_key = "badge:"
    while True:  # entries -> awards (the "badge:" range of the ledger's _id)
        rows = (
            await entries.find({"_id": {"$gt": last_key, "$lt": "badge;"}}, {"_id": 1})
            .sort("_id", 1)
            .limit(BATCH)
            .to_list(None)
        )
        if not rows:
            return
        last_key = rows[-1]["_id"]
        ids = [row["_id"].split(":", 1)[1] for row in rows]  # "<user>:<badge>"
        span = {"_id": {"$gte": ids[0], "$lte": ids[-1]}}
        present = {doc["_id"] async for doc in awards.find(span, {"_id": 1})}
        for row, award_id in zip(rows, ids, strict=True):
            if award_id in present:
                continue
            drift.orphans += 1
            drift.note(f"xp entry {row['_id']} without its award")
            if repair:
                await ledger.remove_entry(row["_id"])


async def rebuild(*, repair: bool = True, entries: bool = True) -> BadgeDrift:
    """Recompute totals and award missing badges (repair), or only count the drift
    (repair=False); then check the awards' XP entries (`entries=False`: not, e.g. the demo,
    whose awards were all just made with theirs)."""
    drift = BadgeDrift()
    catalogue = await badges.catalogue()
    users = User.get_motor_collection()
    last = None
    while True:
        criteria: dict[str, Any] = {} if last is None else {"_id": {"$gt": last}}
        ids = [
            doc["_id"] async for doc in users.find(criteria, {"_id": 1}).sort("_id", 1).limit(BATCH)
        ]
        if not ids:
            break
        last = ids[-1]
        totals = await _totals(ids, drift, repair)
        drift.awards += await badges.award_met(ids, catalogue, dry=not repair, totals=totals)
    if entries:
        await _entries(drift, repair)
    return drift

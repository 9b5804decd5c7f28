"""Recompute challenge state from the activities, or report how far the stored state drifted.

For each challenge (open ones; ended ones too with `include_ended`, since results freeze at
the end and later edits are not meant to move them): the city/global challenges enrol every
runner with a run credited to them in the window; every participant's contributions are
recomputed from their activities in the window (`expected_contributions`, the same rules as the
hooks), then progress, team/city totals, the collective total, completion and its XP entry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pymongo import DeleteOne, UpdateOne

from documents import ActivityTotals, Run, Workout, XpEntry
from documents.challenge import (
    Challenge,
    ChallengeContribution,
    ChallengeGroup,
    ChallengeParticipant,
)
from documents.clock import utcnow
from service.challenges import service as challenges
from service.challenges.service import RUN_METRICS, WORKOUT_METRICS, participant_id
from service.xp import ledger

EPS = 1e-6
BATCH = 200


@dataclass
class Drift:
    challenges: int = 0
    participants: int = 0
    enrolled: int = 0
    contributions: int = 0
    progress: int = 0
    completions: int = 0
    xp: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.enrolled or self.contributions or self.progress or self.completions)

    def counts(self) -> dict[str, int]:
        return {
            "challenges": self.challenges,
            "participants": self.participants,
            "missing enrolments": self.enrolled,
            "contributions off": self.contributions,
            "progress off": self.progress,
            "completions off": self.completions,
            "xp entries off": self.xp,
        }

    def note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)


def expected_contributions(
    challenge: dict[str, Any],
    runs: list[dict[str, Any]],
    workouts: list[dict[str, Any]],
    xp_entries: list[dict[str, Any]],
) -> dict[str, tuple[Any, Any, float]]:
    """{contribution id: (user_id, group_id, value)} of these activities of participants: the
    plain-Python statement of what the hooks keep."""
    metric, mode = challenge["metric"], challenge["mode"]
    start, end = challenge["starts_at"], challenge["ends_at"]
    out: dict[str, tuple[Any, Any, float]] = {}
    cid = challenge["_id"]
    if metric in RUN_METRICS:
        for run in runs:
            if start <= run["started_at"] < end:
                group = (
                    run.get("team_id")
                    if mode == "teams"
                    else run.get("city_id")
                    if mode == "cities"
                    else None
                )
                value = challenges.run_value(metric, run)
                if mode in ("teams", "cities") and group is None:
                    value = 0.0
                if value:
                    out[f"{cid}:run:{run['_id']}"] = (run["user_id"], group, value)
    if metric in WORKOUT_METRICS and mode in ("individual", "collective"):
        for w in workouts:
            if start <= w["started_at"] < end:
                value = challenges.workout_value(metric, w)
                if value:
                    out[f"{cid}:workout:{w['_id']}"] = (w["user_id"], None, value)
    if metric == "xp":
        for e in xp_entries:
            if e["kind"] != "challenge" and start <= e["at"] < end and e["amount"]:
                out[f"{cid}:xp:{e['_id']}"] = (e["user_id"], None, float(e["amount"]))
    return out


async def _activities(user_ids: list[Any], challenge: dict[str, Any]) -> tuple[list, list, list]:
    window = {"$gte": challenge["starts_at"], "$lt": challenge["ends_at"]}
    runs: list[dict[str, Any]] = []
    workouts: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    if not user_ids:
        return runs, workouts, entries
    # one range per kind over the participants (user_started / user_at: a range per user)
    crit = {"user_id": {"$in": user_ids}, "started_at": window}
    if challenge["metric"] in RUN_METRICS:
        runs = await Run.get_motor_collection().find(crit).to_list(None)
    if challenge["metric"] in WORKOUT_METRICS:
        workouts = await Workout.get_motor_collection().find(crit).to_list(None)
    if challenge["metric"] == "xp":
        entries = (
            await XpEntry.get_motor_collection()
            .find({"user_id": {"$in": user_ids}, "at": window})
            .to_list(None)
        )
    return runs, workouts, entries


async def _auto_enrol(challenge: dict[str, Any], drift: Drift, repair: bool) -> None:
    """City/global challenges: everyone with a run credited to them in the window takes part."""
    if challenge["scope"] not in ("city", "global"):
        return
    crit: dict[str, Any] = {
        "started_at": {"$gte": challenge["starts_at"], "$lt": challenge["ends_at"]}
    }
    if challenge["scope"] == "city":
        crit["city_id"] = challenge["city_id"]
    runners = set(await Run.get_motor_collection().distinct("user_id", crit))
    present = set(
        await ChallengeParticipant.get_motor_collection().distinct(
            "user_id", {"challenge_id": challenge["_id"]}
        )
    )
    missing = runners - present
    if not missing:
        return
    drift.enrolled += len(missing)
    drift.note(f"challenge {challenge['_id']}: {len(missing)} runner(s) not enrolled")
    if repair:
        participants = ChallengeParticipant.get_motor_collection()
        for user_id in missing:
            doc = {
                "_id": participant_id(challenge["_id"], user_id),
                "challenge_id": challenge["_id"],
                "user_id": user_id,
                "starts_at": challenge["starts_at"],
                "ends_at": challenge["ends_at"],
                "progress": 0.0,
                "completed_at": None,
                "joined_at": min(challenge["ends_at"], utcnow()),
            }
            await participants.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)


async def rebuild_challenge(challenge: dict[str, Any], drift: Drift, *, repair: bool) -> None:
    cid = challenge["_id"]
    await _auto_enrol(challenge, drift, repair)
    participants = ChallengeParticipant.get_motor_collection()
    rows = await participants.find({"challenge_id": cid}).to_list(None)
    drift.participants += len(rows)
    if challenge.get("participants_count", 0) != len(rows):
        drift.progress += 1
        drift.note(f"challenge {cid}: participants_count should be {len(rows)}")
        if repair:
            await Challenge.get_motor_collection().update_one(
                {"_id": cid}, {"$set": {"participants_count": len(rows)}}
            )
    users = [r["user_id"] for r in rows]
    runs, workouts, entries = await _activities(users, challenge)
    expected = expected_contributions(challenge, runs, workouts, entries)
    stored = {
        r["_id"]: r
        async for r in ChallengeContribution.get_motor_collection().find({"challenge_id": cid})
    }
    contributions = ChallengeContribution.get_motor_collection()
    ops: list[Any] = []
    for key in stored.keys() - expected.keys():
        drift.contributions += 1
        drift.note(f"challenge {cid}: contribution {key} has no activity")
        ops.append(DeleteOne({"_id": key}))
    for key, (user_id, group, value) in expected.items():
        row = stored.get(key)
        if row is None or abs(row["value"] - value) > EPS or row.get("group_id") != group:
            drift.contributions += 1
            drift.note(f"challenge {cid}: contribution {key} should be {value:g}")
            doc = {"challenge_id": cid, "user_id": user_id, "group_id": group, "value": value}
            ops.append(UpdateOne({"_id": key}, {"$set": doc}, upsert=True))
    if repair and ops:
        await contributions.bulk_write(ops, ordered=False)
    per_user: dict[Any, float] = defaultdict(float)
    per_group: dict[Any, float] = defaultdict(float)
    for user_id, group, value in expected.values():
        per_user[user_id] += value
        if group is not None:
            per_group[group] += value
    goal = float(challenge.get("goal") or 0)
    mode = challenge["mode"]
    total = sum(per_user.values())
    collective_done = mode == "collective" and total >= goal - 1e-9
    if mode == "collective" and (
        abs(challenge.get("total", 0.0) - total) > EPS
        or ((challenge.get("completed_at") is not None) != collective_done)
    ):
        drift.progress += 1
        drift.note(f"challenge {cid}: collective total should be {total:g}")
        if repair:
            done_at = challenge.get("completed_at") or (utcnow() if collective_done else None)
            await Challenge.get_motor_collection().update_one(
                {"_id": cid},
                {
                    "$set": {
                        "total": total,
                        "completed_at": done_at if collective_done else None,
                    }
                },
            )
    if mode in ("teams", "cities"):
        groups = {
            r["group_id"]: r
            async for r in ChallengeGroup.get_motor_collection().find({"challenge_id": cid})
        }
        for group in groups.keys() | per_group.keys():
            want = per_group.get(group, 0.0)
            have = groups[group]["progress"] if group in groups else 0.0
            if abs(want - have) > EPS:
                drift.progress += 1
                drift.note(f"challenge {cid}: group {group} progress should be {want:g}")
                if repair:
                    await ChallengeGroup.get_motor_collection().update_one(
                        {"_id": f"{cid}:{group}"},
                        {
                            "$set": {"progress": want},
                            "$setOnInsert": {"challenge_id": cid, "group_id": group},
                        },
                        upsert=True,
                    )
    model = Challenge.model_validate(challenge)
    for row in await participants.find({"challenge_id": cid}).to_list(None):
        want = per_user.get(row["user_id"], 0.0)
        if mode == "individual":
            done = want >= goal - 1e-9
        elif mode == "collective":
            done = collective_done
        else:
            done = False
        changes: dict[str, Any] = {}
        if abs(row["progress"] - want) > EPS:
            drift.progress += 1
            drift.note(f"challenge {cid}: {row['user_id']} progress should be {want:g}")
            changes["progress"] = want
        if (row.get("completed_at") is not None) != done:
            drift.completions += 1
            drift.note(f"challenge {cid}: {row['user_id']} completed should be {done}")
            changes["completed_at"] = (row.get("completed_at") or utcnow()) if done else None
        if changes and repair:
            await participants.update_one({"_id": row["_id"]}, {"$set": changes})
        key = ledger.entry_id("challenge", cid, row["user_id"])
        entry = await ledger.entry(key)
        want_xp = challenge.get("xp_reward", 0) if done else 0
        if (entry["amount"] if entry else 0) != want_xp:
            drift.xp += 1
            drift.note(f"challenge {cid}: {row['user_id']} XP entry should be {want_xp}")
            if repair:
                await challenges.settle(model, row["user_id"])


async def rebuild(*, repair: bool, include_ended: bool = False) -> Drift:
    """Every open challenge (and ended ones with `include_ended`), in batches by _id."""
    drift = Drift()
    crit: dict[str, Any] = {} if include_ended else {"ends_at": {"$gt": utcnow()}}
    last: Any = None
    while True:
        page = dict(crit)
        if last is not None:
            page["_id"] = {"$gt": last}
        rows = (
            await Challenge.get_motor_collection()
            .find(page, sort=[("_id", 1)])
            .limit(BATCH)
            .to_list(None)
        )
        for row in rows:
            drift.challenges += 1
            await rebuild_challenge(row, drift, repair=repair)
        if len(rows) < BATCH:
            break
        last = rows[-1]["_id"]
    await _completed_counts(drift, repair=repair)
    return drift


async def _completed_counts(drift: Drift, *, repair: bool) -> None:
    """activity_totals.challenges_completed (the badges' rule reads it) = completed
    participations per user."""
    pipeline: list[dict[str, Any]] = [
        {"$match": {"completed_at": {"$ne": None}}},
        {"$group": {"_id": "$user_id", "n": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
    ]
    counts = {
        row["_id"]: row["n"]
        async for row in ChallengeParticipant.get_motor_collection().aggregate(pipeline)
    }
    totals = ActivityTotals.get_motor_collection()
    stored = {
        row["_id"]: row.get("challenges_completed", 0)
        async for row in totals.find(
            {"challenges_completed": {"$ne": 0}}, {"challenges_completed": 1}
        )
    }
    for user_id in counts.keys() | stored.keys():
        want = counts.get(user_id, 0)
        if stored.get(user_id, 0) != want:
            drift.completions += 1
            drift.note(f"user {user_id}: challenges_completed should be {want}")
            if repair:
                await totals.update_one(
                    {"_id": user_id}, {"$set": {"challenges_completed": want}}, upsert=True
                )

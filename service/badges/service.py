"""Badges: the catalogue, the per-user totals the rules read, and awarding exactly once.

- `activity_totals` (one row per user) moves with `$inc` on every run/workout recorded, changed
  or deleted; the other rules read what their features keep (longest run and best efforts:
  service.records; streaks: service.stats; level: users.level).
- On each relevant hook the user's unearned badges (the catalogue is capped at MAX_BADGES) are
  evaluated; a met one is awarded by inserting `UserBadge` "<user>:<badge>" (unique by
  construction: a concurrent award of the same badge fails on the duplicate key and does
  nothing more), then its `xp_reward` is credited through the ledger (entry
  "badge:<user>:<badge>") and `badge_earned` is emitted. Badges are never revoked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from documents import ActivityTotals, Badge, BestEffort, Run, User, UserBadge, Workout, clock
from documents.badge import BadgeSource
from documents.clock import utcnow
from service import events
from service.badges.catalogue import SEEDED_BADGES
from service.badges.schemas import (
    EFFORT_KM,
    BadgeCreate,
    BadgeProgress,
    BadgeRead,
    BadgeUpdate,
    EarnedBadge,
    UserBadges,
    check_rule,
)
from service.errors import Conflict, NotFound, Unprocessable
from service.leaderboards.periods import midnight
from service.pagination import Page, PageParams, fetch_page
from service.queries import ASC, DESC, QueryShape
from service.records import service as records
from service.stats import calendar
from service.stats import pipelines as stats_pipelines
from service.xp import ledger

log = logging.getLogger("service.badges")

DUPLICATE_KEY = 11000
# the catalogue stays small: every evaluation reads all of it
MAX_BADGES = 200
RULE_FIELDS = ("activity", "rule", "threshold", "min_distance_km", "xp_reward")

BADGES = QueryShape("badges", Badge, sort=(("key", ASC),), index="key_id")
USER_BADGES = QueryShape(
    "user_badges",
    UserBadge,
    equality=("user_id",),
    sort=(("earned_at", DESC),),
    index="user_earned",
)
# "has anyone earned this badge?" (a delete or a rule edit of an earned badge is a 409)
BADGE_HOLDERS = QueryShape(
    "badge_holders", UserBadge, equality=("badge_id",), index="badge", tie_break=False
)

# which hook can move which rule
RUN_RULES = frozenset(
    {
        "count",
        "distance_total_km",
        "single_run_km",
        "duration_total_h",
        "score_total",
        "streak_days",
        "streak_weeks",
        "best_effort_s",
    }
)
WORKOUT_RULES = frozenset({"count", "duration_total_h", "streak_days", "streak_weeks"})


def to_read(badge: Badge | dict[str, Any]) -> BadgeRead:
    doc: dict[str, Any] = badge.model_dump(by_alias=True) if isinstance(badge, Badge) else badge
    return BadgeRead(
        id=str(doc["_id"]),
        key=doc["key"],
        title=doc["title"],
        description=doc.get("description", ""),
        type=doc["type"],
        activity=doc["activity"],
        rule=doc["rule"],
        threshold=doc["threshold"],
        min_distance_km=doc.get("min_distance_km"),
        xp_reward=doc.get("xp_reward", 0),
        created_at=doc["created_at"],
    )


# --- catalogue ------------------------------------------------------------------------------


async def seed_catalogue() -> int:
    """Insert the seeded badges missing by key ($setOnInsert): a restart adds nothing and never
    overwrites an admin's edit; returns how many were added. A restart on a seeded catalogue
    costs one read (index `key_unique`) and writes nothing."""
    now = utcnow()
    collection = Badge.get_motor_collection()
    keys = [seed.key for seed in SEEDED_BADGES]
    present = {
        doc["key"] async for doc in collection.find({"key": {"$in": keys}}, {"_id": 0, "key": 1})
    }
    ops = [
        UpdateOne(
            {"key": seed.key},
            {
                "$setOnInsert": {
                    "key": seed.key,
                    "title": seed.title,
                    "description": seed.description,
                    "type": seed.type,
                    "activity": seed.activity,
                    "rule": seed.rule,
                    "threshold": float(seed.threshold),
                    "min_distance_km": seed.min_distance_km,
                    "xp_reward": seed.xp_reward,
                    "created_at": now,
                    "updated_at": now,
                }
            },
            upsert=True,
        )
        for seed in SEEDED_BADGES
        if seed.key not in present
    ]
    if not ops:
        forget_catalogue()  # a catalogue this process read before (another database) is stale
        return 0
    try:
        result = await collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:  # two processes starting together: the unique key keeps one
        details = exc.details or {}
        if any(e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])):
            raise
        return int(details.get("nUpserted", 0))
    finally:
        forget_catalogue()
    return int(result.upserted_count)


# every hook reads the catalogue: it is kept for CATALOGUE_TTL_S in the process, and dropped at
# once by this process's own writes (another process's edit shows within the TTL; a badge it
# creates is awarded by that process's job meanwhile)
CATALOGUE_TTL_S = 5.0
_catalogue: tuple[float, list[dict[str, Any]]] | None = None


def forget_catalogue() -> None:
    global _catalogue
    _catalogue = None


async def catalogue() -> list[dict[str, Any]]:
    """Every badge (capped at MAX_BADGES), by key."""
    global _catalogue
    now = time.monotonic()
    if _catalogue is not None and now - _catalogue[0] < CATALOGUE_TTL_S:
        return _catalogue[1]
    cursor = Badge.get_motor_collection().find({}, sort=BADGES.order).limit(MAX_BADGES)
    rows: list[dict[str, Any]] = await cursor.to_list(None)
    _catalogue = (now, rows)
    return rows


async def search(*, page: PageParams) -> Page[BadgeRead]:
    found = await fetch_page(BADGES, {}, page)
    return found.page([to_read(b) for b in found.rows])


async def get(badge_id: PydanticObjectId) -> Badge:
    badge = await Badge.get(badge_id)
    if badge is None:
        raise NotFound(f"Badge {badge_id} not found")
    return badge


async def _earned_by_anyone(badge_id: PydanticObjectId) -> bool:
    found = await UserBadge.get_motor_collection().find_one(
        BADGE_HOLDERS.check({"badge_id": badge_id}), {"_id": 1}
    )
    return found is not None


async def create(*, data: BadgeCreate) -> Badge:
    """A new badge; a background job then awards it to everyone who already meets it."""
    if await Badge.get_motor_collection().count_documents({}) >= MAX_BADGES:
        raise Conflict(f"The catalogue holds at most {MAX_BADGES} badges")
    badge = Badge(**data.model_dump())
    try:
        await badge.insert()
    except DuplicateKeyError:
        raise Conflict(f"A badge with key {data.key!r} already exists") from None
    forget_catalogue()
    from service.badges import jobs

    jobs.start_award(badge)
    return badge


async def update(*, badge: Badge, changes: BadgeUpdate) -> Badge:
    """Edit a badge. Its rule fields (activity, rule, threshold, min_distance_km, xp_reward)
    change only while nobody has earned it (409 otherwise); a rule change re-runs the award
    job."""
    diff = changes.model_dump(exclude_unset=True)
    rule_change = {k for k in diff if k in RULE_FIELDS and diff[k] != getattr(badge, k)}
    merged = {k: diff.get(k, getattr(badge, k)) for k in RULE_FIELDS}
    if "rule" in diff and diff["rule"] != "best_effort_s" and "min_distance_km" not in diff:
        merged["min_distance_km"] = None  # leaving best_effort_s drops its distance
        diff["min_distance_km"] = None
    problems = check_rule(
        merged["rule"], merged["activity"], merged["threshold"], merged["min_distance_km"]
    )
    if problems:
        raise Unprocessable(
            "; ".join(m for _, m in problems), locs=[("body", f) for f, _ in problems]
        )
    if rule_change and await _earned_by_anyone(badge.id):  # type: ignore[arg-type]
        raise Conflict(
            "This badge has been earned: its rule and reward are fixed (title, description and "
            "type may still change)"
        )
    if not diff:
        return badge
    diff["updated_at"] = utcnow()
    updated = await Badge.get_motor_collection().find_one_and_update(
        {"_id": badge.id}, {"$set": diff}, return_document=ReturnDocument.AFTER
    )
    if updated is None:
        raise NotFound(f"Badge {badge.id} not found")
    forget_catalogue()
    result = Badge.model_validate(updated)
    if rule_change:
        from service.badges import jobs

        jobs.start_award(result)
    return result


async def delete(*, badge: Badge) -> None:
    """Delete a badge nobody has earned (409 otherwise: earned badges stay earned)."""
    if await _earned_by_anyone(badge.id):  # type: ignore[arg-type]
        raise Conflict("This badge has been earned by someone: earned badges stay earned")
    await Badge.get_motor_collection().delete_one({"_id": badge.id})
    forget_catalogue()
    # an award that raced the delete (a hook, or the badge's job) is taken back with its XP
    async for doc in UserBadge.get_motor_collection().find({"badge_id": badge.id}):
        await UserBadge.get_motor_collection().delete_one({"_id": doc["_id"]})
        await ledger.remove_entry(ledger.entry_id("badge", doc["user_id"], badge.id))


# --- values of the rules ----------------------------------------------------------------------


class Values:
    """One user's values for the rules, each read once (lazily) per evaluation."""

    def __init__(
        self,
        user_id: PydanticObjectId,
        totals: dict[str, Any] | None = None,
        level: int | None = None,
    ) -> None:
        self.user_id = user_id
        self._totals = totals
        self._level = level
        self._cache: dict[Any, Any] = {}

    async def totals(self) -> dict[str, Any]:
        if self._totals is None:
            found = await ActivityTotals.get_motor_collection().find_one({"_id": self.user_id})
            self._totals = found or {}
        return self._totals

    async def level(self) -> int:
        if self._level is None:
            found = await User.get_motor_collection().find_one({"_id": self.user_id}, {"level": 1})
            self._level = int(found.get("level", 1)) if found else 1
        return self._level

    async def _streaks(self, activity: str) -> calendar.Streaks:
        if ("streaks", activity) not in self._cache:
            today = clock.today()
            before = midnight(today + timedelta(days=1))
            pipeline = stats_pipelines.active_days(self.user_id, before)
            days: list[Any] = []
            if activity in ("run", "all"):
                days += await Run.get_motor_collection().aggregate(pipeline).to_list(None)
            if activity in ("workout", "all"):
                days += await Workout.get_motor_collection().aggregate(pipeline).to_list(None)
            self._cache["streaks", activity] = calendar.streaks(
                (row["_id"].date() for row in days), today=today
            )
        streaks: calendar.Streaks = self._cache["streaks", activity]
        return streaks

    async def value(self, badge: dict[str, Any]) -> float | None:
        """The user's value for the badge's rule (best_effort_s: seconds, None without one)."""
        rule, activity = badge["rule"], badge["activity"]
        if rule in ("count", "duration_total_h", "distance_total_km", "score_total"):
            t = await self.totals()
            runs = activity in ("run", "all")
            workouts = activity in ("workout", "all")
            if rule == "count":
                return float(t.get("runs", 0) * runs + t.get("workouts", 0) * workouts)
            if rule == "duration_total_h":
                seconds = t.get("run_duration_s", 0) * runs + t.get("workout_duration_s", 0) * (
                    workouts
                )
                return seconds / 3600
            if rule == "distance_total_km":
                return round(float(t.get("run_distance_km", 0.0)), 3)
            return float(t.get("score", 0))
        if rule == "challenges_completed":
            return float((await self.totals()).get("challenges_completed", 0))
        if rule == "level":
            return float(await self.level())
        if rule in ("streak_days", "streak_weeks"):
            streaks = await self._streaks(activity)
            return float(streaks.longest_days if rule == "streak_days" else streaks.longest_weeks)
        if rule == "single_run_km":
            if "longest" not in self._cache:
                top = await records._top_run(self.user_id, "distance_km")
                self._cache["longest"] = top.distance_km if top else 0.0
            return float(self._cache["longest"])
        # best_effort_s
        name = EFFORT_KM[round(float(badge["min_distance_km"]), 6)]
        if ("effort", name) not in self._cache:
            row = await BestEffort.get_motor_collection().find_one(
                records.BEST_EFFORT.check({"user_id": self.user_id, "distance": name}),
                {"seconds": 1},
                sort=records.BEST_EFFORT.order,
            )
            self._cache["effort", name] = None if row is None else float(row["seconds"])
        effort: float | None = self._cache["effort", name]
        return effort


def met(badge: dict[str, Any], value: float | None) -> bool:
    if value is None:
        return False
    if badge["rule"] == "best_effort_s":
        return value <= badge["threshold"]
    return value >= badge["threshold"] - 1e-9


# --- awarding ---------------------------------------------------------------------------------


def award_id(user_id: Any, badge_id: Any) -> str:
    return f"{user_id}:{badge_id}"


async def _credit(user_id: Any, badge: dict[str, Any], earned_at: datetime, source: Any) -> None:
    await ledger.set_entry(
        user_id=user_id,
        kind="badge",
        key=ledger.entry_id("badge", user_id, badge["_id"]),
        source_id=str(badge["_id"]),
        amount=int(badge.get("xp_reward", 0)),
        at=earned_at,
    )
    await events.badge_earned.emit(
        user_id=user_id, badge=to_read(badge), at=earned_at, source=source
    )


async def award(
    user_id: PydanticObjectId, badge: dict[str, Any], source: BadgeSource | None
) -> bool:
    """Award `badge` to the user unless already earned; True when this call awarded it."""
    earned_at = utcnow()
    try:
        await UserBadge.get_motor_collection().insert_one(
            {
                "_id": award_id(user_id, badge["_id"]),
                "user_id": user_id,
                "badge_id": badge["_id"],
                "earned_at": earned_at,
                "source": source.model_dump() if source else None,
            }
        )
    except DuplicateKeyError:
        return False
    await _credit(user_id, badge, earned_at, source)
    return True


async def _earned(user_id: PydanticObjectId, badges: Iterable[dict[str, Any]]) -> set[Any]:
    """Which of `badges` the user has earned (read by award id: a few `_id` lookups)."""
    ids = [award_id(user_id, b["_id"]) for b in badges]
    cursor = UserBadge.get_motor_collection().find({"_id": {"$in": ids}}, {"badge_id": 1})
    return {doc["badge_id"] async for doc in cursor}


async def evaluate(
    user_id: PydanticObjectId,
    *,
    rules: Iterable[str],
    activities: Iterable[str] = ("run", "workout", "all"),
    source: BadgeSource | None = None,
    values: Values | None = None,
) -> list[str]:
    """Award every unearned badge of these rules (and activities) the user now meets; returns
    the keys awarded."""
    wanted_rules, wanted_activities = set(rules), set(activities)
    candidates = [
        b
        for b in await catalogue()
        if b["rule"] in wanted_rules and b["activity"] in wanted_activities
    ]
    values = values or Values(user_id)
    # the values first (each read once per rule): most evaluations meet nothing new, and then
    # the user's awards are never read
    meeting = [b for b in candidates if met(b, await values.value(b))]
    if not meeting:
        return []
    earned = await _earned(user_id, meeting)
    awarded: list[str] = []
    for badge in meeting:
        if badge["_id"] not in earned and await award(user_id, badge, source):
            awarded.append(badge["key"])
    return awarded


def _only(*fields: str) -> dict[str, Any]:
    # what the $group reads only: the embedded store then copies these fields, not documents
    return {"$project": {"_id": 0, **dict.fromkeys(fields, 1)}}


async def _batch_values(
    user_ids: list[PydanticObjectId], badges: Sequence[dict[str, Any]]
) -> dict[Any, dict[Any, Any]]:
    """The per-user values of the rules that are not totals, for a whole batch of users at
    once (one aggregation per source instead of a few queries per user): `Values._cache`
    entries by user."""
    rules = {(b["rule"], b["activity"]) for b in badges}
    cache: dict[Any, dict[Any, Any]] = {u: {} for u in user_ids}
    match = {"$match": {"user_id": {"$in": user_ids}}}
    if any(rule == "single_run_km" for rule, _ in rules):
        for u in user_ids:
            cache[u]["longest"] = 0.0
        pipeline = [
            match,
            _only("user_id", "distance_km"),
            {"$group": {"_id": "$user_id", "km": {"$max": "$distance_km"}}},
        ]
        async for row in Run.get_motor_collection().aggregate(pipeline):
            cache[row["_id"]]["longest"] = float(row["km"])
    for name in {
        EFFORT_KM[round(float(b["min_distance_km"]), 6)]
        for b in badges
        if b["rule"] == "best_effort_s"
    }:
        for u in user_ids:
            cache[u]["effort", name] = None
        pipeline = [
            {"$match": {"user_id": {"$in": user_ids}, "distance": name}},
            _only("user_id", "seconds"),
            {"$group": {"_id": "$user_id", "s": {"$min": "$seconds"}}},
        ]
        async for row in BestEffort.get_motor_collection().aggregate(pipeline):
            cache[row["_id"]]["effort", name] = float(row["s"])
    streak_activities = {a for rule, a in rules if rule in ("streak_days", "streak_weeks")}
    if streak_activities:
        today = clock.today()
        before = midnight(today + timedelta(days=1))
        days: dict[str, dict[Any, set[Any]]] = {"run": {}, "workout": {}}
        for kind, document in (("run", Run), ("workout", Workout)):
            pipeline = [
                {"$match": {"user_id": {"$in": user_ids}, "started_at": {"$lt": before}}},
                _only("user_id", "day"),
                {"$group": {"_id": {"u": "$user_id", "d": "$day"}}},
                {"$sort": {"_id": 1}},
            ]
            async for row in document.get_motor_collection().aggregate(pipeline):
                days[kind].setdefault(row["_id"]["u"], set()).add(row["_id"]["d"].date())
        for u in user_ids:
            for activity in streak_activities:
                active: set[Any] = set()
                if activity in ("run", "all"):
                    active |= days["run"].get(u, set())
                if activity in ("workout", "all"):
                    active |= days["workout"].get(u, set())
                cache[u]["streaks", activity] = calendar.streaks(active, today=today)
    return cache


async def award_met(
    user_ids: Sequence[PydanticObjectId],
    badges: Sequence[dict[str, Any]],
    *,
    dry: bool = False,
    totals: dict[Any, dict[str, Any]] | None = None,
) -> int:
    """Award `badges` to those of `user_ids` (a bounded batch) who meet them and lack them, in
    bulk (one insert_many; only the rows it inserted are credited): the later-badge job, the
    rebuild and the demo. Returns how many were awarded (`dry`: would be)."""
    if not user_ids or not badges:
        return 0
    if totals is None:  # else: the totals the rebuild recomputed
        totals = {
            doc["_id"]: doc
            async for doc in ActivityTotals.get_motor_collection().find({"_id": {"$in": user_ids}})
        }
    levels = {
        doc["_id"]: int(doc.get("level", 1))
        async for doc in User.get_motor_collection().find(
            {"_id": {"$in": list(user_ids)}}, {"level": 1}
        )
    }
    # the batch's awards (at most users x MAX_BADGES rows, read by the user_earned index)
    cursor = UserBadge.get_motor_collection().find({"user_id": {"$in": list(user_ids)}}, {"_id": 1})
    earned: set[str] = {doc["_id"] async for doc in cursor}
    cache = await _batch_values(list(user_ids), badges)
    now = utcnow()
    rows: list[dict[str, Any]] = []
    wanted: list[tuple[PydanticObjectId, dict[str, Any]]] = []
    for user_id in user_ids:
        if user_id not in levels:  # deleted meanwhile
            continue
        values = Values(user_id, totals.get(user_id, {}), levels[user_id])
        values._cache.update(cache.get(user_id, {}))
        for badge in badges:
            key = award_id(user_id, badge["_id"])
            if key in earned or not met(badge, await values.value(badge)):
                continue
            rows.append(
                {
                    "_id": key,
                    "user_id": user_id,
                    "badge_id": badge["_id"],
                    "earned_at": now,
                    "source": None,
                }
            )
            wanted.append((user_id, badge))
    if not rows or dry:  # dry: only count what is missing (the rebuild's --verify)
        return len(rows)
    inserted = set(range(len(rows)))
    try:
        await UserBadge.get_motor_collection().insert_many(rows, ordered=False)
    except BulkWriteError as exc:  # awarded meanwhile by a hook: that award credits it
        details = exc.details or {}
        errors = details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        inserted -= {int(e["index"]) for e in errors}
    # XP in bulk: one $inc and one xp_changed per user (the level rule then looks once)
    awarded = [wanted[index] for index in sorted(inserted)]
    await ledger.add_many(
        kind="badge",
        entries=[
            (
                user_id,
                ledger.entry_id("badge", user_id, badge["_id"]),
                str(badge["_id"]),
                int(badge.get("xp_reward", 0)),
                now,
            )
            for user_id, badge in awarded
        ],
    )
    for user_id, badge in awarded:
        await events.badge_earned.emit(user_id=user_id, badge=to_read(badge), at=now, source=None)
    return len(inserted)


# --- reading a user's badges ------------------------------------------------------------------


async def of_user(*, user: User, viewer: User) -> UserBadges:
    """Earned badges, newest first; progress towards the others for the user themself."""
    assert user.id is not None
    badges = {b["_id"]: b for b in await catalogue()}
    cursor = UserBadge.get_motor_collection().find(
        USER_BADGES.check({"user_id": user.id}), sort=USER_BADGES.order
    )
    earned: list[EarnedBadge] = []
    earned_ids: set[Any] = set()
    async for doc in cursor.limit(MAX_BADGES * 2):
        badge = badges.get(doc["badge_id"])
        if badge is None:
            continue
        earned_ids.add(doc["badge_id"])
        earned.append(
            EarnedBadge(
                badge=to_read(badge),
                earned_at=doc["earned_at"],
                source=BadgeSource(**doc["source"]) if doc.get("source") else None,
            )
        )
    progress: list[BadgeProgress] | None = None
    if viewer.id == user.id:
        values = Values(user.id)
        progress = []
        for badge_id, badge in badges.items():
            if badge_id in earned_ids:
                continue
            value = await values.value(badge)
            progress.append(
                BadgeProgress(
                    badge=to_read(badge),
                    value=round(value, 3) if value is not None else None,
                    threshold=badge["threshold"],
                )
            )
    return UserBadges(user_id=str(user.id), earned=earned, progress=progress)


# --- hooks ------------------------------------------------------------------------------------


def _run_delta(run: Run, sign: int) -> dict[str, Any]:
    return {
        "runs": sign,
        "run_distance_km": sign * run.distance_km,
        "run_duration_s": sign * run.duration_s,
        "score": sign * run.score,
    }


def _workout_delta(workout: Workout, sign: int) -> dict[str, Any]:
    return {"workouts": sign, "workout_duration_s": sign * workout.duration_s}


def _sum(*deltas: dict[str, Any]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for delta in deltas:
        for key, value in delta.items():
            total[key] = total.get(key, 0) + value
    return total


async def _move(user_id: Any, inc: dict[str, Any], *, upsert: bool) -> dict[str, Any] | None:
    found: dict[str, Any] | None = await ActivityTotals.get_motor_collection().find_one_and_update(
        {"_id": user_id}, {"$inc": inc}, upsert=upsert, return_document=ReturnDocument.AFTER
    )
    return found


async def _on_run_recorded(*, run: Run, **_: Any) -> None:
    totals = await _move(run.user_id, _run_delta(run, 1), upsert=True)
    source = BadgeSource(kind="run", id=str(run.id))
    await evaluate(
        run.user_id,
        rules=RUN_RULES,
        activities=("run", "all"),
        source=source,
        values=Values(run.user_id, totals),
    )


async def _on_run_changed(*, before: Run, after: Run) -> None:
    totals = await _move(
        after.user_id, _sum(_run_delta(before, -1), _run_delta(after, 1)), upsert=False
    )
    if totals is None:
        return
    await evaluate(
        after.user_id,
        rules=RUN_RULES,
        activities=("run", "all"),
        source=BadgeSource(kind="run", id=str(after.id)),
        values=Values(after.user_id, totals),
    )


# run ids a `runs_deleted` batch already withdrew: their own `run_deleted` skips
_runs_in_batch: set[Any] = set()
_workouts_in_batch: set[Any] = set()


async def _on_run_deleted(*, run: Run) -> None:
    if run.id in _runs_in_batch:
        _runs_in_batch.discard(run.id)
        return
    await _move(run.user_id, _run_delta(run, -1), upsert=False)


async def _on_runs_deleted(*, user: User, runs: Sequence[Run]) -> None:
    if runs:
        await _move(user.id, _sum(*(_run_delta(r, -1) for r in runs)), upsert=False)
        _runs_in_batch.update(r.id for r in runs)


async def _on_workout_recorded(*, workout: Workout, **_: Any) -> None:
    totals = await _move(workout.user_id, _workout_delta(workout, 1), upsert=True)
    await evaluate(
        workout.user_id,
        rules=WORKOUT_RULES,
        activities=("workout", "all"),
        source=BadgeSource(kind="workout", id=str(workout.id)),
        values=Values(workout.user_id, totals),
    )


async def _on_workout_changed(*, before: Workout, after: Workout) -> None:
    inc = _sum(_workout_delta(before, -1), _workout_delta(after, 1))
    totals = await _move(after.user_id, inc, upsert=False)
    if totals is None:
        return
    await evaluate(
        after.user_id,
        rules=WORKOUT_RULES,
        activities=("workout", "all"),
        source=BadgeSource(kind="workout", id=str(after.id)),
        values=Values(after.user_id, totals),
    )


async def _on_workout_deleted(*, workout: Workout) -> None:
    if workout.id in _workouts_in_batch:
        _workouts_in_batch.discard(workout.id)
        return
    await _move(workout.user_id, _workout_delta(workout, -1), upsert=False)


async def _on_workouts_deleted(*, user: User, workouts: Sequence[Workout]) -> None:
    if workouts:
        await _move(user.id, _sum(*(_workout_delta(w, -1) for w in workouts)), upsert=False)
        _workouts_in_batch.update(w.id for w in workouts)


async def _on_xp_changed(*, user_id: PydanticObjectId, delta: int, level: int, **_: Any) -> None:
    if delta > 0:
        await evaluate(user_id, rules=("level",), values=Values(user_id, level=level))


async def on_challenge_completed(*, user_id: PydanticObjectId, challenge_id: Any, **_: Any) -> None:
    """A challenge completed (G2's `challenge_completed`): count it, then evaluate."""
    totals = await _move(user_id, {"challenges_completed": 1}, upsert=True)
    await evaluate(
        user_id,
        rules=("challenges_completed",),
        source=BadgeSource(kind="challenge", id=str(challenge_id)),
        values=Values(user_id, totals),
    )


async def on_challenge_withdrawn(*, user_id: PydanticObjectId, **_: Any) -> None:
    """A completion withdrawn: the count drops (badges already earned stay)."""
    await _move(user_id, {"challenges_completed": -1}, upsert=False)


async def _on_user_deleted(*, user: User) -> None:
    await UserBadge.get_motor_collection().delete_many({"user_id": user.id})
    await ActivityTotals.get_motor_collection().delete_one({"_id": user.id})


def connect() -> None:
    """Connect the hooks (after service.records and service.xp, whose rows the rules read)."""
    events.run_recorded.connect(_on_run_recorded)
    events.run_changed.connect(_on_run_changed)
    events.run_deleted.connect(_on_run_deleted)
    events.runs_deleted.connect(_on_runs_deleted)
    events.workout_recorded.connect(_on_workout_recorded)
    events.workout_changed.connect(_on_workout_changed)
    events.workout_deleted.connect(_on_workout_deleted)
    events.workouts_deleted.connect(_on_workouts_deleted)
    events.xp_changed.connect(_on_xp_changed)
    events.user_deleted.connect(_on_user_deleted)
    for name in ("challenge_completed", "challenge_withdrawn"):
        hook = getattr(events, name, None)
        if hook is not None:
            hook.connect(
                on_challenge_completed if name == "challenge_completed" else on_challenge_withdrawn
            )


connect()

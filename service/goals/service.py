"""Weekly goals: targets per metric and ISO week, values kept per user and week by the hooks.

- `goal_weeks` ("<user>:<week>") holds a user's runs, workouts, distance_m, duration_s and
  score of one ISO week (Monday 00:00 UTC); the run/workout hooks move it with `$inc` (an edit
  moves the old week down and the new week up), so a read is one document per week.
- `goals` keeps every version of a target: "<user>:<metric>:<from week>" in force for
  [from_week, until). Setting a target applies from the current week (a change mid-week
  rewrites this week's target); deleting ends it before the current week (history kept).
- Settlement of the current week (after a change of its totals or of a target): a goal met
  is credited GOAL_XP through the ledger (entry "goal:<user>:<metric>:<week>", once per goal
  and week) and `goal_met` emitted; one no longer met (an edit, a delete, a raised or deleted
  target) is withdrawn. A week that has ended is frozen: nothing settles it again.
  Settlement re-reads the week's `rev` after deciding and decides again if it moved, so the
  last decision is always taken on the latest totals and targets (exact under concurrency).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import PydanticObjectId

from documents import Run, User, Workout
from documents.clock import as_stored, utcnow
from documents.goal import OPEN_UNTIL, Goal, GoalMetric, WeekTotals
from service import events
from service.errors import NotFound, Unprocessable
from service.goals.schemas import GoalHistory, GoalRead, GoalStreak, GoalWeek, GoalWeekEntry
from service.queries import ID_INDEX, QueryShape
from service.settings import get_settings
from service.xp import ledger

log = logging.getLogger("service.goals")

METRICS: tuple[GoalMetric, ...] = (
    "runs",
    "workouts",
    "activities",
    "distance_km",
    "duration_min",
    "score",
)
# (lowest, highest) target per metric; counts, minutes and score take whole numbers
TARGET_BOUNDS: dict[str, tuple[float, float]] = {
    "runs": (1, 50),
    "workouts": (1, 50),
    "activities": (1, 100),
    "distance_km": (0.1, 2000),
    "duration_min": (1, 10_080),
    "score": (1, 1_000_000),
}
WHOLE = frozenset({"runs", "workouts", "activities", "duration_min", "score"})
FIELDS = ("runs", "workouts", "distance_m", "duration_s", "score")
WEEK = timedelta(days=7)
MAX_HISTORY_WEEKS = 104
STREAK_CAP = 104  # weeks read back for a streak
SETTLE_ROUNDS = 100

# a user's versions in force at or after a week (current goals, history, closing on a change)
GOALS_OF_USER = QueryShape(
    "goals_of_user",
    Goal,
    equality=("user_id",),
    range=("until",),
    index="user_until",
    residual=("metric", "from_week"),
    why="a user has at most one version per metric and week; metric/from_week only pick among them",
    tie_break=False,
)
# a week's totals, read by id (one or a history's few)
GOAL_WEEKS = QueryShape(
    "goal_weeks", WeekTotals, equality=("_id",), index=ID_INDEX, tie_break=False
)


# --- weeks and keys --------------------------------------------------------------------------


def week_of(moment: datetime) -> datetime:
    """Monday 00:00 UTC of `moment`'s ISO week."""
    day = as_stored(moment).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def week_id(user_id: Any, week: datetime) -> str:
    return f"{user_id}:{week.date().isoformat()}"


def version_id(user_id: Any, metric: str, week: datetime) -> str:
    return f"{user_id}:{metric}:{week.date().isoformat()}"


def xp_key(user_id: Any, metric: str, week: datetime) -> str:
    """The ledger entry of a goal met in a week: the goal is the user's metric."""
    return ledger.entry_id("goal", user_id, metric, week.date().isoformat())


def goal_xp() -> int:
    return get_settings().goal_xp


def value_of(metric: str, totals: Mapping[str, Any] | None) -> float:
    """A metric's value from a week's totals (pure)."""
    t = totals or {}
    if metric == "runs":
        return float(t.get("runs", 0))
    if metric == "workouts":
        return float(t.get("workouts", 0))
    if metric == "activities":
        return float(t.get("runs", 0) + t.get("workouts", 0))
    if metric == "distance_km":
        return round(t.get("distance_m", 0) / 1000, 3)
    if metric == "duration_min":
        return round(t.get("duration_s", 0) / 60, 1)
    return float(t.get("score", 0))


def run_amounts(run: Run | Mapping[str, Any]) -> dict[str, int]:
    row: Mapping[str, Any] = (
        run
        if isinstance(run, Mapping)
        else {"distance_km": run.distance_km, "duration_s": run.duration_s, "score": run.score}
    )
    return {
        "runs": 1,
        "distance_m": round(float(row["distance_km"]) * 1000),
        "duration_s": int(row["duration_s"]),
        "score": int(row["score"]),
    }


def workout_amounts(workout: Workout | Mapping[str, Any]) -> dict[str, int]:
    row = workout if isinstance(workout, Mapping) else {"duration_s": workout.duration_s}
    return {"workouts": 1, "duration_s": int(row["duration_s"])}


def check_target(metric: str, target: float) -> float:
    low, high = TARGET_BOUNDS[metric]
    if not low <= target <= high:
        raise Unprocessable(
            f"A weekly {metric} target lies between {low:g} and {high:g}", loc=("body", "target")
        )
    if metric in WHOLE and target != int(target):
        raise Unprocessable(f"A weekly {metric} target is a whole number", loc=("body", "target"))
    return float(target)


def parse_metric(metric: str) -> GoalMetric:
    if metric not in METRICS:
        raise Unprocessable(
            f"Unknown goal metric {metric!r}: one of {', '.join(METRICS)}", loc=("path", "metric")
        )
    return metric  # type: ignore[return-value]


# --- moving a week's totals ------------------------------------------------------------------


async def move(
    user_id: PydanticObjectId, week: datetime, amounts: Mapping[str, int], sign: int
) -> None:
    """Add (sign 1) or remove (-1) amounts to a user's week, then settle that week."""
    await _inc(user_id, week, {k: sign * v for k, v in amounts.items()}, upsert=sign > 0)
    await settle(user_id, week)


async def _inc(
    user_id: PydanticObjectId, week: datetime, changes: Mapping[str, int], *, upsert: bool
) -> None:
    inc = {k: v for k, v in changes.items() if v}
    inc["rev"] = 1
    weeks = WeekTotals.get_motor_collection()
    if upsert:
        await weeks.update_one(
            {"_id": week_id(user_id, week)},
            {"$inc": inc, "$setOnInsert": {"user_id": user_id, "week": week}},
            upsert=True,
        )
    else:  # the week exists unless the user is being deleted: never recreate it then
        await weeks.update_one({"_id": week_id(user_id, week)}, {"$inc": inc})


async def _moved(
    user_id: PydanticObjectId,
    before: tuple[datetime, dict[str, int]],
    after: tuple[datetime, dict[str, int]],
) -> None:
    (old_week, old), (new_week, new) = before, after
    if old_week != new_week:
        await move(user_id, old_week, old, -1)
        await move(user_id, new_week, new, 1)
        return
    diff = {k: new.get(k, 0) - old.get(k, 0) for k in {*old, *new}}
    if any(diff.values()):
        await _inc(user_id, new_week, diff, upsert=False)  # the week holds `before` already
        await settle(user_id, new_week)


async def _bump(user_id: PydanticObjectId, week: datetime) -> None:
    """A target changed: the week's decision must be taken again."""
    await WeekTotals.get_motor_collection().update_one(
        {"_id": week_id(user_id, week)},
        {"$inc": {"rev": 1}, "$setOnInsert": {"user_id": user_id, "week": week}},
        upsert=True,
    )


# --- settlement ------------------------------------------------------------------------------


def in_force(versions: Iterable[Mapping[str, Any]], week: datetime) -> dict[str, Mapping[str, Any]]:
    """The version of each metric in force in `week` (pure)."""
    found: dict[str, Mapping[str, Any]] = {}
    for v in versions:
        if as_stored(v["from_week"]) <= week < as_stored(v["until"]):
            found[v["metric"]] = v
    return found


async def _versions(user_id: PydanticObjectId, after: datetime, limit: int) -> list[dict[str, Any]]:
    criteria = GOALS_OF_USER.check({"user_id": user_id, "until": {"$gt": after}})
    cursor = Goal.get_motor_collection().find(criteria).hint(GOALS_OF_USER.hint).limit(limit)
    return await cursor.to_list(None)


async def settle(user_id: PydanticObjectId, week: datetime) -> None:
    """Credit or withdraw the goals of the user's `week` unless it has ended (frozen)."""
    if week + WEEK <= utcnow():
        return
    weeks = WeekTotals.get_motor_collection()
    amount = goal_xp()
    for _ in range(SETTLE_ROUNDS):
        totals = await weeks.find_one({"_id": week_id(user_id, week)})
        rev = (totals or {}).get("rev", 0)
        goals = in_force(await _versions(user_id, week, 6 * 3), week)
        for metric in METRICS:
            key = xp_key(user_id, metric, week)
            version = goals.get(metric)
            value = value_of(metric, totals)
            met = version is not None and value >= float(version["target"])
            existing = await ledger.entry(key)
            if met and (existing is None or existing["amount"] != amount):
                now = utcnow()
                await ledger.set_entry(
                    user_id=user_id,
                    kind="goal",
                    key=key,
                    source_id=version_id(user_id, metric, week),
                    amount=amount,
                    at=existing["at"] if existing else now,
                )
                # who announces it: the one settlement that flips the week's flag (exactly
                # once per credit, also when several settle the same change concurrently)
                claimed = await weeks.update_one(
                    {"_id": week_id(user_id, week), f"met.{metric}": {"$ne": True}},
                    {"$set": {f"met.{metric}": True}},
                )
                if claimed.modified_count:
                    await events.goal_met.emit(
                        user_id=user_id,
                        metric=metric,
                        week=week.date(),
                        at=now,
                        target=float(version["target"]),  # type: ignore[index]
                        value=value,
                    )
            elif not met and existing is not None:
                # withdraw only on totals no newer than the ones read: a settlement that read
                # the week before a concurrent change (which another settlement credited) must
                # not take the credit back (it would be announced again when re-credited)
                if totals is not None:
                    current = await weeks.update_one(
                        {"_id": week_id(user_id, week), "rev": totals.get("rev")},
                        {"$unset": {f"met.{metric}": ""}},
                    )
                    if not current.matched_count:
                        continue  # the totals moved: the next round reads them again
                await ledger.remove_entry(key)
        again = await weeks.find_one({"_id": week_id(user_id, week)}, {"rev": 1})
        if (again or {}).get("rev", 0) == rev:
            return
    log.warning(
        "goals of %s in week %s: still changing after %d rounds", user_id, week, SETTLE_ROUNDS
    )


# --- targets ---------------------------------------------------------------------------------


async def set_target(*, user: User, metric: GoalMetric, target: float) -> GoalRead:
    """Set the weekly target of a metric from the current ISO week on."""
    target = check_target(metric, target)
    now = utcnow()
    week = week_of(now)
    goals = Goal.get_motor_collection()
    await goals.update_one(
        {"_id": version_id(user.id, metric, week)},
        {
            "$set": {"target": target, "until": OPEN_UNTIL, "updated_at": now},
            "$setOnInsert": {
                "user_id": user.id,
                "metric": metric,
                "from_week": week,
                "created_at": now,
            },
        },
        upsert=True,
    )
    await _close_before(user.id, metric, week)
    await _bump(user.id, week)  # type: ignore[arg-type]
    await settle(user.id, week)  # type: ignore[arg-type]
    current = [g for g in await current_goals(user=user) if g.metric == metric]
    return current[0]


async def _close_before(user_id: Any, metric: str, week: datetime) -> int:
    """End the versions of `metric` that started before `week` and were still in force."""
    criteria = GOALS_OF_USER.check(
        {"user_id": user_id, "until": {"$gt": week}, "metric": metric, "from_week": {"$lt": week}}
    )
    result = await Goal.get_motor_collection().update_many(
        criteria, {"$set": {"until": week, "updated_at": utcnow()}}
    )
    return int(result.modified_count)


async def end_goal(*, user: User, metric: GoalMetric) -> None:
    """End a goal before the current week (its past weeks stay in the history); XP it earned
    this week is withdrawn (the week has not ended)."""
    week = week_of(utcnow())
    removed = await Goal.get_motor_collection().delete_one(
        {"_id": version_id(user.id, metric, week)}
    )
    closed = await _close_before(user.id, metric, week)
    if not removed.deleted_count and not closed:
        raise NotFound(f"No weekly {metric} goal")
    await _bump(user.id, week)  # type: ignore[arg-type]
    await settle(user.id, week)  # type: ignore[arg-type]


# --- reads -----------------------------------------------------------------------------------


async def _totals(user_id: Any, weeks: Sequence[datetime]) -> dict[datetime, dict[str, Any]]:
    ids = [week_id(user_id, w) for w in weeks]
    criteria = GOAL_WEEKS.check({"_id": {"$in": ids}})
    found = {}
    async for doc in WeekTotals.get_motor_collection().find(criteria):
        found[as_stored(doc["week"])] = doc
    return found


def percent(value: float, target: float) -> float:
    return round(100 * value / target, 1)


async def current_goals(*, user: User) -> list[GoalRead]:
    """Each goal in force this week with this week's value."""
    week = week_of(utcnow())
    goals = in_force(await _versions(user.id, week, 6 * 3), week)  # type: ignore[arg-type]
    totals = (await _totals(user.id, [week])).get(week)
    read = []
    for metric in METRICS:
        if metric not in goals:
            continue
        version = goals[metric]
        target = float(version["target"])
        value = value_of(metric, totals)
        entry = await ledger.entry(xp_key(user.id, metric, week))
        read.append(
            GoalRead(
                metric=metric,
                target=target,
                since=as_stored(version["from_week"]).date(),
                week=week.date(),
                value=value,
                percent=percent(value, target),
                met=value >= target,
                xp=int(entry["amount"]) if entry else 0,
            )
        )
    return read


def streak(met_by_week: Sequence[bool | None]) -> int:
    """Consecutive met weeks, newest first: from this week if met, else from last week (pure).
    `None`: no goal that week (ends a streak)."""
    weeks = list(met_by_week)
    if weeks and not weeks[0]:
        weeks = weeks[1:]
    count = 0
    for met in weeks:
        if not met:
            break
        count += 1
    return count


async def history(*, user: User, weeks: int) -> GoalHistory:
    """Per week (newest first) and goal: the target then in force, the value and met; and each
    current goal's streak."""
    this_week = week_of(utcnow())
    span = max(weeks, STREAK_CAP + 1)
    all_weeks = [this_week - i * WEEK for i in range(span)]
    versions = await _versions(user.id, all_weeks[-1], 6 * (span + 2))  # type: ignore[arg-type]
    totals = await _totals(user.id, all_weeks)
    rows: list[GoalWeek] = []
    met: dict[str, list[bool | None]] = {m: [] for m in METRICS}
    for i, week in enumerate(all_weeks):
        goals = in_force(versions, week)
        entries = []
        for metric in METRICS:
            version = goals.get(metric)
            if version is None:
                met[metric].append(None)
                continue
            value = value_of(metric, totals.get(week))
            ok = value >= float(version["target"])
            met[metric].append(ok)
            entries.append(
                GoalWeekEntry(metric=metric, target=float(version["target"]), value=value, met=ok)
            )
        if i < weeks:
            rows.append(GoalWeek(week=week.date(), goals=entries))
    current = in_force(versions, this_week)
    streaks = [GoalStreak(metric=m, weeks=streak(met[m])) for m in METRICS if m in current]
    return GoalHistory(weeks=rows, streaks=streaks)


# --- hooks -----------------------------------------------------------------------------------


async def _run_recorded(*, run: Run, **_: Any) -> None:
    await move(run.user_id, week_of(run.started_at), run_amounts(run), 1)


async def _run_changed(*, before: Run, after: Run) -> None:
    await _moved(
        after.user_id,
        (week_of(before.started_at), run_amounts(before)),
        (week_of(after.started_at), run_amounts(after)),
    )


async def _run_deleted(*, run: Run) -> None:
    await move(run.user_id, week_of(run.started_at), run_amounts(run), -1)


async def _workout_recorded(*, workout: Workout, **_: Any) -> None:
    await move(workout.user_id, week_of(workout.started_at), workout_amounts(workout), 1)


async def _workout_changed(*, before: Workout, after: Workout) -> None:
    await _moved(
        after.user_id,
        (week_of(before.started_at), workout_amounts(before)),
        (week_of(after.started_at), workout_amounts(after)),
    )


async def _workout_deleted(*, workout: Workout) -> None:
    await move(workout.user_id, week_of(workout.started_at), workout_amounts(workout), -1)


async def _user_deleted(*, user: User) -> None:
    await Goal.get_motor_collection().delete_many({"user_id": user.id})
    await WeekTotals.get_motor_collection().delete_many({"user_id": user.id})


def connect() -> None:
    events.run_recorded.connect(_run_recorded)
    events.run_changed.connect(_run_changed)
    events.run_deleted.connect(_run_deleted)
    events.workout_recorded.connect(_workout_recorded)
    events.workout_changed.connect(_workout_changed)
    events.workout_deleted.connect(_workout_deleted)
    events.user_deleted.connect(_user_deleted)


connect()

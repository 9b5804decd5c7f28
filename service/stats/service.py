"""A user's statistics: totals of a period, chart series and streaks, computed on read.

Nothing is stored: every number is folded from the day rows of `pipelines` (at most one row per
active day), so stats follow every edit and deletion of a run or workout at once, with no
counters to drift. The cost of a read is bounded by the user's active days in the range (the
streaks read the whole history's active days: at most 366 small rows a year).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from motor.motor_asyncio import AsyncIOMotorCollection

from documents import Run, User, Workout, clock
from service.errors import Unprocessable
from service.leaderboards.periods import Period, midnight
from service.leaderboards.schemas import PeriodRead
from service.stats import calendar, pipelines
from service.stats.calendar import MAX_BUCKETS, BucketKind
from service.stats.schemas import (
    RunStats,
    SeriesRead,
    SeriesRow,
    StatsRead,
    StreakRead,
    WorkoutStats,
)
from service.validation import MIN_DATE

Row = dict[str, Any]
_ONE_DAY = timedelta(days=1)


async def _aggregate(collection: AsyncIOMotorCollection, pipeline: list[Row]) -> list[Row]:
    return await collection.aggregate(pipeline).to_list(length=None)  # type: ignore[no-any-return]


async def _day_rows(
    user_id: PydanticObjectId, start: datetime | None, end: datetime | None
) -> tuple[list[Row], list[Row]]:
    """Run rows and workout rows per active day of `[start, end)`."""
    runs, workouts = await asyncio.gather(
        _aggregate(Run.get_motor_collection(), pipelines.run_days(user_id, start, end)),
        _aggregate(Workout.get_motor_collection(), pipelines.workout_days(user_id, start, end)),
    )
    return runs, workouts


def _day(row: Row) -> date:
    day: datetime = row["_id"]
    return day.date()


def _user_id(user: User) -> PydanticObjectId:
    assert user.id is not None  # a stored user
    return user.id


def run_stats(rows: Iterable[Row]) -> RunStats:
    count = duration = score = 0
    distance = elevation = 0.0
    longest: float | None = None
    for row in rows:
        count += row["runs"]
        distance += row["distance_km"]
        duration += row["duration_s"]
        elevation += row["elevation_gain_m"]
        score += row["score"]
        longest = row["longest_km"] if longest is None else max(longest, row["longest_km"])
    return RunStats(
        count=count,
        distance_km=round(distance, 3),
        duration_s=duration,
        elevation_gain_m=round(elevation, 1),
        score=score,
        avg_pace_s_per_km=round(duration / distance, 1) if distance > 0 else None,
        longest_km=longest,
    )


def workout_stats(rows: Iterable[Row]) -> WorkoutStats:
    count = duration = sets = 0
    volume = 0.0
    for row in rows:
        count += row["workouts"]
        duration += row["duration_s"]
        sets += row["sets"]
        volume += row["volume_kg"]
    return WorkoutStats(count=count, duration_s=duration, sets=sets, volume_kg=round(volume, 3))


async def stats(*, user: User, period: Period, today: date | None = None) -> StatsRead:
    """Totals of `period`, its active days, and the streaks as of today (whole history)."""
    today = today or clock.today()
    user_id = _user_id(user)
    run_rows, workout_rows = await _day_rows(user_id, period.start, period.end)
    if period.start is None and period.end is None:
        # period=all: its rows already hold every active day (days after today are dropped)
        active: list[Row] = run_rows + workout_rows
    else:
        before = midnight(today + _ONE_DAY)
        runs_active, workouts_active = await asyncio.gather(
            _aggregate(Run.get_motor_collection(), pipelines.active_days(user_id, before)),
            _aggregate(Workout.get_motor_collection(), pipelines.active_days(user_id, before)),
        )
        active = runs_active + workouts_active
    streak = calendar.streaks((_day(row) for row in active), today=today)
    return StatsRead(
        user_id=str(user_id),
        period=PeriodRead(kind=period.kind, from_=period.start, to=period.end),
        runs=run_stats(run_rows),
        workouts=workout_stats(workout_rows),
        active_days=len({_day(row) for row in run_rows + workout_rows}),
        streak=StreakRead(
            current_days=streak.current_days,
            longest_days=streak.longest_days,
            current_weeks=streak.current_weeks,
            longest_weeks=streak.longest_weeks,
        ),
    )


def _q(name: str) -> tuple[str, str]:
    return ("query", name)


def series_range(
    kind: BucketKind, from_: date | None, to: date | None, *, today: date
) -> tuple[date, date]:
    """The `[first, end)` of a series: `from`/`to` widened to whole buckets.

    `to` (exclusive) defaults to tomorrow (today included); without `from` the series is the
    `DEFAULT_BUCKETS[kind]` buckets up to `to`. At most `MAX_BUCKETS` buckets, else 422.
    """
    if from_ is not None and to is not None and from_ >= to:
        raise Unprocessable("from must be before to (to is exclusive)", locs=[_q("from"), _q("to")])
    end_day = to or today + _ONE_DAY
    if from_ is not None and from_ >= end_day:
        raise Unprocessable(
            f"from {from_.isoformat()} is after today: give a later to (exclusive)", loc=_q("from")
        )
    if from_ is None:
        end = calendar.widen(kind, end_day - _ONE_DAY, end_day)[1]
        earliest = calendar.bucket_start(kind, MIN_DATE)
        first = max(calendar.previous_buckets(kind, end, calendar.DEFAULT_BUCKETS[kind]), earliest)
        return first, end
    first, end = calendar.widen(kind, from_, end_day)
    count = calendar.bucket_count(kind, first, end)
    if count > MAX_BUCKETS:
        given = [_q(name) for name, value in (("from", from_), ("to", to)) if value is not None]
        raise Unprocessable(
            f"A series holds at most {MAX_BUCKETS} buckets; from {first.isoformat()} to "
            f"{end.isoformat()} is {count} {kind}s: narrow from/to or use a longer bucket",
            locs=given,
        )
    return first, end


def _zero(start: date) -> Row:
    return {
        "start": start,
        "runs": 0,
        "distance_km": 0.0,
        "duration_s": 0,
        "elevation_gain_m": 0.0,
        "score": 0,
        "workouts": 0,
        "workout_duration_s": 0,
        "volume_kg": 0.0,
    }


async def series(*, user: User, kind: BucketKind, first: date, end: date) -> SeriesRead:
    """One zero-filled row per bucket of `[first, end)` (bucket starts), oldest first."""
    user_id = _user_id(user)
    run_rows, workout_rows = await _day_rows(user_id, midnight(first), midnight(end))
    buckets = {start: _zero(start) for start in calendar.bucket_starts(kind, first, end)}
    for row in run_rows:
        bucket = buckets[calendar.bucket_start(kind, _day(row))]
        for field in ("runs", "distance_km", "duration_s", "elevation_gain_m", "score"):
            bucket[field] += row[field]
    for row in workout_rows:
        bucket = buckets[calendar.bucket_start(kind, _day(row))]
        bucket["workouts"] += row["workouts"]
        bucket["workout_duration_s"] += row["duration_s"]
        bucket["volume_kg"] += row["volume_kg"]
    items = [
        SeriesRow(
            **{
                **bucket,
                "distance_km": round(bucket["distance_km"], 3),
                "elevation_gain_m": round(bucket["elevation_gain_m"], 1),
                "volume_kg": round(bucket["volume_kg"], 3),
            }
        )
        for bucket in buckets.values()
    ]
    return SeriesRead(user_id=str(user_id), bucket=kind, from_=first, to=end, items=items)

"""Calendar arithmetic of the statistics: chart buckets and streaks, as pure functions.

A bucket is a UTC day, an ISO week (Monday to Sunday) or a calendar month, named by its first
day. Nothing here reads the clock: callers pass `today`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

from service.leaderboards.periods import next_month

BucketKind = Literal["day", "week", "month"]
BUCKET_KINDS: tuple[str, ...] = get_args(BucketKind)
MAX_BUCKETS = 366
# the range a series covers when `from` is not given: this many buckets up to `to`
DEFAULT_BUCKETS: dict[str, int] = {"day": 30, "week": 12, "month": 12}

_WEEK = timedelta(days=7)


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def bucket_start(kind: BucketKind, day: date) -> date:
    """The first day of the bucket holding `day`."""
    if kind == "day":
        return day
    if kind == "week":
        return week_start(day)
    return day.replace(day=1)


def next_bucket(kind: BucketKind, start: date) -> date:
    """The first day of the bucket after the one starting on `start`."""
    if kind == "day":
        return start + timedelta(days=1)
    if kind == "week":
        return start + _WEEK
    return next_month(start)


def previous_buckets(kind: BucketKind, start: date, count: int) -> date:
    """The first day of the bucket `count` buckets before the one starting on `start`."""
    if kind == "day":
        return start - timedelta(days=count)
    if kind == "week":
        return start - count * _WEEK
    months = start.year * 12 + start.month - 1 - count
    return date(months // 12, months % 12 + 1, 1)


def bucket_count(kind: BucketKind, start: date, end: date) -> int:
    """How many buckets `[start, end)` holds; both are bucket starts."""
    if kind == "day":
        return (end - start).days
    if kind == "week":
        return (end - start).days // 7
    return (end.year - start.year) * 12 + end.month - start.month


def widen(kind: BucketKind, first: date, end: date) -> tuple[date, date]:
    """`[first, end)` widened to whole buckets: from the start of the bucket holding `first` to
    the end of the bucket holding the last day, `end - 1`."""
    return bucket_start(kind, first), next_bucket(kind, bucket_start(kind, end - timedelta(days=1)))


def bucket_starts(kind: BucketKind, start: date, end: date) -> list[date]:
    """Every bucket start in `[start, end)`, oldest first."""
    starts = []
    while start < end:
        starts.append(start)
        start = next_bucket(kind, start)
    return starts


@dataclass(frozen=True)
class Streaks:
    current_days: int
    longest_days: int
    current_weeks: int
    longest_weeks: int


def _runs(keys: list[date], step: timedelta) -> tuple[int, int, date | None]:
    """Over sorted distinct keys: the longest run of consecutive keys (`step` apart), and the
    length and last key of the final run."""
    longest = length = 0
    previous: date | None = None
    for key in keys:
        length = length + 1 if previous is not None and key - previous == step else 1
        longest = max(longest, length)
        previous = key
    return longest, length, previous


def _current(length: int, last: date | None, now: date, step: timedelta) -> int:
    # the final run still counts when it reaches the current key or the one before it
    # (today's or this week's activity may simply not be logged yet)
    return length if last is not None and now - step <= last <= now else 0


def streaks(active: Iterable[date], *, today: date) -> Streaks:
    """Day and ISO-week streaks of the days on which the user was active.

    A day (a week) counts when it holds any activity; days after `today` are ignored. The
    current streak ends today (this week), or yesterday (last week) when today (this week) has
    nothing yet; the longest streak is over the whole history.
    """
    days = sorted({d for d in active if d <= today})
    weeks = sorted({week_start(d) for d in days})
    one_day = timedelta(days=1)
    longest_days, day_run, last_day = _runs(days, one_day)
    longest_weeks, week_run, last_week = _runs(weeks, _WEEK)
    return Streaks(
        current_days=_current(day_run, last_day, today, one_day),
        longest_days=longest_days,
        current_weeks=_current(week_run, last_week, week_start(today), _WEEK),
        longest_weeks=longest_weeks,
    )

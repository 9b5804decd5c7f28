"""Leaderboard periods: `period`, `at`, `from`, `to` resolved into a UTC half-open `[start, end)`.

Every bound is a UTC midnight, so a period is a set of whole score-bucket days. `all` has no
bounds (`start` and `end` are None and the API echoes null). Pure functions: no clock unless the
caller passes none for `today`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args

from documents import clock
from service.errors import Unprocessable
from service.validation import out_of_range

PeriodKind = Literal["all", "day", "week", "month", "year", "custom"]
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)
DEFAULT_PERIOD: PeriodKind = "week"


def _q(name: str) -> tuple[str, str]:
    return ("query", name)


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: datetime | None  # inclusive UTC midnight; None for `all`
    end: datetime | None  # exclusive UTC midnight; None for `all`


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after the one `day` is in."""
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def bounds(kind: PeriodKind, at: date) -> tuple[date, date]:
    """`[first day, day after the last)` of the day/week/month/year containing `at`."""
    if kind == "day":
        return at, at + timedelta(days=1)
    if kind == "week":  # ISO week: Monday to Sunday
        monday = at - timedelta(days=at.weekday())
        return monday, monday + timedelta(days=7)
    if kind == "month":
        return month_start(at), next_month(at)
    if kind == "year":
        return date(at.year, 1, 1), date(at.year + 1, 1, 1)
    raise ValueError(f"{kind!r} has no calendar bounds")


def resolve(
    kind: PeriodKind = DEFAULT_PERIOD,
    *,
    at: date | None = None,
    from_: date | None = None,
    to: date | None = None,
    today: date | None = None,
) -> Period:
    """The UTC `[start, end)` a leaderboard covers.

    `at` (default: today, UTC) picks the day/week/month/year; `all` ignores it. `from`/`to` are
    only for `custom`, which needs both and `from < to`; anything else is a 422.
    """
    if kind not in PERIOD_KINDS:
        raise Unprocessable(
            f"Unknown period {kind!r}; use one of {', '.join(PERIOD_KINDS)}", loc=_q("period")
        )
    given = {"at": at, "from": from_, "to": to}
    for name, day in given.items():
        # the API bounds them already; checked here too so no caller can overflow a date
        if day is not None and (reason := out_of_range(day)):
            raise Unprocessable(f"{name} {reason}", loc=_q(name))
    if kind != "custom" and (from_ is not None or to is not None):
        named = [_q(n) for n in ("from", "to") if given[n] is not None]
        raise Unprocessable("from/to apply only to period=custom", locs=named)
    if kind == "all":
        return Period("all", None, None)
    if kind == "custom":
        if at is not None:
            raise Unprocessable("at does not apply to period=custom; use from and to", loc=_q("at"))
        if from_ is None or to is None:
            missing = [_q(n) for n in ("from", "to") if given[n] is None]
            raise Unprocessable("period=custom needs both from and to", locs=missing)
        if from_ >= to:
            raise Unprocessable(
                "period=custom needs from < to (to is exclusive)", locs=[_q("from"), _q("to")]
            )
        return Period("custom", midnight(from_), midnight(to))
    if at is None:
        at = today or clock.today()
    # bounded dates: the period around 2100-12-31 ends in 2101, far from date.max
    first, after = bounds(kind, at)
    return Period(kind, midnight(first), midnight(after))


@dataclass(frozen=True)
class Split:
    """A period cut into whole months (read from month rollups) and the days around them."""

    months: tuple[datetime | None, datetime | None] | None  # [first month, end) or None
    days: list[tuple[datetime, datetime]]  # day ranges [start, end) read from day buckets


def split(period: Period) -> Split:
    """Cover `period` with as few buckets as possible: whole months, then the leftover days.

    `all` is every month rollup. A week or day never spans a whole month, so it reads days only;
    a year reads at most 12 month rollups per entity; a custom range reads its whole months plus
    fewer than two months of days at its edges.
    """
    if period.start is None or period.end is None:
        return Split(months=(None, None), days=[])
    start, end = period.start.date(), period.end.date()
    first_whole = start if start.day == 1 else next_month(start)
    last_whole_end = month_start(end)
    if first_whole >= last_whole_end:
        return Split(months=None, days=[(period.start, period.end)])
    days = []
    if start < first_whole:
        days.append((period.start, midnight(first_whole)))
    if last_whole_end < end:
        days.append((midnight(last_whole_end), period.end))
    return Split(months=(midnight(first_whole), midnight(last_whole_end)), days=days)

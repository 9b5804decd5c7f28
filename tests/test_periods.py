from datetime import UTC, date, datetime

import pytest

from service.errors import Unprocessable
from service.leaderboards.periods import Period, resolve, split

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kind", "at", "start", "end"),
    [
        ("day", date(2026, 2, 28), utc(2026, 2, 28), utc(2026, 3, 1)),
        # ISO weeks start on Monday, also across a year end (2026-W01 starts 2025-12-29)
        ("week", date(2026, 1, 1), utc(2025, 12, 29), utc(2026, 1, 5)),
        ("week", date(2026, 2, 2), utc(2026, 2, 2), utc(2026, 2, 9)),  # a Monday
        ("week", date(2026, 2, 8), utc(2026, 2, 2), utc(2026, 2, 9)),  # a Sunday
        ("month", date(2024, 2, 29), utc(2024, 2, 1), utc(2024, 3, 1)),
        ("month", date(2025, 12, 31), utc(2025, 12, 1), utc(2026, 1, 1)),
        ("year", date(2026, 7, 4), utc(2026, 1, 1), utc(2027, 1, 1)),
    ],
)
def test_calendar_periods_are_utc_half_open(
    kind: str, at: date, start: datetime, end: datetime
) -> None:
    assert resolve(kind, at=at) == Period(kind, start, end)  # type: ignore[arg-type]


def test_default_is_this_iso_week_and_all_has_no_bounds() -> None:
    assert resolve(today=date(2026, 11, 22)) == Period("week", utc(2026, 11, 16), utc(2026, 11, 23))
    assert resolve("all") == Period("all", None, None)
    assert resolve("all", at=date(2020, 1, 1)) == Period("all", None, None)


def test_custom_is_from_inclusive_to_exclusive() -> None:
    period = resolve("custom", from_=date(2026, 1, 30), to=date(2026, 2, 2))
    assert period == Period("custom", utc(2026, 1, 30), utc(2026, 2, 2))


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("custom", {"from_": date(2026, 2, 2), "to": date(2026, 2, 2)}),
        ("custom", {"from_": date(2026, 2, 3), "to": date(2026, 2, 2)}),
        ("custom", {"from_": date(2026, 2, 2)}),
        ("custom", {"to": date(2026, 2, 2)}),
        ("custom", {"at": date(2026, 2, 2), "from_": date(2026, 2, 1), "to": date(2026, 2, 2)}),
        ("week", {"from_": date(2026, 2, 1)}),
        ("all", {"to": date(2026, 2, 1)}),
        ("fortnight", {}),
        ("month", {"at": date(9999, 12, 5)}),
        ("year", {"at": date.max}),
    ],
)
def test_inconsistent_parameters_are_rejected(kind: str, params: dict[str, date]) -> None:
    with pytest.raises(Unprocessable):
        resolve(kind, **params)  # type: ignore[arg-type]


def test_split_reads_whole_months_and_the_days_around_them() -> None:
    week = resolve("week", at=date(2026, 1, 1))
    assert split(week).months is None
    assert split(week).days == [(week.start, week.end)]
    year = split(resolve("year", at=date(2026, 5, 5)))
    assert year.months == (utc(2026, 1, 1), utc(2027, 1, 1))
    assert year.days == []
    custom = split(resolve("custom", from_=date(2025, 11, 15), to=date(2026, 2, 10)))
    assert custom.months == (utc(2025, 12, 1), utc(2026, 2, 1))
    assert custom.days == [
        (utc(2025, 11, 15), utc(2025, 12, 1)),
        (utc(2026, 2, 1), utc(2026, 2, 10)),
    ]
    inside = split(resolve("custom", from_=date(2026, 1, 2), to=date(2026, 1, 31)))
    assert inside.months is None
    assert split(resolve("all")).months == (None, None)

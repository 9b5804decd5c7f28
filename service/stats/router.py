from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from documents import clock
from service.errors import problem_responses
from service.leaderboards.dependencies import PeriodDep
from service.social.dependencies import SummaryOwnerDep
from service.stats import service as stats
from service.stats.calendar import DEFAULT_BUCKETS, BucketKind
from service.stats.schemas import SeriesRead, StatsRead
from service.validation import IsoDate

router = APIRouter(tags=["stats"])


async def series_params(
    bucket: Annotated[
        BucketKind, Query(description="day, week (ISO, from Monday) or month (UTC)")
    ] = "day",
    from_: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description="First day (widened to its bucket's start); default: "
            f"{DEFAULT_BUCKETS['day']} days, {DEFAULT_BUCKETS['week']} weeks or "
            f"{DEFAULT_BUCKETS['month']} months before to",
        ),
    ] = None,
    to: Annotated[
        IsoDate | None,
        Query(description="End day, exclusive (widened to its bucket's end); default tomorrow"),
    ] = None,
) -> tuple[BucketKind, date, date]:
    first, end = stats.series_range(bucket, from_, to, today=clock.today())
    return bucket, first, end


SeriesParams = Annotated[tuple[BucketKind, date, date], Depends(series_params)]


@router.get(
    "/users/{user_id}/stats",
    summary="A user's statistics",
    response_model=StatsRead,
    responses=problem_responses(401, 404, 422),
)
async def user_stats(target: SummaryOwnerDep, period: PeriodDep) -> StatsRead:
    """Run and workout totals, active days of the period (the leaderboards' period rules), and
    day/week streaks over the user's whole history up to now; shown to whoever the user's
    `default_visibility` lets see them (else 404)."""
    return await stats.stats(user=target, period=period)


@router.get(
    "/users/{user_id}/stats/series",
    summary="A user's activity per day, week or month",
    response_model=SeriesRead,
    responses=problem_responses(401, 404, 422),
)
async def user_series(target: SummaryOwnerDep, params: SeriesParams) -> SeriesRead:
    """One zero-filled row per bucket of [from, to), oldest first, ready for a chart (at most
    366 buckets); shown like the user's stats (else 404)."""
    bucket, first, end = params
    return await stats.series(user=target, kind=bucket, first=first, end=end)

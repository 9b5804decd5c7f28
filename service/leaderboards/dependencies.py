from typing import Annotated

from fastapi import Depends, Query

from service.leaderboards import periods
from service.leaderboards.periods import DEFAULT_PERIOD, Period, PeriodKind
from service.validation import IsoDate


async def period_params(
    period: Annotated[
        PeriodKind, Query(description="all, day, week (ISO, from Monday), month, year or custom")
    ] = DEFAULT_PERIOD,
    at: Annotated[
        IsoDate | None, Query(description="A date inside the period (UTC); default today")
    ] = None,
    from_: Annotated[
        IsoDate | None, Query(alias="from", description="custom only: first day (inclusive)")
    ] = None,
    to: Annotated[IsoDate | None, Query(description="custom only: end day (exclusive)")] = None,
) -> Period:
    return periods.resolve(period, at=at, from_=from_, to=to)


PeriodDep = Annotated[Period, Depends(period_params)]

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query

from documents import Run
from service.ids import object_id_or_404
from service.runs import service as runs
from service.runs.schemas import UtcDateTime
from service.security import CurrentUser

OBJECT_ID = r"^[0-9a-fA-F]{24}$"


async def run_or_404(
    run_id: Annotated[str, Path(description="Run id")], user: CurrentUser
) -> Run:
    # depends on the token first: without one the answer is 401, whether the run exists or not;
    # a run the user may not see is a 404 as well (service.social.access)
    return await runs.get_visible(object_id_or_404(run_id, "Run"), user)


RunDep = Annotated[Run, Depends(run_or_404)]


def _date_range(
    started_from: Annotated[
        UtcDateTime | None,
        Query(alias="from", description="Runs that started at or after (ISO 8601 date or time)"),
    ] = None,
    started_to: Annotated[
        UtcDateTime | None,
        Query(alias="to", description="Runs that started before (exclusive)"),
    ] = None,
) -> tuple[datetime | None, datetime | None]:
    return started_from, started_to


DateRange = Annotated[tuple[datetime | None, datetime | None], Depends(_date_range)]
TeamIdFilter = Annotated[str | None, Query(pattern=OBJECT_ID, description="Team id")]
CityIdFilter = Annotated[str | None, Query(pattern=OBJECT_ID, description="City id")]
UserIdFilter = Annotated[str | None, Query(pattern=OBJECT_ID, description="Runner's user id")]

from typing import Annotated

from fastapi import Depends, Path, Query

from documents import Run
from service.ids import object_id_or_404
from service.pagination import StartedRange, started_range_params
from service.runs import service as runs
from service.security import CurrentUser

OBJECT_ID = r"^[0-9a-fA-F]{24}$"


async def run_or_404(run_id: Annotated[str, Path(description="Run id")], user: CurrentUser) -> Run:
    # depends on the token first: without one the answer is 401, whether the run exists or not;
    # a run the user may not see is a 404 as well (service.social.access)
    return await runs.get_visible(object_id_or_404(run_id, "Run"), user)


RunDep = Annotated[Run, Depends(run_or_404)]


DateRange = Annotated[StartedRange, Depends(started_range_params("Runs"))]
TeamIdFilter = Annotated[str | None, Query(pattern=OBJECT_ID, description="Team id")]
CityIdFilter = Annotated[str | None, Query(pattern=OBJECT_ID, description="City id")]
UserIdFilter = Annotated[str | None, Query(pattern=OBJECT_ID, description="Runner's user id")]

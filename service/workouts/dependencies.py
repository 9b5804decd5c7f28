from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query

from documents import Workout
from service.ids import object_id_or_404
from service.security import CurrentUser
from service.validation import IsoDateTime
from service.workouts import service as workouts


async def workout_or_404(
    workout_id: Annotated[str, Path(description="Workout id")], user: CurrentUser
) -> Workout:
    # depends on the token first: without one the answer is 401, whether the workout exists or
    # not; one the user may not see is a 404 as well (service.social.access)
    return await workouts.get_visible(object_id_or_404(workout_id, "Workout"), user)


WorkoutDep = Annotated[Workout, Depends(workout_or_404)]


def _date_range(
    started_from: Annotated[
        IsoDateTime | None,
        Query(alias="from", description="Workouts that started at or after (ISO 8601)"),
    ] = None,
    started_to: Annotated[
        IsoDateTime | None,
        Query(alias="to", description="Workouts that started before (exclusive)"),
    ] = None,
) -> tuple[datetime | None, datetime | None]:
    return started_from, started_to


DateRange = Annotated[tuple[datetime | None, datetime | None], Depends(_date_range)]
UserIdFilter = Annotated[
    str | None, Query(pattern=r"^[0-9a-fA-F]{24}$", description="Owner's user id")
]

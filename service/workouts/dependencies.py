from typing import Annotated

from fastapi import Depends, Path, Query

from documents import Workout
from service.ids import object_id_or_404
from service.pagination import StartedRange, started_range_params
from service.security import CurrentUser
from service.workouts import service as workouts


async def workout_or_404(
    workout_id: Annotated[str, Path(description="Workout id")], user: CurrentUser
) -> Workout:
    # depends on the token first: without one the answer is 401, whether the workout exists or
    # not; one the user may not see is a 404 as well (service.social.access)
    return await workouts.get_visible(object_id_or_404(workout_id, "Workout"), user)


WorkoutDep = Annotated[Workout, Depends(workout_or_404)]


DateRange = Annotated[StartedRange, Depends(started_range_params("Workouts"))]
UserIdFilter = Annotated[
    str | None, Query(pattern=r"^[0-9a-fA-F]{24}$", description="Owner's user id")
]

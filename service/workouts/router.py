from beanie import PydanticObjectId
from fastapi import APIRouter, Response, status

from service.accounts.dependencies import UserDep
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.security import CurrentUser
from service.workouts import service as workouts
from service.workouts.dependencies import DateRange, UserIdFilter, WorkoutDep
from service.workouts.schemas import WorkoutCreate, WorkoutRead, WorkoutUpdate
from service.workouts.service import WorkoutFilters

router = APIRouter(tags=["workouts"])


@router.post(
    "/workouts",
    summary="Record a workout",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkoutRead,
    responses=problem_responses(401, 413, 422),
)
async def record_workout(data: WorkoutCreate, user: CurrentUser) -> WorkoutRead:
    """Log a workout: 1-200 sets, each with exactly the measures its exercise takes."""
    return await workouts.read(await workouts.record(user=user, data=data))


@router.get(
    "/workouts",
    summary="List workouts",
    response_model=Page[WorkoutRead],
    responses=problem_responses(401, 422),
)
async def list_workouts(
    user: CurrentUser, page: PageDep, dates: DateRange, user_id: UserIdFilter = None
) -> Page[WorkoutRead]:
    """Workouts of everyone that you may see (public ones, your own, your friends' `friends`
    ones), newest start first, filtered by owner and [from, to)."""
    filters = WorkoutFilters(
        user_id=PydanticObjectId(user_id) if user_id else None,
        started_from=dates[0],
        started_to=dates[1],
    )
    return await workouts.search(filters=filters, page=page, viewer=user)


@router.get(
    "/users/{user_id}/workouts",
    summary="A user's workouts",
    response_model=Page[WorkoutRead],
    responses=problem_responses(401, 404, 422),
    tags=["users"],
)
async def list_user_workouts(
    user: CurrentUser, target: UserDep, page: PageDep, dates: DateRange
) -> Page[WorkoutRead]:
    """One user's workouts that you may see, newest start first (same filters as GET
    /workouts)."""
    filters = WorkoutFilters(user_id=target.id, started_from=dates[0], started_to=dates[1])
    return await workouts.search(filters=filters, page=page, viewer=user)


@router.get(
    "/workouts/{workout_id}",
    summary="A workout",
    response_model=WorkoutRead,
    responses=problem_responses(401, 404),
)
async def get_workout(workout: WorkoutDep, user: CurrentUser) -> WorkoutRead:
    """A workout you may see (else 404), with each set's exercise name."""
    return await workouts.read(workout, user)


@router.patch(
    "/workouts/{workout_id}",
    summary="Edit a workout",
    response_model=WorkoutRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_workout(
    user: CurrentUser, workout: WorkoutDep, changes: WorkoutUpdate
) -> WorkoutRead:
    """Change your own workout (`sets` replaces them all; `visibility`); totals are
    recomputed."""
    return await workouts.read(
        await workouts.update(workout=workout, changes=changes, actor=user), user
    )


@router.delete(
    "/workouts/{workout_id}",
    summary="Delete a workout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_workout(user: CurrentUser, workout: WorkoutDep) -> Response:
    """Delete your workout (admins: any workout)."""
    await workouts.delete(workout=workout, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

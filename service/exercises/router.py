from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from documents.workout import ExerciseCategory
from service.errors import problem_responses
from service.exercises import service as exercises
from service.exercises.dependencies import ExerciseDep
from service.exercises.schemas import (
    Equipment,
    ExerciseCreate,
    ExerciseRead,
    ExerciseUpdate,
    Muscle,
)
from service.pagination import Page, PageDep
from service.security import CurrentUser, OptionalUser
from service.validation import SearchText

router = APIRouter(tags=["exercises"])


@router.get(
    "/exercises",
    summary="List exercises",
    response_model=Page[ExerciseRead],
    responses=problem_responses(401, 422),
)
async def list_exercises(
    viewer: OptionalUser,
    page: PageDep,
    search: Annotated[
        SearchText | None,
        Query(max_length=80, description="Part of the name, case-insensitive"),
    ] = None,
    category: ExerciseCategory | None = None,
    muscle: Annotated[Muscle | None, Query(description="A primary muscle")] = None,
    equipment: Equipment | None = None,
) -> Page[ExerciseRead]:
    """The public catalogue, plus your private exercises when signed in, sorted by name."""
    return await exercises.search(
        viewer=viewer,
        page=page,
        search=search,
        category=category,
        muscle=muscle,
        equipment=equipment,
    )


@router.get(
    "/exercises/{exercise_id}",
    summary="An exercise",
    response_model=ExerciseRead,
    responses=problem_responses(401, 404),
)
async def get_exercise(exercise: ExerciseDep) -> ExerciseRead:
    """A public exercise, or one of your private ones."""
    return exercises.to_read(exercise)


@router.post(
    "/exercises",
    summary="Add an exercise",
    status_code=status.HTTP_201_CREATED,
    response_model=ExerciseRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_exercise(data: ExerciseCreate, user: CurrentUser) -> ExerciseRead:
    """Admins add to the public catalogue; anyone adds private exercises of their own."""
    return exercises.to_read(await exercises.create(data=data, actor=user))


@router.patch(
    "/exercises/{exercise_id}",
    summary="Edit an exercise",
    response_model=ExerciseRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_exercise(
    user: CurrentUser, exercise: ExerciseDep, changes: ExerciseUpdate
) -> ExerciseRead:
    """Edit your private exercise (admins: public ones); measures are fixed once in use."""
    return exercises.to_read(await exercises.update(exercise=exercise, changes=changes, actor=user))


@router.delete(
    "/exercises/{exercise_id}",
    summary="Delete an exercise",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_exercise(user: CurrentUser, exercise: ExerciseDep) -> Response:
    """Delete your private exercise (admins: public ones) unless a workout uses it (409)."""
    await exercises.delete(exercise=exercise, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

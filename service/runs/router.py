from datetime import datetime
from typing import Annotated, Any

from beanie import PydanticObjectId
from fastapi import APIRouter, Header, Response, status

from service.accounts.dependencies import UserDep
from service.errors import PROBLEM_JSON, problem_responses
from service.pagination import Page, PageDep
from service.runs import service as runs
from service.runs.dependencies import (
    CityIdFilter,
    DateRange,
    RunDep,
    TeamIdFilter,
    UserIdFilter,
)
from service.runs.limits import MAX_IDEMPOTENCY_KEY_LENGTH
from service.runs.schemas import RunConflictProblem, RunCreate, RunDetail, RunRead, RunUpdate
from service.runs.service import RunFilters
from service.security import CurrentUser

router = APIRouter(tags=["runs"])

GPX_MEDIA_TYPE = "application/gpx+xml"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        pattern=r"^[\x20-\x7e]+$",
        description="Retrying with the same key returns the first run (200) and counts it once",
    ),
]


# 409: the run overlaps another of the runner's runs (problem+json with conflicting_run_id)
OVERLAP_409: dict[int | str, dict[str, Any]] = {
    409: {
        "model": RunConflictProblem,
        "description": "Overlaps another of your runs in time (`conflicting_run_id`), or a "
        "concurrent change to your runs did not finish in time (retry)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/RunConflictProblem"}}},
    }
}


def _oid(value: str | None) -> PydanticObjectId | None:
    return PydanticObjectId(value) if value is not None else None


def _filters(
    user_id: PydanticObjectId | None,
    team_id: str | None,
    city_id: str | None,
    dates: tuple[datetime | None, datetime | None],
) -> RunFilters:
    """The list filters shared by GET /runs and GET /users/{id}/runs."""
    return RunFilters(
        user_id=user_id,
        team_id=_oid(team_id),
        city_id=_oid(city_id),
        started_from=dates[0],
        started_to=dates[1],
    )


@router.post(
    "/runs",
    summary="Record a run",
    status_code=status.HTTP_201_CREATED,
    response_model=RunDetail,
    responses={
        200: {"model": RunDetail, "description": "Idempotent replay: the run already recorded"},
        **problem_responses(401, 403, 404, 413, 422),
        **OVERLAP_409,
    },
)
async def record_run(
    data: RunCreate,
    user: CurrentUser,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RunDetail:
    """Log a run; the server scores it and credits it to your team and home city."""
    run, created = await runs.record(user=user, data=data, idempotency_key=idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return await runs.read(run=run, viewer=user)


@router.get(
    "/runs",
    summary="List runs",
    response_model=Page[RunRead],
    responses=problem_responses(401, 422),
)
async def list_runs(
    user: CurrentUser,
    page: PageDep,
    dates: DateRange,
    user_id: UserIdFilter = None,
    team_id: TeamIdFilter = None,
    city_id: CityIdFilter = None,
) -> Page[RunRead]:
    """Runs of everyone that you may see (public ones, your own, your friends' `friends` ones),
    newest start first, filtered by runner, team, city and [from, to)."""
    filters = _filters(_oid(user_id), team_id, city_id, dates)
    return await runs.search(filters=filters, page=page, viewer=user)


@router.get(
    "/users/{user_id}/runs",
    summary="A user's runs",
    response_model=Page[RunRead],
    responses=problem_responses(401, 404, 422),
    tags=["users"],
)
async def list_user_runs(
    user: CurrentUser,
    target: UserDep,
    page: PageDep,
    dates: DateRange,
    team_id: TeamIdFilter = None,
    city_id: CityIdFilter = None,
) -> Page[RunRead]:
    """One runner's runs that you may see, newest start first (same filters as GET /runs)."""
    filters = _filters(target.id, team_id, city_id, dates)
    return await runs.search(filters=filters, page=page, viewer=user)


@router.get(
    "/runs/{run_id}",
    summary="A run",
    response_model=RunDetail,
    responses=problem_responses(401, 404),
)
async def get_run(user: CurrentUser, run: RunDep) -> RunDetail:
    """A run you may see (else 404), with its GPS route unless the runner hid it; others never
    receive the route's points inside the runner's privacy zones."""
    return await runs.read(run=run, viewer=user)


@router.get(
    "/runs/{run_id}/route.gpx",
    summary="A run's route as GPX",
    response_class=Response,
    responses={
        200: {
            "content": {GPX_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "GPX 1.1: one track with times, elevations and heart rate "
            "(gpxtpx:TrackPointExtension), as an attachment",
        },
        **problem_responses(401, 404),
    },
)
async def get_route_gpx(user: CurrentUser, run: RunDep) -> Response:
    """Download a run's GPS route as a GPX 1.1 file, as `GET /runs/{id}` shows it (404 when
    you may not see the run or its route, or it has none)."""
    content = await runs.route_gpx(run=run, viewer=user)
    return Response(
        content,
        media_type=GPX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="run-{run.id}.gpx"'},
    )


@router.patch(
    "/runs/{run_id}",
    summary="Edit a run",
    response_model=RunDetail,
    responses={**problem_responses(401, 403, 404, 422), **OVERLAP_409},
)
async def update_run(user: CurrentUser, run: RunDep, changes: RunUpdate) -> RunDetail:
    """Change notes, team, distance, duration, start, elevation, visibility or hide_route of
    your own run (re-scored)."""
    run = await runs.update(run=run, changes=changes, actor=user)
    return await runs.read(run=run, viewer=user)


@router.delete(
    "/runs/{run_id}",
    summary="Delete a run",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_run(user: CurrentUser, run: RunDep) -> Response:
    """Delete your run (admins: any run); its score leaves every total."""
    await runs.delete(run=run, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

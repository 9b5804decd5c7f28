"""Competitions and their events: anyone reads, admins write.

Admin routes take `AdminUser` before the loader so a caller without the role learns 401/403,
not whether an id exists.
"""

from fastapi import APIRouter, Response, status

from service.competitions import service as competitions
from service.competitions.dependencies import CompetitionDep, CompetitionFiltersDep, EventDep
from service.competitions.schemas import (
    BatchGetIn,
    CompetitionBatch,
    CompetitionCreate,
    CompetitionRead,
    CompetitionUpdate,
    EventCreate,
    EventRead,
    EventUpdate,
)
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.security import AdminUser

competitions_router = APIRouter(tags=["competitions"])
events_router = APIRouter(tags=["events"])


@competitions_router.post(
    "/competitions",
    summary="Create a competition (admin)",
    status_code=status.HTTP_201_CREATED,
    response_model=CompetitionRead,
    responses=problem_responses(401, 403, 422),
)
async def create_competition(admin: AdminUser, data: CompetitionCreate) -> CompetitionRead:
    """A place and date range where athletes compete; `status` defaults to `scheduled`."""
    return await competitions.create(data=data)


@competitions_router.get(
    "/competitions",
    summary="Search competitions",
    response_model=Page[CompetitionRead],
    responses=problem_responses(422),
)
async def list_competitions(filters: CompetitionFiltersDep, page: PageDep) -> Page[CompetitionRead]:
    """By start date; `from`/`to` keep competitions overlapping that date range."""
    return await competitions.search(filters=filters, page=page)


@competitions_router.post(
    "/competitions/batch-get",
    summary="Get a batch of competitions",
    response_model=CompetitionBatch,
    responses=problem_responses(422),
)
async def batch_get_competitions(data: BatchGetIn) -> CompetitionBatch:
    """Up to 100 competitions by id, in the order asked; unknown ids come back in `missing`."""
    return await competitions.batch_get(ids=data.ids)


@competitions_router.get(
    "/competitions/{competition_id}",
    summary="Competition by id",
    response_model=CompetitionRead,
    responses=problem_responses(404),
)
async def get_competition(competition: CompetitionDep) -> CompetitionRead:
    """One competition."""
    return competitions.to_read(competition)


@competitions_router.patch(
    "/competitions/{competition_id}",
    summary="Update a competition (admin)",
    response_model=CompetitionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_competition(
    admin: AdminUser, competition: CompetitionDep, changes: CompetitionUpdate
) -> CompetitionRead:
    """Change any field, or cancel it with `status: cancelled`; dates must keep its events."""
    return await competitions.update(competition=competition, changes=changes)


@competitions_router.delete(
    "/competitions/{competition_id}",
    summary="Delete a competition (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_competition(admin: AdminUser, competition: CompetitionDep) -> Response:
    """Delete it with its events and every calendar entry pointing at them."""
    await competitions.delete(competition=competition)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@events_router.post(
    "/competitions/{competition_id}/events",
    summary="Add an event (admin)",
    status_code=status.HTTP_201_CREATED,
    response_model=EventRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def create_event(
    admin: AdminUser, competition: CompetitionDep, data: EventCreate
) -> EventRead:
    """An event of the competition; `starts_at` (UTC) must fall on one of its days."""
    return await competitions.create_event(competition=competition, data=data)


@events_router.get(
    "/competitions/{competition_id}/events",
    summary="A competition's events",
    response_model=Page[EventRead],
    responses=problem_responses(404),
)
async def list_events(competition: CompetitionDep, page: PageDep) -> Page[EventRead]:
    """The competition's events by start time."""
    return await competitions.list_events(competition=competition, page=page)


@events_router.get(
    "/events/{event_id}",
    summary="Event by id",
    response_model=EventRead,
    responses=problem_responses(404),
)
async def get_event(event: EventDep) -> EventRead:
    """One event."""
    return competitions.event_to_read(event)


@events_router.patch(
    "/events/{event_id}",
    summary="Update an event (admin)",
    response_model=EventRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_event(admin: AdminUser, event: EventDep, changes: EventUpdate) -> EventRead:
    """Rename or move an event; calendars follow the new start time."""
    return await competitions.update_event(event=event, changes=changes)


@events_router.delete(
    "/events/{event_id}",
    summary="Delete an event (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_event(admin: AdminUser, event: EventDep) -> Response:
    """Delete an event and the calendar entries pointing at it."""
    await competitions.delete_event(event=event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# main.py includes this one router; the two above only give the routes their OpenAPI tags
router = APIRouter()
router.include_router(competitions_router)
router.include_router(events_router)

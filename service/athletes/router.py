"""Athlete profiles and calendars (`/athletes`), and follows (`/users/me/following`)."""

from fastapi import APIRouter, Response, status

from service.accounts.schemas import UserPublic
from service.athletes import service as athletes
from service.athletes.dependencies import (
    AthleteDep,
    AthleteFiltersDep,
    AthleteIdDep,
    CalendarFiltersDep,
    MyAthleteDep,
    MyEntryDep,
)
from service.athletes.schemas import (
    AthleteCreate,
    AthleteRead,
    AthleteSummary,
    AthleteUpdate,
    CalendarEntryCreate,
    CalendarEntryRead,
    CalendarEntryUpdate,
    FollowedAthlete,
    UpcomingCompetition,
)
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.security import CurrentUser

athletes_router = APIRouter(prefix="/athletes", tags=["athletes"])
follows_router = APIRouter(prefix="/users/me/following", tags=["follows"])

NO_CONTENT = status.HTTP_204_NO_CONTENT


# /athletes/me... is declared before /athletes/{athlete_id} so "me" is never taken for an id.


@athletes_router.post(
    "/me",
    summary="Become an athlete",
    status_code=status.HTTP_201_CREATED,
    response_model=AthleteRead,
    responses=problem_responses(401, 409, 422),
)
async def create_my_profile(user: CurrentUser, data: AthleteCreate) -> AthleteRead:
    """Create the caller's athlete profile; its id is the caller's user id."""
    return await athletes.create(user=user, data=data)


@athletes_router.get(
    "/me",
    summary="My athlete profile",
    response_model=AthleteRead,
    responses=problem_responses(401, 404),
)
async def read_my_profile(athlete: MyAthleteDep) -> AthleteRead:
    """The caller's athlete profile with followers and upcoming entries."""
    return await athletes.read(athlete)


@athletes_router.patch(
    "/me",
    summary="Update my athlete profile",
    response_model=AthleteRead,
    responses=problem_responses(401, 404, 422),
)
async def update_my_profile(athlete: MyAthleteDep, changes: AthleteUpdate) -> AthleteRead:
    """Change disciplines, bio, nationality, club or birth year."""
    return await athletes.update(athlete=athlete, changes=changes)


@athletes_router.delete(
    "/me",
    summary="Stop being an athlete",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def delete_my_profile(athlete: MyAthleteDep) -> Response:
    """Delete the caller's athlete profile, calendar and followers (the account stays)."""
    await athletes.delete(athlete=athlete)
    return Response(status_code=NO_CONTENT)


@athletes_router.post(
    "/me/calendar",
    summary="Add an event to my calendar",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarEntryRead,
    responses=problem_responses(401, 404, 409, 422),
)
async def add_calendar_entry(athlete: MyAthleteDep, data: CalendarEntryCreate) -> CalendarEntryRead:
    """Enter a future event of a competition that is not cancelled, once per event."""
    return await athletes.add_entry(athlete=athlete, data=data)


@athletes_router.patch(
    "/me/calendar/{entry_id}",
    summary="Update an entry of my calendar",
    response_model=CalendarEntryRead,
    responses=problem_responses(401, 404, 422),
)
async def update_calendar_entry(
    entry: MyEntryDep, changes: CalendarEntryUpdate
) -> CalendarEntryRead:
    """Confirm, withdraw or re-plan an entry, or change its notes."""
    return await athletes.update_entry(entry=entry, changes=changes)


@athletes_router.delete(
    "/me/calendar/{entry_id}",
    summary="Remove an entry from my calendar",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def delete_calendar_entry(entry: MyEntryDep) -> Response:
    """Remove one of the caller's calendar entries."""
    await athletes.delete_entry(entry=entry)
    return Response(status_code=NO_CONTENT)


@athletes_router.get(
    "",
    summary="Search athletes",
    response_model=Page[AthleteSummary],
    responses=problem_responses(422),
)
async def list_athletes(filters: AthleteFiltersDep, page: PageDep) -> Page[AthleteSummary]:
    """Athletes by name; `search` is part of the name, the other filters match exactly."""
    return await athletes.search(filters=filters, page=page)


@athletes_router.get(
    "/{athlete_id}",
    summary="Athlete by id",
    response_model=AthleteRead,
    responses=problem_responses(404),
)
async def get_athlete(athlete: AthleteDep) -> AthleteRead:
    """Profile, name, followers count and the next 5 upcoming calendar entries."""
    return await athletes.read(athlete)


@athletes_router.get(
    "/{athlete_id}/calendar",
    summary="An athlete's calendar",
    response_model=Page[CalendarEntryRead],
    responses=problem_responses(404, 422),
)
async def get_calendar(
    athlete: AthleteDep, filters: CalendarFiltersDep, page: PageDep
) -> Page[CalendarEntryRead]:
    """Entries with their event and competition, by event time; withdrawn ones on request."""
    return await athletes.calendar(athlete=athlete, filters=filters, page=page)


@athletes_router.get(
    "/{athlete_id}/followers",
    summary="An athlete's followers",
    response_model=Page[UserPublic],
    responses=problem_responses(404),
)
async def get_followers(athlete: AthleteDep, page: PageDep) -> Page[UserPublic]:
    """Public profiles of the users following this athlete, most recent first."""
    return await athletes.followers(athlete=athlete, page=page)


@follows_router.get(
    "",
    summary="Athletes I follow",
    response_model=Page[FollowedAthlete],
    responses=problem_responses(401),
)
async def list_following(user: CurrentUser, page: PageDep) -> Page[FollowedAthlete]:
    """The athletes the caller follows, most recently followed first."""
    return await athletes.following(user=user, page=page)


@follows_router.get(
    "/upcoming",
    summary="Where the athletes I follow compete next",
    response_model=Page[UpcomingCompetition],
    responses=problem_responses(401),
)
async def upcoming(user: CurrentUser, page: PageDep) -> Page[UpcomingCompetition]:
    """Competitions not cancelled and not over where a followed athlete is entered."""
    return await athletes.upcoming(user=user, page=page)


@follows_router.put(
    "/{athlete_id}",
    summary="Follow an athlete",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404, 422),
)
async def follow(user: CurrentUser, athlete_id: AthleteIdDep) -> Response:
    """Follow an athlete; following again changes nothing."""
    await athletes.follow(user=user, athlete_id=athlete_id)
    return Response(status_code=NO_CONTENT)


@follows_router.delete(
    "/{athlete_id}",
    summary="Unfollow an athlete",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def unfollow(user: CurrentUser, athlete_id: AthleteIdDep) -> Response:
    """Stop following an athlete; unfollowing one not followed changes nothing."""
    await athletes.unfollow(user=user, athlete_id=athlete_id)
    return Response(status_code=NO_CONTENT)


# main.py includes this one router; the two above give the routes their prefixes and tags
router = APIRouter()
router.include_router(athletes_router)
router.include_router(follows_router)

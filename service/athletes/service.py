"""Athletes, their calendars, who follows whom, and the followers' upcoming feed.

An athlete profile extends a user (same id). `Athlete.followers_count` moves with every follow
insert/delete; the follows collection stays the one source of truth. Importing this module
connects the user hooks: deleting a user removes their profile, calendar and follows; renaming
a user renames their athlete profile.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId, SortDirection
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from documents import Athlete, CalendarEntry, Competition, Event, Follow, User
from documents.clock import utcnow
from service import events as hooks
from service import queries
from service.accounts import service as accounts
from service.accounts.schemas import UserPublic
from service.athletes import pipelines
from service.athletes.schemas import (
    AthleteCreate,
    AthleteFilters,
    AthleteRead,
    AthleteRef,
    AthleteSummary,
    AthleteUpdate,
    CalendarEntryCreate,
    CalendarEntryRead,
    CalendarEntryUpdate,
    CalendarFilters,
    FollowedAthlete,
    UpcomingCompetition,
    UpcomingEvent,
)
from service.competitions import service as competitions
from service.errors import Conflict, NotFound, Unprocessable
from service.pagination import Page, PageParams, decode_cursor, encode_cursor, fetch_page
from service.updates import update_or_404

ASC, DESC = SortDirection.ASCENDING, SortDirection.DESCENDING

UPCOMING_ON_PROFILE = 5

NO_PROFILE = "You have no athlete profile; create one with POST /athletes/me"


def _summary_fields(a: Athlete) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "name": a.name,
        "disciplines": a.disciplines,
        "nationality": a.nationality,
        "club": a.club,
        "followers": a.followers_count,
    }


def to_summary(a: Athlete) -> AthleteSummary:
    return AthleteSummary(**_summary_fields(a))


# --- athletes ----------------------------------------------------------------------------


async def get(athlete_id: PydanticObjectId) -> Athlete:
    athlete = await Athlete.get(athlete_id)
    if athlete is None:
        raise NotFound(f"Athlete {athlete_id} not found")
    return athlete


async def get_mine(user: User) -> Athlete:
    athlete = await Athlete.get(user.id)
    if athlete is None:
        raise NotFound(NO_PROFILE)
    return athlete


async def read(athlete: Athlete) -> AthleteRead:
    """The profile with its followers count and next calendar entries."""
    pipeline = pipelines.athlete_upcoming_entries(
        athlete.id,
        now=utcnow(),
        limit=UPCOMING_ON_PROFILE,
    )
    raw = await CalendarEntry.get_motor_collection().aggregate(pipeline).to_list(None)
    entries = [CalendarEntry.model_validate({**doc, "id": doc["_id"]}) for doc in raw]
    return AthleteRead(
        **_summary_fields(athlete),
        bio=athlete.bio,
        birth_year=athlete.birth_year,
        created_at=athlete.created_at,
        upcoming=await _entry_reads(entries),
    )


async def create(*, user: User, data: AthleteCreate) -> AthleteRead:
    if await Athlete.get(user.id) is not None:
        raise Conflict("You already have an athlete profile")
    athlete = Athlete(
        id=user.id,
        name=user.name,
        name_key=accounts.name_key(user.name),
        **data.model_dump(),
    )
    try:
        await athlete.insert()
    except DuplicateKeyError as exc:  # lost a race with a concurrent request
        raise Conflict("You already have an athlete profile") from exc
    return await read(athlete)


async def update(*, athlete: Athlete, changes: AthleteUpdate) -> AthleteRead:
    data = changes.model_dump(exclude_unset=True)
    if data:
        athlete = await update_or_404(athlete, {"$set": data}, what="Athlete")
    return await read(athlete)


async def delete(*, athlete: Athlete) -> None:
    """Remove the profile, its calendar and the follows of it (the user stays)."""
    await Follow.find(Follow.athlete_id == athlete.id).delete()
    await CalendarEntry.find(CalendarEntry.athlete_id == athlete.id).delete()
    await athlete.delete()


async def search(*, filters: AthleteFilters, page: PageParams) -> Page[AthleteSummary]:
    """Athletes matching every given filter, by name."""
    criteria: dict[str, Any] = {}
    if filters.search and filters.search.strip():
        criteria["name_key"] = {"$regex": re.escape(accounts.name_key(filters.search))}
    if filters.discipline:
        criteria["disciplines"] = filters.discipline
    if filters.nationality:
        criteria["nationality"] = filters.nationality
    found = await fetch_page(queries.ATHLETES, criteria, page)
    return found.page([to_summary(a) for a in found.rows])


# --- calendar ----------------------------------------------------------------------------


async def _entry_reads(entries: list[CalendarEntry]) -> list[CalendarEntryRead]:
    """Entries with their event and competition summaries, in the order given."""
    events = await competitions.events_by_id({e.event_id for e in entries})
    comps = await competitions.summaries({e.competition_id for e in entries})
    return [
        CalendarEntryRead(
            id=str(e.id),
            athlete_id=str(e.athlete_id),
            status=e.status,
            notes=e.notes,
            created_at=e.created_at,
            event=competitions.event_to_summary(events[e.event_id]),
            competition=comps[e.competition_id],
        )
        # both always exist: deleting an event or competition deletes its entries first
        for e in entries
        if e.event_id in events and e.competition_id in comps
    ]


async def get_entry(*, athlete: Athlete, entry_id: PydanticObjectId) -> CalendarEntry:
    """One of the athlete's entries; someone else's entry is as unknown as a missing one."""
    entry = await CalendarEntry.find_one(
        CalendarEntry.id == entry_id, CalendarEntry.athlete_id == athlete.id
    )
    if entry is None:
        raise NotFound(f"Calendar entry {entry_id} not found in your calendar")
    return entry


async def add_entry(*, athlete: Athlete, data: CalendarEntryCreate) -> CalendarEntryRead:
    well_formed = len(data.event_id) == 24 and ObjectId.is_valid(data.event_id)
    event = await Event.get(ObjectId(data.event_id)) if well_formed else None
    if event is None:
        raise Unprocessable(
            f"event_id: event {data.event_id!r} does not exist", loc=("body", "event_id")
        )
    if competitions.as_utc(event.starts_at) < utcnow():
        raise Unprocessable(
            "This event has already started; only future events can be added",
            loc=("body", "event_id"),
        )
    competition = await Competition.get(event.competition_id)
    if competition is None or competition.status == "cancelled":
        raise Unprocessable("This event's competition is cancelled", loc=("body", "event_id"))
    entry = CalendarEntry(
        athlete_id=athlete.id,
        event_id=event.id,
        competition_id=event.competition_id,
        event_starts_at=event.starts_at,
        status=data.status,
        notes=data.notes,
    )
    try:
        await entry.insert()
    except DuplicateKeyError as exc:
        raise Conflict(
            "This event is already in your calendar; change that entry's status instead"
        ) from exc
    return (await _entry_reads([entry]))[0]


async def update_entry(*, entry: CalendarEntry, changes: CalendarEntryUpdate) -> CalendarEntryRead:
    data = changes.model_dump(exclude_unset=True)
    if data:
        entry = await update_or_404(entry, {"$set": data}, what="Calendar entry")
    return (await _entry_reads([entry]))[0]


async def delete_entry(*, entry: CalendarEntry) -> None:
    await entry.delete()


async def calendar(
    *, athlete: Athlete, filters: CalendarFilters, page: PageParams
) -> Page[CalendarEntryRead]:
    """An athlete's entries by event start time, within the given UTC days."""
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise Unprocessable(
            "`to` must not be before `from`", locs=[("query", "from"), ("query", "to")]
        )
    criteria: dict[str, Any] = {"athlete_id": athlete.id}
    starts: dict[str, datetime] = {}
    if filters.date_from:
        starts["$gte"] = competitions.midnight(filters.date_from)
    if filters.date_to:
        starts["$lt"] = competitions.midnight(filters.date_to + timedelta(days=1))
    if starts:
        criteria["event_starts_at"] = starts
    if not filters.include_withdrawn:
        criteria["status"] = {"$in": pipelines.ACTIVE_STATUSES}
    found = await fetch_page(queries.CALENDAR_OF_ATHLETE, criteria, page)
    return found.page(await _entry_reads(found.rows))


# --- follows -----------------------------------------------------------------------------


async def follow(*, user: User, athlete_id: PydanticObjectId) -> None:
    """Follow an athlete; following again changes nothing."""
    if athlete_id == user.id:
        raise Unprocessable("You cannot follow yourself")
    await get(athlete_id)
    try:
        follow = await Follow(follower_id=user.id, athlete_id=athlete_id).insert()
    except DuplicateKeyError:
        return
    counted = await Athlete.get_motor_collection().update_one(
        {"_id": athlete_id}, {"$inc": {"followers_count": 1}}
    )
    if not counted.matched_count:
        # the profile was deleted after we read it: take the orphan follow back
        await Follow.get_motor_collection().delete_one({"_id": follow.id})
        raise NotFound(f"Athlete {athlete_id} not found")


async def unfollow(*, user: User, athlete_id: PydanticObjectId) -> None:
    """Stop following an athlete; unfollowing someone not followed changes nothing."""
    result = await Follow.get_motor_collection().delete_one(
        {"follower_id": user.id, "athlete_id": athlete_id}
    )
    if result.deleted_count:
        await Athlete.find_one(Athlete.id == athlete_id).update({"$inc": {"followers_count": -1}})


async def following(*, user: User, page: PageParams) -> Page[FollowedAthlete]:
    """The athletes the user follows, most recently followed first."""
    criteria = {"follower_id": user.id}
    fetched = await fetch_page(queries.FOLLOWING, criteria, page)
    follows = fetched.rows
    found = await Athlete.find({"_id": {"$in": [f.athlete_id for f in follows]}}).to_list()
    by_id = {a.id: a for a in found}
    items = [
        FollowedAthlete(**_summary_fields(by_id[f.athlete_id]), followed_at=f.created_at)
        for f in follows
        if f.athlete_id in by_id
    ]
    return fetched.page(items)


async def followers(*, athlete: Athlete, page: PageParams) -> Page[UserPublic]:
    """Public profiles of the athlete's followers, most recent first."""
    criteria = {"athlete_id": athlete.id}
    fetched = await fetch_page(queries.FOLLOWERS, criteria, page)
    follows = fetched.rows
    found = await User.find({"_id": {"$in": [f.follower_id for f in follows]}}).to_list()
    by_id = {u.id: u for u in found}
    users = [by_id[f.follower_id] for f in follows if f.follower_id in by_id]
    return fetched.page(await accounts.public_reads(users))


async def upcoming(*, user: User, page: PageParams) -> Page[UpcomingCompetition]:
    """Upcoming competitions where athletes the user follows compete, by start date."""
    today = competitions.midnight(competitions.today_utc())
    keys = ["starts_on", "_id"]
    after = None
    if page.after is not None:
        starts_on, competition_id = decode_cursor(page.after, keys)
        if not isinstance(starts_on, datetime):
            raise Unprocessable("`after` is not a cursor of this list", loc=("query", "after"))
        after = (starts_on, competition_id)
    followed = [
        doc["athlete_id"]
        async for doc in Follow.get_motor_collection().find(
            queries.FOLLOWED_IDS.check({"follower_id": user.id}), {"athlete_id": 1, "_id": 0}
        )
    ]
    # competitions started before today and not over: their earlier events still show
    under_way = [
        doc["_id"]
        async for doc in Competition.get_motor_collection()
        .find(
            queries.COMPETITIONS_UNDER_WAY.check(
                {
                    "ends_on": {"$gte": today},
                    "starts_on": {"$lt": today},
                    "status": {"$ne": "cancelled"},
                }
            ),
            {"_id": 1},
        )
        .hint(queries.COMPETITIONS_UNDER_WAY.hint)
    ]
    pipeline = pipelines.following_upcoming(
        followed,
        today=today,
        under_way=under_way,
        skip=page.offset,
        limit=page.limit + 1,  # one more tells whether there is a next page
        after=after,
    )
    result = []
    if followed:
        result = await CalendarEntry.get_motor_collection().aggregate(pipeline).to_list(None)
    facet = result[0] if result else {"items": [], "total": []}
    total = facet["total"][0]["n"] if facet["total"] else 0
    docs = facet["items"][: page.limit]
    next_cursor = None
    if len(facet["items"]) > page.limit:
        last = docs[-1]
        next_cursor = encode_cursor(keys, [last["competition"]["starts_on"], last["_id"]])
    return Page[UpcomingCompetition](
        items=[_upcoming_item(doc) for doc in docs],
        total=total,
        limit=page.limit,
        offset=page.offset,
        next=next_cursor,
    )


def _upcoming_item(doc: dict[str, Any]) -> UpcomingCompetition:
    """Shape one feed item; sorts its inner arrays, which the pipeline leaves unordered."""

    def by_name(ref: dict[str, Any]) -> tuple[str, str]:
        return (ref["name"].casefold(), str(ref["id"]))

    athletes: dict[str, dict[str, Any]] = {}
    events = []
    for event in sorted(doc["events"], key=lambda e: (e["starts_at"], str(e["id"]))):
        entered = sorted(event["athletes"], key=by_name)
        athletes.update({str(a["id"]): a for a in entered})
        events.append(
            UpcomingEvent(
                id=str(event["id"]),
                name=event["name"],
                discipline=event["discipline"],
                starts_at=competitions.as_utc(event["starts_at"]),
                athlete_ids=[str(a["id"]) for a in entered],
            )
        )
    return UpcomingCompetition(
        competition=competitions.raw_to_read(doc["competition"]),
        athletes=[
            AthleteRef(id=str(a["id"]), name=a["name"])
            for a in sorted(athletes.values(), key=by_name)
        ],
        events=events,
    )


async def recount_followers(athlete_ids: list[PydanticObjectId]) -> None:
    """Set `followers_count` of these athletes from the follows collection."""
    if not athlete_ids:
        return
    counts = {
        doc["_id"]: doc["n"]
        for doc in await Follow.get_motor_collection()
        .aggregate(pipelines.followers_counts(list(athlete_ids)))
        .to_list(None)
    }
    await Athlete.get_motor_collection().bulk_write(
        [
            UpdateOne({"_id": i}, {"$set": {"followers_count": counts.get(i, 0)}})
            for i in athlete_ids
        ],
        ordered=False,
    )


# --- user hooks --------------------------------------------------------------------------


async def _on_user_deleted(*, user: User) -> None:
    athlete = await Athlete.get(user.id)
    if athlete is not None:
        await delete(athlete=athlete)
    followed = [
        doc["athlete_id"]
        for doc in await Follow.get_motor_collection()
        .find({"follower_id": user.id}, {"athlete_id": 1})
        .to_list(None)
    ]
    if followed:
        await Follow.find(Follow.follower_id == user.id).delete()
        # recounted rather than decremented: exact even if an unfollow raced this delete
        await recount_followers(followed)


async def _on_user_updated(*, before: User, after: User) -> None:
    if before.name != after.name:
        await Athlete.find_one(Athlete.id == after.id).update(
            {"$set": {"name": after.name, "name_key": accounts.name_key(after.name)}}
        )


hooks.user_deleted.connect(_on_user_deleted)
hooks.user_updated.connect(_on_user_updated)

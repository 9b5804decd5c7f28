"""Competitions and their events: admin-maintained, readable by anyone.

Deleting a competition or an event also deletes what points at it (events, calendar entries);
moving an event keeps the calendar entries' copy of its start time in step.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from beanie import PydanticObjectId, SortDirection
from bson import ObjectId

from documents import CalendarEntry, Competition, Event, clock
from service import queries
from service.competitions.schemas import (
    CompetitionBatch,
    CompetitionCreate,
    CompetitionFilters,
    CompetitionRead,
    CompetitionSummary,
    CompetitionUpdate,
    EventCreate,
    EventRead,
    EventSummary,
    EventUpdate,
)
from service.errors import Conflict, NotFound, Unprocessable
from service.pagination import Page, PageParams, fetch_page
from service.updates import update_or_404

ASC, DESC = SortDirection.ASCENDING, SortDirection.DESCENDING


def midnight(day: date) -> datetime:
    """The stored form of a date: its UTC midnight."""
    return datetime.combine(day, time(), tzinfo=UTC)


def as_date(value: datetime) -> date:
    if value.tzinfo is None:  # only if a client was opened without tz_aware
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).date()


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def today_utc() -> date:
    return clock.today()


def key(text: str) -> str:
    """Case- and spacing-insensitive form of a name or city, what filters compare."""
    return " ".join(text.split()).casefold()


# --- reads -------------------------------------------------------------------------------


def to_read(c: Competition) -> CompetitionRead:
    return CompetitionRead(
        id=str(c.id),
        name=c.name,
        description=c.description,
        sport=c.sport,
        venue=c.venue,
        city=c.city,
        country=c.country,
        location=c.location,
        starts_on=as_date(c.starts_on),
        ends_on=as_date(c.ends_on),
        website=c.website,
        status=c.status,
        created_at=c.created_at,
    )


def raw_to_read(doc: dict[str, Any]) -> CompetitionRead:
    """A competition read from a pipeline (a plain dict with `_id`)."""
    return to_read(Competition.model_validate({**doc, "id": doc["_id"]}))


def to_summary(c: Competition) -> CompetitionSummary:
    return CompetitionSummary(
        id=str(c.id),
        name=c.name,
        city=c.city,
        country=c.country,
        starts_on=as_date(c.starts_on),
        ends_on=as_date(c.ends_on),
        status=c.status,
    )


def event_to_read(e: Event) -> EventRead:
    return EventRead(
        id=str(e.id),
        competition_id=str(e.competition_id),
        name=e.name,
        discipline=e.discipline,
        starts_at=as_utc(e.starts_at),
        round=e.round,
        created_at=e.created_at,
    )


def event_to_summary(e: Event) -> EventSummary:
    return EventSummary(
        id=str(e.id),
        name=e.name,
        discipline=e.discipline,
        starts_at=as_utc(e.starts_at),
        round=e.round,
    )


async def get(competition_id: PydanticObjectId) -> Competition:
    competition = await Competition.get(competition_id)
    if competition is None:
        raise NotFound(f"Competition {competition_id} not found")
    return competition


async def search(*, filters: CompetitionFilters, page: PageParams) -> Page[CompetitionRead]:
    """Competitions matching every given filter, by start date."""
    criteria: dict[str, Any] = {}
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise Unprocessable(
            "`to` must not be before `from`", locs=[("query", "from"), ("query", "to")]
        )
    # overlap with [from, to]: it ends on or after `from` and starts on or before `to`
    if filters.date_from:
        criteria["ends_on"] = {"$gte": midnight(filters.date_from)}
    if filters.date_to:
        criteria["starts_on"] = {"$lte": midnight(filters.date_to)}
    if filters.country:
        criteria["country"] = filters.country
    if filters.city:
        criteria["city_key"] = key(filters.city)
    if filters.sport:
        criteria["sport"] = filters.sport
    if filters.status:
        criteria["status"] = filters.status
    if filters.search and filters.search.strip():
        criteria["name_key"] = {"$regex": re.escape(key(filters.search))}
    found = await fetch_page(queries.COMPETITIONS, criteria, page)
    return found.page([to_read(c) for c in found.rows])


async def batch_get(*, ids: list[str]) -> CompetitionBatch:
    """Competitions in the order asked, each once; malformed and unknown ids in `missing`."""
    asked = list(dict.fromkeys(ids))
    valid = {i: ObjectId(i) for i in asked if len(i) == 24 and ObjectId.is_valid(i)}
    found = await Competition.find({"_id": {"$in": list(valid.values())}}).to_list()
    by_id = {str(c.id): c for c in found}
    return CompetitionBatch(
        items=[to_read(by_id[i]) for i in asked if i in by_id],
        missing=[i for i in asked if i not in by_id],
    )


async def summaries(ids: set[PydanticObjectId]) -> dict[PydanticObjectId, CompetitionSummary]:
    found = await Competition.find({"_id": {"$in": list(ids)}}).to_list()
    return {c.id: to_summary(c) for c in found if c.id is not None}


# --- writes ------------------------------------------------------------------------------


def _stored_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Schema values → document values (dates as midnights, keys beside names, URL as str)."""
    out = dict(data)
    for field in ("starts_on", "ends_on"):
        if out.get(field) is not None:
            out[field] = midnight(out[field])
    if out.get("name") is not None:
        out["name_key"] = key(out["name"])
    if out.get("city") is not None:
        out["city_key"] = key(out["city"])
    if out.get("website") is not None:
        out["website"] = str(out["website"])
    return out


async def create(*, data: CompetitionCreate) -> CompetitionRead:
    competition = Competition(**_stored_fields(data.model_dump()))
    await competition.insert()
    return to_read(competition)


async def _events_outside(competition_id: PydanticObjectId, starts: date, ends: date) -> int:
    return await Event.find(
        {
            "competition_id": competition_id,
            "$or": [
                {"starts_at": {"$lt": midnight(starts)}},
                {"starts_at": {"$gte": midnight(ends + timedelta(days=1))}},
            ],
        }
    ).count()


async def update(*, competition: Competition, changes: CompetitionUpdate) -> CompetitionRead:
    data = changes.model_dump(exclude_unset=True)
    starts = data.get("starts_on") or as_date(competition.starts_on)
    ends = data.get("ends_on") or as_date(competition.ends_on)
    if ends < starts:
        raise Unprocessable(
            "ends_on must not be before starts_on",
            locs=[("body", "starts_on"), ("body", "ends_on")],
        )
    if ("starts_on" in data or "ends_on" in data) and (
        outside := await _events_outside(competition.id, starts, ends)  # type: ignore[arg-type]
    ):
        raise Conflict(
            f"{outside} event(s) of this competition fall outside {starts}–{ends}; "
            "move or delete them first"
        )
    updates = _stored_fields(data)
    if updates:
        competition = await update_or_404(competition, {"$set": updates}, what="Competition")
    return to_read(competition)


async def delete(*, competition: Competition) -> None:
    """Delete a competition, its events and every calendar entry pointing at them."""
    # children first: an interrupted delete can be retried and never leaves orphans behind
    await CalendarEntry.find(CalendarEntry.competition_id == competition.id).delete()
    await Event.find(Event.competition_id == competition.id).delete()
    await competition.delete()


# --- events ------------------------------------------------------------------------------


async def get_event(event_id: PydanticObjectId) -> Event:
    event = await Event.get(event_id)
    if event is None:
        raise NotFound(f"Event {event_id} not found")
    return event


def _check_within(competition: Competition, starts_at: datetime) -> None:
    day = as_utc(starts_at).date()
    first, last = as_date(competition.starts_on), as_date(competition.ends_on)
    if not first <= day <= last:
        raise Unprocessable(
            f"starts_at must fall on a day (UTC) of the competition, {first} to {last}",
            loc=("body", "starts_at"),
        )


async def list_events(*, competition: Competition, page: PageParams) -> Page[EventRead]:
    """A competition's events by start time."""
    criteria = {"competition_id": competition.id}
    found = await fetch_page(queries.EVENTS_OF_COMPETITION, criteria, page)
    return found.page([event_to_read(e) for e in found.rows])


async def create_event(*, competition: Competition, data: EventCreate) -> EventRead:
    _check_within(competition, data.starts_at)
    event = Event(competition_id=competition.id, **data.model_dump())
    await event.insert()
    return event_to_read(event)


async def update_event(*, event: Event, changes: EventUpdate) -> EventRead:
    data = changes.model_dump(exclude_unset=True)
    if "starts_at" in data:
        _check_within(await get(event.competition_id), data["starts_at"])
    if data:
        event = await update_or_404(event, {"$set": data}, what="Event")
    if "starts_at" in data:
        await CalendarEntry.find(CalendarEntry.event_id == event.id).update(
            {"$set": {"event_starts_at": data["starts_at"]}}
        )
    return event_to_read(event)


async def delete_event(*, event: Event) -> None:
    """Delete an event and the calendar entries pointing at it."""
    await CalendarEntry.find(CalendarEntry.event_id == event.id).delete()
    await event.delete()


async def events_by_id(ids: set[PydanticObjectId]) -> dict[PydanticObjectId, Event]:
    found = await Event.find({"_id": {"$in": list(ids)}}).to_list()
    return {e.id: e for e in found if e.id is not None}

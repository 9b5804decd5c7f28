"""Aggregation pipelines of the athletes domain, as named pure functions.

Only stages and operators that MongoDB 7+ and mongomock 4.3 both run: `$lookup` with
localField/foreignField only, `$unwind`, `$match`, `$project`, `$group`, `$sort`, `$facet`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from documents import Athlete, CalendarEntry, Competition, Event

# calendar entry statuses that mean "will compete"
ACTIVE_STATUSES = ["planned", "confirmed"]

ATHLETES = Athlete.Settings.name
CALENDAR_ENTRIES = CalendarEntry.Settings.name
EVENTS = Event.Settings.name
COMPETITIONS = Competition.Settings.name


def _lookup(source: str, local: str, foreign: str, as_: str) -> dict[str, Any]:
    return {"$lookup": {"from": source, "localField": local, "foreignField": foreign, "as": as_}}


def following_upcoming(
    athlete_ids: list[ObjectId],
    *,
    today: datetime,
    under_way: list[ObjectId],
    skip: int,
    limit: int,
    after: tuple[datetime, ObjectId] | None = None,
) -> list[dict[str, Any]]:
    """Upcoming competitions where the athletes `athlete_ids` (those a user follows) have an
    active entry.

    Runs on calendar_entries and reads only the entries that can matter, whatever the
    athletes' history: those of events from `today` on (a UTC midnight; the athlete_starts
    index, `(athlete_id, event_starts_at)`), and those of the competitions `under_way` (started
    before today, ending today or later: the `competition` index, `(competition_id,
    athlete_id)`), so a competition under way still shows with all its entered events. Then
    entries → athletes (names) → events → competitions; keeps planned or confirmed entries of
    competitions not cancelled that end on or after `today`. Emits one document
    `{"items": [...], "total": [{"n": N}]}` (`total` is empty when nothing matches); each item
    is `{"_id": competition id, "competition": {...the stored competition...},
      "events": [{"id", "name", "discipline", "starts_at", "athletes": [{"id", "name"}]}]}`,
    items by `competition.starts_on` then id; `after` (a start day and a competition id) keeps
    the items past that one in this order (keyset pagination), `total` still counts all. The
    arrays inside an item are in no set order: sorting them needs `$sortArray`, which mongomock
    lacks, so the caller sorts them.
    """
    upcoming: list[dict[str, Any]] = [
        {"athlete_id": {"$in": athlete_ids}, "event_starts_at": {"$gte": today}}
    ]
    if under_way:
        upcoming.append({"competition_id": {"$in": under_way}, "athlete_id": {"$in": athlete_ids}})
    return [
        {"$match": {"$or": upcoming, "status": {"$in": ACTIVE_STATUSES}}},
        _lookup(ATHLETES, "athlete_id", "_id", "athlete"),
        {"$unwind": "$athlete"},
        _lookup(EVENTS, "event_id", "_id", "event"),
        {"$unwind": "$event"},
        _lookup(COMPETITIONS, "event.competition_id", "_id", "competition"),
        {"$unwind": "$competition"},
        {
            "$match": {
                "competition.status": {"$ne": "cancelled"},
                "competition.ends_on": {"$gte": today},
            }
        },
        # one document per (competition, event) with the followed athletes entered in it
        {
            "$group": {
                "_id": {"competition": "$competition._id", "event": "$event._id"},
                "competition": {"$first": "$competition"},
                "name": {"$first": "$event.name"},
                "discipline": {"$first": "$event.discipline"},
                "starts_at": {"$first": "$event.starts_at"},
                "athletes": {"$push": {"id": "$athlete._id", "name": "$athlete.name"}},
            }
        },
        {
            "$group": {
                "_id": "$_id.competition",
                "competition": {"$first": "$competition"},
                "events": {
                    "$push": {
                        "id": "$_id.event",
                        "name": "$name",
                        "discipline": "$discipline",
                        "starts_at": "$starts_at",
                        "athletes": "$athletes",
                    }
                },
            }
        },
        {"$sort": {"competition.starts_on": 1, "_id": 1}},
        {
            "$facet": {
                "items": [
                    *([{"$match": _after_competition(*after)}] if after else []),
                    {"$skip": skip},
                    {"$limit": limit},
                ],
                "total": [{"$count": "n"}],
            }
        },
    ]


def _after_competition(starts_on: datetime, competition_id: ObjectId) -> dict[str, Any]:
    return {
        "$or": [
            {"competition.starts_on": {"$gt": starts_on}},
            {"competition.starts_on": starts_on, "_id": {"$gt": competition_id}},
        ]
    }


def athlete_upcoming_entries(
    athlete_id: ObjectId, *, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """An athlete's next `limit` planned/confirmed calendar entries, leaving out cancelled
    competitions; runs on calendar_entries and emits the entries as stored."""
    return [
        {
            "$match": {
                "athlete_id": athlete_id,
                "status": {"$in": ACTIVE_STATUSES},
                "event_starts_at": {"$gte": now},
            }
        },
        {"$sort": {"event_starts_at": 1, "_id": 1}},
        _lookup(COMPETITIONS, "competition_id", "_id", "competition"),
        {"$unwind": "$competition"},
        {"$match": {"competition.status": {"$ne": "cancelled"}}},
        {"$limit": limit},
        {"$project": {"competition": 0}},
    ]


def followers_counts(athlete_ids: list[ObjectId]) -> list[dict[str, Any]]:
    """`{"_id": athlete id, "n": followers}` for those of `athlete_ids` with any follower;
    runs on follows."""
    return [
        {"$match": {"athlete_id": {"$in": athlete_ids}}},
        {"$group": {"_id": "$athlete_id", "n": {"$sum": 1}}},
        {"$sort": {"_id": 1}},
    ]

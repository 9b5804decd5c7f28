"""Aggregation pipelines of a user's statistics, built by named pure functions.

Each reads one user's runs or workouts through the `user_started` index (`user_id`, then a
`started_at` range) and groups them by their UTC `day`: the server walks only that user's
documents of the range on the index, and answers at most one row per active day (a history of
10,000 runs over 10 years is at most 3,653 rows), however many runs a day holds.
Weeks and months are folded from the day rows in Python (`service.stats.calendar`): no
`$dateTrunc`/`$isoWeek`, which mongomock 4.3 lacks. Only `$match`, `$project`, `$group`
(`$sum`, `$max`, `$ifNull`) and `$sort`, which MongoDB 7+, mongomock and the wire test server
all run; every pipeline ends with an explicit `$sort`. `tests/test_stats.py` checks each
against a plain-Python oracle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId

Pipeline = list[dict[str, Any]]

BY_DAY = {"$sort": {"_id": 1}}
_ONE_MS = timedelta(milliseconds=1)


def user_range(
    user_id: PydanticObjectId, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """The `$match` of one user's documents that started in `[start, end)` (None: unbounded).

    The lower bound is `$gt` one millisecond before `start`, not `$gte start`: the same
    documents (stored times are whole milliseconds), and a shape every store answers right (the
    wire test server drops documents equal to a `$gte` bound on the descending `started_at` key
    of `user_started`: tests/wire_server_bugs.py `gte-on-descending-compound-key`).
    """
    match: dict[str, Any] = {"user_id": user_id}
    started: dict[str, datetime] = {}
    if start is not None:
        started["$gt"] = start - _ONE_MS
    if end is not None:
        started["$lt"] = end
    if started:
        match["started_at"] = started
    return {"$match": match}


def _only(*fields: str) -> dict[str, Any]:
    # only what the $group reads: MongoDB infers it anyway; the embedded store copies just
    # these fields instead of whole documents (a 10,000-run history: ~3x faster there)
    return {"$project": {"_id": 0, **dict.fromkeys(fields, 1)}}


def run_days(user_id: PydanticObjectId, start: datetime | None, end: datetime | None) -> Pipeline:
    """Per UTC day of `[start, end)`: the user's runs, summed; `longest_km` the day's longest.

    Rows `{_id: day, runs, distance_km, duration_s, elevation_gain_m, score, longest_km}`,
    oldest day first; a run without elevation adds none.
    """
    return [
        user_range(user_id, start, end),
        _only("day", "distance_km", "duration_s", "elevation_gain_m", "score"),
        {
            "$group": {
                "_id": "$day",
                "runs": {"$sum": 1},
                "distance_km": {"$sum": "$distance_km"},
                "duration_s": {"$sum": "$duration_s"},
                "elevation_gain_m": {"$sum": {"$ifNull": ["$elevation_gain_m", 0]}},
                "score": {"$sum": "$score"},
                "longest_km": {"$max": "$distance_km"},
            }
        },
        BY_DAY,
    ]


def workout_days(
    user_id: PydanticObjectId, start: datetime | None, end: datetime | None
) -> Pipeline:
    """Per UTC day of `[start, end)`: the user's workouts, summed.

    Rows `{_id: day, workouts, duration_s, sets, volume_kg}`, oldest day first.
    """
    return [
        user_range(user_id, start, end),
        _only("day", "duration_s", "sets_count", "volume_kg"),
        {
            "$group": {
                "_id": "$day",
                "workouts": {"$sum": 1},
                "duration_s": {"$sum": "$duration_s"},
                "sets": {"$sum": "$sets_count"},
                "volume_kg": {"$sum": "$volume_kg"},
            }
        },
        BY_DAY,
    ]


def active_days(user_id: PydanticObjectId, before: datetime) -> Pipeline:
    """The UTC days before `before` on which the user started anything: `{_id: day}` rows,
    oldest first (the streaks' input; one small row per active day of the whole history)."""
    return [
        user_range(user_id, None, before),
        _only("day"),
        {"$group": {"_id": "$day"}},
        BY_DAY,
    ]

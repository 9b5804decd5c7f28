"""Per-day score buckets: moved atomically with $inc/upsert on every run change.

Each run counts in three buckets of its UTC day: its team's, its city's and its runner's
(the runner's bucket also carries the city it was credited to). Leaderboards aggregate buckets,
so their latency depends on the number of entities and days, not on the number of runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import Run, ScoreBucket


def day_of(moment: datetime) -> datetime:
    """The UTC midnight starting the day `moment` falls in."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def distance_m(distance_km: float) -> int:
    return round(distance_km * 1000)


def bucket_keys(run: Run) -> list[dict]:
    keys: list[tuple[str, PydanticObjectId | None, PydanticObjectId | None]] = [
        ("team", run.team_id, None),
        ("user", run.user_id, run.city_id),
    ]
    if run.city_id is not None:
        keys.append(("city", run.city_id, None))
    return [
        {"kind": kind, "entity_id": entity, "city_id": city, "day": run.day}
        for kind, entity, city in keys
    ]


async def apply(run: Run, sign: int) -> None:
    """Add (sign=+1) or remove (sign=-1) a run's contribution to its buckets."""
    collection = ScoreBucket.get_motor_collection()
    inc = {
        "score": sign * run.score,
        "distance_m": sign * distance_m(run.distance_km),
        "runs": sign,
    }
    for key in bucket_keys(run):
        for attempt in range(3):
            try:
                await collection.update_one(key, {"$inc": inc}, upsert=True)
                break
            except DuplicateKeyError:
                # two first upserts of one bucket raced; the loser retries as an update
                if attempt == 2:
                    raise
        if sign < 0:
            await collection.delete_one({**key, "runs": {"$lte": 0}})

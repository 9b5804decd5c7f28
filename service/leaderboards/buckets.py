"""Pre-aggregated score buckets, moved atomically with `$inc`/upsert on every run change.

Each run counts in eight buckets of the `score_buckets` collection (six without a city):

- day buckets of its UTC day: its team's (kind `team`), its city's (`city`), its runner's
  (`user`, which also carries the city the run was credited to, so user boards filter by the
  city history, not by today's home city) and its runner's within its team (`member`, with
  `team_id`, for a team's own board);
- month rollups of the same four (kinds `*_month`, `day` = the first of the month), so a long
  period reads at most one document per entity and month instead of one per day: the
  `all`/`year` boards cost the same at 10k and at 200k runs.

Every change also moves the entity's rows in `board_totals` (`totals.py`: one row per entity and
standard period), which the standard-period boards read page by page. Leaderboards read buckets
and totals, never runs; `rebuild.py` recomputes both from the runs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from pymongo import DeleteOne, UpdateOne
from pymongo.errors import BulkWriteError

from documents import Run, ScoreBucket
from service.leaderboards import totals

Entity = Literal["team", "city", "user", "member"]
ENTITIES: tuple[Entity, ...] = ("team", "city", "user", "member")
DUPLICATE_KEY = 11000


def day_of(moment: datetime) -> datetime:
    """The UTC midnight starting the day `moment` falls in."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def month_of(day: datetime) -> datetime:
    """The UTC midnight starting the month `day` falls in."""
    day = day_of(day)
    return day.replace(day=1)


def month_kind(entity: Entity) -> str:
    """The bucket kind of an entity's month rollups."""
    return f"{entity}_month"


def distance_m(distance_km: float) -> int:
    """Whole metres, rounded half up: the same arithmetic as the rebuild pipeline's `$floor`."""
    return math.floor(distance_km * 1000 + 0.5)


def bucket_id(
    kind: str, entity_id: Any, team_id: Any, city_id: Any, day: datetime, **_: Any
) -> str:
    """The natural key of a bucket, used as its _id."""
    return f"{kind}|{entity_id}|{team_id or '-'}|{city_id or '-'}|{day_of(day):%Y-%m-%d}"


def bucket_keys(run: Run) -> list[dict[str, Any]]:
    """The bucket keys a run counts in."""
    return keys_for(team_id=run.team_id, user_id=run.user_id, city_id=run.city_id, day=run.day)


def keys_for(*, team_id: Any, user_id: Any, city_id: Any, day: datetime) -> list[dict[str, Any]]:
    """Day and month bucket keys of a team, a runner, the runner within the team (member) and
    a city (when there is one): where runs of this team, runner, city and day count."""
    entities: list[tuple[Entity, Any, Any, Any]] = [
        ("team", team_id, None, None),
        ("user", user_id, None, city_id),
        ("member", user_id, team_id, None),
    ]
    if city_id is not None:
        entities.append(("city", city_id, None, None))
    day = day_of(day)
    month = month_of(day)
    keys: list[dict[str, Any]] = []
    for entity, entity_id, bucket_team, bucket_city in entities:
        for kind, when in ((entity, day), (month_kind(entity), month)):
            keys.append(
                {
                    "kind": kind,
                    "entity_id": entity_id,
                    "team_id": bucket_team,
                    "city_id": bucket_city,
                    "day": when,
                }
            )
    return keys


async def _move(ops: list[UpdateOne], ids: list[str]) -> None:
    """Run `$inc` upserts of buckets, then delete those of `ids` left exactly empty.

    One ordered bulk write addressed by `_id` (the natural key). When two first upserts of the
    same bucket race, the loser fails with a duplicate key and the ops from that one on are
    retried (then as updates). Only buckets that are exactly empty are deleted, after either
    sign: when two changes of one run overlap, a removal may reach a bucket before the matching
    addition, so a bucket can dip below zero for a moment and must survive that to come back to
    the right total.
    """
    collection = ScoreBucket.get_motor_collection()
    for attempt in range(3):
        try:
            await collection.bulk_write(ops, ordered=True)
            break
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if attempt == 2 or not errors or errors[0].get("code") != DUPLICATE_KEY:
                raise
            ops = ops[errors[0]["index"] :]
    await collection.bulk_write(
        [DeleteOne({"_id": _id, "runs": 0, "score": 0, "distance_m": 0}) for _id in ids],
        ordered=False,
    )


async def apply(run: Run, sign: int) -> None:
    """Add (sign=+1) or remove (sign=-1) a run's contribution to its buckets.

    Buckets left exactly empty are deleted, so boards never list an entity with 0 runs.
    """
    inc = {
        "score": sign * run.score,
        "distance_m": sign * distance_m(run.distance_km),
        "runs": sign,
    }
    ids = [bucket_id(**key) for key in bucket_keys(run)]
    ops = [
        UpdateOne({"_id": _id}, {"$inc": inc, "$setOnInsert": key}, upsert=True)
        for _id, key in zip(ids, bucket_keys(run), strict=True)
    ]
    await _move(ops, ids)
    await totals.move([(_grain(run), inc)])


def _grain(run: Run) -> totals.Grain:
    return (run.team_id, run.user_id, run.city_id, day_of(run.day))


def withdrawals(runs: list[Run]) -> dict[str, tuple[dict[str, Any], dict[str, int]]]:
    """What taking `runs` out removes from each bucket: {bucket id: (key, negative $inc)}.

    The sum, bucket by bucket, of what `apply(run, -1)` moves for each run: a batch of a
    runner's runs touches few buckets (one per day and month, times four entities), so one
    `$inc` per bucket replaces eight per run.
    """
    moves: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
    for run in runs:
        for key in bucket_keys(run):
            _id = bucket_id(**key)
            _, inc = moves.setdefault(_id, (key, {"score": 0, "distance_m": 0, "runs": 0}))
            inc["score"] -= run.score
            inc["distance_m"] -= distance_m(run.distance_km)
            inc["runs"] -= 1
    return moves


async def withdraw_many(runs: list[Run]) -> None:
    """Take already deleted `runs` out of every total: one bulk `$inc` (one op per bucket
    touched), then one bulk delete of the buckets left exactly empty."""
    moves = withdrawals(runs)
    if not moves:
        return
    # upserts too: a concurrent edit's removal may have emptied and deleted a bucket for a moment
    # (see `apply`); the bucket then comes back through the edit's own addition
    ops = [
        UpdateOne({"_id": _id}, {"$inc": inc, "$setOnInsert": key}, upsert=True)
        for _id, (key, inc) in moves.items()
    ]
    await _move(ops, list(moves))
    grains: dict[totals.Grain, dict[str, int]] = {}
    for run in runs:
        inc = grains.setdefault(_grain(run), {"score": 0, "distance_m": 0, "runs": 0})
        inc["score"] -= run.score
        inc["distance_m"] -= distance_m(run.distance_km)
        inc["runs"] -= 1
    await totals.move(list(grains.items()))

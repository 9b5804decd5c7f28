"""Aggregation pipelines of the leaderboards, built by named pure functions.

Only stages and operators that both MongoDB 7+ and mongomock 4.3 run: `$match`, `$group` with
`$sum`, simple `$lookup` (localField/foreignField), `$unwind`, `$project`, `$sort`, and the
expressions `$floor`, `$add`, `$multiply`, `$ifNull`, `$toLower`. Every board pipeline ends with
an explicit `$sort` (mongomock's `$group` order means nothing). `tests/test_pipelines.py` checks
each against a plain-Python oracle on randomized data.

Board rows come out as `{_id, name, sort_name, score, distance_m, runs, ...}`, best first
(score descending, then lower-cased name, then id), so the service only ranks and slices.
"""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId

from service.leaderboards.buckets import Entity, month_kind
from service.leaderboards.periods import Period, split

Pipeline = list[dict[str, Any]]

# round(distance_km * 1000) half up, exactly as buckets.distance_m does it in Python
DISTANCE_M = {"$floor": {"$add": [{"$multiply": ["$distance_km", 1000]}, 0.5]}}

RUN_FIELDS = ("team_id", "user_id", "city_id", "day", "score", "distance_km")

BOARD_ORDER = {"$sort": {"score": -1, "sort_name": 1, "_id": 1}}


def _range(start: Any, end: Any) -> dict[str, Any]:
    cond = {}
    if start is not None:
        cond["$gte"] = start
    if end is not None:
        cond["$lt"] = end
    return cond


def bucket_match(entity: Entity, period: Period, **fields: Any) -> dict[str, Any]:
    """The `$match` selecting the buckets that cover `period` for one kind of entity.

    Whole months come from month rollups, the days around them from day buckets (see
    `periods.split`); `fields` (e.g. `city_id=`) narrow every branch.
    """
    cover = split(period)
    branches: list[dict[str, Any]] = []
    if cover.months is not None:
        branch = {"kind": month_kind(entity), **fields}
        days = _range(*cover.months)
        if days:
            branch["day"] = days
        branches.append(branch)
    for start, end in cover.days:
        branches.append({"kind": entity, **fields, "day": _range(start, end)})
    if len(branches) == 1:
        return branches[0]
    kinds = sorted({b["kind"] for b in branches})
    return {"kind": {"$in": kinds}, "$or": branches}


def _totals(entity: Entity, period: Period, **fields: Any) -> Pipeline:
    return [
        {"$match": bucket_match(entity, period, **fields)},
        {
            "$group": {
                "_id": "$entity_id",
                "score": {"$sum": "$score"},
                "distance_m": {"$sum": "$distance_m"},
                "runs": {"$sum": "$runs"},
            }
        },
    ]


def _join(collection: str, local: str, name: str) -> Pipeline:
    """Attach the document `collection._id == local` as `name`; rows without one are dropped."""
    return [
        {"$lookup": {"from": collection, "localField": local, "foreignField": "_id", "as": name}},
        {"$unwind": f"${name}"},
    ]


def team_totals(
    period: Period, *, kind: str | None = None, city_id: PydanticObjectId | None = None
) -> Pipeline:
    """Teams by score in `period` over `score_buckets`; deleted teams drop out at the `$lookup`.

    `kind` and `city_id` filter on the team itself (a custom team's city, or a city team's).
    """
    team_filter: dict[str, Any] = {}
    if kind is not None:
        team_filter["team.kind"] = kind
    if city_id is not None:
        team_filter["team.city_id"] = city_id
    return [
        *_totals("team", period),
        *_join("teams", "_id", "team"),
        *([{"$match": team_filter}] if team_filter else []),
        {
            "$project": {
                "name": "$team.name",
                "sort_name": {"$toLower": "$team.name"},
                "kind": "$team.kind",
                "city_id": "$team.city_id",
                "members": {"$ifNull": ["$team.members_count", 0]},
                "score": 1,
                "distance_m": 1,
                "runs": 1,
            }
        },
        BOARD_ORDER,
    ]


def city_totals(period: Period) -> Pipeline:
    """Cities by score in `period`; `members` is the city team's member count.

    `population` comes from the gazetteer (absent on custom cities): the service derives
    `score_per_capita` from it, as it derives `score_per_member` (mongomock has no `$round`).
    """
    return [
        *_totals("city", period),
        *_join("cities", "_id", "city"),
        {
            "$lookup": {
                "from": "teams",
                "localField": "city.team_id",
                "foreignField": "_id",
                "as": "team",
            }
        },
        {"$unwind": {"path": "$team", "preserveNullAndEmptyArrays": True}},
        {
            "$project": {
                "name": "$city.name",
                "sort_name": {"$toLower": "$city.name"},
                "slug": "$city.slug",
                "population": {"$ifNull": ["$city.population", None]},
                "members": {"$ifNull": ["$team.members_count", 0]},
                "score": 1,
                "distance_m": 1,
                "runs": 1,
            }
        },
        BOARD_ORDER,
    ]


def _user_rows() -> Pipeline:
    return [
        *_join("users", "_id", "user"),
        {
            "$project": {
                "name": "$user.name",
                "sort_name": {"$toLower": "$user.name"},
                "city_id": "$user.city_id",  # today's home city
                "score": 1,
                "distance_m": 1,
                "runs": 1,
            }
        },
        BOARD_ORDER,
    ]


def user_totals(period: Period, *, city_id: PydanticObjectId | None = None) -> Pipeline:
    """Runners by score in `period`; `city_id` keeps runs credited to that city only."""
    fields = {"city_id": city_id} if city_id is not None else {}
    return [*_totals("user", period, **fields), *_user_rows()]


def member_totals(team_id: PydanticObjectId, period: Period) -> Pipeline:
    """Runners by the score of their runs credited to one team (members then or now)."""
    return [*_totals("member", period, team_id=team_id), *_user_rows()]


# --- custom periods: a page sorted and cut inside the pipeline, names looked up after ---------


def _runner_totals(
    period: Period, *, city_id: PydanticObjectId | None, team_id: PydanticObjectId | None
) -> Pipeline:
    if team_id is not None:
        return _totals("member", period, team_id=team_id)
    return _totals("user", period, **({"city_id": city_id} if city_id is not None else {}))


def runner_count(
    period: Period,
    *,
    city_id: PydanticObjectId | None = None,
    team_id: PydanticObjectId | None = None,
    above: int | None = None,
) -> Pipeline:
    """How many runners a custom-period board ranks (with `above`: with a higher score)."""
    match = [{"$match": {"score": {"$gt": above}}}] if above is not None else []
    return [*_runner_totals(period, city_id=city_id, team_id=team_id), *match, {"$count": "n"}]


def runner_scores(
    period: Period,
    *,
    skip: int,
    limit: int,
    city_id: PydanticObjectId | None = None,
    team_id: PydanticObjectId | None = None,
) -> Pipeline:
    """The scores at positions [skip, skip + limit) of a custom-period runner board: `$sort`,
    `$skip` and `$limit` inside the pipeline, no `$lookup` (a score's position needs no name)."""
    return [
        *_runner_totals(period, city_id=city_id, team_id=team_id),
        {"$project": {"score": 1}},
        {"$sort": {"score": -1, "_id": 1}},
        {"$skip": skip},
        {"$limit": limit},
    ]


def runner_band(
    period: Period,
    *,
    low: int,
    high: int,
    city_id: PydanticObjectId | None = None,
    team_id: PydanticObjectId | None = None,
    ids: list[Any] | None = None,
) -> Pipeline:
    """Runners scoring within [low, high] (or just `ids`) in board order, with their names:
    the `$lookup` reads only the rows of that band, which a page's rows lie in."""
    band: dict[str, Any] = {"score": {"$gte": low, "$lte": high}}
    if ids is not None:
        band = {"_id": {"$in": ids}}
    return [
        *_runner_totals(period, city_id=city_id, team_id=team_id),
        {"$match": band},
        *_user_rows(),
    ]


def rebuild_buckets() -> Pipeline:
    """Run totals per (team, user, city, day), recomputed from `runs`.

    The finest grain every bucket is a sum of: `rebuild.py` adds these rows up into the team,
    city and user day buckets and their month rollups, so the runs are read once. Grouped by the
    run's stored `day`; distances summed per run in whole metres, half up, as `buckets.apply`
    adds them, so a rebuilt bucket equals the incrementally kept one exactly. Unsorted on
    purpose: the caller folds the rows into a map.
    """
    return [
        {
            "$project": {
                "team_id": 1,
                "user_id": 1,
                "city_id": 1,
                "day": 1,
                "score": 1,
                "distance_km": 1,
            }
        },
        {
            "$group": {
                "_id": {
                    "team_id": "$team_id",
                    "user_id": "$user_id",
                    "city_id": "$city_id",
                    "day": "$day",
                },
                "score": {"$sum": "$score"},
                "distance_m": {"$sum": DISTANCE_M},
                "runs": {"$sum": 1},
            }
        },
    ]

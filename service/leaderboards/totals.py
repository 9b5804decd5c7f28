"""Board totals: one row per entity and standard period, so a board page costs a page.

For every run the day buckets of `buckets.py` name a team, a city, a runner (overall and within
the credited city) and a runner within the team (member). Each of those has one `board_totals`
row per standard period containing the run's day: its day, ISO week, month, year and `all`.
Rows move with `$inc` upserts in the same write as the buckets (`buckets.apply` and
`buckets.withdraw_many` call `move`) and are deleted when exactly empty, like buckets.

A row carries its board's sort keys: `score`, then `sort_name` (the entity's name lower-cased,
kept on renames through the `service/events.py` hooks connected below), then `entity_id`: the
`board_order` index returns a page in board order and a rank is 1 + an index count of rows with
a higher score. A row is created only while its entity exists (a deleted team's rows are
deleted with it and never come back); existing rows always move, so withdrawals never strand
points.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import DeleteOne, UpdateOne
from pymongo.errors import BulkWriteError

from documents import BoardTotal, City, Team, User
from service import events
from service.leaderboards.periods import Period

STANDARD_PERIODS = ("day", "week", "month", "year", "all")
DUPLICATE_KEY = 11000
Totals = dict[str, int]  # {"score", "distance_m", "runs"}
# a day bucket's grain: (team_id, user_id, city_id, day)
Grain = tuple[Any, Any, Any, datetime]


def period_start(period: str, day: datetime) -> datetime | None:
    """The first UTC midnight of the standard period of kind `period` containing `day`."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return None  # all


def board_key(kind: str, period: str, start: datetime | None, scope: Any = None) -> str:
    """The board a row ranks on: kind, period, its start and the scope (team or city)."""
    when = f"{start:%Y-%m-%d}" if start is not None else "-"
    return f"{kind}|{period}|{when}|{scope or '-'}"


def board_of(kind: str, period: Period, scope: Any = None) -> str:
    """The board of a resolved standard period (not `custom`)."""
    return board_key(kind, period.kind, period.start, scope)


def entities(team_id: Any, user_id: Any, city_id: Any) -> list[tuple[str, Any, Any]]:
    """(kind, entity id, scope) of every board a run of this grain counts on."""
    rows: list[tuple[str, Any, Any]] = [
        ("team", team_id, None),
        ("user", user_id, None),
        ("member", user_id, team_id),
    ]
    if city_id is not None:
        rows += [("city", city_id, None), ("user", user_id, city_id)]
    return rows


def rows_for(grain: Grain) -> list[dict[str, Any]]:
    """The keys of every row a day of (team, user, city) counts in (without names)."""
    team_id, user_id, city_id, day = grain
    keys = []
    for kind, entity_id, scope in entities(team_id, user_id, city_id):
        for period in STANDARD_PERIODS:
            start = period_start(period, day)
            board = board_key(kind, period, start, scope)
            keys.append(
                {
                    "_id": f"{board}|{entity_id}",
                    "board": board,
                    "kind": kind,
                    "period": period,
                    "start": start,
                    "scope_id": scope,
                    "entity_id": entity_id,
                }
            )
    return keys


class Labels:
    """Names (and team attributes) of the entities of some rows: what a new row is created with.

    An entity missing here (a deleted team or account) gets no new row; its existing rows still
    move.
    """

    def __init__(self) -> None:
        self.teams: dict[Any, dict[str, Any]] = {}
        self.cities: dict[Any, dict[str, Any]] = {}
        self.users: dict[Any, dict[str, Any]] = {}

    @classmethod
    async def load(cls, grains: Iterable[Grain]) -> Labels:
        team_ids, user_ids, city_ids = set(), set(), set()
        for team_id, user_id, city_id, _ in grains:
            team_ids.add(team_id)
            user_ids.add(user_id)
            if city_id is not None:
                city_ids.add(city_id)
        labels = cls()
        fields = {"name": 1, "kind": 1, "city_id": 1}
        for collection, ids, into in (
            (Team.get_motor_collection(), team_ids, labels.teams),
            (User.get_motor_collection(), user_ids, labels.users),
            (City.get_motor_collection(), city_ids, labels.cities),
        ):
            if ids:
                async for doc in collection.find({"_id": {"$in": list(ids)}}, fields):
                    into[doc["_id"]] = doc
        return labels

    @classmethod
    async def load_all(cls) -> Labels:
        """Every team, city and runner (the rebuild)."""
        labels = cls()
        fields = {"name": 1, "kind": 1, "city_id": 1}
        for collection, into in (
            (Team.get_motor_collection(), labels.teams),
            (User.get_motor_collection(), labels.users),
            (City.get_motor_collection(), labels.cities),
        ):
            async for doc in collection.find({}, fields):
                into[doc["_id"]] = doc
        return labels

    def insert_fields(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """The fields a new row of `key` is created with; None when its entity is gone."""
        kind, entity_id = key["kind"], key["entity_id"]
        source = {"team": self.teams, "city": self.cities}.get(kind, self.users)
        doc = source.get(entity_id)
        if doc is None:
            return None
        fields = {**key, "sort_name": sort_name(doc.get("name", ""))}
        if kind == "team":
            fields["team_kind"] = doc.get("kind")
            fields["team_city_id"] = doc.get("city_id")
        return fields


def sort_name(name: str) -> str:
    """The tie-break key of the boards: the name, lower-cased (as the oracle compares them)."""
    return name.lower()


def moves(changes: Iterable[tuple[Grain, Totals]]) -> dict[str, tuple[dict[str, Any], Totals]]:
    """{row id: (row key, $inc)} for day grains changing by the given totals."""
    out: dict[str, tuple[dict[str, Any], Totals]] = {}
    for grain, inc in changes:
        for key in rows_for(grain):
            _, total = out.setdefault(key["_id"], (key, {"score": 0, "distance_m": 0, "runs": 0}))
            for name, value in inc.items():
                total[name] += value
    return out


async def move(changes: list[tuple[Grain, Totals]]) -> None:
    """Add `changes` to every row they count in; delete the rows left exactly empty.

    Rows of existing entities are upserted; rows of entities that are gone only move if they
    exist. Two first upserts of one row racing: the loser's duplicate key is retried (then as an
    update), as for buckets.
    """
    planned = moves(changes)
    if not planned:
        return
    labels = await Labels.load(grain for grain, _ in changes)
    ops: list[UpdateOne] = []
    for _id, (key, inc) in planned.items():
        fields = labels.insert_fields(key)
        if fields is None:
            ops.append(UpdateOne({"_id": _id}, {"$inc": inc}))
        else:
            on_insert = {k: v for k, v in fields.items() if k != "_id"}
            ops.append(
                UpdateOne({"_id": _id}, {"$inc": inc, "$setOnInsert": on_insert}, upsert=True)
            )
    collection = BoardTotal.get_motor_collection()
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
        [DeleteOne({"_id": _id, "runs": 0, "score": 0, "distance_m": 0}) for _id in planned],
        ordered=False,
    )


# --- names and deletions, through the hooks ---------------------------------------------------


async def rename(kinds: list[str], entity_id: PydanticObjectId | None, name: str) -> None:
    """Keep `sort_name` equal to the entity's name on every row of it."""
    if entity_id is None:
        return
    await BoardTotal.get_motor_collection().update_many(
        {"entity_id": entity_id, "kind": {"$in": kinds}},
        {"$set": {"sort_name": sort_name(name)}},
    )


async def _on_user_updated(*, before: User, after: User) -> None:
    if before.name != after.name:
        await rename(["user", "member"], after.id, after.name)


async def _on_team_updated(*, before: Team, after: Team) -> None:
    if before.name != after.name:
        await rename(["team"], after.id, after.name)


async def _on_city_updated(*, before: City, after: City) -> None:
    if before.name != after.name:
        await rename(["city"], after.id, after.name)
        await rename(["team"], after.team_id, after.name)  # the city team carries its name


async def _on_team_deleted(*, team: Team) -> None:
    """A deleted team leaves the team boards (its runs still count for runners and cities)."""
    await BoardTotal.get_motor_collection().delete_many({"entity_id": team.id, "kind": "team"})


events.user_updated.connect(_on_user_updated)
events.team_updated.connect(_on_team_updated)
events.city_updated.connect(_on_city_updated)
events.team_deleted.connect(_on_team_deleted)

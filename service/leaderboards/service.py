"""Leaderboards: the only code that reads score buckets (and, for team member boards, runs).

Each board is one aggregation pipeline returning every ranked entity of the period, best first;
ranks are computed over that whole list before slicing, so they are right on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from beanie import PydanticObjectId
from motor.motor_asyncio import AsyncIOMotorCollection

from documents import ScoreBucket, Team
from service.leaderboards import pipelines
from service.leaderboards.periods import Period
from service.leaderboards.schemas import (
    CityOrder,
    CityRow,
    Leaderboard,
    PeriodRead,
    TeamRow,
    UserRow,
)
from service.pagination import PageParams

T = TypeVar("T")
Row = dict[str, Any]


def competition_ranks(values: Sequence[Any]) -> list[int]:
    """Ranks of values sorted best first: equal values share a rank, then one is skipped."""
    ranks: list[int] = []
    for position, value in enumerate(values):
        ranks.append(ranks[-1] if position and value == values[position - 1] else position + 1)
    return ranks


def score_per_member(score: int, members: int) -> float:
    return round(score / max(members, 1), 2)


def score_per_capita(score: int, population: int | None) -> float | None:
    """Score per 100,000 inhabitants, 2 decimals; None for a city without a known population."""
    if not population:
        return None
    return round(score * 100_000 / population, 2)


def per_capita_order(rows: list[Row]) -> list[Row]:
    """Best score per capita first; cities without a population (custom ones) come last.

    Those rank among themselves by score, after every city that has a per-capita score. Each
    row gets `per_capita_rank_key`, equal for rows that share a rank.
    """
    for row in rows:
        per_capita = row["score_per_capita"]
        row["per_capita_rank_key"] = (
            (0, -per_capita) if per_capita is not None else (1, -row["score"])
        )
    rows.sort(key=lambda r: (r["per_capita_rank_key"], r["sort_name"], r["_id"]))
    return rows


def _id(value: Any) -> str | None:
    return str(value) if value is not None else None


async def _aggregate(collection: AsyncIOMotorCollection, pipeline: list[Row]) -> list[Row]:
    return await collection.aggregate(pipeline).to_list(length=None)  # type: ignore[no-any-return]


def _board(
    rows: list[Row],
    *,
    period: Period,
    page: PageParams,
    order: str,
    build: Callable[[Row, int], T],
) -> Leaderboard[T]:
    ranks = competition_ranks([row[order] for row in rows])
    window = range(page.offset, min(page.offset + page.limit, len(rows)))
    return Leaderboard[T](
        items=[build(rows[i], ranks[i]) for i in window],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
        period=PeriodRead(kind=period.kind, from_=period.start, to=period.end),
    )


def _totals(row: Row, rank: int) -> Row:
    return {
        "rank": rank,
        "score": row["score"],
        "distance_km": row["distance_m"] / 1000,
        "runs": row["runs"],
    }


def _per_member(row: Row) -> Row:
    return {"members": row["members"], "score_per_member": row["score_per_member"]}


def _with_per_member(rows: list[Row]) -> list[Row]:
    for row in rows:
        row["score_per_member"] = score_per_member(row["score"], row["members"])
    return rows


def _user_row(row: Row, rank: int) -> UserRow:
    user = {"id": str(row["_id"]), "name": row["name"], "city_id": _id(row.get("city_id"))}
    return UserRow.model_validate({**_totals(row, rank), "user": user})


async def teams(
    *,
    period: Period,
    page: PageParams,
    kind: str | None = None,
    city_id: PydanticObjectId | None = None,
) -> Leaderboard[TeamRow]:
    """Teams ranked by score; `kind`/`city_id` filter on the team."""
    pipeline = pipelines.team_totals(period, kind=kind, city_id=city_id)
    rows = _with_per_member(await _aggregate(ScoreBucket.get_motor_collection(), pipeline))

    def build(row: Row, rank: int) -> TeamRow:
        team = {
            "id": str(row["_id"]),
            "name": row["name"],
            "kind": row["kind"],
            "city_id": _id(row.get("city_id")),
        }
        return TeamRow.model_validate({**_totals(row, rank), **_per_member(row), "team": team})

    return _board(rows, period=period, page=page, order="score", build=build)


async def cities(
    *, period: Period, page: PageParams, order: CityOrder = "score"
) -> Leaderboard[CityRow]:
    """Cities ranked by score, by score per member of their city team, or per capita."""
    pipeline = pipelines.city_totals(period)
    rows = _with_per_member(await _aggregate(ScoreBucket.get_motor_collection(), pipeline))
    for row in rows:
        row["population"] = row.get("population")
        row["score_per_capita"] = score_per_capita(row["score"], row["population"])
    rank_by: str = order
    if order == "score_per_member":
        # per-member values are rounded here (mongomock has no $round), so they are sorted here
        rows.sort(key=lambda r: (-r["score_per_member"], r["sort_name"], r["_id"]))
    elif order == "score_per_capita":
        rows, rank_by = per_capita_order(rows), "per_capita_rank_key"

    def build(row: Row, rank: int) -> CityRow:
        city = {"id": str(row["_id"]), "name": row["name"], "slug": row["slug"]}
        per_capita = {"population": row["population"], "score_per_capita": row["score_per_capita"]}
        return CityRow.model_validate(
            {**_totals(row, rank), **_per_member(row), **per_capita, "city": city}
        )

    return _board(rows, period=period, page=page, order=rank_by, build=build)


async def users(
    *, period: Period, page: PageParams, city_id: PydanticObjectId | None = None
) -> Leaderboard[UserRow]:
    """Runners ranked by score; `city_id` counts only runs credited to that city."""
    pipeline = pipelines.user_totals(period, city_id=city_id)
    rows = await _aggregate(ScoreBucket.get_motor_collection(), pipeline)
    return _board(rows, period=period, page=page, order="score", build=_user_row)


async def team_members(*, team: Team, period: Period, page: PageParams) -> Leaderboard[UserRow]:
    """Runners ranked by the score of their runs credited to `team` (members then or now)."""
    assert team.id is not None
    pipeline = pipelines.member_totals(team.id, period)
    rows = await _aggregate(ScoreBucket.get_motor_collection(), pipeline)
    return _board(rows, period=period, page=page, order="score", build=_user_row)

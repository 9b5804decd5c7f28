from typing import Annotated, Literal

from beanie import PydanticObjectId
from fastapi import APIRouter, Query

from service.errors import problem_responses
from service.leaderboards import service as leaderboards
from service.leaderboards.dependencies import PeriodDep
from service.leaderboards.schemas import CityOrder, CityRow, Leaderboard, TeamRow, UserRow
from service.pagination import OffsetPageDep
from service.teams.dependencies import TeamDep

router = APIRouter(tags=["leaderboards"])

CityFilter = Annotated[
    PydanticObjectId | None, Query(description="Only this city (see each endpoint)")
]


@router.get(
    "/leaderboards/teams",
    summary="Team leaderboard",
    response_model=Leaderboard[TeamRow],
    responses=problem_responses(422),
)
async def team_leaderboard(
    period: PeriodDep,
    page: OffsetPageDep,
    city_id: CityFilter = None,
    kind: Annotated[Literal["city", "custom"] | None, Query(description="Team kind")] = None,
) -> Leaderboard[TeamRow]:
    """Teams ranked by score in the period; `city_id` is the team's city."""
    return await leaderboards.teams(period=period, page=page, kind=kind, city_id=city_id)


@router.get(
    "/leaderboards/cities",
    summary="City leaderboard",
    response_model=Leaderboard[CityRow],
    responses=problem_responses(422),
)
async def city_leaderboard(
    period: PeriodDep,
    page: OffsetPageDep,
    order: Annotated[
        CityOrder,
        Query(
            description="Rank by score, per member, or per 100,000 inhabitants "
            "(cities without a population last)"
        ),
    ] = "score",
) -> Leaderboard[CityRow]:
    """Cities ranked by score, by score per member of their city team, or per capita."""
    return await leaderboards.cities(period=period, page=page, order=order)


@router.get(
    "/leaderboards/users",
    summary="Runner leaderboard",
    response_model=Leaderboard[UserRow],
    responses=problem_responses(422),
)
async def user_leaderboard(
    period: PeriodDep, page: OffsetPageDep, city_id: CityFilter = None
) -> Leaderboard[UserRow]:
    """Runners ranked by score; `city_id` counts only runs credited to that city."""
    return await leaderboards.users(period=period, page=page, city_id=city_id)


@router.get(
    "/teams/{team_id}/leaderboard",
    summary="A team's runners",
    response_model=Leaderboard[UserRow],
    responses=problem_responses(404, 422),
)
async def team_member_leaderboard(
    team: TeamDep, period: PeriodDep, page: OffsetPageDep
) -> Leaderboard[UserRow]:
    """Runners ranked by the score of their runs credited to this team in the period."""
    return await leaderboards.team_members(team=team, period=period, page=page)

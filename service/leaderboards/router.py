from typing import Annotated, Literal

from beanie import PydanticObjectId
from fastapi import APIRouter, Depends, Query

from documents import User
from service.errors import Unauthorized, problem_responses
from service.leaderboards import service as leaderboards
from service.leaderboards.dependencies import PeriodDep
from service.leaderboards.schemas import CityOrder, CityRow, Leaderboard, TeamRow, UserRow
from service.pagination import OffsetPageDep
from service.security import SettingsDep, oauth2_scheme, optional_user
from service.teams.dependencies import TeamDep

router = APIRouter(tags=["leaderboards"])

CityFilter = Annotated[
    PydanticObjectId | None, Query(description="Only this city (see each endpoint)")
]
Around = Annotated[
    Literal["me"] | None,
    Query(
        description="`me` (needs a token): the caller's row (see each board) and the "
        f"{leaderboards.AROUND} rows above and below it instead of a page; no row: `items` empty"
    ),
]


async def _caller(
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    around: Around = None,
) -> User | None:
    """The caller whose row `around=me` centres on (401 without a valid token); the token is
    read only then: the boards stay public."""
    if around is None:
        return None
    user = await optional_user(settings, token)
    if user is None:
        raise Unauthorized("around=me needs a token")
    return user


CallerDep = Annotated[User | None, Depends(_caller)]


@router.get(
    "/leaderboards/teams",
    summary="Team leaderboard",
    response_model=Leaderboard[TeamRow],
    responses=problem_responses(401, 422),
)
async def team_leaderboard(
    period: PeriodDep,
    page: OffsetPageDep,
    caller: CallerDep,
    city_id: CityFilter = None,
    kind: Annotated[Literal["city", "custom"] | None, Query(description="Team kind")] = None,
) -> Leaderboard[TeamRow]:
    """Teams ranked by score in the period; `city_id` is the team's city.

    With `around=me`, the caller's best-placed team and the teams around it."""
    return await leaderboards.teams(
        period=period, page=page, kind=kind, city_id=city_id, around=caller
    )


@router.get(
    "/leaderboards/cities",
    summary="City leaderboard",
    response_model=Leaderboard[CityRow],
    responses=problem_responses(401, 422),
)
async def city_leaderboard(
    period: PeriodDep,
    page: OffsetPageDep,
    caller: CallerDep,
    order: Annotated[
        CityOrder,
        Query(
            description="Rank by score, per member, or per 100,000 inhabitants "
            "(cities without a population last)"
        ),
    ] = "score",
) -> Leaderboard[CityRow]:
    """Cities ranked by score, by score per member of their city team, or per capita.

    With `around=me`, the caller's home city and the cities around it."""
    return await leaderboards.cities(period=period, page=page, order=order, around=caller)


@router.get(
    "/leaderboards/users",
    summary="Runner leaderboard",
    response_model=Leaderboard[UserRow],
    responses=problem_responses(401, 422),
)
async def user_leaderboard(
    period: PeriodDep,
    page: OffsetPageDep,
    caller: CallerDep,
    city_id: CityFilter = None,
) -> Leaderboard[UserRow]:
    """Runners ranked by score; `city_id` counts only runs credited to that city.

    With `around=me`, the caller's row and the runners around it."""
    return await leaderboards.users(period=period, page=page, city_id=city_id, around=caller)


@router.get(
    "/teams/{team_id}/leaderboard",
    summary="A team's runners",
    response_model=Leaderboard[UserRow],
    responses=problem_responses(401, 404, 422),
)
async def team_member_leaderboard(
    team: TeamDep, period: PeriodDep, page: OffsetPageDep, caller: CallerDep
) -> Leaderboard[UserRow]:
    """Runners ranked by the score of their runs credited to this team in the period.

    With `around=me`, the caller's row and the runners around it."""
    return await leaderboards.team_members(team=team, period=period, page=page, around=caller)

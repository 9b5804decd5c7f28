from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from service.challenges import service as challenges
from service.challenges.dependencies import ChallengeDep
from service.challenges.schemas import (
    ChallengeCreate,
    ChallengeRead,
    Leaderboard,
    ParticipationRead,
    Status,
)
from service.errors import problem_responses
from service.pagination import OffsetPageDep, Page, PageDep
from service.security import AdminUser, CurrentUser

router = APIRouter(tags=["challenges"])


@router.post(
    "/challenges",
    summary="Create a challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeRead,
    responses=problem_responses(401, 403, 422),
)
async def create_challenge(user: CurrentUser, data: ChallengeCreate) -> ChallengeRead:
    """Create a challenge: public (anyone), team (its owner or an admin), city (a resident or an
    admin), global (an admin)."""
    return challenges.to_read(await challenges.create(data=data, actor=user))


@router.get(
    "/challenges",
    summary="List challenges",
    response_model=Page[ChallengeRead],
    responses=problem_responses(401, 422),
)
async def list_challenges(
    user: CurrentUser,
    page: PageDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    scope: Literal["public", "team", "city", "global"] | None = None,
    mine: bool = False,
) -> Page[ChallengeRead]:
    """Challenges by status (active: ending soonest first; upcoming: starting soonest first;
    ended: latest first; none: all not ended), optionally of one scope or only yours."""
    return await challenges.search(status=status_, scope=scope, mine=mine, user=user, page=page)


@router.get(
    "/challenges/{challenge_id}",
    summary="A challenge",
    response_model=ChallengeRead,
    responses=problem_responses(401, 404),
)
async def get_challenge(user: CurrentUser, challenge: ChallengeDep) -> ChallengeRead:
    """A challenge with, when you take part, your progress, rank and completion."""
    return await challenges.read(challenge, user)


@router.delete(
    "/challenges/{challenge_id}",
    summary="Delete a challenge",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_challenge(_: AdminUser, challenge: ChallengeDep) -> Response:
    """Delete a challenge (admin): its participations go and completion XP is withdrawn."""
    await challenges.delete(challenge=challenge)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/challenges/{challenge_id}/leaderboard",
    summary="A challenge's leaderboard",
    response_model=Leaderboard,
    responses=problem_responses(401, 404, 422),
)
async def challenge_leaderboard(
    _: CurrentUser, challenge: ChallengeDep, page: OffsetPageDep
) -> Leaderboard:
    """Participants (teams or cities in those modes) by progress, competition ranking."""
    return await challenges.leaderboard(challenge=challenge, limit=page.limit, offset=page.offset)


@router.post(
    "/challenges/{challenge_id}/participants",
    summary="Join a challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def join_challenge(user: CurrentUser, challenge: ChallengeDep) -> ChallengeRead:
    """Take part; your activities since the challenge started count (late joiners get the
    whole window). Team scope: members only; city scope: residents (enrolled automatically by
    their first run credited to the city in the window)."""
    return await challenges.join(challenge=challenge, user=user)


@router.delete(
    "/challenges/{challenge_id}/participants/me",
    summary="Leave a challenge",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 409),
)
async def leave_challenge(user: CurrentUser, challenge: ChallengeDep) -> Response:
    """Leave before the end: your progress and any completion XP go (409 after the end)."""
    await challenges.leave(challenge=challenge, user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/me/challenges",
    summary="My challenges",
    response_model=Page[ParticipationRead],
    responses=problem_responses(401, 422),
)
async def my_challenges(user: CurrentUser, page: PageDep) -> Page[ParticipationRead]:
    """The challenges you take part in, latest ending first, with your progress."""
    return await challenges.my_challenges(user=user, page=page)

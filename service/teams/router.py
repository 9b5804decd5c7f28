from typing import Annotated, Literal

from beanie import PydanticObjectId
from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse

from service.accounts.dependencies import UserDep
from service.errors import problem_responses
from service.ids import object_id_or_404
from service.pagination import Page, PageDep
from service.security import CurrentUser, SettingsDep
from service.teams import service as teams
from service.teams.dependencies import MyInvitationDep, TeamDep
from service.teams.schemas import (
    InvitationCreate,
    InvitationRead,
    MemberRead,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    UserTeamRead,
)
from service.validation import SearchText

router = APIRouter(tags=["teams"])

ObjectIdQuery = Annotated[str | None, Query(pattern=r"^[0-9a-fA-F]{24}$")]


@router.post(
    "/teams",
    summary="Create a team",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamRead,
    responses=problem_responses(401, 409, 422),
)
async def create_team(data: TeamCreate, user: CurrentUser, settings: SettingsDep) -> TeamRead:
    """Create a custom team; the creator is its owner and first member (at most
    MAX_TEAMS_OWNED teams owned: 409)."""
    return teams.to_read(await teams.create(data=data, actor=user, settings=settings))


@router.get(
    "/teams", summary="List teams", response_model=Page[TeamRead], responses=problem_responses(422)
)
async def list_teams(
    page: PageDep,
    city_id: ObjectIdQuery = None,
    kind: Literal["city", "custom"] | None = None,
    search: Annotated[
        SearchText | None,
        Query(
            max_length=60,
            description="Part of the name, anywhere in it (a scan with a time limit: prefer "
            "`prefix`)",
        ),
    ] = None,
    prefix: Annotated[
        SearchText | None,
        Query(
            max_length=60,
            description="Start of the name, case-insensitive (a city team also by its "
            "city's slug): served by an index",
        ),
    ] = None,
) -> Page[TeamRead]:
    """Teams by name, optionally of one city or kind, or whose name starts or contains a text."""
    return await teams.search(
        city_id=PydanticObjectId(city_id) if city_id else None,
        kind=kind,
        query=search,
        prefix=prefix,
        page=page,
    )


@router.get(
    "/teams/{team_id}",
    summary="Get a team",
    response_model=TeamRead,
    responses=problem_responses(404),
)
async def get_team(team: TeamDep) -> TeamRead:
    """A team with its member count."""
    return teams.to_read(team)


@router.patch(
    "/teams/{team_id}",
    summary="Update a team",
    response_model=TeamRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_team(
    team: TeamDep, changes: TeamUpdate, user: CurrentUser, settings: SettingsDep
) -> TeamRead:
    """Rename, describe, change visibility or transfer ownership (owner or admin)."""
    updated = await teams.update(team=team, changes=changes, actor=user, settings=settings)
    return teams.to_read(updated)


@router.delete(
    "/teams/{team_id}",
    summary="Delete a team",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_team(team: TeamDep, user: CurrentUser) -> Response:
    """Delete a custom team (owner or admin); its runs still count for runners and cities."""
    await teams.delete(team=team, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/teams/{team_id}/members",
    summary="List team members",
    response_model=Page[MemberRead],
    responses=problem_responses(404),
)
async def list_members(team: TeamDep, page: PageDep) -> Page[MemberRead]:
    """Members in the order they joined."""
    return await teams.members(team=team, page=page)


@router.post(
    "/teams/{team_id}/members",
    summary="Join a team",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberRead,
    responses={
        200: {"model": MemberRead, "description": "Already a member"},
        **problem_responses(401, 403, 404),
    },
)
async def join_team(team: TeamDep, user: CurrentUser) -> MemberRead | JSONResponse:
    """Join an open team (201); joining again is harmless (200)."""
    _, created = await teams.join(team=team, actor=user)
    assert team.id is not None and user.id is not None
    read = await teams.member_read(team.id, user.id)
    if created:
        return read
    return JSONResponse(read.model_dump(mode="json"), status_code=status.HTTP_200_OK)


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    summary="Leave or remove a member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def remove_member(
    team: TeamDep, user_id: Annotated[str, Path()], user: CurrentUser
) -> Response:
    """Leave yourself, or (owner/admin) remove someone; the owner transfers ownership first."""
    await teams.remove(team=team, user_id=object_id_or_404(user_id, "User"), actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/{user_id}/teams",
    summary="A user's teams",
    response_model=Page[UserTeamRead],
    responses=problem_responses(404),
)
async def user_teams(target: UserDep, page: PageDep) -> Page[UserTeamRead]:
    """The teams a user belongs to (their city team included), with their role."""
    return await teams.teams_of(user=target, page=page)


@router.post(
    "/teams/{team_id}/invitations",
    summary="Invite a user",
    tags=["invitations"],
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationRead,
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def invite(
    team: TeamDep, data: InvitationCreate, user: CurrentUser, settings: SettingsDep
) -> InvitationRead:
    """Invite a user to a custom team (owner or admin); it expires after 14 days.

    At most MAX_INVITATIONS_PER_DAY invitations a UTC day per user (429 with Retry-After)."""
    invitation = await teams.invite(
        team=team, user_id=PydanticObjectId(data.user_id), actor=user, settings=settings
    )
    return (await teams.invitation_reads([invitation]))[0]


@router.get(
    "/users/me/invitations",
    summary="My pending invitations",
    tags=["invitations"],
    response_model=Page[InvitationRead],
    responses=problem_responses(401),
)
async def my_invitations(user: CurrentUser, page: PageDep) -> Page[InvitationRead]:
    """Pending, unexpired invitations addressed to the caller, newest first."""
    return await teams.my_invitations(user=user, page=page)


@router.post(
    "/invitations/{invitation_id}/accept",
    summary="Accept an invitation",
    tags=["invitations"],
    response_model=InvitationRead,
    responses=problem_responses(401, 404, 409),
)
async def accept(invitation: MyInvitationDep) -> InvitationRead:
    """Accept: you join the team, invite-only or not."""
    invitation = await teams.respond(invitation=invitation, accept=True)
    return (await teams.invitation_reads([invitation]))[0]


@router.post(
    "/invitations/{invitation_id}/decline",
    summary="Decline an invitation",
    tags=["invitations"],
    response_model=InvitationRead,
    responses=problem_responses(401, 404, 409),
)
async def decline(invitation: MyInvitationDep) -> InvitationRead:
    """Decline an invitation addressed to you."""
    invitation = await teams.respond(invitation=invitation, accept=False)
    return (await teams.invitation_reads([invitation]))[0]

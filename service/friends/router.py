"""Friend requests (`/friends/requests`), friends and blocks (`/users/.../friends|blocks`)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service.accounts.dependencies import UserDep
from service.errors import problem_responses
from service.friends import service as friends
from service.friends.dependencies import IncomingRequestDep, OutgoingRequestDep, UserIdDep
from service.friends.schemas import (
    BlockRead,
    Direction,
    FriendRead,
    FriendRequestCreate,
    FriendRequestRead,
)
from service.ids import object_id_or_404
from service.pagination import Page, PageDep
from service.security import CurrentUser

requests_router = APIRouter(prefix="/friends/requests", tags=["friends"])
friends_router = APIRouter(prefix="/users", tags=["friends"])

NO_CONTENT = status.HTTP_204_NO_CONTENT


@requests_router.post(
    "",
    summary="Ask someone to be friends",
    status_code=status.HTTP_201_CREATED,
    # two outcomes, each with its own schema below (a union would show both under 201)
    response_model=None,
    responses={
        201: {"model": FriendRequestRead, "description": "The pending request"},
        200: {"model": FriendRead, "description": "They had asked you: now you are friends"},
        **problem_responses(401, 404, 409, 422),
    },
)
async def send_request(
    data: FriendRequestCreate, user: CurrentUser, response: Response
) -> FriendRequestRead | FriendRead:
    """201 with the pending request; 200 with the new friend when that user had already asked
    you (their request is accepted). 409: already friends, already asked, you blocked them, or
    a friend limit reached; 404: no such user, or they blocked you (the same answer)."""
    target_id = object_id_or_404(data.user_id, "User")
    outcome = await friends.send_request(user=user, target_id=target_id)
    if isinstance(outcome, FriendRead):
        response.status_code = status.HTTP_200_OK
    return outcome


@requests_router.post(
    "/{request_id}/accept",
    summary="Accept a friend request",
    response_model=FriendRead,
    responses=problem_responses(401, 404, 409),
)
async def accept_request(request: IncomingRequestDep, user: CurrentUser) -> FriendRead:
    """The recipient accepts: the sender becomes a friend (anyone else: 404)."""
    return await friends.accept(user=user, request=request)


@requests_router.post(
    "/{request_id}/decline",
    summary="Decline a friend request",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def decline_request(request: IncomingRequestDep, user: CurrentUser) -> Response:
    """The recipient declines: the request is removed, the sender is not told."""
    await friends.decline(user=user, request=request)
    return Response(status_code=NO_CONTENT)


@requests_router.delete(
    "/{request_id}",
    summary="Withdraw a friend request",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def cancel_request(request: OutgoingRequestDep, user: CurrentUser) -> Response:
    """The sender withdraws a pending request (anyone else: 404)."""
    await friends.cancel(user=user, request=request)
    return Response(status_code=NO_CONTENT)


@friends_router.get(
    "/me/friends/requests",
    summary="My pending friend requests",
    response_model=Page[FriendRequestRead],
    responses=problem_responses(401, 422),
)
async def list_requests(
    user: CurrentUser,
    page: PageDep,
    direction: Annotated[
        Direction, Query(description="incoming (to me) or outgoing (from me)")
    ] = "incoming",
) -> Page[FriendRequestRead]:
    """Pending requests to or from the caller, newest first."""
    return await friends.requests(user=user, direction=direction, page=page)


@friends_router.get(
    "/me/friends",
    summary="My friends",
    response_model=Page[FriendRead],
    responses=problem_responses(401, 422),
)
async def list_my_friends(user: CurrentUser, page: PageDep) -> Page[FriendRead]:
    """The caller's friends, newest friendship first."""
    return await friends.friends(viewer=user, owner=user, page=page)


@friends_router.delete(
    "/me/friends/{user_id}",
    summary="Unfriend someone",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def unfriend(user: CurrentUser, user_id: UserIdDep) -> Response:
    """End a friendship (404 when you are not friends); both friends counts drop by one."""
    await friends.unfriend(user=user, friend_id=user_id)
    return Response(status_code=NO_CONTENT)


@friends_router.get(
    "/me/blocks",
    summary="Users I blocked",
    response_model=Page[BlockRead],
    responses=problem_responses(401, 422),
)
async def list_blocks(user: CurrentUser, page: PageDep) -> Page[BlockRead]:
    """The users the caller blocked, most recent first."""
    return await friends.blocks(user=user, page=page)


@friends_router.put(
    "/me/blocks/{user_id}",
    summary="Block a user",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404, 409, 422),
)
async def block(user: CurrentUser, user_id: UserIdDep) -> Response:
    """Block someone (again: no change). Ends your friendship and pending requests both ways;
    they can no longer ask you, see your non-public things, comment on or like them."""
    await friends.block(user=user, target_id=user_id)
    return Response(status_code=NO_CONTENT)


@friends_router.delete(
    "/me/blocks/{user_id}",
    summary="Unblock a user",
    status_code=NO_CONTENT,
    responses=problem_responses(401, 404),
)
async def unblock(user: CurrentUser, user_id: UserIdDep) -> Response:
    """Lift a block (none: no change); an ended friendship does not come back."""
    await friends.unblock(user=user, target_id=user_id)
    return Response(status_code=NO_CONTENT)


@friends_router.get(
    "/{user_id}/friends",
    summary="A user's friends",
    response_model=Page[FriendRead],
    responses=problem_responses(401, 404, 422),
)
async def list_friends(viewer: CurrentUser, owner: UserDep, page: PageDep) -> Page[FriendRead]:
    """Anyone's friends, newest friendship first (signed-in users; across a block: 404)."""
    return await friends.friends(viewer=viewer, owner=owner, page=page)


# main.py includes this one router
router = APIRouter()
router.include_router(requests_router)
router.include_router(friends_router)

from typing import Annotated

from beanie import PydanticObjectId
from fastapi import Depends, Path

from documents.social import FriendRequest
from service.friends import service as friends
from service.ids import object_id_or_404
from service.security import CurrentUser


async def parse_user_id(user_id: Annotated[str, Path(description="User id")]) -> PydanticObjectId:
    return object_id_or_404(user_id, "User")


async def parse_request_id(
    request_id: Annotated[str, Path(description="Friend request id")],
) -> PydanticObjectId:
    return object_id_or_404(request_id, "Friend request")


UserIdDep = Annotated[PydanticObjectId, Depends(parse_user_id)]
RequestIdDep = Annotated[PydanticObjectId, Depends(parse_request_id)]


async def incoming_request_or_404(user: CurrentUser, request_id: RequestIdDep) -> FriendRequest:
    """A pending request to the caller (anyone else's: 404)."""
    return await friends.incoming_request(user=user, request_id=request_id)


async def outgoing_request_or_404(user: CurrentUser, request_id: RequestIdDep) -> FriendRequest:
    """A pending request from the caller (anyone else's: 404)."""
    return await friends.outgoing_request(user=user, request_id=request_id)


IncomingRequestDep = Annotated[FriendRequest, Depends(incoming_request_or_404)]
OutgoingRequestDep = Annotated[FriendRequest, Depends(outgoing_request_or_404)]

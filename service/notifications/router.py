from typing import Annotated

from fastapi import APIRouter, Query

from service.errors import problem_responses
from service.notifications import service as notifications
from service.notifications.schemas import MarkedRead, MarkRead, NotificationPage
from service.pagination import PageDep
from service.security import CurrentUser

router = APIRouter(tags=["notifications"])


@router.get(
    "/users/me/notifications",
    summary="My notifications",
    response_model=NotificationPage,
    responses=problem_responses(401, 422),
)
async def list_notifications(
    user: CurrentUser,
    page: PageDep,
    unread: Annotated[
        bool | None,
        Query(description="true: only unread ones; false: only read ones; absent: all"),
    ] = None,
) -> NotificationPage:
    """Your notifications, newest first (friend requests, likes, comments, team invitations,
    badges, challenges, weekly goals; kept 90 days), with how many are unread."""
    return await notifications.list_for(user=user, unread=unread, page=page)


@router.post(
    "/users/me/notifications/read",
    summary="Mark notifications read",
    response_model=MarkedRead,
    responses=problem_responses(401, 422),
)
async def mark_read(user: CurrentUser, data: MarkRead) -> MarkedRead:
    """Mark the given notifications (up to 100 ids; ids not yours are ignored) or `all: true`
    of them read; answers how many changed and the unread count left."""
    return await notifications.mark_read(user=user, data=data)

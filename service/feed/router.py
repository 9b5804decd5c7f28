"""`GET /feed`: the caller's, their friends' and followed athletes' activity, newest first."""

from typing import Annotated

from fastapi import APIRouter, Query

from service.errors import problem_responses
from service.feed import service as feeds
from service.feed.schemas import FeedPage
from service.pagination import MAX_CURSOR_CHARS, MAX_LIMIT
from service.security import CurrentUser, SettingsDep

router = APIRouter(prefix="/feed", tags=["feed"])


@router.get(
    "",
    summary="My feed",
    response_model=FeedPage,
    responses=problem_responses(401, 422),
)
async def read_feed(
    user: CurrentUser,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 20,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description="The `next_cursor` of the previous page: the items older than its last",
        ),
    ] = None,
) -> FeedPage:
    """Runs, workouts and posts of the caller, their friends and the athletes they follow that
    the caller may see, and badges earned and challenges completed by the caller and their
    friends; newest first. Blocked users (either way) are left out. Pages by `next_cursor`:
    items that arrive meanwhile never make a page repeat or skip an item."""
    return await feeds.feed(
        user=user, limit=limit, cursor=cursor, max_follows=settings.feed_max_follows
    )

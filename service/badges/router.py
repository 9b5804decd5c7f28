from fastapi import APIRouter, Response, status

from service.accounts.dependencies import UserDep
from service.badges import service as badges
from service.badges.dependencies import BadgeDep
from service.badges.schemas import BadgeCreate, BadgeRead, BadgeUpdate, UserBadges
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.security import AdminUser, CurrentUser

router = APIRouter(tags=["badges"])


@router.get(
    "/badges",
    summary="The badge catalogue",
    response_model=Page[BadgeRead],
    responses=problem_responses(422),
)
async def list_badges(page: PageDep) -> Page[BadgeRead]:
    """Every badge anyone can earn, by key (public)."""
    return await badges.search(page=page)


@router.post(
    "/badges",
    summary="Add a badge",
    status_code=status.HTTP_201_CREATED,
    response_model=BadgeRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_badge(_: AdminUser, data: BadgeCreate) -> BadgeRead:
    """Add a badge (admin); everyone who already meets it gets it from a background job."""
    return badges.to_read(await badges.create(data=data))


@router.patch(
    "/badges/{badge_id}",
    summary="Edit a badge",
    response_model=BadgeRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_badge(_: AdminUser, badge: BadgeDep, changes: BadgeUpdate) -> BadgeRead:
    """Edit a badge (admin); its rule and reward are fixed once someone has earned it (409)."""
    return badges.to_read(await badges.update(badge=badge, changes=changes))


@router.delete(
    "/badges/{badge_id}",
    summary="Delete a badge",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_badge(_: AdminUser, badge: BadgeDep) -> Response:
    """Delete a badge nobody has earned (admin); an earned one stays (409)."""
    await badges.delete(badge=badge)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/{user_id}/badges",
    summary="A user's badges",
    response_model=UserBadges,
    responses=problem_responses(401, 404),
)
async def user_badges(viewer: CurrentUser, target: UserDep) -> UserBadges:
    """Badges the user earned, newest first, with what earned each; for yourself also your
    progress towards every badge not earned yet."""
    return await badges.of_user(user=target, viewer=viewer)

from fastapi import APIRouter, Response, status

from service.accounts.dependencies import UserDep
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.posts import cascade, export  # noqa: F401  (deletion hooks, export files)
from service.posts import service as posts
from service.posts.dependencies import PostDep, PostId
from service.posts.schemas import PostCreate, PostRead, PostUpdate
from service.security import CurrentUser, OptionalUser

router = APIRouter(tags=["posts"])


@router.post(
    "/posts",
    summary="Publish a post",
    status_code=status.HTTP_201_CREATED,
    response_model=PostRead,
    responses=problem_responses(401, 422),
)
async def create_post(data: PostCreate, user: CurrentUser) -> PostRead:
    """Post a text (1-5,000 characters), optionally with one of your runs or workouts;
    `visibility` defaults to your `default_visibility`."""
    return await posts.read(await posts.create(user=user, data=data), user)


@router.get(
    "/posts/{post_id}",
    summary="A post",
    response_model=PostRead,
    responses=problem_responses(401, 404),
)
async def get_post(post_id: PostId, viewer: OptionalUser) -> PostRead:
    """A post you may see (else 404); an attached activity you may not see is null."""
    return await posts.read(await posts.get_visible(post_id, viewer), viewer)


@router.patch(
    "/posts/{post_id}",
    summary="Edit a post",
    response_model=PostRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_post(post: PostDep, changes: PostUpdate, user: CurrentUser) -> PostRead:
    """Change the text or visibility of your own post."""
    return await posts.read(await posts.update(post=post, changes=changes, actor=user), user)


@router.delete(
    "/posts/{post_id}",
    summary="Delete a post",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_post(post: PostDep, user: CurrentUser) -> Response:
    """Delete your post (admins: any post), with its comments and likes."""
    await posts.delete(post=post, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/{user_id}/posts",
    summary="A user's posts",
    response_model=Page[PostRead],
    responses=problem_responses(401, 404, 422),
    tags=["users"],
)
async def list_user_posts(target: UserDep, viewer: OptionalUser, page: PageDep) -> Page[PostRead]:
    """One user's posts you may see, newest first."""
    return await posts.of_user(owner=target, viewer=viewer, page=page)

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from documents.post import SubjectKind
from service.comments import service as comments
from service.comments.schemas import CommentCreate, CommentRead, CommentUpdate
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.posts import subjects
from service.security import CurrentUser, OptionalUser

router = APIRouter(tags=["comments"])

CommentId = Annotated[str, Path(description="Comment id")]


def _add_routes(kind: SubjectKind) -> None:
    # the path names its id as the subject's own routes do: /runs/{run_id}/comments
    SubjectId = Annotated[str, Path(alias=f"{kind}_id", description=f"{subjects.WHAT[kind]} id")]
    path = f"/{subjects.PATHS[kind]}/{{{kind}_id}}/comments"
    what = subjects.WHAT[kind].lower()

    async def add_comment(
        subject_id: SubjectId, data: CommentCreate, user: CurrentUser
    ) -> CommentRead:
        subject = await subjects.interactable(kind, subject_id, user)
        return await comments.read(await comments.add(subject=subject, user=user, data=data))

    async def list_comments(
        subject_id: SubjectId, viewer: OptionalUser, page: PageDep
    ) -> Page[CommentRead]:
        subject = await subjects.visible(kind, subject_id, viewer)
        return await comments.list_of(subject=subject, page=page)

    add_comment.__doc__ = (
        f"Comment on a {what} you may see (1-2,000 characters). 403 when you and its owner "
        "blocked one another."
    )
    list_comments.__doc__ = f"A {what}'s comments, oldest first (404 when you may not see it)."
    router.add_api_route(
        path,
        add_comment,
        methods=["POST"],
        summary=f"Comment on a {what}",
        status_code=status.HTTP_201_CREATED,
        response_model=CommentRead,
        responses=problem_responses(401, 403, 404, 422),
        operation_id=f"comment_on_{kind}",
    )
    router.add_api_route(
        path,
        list_comments,
        methods=["GET"],
        summary=f"Comments on a {what}",
        response_model=Page[CommentRead],
        responses=problem_responses(401, 404, 422),
        operation_id=f"list_{kind}_comments",
    )


for _kind in subjects.PATHS:
    _add_routes(_kind)


@router.patch(
    "/comments/{comment_id}",
    summary="Edit a comment",
    response_model=CommentRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_comment(
    comment_id: CommentId, changes: CommentUpdate, user: CurrentUser
) -> CommentRead:
    """Change the text of your own comment (others: 403, or 404 when they may not see it)."""
    comment, _ = await comments.get_visible(comment_id, user)
    return await comments.read(await comments.update(comment=comment, changes=changes, actor=user))


@router.delete(
    "/comments/{comment_id}",
    summary="Delete a comment",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_comment(comment_id: CommentId, user: CurrentUser) -> Response:
    """Delete a comment: its author, the owner of what it comments on, or an admin."""
    comment, subject = await comments.get_visible(comment_id, user)
    await comments.delete(comment=comment, subject=subject, actor=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from documents.post import SubjectKind
from service.errors import problem_responses
from service.likes import service as likes
from service.likes.schemas import LikeRead
from service.pagination import Page, PageDep
from service.posts import subjects
from service.security import CurrentUser, OptionalUser

router = APIRouter(tags=["likes"])


def _add_routes(kind: SubjectKind) -> None:
    # the path names its id as the subject's own routes do: /runs/{run_id}/comments
    SubjectId = Annotated[str, Path(alias=f"{kind}_id", description=f"{subjects.WHAT[kind]} id")]
    path = f"/{subjects.PATHS[kind]}/{{{kind}_id}}/likes"
    what = subjects.WHAT[kind].lower()

    async def like(subject_id: SubjectId, user: CurrentUser) -> Response:
        subject = await subjects.interactable(kind, subject_id, user)
        await likes.like(subject=subject, user=user)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def unlike(subject_id: SubjectId, user: CurrentUser) -> Response:
        subject = await subjects.visible(kind, subject_id, user)
        await likes.unlike(subject=subject, user=user)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def list_likes(
        subject_id: SubjectId, viewer: OptionalUser, page: PageDep
    ) -> Page[LikeRead]:
        subject = await subjects.visible(kind, subject_id, viewer)
        return await likes.likes_of(subject=subject, page=page)

    like.__doc__ = (
        f"Like a {what} you may see (204; liking it again changes nothing). 403 when you and "
        "its owner blocked one another."
    )
    unlike.__doc__ = f"Take back your like of a {what} (204, also when you had not liked it)."
    list_likes.__doc__ = f"Who liked a {what}, newest first (404 when you may not see it)."
    router.add_api_route(
        path,
        like,
        methods=["PUT"],
        summary=f"Like a {what}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=problem_responses(401, 403, 404),
        operation_id=f"like_{kind}",
    )
    router.add_api_route(
        path,
        unlike,
        methods=["DELETE"],
        summary=f"Unlike a {what}",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=problem_responses(401, 404),
        operation_id=f"unlike_{kind}",
    )
    router.add_api_route(
        path,
        list_likes,
        methods=["GET"],
        summary=f"Likes of a {what}",
        response_model=Page[LikeRead],
        responses=problem_responses(401, 404, 422),
        operation_id=f"list_{kind}_likes",
    )


for _kind in subjects.PATHS:
    _add_routes(_kind)

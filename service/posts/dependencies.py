from typing import Annotated

from fastapi import Depends, Path

from documents.post import Post
from service.posts import service as posts
from service.security import CurrentUser

PostId = Annotated[str, Path(description="Post id")]


async def post_or_404(post_id: PostId, _: CurrentUser) -> Post:
    # depends on the token first: without one the answer is 401, whether the post exists or not
    return await posts.get(post_id)


PostDep = Annotated[Post, Depends(post_or_404)]

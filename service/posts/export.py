"""The export's posts.json and comments.json (issue 10 §7): the user's own posts and the
comments they wrote anywhere, oldest first, in bounded batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from documents.post import Comment, Post
from service.export.registry import ExportContext, ExportFile, register
from service.export.service import json_array_file, plain, read_batches

# oldest first: the (user_id, created_at desc, _id desc) indexes walked backwards
OLDEST_FIRST = (("created_at", 1), ("_id", 1))


@register
async def posts(context: ExportContext) -> AsyncIterator[ExportFile]:
    """posts.json: every post of the user, oldest first (likes/comments as counts)."""

    async def items() -> AsyncIterator[dict[str, Any]]:
        async for batch in read_batches(
            context, Post, {"user_id": context.user.id}, order=OLDEST_FIRST, hint="user_created"
        ):
            for document in batch:
                yield plain(document, drop=("revision",))

    yield json_array_file("posts.json", items())


@register
async def comments(context: ExportContext) -> AsyncIterator[ExportFile]:
    """comments.json: every comment the user wrote (on anyone's post, run or workout)."""

    async def items() -> AsyncIterator[dict[str, Any]]:
        async for batch in read_batches(
            context,
            Comment,
            {"user_id": context.user.id},
            order=OLDEST_FIRST,
            hint="author_created",
        ):
            for document in batch:
                yield plain(document)

    yield json_array_file("comments.json", items())

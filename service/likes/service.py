"""Likes (kudos): one row per user and subject (`_id` = like_id), the subject's `likes_count`
moved with `$inc` only when a row was really inserted or deleted (exact under concurrency)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents.post import Like, SubjectKind, like_id
from documents.user import User
from service import events
from service.errors import NotFound
from service.likes.schemas import LikeRead
from service.pagination import Page, PageParams, fetch_page
from service.posts import subjects
from service.posts.subjects import Subject
from service.queries import DESC, QueryShape

log = logging.getLogger(__name__)

LIKES_OF_SUBJECT = QueryShape(
    "likes_of_subject",
    Like,
    equality=("subject_kind", "subject_id"),
    sort=(("created_at", DESC),),
    index="subject_recent",
)
# a deleted user's likes, batch by batch (index `user`)
USER_DELETION_BATCH = 500


async def liked_by(
    viewer: User | None, kind: SubjectKind, ids: Iterable[Any]
) -> set[PydanticObjectId]:
    """Which of `ids` (a page: at most MAX_LIMIT) the viewer liked: one `_id $in` read."""
    if viewer is None or viewer.id is None:
        return set()
    wanted = {like_id(kind, i, viewer.id): i for i in ids if i is not None}
    if not wanted:
        return set()
    rows = Like.get_motor_collection().find({"_id": {"$in": list(wanted)}}, {"_id": 1})
    return {wanted[row["_id"]] async for row in rows}


async def like(*, subject: Subject, user: User) -> None:
    """Add the user's like (a second one is a no-op: the `_id` exists)."""
    assert user.id is not None
    row = Like(
        id=like_id(subject.kind, subject.id, user.id),
        subject_kind=subject.kind,
        subject_id=subject.id,
        subject_owner_id=subject.owner_id,
        user_id=user.id,
    )
    try:
        await Like.get_motor_collection().insert_one(row.model_dump(by_alias=True))
    except DuplicateKeyError:
        return  # already liked: nothing inserted, nothing counted
    if not await subjects.bump(subject.kind, subject.id, "likes_count", +1):
        # the subject was deleted between its read and this like: take the row back
        await Like.get_motor_collection().delete_one({"_id": row.id})
        raise NotFound(f"{subject.what} not found")
    await events.like_added.emit(like=row)


async def unlike(*, subject: Subject, user: User) -> None:
    """Remove the user's like, if any (idempotent)."""
    assert user.id is not None
    raw = await Like.get_motor_collection().find_one_and_delete(
        {"_id": like_id(subject.kind, subject.id, user.id)}
    )
    if raw is None:
        return
    await subjects.bump(subject.kind, subject.id, "likes_count", -1)
    await events.like_removed.emit(like=Like.model_validate(raw))


async def likes_of(*, subject: Subject, page: PageParams) -> Page[LikeRead]:
    """Who liked the subject, newest first."""
    criteria = {"subject_kind": subject.kind, "subject_id": subject.id}
    found = await fetch_page(LIKES_OF_SUBJECT, criteria, page)
    refs = await subjects.user_refs([row.user_id for row in found.rows])
    return found.page(
        [
            LikeRead(user=subjects.user_ref(refs, row.user_id), created_at=row.created_at)
            for row in found.rows
        ]
    )


async def delete_all_of(*, user: User) -> int:
    """Remove a user's likes everywhere, batch by batch, each liked subject's count decremented
    (one bulk `$inc` per kind and batch)."""
    collection = Like.get_motor_collection()
    removed = 0
    while True:
        batch = await collection.find(
            {"user_id": user.id}, {"subject_kind": 1, "subject_id": 1}
        ).to_list(USER_DELETION_BATCH)
        if not batch:
            break
        result = await collection.delete_many({"_id": {"$in": [row["_id"] for row in batch]}})
        removed += result.deleted_count
        await subjects.uncount("likes_count", batch)
    return removed

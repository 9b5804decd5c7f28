"""Comments on posts, runs and workouts: visible to whoever may see their subject; the
subject's `comments_count` moves with `$inc` when a comment row is really inserted/deleted."""

from __future__ import annotations

import logging

from documents.clock import utcnow
from documents.post import Comment
from documents.user import User
from service import events
from service.comments.schemas import CommentCreate, CommentRead, CommentUpdate, SubjectRef
from service.errors import Forbidden, NotFound
from service.ids import object_id_or_404
from service.pagination import Page, PageParams, fetch_page
from service.posts import subjects
from service.posts.subjects import Subject, UserRef
from service.queries import ASC, QueryShape
from service.social import access

log = logging.getLogger(__name__)

COMMENTS_OF_SUBJECT = QueryShape(
    "comments_of_subject",
    Comment,
    equality=("subject_kind", "subject_id"),
    sort=(("created_at", ASC),),
    index="subject_created",
)
# a deleted user's comments, batch by batch (index author_created)
COMMENTS_OF_AUTHOR = QueryShape(
    "comments_of_author",
    Comment,
    equality=("user_id",),
    sort=(("created_at", -1),),
    index="author_created",
)
USER_DELETION_BATCH = 500


def to_read(comment: Comment, author: UserRef) -> CommentRead:
    return CommentRead(
        id=str(comment.id),
        subject=SubjectRef(kind=comment.subject_kind, id=str(comment.subject_id)),
        author=author,
        text=comment.text,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
    )


async def read(comment: Comment) -> CommentRead:
    refs = await subjects.user_refs([comment.user_id])
    return to_read(comment, subjects.user_ref(refs, comment.user_id))


async def add(*, subject: Subject, user: User, data: CommentCreate) -> Comment:
    """Store a comment on a subject the user may interact with, then count it."""
    assert user.id is not None
    comment = Comment(
        subject_kind=subject.kind,
        subject_id=subject.id,
        subject_owner_id=subject.owner_id,
        user_id=user.id,
        text=data.text,
    )
    await comment.insert()
    if not await subjects.bump(subject.kind, subject.id, "comments_count", +1):
        # the subject was deleted between its read and this insert: take the row back
        await Comment.get_motor_collection().delete_one({"_id": comment.id})
        raise NotFound(f"{subject.what} not found")
    await events.comment_added.emit(comment=comment)
    return comment


async def list_of(*, subject: Subject, page: PageParams) -> Page[CommentRead]:
    """A subject's comments, oldest first."""
    criteria = {"subject_kind": subject.kind, "subject_id": subject.id}
    found = await fetch_page(COMMENTS_OF_SUBJECT, criteria, page)
    refs = await subjects.user_refs([row.user_id for row in found.rows])
    return found.page([to_read(row, subjects.user_ref(refs, row.user_id)) for row in found.rows])


async def get_visible(comment_id: str, viewer: User | None) -> tuple[Comment, Subject]:
    """A comment and its subject, 404 when either is gone or the viewer may not see the
    subject (a comment is visible exactly when its subject is)."""
    oid = object_id_or_404(comment_id, "Comment")
    comment = await Comment.get(oid)
    if comment is None:
        raise NotFound("Comment not found")
    try:
        subject = await subjects.load(comment.subject_kind, comment.subject_id)
        await access.require_visible(viewer, subject.owner_id, subject.visibility, "Comment")
    except NotFound as exc:
        raise NotFound("Comment not found") from exc
    return comment, subject


async def update(*, comment: Comment, changes: CommentUpdate, actor: User) -> Comment:
    """Change the text of one's own comment."""
    if comment.user_id != actor.id:
        raise Forbidden("Only its author can edit a comment")
    now = utcnow()
    result = await Comment.get_motor_collection().update_one(
        {"_id": comment.id}, {"$set": {"text": changes.text, "updated_at": now}}
    )
    if not result.matched_count:
        raise NotFound("Comment not found")
    return comment.model_copy(update={"text": changes.text, "updated_at": now})


async def delete(*, comment: Comment, subject: Subject, actor: User) -> None:
    """Delete a comment: its author, the subject's owner or an admin."""
    if actor.id not in (comment.user_id, subject.owner_id) and actor.role != "admin":
        raise Forbidden(
            "Only its author, the owner of what it comments on or an admin can delete it"
        )
    raw = await Comment.get_motor_collection().find_one_and_delete({"_id": comment.id})
    if raw is None:  # deleted concurrently: that deletion counted it
        raise NotFound("Comment not found")
    await subjects.bump(subject.kind, subject.id, "comments_count", -1)
    await events.comment_deleted.emit(comment=Comment.model_validate(raw))


async def delete_all_of(*, user: User) -> int:
    """Remove a user's comments everywhere, batch by batch (newest first), each subject's
    count decremented by how many of its comments went (one bulk `$inc` per kind and batch)."""
    collection = Comment.get_motor_collection()
    removed = 0
    while True:
        batch = (
            await collection.find(
                COMMENTS_OF_AUTHOR.check({"user_id": user.id}),
                {"subject_kind": 1, "subject_id": 1},
            )
            .sort(COMMENTS_OF_AUTHOR.order)
            .to_list(USER_DELETION_BATCH)
        )
        if not batch:
            break
        result = await collection.delete_many({"_id": {"$in": [row["_id"] for row in batch]}})
        if result.deleted_count != len(batch):  # one deleted concurrently by its subject's owner
            log.warning(
                "Deleting comments of %s: read %d, deleted %d",
                user.id,
                len(batch),
                result.deleted_count,
            )
        removed += result.deleted_count
        await subjects.uncount("comments_count", batch)
    return removed

"""Posts, comments and likes (service.posts, service.comments, service.likes).

Comments and likes attach to a subject: a post, a run or a workout (`SubjectKind`). Each carries
the subject's owner so notifications and deletions need no extra read. The subject documents
(Post, Run, Workout) keep `likes_count` / `comments_count` in step with these collections ($inc
in the same request, after the row was inserted/deleted).
"""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow
from documents.social import Visibility

SubjectKind = Literal["post", "run", "workout"]


class Post(Document):
    user_id: PydanticObjectId
    text: str  # 1-5,000 characters
    visibility: Visibility = "public"
    run_id: PydanticObjectId | None = None  # an attached activity: the author's own
    workout_id: PydanticObjectId | None = None
    likes_count: int = 0
    comments_count: int = 0
    revision: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "posts"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("visibility", ASCENDING),
                    ("created_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="user_visibility_created",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="user_created",
            ),
        ]


class Comment(Document):
    subject_kind: SubjectKind
    subject_id: PydanticObjectId
    subject_owner_id: PydanticObjectId
    user_id: PydanticObjectId  # the author
    text: str  # 1-2,000 characters
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "comments"
        use_revision = False
        indexes = [  # noqa: RUF012
            # a subject's comments, oldest first
            IndexModel(
                [
                    ("subject_kind", ASCENDING),
                    ("subject_id", ASCENDING),
                    ("created_at", ASCENDING),
                    ("_id", ASCENDING),
                ],
                name="subject_created",
            ),
            IndexModel(
                [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="author_created",
            ),
            IndexModel([("subject_owner_id", ASCENDING)], name="subject_owner"),
        ]


def like_id(kind: SubjectKind, subject_id: PydanticObjectId, user_id: PydanticObjectId) -> str:
    return f"{kind}:{subject_id}:{user_id}"


class Like(Document):
    """`_id` is like_id(kind, subject, user): one like per user and subject by construction."""

    id: str  # type: ignore[assignment]
    subject_kind: SubjectKind
    subject_id: PydanticObjectId
    subject_owner_id: PydanticObjectId
    user_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "likes"
        use_revision = False
        indexes = [  # noqa: RUF012
            # who liked a subject, newest first
            IndexModel(
                [
                    ("subject_kind", ASCENDING),
                    ("subject_id", ASCENDING),
                    ("created_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="subject_recent",
            ),
            IndexModel([("user_id", ASCENDING)], name="user"),
            IndexModel([("subject_owner_id", ASCENDING)], name="subject_owner"),
        ]

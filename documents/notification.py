"""Notifications (service.notifications): what happened to a user, newest first, kept 90 days.

Created by hook listeners (friend requests, likes, comments, team invitations, badges,
challenges, weekly goals); never for the recipient's own actions nor between blocked users.
`key`, when set, names the event a notification stands for (a like's id, a badge award...):
unique, so an event announced twice (a re-like after an unlike, a goal met again after an edit
withdrew it) notifies once.
"""

from datetime import datetime
from typing import Any, Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

NotificationKind = Literal[
    "friend_request",
    "friend_accepted",
    "like",
    "comment",
    "team_invitation",
    "badge_earned",
    "challenge_completed",
    "goal_met",
]
# a TTL index's expireAfterSeconds is fixed when the index is created (changing it needs a
# collMod on every deployment): 90 days, not a setting
TTL_DAYS = 90


class NotificationSubject(BaseModel):
    """What the notification is about: a post, run, workout, team, challenge, user..."""

    kind: str
    id: str


class Notification(Document):
    user_id: PydanticObjectId  # the recipient
    kind: NotificationKind
    actor_id: PydanticObjectId | None = None  # who did it (none for badges, challenges, goals)
    subject: NotificationSubject | None = None
    data: dict[str, Any] = Field(default_factory=dict)  # a few small values for display
    key: str | None = None  # the event's natural key (unique when set)
    created_at: datetime = Field(default_factory=utcnow)
    read: bool = False

    class Settings:
        name = "notifications"
        use_revision = False
        indexes = [  # noqa: RUF012
            # a user's list, newest first
            IndexModel(
                [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="user_created",
            ),
            # the unread (or read) list and the unread count
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("read", ASCENDING),
                    ("created_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="user_read_created",
            ),
            # a post, run or workout deleted takes the notifications about it along
            IndexModel([("subject.id", ASCENDING), ("subject.kind", ASCENDING)], name="subject"),
            # deleting an account removes what it caused; a block removes the pair's
            IndexModel([("actor_id", ASCENDING), ("user_id", ASCENDING)], name="actor_user"),
            IndexModel(
                [("key", ASCENDING)],
                name="key_unique",
                unique=True,
                partialFilterExpression={"key": {"$type": "string"}},
            ),
            IndexModel(
                [("created_at", ASCENDING)],
                name="created_ttl",
                expireAfterSeconds=TTL_DAYS * 86400,
            ),
        ]

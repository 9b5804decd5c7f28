"""Social graph: friendships, friend requests and blocks (service.social, service.friends).

Shared contract of the social features (posts, comments, likes, feed, notifications read these
through `service.social.access`, never directly).
"""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

# who may see a run, workout or post (service.social.access.visible_levels)
Visibility = Literal["public", "friends", "private"]
VISIBILITIES: tuple[Visibility, ...] = ("public", "friends", "private")


def pair_key(a: PydanticObjectId, b: PydanticObjectId) -> str:
    """The unordered pair's natural key: the two ids as hex, smaller first."""
    x, y = sorted((str(a), str(b)))
    return f"{x}|{y}"


class Friendship(Document):
    """One record per friendship: `_id` is `pair_key(a, b)` (unique by construction).

    `users` holds both ids (multikey index: "friends of X" is one index range); `since` orders a
    user's friend list (newest first).
    """

    id: str  # type: ignore[assignment]
    users: list[PydanticObjectId]  # exactly two
    since: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "friendships"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("users", ASCENDING), ("since", DESCENDING), ("_id", DESCENDING)],
                name="users_since",
            ),
        ]


class FriendRequest(Document):
    """A pending request from `from_id` to `to_id`; accepted/declined/cancelled ones are deleted
    (at most one pending request per unordered pair: `_id`-independent unique `pair`)."""

    from_id: PydanticObjectId
    to_id: PydanticObjectId
    pair: str  # pair_key(from_id, to_id): unique, so two crossing requests cannot both exist
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "friend_requests"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("pair", ASCENDING)], name="pair_unique", unique=True),
            IndexModel(
                [("to_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="incoming",
            ),
            IndexModel(
                [("from_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="outgoing",
            ),
        ]


class Block(Document):
    """`blocker_id` blocked `blocked_id`; `_id` is "<blocker>|<blocked>" (directed, unique)."""

    id: str  # type: ignore[assignment]
    blocker_id: PydanticObjectId
    blocked_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "blocks"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("blocker_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="blocker_recent",
            ),
            # "who blocked me": deleting a user removes the blocks on them too
            IndexModel([("blocked_id", ASCENDING)], name="blocked"),
        ]


def block_id(blocker_id: PydanticObjectId, blocked_id: PydanticObjectId) -> str:
    return f"{blocker_id}|{blocked_id}"

"""The feed: one row per feed-worthy thing (service.feed), read fan-in by author.

Rows are derived data: the feed's hook listeners write them when runs, workouts and posts are
recorded/changed/deleted and when badges are earned or challenges completed/withdrawn;
`service.feed.rebuild` recomputes them from the sources (the demo's bulk paths use it).
"""

from datetime import datetime
from hashlib import sha1
from typing import Any, Literal

from beanie import Document, PydanticObjectId
from bson import ObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow
from documents.social import Visibility

FeedType = Literal["run", "workout", "post", "badge", "challenge"]
FEED_TYPES: tuple[FeedType, ...] = ("run", "workout", "post", "badge", "challenge")


def feed_item_id(type_: str, object_id: Any, actor_id: Any) -> ObjectId:
    """The row's `_id`, derived from (type, object, actor): one row per thing by construction
    (an upsert by `_id` never makes a second one). An ObjectId, so the keyset cursor's
    tie-break value is an id like every other list's."""
    return ObjectId(sha1(f"{type_}:{object_id}:{actor_id}".encode()).digest()[:12])


class FeedItem(Document):
    """`at` is when the thing happened (a run's or workout's start, a post's creation, when a
    badge was earned or a challenge completed); `summary` a small copy for the feed card."""

    id: PydanticObjectId  # type: ignore[assignment]  # feed_item_id(type, object_id, actor_id)
    actor_id: PydanticObjectId
    type: FeedType
    object_id: PydanticObjectId
    at: datetime
    visibility: Visibility = "public"
    summary: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "feed_items"
        use_revision = False
        indexes = [  # noqa: RUF012
            # GET /feed: the authors' rows newest first (one range per author, keyset on at, _id)
            IndexModel(
                [("actor_id", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)],
                name="actor_at",
            ),
            # a deleted object's rows (runs_deleted, workouts_deleted batches)
            IndexModel([("object_id", ASCENDING)], name="object"),
        ]

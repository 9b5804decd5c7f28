from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from beanie import PydanticObjectId
from pydantic import BaseModel, Field, model_validator

from documents.notification import NotificationKind, NotificationSubject
from service.pagination import Page
from service.validation import StrictModel

MAX_MARK_IDS = 100


class ActorRef(BaseModel):
    id: str
    name: str


class NotificationRead(BaseModel):
    id: str
    kind: NotificationKind
    actor: ActorRef | None = Field(description="Who did it (null for badges, challenges and goals)")
    subject: NotificationSubject | None = Field(
        description="What it is about: {kind: post|run|workout|team|badge|challenge|user|"
        "friend_request, id}"
    )
    data: dict[str, Any] = Field(description="A few values to show (titles, an excerpt...)")
    created_at: datetime
    read: bool


class UnreadCount(BaseModel):
    unread_count: int = Field(
        description="Unread notifications, counted up to a cap (see `unread_count_capped`)"
    )
    unread_count_capped: bool = Field(
        description="True when there are more unread notifications than `unread_count` "
        "(show it as e.g. '1000+')"
    )


class NotificationPage(Page[NotificationRead]):
    unread_count: int = Field(
        description="Unread notifications, counted up to a cap (see `unread_count_capped`)"
    )
    unread_count_capped: bool = Field(
        description="True when there are more unread notifications than `unread_count`"
    )


class MarkRead(StrictModel):
    """Either `ids` (your notifications to mark read) or `all: true`."""

    ids: list[PydanticObjectId] | None = Field(default=None, min_length=1, max_length=MAX_MARK_IDS)
    all: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MarkRead:
        if (self.ids is None) == (self.all is None):
            raise ValueError("give either `ids` or `all: true`")
        return self


class MarkedRead(UnreadCount):
    marked: int = Field(description="Notifications that were unread and are now read")

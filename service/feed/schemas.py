"""The feed's response models."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from documents.feed import FeedType


class FeedActor(BaseModel):
    id: str
    name: str


class FeedEntry(BaseModel):
    id: str = Field(description="The feed row's id (stable: one row per thing)")
    type: FeedType
    at: datetime = Field(
        description="When it happened: a run's or workout's start, a post's creation, when a "
        "badge was earned or a challenge completed"
    )
    actor: FeedActor
    object: dict[str, Any] = Field(
        description="A small summary of the thing (its `id` first; runs, workouts and posts are "
        "read in full at /runs/{id}, /workouts/{id}, /posts/{id})"
    )
    likes: int | None = Field(
        description="Likes of a run, workout or post; null for a badge "
        "or a challenge (they cannot be liked)"
    )
    comments: int | None = Field(description="Comments on a run, workout or post; null otherwise")
    liked_by_me: bool | None = Field(
        description="Whether the caller liked it; null if not likeable"
    )


class FeedPage(BaseModel):
    items: list[FeedEntry]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next (older) page; null on the last page"
    )

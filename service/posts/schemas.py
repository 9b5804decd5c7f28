from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints, model_validator

from documents.social import Visibility
from service.posts.subjects import UserRef
from service.validation import NoControlMultiline, StrictModel

MAX_POST_LENGTH = 5_000

PostText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_POST_LENGTH),
    NoControlMultiline,
]
ObjectIdStr = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{24}$")]


class PostCreate(StrictModel):
    """A post; `visibility` defaults to your `default_visibility`; at most one activity."""

    text: PostText
    visibility: Visibility | None = None
    run_id: ObjectIdStr | None = None
    workout_id: ObjectIdStr | None = None

    @model_validator(mode="after")
    def _one_activity(self) -> PostCreate:
        if self.run_id is not None and self.workout_id is not None:
            raise ValueError("attach a run or a workout, not both")
        return self


class PostUpdate(StrictModel):
    text: PostText | None = None
    visibility: Visibility | None = None

    @model_validator(mode="after")
    def _not_null(self) -> PostUpdate:
        for name in ("text", "visibility"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RunSummary(BaseModel):
    id: str
    started_at: datetime
    distance_km: float
    duration_s: int
    pace_s_per_km: float | None


class WorkoutSummary(BaseModel):
    id: str
    started_at: datetime
    name: str | None
    duration_s: int
    sets_count: int
    volume_kg: float


class PostRead(BaseModel):
    id: str
    author: UserRef
    text: str
    visibility: Visibility
    run: RunSummary | None = None
    workout: WorkoutSummary | None = None
    likes: int
    comments: int
    liked_by_me: bool
    created_at: datetime
    updated_at: datetime

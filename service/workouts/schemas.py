from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from documents.social import Visibility
from service.validation import IsoDateTime, NoControl, NoControlMultiline, StrictModel

MAX_SETS = 200
MAX_WORKOUT_DURATION_S = 86_400  # 24 h
MAX_SET_DURATION_S = 86_400
MAX_REPS = 1_000
MAX_WEIGHT_KG = 1_000
MAX_DISTANCE_M = 100_000  # 100 km in one set (a long row or ride)
MAX_NOTES_LENGTH = 2_000
MAX_NAME_LENGTH = 100

ObjectIdStr = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{24}$")]
WorkoutName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME_LENGTH), NoControl
]
Notes = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTES_LENGTH), NoControlMultiline
]
WorkoutDurationS = Annotated[int, Field(ge=1, le=MAX_WORKOUT_DURATION_S)]


class WorkoutSetIn(StrictModel):
    """One set: exactly the measures its exercise takes (see the exercise's `measures`)."""

    exercise_id: ObjectIdStr
    reps: Annotated[int, Field(ge=1, le=MAX_REPS)] | None = None
    weight_kg: Annotated[float, Field(ge=0, le=MAX_WEIGHT_KG, allow_inf_nan=False)] | None = None
    duration_s: Annotated[int, Field(ge=1, le=MAX_SET_DURATION_S)] | None = None
    distance_m: Annotated[float, Field(gt=0, le=MAX_DISTANCE_M, allow_inf_nan=False)] | None = None
    rpe: Annotated[int, Field(ge=1, le=10, description="Rate of perceived exertion")] | None = None


Sets = Annotated[list[WorkoutSetIn], Field(min_length=1, max_length=MAX_SETS)]


class WorkoutCreate(StrictModel):
    started_at: IsoDateTime = Field(
        description="ISO 8601; a date alone means 00:00 UTC; without an offset, UTC"
    )
    duration_s: WorkoutDurationS
    name: WorkoutName | None = None
    notes: Notes | None = None
    sets: Sets
    visibility: Visibility | None = Field(
        default=None,
        description="public, friends or private; default: your default_visibility",
    )


_NOT_NULL = ("started_at", "duration_s", "sets", "visibility")


class WorkoutUpdate(StrictModel):
    """Fields to change; `sets` replaces every set (derived totals are recomputed)."""

    started_at: IsoDateTime | None = None
    duration_s: WorkoutDurationS | None = None
    name: WorkoutName | None = Field(default=None, description="null or empty clears it")
    notes: Notes | None = Field(default=None, description="null or empty clears them")
    sets: Sets | None = None
    visibility: Visibility | None = Field(default=None, description="public, friends or private")

    @model_validator(mode="after")
    def _required_fields_stay(self) -> WorkoutUpdate:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class WorkoutSetRead(BaseModel):
    exercise_id: str
    exercise_name: str | None
    reps: int | None
    weight_kg: float | None
    duration_s: int | None
    distance_m: float | None
    rpe: int | None


class WorkoutRead(BaseModel):
    id: str
    user_id: str
    started_at: datetime
    duration_s: int
    name: str | None
    notes: str | None
    sets: list[WorkoutSetRead]
    sets_count: int
    exercises_count: int
    volume_kg: float = Field(description="Σ reps × weight_kg over the sets")
    visibility: Visibility = Field(default="public", description="public, friends or private")
    likes: int = Field(default=0, description="How many users liked it")
    comments: int = Field(default=0, description="How many comments it has")
    liked_by_me: bool = Field(default=False, description="Whether you liked it")
    revision: int
    created_at: datetime
    updated_at: datetime

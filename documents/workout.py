"""Strength and conditioning log (Tracksy): an exercise catalogue and workouts made of sets."""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow
from documents.social import Visibility

ExerciseCategory = Literal["strength", "cardio", "mobility", "plyometrics"]
Measure = Literal["reps", "weight_kg", "duration_s", "distance_m"]


class Exercise(Document):
    """A catalogue exercise (owner_id None: public, admin-managed) or a user's private one."""

    owner_id: PydanticObjectId | None = None
    name: str
    # casefolded NFKC name (service.names): unique per owner (None = the public catalogue)
    name_key: str
    category: ExerciseCategory
    primary_muscles: list[str] = Field(default_factory=list)
    equipment: str | None = None
    # which measures a set of this exercise takes (at least one)
    measures: list[Measure]
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "exercises"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("owner_id", ASCENDING), ("name_key", ASCENDING)],
                name="owner_name_unique",
                unique=True,
            ),
            # the catalogue list sorts by name, _id tie-break
            IndexModel(
                [("owner_id", ASCENDING), ("name_key", ASCENDING), ("_id", ASCENDING)],
                name="owner_name_id",
            ),
        ]


class WorkoutSet(BaseModel):
    exercise_id: PydanticObjectId
    reps: int | None = None
    weight_kg: float | None = None
    duration_s: int | None = None
    distance_m: float | None = None
    rpe: int | None = None


class Workout(Document):
    user_id: PydanticObjectId
    started_at: datetime
    day: datetime  # started_at truncated to its UTC day
    duration_s: int
    name: str | None = None
    notes: str | None = None
    sets: list[WorkoutSet]  # 1-200 (bounded by validation)
    sets_count: int
    exercises_count: int
    volume_kg: float  # sum of reps x weight_kg over the sets
    # social: who may see it (service.social.access); counts kept in step with likes/comments
    visibility: Visibility = "public"
    likes_count: int = 0
    comments_count: int = 0
    revision: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "workouts"
        use_revision = False
        # lists are newest first with _id as tie-breaker, like runs
        indexes = [  # noqa: RUF012
            IndexModel(
                [("user_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="user_started",
            ),
            IndexModel([("started_at", DESCENDING), ("_id", DESCENDING)], name="started"),
            # social (service.social.access.list_criteria): as for runs
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("visibility", ASCENDING),
                    ("started_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="user_visibility_started",
            ),
            IndexModel(
                [("visibility", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)],
                name="visibility_started",
            ),
            # a user's highest-volume workout (personal records): one find_one
            IndexModel(
                [("user_id", ASCENDING), ("volume_kg", DESCENDING), ("_id", ASCENDING)],
                name="user_volume",
            ),
            # "is this exercise in use?" (an exercise in use cannot be deleted)
            IndexModel([("sets.exercise_id", ASCENDING)], name="set_exercise"),
        ]

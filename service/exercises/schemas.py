from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from documents.workout import ExerciseCategory, Measure
from service.validation import StrictModel, name_type

# NFKC, whitespace collapsed, no control/format characters; unique per owner by `name_key`
ExerciseName = Annotated[str, name_type(2, 80)]
Muscle = Literal[
    "abs",
    "adductors",
    "back",
    "biceps",
    "calves",
    "chest",
    "core",
    "forearms",
    "full_body",
    "glutes",
    "hamstrings",
    "hip_flexors",
    "lats",
    "lower_back",
    "neck",
    "obliques",
    "quadriceps",
    "shoulders",
    "traps",
    "triceps",
]
Equipment = Literal[
    "band",
    "barbell",
    "bench",
    "bike",
    "bodyweight",
    "box",
    "cable",
    "dumbbell",
    "foam_roller",
    "jump_rope",
    "kettlebell",
    "machine",
    "medicine_ball",
    "other",
    "pool",
    "pull_up_bar",
    "rower",
    "ski_erg",
    "sled",
    "treadmill",
]
Muscles = Annotated[list[Muscle], Field(min_length=1, max_length=6)]
Measures = Annotated[
    list[Measure],
    Field(
        min_length=1,
        max_length=4,
        description="What a set of this exercise records: reps, weight_kg, duration_s, distance_m",
    ),
]


def _distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("list each value once")
    return values


class ExerciseCreate(StrictModel):
    name: ExerciseName
    category: ExerciseCategory
    primary_muscles: Muscles
    equipment: Equipment = "bodyweight"
    measures: Measures
    private: bool | None = Field(
        default=None,
        description="true: only you see it. Default: public for an admin (the catalogue), "
        "private for anyone else (who may not add public ones)",
    )

    _distinct = field_validator("primary_muscles", "measures")(_distinct)


class ExerciseUpdate(StrictModel):
    """Fields to change; `measures` cannot change while a workout uses the exercise."""

    name: ExerciseName | None = None
    category: ExerciseCategory | None = None
    primary_muscles: Muscles | None = None
    equipment: Equipment | None = None
    measures: Measures | None = None

    _distinct = field_validator("primary_muscles", "measures")(_distinct)

    @model_validator(mode="after")
    def _no_nulls(self) -> ExerciseUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ExerciseRead(BaseModel):
    id: str
    name: str
    category: ExerciseCategory
    primary_muscles: list[str]
    equipment: str | None
    measures: list[Measure]
    private: bool
    owner_id: str | None
    created_at: datetime

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class BestEffortRead(BaseModel):
    """The fastest stretch of one standard distance inside any of the runner's timed routes."""

    distance: str = Field(description="400m, 1k, 1mile, 5k, 10k, half_marathon or marathon")
    distance_m: float
    seconds: float = Field(description="Elapsed time over the stretch, to 0.1 s")
    pace_s_per_km: float
    run_id: str
    started_at: datetime = Field(description="When the run started")


class RunRecord(BaseModel):
    run_id: str
    started_at: datetime
    distance_km: float
    duration_s: int
    score: int


class PeriodRecord(BaseModel):
    start: date = Field(description="Monday of the ISO week, or the first day of the month")
    distance_km: float
    runs: int


class WorkoutRef(BaseModel):
    workout_id: str
    started_at: datetime


class HeaviestSet(WorkoutRef):
    weight_kg: float
    reps: int | None


class MostReps(WorkoutRef):
    reps: int
    weight_kg: float | None


class BestOneRepMax(WorkoutRef):
    estimated_1rm_kg: float = Field(description="Epley: w x (1 + reps / 30); w for a single rep")
    weight_kg: float
    reps: int


class ExerciseVolume(WorkoutRef):
    volume_kg: float = Field(description="Sum of reps x weight of this exercise in the workout")


class ExerciseRecords(BaseModel):
    exercise_id: str
    exercise_name: str | None
    heaviest_set: HeaviestSet | None = None
    most_reps: MostReps | None = None
    best_estimated_1rm: BestOneRepMax | None = None
    highest_volume: ExerciseVolume | None = Field(
        default=None, description="The workout with the most volume of this exercise"
    )


class WorkoutVolume(WorkoutRef):
    volume_kg: float


class RunningRecords(BaseModel):
    best_efforts: list[BestEffortRead] = Field(
        description="Shortest distance first; only the distances some timed route covers"
    )
    longest_run: RunRecord | None
    longest_duration: RunRecord | None
    highest_score: RunRecord | None
    biggest_week: PeriodRecord | None = Field(description="ISO week (Monday-Sunday, UTC)")
    biggest_month: PeriodRecord | None = Field(description="Calendar month (UTC)")


class StrengthRecords(BaseModel):
    exercises: list[ExerciseRecords] = Field(description="By exercise name")
    highest_volume_workout: WorkoutVolume | None


class RecordsRead(BaseModel):
    user_id: str
    running: RunningRecords
    strength: StrengthRecords

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from service.leaderboards.schemas import PeriodRead
from service.stats.calendar import BucketKind


class RunStats(BaseModel):
    count: int
    distance_km: float = Field(description="Total, to the metre")
    duration_s: int
    elevation_gain_m: float = Field(description="Total, to 0.1 m; runs without elevation add 0")
    score: int
    avg_pace_s_per_km: float | None = Field(
        description="Total duration / total distance, to 0.1 s; null without any distance"
    )
    longest_km: float | None = Field(description="The longest run's distance; null without runs")


class WorkoutStats(BaseModel):
    count: int
    duration_s: int
    sets: int
    volume_kg: float = Field(description="Sum of reps x weight_kg over every set")


class StreakRead(BaseModel):
    """Consecutive active UTC days / ISO weeks over the user's whole history up to now."""

    current_days: int = Field(
        description="Ending today, or yesterday when today has nothing yet; else 0"
    )
    longest_days: int
    current_weeks: int = Field(
        description="Ending this ISO week, or last week when this one has nothing yet; else 0"
    )
    longest_weeks: int


class StatsRead(BaseModel):
    user_id: str
    period: PeriodRead
    runs: RunStats
    workouts: WorkoutStats
    active_days: int = Field(description="Distinct UTC days of the period with a run or workout")
    streak: StreakRead


class SeriesRow(BaseModel):
    start: date = Field(description="First day of the bucket (a Monday for weeks)")
    runs: int
    distance_km: float
    duration_s: int
    elevation_gain_m: float
    score: int
    workouts: int
    workout_duration_s: int
    volume_kg: float


class SeriesRead(BaseModel):
    """One row per bucket of `[from, to)`, oldest first, zero-filled."""

    user_id: str
    bucket: BucketKind
    from_: date = Field(serialization_alias="from", description="First day (inclusive)")
    to: date = Field(description="End day (exclusive)")
    items: list[SeriesRow]

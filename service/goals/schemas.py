from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from documents.goal import GoalMetric


class GoalSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: float = Field(
        gt=0, description="Per ISO week; bounds depend on the metric (README § Weekly goals)"
    )


class GoalRead(BaseModel):
    metric: GoalMetric
    target: float
    since: date = Field(description="Monday of the week this target applies from")
    week: date = Field(description="Monday of the current ISO week (UTC)")
    value: float
    percent: float = Field(description="100 x value / target, one decimal (can exceed 100)")
    met: bool
    xp: int = Field(description="XP credited for this goal this week (GOAL_XP when met)")


class GoalWeekEntry(BaseModel):
    metric: GoalMetric
    target: float
    value: float
    met: bool


class GoalWeek(BaseModel):
    week: date
    goals: list[GoalWeekEntry]


class GoalStreak(BaseModel):
    metric: GoalMetric
    weeks: int = Field(
        description="Consecutive met weeks up to this week, or up to last week while this week "
        "is not met yet (at most 104)"
    )


class GoalHistory(BaseModel):
    weeks: list[GoalWeek] = Field(description="Newest week first")
    streaks: list[GoalStreak]

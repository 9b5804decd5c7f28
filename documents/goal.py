"""Weekly goals (issue 9 §4): goal versions and the per-user, per-week activity totals."""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from documents.clock import utcnow

GoalMetric = Literal["runs", "workouts", "activities", "distance_km", "duration_min", "score"]
# `until` of a goal still in force: a range on `until` then finds current and past versions alike
OPEN_UNTIL = datetime(9999, 12, 27)


class Goal(Document):
    """One version of a user's weekly goal for a metric: `target` in force for the ISO weeks
    [from_week, until) (Mondays 00:00 UTC; `until` is OPEN_UNTIL while it lasts).

    The id is "<user>:<metric>:<from_week date>": at most one version starts in a given week,
    so setting a target twice in a week (even concurrently) rewrites that week's version.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    metric: GoalMetric
    target: float
    from_week: datetime
    until: datetime = OPEN_UNTIL
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "goals"
        use_revision = False
        indexes = [  # noqa: RUF012
            # a user's versions in force at or after a week (current goals, history)
            IndexModel([("user_id", ASCENDING), ("until", ASCENDING)], name="user_until"),
        ]


class WeekTotals(Document):
    """A user's activity totals in one ISO week, moved with $inc by the run and workout hooks.

    Id "<user>:<week date>". `rev` grows with every change (and target change) of the week:
    goal settlement re-reads it to know whether it decided on the latest totals.
    """

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    week: datetime
    runs: int = 0
    workouts: int = 0
    distance_m: int = 0
    duration_s: int = 0
    score: int = 0
    rev: int = 0
    # metrics whose goal_met was announced for this week (the flag makes it exactly once)
    met: dict[str, bool] = Field(default_factory=dict)

    class Settings:
        name = "goal_weeks"
        use_revision = False
        indexes = [  # noqa: RUF012
            # removing a user's weeks (account deletion), the rebuild's per-user reads
            IndexModel([("user_id", ASCENDING), ("week", ASCENDING)], name="user_week"),
        ]

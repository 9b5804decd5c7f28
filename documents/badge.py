"""Badges (issue 9 §2): the catalogue, who earned what, and the per-user totals the rules read."""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

BadgeType = Literal["milestone", "achievement", "streak"]
BadgeActivity = Literal["run", "workout", "all"]
BadgeRule = Literal[
    "count",
    "distance_total_km",
    "single_run_km",
    "duration_total_h",
    "score_total",
    "streak_days",
    "streak_weeks",
    "level",
    "challenges_completed",
    "best_effort_s",
]


class Badge(Document):
    """One badge of the catalogue. `key` is its unique slug (seeded badges are keyed by it)."""

    key: str
    title: str
    description: str = ""
    type: BadgeType
    activity: BadgeActivity
    rule: BadgeRule
    # count, km, hours, points, days, weeks, level, challenges; for best_effort_s: at most
    # this many seconds
    threshold: float
    # best_effort_s: the distance of the effort (a standard one: 0.4, 1, 1.609344, 5, 10,
    # 21.0975, 42.195)
    min_distance_km: float | None = None
    xp_reward: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "badges"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("key", ASCENDING)], name="key_unique", unique=True),
            # the catalogue list, by key
            IndexModel([("key", ASCENDING), ("_id", ASCENDING)], name="key_id"),
        ]


class BadgeSource(BaseModel):
    """The activity that earned a badge: a run, a workout or a challenge."""

    kind: Literal["run", "workout", "challenge"]
    id: str


class UserBadge(Document):
    """A badge earned by a user: id "<user_id>:<badge_id>", so it is earned at most once."""

    id: str  # type: ignore[assignment]
    user_id: PydanticObjectId
    badge_id: PydanticObjectId
    earned_at: datetime
    source: BadgeSource | None = None  # None: earned by a level, a rebuild or a later badge

    class Settings:
        name = "user_badges"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("user_id", ASCENDING), ("earned_at", DESCENDING), ("_id", DESCENDING)],
                name="user_earned",
            ),
            # "has anyone earned this badge?" (a delete or a rule edit is refused then)
            IndexModel([("badge_id", ASCENDING)], name="badge"),
        ]


class ActivityTotals(Document):
    """A user's lifetime totals that badge rules read, moved with $inc by the activity hooks.

    id: the user's id. Derived data: `service.badges.rebuild` recomputes it from the runs and
    workouts.
    """

    id: PydanticObjectId  # type: ignore[assignment]
    runs: int = 0
    run_distance_km: float = 0.0
    run_duration_s: int = 0
    score: int = 0
    workouts: int = 0
    workout_duration_s: int = 0
    challenges_completed: int = 0

    class Settings:
        name = "activity_totals"
        use_revision = False

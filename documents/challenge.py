"""Challenges (issue 9 §3): the challenge, who takes part, each activity's contribution, and the
per-team / per-city totals of the teams and cities modes."""

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

ChallengeMetric = Literal[
    "distance_km", "runs", "duration_min", "score", "elevation_m", "workouts", "activities", "xp"
]
ChallengeScope = Literal["public", "team", "city", "global"]
ChallengeMode = Literal["individual", "collective", "teams", "cities"]
Recurrence = Literal["none", "weekly", "monthly"]


class Challenge(Document):
    """One challenge (one instance of a recurring series)."""

    title: str
    description: str = ""
    metric: ChallengeMetric
    goal: float | None = None
    starts_at: datetime
    ends_at: datetime
    scope: ChallengeScope
    team_id: PydanticObjectId | None = None
    city_id: PydanticObjectId | None = None
    mode: ChallengeMode
    recurrence: Recurrence = "none"
    # every instance of a series shares it (a one-off challenge: its own id); unique with
    # starts_at, so each window of a series exists once
    series_id: PydanticObjectId
    # set on recurring instances until their successor exists: the recurrence job's work list
    next_due: datetime | None = None
    xp_reward: int = 0
    creator_id: PydanticObjectId
    participants_count: int = 0
    # collective mode: the participants' sum, and when it reached the goal
    total: float = 0.0
    completed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "challenges"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("series_id", ASCENDING), ("starts_at", ASCENDING)],
                name="series_window_unique",
                unique=True,
            ),
            # lists: active/ended by end, upcoming by start; alone or within a scope
            IndexModel([("ends_at", ASCENDING), ("_id", ASCENDING)], name="ends_id"),
            IndexModel([("starts_at", ASCENDING), ("_id", ASCENDING)], name="starts_id"),
            IndexModel(
                [("scope", ASCENDING), ("ends_at", ASCENDING), ("_id", ASCENDING)],
                name="scope_ends_id",
            ),
            IndexModel(
                [("scope", ASCENDING), ("starts_at", ASCENDING), ("_id", ASCENDING)],
                name="scope_starts_id",
            ),
            # ended lists: latest end first
            IndexModel([("ends_at", DESCENDING), ("_id", DESCENDING)], name="ends_desc_id"),
            IndexModel(
                [("scope", ASCENDING), ("ends_at", DESCENDING), ("_id", DESCENDING)],
                name="scope_ends_desc_id",
            ),
            # the open city/global challenges an activity enrols its runner in
            IndexModel(
                [("scope", ASCENDING), ("city_id", ASCENDING), ("ends_at", ASCENDING)],
                name="scope_city_ends",
            ),
            # recurring instances whose successor is due
            IndexModel([("next_due", ASCENDING)], name="next_due", sparse=True),
        ]


class ChallengeParticipant(Document):
    """A user in a challenge: id "<challenge>:<user>". `progress` is the sum of the user's
    contributions; the challenge's window is copied so a user's open participations are one
    index range."""

    id: str  # type: ignore[assignment]
    challenge_id: PydanticObjectId
    user_id: PydanticObjectId
    starts_at: datetime
    ends_at: datetime
    progress: float = 0.0
    completed_at: datetime | None = None
    joined_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "challenge_participants"
        use_revision = False
        indexes = [  # noqa: RUF012
            # the leaderboard, and the rank counts (progress higher than mine)
            IndexModel(
                [("challenge_id", ASCENDING), ("progress", DESCENDING), ("_id", ASCENDING)],
                name="challenge_progress",
            ),
            # a user's challenges (and the open ones an activity touches), by end
            IndexModel(
                [("user_id", ASCENDING), ("ends_at", DESCENDING), ("_id", DESCENDING)],
                name="user_ends",
            ),
        ]


class ChallengeContribution(Document):
    """What one activity adds to one challenge: id "<challenge>:<kind>:<activity id>", so each
    activity counts once whoever (hook, join, rebuild) writes it; progress moves by the
    difference each write makes."""

    id: str  # type: ignore[assignment]
    challenge_id: PydanticObjectId
    user_id: PydanticObjectId
    # the team (teams mode) or city (cities mode) the activity is credited to
    group_id: PydanticObjectId | None = None
    value: float

    class Settings:
        name = "challenge_contributions"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("challenge_id", ASCENDING), ("user_id", ASCENDING)], name="challenge_user"
            ),
        ]


class ChallengeGroup(Document):
    """A team's or city's progress in a teams/cities challenge: id "<challenge>:<group>"."""

    id: str  # type: ignore[assignment]
    challenge_id: PydanticObjectId
    group_id: PydanticObjectId
    progress: float = 0.0

    class Settings:
        name = "challenge_groups"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("challenge_id", ASCENDING), ("progress", DESCENDING), ("_id", ASCENDING)],
                name="challenge_progress",
            ),
        ]

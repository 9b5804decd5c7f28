from datetime import datetime, timedelta
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from documents.challenge import ChallengeMetric, ChallengeMode, ChallengeScope, Recurrence

MAX_WINDOW = timedelta(days=366)
MAX_USER_XP_REWARD = 500
MAX_ADMIN_XP_REWARD = 5000
# which scopes take which modes (teams/cities rank groups, so a single team or city cannot)
MODES_OF_SCOPE: dict[str, frozenset[str]] = {
    "public": frozenset({"individual", "collective", "teams", "cities"}),
    "team": frozenset({"individual", "collective"}),
    "city": frozenset({"individual", "collective", "teams"}),
    "global": frozenset({"individual", "collective", "teams", "cities"}),
}
RECURRENCE_MAX = {"weekly": timedelta(days=7), "monthly": timedelta(days=28)}

Status = Literal["upcoming", "active", "ended"]


class ChallengeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    metric: ChallengeMetric
    goal: float | None = Field(default=None, gt=0, le=1e9)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    scope: ChallengeScope
    team_id: str | None = Field(default=None, max_length=24)
    city_id: str | None = Field(default=None, max_length=24)
    mode: ChallengeMode = "individual"
    recurrence: Recurrence = "none"
    xp_reward: int = Field(default=0, ge=0, le=MAX_ADMIN_XP_REWARD)

    @model_validator(mode="after")
    def coherent(self) -> Self:
        problems: list[tuple[str, str]] = []
        if self.ends_at <= self.starts_at:
            problems.append(("ends_at", "ends_at must be after starts_at"))
        elif self.ends_at - self.starts_at > MAX_WINDOW:
            problems.append(("ends_at", "a challenge lasts at most one year"))
        elif self.recurrence in RECURRENCE_MAX and (
            self.ends_at - self.starts_at > RECURRENCE_MAX[self.recurrence]
        ):
            problems.append(
                ("recurrence", f"a {self.recurrence} challenge's window must fit in its period")
            )
        if self.mode not in MODES_OF_SCOPE[self.scope]:
            problems.append(("mode", f"mode {self.mode} does not go with scope {self.scope}"))
        if (self.scope == "team") != (self.team_id is not None):
            problems.append(("team_id", "team_id is required with scope team, and only then"))
        if (self.scope == "city") != (self.city_id is not None):
            problems.append(("city_id", "city_id is required with scope city, and only then"))
        if self.mode in ("individual", "collective") and self.goal is None:
            problems.append(("goal", f"a {self.mode} challenge needs a goal"))
        if self.mode in ("teams", "cities"):
            if self.goal is not None:
                problems.append(("goal", f"a {self.mode} challenge ranks, it has no goal"))
            if self.xp_reward:
                problems.append(("xp_reward", f"a {self.mode} challenge has no completion"))
            if self.metric in ("workouts", "xp"):
                problems.append(
                    ("metric", f"a {self.mode} challenge counts runs (credited to a team/city)")
                )
        if problems:
            raise ValueError("; ".join(f"{f}: {m}" for f, m in problems))
        return self


class MyProgress(BaseModel):
    progress: float
    rank: int
    completed_at: datetime | None
    joined_at: datetime


class ChallengeRead(BaseModel):
    id: str
    title: str
    description: str
    metric: ChallengeMetric
    goal: float | None
    starts_at: datetime
    ends_at: datetime
    status: Status
    scope: ChallengeScope
    team_id: str | None
    city_id: str | None
    mode: ChallengeMode
    recurrence: Recurrence
    series_id: str
    xp_reward: int
    creator_id: str
    participants_count: int
    total: float = Field(description="Collective mode: the participants' sum")
    completed_at: datetime | None = Field(description="Collective mode: when the sum made it")
    created_at: datetime
    me: MyProgress | None = Field(
        default=None, description="The caller's progress, rank and completion (a participant)"
    )


class LeaderboardRow(BaseModel):
    rank: int
    id: str = Field(description="The user's, team's or city's id")
    name: str
    progress: float
    completed_at: datetime | None = None


class Leaderboard(BaseModel):
    kind: Literal["participants", "teams", "cities"]
    items: list[LeaderboardRow]
    total: int
    limit: int
    offset: int


class ParticipationRead(BaseModel):
    challenge: ChallengeRead
    progress: float
    completed_at: datetime | None
    joined_at: datetime

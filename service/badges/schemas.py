from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from documents.badge import BadgeActivity, BadgeRule, BadgeSource, BadgeType
from service.records.efforts import DISTANCES
from service.validation import MultilineText, StrictModel, name_type

BadgeKey = Annotated[
    str, StringConstraints(min_length=2, max_length=60, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
BadgeTitle = Annotated[str, name_type(2, 80)]
BadgeDescription = Annotated[MultilineText, StringConstraints(max_length=500)]
Threshold = Annotated[float, Field(gt=0, le=1_000_000)]
XpReward = Annotated[int, Field(ge=0, le=10_000)]

# the distances a best_effort_s badge may name (the standard best efforts), in km
EFFORT_KM: dict[float, str] = {round(metres / 1000, 6): name for name, metres in DISTANCES}

# which activities each rule reads (see README § Badges)
RULE_ACTIVITIES: dict[str, frozenset[str]] = {
    "count": frozenset({"run", "workout", "all"}),
    "distance_total_km": frozenset({"run"}),
    "single_run_km": frozenset({"run"}),
    "duration_total_h": frozenset({"run", "workout", "all"}),
    "score_total": frozenset({"run"}),
    "streak_days": frozenset({"run", "workout", "all"}),
    "streak_weeks": frozenset({"run", "workout", "all"}),
    "level": frozenset({"all"}),
    "challenges_completed": frozenset({"all"}),
    "best_effort_s": frozenset({"run"}),
}
# rules counted in whole units: a fractional threshold makes no sense
WHOLE_RULES = frozenset(
    {"count", "streak_days", "streak_weeks", "level", "challenges_completed", "score_total"}
)


def check_rule(
    rule: str, activity: str, threshold: float, min_distance_km: float | None
) -> list[tuple[str, str]]:
    """The (field, message) pairs a rule/activity/threshold combination breaks."""
    problems: list[tuple[str, str]] = []
    if activity not in RULE_ACTIVITIES[rule]:
        allowed = ", ".join(sorted(RULE_ACTIVITIES[rule]))
        problems.append(("activity", f"rule {rule} applies to activity {allowed} only"))
    if rule in WHOLE_RULES and not float(threshold).is_integer():
        problems.append(("threshold", f"rule {rule} needs a whole-number threshold"))
    if rule == "best_effort_s":
        if min_distance_km is None:
            problems.append(("min_distance_km", "best_effort_s needs the effort's distance"))
        elif round(min_distance_km, 6) not in EFFORT_KM:
            km = ", ".join(str(k) for k in sorted(EFFORT_KM))
            problems.append(("min_distance_km", f"best efforts are kept for {km} km only"))
    elif min_distance_km is not None:
        problems.append(("min_distance_km", "only best_effort_s takes min_distance_km"))
    return problems


class BadgeCreate(StrictModel):
    key: BadgeKey
    title: BadgeTitle
    description: BadgeDescription = ""
    type: BadgeType
    activity: BadgeActivity
    rule: BadgeRule
    threshold: Threshold
    min_distance_km: Annotated[float, Field(gt=0, le=100)] | None = None
    xp_reward: XpReward = 0

    @model_validator(mode="after")
    def _rule_fits(self) -> BadgeCreate:
        problems = check_rule(self.rule, self.activity, self.threshold, self.min_distance_km)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        return self


class BadgeUpdate(StrictModel):
    """Title, description and type always; the rule fields only while nobody has earned it."""

    title: BadgeTitle | None = None
    description: BadgeDescription | None = None
    type: BadgeType | None = None
    activity: BadgeActivity | None = None
    rule: BadgeRule | None = None
    threshold: Threshold | None = None
    min_distance_km: Annotated[float, Field(gt=0, le=100)] | None = None
    xp_reward: XpReward | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> BadgeUpdate:
        for name in self.model_fields_set - {"min_distance_km"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class BadgeRead(BaseModel):
    id: str
    key: str
    title: str
    description: str
    type: BadgeType
    activity: BadgeActivity
    rule: BadgeRule
    threshold: float
    min_distance_km: float | None
    xp_reward: int
    created_at: datetime


class EarnedBadge(BaseModel):
    badge: BadgeRead
    earned_at: datetime
    source: BadgeSource | None = Field(
        description="The run, workout or challenge that earned it; null for a level, or when "
        "awarded by a later badge's job or a rebuild"
    )


class BadgeProgress(BaseModel):
    badge: BadgeRead
    value: float | None = Field(
        description="The user's value for the rule now (best_effort_s: seconds, null without one)"
    )
    threshold: float


class UserBadges(BaseModel):
    user_id: str
    earned: list[EarnedBadge] = Field(description="Newest first")
    progress: list[BadgeProgress] | None = Field(
        default=None,
        description="Towards each unearned badge; only for the user themself (null otherwise)",
    )

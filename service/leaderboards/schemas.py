from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from service.leaderboards.periods import PeriodKind
from service.pagination import OffsetPage

T = TypeVar("T")

CityOrder = Literal["score", "score_per_member", "score_per_capita"]


class PeriodRead(BaseModel):
    """The resolved period: UTC `[from, to)`; both null for `all`."""

    kind: PeriodKind
    from_: datetime | None = Field(serialization_alias="from")
    to: datetime | None


class Leaderboard(OffsetPage[T], Generic[T]):
    """A page of ranked rows; `total` counts every ranked entity of the period."""

    period: PeriodRead


class TeamRef(BaseModel):
    id: str
    name: str
    kind: Literal["city", "custom"]
    city_id: str | None


class CityRef(BaseModel):
    id: str
    name: str
    slug: str


class UserRef(BaseModel):
    id: str
    name: str
    city_id: str | None = Field(description="The runner's home city today")


class Totals(BaseModel):
    rank: int = Field(description="Competition rank: 1 + the number of entities strictly ahead")
    score: int
    distance_km: float
    runs: int


class PerMember(BaseModel):
    members: int
    score_per_member: float = Field(
        description="score / members, 2 decimals; a team or city with no members counts as one"
    )


class TeamRow(PerMember, Totals):
    team: TeamRef


class CityRow(PerMember, Totals):
    population: int | None = Field(description="Inhabitants (gazetteer); null for a custom city")
    score_per_capita: float | None = Field(
        description="score per 100,000 inhabitants, 2 decimals; null without a population "
        "(such cities come last in `order=score_per_capita`)"
    )
    city: CityRef


class UserRow(Totals):
    user: UserRef

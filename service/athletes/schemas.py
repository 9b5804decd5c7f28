"""Athletes, their calendars, follows and the followers' upcoming feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from documents.clock import today
from service.competitions.countries import CountryCode
from service.competitions.schemas import (
    CompetitionRead,
    CompetitionSummary,
    EventSummary,
    PatchModel,
    Place,
    StrictModel,
    Tag,
)
from service.validation import NoControlMultiline

EntryStatus = Literal["planned", "confirmed", "withdrawn"]
# a new entry cannot start out withdrawn
NewEntryStatus = Literal["planned", "confirmed"]

MIN_BIRTH_YEAR = 1900


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _plausible_birth_year(value: int) -> int:
    if value > today().year:
        raise ValueError("birth_year may not be in the future")
    return value


Disciplines = Annotated[list[Tag], Field(min_length=1, max_length=20), AfterValidator(_unique)]
Bio = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), NoControlMultiline]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NoControlMultiline]
BirthYear = Annotated[int, Field(ge=MIN_BIRTH_YEAR), AfterValidator(_plausible_birth_year)]


class AthleteCreate(StrictModel):
    disciplines: Disciplines
    bio: Bio | None = None
    nationality: CountryCode | None = None
    club: Place | None = None
    birth_year: BirthYear | None = None


class AthleteUpdate(PatchModel):
    not_null = ("disciplines",)

    disciplines: Disciplines | None = None
    bio: Bio | None = None
    nationality: CountryCode | None = None
    club: Place | None = None
    birth_year: BirthYear | None = None


class AthleteSummary(BaseModel):
    id: str  # the user's id
    name: str
    disciplines: list[str]
    nationality: str | None
    club: str | None
    followers: int


class CalendarEntryRead(BaseModel):
    id: str
    athlete_id: str
    status: EntryStatus
    notes: str | None
    created_at: datetime
    event: EventSummary
    competition: CompetitionSummary


class AthleteRead(AthleteSummary):
    bio: str | None
    birth_year: int | None
    created_at: datetime
    upcoming: list[CalendarEntryRead] = Field(
        description="The next 5 planned or confirmed entries (cancelled competitions left out)"
    )


class FollowedAthlete(AthleteSummary):
    followed_at: datetime


@dataclass(frozen=True)
class AthleteFilters:
    search: str | None = None
    discipline: str | None = None
    nationality: str | None = None


class CalendarEntryCreate(StrictModel):
    event_id: str = Field(max_length=24)
    status: NewEntryStatus
    notes: Notes | None = None


class CalendarEntryUpdate(PatchModel):
    not_null = ("status",)

    status: EntryStatus | None = None
    notes: Notes | None = None


@dataclass(frozen=True)
class CalendarFilters:
    date_from: date | None = None
    date_to: date | None = None
    include_withdrawn: bool = False


class AthleteRef(BaseModel):
    id: str
    name: str


class UpcomingEvent(BaseModel):
    id: str
    name: str
    discipline: str
    starts_at: datetime
    athlete_ids: list[str] = Field(description="The followed athletes entered in this event")


class UpcomingCompetition(BaseModel):
    """One competition of the feed, with the followed athletes entered and their events."""

    competition: CompetitionRead
    athletes: list[AthleteRef]
    events: list[UpcomingEvent]

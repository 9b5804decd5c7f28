"""Competitions and events as the API speaks them: dates are `date`, datetimes are UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    HttpUrl,
    StringConstraints,
    model_validator,
)

from service.competitions.countries import CountryCode
from service.validation import (
    IsoDate,
    IsoDateTime,
    NoControl,
    NoControlMultiline,
    StrictModel,
    no_control,
)

CompetitionStatus = Literal["scheduled", "cancelled"]


def _tag(value: str) -> str:
    value = " ".join(value.split()).lower()
    if not 1 <= len(value) <= 40:
        raise ValueError("must be 1 to 40 characters")
    return no_control(value)


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    NoControl,
]
Place = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    NoControl,
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), NoControlMultiline
]
# A lower-case label that filters match exactly: a sport ("athletics") or a discipline ("100m").
Tag = Annotated[str, AfterValidator(_tag)]
# ISO 8601 strings only, years 2000-2100, stored in UTC
UtcDatetime = IsoDateTime
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Website = Annotated[HttpUrl, Field(max_length=2000)]


class GeoPoint(StrictModel):
    """A GeoJSON Point: `coordinates` are `[longitude, latitude]`."""

    type: Literal["Point"]
    coordinates: tuple[Longitude, Latitude]


class PatchModel(StrictModel):
    """PATCH bodies: leaving a field out keeps it; null clears only the optional ones."""

    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _required_not_null(self) -> PatchModel:
        for name in self.not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class CompetitionCreate(StrictModel):
    name: Name
    description: Description | None = None
    sport: Tag
    venue: Name | None = None
    city: Place
    country: CountryCode
    location: GeoPoint | None = None
    starts_on: IsoDate
    ends_on: IsoDate
    website: Website | None = None
    status: CompetitionStatus = "scheduled"

    @model_validator(mode="after")
    def _dates_in_order(self) -> CompetitionCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class CompetitionUpdate(PatchModel):
    not_null = ("name", "sport", "city", "country", "starts_on", "ends_on", "status")

    name: Name | None = None
    description: Description | None = None
    sport: Tag | None = None
    venue: Name | None = None
    city: Place | None = None
    country: CountryCode | None = None
    location: GeoPoint | None = None
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    website: Website | None = None
    status: CompetitionStatus | None = None


class CompetitionRead(BaseModel):
    id: str
    name: str
    description: str | None
    sport: str
    venue: str | None
    city: str
    country: str
    location: GeoPoint | None
    starts_on: date
    ends_on: date
    website: str | None
    status: CompetitionStatus
    created_at: datetime


class CompetitionSummary(BaseModel):
    """What a calendar entry shows of its competition."""

    id: str
    name: str
    city: str
    country: str
    starts_on: date
    ends_on: date
    status: CompetitionStatus


class BatchGetIn(StrictModel):
    ids: list[str] = Field(min_length=1, max_length=100)


class CompetitionBatch(BaseModel):
    """`items` in the order asked (each once); `missing`: ids that are malformed or unknown."""

    items: list[CompetitionRead]
    missing: list[str]


@dataclass(frozen=True)
class CompetitionFilters:
    date_from: date | None = None
    date_to: date | None = None
    country: str | None = None
    city: str | None = None
    sport: str | None = None
    search: str | None = None
    status: CompetitionStatus | None = None


class EventCreate(StrictModel):
    name: Name
    discipline: Tag
    starts_at: UtcDatetime
    round: Place | None = None


class EventUpdate(PatchModel):
    not_null = ("name", "discipline", "starts_at")

    name: Name | None = None
    discipline: Tag | None = None
    starts_at: UtcDatetime | None = None
    round: Place | None = None


class EventRead(BaseModel):
    id: str
    competition_id: str
    name: str
    discipline: str
    starts_at: datetime
    round: str | None
    created_at: datetime


class EventSummary(BaseModel):
    """What a calendar entry shows of its event."""

    id: str
    name: str
    discipline: str
    starts_at: datetime
    round: str | None

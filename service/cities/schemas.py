from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _country(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as 'FR'")
    return value


CountryCode = Annotated[str, AfterValidator(_country)]
CityName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class CityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CityName
    country: CountryCode | None = None


class CityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CityName | None = None
    country: CountryCode | None = None


class CityRead(BaseModel):
    id: str
    name: str
    slug: str
    country: str | None
    geonameid: int | None = Field(description="GeoNames id; null for a custom city")
    region: str | None = Field(description="Region name where the gazetteer has one (US states)")
    region_code: str | None = Field(description="GeoNames admin-1 code")
    latitude: float | None
    longitude: float | None
    population: int | None
    team_id: str | None
    members: int
    created_at: datetime


class GazetteerCity(BaseModel):
    """A city of the gazetteer (GeoNames, 15,000+ inhabitants)."""

    geonameid: int = Field(description="Pass it as `city_id` to register or PATCH /users/me")
    name: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    country_name: str
    region: str | None = Field(description="Region name where known (US states)")
    region_code: str | None = Field(description="GeoNames admin-1 code")
    latitude: float
    longitude: float
    population: int | None
    city_id: str | None = Field(description="Our city's id, once someone lives there")


class CityLookup(BaseModel):
    items: list[GazetteerCity]

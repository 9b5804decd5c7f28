from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


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
    team_id: str | None
    members: int
    created_at: datetime

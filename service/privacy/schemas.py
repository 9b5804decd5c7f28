from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from service.privacy.zones import MAX_RADIUS_M, MIN_RADIUS_M
from service.validation import StrictModel

Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class PrivacyZoneIn(StrictModel):
    """A circle around a place: route points inside it are hidden from everyone else."""

    center: tuple[Coordinate, Coordinate] = Field(description="[lon, lat] in degrees")
    radius_m: int = Field(ge=MIN_RADIUS_M, le=MAX_RADIUS_M, description="Radius in metres")

    @field_validator("center")
    @classmethod
    def _in_range(cls, center: tuple[float, float]) -> tuple[float, float]:
        lon, lat = center
        if not -180 <= lon <= 180:
            raise ValueError(f"longitude {lon} is outside [-180, 180]")
        if not -90 <= lat <= 90:
            raise ValueError(f"latitude {lat} is outside [-90, 90]")
        return center


class PrivacyZoneRead(BaseModel):
    center: tuple[float, float] = Field(description="[lon, lat] in degrees")
    radius_m: int

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from documents.social import Visibility
from service.cities.slug import slugify
from service.validation import NoControlMultiline, StrictModel, name_type


def _usable_as_name(value: str) -> str:
    # '/' would break /users/by-name/{name}; '@' would make the name unusable as a login
    # (an identifier with '@' is looked up as an email). Checked after NFKC ('／' is '/').
    if "/" in value or "@" in value:
        raise ValueError("name may not contain '/' or '@'")
    return value


# NFKC, whitespace collapsed, no control/format characters; unique by `name_key`
UserName = Annotated[str, name_type(2, 40), AfterValidator(_usable_as_name)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


def _city_with_a_slug(value: str) -> str:
    # The same rule the cities service applies, checked here so a bad city is a 422 naming the
    # field before anything is stored (not after the user was inserted or partly updated).
    if not slugify(value):
        raise ValueError("city needs at least one latin letter or digit")
    return value


CityName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(_city_with_a_slug),
]
Bio = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NoControlMultiline]


# a gazetteer id from GET /cities/lookup (number or digits), or a stored city's id or slug
CityId = (
    Annotated[int, Field(ge=1)]
    | Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
)


class _HomeCity(StrictModel):
    """`city` (a name, resolved in the gazetteer) or `city_id`; not both."""

    city: CityName | None = Field(
        default=None,
        description="City name; the most populous gazetteer city of that name, "
        "narrowed by country or region after a comma ('Portland, US')",
    )
    city_id: CityId | None = Field(
        default=None, description="A `geonameid` from GET /cities/lookup, or a city's id or slug"
    )

    @model_validator(mode="after")
    def _one_city(self) -> Self:
        if self.city is not None and self.city_id is not None:
            raise ValueError("give either city or city_id, not both")
        return self


class RegisterIn(_HomeCity):
    name: UserName
    email: EmailStr
    password: Password


class LoginIn(StrictModel):
    email: str = Field(min_length=1, max_length=320, description="Email or user name")
    password: str = Field(min_length=1, max_length=128)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserPublic(BaseModel):
    """What anyone may see of a user."""

    id: str
    name: str
    city: str | None
    city_id: str | None
    bio: str | None
    xp: int
    level: int
    xp_to_next_level: int
    friends_count: int = Field(default=0, description="How many friends the user has")
    created_at: datetime


class UserMe(UserPublic):
    """A user as seen by themself (and by admins)."""

    email: str
    role: Literal["user", "admin"]
    default_visibility: Visibility = Field(
        default="public", description="What new runs, workouts and posts get when none is given"
    )


class UserUpdate(_HomeCity):
    name: UserName | None = None
    email: EmailStr | None = None
    bio: Bio | None = None
    # no null: leaving it out keeps the current one
    default_visibility: Visibility = Field(
        default="public", description="public, friends or private (new things without one)"
    )
    password: Password | None = None
    current_password: str | None = Field(default=None, max_length=128)


class RoleUpdate(StrictModel):
    role: Literal["user", "admin"]

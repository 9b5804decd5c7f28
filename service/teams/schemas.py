from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from service.validation import NoControlMultiline, StrictModel, name_type

# NFKC, whitespace collapsed, no control/format characters; unique by `name_key`
TeamName = Annotated[str, name_type(2, 60)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), NoControlMultiline
]
ObjectIdStr = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{24}$")]


class TeamCreate(StrictModel):
    name: TeamName
    description: Description | None = None
    city_id: ObjectIdStr | None = None
    visibility: Literal["open", "invite"] = "open"


class TeamUpdate(StrictModel):
    name: TeamName | None = None
    description: Description | None = None
    visibility: Literal["open", "invite"] | None = None
    owner_id: ObjectIdStr | None = None


class TeamRead(BaseModel):
    id: str
    name: str
    description: str | None
    kind: Literal["city", "custom"]
    city_id: str | None
    visibility: Literal["open", "invite"]
    owner_id: str | None
    members: int
    created_at: datetime


class UserTeamRead(TeamRead):
    """A team as one of a user's teams."""

    role: Literal["owner", "member"]
    joined_at: datetime


class MemberUser(BaseModel):
    id: str
    name: str
    city_id: str | None


class MemberRead(BaseModel):
    user: MemberUser
    role: Literal["owner", "member"]
    joined_at: datetime


class InvitationCreate(StrictModel):
    user_id: ObjectIdStr


class TeamSummary(BaseModel):
    id: str
    name: str


class InvitationRead(BaseModel):
    id: str
    team: TeamSummary
    user_id: str
    invited_by: str
    status: Literal["pending", "accepted", "declined"]
    created_at: datetime
    expires_at: datetime

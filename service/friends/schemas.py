"""Friend requests, friends and blocks as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from service.validation import StrictModel

ObjectIdStr = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{24}$")]
Direction = Literal["incoming", "outgoing"]


class UserRef(BaseModel):
    id: str
    name: str


class FriendRequestCreate(StrictModel):
    user_id: ObjectIdStr = Field(description="The user to befriend")


class FriendRequestRead(BaseModel):
    """A pending request (`from` asked `to`)."""

    id: str
    from_: UserRef = Field(alias="from", serialization_alias="from")
    to: UserRef
    created_at: datetime

    model_config = {"populate_by_name": True}


class FriendRead(BaseModel):
    """A friend as the list's owner sees them: who, and since when."""

    id: str
    name: str
    since: datetime


class BlockRead(BaseModel):
    """A user the caller blocked."""

    id: str
    name: str
    blocked_at: datetime

from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from documents.clock import utcnow
from documents.social import Visibility

Role = Literal["user", "admin"]


class PrivacyZone(BaseModel):
    """A circle around a place (home, work): route points inside it are hidden from others."""

    center: tuple[float, float]  # [lon, lat]
    radius_m: int  # 100-2000


class User(Document):
    name: str
    # casefolded name: the unique key (mongomock ignores collations, so no collation index)
    name_key: str
    email: str  # stored lower-case
    password_hash: str
    role: Role = "user"
    city_id: PydanticObjectId | None = None
    bio: str | None = None
    xp: int = 0
    level: int = 1
    # bumped on password change: tokens carrying an older version stop working
    token_version: int = 0
    # social (service.social): what new runs/workouts/posts get when no visibility is given;
    # friends_count kept in step with the friendships collection; privacy zones hide route
    # points near these places from everyone else (past and future runs)
    default_visibility: Visibility = "public"
    friends_count: int = 0
    privacy_zones: list[PrivacyZone] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "users"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("name_key", ASCENDING)], name="name_key_unique", unique=True),
            IndexModel([("email", ASCENDING)], name="email_unique", unique=True),
            # the user list's sort (fetch_page breaks ties on _id)
            IndexModel([("name_key", ASCENDING), ("_id", ASCENDING)], name="name_key_id"),
            IndexModel([("city_id", ASCENDING)], name="city"),
            # only admins: "is another admin left?" reads a tiny index
            IndexModel(
                [("role", ASCENDING)],
                name="admins",
                partialFilterExpression={"role": "admin"},
            ),
        ]

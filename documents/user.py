from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from documents.clock import utcnow

Role = Literal["user", "admin"]


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

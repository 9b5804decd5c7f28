from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from documents.clock import utcnow

TeamKind = Literal["city", "custom"]
Visibility = Literal["open", "invite"]
MemberRole = Literal["owner", "member"]
InvitationStatus = Literal["pending", "accepted", "declined"]


class Team(Document):
    name: str
    # unique key: casefolded name for custom teams, "city:<slug>" for city teams
    name_key: str
    description: str | None = None
    kind: TeamKind = "custom"
    city_id: PydanticObjectId | None = None
    visibility: Visibility = "open"
    owner_id: PydanticObjectId | None = None  # None for city teams
    # kept in step with the memberships collection ($inc on join/leave)
    members_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "teams"
        indexes = [  # noqa: RUF012
            IndexModel([("name_key", ASCENDING)], name="name_key_unique", unique=True),
            IndexModel([("kind", ASCENDING), ("city_id", ASCENDING)], name="kind_city"),
            IndexModel([("city_id", ASCENDING)], name="city"),
            # the list of teams: by name, alone or after a kind or city filter
            IndexModel([("name", ASCENDING), ("_id", ASCENDING)], name="name_id"),
            IndexModel(
                [("kind", ASCENDING), ("name", ASCENDING), ("_id", ASCENDING)], name="kind_name_id"
            ),
            IndexModel(
                [("city_id", ASCENDING), ("name", ASCENDING), ("_id", ASCENDING)],
                name="city_name_id",
            ),
            # the teams a user owns: the MAX_TEAMS_OWNED cap
            IndexModel([("owner_id", ASCENDING)], name="owner"),
        ]


class Membership(Document):
    """A user in a team; its own collection because a city team can have 100k members."""

    team_id: PydanticObjectId
    user_id: PydanticObjectId
    role: MemberRole = "member"
    joined_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "memberships"
        indexes = [  # noqa: RUF012
            IndexModel(
                [("team_id", ASCENDING), ("user_id", ASCENDING)],
                name="team_user_unique",
                unique=True,
            ),
            # lists of members and of a user's teams: by joining time, then _id
            IndexModel(
                [("user_id", ASCENDING), ("joined_at", ASCENDING), ("_id", ASCENDING)],
                name="user_joined",
            ),
            IndexModel(
                [("team_id", ASCENDING), ("joined_at", ASCENDING), ("_id", ASCENDING)],
                name="team_joined",
            ),
        ]


class Invitation(Document):
    team_id: PydanticObjectId
    user_id: PydanticObjectId  # the invitee
    invited_by: PydanticObjectId
    status: InvitationStatus = "pending"
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "invitations"
        indexes = [  # noqa: RUF012
            IndexModel(
                [("user_id", ASCENDING), ("status", ASCENDING), ("expires_at", ASCENDING)],
                name="invitee_status",
            ),
            # the invitee's list: pending ones, newest first (ESR: expires_at is the range)
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("status", ASCENDING),
                    ("created_at", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="invitee_recent",
            ),
            IndexModel([("team_id", ASCENDING), ("user_id", ASCENDING)], name="team_invitee"),
            # account deletion removes the invitations a user sent
            IndexModel([("invited_by", ASCENDING)], name="inviter"),
        ]

from datetime import datetime
from typing import Any, Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, GEOSPHERE, IndexModel

from documents.user import utcnow

CompetitionStatus = Literal["scheduled", "cancelled"]
EntryStatus = Literal["planned", "confirmed", "withdrawn"]


class Competition(Document):
    name: str
    description: str | None = None
    sport: str
    venue: str | None = None
    city: str
    country: str  # ISO 3166-1 alpha-2, upper-case
    location: dict[str, Any] | None = None  # GeoJSON Point
    # dates are kept as UTC midnights: BSON has no date type
    starts_on: datetime
    ends_on: datetime
    website: str | None = None
    status: CompetitionStatus = "scheduled"
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "competitions"
        indexes = [  # noqa: RUF012
            IndexModel([("starts_on", ASCENDING)], name="starts_on"),
            IndexModel([("ends_on", ASCENDING), ("starts_on", ASCENDING)], name="ends_starts"),
            IndexModel([("country", ASCENDING), ("starts_on", ASCENDING)], name="country_starts"),
            IndexModel([("location", GEOSPHERE)], name="location_2dsphere", sparse=True),
        ]


class Event(Document):
    competition_id: PydanticObjectId
    name: str
    discipline: str
    starts_at: datetime
    round: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "events"
        indexes = [  # noqa: RUF012
            IndexModel(
                [("competition_id", ASCENDING), ("starts_at", ASCENDING)], name="competition_starts"
            ),
        ]


class Athlete(Document):
    """An athlete profile; its id is the user's id."""

    id: PydanticObjectId  # type: ignore[assignment]
    name: str  # the user's name, kept in step on rename
    name_key: str
    disciplines: list[str] = Field(default_factory=list)
    bio: str | None = None
    nationality: str | None = None
    club: str | None = None
    birth_year: int | None = None
    followers_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "athletes"
        indexes = [  # noqa: RUF012
            IndexModel([("name_key", ASCENDING)], name="name_key"),
            IndexModel([("disciplines", ASCENDING)], name="disciplines"),
            IndexModel([("nationality", ASCENDING)], name="nationality"),
        ]


class CalendarEntry(Document):
    athlete_id: PydanticObjectId
    event_id: PydanticObjectId
    competition_id: PydanticObjectId
    event_starts_at: datetime  # copied from the event for sorting, kept in step on event edits
    status: EntryStatus = "planned"
    notes: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "calendar_entries"
        indexes = [  # noqa: RUF012
            IndexModel(
                [("athlete_id", ASCENDING), ("event_id", ASCENDING)],
                name="athlete_event_unique",
                unique=True,
            ),
            IndexModel(
                [("athlete_id", ASCENDING), ("event_starts_at", ASCENDING)], name="athlete_starts"
            ),
            IndexModel([("event_id", ASCENDING)], name="event"),
            IndexModel([("competition_id", ASCENDING)], name="competition"),
        ]


class Follow(Document):
    """The one source of truth for "user follows athlete"."""

    follower_id: PydanticObjectId
    athlete_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "follows"
        indexes = [  # noqa: RUF012
            IndexModel(
                [("follower_id", ASCENDING), ("athlete_id", ASCENDING)],
                name="follower_athlete_unique",
                unique=True,
            ),
            IndexModel([("athlete_id", ASCENDING), ("created_at", ASCENDING)], name="athlete"),
        ]

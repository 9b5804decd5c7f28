"""Track Tracker: competitions, their events, athletes, athletes' calendars and follows."""

from datetime import datetime
from typing import Any, Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, GEOSPHERE, IndexModel

from documents.clock import utcnow

CompetitionStatus = Literal["scheduled", "cancelled"]
EntryStatus = Literal["planned", "confirmed", "withdrawn"]


class Competition(Document):
    name: str
    name_key: str  # casefolded name: what `search` matches
    description: str | None = None
    sport: str  # lower-case tag, e.g. "athletics"
    venue: str | None = None
    city: str
    city_key: str  # casefolded city: what the `city` filter matches
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
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("starts_on", ASCENDING), ("_id", ASCENDING)], name="starts_on_id"),
            # `from`/`to` overlap: ends_on >= from and starts_on <= to
            IndexModel([("ends_on", ASCENDING), ("starts_on", ASCENDING)], name="ends_starts"),
            IndexModel(
                [("country", ASCENDING), ("starts_on", ASCENDING), ("_id", ASCENDING)],
                name="country_starts",
            ),
            IndexModel(
                [("city_key", ASCENDING), ("starts_on", ASCENDING), ("_id", ASCENDING)],
                name="city_starts",
            ),
            IndexModel(
                [("sport", ASCENDING), ("starts_on", ASCENDING), ("_id", ASCENDING)],
                name="sport_starts",
            ),
            IndexModel([("location", GEOSPHERE)], name="location_2dsphere", sparse=True),
        ]


class Event(Document):
    competition_id: PydanticObjectId
    name: str
    discipline: str  # lower-case tag, e.g. "100m"
    starts_at: datetime
    round: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "events"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("competition_id", ASCENDING), ("starts_at", ASCENDING), ("_id", ASCENDING)],
                name="competition_starts",
            ),
        ]


class Athlete(Document):
    """An athlete profile; its id is the user's id."""

    id: PydanticObjectId
    name: str  # the user's name, kept in step on rename
    name_key: str
    disciplines: list[str] = Field(default_factory=list)  # lower-case tags, at most 20
    bio: str | None = None
    nationality: str | None = None  # ISO 3166-1 alpha-2, upper-case
    club: str | None = None
    birth_year: int | None = None
    # kept in step with the follows collection ($inc on follow/unfollow)
    followers_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "athletes"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel([("name_key", ASCENDING), ("_id", ASCENDING)], name="name_key"),
            IndexModel(
                [("disciplines", ASCENDING), ("name_key", ASCENDING), ("_id", ASCENDING)],
                name="disciplines_name",
            ),
            IndexModel(
                [("nationality", ASCENDING), ("name_key", ASCENDING), ("_id", ASCENDING)],
                name="nationality_name",
            ),
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
        use_revision = False
        indexes = [  # noqa: RUF012
            # also serves the feed's $lookup on athlete_id
            IndexModel(
                [("athlete_id", ASCENDING), ("event_id", ASCENDING)],
                name="athlete_event_unique",
                unique=True,
            ),
            # the calendar list (then _id) and the feed's entries from today on
            IndexModel(
                [("athlete_id", ASCENDING), ("event_starts_at", ASCENDING), ("_id", ASCENDING)],
                name="athlete_starts",
            ),
            IndexModel([("event_id", ASCENDING)], name="event"),
            # a competition's entries; the feed's entries of competitions under way
            IndexModel(
                [("competition_id", ASCENDING), ("athlete_id", ASCENDING)], name="competition"
            ),
        ]


class Follow(Document):
    """The one source of truth for "user follows athlete"."""

    follower_id: PydanticObjectId
    athlete_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "follows"
        use_revision = False
        indexes = [  # noqa: RUF012
            IndexModel(
                [("follower_id", ASCENDING), ("athlete_id", ASCENDING)],
                name="follower_athlete_unique",
                unique=True,
            ),
            IndexModel(
                [("follower_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="follower_recent",
            ),
            IndexModel(
                [("athlete_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="athlete_recent",
            ),
        ]

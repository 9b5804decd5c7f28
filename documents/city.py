from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from documents.clock import utcnow


class City(Document):
    name: str
    # lower-case ASCII, accents and spacing folded: the identity of a city
    slug: str
    country: str | None = None  # ISO 3166-1 alpha-2
    team_id: PydanticObjectId | None = None  # the city-wide team
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "cities"
        indexes = [  # noqa: RUF012
            IndexModel([("slug", ASCENDING)], name="slug_unique", unique=True),
        ]

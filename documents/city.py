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
    # from the gazetteer (service/cities/gazetteer.py); None on custom cities an admin created
    geonameid: int | None = None
    region: str | None = None  # admin-1 name where the gazetteer has one (US states)
    region_code: str | None = None  # GeoNames admin-1 code
    location: dict | None = None  # GeoJSON Point {"type": "Point", "coordinates": [lon, lat]}
    population: int | None = None
    team_id: PydanticObjectId | None = None  # the city-wide team
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "cities"
        indexes = [  # noqa: RUF012
            IndexModel([("slug", ASCENDING)], name="slug_unique", unique=True),
            # the city list's sort (fetch_page breaks ties on _id)
            IndexModel([("slug", ASCENDING), ("_id", ASCENDING)], name="slug_id"),
            # one city per gazetteer entry; custom cities (null) are not indexed
            IndexModel(
                [("geonameid", ASCENDING)],
                name="geonameid_unique",
                unique=True,
                partialFilterExpression={"geonameid": {"$type": "number"}},
            ),
        ]

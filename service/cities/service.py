"""Cities and their city-wide teams; a user's home city."""

from __future__ import annotations

import re
from collections.abc import Iterable

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import City, Team, User
from service.cities.schemas import CityCreate, CityRead, CityUpdate
from service.cities.slug import slugify
from service.errors import Conflict, NotFound, Unprocessable
from service.pagination import Page, PageParams, fetch_page
from service.teams.membership import add_member, remove_member


def city_slug_or_422(name: str) -> str:
    slug = slugify(name)
    if not slug:
        raise Unprocessable(f"City name {name!r} needs at least one latin letter or digit")
    return slug


async def find_by_slug(slug: str) -> City | None:
    return await City.find_one(City.slug == slug)


async def _ensure_city_team(city: City) -> City:
    """Create (or find) the city-wide team; safe under concurrent calls via upsert."""
    if city.team_id is not None:
        return city
    team = await Team.get_motor_collection().find_one_and_update(
        {"name_key": f"city:{city.slug}"},
        {
            "$setOnInsert": Team(
                name=city.name,
                name_key=f"city:{city.slug}",
                kind="city",
                city_id=city.id,
                visibility="open",
                description=f"Everyone who runs in {city.name}",
            ).model_dump(exclude={"id", "revision_id"}),
        },
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    await city.set({City.team_id: team["_id"]})
    return city


async def get_or_create(*, name: str, country: str | None = None) -> City:
    """The city named `name` (by slug), created on the fly with its team."""
    name = " ".join(name.split())
    slug = city_slug_or_422(name)
    city = await find_by_slug(slug)
    if city is None:
        try:
            city = await City(name=name, slug=slug, country=country).insert()
        except DuplicateKeyError:  # created concurrently
            city = await find_by_slug(slug)
            assert city is not None
    return await _ensure_city_team(city)


async def set_home_city(*, user: User, city_name: str) -> City:
    """Move the user's home city and their city-team membership; past runs stay where they are."""
    city = await get_or_create(name=city_name)
    if user.city_id == city.id:
        return city
    old_city = await City.get(user.city_id) if user.city_id else None
    await user.set({User.city_id: city.id})
    if old_city is not None and old_city.team_id is not None:
        await remove_member(team_id=old_city.team_id, user_id=user.id)  # type: ignore[arg-type]
    assert city.team_id is not None
    assert user.id is not None
    await add_member(team_id=city.team_id, user_id=user.id)
    return city


async def names_by_id(ids: Iterable[PydanticObjectId]) -> dict[PydanticObjectId, str]:
    ids = list(ids)
    if not ids:
        return {}
    cities = await City.find({"_id": {"$in": ids}}).to_list()
    return {c.id: c.name for c in cities if c.id is not None}


async def to_reads(cities: list[City]) -> list[CityRead]:
    team_ids = [c.team_id for c in cities if c.team_id is not None]
    counts = {t.id: t.members_count for t in await Team.find({"_id": {"$in": team_ids}}).to_list()}
    return [
        CityRead(
            id=str(c.id),
            name=c.name,
            slug=c.slug,
            country=c.country,
            team_id=str(c.team_id) if c.team_id else None,
            members=counts.get(c.team_id, 0) if c.team_id else 0,
            created_at=c.created_at,
        )
        for c in cities
    ]


async def to_read(city: City) -> CityRead:
    return (await to_reads([city]))[0]


async def search(*, query: str | None, page: PageParams) -> Page[CityRead]:
    criteria: dict = {}
    if query and slugify(query):
        # slugs fold accents and case, so "sao" finds São Paulo
        criteria["slug"] = {"$regex": re.escape(slugify(query))}
    cities, total = await fetch_page(City, criteria, [("slug", 1)], page)
    return Page[CityRead](
        items=await to_reads(cities), total=total, limit=page.limit, offset=page.offset
    )


async def get_by_id_or_slug(key: str) -> City:
    city = None
    if ObjectId.is_valid(key) and len(key) == 24:
        city = await City.get(PydanticObjectId(key))
    if city is None and slugify(key):
        city = await find_by_slug(slugify(key))
    if city is None:
        raise NotFound(f"City {key!r} not found")
    return city


async def create(*, data: CityCreate) -> City:
    name = " ".join(data.name.split())
    slug = city_slug_or_422(name)
    if await find_by_slug(slug) is not None:
        raise Conflict(f"City {name!r} already exists")
    try:
        city = await City(name=name, slug=slug, country=data.country).insert()
    except DuplicateKeyError as exc:
        raise Conflict(f"City {name!r} already exists") from exc
    return await _ensure_city_team(city)


async def update(*, city: City, changes: CityUpdate) -> City:
    data = changes.model_dump(exclude_unset=True)
    updates: dict = {}
    if data.get("name"):
        name = " ".join(data["name"].split())
        slug = city_slug_or_422(name)
        other = await find_by_slug(slug)
        if other is not None and other.id != city.id:
            raise Conflict(f"City {name!r} already exists")
        updates.update(name=name, slug=slug)
    if "country" in data:
        updates["country"] = data["country"]
    if not updates:
        return city
    try:
        await city.set(updates)
    except DuplicateKeyError as exc:
        raise Conflict("A city with this name already exists") from exc
    if "name" in updates and city.team_id is not None:
        # the city-wide team carries the city's name
        await Team.find_one(Team.id == city.team_id).update(
            {"$set": {"name": updates["name"], "name_key": f"city:{updates['slug']}"}}
        )
    return city

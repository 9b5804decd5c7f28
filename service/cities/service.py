"""Cities and their city-wide teams; a user's home city."""

from __future__ import annotations

from collections.abc import Iterable

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import City, Team, User
from service.cities.slug import slugify
from service.errors import Unprocessable
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

"""Cities and their city-wide teams; a user's home city."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import City, Membership, Team, User
from service import events, queries
from service.cities import gazetteer
from service.cities.gazetteer import Place
from service.cities.schemas import CityCreate, CityLookup, CityRead, CityUpdate, GazetteerCity
from service.cities.slug import slugify
from service.errors import Conflict, NotFound, Unprocessable
from service.pagination import Page, PageParams, fetch_page
from service.teams.membership import add_member, remove_member

# a home city as resolved from a request: a city we have, or a gazetteer city not stored yet
HomeCity = City | Place
# rounds of the optimistic home-city move before giving up with 409 (only under heavy contention)
_MOVE_ATTEMPTS = 10


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
    await City.get_motor_collection().update_one(
        {"_id": city.id}, {"$set": {"team_id": team["_id"]}}
    )
    city.team_id = team["_id"]
    return city


# --- the gazetteer --------------------------------------------------------------------------


def _gazetteer_fields(place: Place) -> dict[str, Any]:
    return {
        "geonameid": place.geonameid,
        "country": place.country,
        "region": place.region,
        "region_code": place.region_code,
        "location": {"type": "Point", "coordinates": [place.longitude, place.latitude]},
        "population": place.population,
    }


def _to_gazetteer_city(place: Place, city_id: PydanticObjectId | None) -> GazetteerCity:
    return GazetteerCity(
        geonameid=place.geonameid,
        name=place.name,
        country=place.country,
        country_name=place.country_name,
        region=place.region,
        region_code=place.region_code,
        latitude=place.latitude,
        longitude=place.longitude,
        population=place.population,
        city_id=str(city_id) if city_id else None,
    )


async def _gazetteer_cities(places: list[Place]) -> list[GazetteerCity]:
    ids = [p.geonameid for p in places]  # at most gazetteer.MAX_LOOKUP: one indexed $in
    stored = (
        await City.get_motor_collection()
        .find({"geonameid": {"$in": ids}}, {"geonameid": 1})
        .to_list(length=len(ids))
    )
    ours = {doc["geonameid"]: doc["_id"] for doc in stored}
    return [_to_gazetteer_city(p, ours.get(p.geonameid)) for p in places]


async def lookup(*, query: str, limit: int) -> CityLookup:
    """Autocomplete over the gazetteer: name prefix, accents and case ignored."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in query):
        raise Unprocessable("q may not contain control characters", loc=("query", "q"))
    if not slugify(query.split(",")[0]):
        raise Unprocessable("q needs at least one letter or digit", loc=("query", "q"))
    places = (await gazetteer.load()).lookup(query, limit=limit)
    return CityLookup(items=await _gazetteer_cities(places))


async def _by_geonameid(geonameid: int) -> City | None:
    return await City.find_one({"geonameid": geonameid})


async def resolve(
    *, city_id: int | str | None = None, name: str | None = None, loc: str = "city"
) -> HomeCity:
    """The city a request names, without storing anything: 422 if there is none.

    `city_id`: a gazetteer id (from `/cities/lookup`), or our city's id or slug. `name`: the most
    populous gazetteer city of that name ("Portland, US" narrows it), else a city we have by
    slug (a custom city); no match is a 422 listing `suggestions`.
    """
    gz = await gazetteer.load()
    if city_id is not None:
        key = str(city_id).strip()
        if key.isdigit() and len(key) < 24:  # 24 digits could be one of our ObjectIds
            place = gz.get(int(key))
            if place is None:
                raise Unprocessable(f"No gazetteer city has id {key}", loc=("body", "city_id"))
            return await _by_geonameid(place.geonameid) or place
        city = await _find_by_id_or_slug(key)
        if city is None:
            raise Unprocessable(f"City {key!r} not found", loc=("body", "city_id"))
        return city
    assert name is not None
    place = gz.resolve(name)
    if place is not None:
        return await _by_geonameid(place.geonameid) or place
    if slugify(name):
        custom = await find_by_slug(slugify(name))
        if custom is not None:
            return custom
    suggestions = await _gazetteer_cities(gz.suggestions(name))
    first = suggestions[0] if suggestions else None
    hint = f"; did you mean {first.name} ({first.country})?" if first else ""
    raise Unprocessable(
        f"No city called {name!r} in the gazetteer{hint}",
        loc=("body", loc),
        extra={"suggestions": [s.model_dump() for s in suggestions]},
    )


def _slug_candidates(gz: gazetteer.Gazetteer, place: Place) -> list[str]:
    # the bare slug belongs to the city that the bare name resolves to ("portland": Oregon's)
    bare = [place.key] if gz.is_primary(place) else []
    return [*bare, place.qualified_key(), f"{place.key}-{place.geonameid}"]


async def _adopt(place: Place) -> City | None:
    """A city stored before the gazetteer (or by an admin) under this name becomes this one.

    Only a custom city without a country or in the same country: "existing slugs keep working".
    """
    legacy = await find_by_slug(place.key)
    if legacy is None or legacy.geonameid is not None:
        return None
    if legacy.country not in (None, place.country):
        return None
    try:
        await City.get_motor_collection().update_one(
            {"_id": legacy.id, "geonameid": None}, {"$set": _gazetteer_fields(place)}
        )
    except DuplicateKeyError:  # the gazetteer city was stored concurrently under another slug
        return None
    return await _by_geonameid(place.geonameid)


async def store(choice: HomeCity) -> City:
    """The stored city for a resolved choice, created with its city team on first use.

    Safe under concurrent first uses: the unique `geonameid` index lets one insert win.
    """
    if isinstance(choice, Place):
        return await _store_place(choice)
    return await _ensure_city_team(choice)


async def _store_place(place: Place) -> City:
    gz = await gazetteer.load()
    city = await _by_geonameid(place.geonameid)
    if city is None and gz.is_primary(place):
        city = await _adopt(place)
    for slug in [] if city is not None else _slug_candidates(gz, place):
        try:
            city = await City(name=place.name, slug=slug, **_gazetteer_fields(place)).insert()
            break
        except DuplicateKeyError:  # the city was stored concurrently, or the slug is taken
            city = await _by_geonameid(place.geonameid)
            if city is not None:
                break
    if city is None:
        raise Conflict(f"No free slug for {place.name!r}; ask an admin")
    return await _ensure_city_team(city)


async def city_for(text: str) -> City:
    """The stored city `text` names (see `resolve`), created on first use."""
    return await store(await resolve(name=text))


# --- the home city --------------------------------------------------------------------------


async def _stored_city_id(user_id: PydanticObjectId) -> PydanticObjectId | None:
    doc = await User.get_motor_collection().find_one({"_id": user_id}, {"city_id": 1})
    return doc.get("city_id") if doc else None


async def _sync_city_membership(user_id: PydanticObjectId) -> None:
    """Make the user a member of exactly their home city's team, whatever ran concurrently.

    Each round reads the home city, joins its team, leaves every other city team, and reads the
    home city again: a round that saw it change goes again. The last move's round runs after every
    other mover's stale round, so the memberships end in step with the stored home city.
    """
    for _ in range(_MOVE_ATTEMPTS):
        home = await _stored_city_id(user_id)
        city = await City.get(home) if home else None
        target = city.team_id if city else None
        if target is not None:
            await add_member(team_id=target, user_id=user_id)
        # a user's memberships are few (teams are capped per user): list them, keep city ones
        mine = (
            await Membership.get_motor_collection()
            .find({"user_id": user_id}, {"team_id": 1})
            .to_list(length=None)
        )
        city_teams = (
            await Team.get_motor_collection()
            .find({"_id": {"$in": [m["team_id"] for m in mine]}, "kind": "city"}, {"_id": 1})
            .to_list(length=None)
        )
        for team in city_teams:
            if team["_id"] != target:
                await remove_member(team_id=team["_id"], user_id=user_id)
        if await _stored_city_id(user_id) == home:
            return


async def set_home_city(*, user: User, city: HomeCity) -> City:
    """Move the user's home city and their city-team membership; past runs stay where they are.

    The move is conditional on the home city it replaces (a concurrent move makes it read again
    and retry), and the memberships follow the stored home city, so concurrent moves leave the
    user in exactly one city team: the one of the city that won.
    """
    stored = await store(city)
    assert user.id is not None
    users = User.get_motor_collection()
    current = user.city_id
    for _ in range(_MOVE_ATTEMPTS):
        if current == stored.id:
            break
        moved = await users.update_one(
            {"_id": user.id, "city_id": current}, {"$set": {"city_id": stored.id}}
        )
        if moved.matched_count:
            break
        if await users.find_one({"_id": user.id}, {"_id": 1}) is None:
            raise NotFound("This account no longer exists")
        current = await _stored_city_id(user.id)
    else:
        raise Conflict("The home city changed concurrently; try again")
    user.city_id = stored.id
    await _sync_city_membership(user.id)
    return stored


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
            geonameid=c.geonameid,
            region=c.region,
            region_code=c.region_code,
            latitude=c.location["coordinates"][1] if c.location else None,
            longitude=c.location["coordinates"][0] if c.location else None,
            population=c.population,
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
    found = await fetch_page(queries.CITIES_BY_SLUG, criteria, page)
    return found.page(await to_reads(found.rows))


async def _find_by_id_or_slug(key: str) -> City | None:
    city = None
    if ObjectId.is_valid(key) and len(key) == 24:
        city = await City.get(PydanticObjectId(key))
    if city is None and slugify(key):
        city = await find_by_slug(slugify(key))
    return city


async def get_by_id_or_slug(key: str) -> City:
    city = await _find_by_id_or_slug(key)
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
    before = city.model_copy()
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
        # not city.set(): Beanie turns the DuplicateKeyError of a concurrent rename into
        # RevisionIdWasChanged (a 500); the collection's update_one keeps it a 409
        result = await City.get_motor_collection().update_one({"_id": city.id}, {"$set": updates})
    except DuplicateKeyError as exc:
        raise Conflict("A city with this name already exists") from exc
    if not result.matched_count:
        raise NotFound("City not found")
    for field, value in updates.items():
        setattr(city, field, value)
    if "name" in updates and city.team_id is not None:
        # the city-wide team carries the city's name
        await Team.find_one(Team.id == city.team_id).update(
            {"$set": {"name": updates["name"], "name_key": f"city:{updates['slug']}"}}
        )
    await events.city_updated.emit(before=before, after=city)
    return city

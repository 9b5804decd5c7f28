from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from documents import City
from service.cities import service as cities
from service.cities.gazetteer import MAX_LOOKUP
from service.cities.schemas import CityCreate, CityLookup, CityRead, CityUpdate
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.security import AdminUser
from service.validation import SearchText

router = APIRouter(prefix="/cities", tags=["cities"])


async def city_or_404(
    city_id: Annotated[str, Path(description="City id or slug (e.g. 'sao-paulo')")],
) -> City:
    return await cities.get_by_id_or_slug(city_id)


CityDep = Annotated[City, Depends(city_or_404)]


@router.get(
    "", summary="List cities", response_model=Page[CityRead], responses=problem_responses(422)
)
async def list_cities(
    page: PageDep,
    search: Annotated[
        SearchText | None, Query(max_length=80, description="Part of the name")
    ] = None,
) -> Page[CityRead]:
    """Cities by slug, with their member counts; `search` ignores case and accents."""
    return await cities.search(query=search, page=page)


@router.get(
    "/lookup",
    summary="Look up gazetteer cities",
    response_model=CityLookup,
    responses=problem_responses(422),
)
async def lookup_cities(
    q: Annotated[
        SearchText,
        Query(
            min_length=1,
            max_length=80,
            description="Start of the name ('sao pa'); ', US' or ', Oregon' narrows it",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LOOKUP)] = 10,
) -> CityLookup:
    """Autocomplete over every city of 15,000+ inhabitants (GeoNames).

    Accents and case are ignored; the exact name comes first, then the most populous. Each city
    carries its country and region to tell same-named ones apart, and `city_id` once someone
    lives there; pass its `geonameid` as `city_id` to register or to PATCH /users/me.
    """
    return await cities.lookup(query=q, limit=limit)


@router.get(
    "/{city_id}", summary="Get a city", response_model=CityRead, responses=problem_responses(404)
)
async def get_city(city: CityDep) -> CityRead:
    """A city by id or by name/slug."""
    return await cities.to_read(city)


@router.post(
    "",
    summary="Create a city (admin)",
    status_code=status.HTTP_201_CREATED,
    response_model=CityRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_city(data: CityCreate, admin: AdminUser) -> CityRead:
    """Create a city and its city-wide team."""
    return await cities.to_read(await cities.create(data=data))


@router.patch(
    "/{city_id}",
    summary="Update a city (admin)",
    response_model=CityRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_city(city: CityDep, changes: CityUpdate, admin: AdminUser) -> CityRead:
    """Rename a city (its team follows) or set its country."""
    return await cities.to_read(await cities.update(city=city, changes=changes))

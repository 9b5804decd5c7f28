from typing import Annotated

from beanie import PydanticObjectId
from fastapi import Depends, Path, Query

from documents import Athlete, CalendarEntry
from service.athletes import service as athletes
from service.athletes.schemas import AthleteFilters, CalendarFilters
from service.competitions.countries import CountryCode
from service.competitions.schemas import Tag
from service.ids import object_id_or_404
from service.security import CurrentUser
from service.validation import IsoDate, SearchText


async def parse_athlete_id(
    athlete_id: Annotated[str, Path(description="Athlete (user) id")],
) -> PydanticObjectId:
    return object_id_or_404(athlete_id, "Athlete")


AthleteIdDep = Annotated[PydanticObjectId, Depends(parse_athlete_id)]


async def athlete_or_404(athlete_id: AthleteIdDep) -> Athlete:
    return await athletes.get(athlete_id)


async def my_athlete(user: CurrentUser) -> Athlete:
    """The caller's own athlete profile (404 when they have none)."""
    return await athletes.get_mine(user)


MyAthleteDep = Annotated[Athlete, Depends(my_athlete)]


async def my_entry_or_404(
    entry_id: Annotated[str, Path(description="Calendar entry id")], athlete: MyAthleteDep
) -> CalendarEntry:
    return await athletes.get_entry(
        athlete=athlete, entry_id=object_id_or_404(entry_id, "Calendar entry")
    )


async def athlete_filters(
    search: Annotated[
        SearchText | None, Query(max_length=40, description="Part of the name")
    ] = None,
    discipline: Annotated[Tag | None, Query(description="Discipline (any case)")] = None,
    nationality: Annotated[CountryCode | None, Query(description="ISO 3166-1 alpha-2")] = None,
) -> AthleteFilters:
    return AthleteFilters(search=search, discipline=discipline, nationality=nationality)


async def calendar_filters(
    date_from: Annotated[
        IsoDate | None, Query(alias="from", description="From this UTC day")
    ] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to", description="To this UTC day")] = None,
    include_withdrawn: Annotated[bool, Query(description="Also withdrawn entries")] = False,
) -> CalendarFilters:
    return CalendarFilters(
        date_from=date_from, date_to=date_to, include_withdrawn=include_withdrawn
    )


AthleteDep = Annotated[Athlete, Depends(athlete_or_404)]
MyEntryDep = Annotated[CalendarEntry, Depends(my_entry_or_404)]
AthleteFiltersDep = Annotated[AthleteFilters, Depends(athlete_filters)]
CalendarFiltersDep = Annotated[CalendarFilters, Depends(calendar_filters)]

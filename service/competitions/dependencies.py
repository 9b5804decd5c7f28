from typing import Annotated

from fastapi import Depends, Path, Query

from documents import Competition, Event
from service.competitions import service as competitions
from service.competitions.countries import CountryCode
from service.competitions.schemas import CompetitionFilters, CompetitionStatus, Tag
from service.ids import object_id_or_404
from service.validation import IsoDate, SearchText


async def competition_or_404(
    competition_id: Annotated[str, Path(description="Competition id")],
) -> Competition:
    return await competitions.get(object_id_or_404(competition_id, "Competition"))


async def event_or_404(event_id: Annotated[str, Path(description="Event id")]) -> Event:
    return await competitions.get_event(object_id_or_404(event_id, "Event"))


async def competition_filters(
    date_from: Annotated[
        IsoDate | None, Query(alias="from", description="Ends on or after this day")
    ] = None,
    date_to: Annotated[
        IsoDate | None, Query(alias="to", description="Starts on or before this day")
    ] = None,
    country: Annotated[CountryCode | None, Query(description="ISO 3166-1 alpha-2")] = None,
    city: Annotated[SearchText | None, Query(max_length=80, description="City (any case)")] = None,
    sport: Annotated[Tag | None, Query(description="Sport (any case)")] = None,
    search: Annotated[
        SearchText | None, Query(max_length=80, description="Part of the name")
    ] = None,
    status: Annotated[CompetitionStatus | None, Query()] = None,
) -> CompetitionFilters:
    return CompetitionFilters(
        date_from=date_from,
        date_to=date_to,
        country=country,
        city=city,
        sport=sport,
        search=search,
        status=status,
    )


CompetitionDep = Annotated[Competition, Depends(competition_or_404)]
EventDep = Annotated[Event, Depends(event_or_404)]
CompetitionFiltersDep = Annotated[CompetitionFilters, Depends(competition_filters)]

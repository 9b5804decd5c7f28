from typing import Annotated

from fastapi import APIRouter, Body

from service.errors import problem_responses
from service.privacy import service as privacy
from service.privacy.schemas import PrivacyZoneIn, PrivacyZoneRead
from service.privacy.zones import MAX_ZONES
from service.security import CurrentUser

router = APIRouter(prefix="/users/me/privacy-zones", tags=["users"])

ZonesBody = Annotated[
    list[PrivacyZoneIn],
    Body(
        max_length=MAX_ZONES,
        description=f"Every zone (at most {MAX_ZONES}); [] removes them all",
        examples=[[{"center": [2.3522, 48.8566], "radius_m": 300}]],
    ),
]


@router.get(
    "",
    summary="Your privacy zones",
    response_model=list[PrivacyZoneRead],
    responses=problem_responses(401),
)
async def get_privacy_zones(user: CurrentUser) -> list[PrivacyZoneRead]:
    """The circles whose route points everyone but you never sees."""
    return privacy.to_read(user)


@router.put(
    "",
    summary="Set your privacy zones",
    response_model=list[PrivacyZoneRead],
    responses=problem_responses(401, 422),
)
async def put_privacy_zones(user: CurrentUser, zones: ZonesBody) -> list[PrivacyZoneRead]:
    """Replace your privacy zones ([{center: [lon, lat], radius_m: 100-2000}], at most 5):
    route points inside them are removed for everyone else, on past and future runs, in JSON
    and GPX."""
    return await privacy.replace(user=user, zones=zones)

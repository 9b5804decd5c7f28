from fastapi import APIRouter

from service.errors import problem_responses
from service.records import service as records
from service.records.schemas import RecordsRead
from service.social.dependencies import SummaryOwnerDep

router = APIRouter(tags=["records"])


@router.get(
    "/users/{user_id}/records",
    summary="A user's personal records",
    response_model=RecordsRead,
    responses=problem_responses(401, 404),
)
async def get_records(target: SummaryOwnerDep) -> RecordsRead:
    """Running best efforts (400 m to marathon, from timed routes), longest run and duration,
    highest score, biggest week and month, and per exercise the strength records; shown to
    whoever the user's `default_visibility` lets see them (else 404)."""
    return await records.read(user=target)

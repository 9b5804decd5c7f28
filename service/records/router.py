from fastapi import APIRouter

from service.accounts.dependencies import UserDep
from service.errors import problem_responses
from service.records import service as records
from service.records.schemas import RecordsRead
from service.security import CurrentUser

router = APIRouter(tags=["records"])


@router.get(
    "/users/{user_id}/records",
    summary="A user's personal records",
    response_model=RecordsRead,
    responses=problem_responses(401, 404),
)
async def get_records(_: CurrentUser, target: UserDep) -> RecordsRead:
    """Running best efforts (400 m to marathon, from timed routes), longest run and duration,
    highest score, biggest week and month, and per exercise the strength records; visible to
    anyone logged in, like runs."""
    return await records.read(user=target)

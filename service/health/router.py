from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from service import db
from service.errors import problem_response, problem_responses

router = APIRouter(tags=["health"])


class Status(BaseModel):
    status: str


@router.get("/health", summary="Liveness", response_model=Status)
async def health() -> Status:
    """The process is up (does not touch the database)."""
    return Status(status="ok")


@router.get("/ready", summary="Readiness", response_model=Status, responses=problem_responses(503))
async def ready(request: Request) -> Status | JSONResponse:
    """The database answers a ping."""
    if await db.ping(request.app.state.database):
        return Status(status="ok")
    return problem_response(503, "The database does not answer")

from fastapi import APIRouter

from service.accounts.dependencies import UserDep
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.security import CurrentUser
from service.xp import ledger
from service.xp.schemas import XpEntryRead

router = APIRouter(tags=["xp"])


@router.get(
    "/users/{user_id}/xp",
    summary="A user's XP ledger",
    response_model=Page[XpEntryRead],
    responses=problem_responses(401, 404, 422),
)
async def list_xp(_: CurrentUser, target: UserDep, page: PageDep) -> Page[XpEntryRead]:
    """Every source of the user's XP (runs, workouts, badges, challenges, goals), newest first;
    the amounts add up to the profile's `xp`."""
    fetched = await ledger.ledger(user=target, page=page)
    return fetched.page(
        [
            XpEntryRead(
                id=e.id,
                kind=e.kind,
                source_id=e.source_id,
                amount=e.amount,
                at=e.at,
                formula_version=e.formula_version,
                updated_at=e.updated_at,
            )
            for e in fetched.rows
        ]
    )

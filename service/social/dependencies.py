"""Loader dependencies for what is shown per user rather than per activity.

A user's records, stats and series summarise all their runs and workouts, so they follow the
user's `default_visibility` (README § Who sees what): public, anyone logged in; friends, their
friends (and admins); private, only themselves (and admins). Anyone else gets a 404.
"""

from typing import Annotated

from fastapi import Depends

from documents import User
from service.accounts.dependencies import UserDep
from service.security import CurrentUser
from service.social import access


async def summary_owner(viewer: CurrentUser, target: UserDep) -> User:
    # the token first: without one the answer is 401, whether the user exists or not
    """The user whose records/stats are asked for, when the viewer may see them (else 404)."""
    assert target.id is not None
    await access.require_visible(
        viewer, target.id, target.default_visibility, f"Records and stats of user {target.id}"
    )
    return target


SummaryOwnerDep = Annotated[User, Depends(summary_owner)]

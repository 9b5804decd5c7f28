"""Membership primitives shared by cities, teams, invitations and account deletion.

`members_count` on the team moves with every membership insert/delete, so counts never need a
scan of the memberships collection.
"""

from __future__ import annotations

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import Membership, Team
from documents.team import MemberRole
from service.errors import NotFound


async def add_member(
    *, team_id: PydanticObjectId, user_id: PydanticObjectId, role: MemberRole = "member"
) -> bool:
    """Add a member; False if they already were one; 404 if the team is gone."""
    try:
        added = await Membership(team_id=team_id, user_id=user_id, role=role).insert()
    except DuplicateKeyError:
        return False
    counted = await Team.get_motor_collection().update_one(
        {"_id": team_id}, {"$inc": {"members_count": 1}}
    )
    if not counted.matched_count:
        # the team was deleted after the caller read it: take the orphan membership back
        await Membership.get_motor_collection().delete_one({"_id": added.id})
        raise NotFound(f"Team {team_id} not found")
    return True


async def remove_member(
    *, team_id: PydanticObjectId, user_id: PydanticObjectId, unless_owner: bool = False
) -> bool:
    """Remove a member; False if they were not one (or, `unless_owner`, are the owner now)."""
    criteria: dict = {"team_id": team_id, "user_id": user_id}
    if unless_owner:
        criteria["role"] = {"$ne": "owner"}
    result = await Membership.get_motor_collection().delete_one(criteria)
    if result.deleted_count:
        await Team.find_one(Team.id == team_id).update({"$inc": {"members_count": -1}})
        return True
    return False


async def is_member(*, team_id: PydanticObjectId, user_id: PydanticObjectId) -> bool:
    return (
        await Membership.find_one(Membership.team_id == team_id, Membership.user_id == user_id)
        is not None
    )


async def membership(*, team_id: PydanticObjectId, user_id: PydanticObjectId) -> Membership | None:
    return await Membership.find_one(Membership.team_id == team_id, Membership.user_id == user_id)

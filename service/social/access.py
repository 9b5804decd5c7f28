"""Who may see what: the one place the visibility rules live (README § Who sees what).

A viewer's relation to an owner decides which visibilities they may see:

| relation  | public | friends | private |
|-----------|--------|---------|---------|
| owner     | yes    | yes     | yes     |
| admin     | yes    | yes     | yes     |  (moderation; privacy zones still apply)
| friend    | yes    | yes     | no      |
| stranger  | yes    | no      | no      |
| blocked   | yes    | no      | no      |  (either direction; and no comments/likes)
| anonymous | yes    | no      | no      |

Something a viewer may not see is a 404 (`require_visible`), never a 403.
"""

from __future__ import annotations

from typing import Any, Literal

from beanie import PydanticObjectId

from documents.social import VISIBILITIES, Block, Friendship, Visibility, block_id, pair_key
from documents.user import User
from service.errors import Forbidden, NotFound

Relation = Literal["owner", "admin", "friend", "stranger", "blocked", "anonymous"]

# a user's friends and blocks are bounded (service.friends refuses more): every "all my
# friends" read below is bounded by these
MAX_FRIENDS = 5000
MAX_BLOCKS = 1000


async def are_friends(a: PydanticObjectId, b: PydanticObjectId) -> bool:
    return await Friendship.find_one({"_id": pair_key(a, b)}) is not None


async def is_blocked_between(a: PydanticObjectId, b: PydanticObjectId) -> bool:
    """True when either has blocked the other (one `_id $in` read)."""
    found = await Block.find_one({"_id": {"$in": [block_id(a, b), block_id(b, a)]}})
    return found is not None


async def relation(viewer: User | None, owner_id: PydanticObjectId) -> Relation:
    if viewer is None:
        return "anonymous"
    if viewer.id == owner_id:
        return "owner"
    if viewer.role == "admin":
        return "admin"
    assert viewer.id is not None
    if await is_blocked_between(viewer.id, owner_id):
        return "blocked"
    if await are_friends(viewer.id, owner_id):
        return "friend"
    return "stranger"


def visible_levels(rel: Relation) -> tuple[Visibility, ...]:
    if rel in ("owner", "admin"):
        return VISIBILITIES
    if rel == "friend":
        return ("public", "friends")
    return ("public",)


async def can_see(viewer: User | None, owner_id: PydanticObjectId, visibility: str) -> bool:
    return visibility in visible_levels(await relation(viewer, owner_id))


async def require_visible(
    viewer: User | None, owner_id: PydanticObjectId, visibility: str, what: str
) -> Relation:
    """The viewer's relation, or NotFound("<what> not found") when they may not see it."""
    rel = await relation(viewer, owner_id)
    if visibility not in visible_levels(rel):
        raise NotFound(f"{what} not found")
    return rel


async def require_interaction(
    viewer: User, owner_id: PydanticObjectId, visibility: str, what: str
) -> Relation:
    """May the viewer comment on / like it? Must see it (else 404) and not be blocked either way
    (403: they can see a public thing, so a 404 would contradict what they see)."""
    rel = await require_visible(viewer, owner_id, visibility, what)
    if rel == "blocked":
        raise Forbidden(f"You cannot interact with this {what.lower()}")
    return rel


async def friend_ids(user_id: PydanticObjectId) -> list[PydanticObjectId]:
    """Every friend of a user (at most MAX_FRIENDS), one index range on `users_since`."""
    rows = (
        await Friendship.get_motor_collection()
        .find({"users": user_id}, {"users": 1})
        .limit(MAX_FRIENDS + 1)
        .to_list(None)
    )
    return [other for row in rows for other in row["users"] if other != user_id]


async def blocked_either_way(user_id: PydanticObjectId) -> set[PydanticObjectId]:
    """Users this user blocked or who blocked them (bounded by MAX_BLOCKS each way)."""
    collection = Block.get_motor_collection()
    mine = await collection.find({"blocker_id": user_id}, {"blocked_id": 1}).to_list(MAX_BLOCKS)
    theirs = await collection.find({"blocked_id": user_id}, {"blocker_id": 1}).to_list(MAX_BLOCKS)
    return {row["blocked_id"] for row in mine} | {row["blocker_id"] for row in theirs}


def _matching(levels: tuple[Visibility, ...]) -> list[Visibility | None]:
    """The `visibility` values a list matches for these levels: a row stored before the field
    existed (a bulk load, an older database) has none and reads as public, the documents'
    default, so `public` matches a missing field too (`$in` with null: same index range)."""
    return [*levels, None] if "public" in levels else list(levels)


async def list_criteria(
    viewer: User | None, owner_id: PydanticObjectId | None, *, owner_field: str = "user_id"
) -> dict[str, Any]:
    """The extra query criteria that keep a list to what the viewer may see.

    One owner (`/users/{id}/runs`): `{visibility: {$in: levels}}` from the relation (index
    `user_visibility_started` then walks only visible rows). Everyone's list (`GET /runs`):
    public rows, plus the viewer's own and their friends' `friends` rows, plus the viewer's
    private ones (admins: no restriction).
    """
    if owner_id is not None:
        levels = visible_levels(await relation(viewer, owner_id))
        return {} if levels == VISIBILITIES else {"visibility": {"$in": _matching(levels)}}
    if viewer is not None and viewer.role == "admin":
        return {}
    public = {"visibility": {"$in": _matching(("public",))}}
    if viewer is None:
        return public
    assert viewer.id is not None
    friends = await friend_ids(viewer.id)
    return {
        "$or": [
            public,
            {owner_field: viewer.id},
            {owner_field: {"$in": friends}, "visibility": "friends"},
        ]
    }

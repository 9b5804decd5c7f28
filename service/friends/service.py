"""Friend requests, friendships and blocks (issue 10 §1).

The friendships collection is the one source of truth: one row per pair (`_id` = pair key), and
`User.friends_count` moves with `$inc` on both users only by whoever inserted or deleted that row
(a DuplicateKeyError or a delete that found nothing changes no count), so the counts stay exact
under concurrent accepts, unfriends and blocks. A block is written before it ends the friendship
and pending requests; an accept (and a request) checks for a block after writing and takes its
row back when one landed meanwhile: whichever order they run in, no friendship survives a block.

Importing this module connects the user hooks (deletion removes friendships, requests and blocks
both ways) and registers the export's `friends.json`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from documents import User
from documents.clock import utcnow
from documents.social import Block, FriendRequest, Friendship, block_id, pair_key
from service import events
from service.errors import Conflict, NotFound, Unprocessable
from service.export.registry import ExportContext, ExportFile, register
from service.export.service import json_array_file, read_batches
from service.friends.schemas import (
    BlockRead,
    Direction,
    FriendRead,
    FriendRequestRead,
    UserRef,
)
from service.pagination import Page, PageParams, fetch_page
from service.queries import QueryShape
from service.social.access import MAX_BLOCKS, MAX_FRIENDS, is_blocked_between

DESC = -1

# --- query shapes (registered on import; tests/test_query_shapes.py checks their indexes) ----

FRIENDS_OF_USER = QueryShape(
    "friends_of_user",
    Friendship,
    equality=("users",),
    sort=(("since", DESC),),
    index="users_since",
)
REQUESTS_INCOMING = QueryShape(
    "friend_requests_incoming",
    FriendRequest,
    equality=("to_id",),
    sort=(("created_at", DESC),),
    index="incoming",
)
REQUESTS_OUTGOING = QueryShape(
    "friend_requests_outgoing",
    FriendRequest,
    equality=("from_id",),
    sort=(("created_at", DESC),),
    index="outgoing",
)
BLOCKS_OF_USER = QueryShape(
    "blocks_of_user",
    Block,
    equality=("blocker_id",),
    sort=(("created_at", DESC),),
    index="blocker_recent",
)

# every attempt of a request or an accept that lost a race looks again; past this, a 409
ATTEMPTS = 3
# user deletion: friendships removed per round trip
DELETE_BATCH = 500


async def _names(ids: Sequence[PydanticObjectId]) -> dict[PydanticObjectId, str]:
    if not ids:
        return {}
    found = User.get_motor_collection().find({"_id": {"$in": list(set(ids))}}, {"name": 1})
    return {doc["_id"]: doc["name"] async for doc in found}


async def _user_or_404(user_id: PydanticObjectId) -> User:
    user = await User.get(user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    return user


def _not_yourself(target_id: PydanticObjectId, user: User, what: str, loc: tuple) -> None:
    if target_id == user.id:
        raise Unprocessable(f"You cannot {what} yourself", loc=loc)


async def _refuse_if_blocked(user: User, target_id: PydanticObjectId) -> None:
    """A block either way refuses a request. The blocked one learns nothing: the same 404 as for
    an account that does not exist. The blocker is told about their own block (a 409)."""
    assert user.id is not None
    found = await Block.find_one(
        {"_id": {"$in": [block_id(user.id, target_id), block_id(target_id, user.id)]}}
    )
    if found is None:
        return
    if found.blocker_id == user.id:
        raise Conflict("You blocked this user; unblock them first")
    raise NotFound(f"User {target_id} not found")


async def _request_read(request: FriendRequest) -> FriendRequestRead:
    names = await _names([request.from_id, request.to_id])
    return FriendRequestRead(
        id=str(request.id),
        from_=UserRef(id=str(request.from_id), name=names.get(request.from_id, "")),
        to=UserRef(id=str(request.to_id), name=names.get(request.to_id, "")),
        created_at=request.created_at,
    )


# --- counts ---------------------------------------------------------------------------------


async def _count_friends(user_ids: Sequence[PydanticObjectId], delta: int) -> None:
    await User.get_motor_collection().update_many(
        {"_id": {"$in": list(user_ids)}}, {"$inc": {"friends_count": delta}}
    )


async def _room_for_a_friend(*user_ids: PydanticObjectId) -> None:
    """409 when either side already has MAX_FRIENDS friends (checked before the row is
    written: concurrent accepts at the very limit may each pass it)."""
    full = await User.get_motor_collection().find_one(
        {"_id": {"$in": list(user_ids)}, "friends_count": {"$gte": MAX_FRIENDS}}, {"_id": 1}
    )
    if full is not None:
        who = "You have" if full["_id"] == user_ids[0] else "This user has"
        raise Conflict(f"{who} reached the limit of {MAX_FRIENDS:,} friends")


async def _end_friendship(a: PydanticObjectId, b: PydanticObjectId) -> bool:
    """Delete the pair's friendship; only the call that deleted the row moves the counts."""
    deleted = await Friendship.get_motor_collection().delete_one({"_id": pair_key(a, b)})
    if not deleted.deleted_count:
        return False
    await _count_friends([a, b], -1)
    await events.friendship_ended.emit(user_ids=(a, b))
    return True


# --- requests -------------------------------------------------------------------------------


async def _accept(request: FriendRequest, accepter: User) -> FriendRead:
    """Turn a pending request to `accepter` into a friendship (404 when it is gone)."""
    await _room_for_a_friend(request.to_id, request.from_id)
    taken = await FriendRequest.get_motor_collection().find_one_and_delete(
        {"_id": request.id, "to_id": accepter.id}
    )
    if taken is None:
        raise NotFound("Friend request not found")
    a, b = request.from_id, request.to_id
    friendship = Friendship(id=pair_key(a, b), users=[a, b], since=utcnow())
    try:
        await friendship.insert()
    except DuplicateKeyError:
        existing = await Friendship.find_one({"_id": friendship.id})
        since = existing.since if existing is not None else friendship.since
        return await _friend_read(a, since)
    await _count_friends([a, b], +1)
    if await is_blocked_between(a, b):
        # a block landed between the request's removal and this row: it wins
        await _end_friendship(a, b)
        raise NotFound("Friend request not found")
    await events.friendship_started.emit(
        friendship=friendship, requester_id=a, accepter_id=b, at=friendship.since
    )
    return await _friend_read(a, friendship.since)


async def _friend_read(friend_id: PydanticObjectId, since: Any) -> FriendRead:
    names = await _names([friend_id])
    return FriendRead(id=str(friend_id), name=names.get(friend_id, ""), since=since)


async def send_request(
    *, user: User, target_id: PydanticObjectId
) -> FriendRequestRead | FriendRead:
    """Ask `target_id` to be friends: a new pending request, or, when they already asked the
    caller, their request accepted (a FriendRead). 409: already friends or already asked."""
    assert user.id is not None
    _not_yourself(target_id, user, "befriend", ("body", "user_id"))
    await _user_or_404(target_id)
    await _refuse_if_blocked(user, target_id)
    key = pair_key(user.id, target_id)
    for _ in range(ATTEMPTS):
        if await Friendship.find_one({"_id": key}) is not None:
            raise Conflict("You are already friends")
        pending = await FriendRequest.find_one({"pair": key})
        if pending is not None:
            if pending.from_id == user.id:
                raise Conflict("You already asked this user; wait for their answer")
            try:
                return await _accept(pending, user)
            except NotFound:
                continue  # withdrawn or accepted meanwhile: look again
        await _room_for_a_friend(user.id, target_id)
        request = FriendRequest(from_id=user.id, to_id=target_id, pair=key)
        try:
            await request.insert()
        except DuplicateKeyError:
            continue  # a crossing request from them, or our own twin: look again
        # a block or a friendship that landed meanwhile takes the request back
        if await is_blocked_between(user.id, target_id) or await Friendship.find_one({"_id": key}):
            await FriendRequest.get_motor_collection().delete_one({"_id": request.id})
            await _refuse_if_blocked(user, target_id)  # the block's answer; else "friends"
            continue
        await events.friend_request_sent.emit(request=request)
        return await _request_read(request)
    raise Conflict("The request changed meanwhile; try again")


async def incoming_request(*, user: User, request_id: PydanticObjectId) -> FriendRequest:
    """A pending request to the caller (others' requests are a 404)."""
    request = await FriendRequest.find_one({"_id": request_id, "to_id": user.id})
    if request is None:
        raise NotFound("Friend request not found")
    return request


async def outgoing_request(*, user: User, request_id: PydanticObjectId) -> FriendRequest:
    """A pending request from the caller (others' requests are a 404)."""
    request = await FriendRequest.find_one({"_id": request_id, "from_id": user.id})
    if request is None:
        raise NotFound("Friend request not found")
    return request


async def accept(*, user: User, request: FriendRequest) -> FriendRead:
    return await _accept(request, user)


async def decline(*, user: User, request: FriendRequest) -> None:
    deleted = await FriendRequest.get_motor_collection().delete_one(
        {"_id": request.id, "to_id": user.id}
    )
    if not deleted.deleted_count:
        raise NotFound("Friend request not found")


async def cancel(*, user: User, request: FriendRequest) -> None:
    deleted = await FriendRequest.get_motor_collection().delete_one(
        {"_id": request.id, "from_id": user.id}
    )
    if not deleted.deleted_count:
        raise NotFound("Friend request not found")


async def requests(
    *, user: User, direction: Direction, page: PageParams
) -> Page[FriendRequestRead]:
    """Pending requests to (incoming) or from (outgoing) the user, newest first."""
    if direction == "incoming":
        fetched = await fetch_page(REQUESTS_INCOMING, {"to_id": user.id}, page)
    else:
        fetched = await fetch_page(REQUESTS_OUTGOING, {"from_id": user.id}, page)
    rows: list[FriendRequest] = fetched.rows
    names = await _names([i for r in rows for i in (r.from_id, r.to_id)])
    items = [
        FriendRequestRead(
            id=str(r.id),
            from_=UserRef(id=str(r.from_id), name=names.get(r.from_id, "")),
            to=UserRef(id=str(r.to_id), name=names.get(r.to_id, "")),
            created_at=r.created_at,
        )
        for r in rows
    ]
    return fetched.page(items)


# --- friends --------------------------------------------------------------------------------


async def friends(*, viewer: User, owner: User, page: PageParams) -> Page[FriendRead]:
    """The owner's friends, newest friendship first. Any signed-in user may list them, but
    not across a block (either way): that pair gets the 404 of a user they cannot see."""
    assert owner.id is not None and viewer.id is not None
    others_list = viewer.id != owner.id and viewer.role != "admin"
    if others_list and await is_blocked_between(viewer.id, owner.id):
        raise NotFound(f"User {owner.id} not found")
    fetched = await fetch_page(FRIENDS_OF_USER, {"users": owner.id}, page)
    rows: list[Friendship] = fetched.rows
    others = [next(u for u in row.users if u != owner.id) for row in rows]
    names = await _names(others)
    items = [
        FriendRead(id=str(other), name=names.get(other, ""), since=row.since)
        for other, row in zip(others, rows, strict=True)
    ]
    return fetched.page(items)


async def unfriend(*, user: User, friend_id: PydanticObjectId) -> None:
    assert user.id is not None
    if not await _end_friendship(user.id, friend_id):
        raise NotFound("You are not friends with this user")


# --- blocks ---------------------------------------------------------------------------------


async def block(*, user: User, target_id: PydanticObjectId) -> None:
    """Block a user (again: nothing new): ends the friendship and pending requests both ways."""
    assert user.id is not None
    _not_yourself(target_id, user, "block", ("path", "user_id"))
    await _user_or_404(target_id)
    collection = Block.get_motor_collection()
    new = await collection.find_one({"_id": block_id(user.id, target_id)}, {"_id": 1}) is None
    if new and await collection.count_documents({"blocker_id": user.id}) >= MAX_BLOCKS:
        raise Conflict(f"You reached the limit of {MAX_BLOCKS:,} blocked users")
    row = Block(id=block_id(user.id, target_id), blocker_id=user.id, blocked_id=target_id)
    try:
        await row.insert()
    except DuplicateKeyError:
        new = False
    await _end_friendship(user.id, target_id)
    await FriendRequest.get_motor_collection().delete_many({"pair": pair_key(user.id, target_id)})
    if new:
        await events.user_blocked.emit(blocker_id=user.id, blocked_id=target_id, at=row.created_at)


async def unblock(*, user: User, target_id: PydanticObjectId) -> None:
    """Lift a block (none: nothing happens). The friendship it ended does not come back."""
    assert user.id is not None
    await Block.get_motor_collection().delete_one({"_id": block_id(user.id, target_id)})


async def blocks(*, user: User, page: PageParams) -> Page[BlockRead]:
    """The users `user` blocked, most recent first."""
    fetched = await fetch_page(BLOCKS_OF_USER, {"blocker_id": user.id}, page)
    rows: list[Block] = fetched.rows
    names = await _names([row.blocked_id for row in rows])
    items = [
        BlockRead(id=str(r.blocked_id), name=names.get(r.blocked_id, ""), blocked_at=r.created_at)
        for r in rows
    ]
    return fetched.page(items)


# --- derived counts: rebuild ----------------------------------------------------------------


async def friends_count_drift(*, repair: bool = False) -> dict[PydanticObjectId, tuple[int, int]]:
    """Users whose `friends_count` differs from their friendship rows: {id: (stored, actual)}.

    The actual counts are grouped on the server (one row per user with friends); users are
    streamed. With `repair`, each drifted count is set by compare-and-set (only if it still
    holds the value read), so a concurrent `$inc` is never overwritten.
    """
    pipeline: list[dict[str, Any]] = [
        {"$unwind": "$users"},
        {"$group": {"_id": "$users", "n": {"$sum": 1}}},
    ]
    actual = {
        row["_id"]: row["n"] async for row in Friendship.get_motor_collection().aggregate(pipeline)
    }
    users = User.get_motor_collection()
    drift: dict[PydanticObjectId, tuple[int, int]] = {}
    async for doc in users.find({}, {"friends_count": 1}):
        stored, real = doc.get("friends_count", 0), actual.get(doc["_id"], 0)
        if stored != real:
            drift[doc["_id"]] = (stored, real)
    if repair:
        for user_id, (stored, real) in drift.items():
            await users.update_one(
                {"_id": user_id, "friends_count": stored}, {"$set": {"friends_count": real}}
            )
    return drift


# --- hooks and export -----------------------------------------------------------------------


async def _on_user_deleted(*, user: User) -> None:
    """Their friendships (the friends' counts follow), requests and blocks, both ways."""
    assert user.id is not None
    collection = Friendship.get_motor_collection()
    while True:
        rows = await collection.find({"users": user.id}, {"users": 1}).to_list(DELETE_BATCH)
        if not rows:
            break
        for row in rows:
            deleted = await collection.delete_one({"_id": row["_id"]})
            if deleted.deleted_count:
                others = [u for u in row["users"] if u != user.id]
                await _count_friends(others, -1)
    requests_ = FriendRequest.get_motor_collection()
    await requests_.delete_many({"from_id": user.id})
    await requests_.delete_many({"to_id": user.id})
    blocks_ = Block.get_motor_collection()
    await blocks_.delete_many({"blocker_id": user.id})
    await blocks_.delete_many({"blocked_id": user.id})


events.user_deleted.connect(_on_user_deleted)

OLDEST_FIRST = (("since", 1), ("_id", 1))


@register
async def friends_file(context: ExportContext) -> AsyncIterator[ExportFile]:
    """friends.json: the user's friends (id, name, since), oldest friendship first."""
    me = context.user.id

    async def items() -> AsyncIterator[dict[str, Any]]:
        async for batch in read_batches(
            context,
            Friendship,
            {"users": me},
            order=OLDEST_FIRST,
            hint=FRIENDS_OF_USER.hint,
        ):
            others = [next(u for u in row["users"] if u != me) for row in batch]
            names = await _names(others)
            for other, row in zip(others, batch, strict=True):
                yield {"id": other, "name": names.get(other), "since": row["since"]}

    yield json_array_file("friends.json", items())

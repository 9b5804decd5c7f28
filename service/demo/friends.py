"""Demo friendships, pending requests and one block among the demo users.

runner001 (the documented demo login) gets ~30 friends, a few requests both ways and one
blocked user; everyone else a handful of friends. Drawn from a generator of its own (seeded from
the demo seed), so the other demo parts draw the same data with or without it. Written in bulk
(upserts keyed by pair, safe to re-run); `friends_count` is then set from the friendships rows.
"""

from __future__ import annotations

import random
from datetime import timedelta

from beanie import PydanticObjectId
from pymongo import UpdateOne

from documents import User
from documents.clock import utcnow
from documents.social import Block, FriendRequest, Friendship, block_id, pair_key
from service.demo.users import DemoUser

HUB_FRIENDS = 30
FRIENDS_PER_USER = 2  # each user asks this many others: ~4 friends each on average
HUB_INCOMING = 4
HUB_OUTGOING = 3
OTHER_PENDING = 20
SINCE_DAYS = 365


async def load_friends(*, seed: int, users: list[DemoUser]) -> dict[str, int]:
    if len(users) < HUB_FRIENDS + HUB_INCOMING + HUB_OUTGOING + 2:
        return {"friendships": 0, "friend_requests": 0, "blocks": 0}
    rng = random.Random(f"friends-{seed}")
    now = utcnow()
    hub, others = users[0], users[1:]
    picked = rng.sample(others, HUB_FRIENDS + HUB_INCOMING + HUB_OUTGOING + 1)
    hub_friends = picked[:HUB_FRIENDS]
    askers = picked[HUB_FRIENDS : HUB_FRIENDS + HUB_INCOMING]
    asked = picked[HUB_FRIENDS + HUB_INCOMING : -1]
    blocked = picked[-1]
    # the hub's pending and blocked pairs stay out of everyone's friendships
    reserved = {pair_key(hub.id, u.id) for u in [*askers, *asked, blocked]}

    pairs: dict[str, tuple[PydanticObjectId, PydanticObjectId]] = {}
    for friend in hub_friends:
        pairs[pair_key(friend.id, hub.id)] = (friend.id, hub.id)
    for user in others:
        for other in rng.sample(users, FRIENDS_PER_USER):
            key = pair_key(user.id, other.id)
            if other.id != user.id and key not in reserved and other.id != hub.id:
                pairs.setdefault(key, (user.id, other.id))

    collection = Friendship.get_motor_collection()
    stored = {
        doc["_id"] async for doc in collection.find({"_id": {"$in": list(pairs)}}, {"_id": 1})
    }
    # sorted: the same since dates for a seed whatever is stored already
    spans = {key: rng.uniform(1, SINCE_DAYS) for key in sorted(pairs)}
    missing = [
        {"_id": key, "users": [a, b], "since": now - timedelta(days=spans[key])}
        for key, (a, b) in sorted(pairs.items())
        if key not in stored
    ]
    if missing:
        await collection.insert_many(missing, ordered=False)

    requests: list[tuple[PydanticObjectId, PydanticObjectId]] = [
        *((u.id, hub.id) for u in askers),
        *((hub.id, u.id) for u in asked),
    ]
    while len(requests) < HUB_INCOMING + HUB_OUTGOING + OTHER_PENDING:
        a, b = rng.sample(others, 2)
        key = pair_key(a.id, b.id)
        if key not in pairs and key not in reserved:
            reserved.add(key)
            requests.append((a.id, b.id))
    existing = {
        doc["_id"]
        async for doc in Friendship.get_motor_collection().find(
            {"_id": {"$in": [pair_key(a, b) for a, b in requests]}}, {"_id": 1}
        )
    }
    writes = [
        UpdateOne(
            {"pair": pair_key(a, b)},
            {
                "$setOnInsert": {
                    "from_id": a,
                    "to_id": b,
                    "created_at": now - timedelta(hours=rng.uniform(1, 24 * 14)),
                }
            },
            upsert=True,
        )
        for a, b in requests
        if pair_key(a, b) not in existing
    ]
    added = 0
    if writes:
        done = await FriendRequest.get_motor_collection().bulk_write(writes, ordered=False)
        added = done.upserted_count

    await Block.get_motor_collection().update_one(
        {"_id": block_id(hub.id, blocked.id)},
        {
            "$setOnInsert": {
                "blocker_id": hub.id,
                "blocked_id": blocked.id,
                "created_at": now - timedelta(days=3),
            }
        },
        upsert=True,
    )
    await _set_friends_counts([u.id for u in users])
    return {"friendships": len(pairs), "friend_requests": added, "blocks": 1}


async def _set_friends_counts(user_ids: list[PydanticObjectId]) -> None:
    """Each demo user's friends_count from the friendships rows (the rebuild's rule)."""
    counts = dict.fromkeys(user_ids, 0)
    async for row in Friendship.get_motor_collection().find(
        {"users": {"$in": user_ids}}, {"users": 1}
    ):
        for user_id in row["users"]:
            if user_id in counts:
                counts[user_id] += 1
    # one update per distinct count (a few dozen), not one per user
    by_count: dict[int, list[PydanticObjectId]] = {}
    for user_id, n in counts.items():
        by_count.setdefault(n, []).append(user_id)
    users = User.get_motor_collection()
    for n, ids in sorted(by_count.items()):
        await users.update_many({"_id": {"$in": ids}}, {"$set": {"friends_count": n}})

"""Small social worlds for the posts, comments and likes tests: friendships and blocks stored
directly (as service.friends would), so these tests do not depend on the friends endpoints."""

from __future__ import annotations

from typing import Any

import httpx
from beanie import PydanticObjectId

from documents.social import Block, Friendship, block_id, pair_key
from tests.factories import Account


async def befriend(a: Account, b: Account) -> None:
    x, y = PydanticObjectId(a.id), PydanticObjectId(b.id)
    await Friendship(id=pair_key(x, y), users=[x, y]).insert()


async def block(blocker: Account, blocked: Account) -> None:
    x, y = PydanticObjectId(blocker.id), PydanticObjectId(blocked.id)
    await Block(id=block_id(x, y), blocker_id=x, blocked_id=y).insert()


async def post(
    client: httpx.AsyncClient, author: Account, text: str = "Hello", **fields: Any
) -> dict[str, Any]:
    r = await client.post("/posts", json={"text": text, **fields}, headers=author.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def workout(client: httpx.AsyncClient, author: Account, **fields: Any) -> dict[str, Any]:
    r = await client.get("/exercises", params={"search": "Push-up", "limit": 100})
    pushup = next(e["id"] for e in r.json()["items"] if e["name"] == "Push-up")
    body = {
        "started_at": "2024-05-01T07:00:00Z",
        "duration_s": 1200,
        "sets": [{"exercise_id": pushup, "reps": 20}],
        **fields,
    }
    r = await client.post("/workouts", json=body, headers=author.headers)
    assert r.status_code == 201, r.text
    return r.json()

"""Blocks: idempotent, they end friendships and requests both ways and stop new requests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from documents.social import Block, FriendRequest, Friendship
from service import events
from service.social import access
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_friends import (
    MISSING,
    ask,
    assert_counts_match_rows,
    befriend,
    friend_ids,
    pending,
    yielding_database,  # noqa: F401  (a fixture)
)


async def block(client: httpx.AsyncClient, blocker: Account, target: Account) -> httpx.Response:
    return await client.put(f"/users/me/blocks/{target.id}", headers=blocker.headers)


async def blocked_ids(client: httpx.AsyncClient, account: Account, **params: Any) -> list[str]:
    r = await client.get("/users/me/blocks", headers=account.headers, params=params)
    assert r.status_code == 200, r.text
    return [b["id"] for b in r.json()["items"]]


async def test_blocking_is_idempotent_and_listed(client: httpx.AsyncClient, api: Api) -> None:
    me, bob = await api.user(), await api.user("Bob")
    for _ in range(2):
        r = await block(client, me, bob)
        assert r.status_code == 204
        assert r.content == b""
    r = await client.get("/users/me/blocks", headers=me.headers)
    assert r.json()["total"] == 1
    (item,) = r.json()["items"]
    assert (item["id"], item["name"]) == (bob.id, "Bob")
    assert item["blocked_at"]
    assert await blocked_ids(client, bob) == []  # directed: bob blocked nobody
    for _ in range(2):
        r = await client.delete(f"/users/me/blocks/{bob.id}", headers=me.headers)
        assert r.status_code == 204
    assert await blocked_ids(client, me) == []


async def test_blocks_list_newest_first_by_cursor(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    targets = [await api.user() for _ in range(5)]
    for target in targets:
        assert (await block(client, me, target)).status_code == 204
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await client.get("/users/me/blocks", headers=me.headers, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 5
        seen += [b["id"] for b in r.json()["items"]]
        if r.json()["next"] is None:
            break
        params = {"limit": 2, "after": r.json()["next"]}
    assert seen == [t.id for t in reversed(targets)]
    r = await client.get("/users/me/blocks", headers=me.headers, params={"after": "x" * 40})
    assert_problem(r, 422)


async def test_block_errors(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    assert_problem(await client.put(f"/users/me/blocks/{me.id}"), 401)
    assert_problem(await client.delete(f"/users/me/blocks/{me.id}"), 401)
    assert_problem(await client.get("/users/me/blocks"), 401)
    assert "yourself" in str(assert_problem(await block(client, me, me), 422)["detail"])
    for missing in (MISSING, "nope"):
        r = await client.put(f"/users/me/blocks/{missing}", headers=me.headers)
        assert_problem(r, 404)
    assert_problem(await client.delete("/users/me/blocks/nope", headers=me.headers), 404)
    assert await Block.count() == 0


async def test_blocking_ends_friendship_and_requests_both_ways(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend, asker, asked = [await api.user() for _ in range(4)]
    await befriend(client, me, friend)
    assert (await ask(client, asker, me)).status_code == 201
    assert (await ask(client, me, asked)).status_code == 201
    for target in (friend, asker, asked):
        assert (await block(client, me, target)).status_code == 204
    assert await friend_ids(client, me, me) == []
    assert await pending(client, me, "incoming") == []
    assert await pending(client, me, "outgoing") == []
    assert await pending(client, asked, "incoming") == []
    assert await Friendship.count() == 0
    assert await FriendRequest.count() == 0
    await assert_counts_match_rows(client, me, friend)
    # unblocking does not bring the friendship back
    r = await client.delete(f"/users/me/blocks/{friend.id}", headers=me.headers)
    assert r.status_code == 204
    assert await friend_ids(client, me, me) == []


async def test_a_blocked_user_cannot_ask_and_learns_nothing(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, pest = await api.user(), await api.user()
    assert (await block(client, me, pest)).status_code == 204
    # the blocked one: the same 404 as an account that does not exist
    r = await ask(client, pest, me)
    assert assert_problem(r, 404)["detail"] == f"User {me.id} not found"
    # the blocker is told about their own block
    assert "unblock" in str(assert_problem(await ask(client, me, pest), 409)["detail"])
    assert await FriendRequest.count() == 0
    # nor can they read each other's friend lists
    assert_problem(await client.get(f"/users/{me.id}/friends", headers=pest.headers), 404)
    assert_problem(await client.get(f"/users/{pest.id}/friends", headers=me.headers), 404)
    # the block lifted: asking works again
    await client.delete(f"/users/me/blocks/{pest.id}", headers=me.headers)
    assert (await ask(client, pest, me)).status_code == 201


async def test_access_rules_see_the_block_both_ways(client: httpx.AsyncClient, api: Api) -> None:
    me, pest = await api.user(), await api.user()
    await befriend(client, me, pest)
    assert (await block(client, pest, me)).status_code == 204
    for a, b in ((me, pest), (pest, me)):
        assert await access.is_blocked_between(a.id, b.id)  # type: ignore[arg-type]
        assert not await access.are_friends(a.id, b.id)  # type: ignore[arg-type]


async def test_block_limit_is_409(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.friends import service as friends_service

    monkeypatch.setattr(friends_service, "MAX_BLOCKS", 2)
    me = await api.user()
    targets = [await api.user() for _ in range(3)]
    for target in targets[:2]:
        assert (await block(client, me, target)).status_code == 204
    assert "limit" in str(assert_problem(await block(client, me, targets[2]), 409)["detail"])
    assert (await block(client, me, targets[0])).status_code == 204  # again: still fine
    assert await Block.count() == 2


async def test_friend_limit_is_409(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.friends import service as friends_service

    monkeypatch.setattr(friends_service, "MAX_FRIENDS", 1)
    me, ann, bob = await api.user(), await api.user(), await api.user()
    await befriend(client, me, ann)
    assert "limit" in str(assert_problem(await ask(client, me, bob), 409)["detail"])
    assert "limit" in str(assert_problem(await ask(client, bob, me), 409)["detail"])
    assert await FriendRequest.count() == 0


async def test_user_blocked_hook(client: httpx.AsyncClient, api: Api) -> None:
    seen: list[dict] = []

    async def record(**payload: Any) -> None:
        seen.append(payload)

    events.user_blocked.connect(record)
    try:
        me, pest = await api.user(), await api.user()
        await block(client, me, pest)
        await block(client, me, pest)  # again: no second announcement
    finally:
        events.user_blocked.handlers.remove(record)
    assert len(seen) == 1
    assert (str(seen[0]["blocker_id"]), str(seen[0]["blocked_id"])) == (me.id, pest.id)


@pytest.mark.usefixtures("yielding_database")
async def test_a_request_racing_a_block_leaves_no_request(
    client: httpx.AsyncClient, api: Api
) -> None:
    for _ in range(6):
        me, pest = await api.user(), await api.user()
        asked, blocked = await asyncio.gather(ask(client, pest, me), block(client, me, pest))
        assert blocked.status_code == 204
        assert asked.status_code in (201, 404), asked.text
        assert await FriendRequest.count() == 0
        assert await pending(client, me, "incoming") == []


@pytest.mark.usefixtures("yielding_database")
async def test_a_double_click_sends_one_request(client: httpx.AsyncClient, api: Api) -> None:
    ann, bob = await api.user(), await api.user()
    responses = await asyncio.gather(*(ask(client, ann, bob) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert len(await pending(client, bob, "incoming")) == 1


async def test_accepting_past_the_friend_limit_is_409_and_keeps_the_request(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.friends import service as friends_service

    me, ann, bob = await api.user(), await api.user(), await api.user()
    request_id = (await ask(client, bob, me)).json()["id"]
    monkeypatch.setattr(friends_service, "MAX_FRIENDS", 1)
    await befriend(client, ann, me)
    r = await client.post(f"/friends/requests/{request_id}/accept", headers=me.headers)
    assert "limit" in str(assert_problem(r, 409)["detail"])
    assert [p["id"] for p in await pending(client, me, "incoming")] == [request_id]
    await assert_counts_match_rows(client, me, ann, bob)

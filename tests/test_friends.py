"""Friend requests and friendships: one row per pair, counts in step, crossing requests merge."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from documents import User
from documents.social import FriendRequest, Friendship
from service import events
from service.friends import service as friends_service
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

MISSING = "0123456789abcdef01234567"


async def ask(client: httpx.AsyncClient, sender: Account, target: Account) -> httpx.Response:
    return await client.post(
        "/friends/requests", json={"user_id": target.id}, headers=sender.headers
    )


async def befriend(client: httpx.AsyncClient, a: Account, b: Account) -> None:
    r = await ask(client, a, b)
    assert r.status_code == 201, r.text
    r = await client.post(f"/friends/requests/{r.json()['id']}/accept", headers=b.headers)
    assert r.status_code == 200, r.text


async def friend_ids(client: httpx.AsyncClient, viewer: Account, owner: Account) -> list[str]:
    r = await client.get(
        f"/users/{owner.id}/friends", headers=viewer.headers, params={"limit": 100}
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(r.json()["items"])
    return [f["id"] for f in r.json()["items"]]


async def friends_count(client: httpx.AsyncClient, account: Account) -> int:
    r = await client.get(f"/users/{account.id}")
    assert r.status_code == 200, r.text
    return int(r.json()["friends_count"])


async def pending(client: httpx.AsyncClient, account: Account, direction: str) -> list[dict]:
    r = await client.get(
        "/users/me/friends/requests", headers=account.headers, params={"direction": direction}
    )
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def assert_counts_match_rows(client: httpx.AsyncClient, *accounts: Account) -> None:
    for account in accounts:
        listed = await friend_ids(client, account, account)
        assert await friends_count(client, account) == len(listed), account.name
    assert await friends_service.friends_count_drift() == {}


# --- requests -------------------------------------------------------------------------------


async def test_a_request_then_accept_makes_friends_both_ways(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann, bob = await api.user("Ann"), await api.user("Bob")
    r = await ask(client, ann, bob)
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["from"] == {"id": ann.id, "name": "Ann"}
    assert request["to"] == {"id": bob.id, "name": "Bob"}
    assert [p["id"] for p in await pending(client, bob, "incoming")] == [request["id"]]
    assert [p["id"] for p in await pending(client, ann, "outgoing")] == [request["id"]]
    assert await pending(client, ann, "incoming") == []
    assert await friend_ids(client, ann, ann) == []

    r = await client.post(f"/friends/requests/{request['id']}/accept", headers=bob.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ann.id
    assert r.json()["name"] == "Ann"
    assert await friend_ids(client, ann, ann) == [bob.id]
    assert await friend_ids(client, bob, bob) == [ann.id]
    assert await friend_ids(client, bob, ann) == [bob.id]  # anyone signed in may list them
    assert await pending(client, bob, "incoming") == []
    assert await friends_count(client, ann) == await friends_count(client, bob) == 1
    assert await Friendship.count() == 1


async def test_asking_someone_who_asked_you_accepts_their_request(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann, bob = await api.user(), await api.user()
    assert (await ask(client, ann, bob)).status_code == 201
    r = await ask(client, bob, ann)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ann.id
    assert await friend_ids(client, ann, ann) == [bob.id]
    assert await FriendRequest.count() == 0
    await assert_counts_match_rows(client, ann, bob)


async def test_asking_twice_already_friends_or_yourself_is_refused(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann, bob = await api.user(), await api.user()
    assert (await ask(client, ann, bob)).status_code == 201
    assert "already asked" in str(assert_problem(await ask(client, ann, bob), 409)["detail"])
    assert await FriendRequest.count() == 1
    assert (await ask(client, bob, ann)).status_code == 200
    assert "already friends" in str(assert_problem(await ask(client, ann, bob), 409)["detail"])
    assert "already friends" in str(assert_problem(await ask(client, bob, ann), 409)["detail"])
    body = assert_problem(await ask(client, ann, ann), 422)
    assert "yourself" in str(body["detail"])
    assert await FriendRequest.count() == 0
    assert await Friendship.count() == 1


@pytest.mark.parametrize(
    "payload",
    [{}, {"user_id": "nope"}, {"user_id": 12}, {"user_id": MISSING, "note": "hi"}, []],
)
async def test_a_malformed_request_is_422_and_stores_nothing(
    client: httpx.AsyncClient, api: Api, payload: Any
) -> None:
    ann = await api.user()
    r = await client.post("/friends/requests", json=payload, headers=ann.headers)
    assert_problem(r, 422)
    assert await FriendRequest.count() == 0


async def test_requests_need_a_login_and_an_existing_user(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann = await api.user()
    assert_problem(await client.post("/friends/requests", json={"user_id": ann.id}), 401)
    r = await client.post("/friends/requests", json={"user_id": MISSING}, headers=ann.headers)
    assert_problem(r, 404)
    for path in ("/users/me/friends/requests", f"/users/{ann.id}/friends", "/users/me/friends"):
        assert_problem(await client.get(path), 401)
    assert_problem(await client.post(f"/friends/requests/{MISSING}/accept"), 401)
    assert_problem(await client.delete(f"/users/me/friends/{ann.id}"), 401)
    assert await FriendRequest.count() == 0


async def test_only_the_recipient_accepts_or_declines_only_the_sender_cancels(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann, bob, eve = await api.user(), await api.user(), await api.user()
    request_id = (await ask(client, ann, bob)).json()["id"]
    for who in (ann, eve):  # the sender and a stranger: the request does not exist for them
        for verb in ("accept", "decline"):
            r = await client.post(f"/friends/requests/{request_id}/{verb}", headers=who.headers)
            assert_problem(r, 404)
    for who in (bob, eve):
        assert_problem(
            await client.delete(f"/friends/requests/{request_id}", headers=who.headers), 404
        )
    for bad in ("nope", MISSING):
        r = await client.post(f"/friends/requests/{bad}/accept", headers=bob.headers)
        assert_problem(r, 404)
    assert await FriendRequest.count() == 1

    r = await client.post(f"/friends/requests/{request_id}/decline", headers=bob.headers)
    assert r.status_code == 204
    assert await pending(client, ann, "outgoing") == []
    r = await client.post(f"/friends/requests/{request_id}/accept", headers=bob.headers)
    assert_problem(r, 404)  # declined: gone
    assert await Friendship.count() == 0

    # asked again, and withdrawn by the sender
    request_id = (await ask(client, ann, bob)).json()["id"]
    r = await client.delete(f"/friends/requests/{request_id}", headers=ann.headers)
    assert r.status_code == 204
    assert await pending(client, bob, "incoming") == []
    assert_problem(await client.delete(f"/friends/requests/{request_id}", headers=ann.headers), 404)
    assert await friends_count(client, ann) == await friends_count(client, bob) == 0


async def test_requests_list_newest_first_with_a_cursor(
    client: httpx.AsyncClient, api: Api
) -> None:
    me = await api.user()
    askers = [await api.user() for _ in range(5)]
    for asker in askers:
        assert (await ask(client, asker, me)).status_code == 201
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await client.get("/users/me/friends/requests", headers=me.headers, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 5
        seen += [item["from"]["id"] for item in r.json()["items"]]
        if r.json()["next"] is None:
            break
        params = {"limit": 2, "after": r.json()["next"]}
    assert seen == [a.id for a in reversed(askers)]
    r = await client.get(
        "/users/me/friends/requests", headers=me.headers, params={"direction": "sideways"}
    )
    assert_problem(r, 422)
    r = await client.get("/users/me/friends/requests", headers=me.headers, params={"limit": 101})
    assert_problem(r, 422)


# --- friends --------------------------------------------------------------------------------


async def test_friends_list_newest_first_pages_by_cursor(
    client: httpx.AsyncClient, api: Api
) -> None:
    me = await api.user()
    others = [await api.user() for _ in range(5)]
    for other in others:
        await befriend(client, other, me)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await client.get(f"/users/{me.id}/friends", headers=others[0].headers, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 5
        seen += [item["id"] for item in r.json()["items"]]
        if r.json()["next"] is None:
            break
        params = {"limit": 2, "after": r.json()["next"]}
    assert seen == [o.id for o in reversed(others)]
    r = await client.get(f"/users/{me.id}/friends", headers=me.headers, params={"after": "garbage"})
    assert_problem(r, 422)
    for missing in (MISSING, "nope"):
        assert_problem(await client.get(f"/users/{missing}/friends", headers=me.headers), 404)


async def test_unfriend_ends_it_for_both_and_twice_is_404(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann, bob, eve = await api.user(), await api.user(), await api.user()
    await befriend(client, ann, bob)
    await befriend(client, ann, eve)
    r = await client.delete(f"/users/me/friends/{bob.id}", headers=ann.headers)
    assert r.status_code == 204
    assert await friend_ids(client, bob, bob) == []
    assert await friend_ids(client, ann, ann) == [eve.id]
    assert_problem(await client.delete(f"/users/me/friends/{bob.id}", headers=ann.headers), 404)
    assert_problem(await client.delete(f"/users/me/friends/{bob.id}", headers=eve.headers), 404)
    assert_problem(await client.delete("/users/me/friends/nope", headers=ann.headers), 404)
    await assert_counts_match_rows(client, ann, bob, eve)


async def test_profiles_show_friends_count_and_my_default_visibility(
    client: httpx.AsyncClient, api: Api
) -> None:
    ann, bob = await api.user(), await api.user()
    await befriend(client, ann, bob)
    me = (await client.get("/users/me", headers=ann.headers)).json()
    assert (me["friends_count"], me["default_visibility"]) == (1, "public")
    public = (await client.get(f"/users/{ann.id}")).json()
    assert public["friends_count"] == 1
    assert "default_visibility" not in public
    r = await client.patch("/users/me", json={"default_visibility": "friends"}, headers=ann.headers)
    assert r.status_code == 200, r.text
    assert r.json()["default_visibility"] == "friends"
    for bad in ("everyone", None, 3):
        r = await client.patch("/users/me", json={"default_visibility": bad}, headers=ann.headers)
        assert_problem(r, 422)
    user = await User.get(ann.id)
    assert user is not None
    assert user.default_visibility == "friends"


async def test_hooks_announce_requests_and_friendships(client: httpx.AsyncClient, api: Api) -> None:
    seen: list[tuple[str, dict]] = []

    def recorder(name: str):
        async def record(**payload: Any) -> None:
            seen.append((name, payload))

        return record

    handlers = [
        (events.friend_request_sent, recorder("sent")),
        (events.friendship_started, recorder("started")),
        (events.friendship_ended, recorder("ended")),
    ]
    for hook, handler in handlers:
        hook.connect(handler)
    try:
        ann, bob = await api.user(), await api.user()
        await befriend(client, ann, bob)
        await client.delete(f"/users/me/friends/{ann.id}", headers=bob.headers)
    finally:
        for hook, handler in handlers:
            hook.handlers.remove(handler)
    assert [name for name, _ in seen] == ["sent", "started", "ended"]
    assert str(seen[0][1]["request"].from_id) == ann.id
    started = seen[1][1]
    assert (str(started["requester_id"]), str(started["accepter_id"])) == (ann.id, bob.id)
    assert {str(u) for u in seen[2][1]["user_ids"]} == {ann.id, bob.id}


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.usefixtures("yielding_database")
async def test_crossing_requests_at_the_same_moment_make_one_friendship(
    client: httpx.AsyncClient, api: Api
) -> None:
    for _ in range(6):  # each round interleaves differently
        ann, bob = await api.user(), await api.user()
        first, second = await asyncio.gather(ask(client, ann, bob), ask(client, bob, ann))
        statuses = sorted((first.status_code, second.status_code))
        assert statuses in ([200, 201], [201, 409]), (first.text, second.text)
        if statuses == [201, 409]:  # both saw nothing, one lost the insert and then the accept
            request = first.json() if first.status_code == 201 else second.json()
            to = ann if request["to"]["id"] == ann.id else bob
            r = await client.post(f"/friends/requests/{request['id']}/accept", headers=to.headers)
            assert r.status_code == 200, r.text
        assert await friend_ids(client, ann, ann) == [bob.id]
        assert await FriendRequest.find({"pair": {"$exists": True}}).count() == 0
        await assert_counts_match_rows(client, ann, bob)


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_accepts_unfriends_and_blocks_keep_counts_exact(
    client: httpx.AsyncClient, api: Api
) -> None:
    hub = await api.user()
    others = [await api.user() for _ in range(6)]
    requests = [(await ask(client, other, hub)).json()["id"] for other in others]
    # accept all at once, twice each (one 200, one 404)
    responses = await asyncio.gather(
        *(
            client.post(f"/friends/requests/{rid}/accept", headers=hub.headers)
            for rid in requests * 2
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 6 + [404] * 6
    await assert_counts_match_rows(client, hub, *others)
    # unfriends, duplicate unfriends and blocks racing each other
    calls = []
    for i, other in enumerate(others):
        calls.append(client.delete(f"/users/me/friends/{other.id}", headers=hub.headers))
        if i % 2:
            calls.append(client.put(f"/users/me/blocks/{hub.id}", headers=other.headers))
        else:
            calls.append(client.delete(f"/users/me/friends/{hub.id}", headers=other.headers))
    done = await asyncio.gather(*calls)
    assert all(r.status_code in (204, 404) for r in done), [r.text for r in done]
    assert await friend_ids(client, hub, hub) == []
    await assert_counts_match_rows(client, hub, *others)


@pytest.mark.usefixtures("yielding_database")
async def test_an_accept_racing_a_block_leaves_no_friendship(
    client: httpx.AsyncClient, api: Api
) -> None:
    for _ in range(6):
        ann, bob = await api.user(), await api.user()
        rid = (await ask(client, ann, bob)).json()["id"]
        accepted, blocked = await asyncio.gather(
            client.post(f"/friends/requests/{rid}/accept", headers=bob.headers),
            client.put(f"/users/me/blocks/{bob.id}", headers=ann.headers),
        )
        assert blocked.status_code == 204
        assert accepted.status_code in (200, 404)
        assert await Friendship.count() == 0
        assert await FriendRequest.count() == 0
        await assert_counts_match_rows(client, ann, bob)


# --- deletion and export ---------------------------------------------------------------------


async def test_deleting_a_user_removes_friendships_requests_and_counts_follow(
    client: httpx.AsyncClient, api: Api
) -> None:
    gone, ann, bob, eve = [await api.user() for _ in range(4)]
    await befriend(client, gone, ann)
    await befriend(client, bob, gone)
    await befriend(client, ann, bob)
    assert (await ask(client, gone, eve)).status_code == 201
    assert (await ask(client, eve, ann)).status_code == 201
    r = await client.put(f"/users/me/blocks/{gone.id}", headers=eve.headers)
    assert r.status_code == 204
    r = await client.delete("/users/me", headers=gone.headers)
    assert r.status_code == 204
    assert await friend_ids(client, ann, ann) == [bob.id]
    assert await friend_ids(client, bob, bob) == [ann.id]
    assert await pending(client, eve, "incoming") == []
    assert len(await pending(client, eve, "outgoing")) == 1
    r = await client.get("/users/me/blocks", headers=eve.headers)
    assert r.json()["items"] == []
    await assert_counts_match_rows(client, ann, bob, eve)


async def test_the_export_lists_my_friends(client: httpx.AsyncClient, api: Api) -> None:
    me, ann, bob, stranger = (
        await api.user(),
        await api.user("Ann"),
        await api.user(),
        await api.user(),
    )
    await befriend(client, ann, me)
    await befriend(client, me, bob)
    await befriend(client, ann, stranger)
    r = await client.get("/users/me/export", headers=me.headers)
    assert r.status_code == 200, r.text
    listed = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("friends.json"))
    assert [f["id"] for f in listed] == [ann.id, bob.id]  # oldest friendship first
    assert listed[0]["name"] == "Ann"
    assert set(listed[0]) == {"id", "name", "since"}


# --- demo -----------------------------------------------------------------------------------


async def test_demo_friends_fill_runner001s_lists_and_rerun_adds_nothing(
    client: httpx.AsyncClient, api: Api, settings: Any
) -> None:
    import random

    from service.demo import DEMO_PASSWORD
    from service.demo.friends import HUB_FRIENDS, load_friends
    from service.demo.progress import NullProgress
    from service.demo.users import load_users

    users = await load_users(
        settings=settings, rng=random.Random(1), size="embedded", progress=NullProgress()
    )
    users = users[:60]  # runner001 first: enough for the test, a quicker load
    first = await load_friends(seed=1, users=users)
    again = await load_friends(seed=1, users=users)
    assert again["friendships"] == first["friendships"]
    assert again["friend_requests"] == 0  # all there already
    assert await Friendship.count() == first["friendships"]

    token = await api.login("runner001@demo.challenge.run", DEMO_PASSWORD)
    hub = Account(str(users[0].id), users[0].name, users[0].email, DEMO_PASSWORD, token)
    assert len(await friend_ids(client, hub, hub)) == await friends_count(client, hub)
    assert await friends_count(client, hub) == HUB_FRIENDS
    assert len(await pending(client, hub, "incoming")) >= 3
    assert len(await pending(client, hub, "outgoing")) >= 3
    r = await client.get("/users/me/blocks", headers=hub.headers)
    assert r.json()["total"] == 1
    assert await friends_service.friends_count_drift() == {}
    assert 2 <= first["friendships"] / len(users) <= 4  # a handful each


async def test_friends_count_drift_is_reported_and_repaired(
    client: httpx.AsyncClient, api: Api
) -> None:
    from beanie import PydanticObjectId

    ann, bob, eve = await api.user(), await api.user(), await api.user()
    await befriend(client, ann, bob)
    users = User.get_motor_collection()
    await users.update_one({"_id": PydanticObjectId(ann.id)}, {"$set": {"friends_count": 7}})
    await users.update_one({"_id": PydanticObjectId(eve.id)}, {"$set": {"friends_count": -1}})
    expected = {PydanticObjectId(ann.id): (7, 1), PydanticObjectId(eve.id): (-1, 0)}
    assert await friends_service.friends_count_drift() == expected
    assert await friends_service.friends_count_drift() == expected  # verify changes nothing
    assert await friends_service.friends_count_drift(repair=True) == expected
    await assert_counts_match_rows(client, ann, bob, eve)

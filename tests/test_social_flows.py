"""Cross-feature social flows a user would notice (issue 10): unfriending, blocking, visibility
changes, deletions and account deletion, through the HTTP API; and a small randomized session
after which the rebuild checks (social counts, friends_count, feed rows) find no drift."""

from __future__ import annotations

import random
from typing import Any

import httpx
from beanie import PydanticObjectId

from documents.feed import FeedItem
from documents.notification import Notification
from documents.post import Comment, Like, Post
from documents.social import Block, FriendRequest, Friendship
from service.feed import rebuild as feed_rebuild
from service.friends.service import friends_count_drift
from service.posts import rebuild as counts_rebuild
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.posts_world import post
from tests.test_feed import objects, whole_feed
from tests.test_friends import befriend


async def runs_listed(client: httpx.AsyncClient, viewer: Account) -> list[str]:
    r = await client.get("/runs", params={"limit": 100}, headers=viewer.headers)
    assert r.status_code == 200, r.text
    return [row["id"] for row in r.json()["items"]]


async def test_unfriending_hides_friends_only_runs_from_feed_and_detail(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(), await api.user(city="Paris")
    await befriend(client, me, friend)
    run = await api.run(friend, visibility="friends")
    assert objects(await whole_feed(client, me)) == [run["id"]]
    assert (await client.get(f"/runs/{run['id']}", headers=me.headers)).status_code == 200
    r = await client.delete(f"/users/me/friends/{friend.id}", headers=me.headers)
    assert r.status_code == 204, r.text
    assert objects(await whole_feed(client, me)) == []
    assert_problem(await client.get(f"/runs/{run['id']}", headers=me.headers), 404)
    assert_problem(await client.put(f"/runs/{run['id']}/likes", headers=me.headers), 404)
    # the friend still sees it in their own feed
    assert objects(await whole_feed(client, friend)) == [run["id"]]


async def test_making_a_run_private_removes_it_from_others_feeds_and_lists(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend, stranger = await api.user(), await api.user(city="Paris"), await api.user()
    await befriend(client, me, friend)
    run = await api.run(friend, visibility="public")
    assert run["id"] in await runs_listed(client, stranger)
    assert objects(await whole_feed(client, me)) == [run["id"]]
    r = await client.patch(
        f"/runs/{run['id']}", json={"visibility": "private"}, headers=friend.headers
    )
    assert r.status_code == 200, r.text
    assert objects(await whole_feed(client, me)) == []
    assert run["id"] not in await runs_listed(client, stranger)
    assert run["id"] not in await runs_listed(client, me)
    assert run["id"] in await runs_listed(client, friend)
    assert_problem(await client.get(f"/runs/{run['id']}", headers=stranger.headers), 404)


async def test_blocking_vanishes_from_feeds_and_keeps_comments_already_made(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, other = await api.user(), await api.user()
    await befriend(client, me, other)
    mine = await post(client, me, "mine")
    theirs = await post(client, other, "theirs")
    r = await client.post(
        f"/posts/{mine['id']}/comments", json={"text": "hi"}, headers=other.headers
    )
    assert r.status_code == 201
    assert (
        await client.put(f"/posts/{mine['id']}/likes", headers=other.headers)
    ).status_code == 204
    assert objects(await whole_feed(client, me), "post") == [theirs["id"], mine["id"]]
    r = await client.put(f"/users/me/blocks/{other.id}", headers=me.headers)
    assert r.status_code in (200, 201, 204), r.text
    # the two vanish from each other's feeds (each keeps their own items)
    assert objects(await whole_feed(client, me), "post") == [mine["id"]]
    assert objects(await whole_feed(client, other), "post") == [theirs["id"]]
    # what the blocked user already wrote stays (README: comments already made stay), counts agree
    r = await client.get(f"/posts/{mine['id']}/comments", headers=me.headers)
    assert [c["text"] for c in r.json()["items"]] == ["hi"]
    got = (await client.get(f"/posts/{mine['id']}", headers=me.headers)).json()
    assert got["comments"] == 1
    likers = (await client.get(f"/posts/{mine['id']}/likes", headers=me.headers)).json()["items"]
    assert got["likes"] == len(likers)
    # but no new ones
    r = await client.post(
        f"/posts/{mine['id']}/comments", json={"text": "x"}, headers=other.headers
    )
    assert_problem(r, 403)
    assert (await counts_rebuild.verify()).clean
    assert not await friends_count_drift()
    # the owner may still delete what the blocked user wrote on their things
    [comment] = (await client.get(f"/posts/{mine['id']}/comments")).json()["items"]
    r = await client.delete(f"/comments/{comment['id']}", headers=me.headers)
    assert r.status_code == 204, r.text
    assert (await client.get(f"/posts/{mine['id']}", headers=me.headers)).json()["comments"] == 0


async def test_deleting_a_post_removes_its_notifications_and_feed_row(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, fan = await api.user(), await api.user()
    await befriend(client, me, fan)
    p = await post(client, me, "hello")
    assert (await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)).status_code == 204
    r = await client.post(f"/posts/{p['id']}/comments", json={"text": "yo"}, headers=fan.headers)
    assert r.status_code == 201
    subject = PydanticObjectId(p["id"])
    assert await Notification.find({"subject.id": p["id"]}).count() == 2  # the like, the comment
    r = await client.delete(f"/posts/{p['id']}", headers=me.headers)
    assert r.status_code == 204
    notes = (await client.get("/users/me/notifications", headers=me.headers)).json()["items"]
    assert [n for n in notes if (n.get("subject") or {}).get("id") == p["id"]] == []
    assert await Notification.find({"subject.id": p["id"]}).count() == 0
    assert objects(await whole_feed(client, fan), "post") == []
    assert await FeedItem.get_motor_collection().count_documents({}) == 0
    assert await Comment.find({"subject_id": subject}).count() == 0
    assert await Like.get_motor_collection().count_documents({}) == 0


async def test_random_operations_leave_no_drift(client: httpx.AsyncClient, api: Api) -> None:
    rng = random.Random(10)
    people = [await api.user(f"P{i}", city="Paris") for i in range(5)]
    things: list[tuple[str, str, Account]] = []  # (kind, id, owner)
    comments: list[tuple[str, Account]] = []

    async def op() -> None:
        a, b = rng.sample(people, 2)
        choice = rng.randrange(11)
        if choice == 0:
            r = await client.post("/friends/requests", json={"user_id": b.id}, headers=a.headers)
            if r.status_code == 201:
                await client.post(f"/friends/requests/{r.json()['id']}/accept", headers=b.headers)
        elif choice == 1:
            await client.delete(f"/users/me/friends/{b.id}", headers=a.headers)
        elif choice == 2 and rng.random() < 0.3:
            await client.put(f"/users/me/blocks/{b.id}", headers=a.headers)
        elif choice == 3:
            await client.delete(f"/users/me/blocks/{b.id}", headers=a.headers)
        elif choice == 4:
            vis = rng.choice(["public", "friends", "private"])
            p = await post(client, a, "p", visibility=vis)
            things.append(("posts", p["id"], a))
        elif choice == 5:
            vis = rng.choice(["public", "friends", "private"])
            day = rng.randrange(1, 28)
            r = await client.post(
                "/runs",
                json={
                    "started_at": f"2024-03-{day:02d}T{rng.randrange(5, 20):02d}:00:00Z",
                    "distance_km": 5,
                    "duration_s": 1800,
                    "visibility": vis,
                },
                headers=a.headers,
            )
            if r.status_code == 201:
                things.append(("runs", r.json()["id"], a))
        elif choice == 6 and things:
            kind, sid, _ = rng.choice(things)
            verb = rng.choice(["PUT", "DELETE"])
            await client.request(verb, f"/{kind}/{sid}/likes", headers=a.headers)
        elif choice == 7 and things:
            kind, sid, _ = rng.choice(things)
            r = await client.post(f"/{kind}/{sid}/comments", json={"text": "c"}, headers=a.headers)
            if r.status_code == 201:
                comments.append((r.json()["id"], a))
        elif choice == 8 and comments:
            cid, author = rng.choice(comments)
            await client.delete(f"/comments/{cid}", headers=author.headers)
        elif choice == 9 and things:
            kind, sid, owner = rng.choice(things)
            vis = rng.choice(["public", "friends", "private"])
            await client.patch(f"/{kind}/{sid}", json={"visibility": vis}, headers=owner.headers)
        elif choice == 10 and things and rng.random() < 0.3:
            kind, sid, owner = rng.choice(things)
            await client.delete(f"/{kind}/{sid}", headers=owner.headers)

    for _ in range(120):
        await op()
    gone = people.pop(rng.randrange(len(people)))
    r = await client.delete("/users/me", headers=gone.headers)
    assert r.status_code == 204, r.text
    for _ in range(40):
        await op()

    drift = await counts_rebuild.verify()
    assert drift.clean, drift.changed
    assert await friends_count_drift() == {}
    feed = await feed_rebuild.rebuild(repair=False)
    assert feed.clean, feed
    # nothing of the deleted account is left dangling
    gid = PydanticObjectId(gone.id)
    assert await Post.find({"user_id": gid}).count() == 0
    assert await Comment.find({"user_id": gid}).count() == 0
    assert await Like.find({"user_id": gid}).count() == 0
    assert await Friendship.find({"users": gid}).count() == 0
    assert await Block.find({"$or": [{"blocker_id": gid}, {"blocked_id": gid}]}).count() == 0
    either = {"$or": [{"from_id": gid}, {"to_id": gid}]}
    assert await FriendRequest.get_motor_collection().count_documents(either) == 0
    notes: list[dict[str, Any]] = await Notification.get_motor_collection().find({}).to_list(None)
    assert [n for n in notes if gid in (n.get("user_id"), n.get("actor_id"))] == []
    rows = await FeedItem.get_motor_collection().find({}).to_list(None)
    assert [row for row in rows if gid in row.values()] == []

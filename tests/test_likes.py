"""Likes (kudos) on posts, runs and workouts (issue 10 §3): idempotent PUT/DELETE, who liked,
counts exact under concurrency, only for whoever may see (and is not blocked)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import Run, Workout
from documents.post import Like, Post
from service import events
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.posts_world import befriend, block, post, workout
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)

DOCUMENTS = {"posts": Post, "runs": Run, "workouts": Workout}


async def subject(
    client: httpx.AsyncClient, api: Api, kind: str, owner: Account, **fields: Any
) -> str:
    if kind == "posts":
        return str((await post(client, owner, **fields))["id"])
    if kind == "runs":
        run = await api.run(owner)
    else:
        run = await workout(client, owner)
    if "visibility" in fields:
        await (
            DOCUMENTS[kind]
            .get_motor_collection()
            .update_one(
                {"_id": PydanticObjectId(run["id"])}, {"$set": {"visibility": fields["visibility"]}}
            )
        )
    return str(run["id"])


async def stored_count(kind: str, subject_id: str) -> int:
    raw = (
        await DOCUMENTS[kind].get_motor_collection().find_one({"_id": PydanticObjectId(subject_id)})
    )
    assert raw is not None
    return int(raw.get("likes_count", 0))


@pytest.mark.parametrize("kind", ["posts", "runs", "workouts"])
async def test_like_twice_unlike_twice(client: httpx.AsyncClient, api: Api, kind: str) -> None:
    owner, fan, other = await api.user(city="Paris"), await api.user("Fan"), await api.user("Other")
    sid = await subject(client, api, kind, owner)
    path = f"/{kind}/{sid}/likes"
    for _ in range(2):
        r = await client.put(path, headers=fan.headers)
        assert r.status_code == 204, r.text
    await client.put(path, headers=other.headers)
    assert await stored_count(kind, sid) == 2
    r = await client.get(path)
    assert r.status_code == 200, r.text
    assert [item["user"]["name"] for item in r.json()["items"]] == ["Other", "Fan"]
    assert r.json()["total"] == 2
    for _ in range(2):
        assert (await client.delete(path, headers=fan.headers)).status_code == 204
    assert await stored_count(kind, sid) == 1
    assert [i["user"]["id"] for i in (await client.get(path)).json()["items"]] == [other.id]


async def test_posts_show_likes_and_liked_by_me(client: httpx.AsyncClient, api: Api) -> None:
    author, fan = await api.user(), await api.user()
    p = await post(client, author)
    await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)
    mine = (await client.get(f"/posts/{p['id']}", headers=fan.headers)).json()
    assert (mine["likes"], mine["liked_by_me"]) == (1, True)
    theirs = (await client.get(f"/posts/{p['id']}", headers=author.headers)).json()
    assert (theirs["likes"], theirs["liked_by_me"]) == (1, False)
    listed = (await client.get(f"/users/{author.id}/posts", headers=fan.headers)).json()
    assert listed["items"][0]["liked_by_me"] is True
    anonymous = (await client.get(f"/posts/{p['id']}")).json()
    assert anonymous["liked_by_me"] is False


async def test_who_may_like(client: httpx.AsyncClient, api: Api) -> None:
    author, friend, stranger, blocked = [await api.user() for _ in range(4)]
    await befriend(author, friend)
    await block(blocked, author)
    friends_only = await post(client, author, visibility="friends")
    public = await post(client, author)
    path = f"/posts/{friends_only['id']}/likes"
    assert (await client.put(path, headers=friend.headers)).status_code == 204
    assert_problem(await client.put(path, headers=stranger.headers), 404)
    assert_problem(await client.get(path, headers=stranger.headers), 404)
    assert_problem(await client.get(path), 404)
    assert_problem(await client.delete(path, headers=stranger.headers), 404)
    # a blocked user sees the public post but may not like it
    assert_problem(await client.put(f"/posts/{public['id']}/likes", headers=blocked.headers), 403)
    assert_problem(await client.put(path), 401)
    assert_problem(await client.delete(path), 401)
    assert_problem(await client.put(f"/posts/{'0' * 24}/likes", headers=friend.headers), 404)
    assert_problem(await client.put("/runs/nope/likes", headers=friend.headers), 404)
    assert_problem(await client.get(path, headers=friend.headers, params={"limit": 1000}), 422)
    assert await Like.get_motor_collection().count_documents({}) == 1


async def test_likes_list_pages_by_cursor(client: httpx.AsyncClient, api: Api) -> None:
    author = await api.user()
    p = await post(client, author)
    fans = [await api.user() for _ in range(5)]
    for fan in fans:
        await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
        r = await client.get(f"/posts/{p['id']}/likes", params=params)
        assert r.status_code == 200, r.text
        seen += [i["user"]["id"] for i in r.json()["items"]]
        after = r.json()["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(f.id for f in fans)
    assert len(seen) == 5
    assert_problem(await client.get(f"/posts/{p['id']}/likes", params={"after": "garbage"}), 422)


async def test_like_hooks_only_for_real_changes(client: httpx.AsyncClient, api: Api) -> None:
    heard: list[str] = []

    async def added(*, like: Like) -> None:
        heard.append("added")

    async def removed(*, like: Like) -> None:
        heard.append("removed")

    events.like_added.connect(added)
    events.like_removed.connect(removed)
    try:
        author, fan = await api.user(), await api.user()
        p = await post(client, author)
        for _ in range(2):
            await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)
        for _ in range(2):
            await client.delete(f"/posts/{p['id']}/likes", headers=fan.headers)
    finally:
        events.like_added.handlers.remove(added)
        events.like_removed.handlers.remove(removed)
    assert heard == ["added", "removed"]


@pytest.mark.usefixtures("yielding_database")
async def test_30_concurrent_likes_and_unlikes_keep_the_count_exact(
    client: httpx.AsyncClient, api: Api
) -> None:
    author = await api.user()
    p = await post(client, author)
    path = f"/posts/{p['id']}/likes"
    fans = [await api.user() for _ in range(10)]
    # each fan: like, like again, unlike, like (some repeated): 30 requests interleaved
    calls = []
    for i, fan in enumerate(fans):
        calls += [client.put(path, headers=fan.headers), client.put(path, headers=fan.headers)]
        calls.append(
            client.delete(path, headers=fan.headers)
            if i % 2
            else client.put(path, headers=fan.headers)
        )
    responses = await asyncio.gather(*calls)
    assert all(r.status_code == 204 for r in responses)
    rows = await Like.get_motor_collection().count_documents(
        {"subject_id": PydanticObjectId(p["id"])}
    )
    got = (await client.get(f"/posts/{p['id']}", headers=author.headers)).json()["likes"]
    assert got == rows
    # then everyone unlikes concurrently, twice
    calls = [client.delete(path, headers=fan.headers) for fan in fans for _ in range(3)]
    assert all(r.status_code == 204 for r in await asyncio.gather(*calls))
    assert (await client.get(f"/posts/{p['id']}", headers=author.headers)).json()["likes"] == 0
    assert await Like.get_motor_collection().count_documents({}) == 0


async def test_rebuild_reports_and_repairs_drifted_counts(
    client: httpx.AsyncClient, api: Api
) -> None:
    from service.posts import rebuild

    owner, fan = await api.user(city="Paris"), await api.user()
    p = await post(client, owner)
    run = await api.run(owner)
    await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)
    await client.post(f"/runs/{run['id']}/comments", json={"text": "x"}, headers=fan.headers)
    assert (await rebuild.verify()).clean
    # a hand edit (or a crash between a row's write and its $inc)
    await Post.get_motor_collection().update_one(
        {"_id": PydanticObjectId(p["id"])}, {"$set": {"likes_count": 7}}
    )
    await Run.get_motor_collection().update_one(
        {"_id": PydanticObjectId(run["id"])}, {"$unset": {"comments_count": ""}}
    )
    drift = await rebuild.verify()
    assert sorted(str(s) for _, s in drift.changed) == sorted([p["id"], run["id"]])
    assert await stored_count("posts", p["id"]) == 7  # verify writes nothing
    assert not (await rebuild.repair()).clean
    assert (await rebuild.verify()).clean
    assert await stored_count("posts", p["id"]) == 1
    assert (await client.get(f"/runs/{run['id']}", headers=owner.headers)).status_code == 200


@pytest.mark.usefixtures("yielding_database")
async def test_likes_and_comments_racing_a_deletion_leave_no_orphans(
    client: httpx.AsyncClient, api: Api
) -> None:
    from documents.post import Comment

    author = await api.user()
    fans = [await api.user() for _ in range(6)]
    for round_ in range(3):  # each round interleaves differently
        p = await post(client, author, f"round {round_}")
        calls = [client.put(f"/posts/{p['id']}/likes", headers=f.headers) for f in fans]
        calls += [
            client.post(f"/posts/{p['id']}/comments", json={"text": "x"}, headers=f.headers)
            for f in fans
        ]
        calls.insert(5, client.delete(f"/posts/{p['id']}", headers=author.headers))
        responses = await asyncio.gather(*calls)
        assert {r.status_code for r in responses} <= {201, 204, 404}
        assert responses[5].status_code == 204
    assert await Like.get_motor_collection().count_documents({}) == 0
    assert await Comment.get_motor_collection().count_documents({}) == 0


async def test_runs_and_workouts_show_likes_comments_and_liked_by_me(
    client: httpx.AsyncClient, api: Api
) -> None:
    owner, fan = await api.user(city="Paris"), await api.user()
    run = await api.run(owner)
    w = await workout(client, owner)
    for kind, sid in (("runs", run["id"]), ("workouts", w["id"])):
        await client.put(f"/{kind}/{sid}/likes", headers=fan.headers)
        await client.post(f"/{kind}/{sid}/comments", json={"text": "go"}, headers=owner.headers)
        mine = (await client.get(f"/{kind}/{sid}", headers=fan.headers)).json()
        assert (mine["likes"], mine["comments"], mine["liked_by_me"]) == (1, 1, True)
        theirs = (await client.get(f"/{kind}/{sid}", headers=owner.headers)).json()
        assert (theirs["likes"], theirs["comments"], theirs["liked_by_me"]) == (1, 1, False)
        for path in (f"/{kind}", f"/users/{owner.id}/{kind}"):
            rows = (await client.get(path, headers=fan.headers)).json()["items"]
            assert [(r["id"], r["likes"], r["liked_by_me"]) for r in rows] == [(sid, 1, True)]
            rows = (await client.get(path, headers=owner.headers)).json()["items"]
            assert [(r["id"], r["comments"], r["liked_by_me"]) for r in rows] == [(sid, 1, False)]


async def test_liked_by_me_for_a_page_is_one_read_of_the_likes(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, fan = await api.user(city="Paris"), await api.user()
    posts = [await post(client, owner, f"p{i}") for i in range(12)]
    for p in posts[::2]:
        await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)
    finds: list[Any] = []
    original = Like.get_motor_collection

    class Counting:
        def __init__(self, collection: Any) -> None:
            self._collection = collection

        def find(self, *args: Any, **kwargs: Any) -> Any:
            finds.append(args[0] if args else kwargs.get("filter"))
            return self._collection.find(*args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._collection, name)

    monkeypatch.setattr(Like, "get_motor_collection", classmethod(lambda cls: Counting(original())))
    r = await client.get(f"/users/{owner.id}/posts", params={"limit": 10}, headers=fan.headers)
    assert r.status_code == 200, r.text
    assert [item["liked_by_me"] for item in r.json()["items"]] == [i % 2 == 1 for i in range(10)]
    assert len(finds) == 1
    assert len(finds[0]["_id"]["$in"]) == 10  # the page's like ids, nothing more

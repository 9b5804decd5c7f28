"""GET /feed: own, friends' and followed athletes' activity the caller may see, newest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import Block, FeedItem, Friendship, Like, Post, Run, User
from documents.post import like_id
from documents.social import block_id, pair_key
from service import events
from service.feed import rebuild as feed_rebuild
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Account, Api

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)


def oid(account: Account) -> PydanticObjectId:
    return PydanticObjectId(account.id)


async def befriend(a: Account, b: Account) -> None:
    """A friendship stored as service.friends stores it (the feed only reads it)."""
    await Friendship(id=pair_key(oid(a), oid(b)), users=[oid(a), oid(b)]).insert()


async def block(blocker: Account, blocked: Account) -> None:
    await Block(
        id=block_id(oid(blocker), oid(blocked)), blocker_id=oid(blocker), blocked_id=oid(blocked)
    ).insert()


async def set_visibility(run_id: str, visibility: str) -> None:
    """Change a run's visibility as the runs service does: store it, then announce the change
    (the feed only listens to run_changed; PATCH /runs is service.runs' to test)."""
    before = await Run.get(PydanticObjectId(run_id))
    assert before is not None
    await Run.get_motor_collection().update_one(
        {"_id": before.id}, {"$set": {"visibility": visibility}}
    )
    after = await Run.get(before.id)
    await events.run_changed.emit(before=before, after=after)


async def run(
    api: Api, account: Account, hours: float, visibility: str = "public", **fields: Any
) -> dict[str, Any]:
    """A run `hours` after BASE (distinct starts keep the runner's runs apart)."""
    start = BASE + timedelta(hours=hours)
    body = await api.run(account, started_at=start.isoformat().replace("+00:00", "Z"), **fields)
    if visibility != "public":
        await set_visibility(body["id"], visibility)
    return body


async def page(client: httpx.AsyncClient, account: Account, **params: Any) -> dict[str, Any]:
    r = await client.get("/feed", params=params, headers=account.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def whole_feed(client: httpx.AsyncClient, account: Account, limit: int = 100) -> list[dict]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = await page(client, account, **params)
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def objects(items: list[dict[str, Any]], type_: str = "run") -> list[str]:
    return [i["object"]["id"] for i in items if i["type"] == type_]


async def test_feed_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/feed"), 401)


async def test_feed_shows_what_the_caller_may_see_of_self_friends_and_followed(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend, athlete, stranger, blocked = [await api.user(city="Paris") for _ in range(5)]
    await befriend(me, friend)
    await befriend(me, blocked)
    await api.athlete(athlete)
    await api.athlete(blocked)
    await api.follow(me, athlete)
    await api.follow(me, blocked)
    mine = await run(api, me, 1, visibility="private")
    f_public = await run(api, friend, 2, visibility="public")
    f_friends = await run(api, friend, 3, visibility="friends")
    await run(api, friend, 4, visibility="private")
    a_public = await run(api, athlete, 5, visibility="public")
    await run(api, athlete, 6, visibility="friends")
    await run(api, stranger, 7, visibility="public")
    await run(api, blocked, 8, visibility="public")
    # blocking ends the friendship (service.friends); here: blocked, the follow stays
    await Friendship.get_motor_collection().delete_one({"_id": pair_key(oid(me), oid(blocked))})
    await block(blocked, me)

    items = await whole_feed(client, me)
    assert objects(items) == [a_public["id"], f_friends["id"], f_public["id"], mine["id"]]
    runs = [i for i in items if i["type"] == "run"]
    assert [i["actor"]["name"] for i in runs] == [athlete.name, friend.name, friend.name, me.name]
    ats = [i["at"] for i in items]
    assert ats == sorted(ats, reverse=True)
    first = runs[-1]
    assert first["object"]["distance_km"] == 5.0
    assert first["object"]["duration_s"] == 1800
    assert first["likes"] == 0
    assert first["comments"] == 0
    assert first["liked_by_me"] is False
    # the first run of each earned a badge: the caller's and the friend's are in the feed,
    # the followed athlete's (not a friend) and the stranger's are not
    badges = [(i["actor"]["id"], i["object"]["key"]) for i in items if i["type"] == "badge"]
    assert sorted(badges) == sorted([(me.id, "first-run"), (friend.id, "first-run")])
    badge = next(i for i in items if i["type"] == "badge")
    assert badge["likes"] is None
    assert badge["liked_by_me"] is None

    # the friend's view: my private run is not there, the badge is (friends may see it)
    theirs = await whole_feed(client, friend)
    assert mine["id"] not in objects(theirs)
    assert (me.id, "first-run") in [
        (i["actor"]["id"], i["object"]["key"]) for i in theirs if i["type"] == "badge"
    ]


async def test_likes_and_comments_counts_and_liked_by_me(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    theirs = await run(api, friend, 1)
    rid = PydanticObjectId(theirs["id"])
    for liker in (me, friend):
        await Like(
            id=like_id("run", rid, oid(liker)),
            subject_kind="run",
            subject_id=rid,
            subject_owner_id=oid(friend),
            user_id=oid(liker),
        ).insert()
    await Run.get_motor_collection().update_one(
        {"_id": rid}, {"$inc": {"likes_count": 2, "comments_count": 3}}
    )
    [item] = [i for i in (await page(client, me))["items"] if i["type"] == "run"]
    assert (item["likes"], item["comments"], item["liked_by_me"]) == (2, 3, True)
    [item] = [i for i in (await page(client, friend))["items"] if i["type"] == "run"]
    assert item["liked_by_me"] is True
    await Like.get_motor_collection().delete_one({"_id": like_id("run", rid, oid(friend))})
    [item] = [i for i in (await page(client, friend))["items"] if i["type"] == "run"]
    assert item["liked_by_me"] is False


async def test_visibility_changes_edits_and_deletes_follow_the_runs(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    theirs = await run(api, friend, 1)
    assert objects(await whole_feed(client, me)) == [theirs["id"]]

    await set_visibility(theirs["id"], "private")
    assert objects(await whole_feed(client, me)) == []
    assert objects(await whole_feed(client, friend)) == [theirs["id"]]

    await set_visibility(theirs["id"], "friends")
    r = await client.patch(
        f"/runs/{theirs['id']}", json={"distance_km": 7.5}, headers=friend.headers
    )
    assert r.status_code == 200, r.text
    [item] = [i for i in await whole_feed(client, me) if i["type"] == "run"]
    assert item["object"]["distance_km"] == 7.5

    r = await client.delete(f"/runs/{theirs['id']}", headers=friend.headers)
    assert r.status_code == 204, r.text
    assert objects(await whole_feed(client, me)) == []
    assert await FeedItem.find({"type": "run"}).count() == 0


async def test_posts_enter_change_and_leave_the_feed_through_their_hooks(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend, stranger = (
        await api.user(city="Paris"),
        await api.user(city="Paris"),
        await api.user(city="Paris"),
    )
    await befriend(me, friend)
    post = await Post(user_id=oid(friend), text="x" * 600, visibility="friends").insert()
    await events.post_created.emit(post=post)
    [item] = (await page(client, me))["items"]
    assert item["type"] == "post"
    assert item["object"]["text"] == "x" * 500
    assert item["object"]["truncated"] is True
    assert (await page(client, stranger))["items"] == []

    after = post.model_copy(update={"visibility": "private", "text": "hello"})
    await Post.get_motor_collection().update_one(
        {"_id": post.id}, {"$set": {"visibility": "private", "text": "hello"}}
    )
    await events.post_changed.emit(before=post, after=after)
    assert (await page(client, me))["items"] == []
    [item] = (await page(client, friend))["items"]
    assert item["object"]["text"] == "hello"

    await Post.get_motor_collection().delete_one({"_id": post.id})
    await events.post_deleted.emit(post=after)
    assert (await page(client, friend))["items"] == []


async def test_badges_follow_the_default_visibility(client: httpx.AsyncClient, api: Api) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    await run(api, friend, 1, visibility="private")  # earns first-run; the run is private
    [item] = (await page(client, me))["items"]
    assert (item["type"], item["object"]["key"]) == ("badge", "first-run")

    r = await client.patch(
        "/users/me", json={"default_visibility": "private"}, headers=friend.headers
    )
    assert r.status_code == 200, r.text
    assert (await page(client, me))["items"] == []
    assert [i["type"] for i in (await page(client, friend))["items"]] == ["badge", "run"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"cursor": "garbage"},
        {"cursor": "eyJrIjpbImF0IiwiX2lkIl0sInYiOlsxLDJdfQ"},  # {"k":["at","_id"],"v":[1,2]}
        {"cursor": "x" * 2000},
    ],
)
async def test_bad_paging_is_a_422(
    client: httpx.AsyncClient, api: Api, params: dict[str, Any]
) -> None:
    me = await api.user(city="Paris")
    assert_problem(await client.get("/feed", params=params, headers=me.headers), 422)


async def test_pages_never_repeat_or_skip_while_items_arrive(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    before = [await run(api, friend, h) for h in range(0, 14, 2)]  # 7 runs (+1 badge)
    first = await page(client, me, limit=3)
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    h = 100.0
    while cursor:
        # newer runs and one dated between the pages' items arrive between page reads
        await run(api, friend, h)
        await run(api, me, h + 0.5)
        h += 1
        body = await page(client, me, limit=3, cursor=cursor)
        seen.extend(i["id"] for i in body["items"])
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen))
    rows = {str(r["_id"]): r for r in await FeedItem.get_motor_collection().find().to_list(None)}
    shown_runs = {str(rows[i]["object_id"]) for i in seen if rows[i]["type"] == "run"}
    assert {r["id"] for r in before} <= shown_runs
    # what arrived after the first page is newer than it: never in a later page
    assert shown_runs == {r["id"] for r in before}


async def test_pages_stay_exact_under_concurrent_inserts(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    before = [await run(api, friend, h) for h in range(10)]

    async def read_all() -> list[str]:
        return [
            i["object"]["id"] for i in await whole_feed(client, me, limit=2) if i["type"] == "run"
        ]

    async def insert(k: int) -> None:
        # older ones (inside the pages being read) and newer ones
        await run(api, friend if k % 2 else me, -50 - k if k % 3 else 200 + k)

    results = await asyncio.gather(read_all(), *(insert(k) for k in range(6)), read_all())
    for shown in (results[0], results[-1]):
        assert len(shown) == len(set(shown))
        assert {r["id"] for r in before} <= set(shown)


async def test_deleting_a_user_removes_their_feed_items(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    await run(api, friend, 1)
    assert await FeedItem.find({"actor_id": oid(friend)}).count() == 2  # run + badge
    r = await client.delete("/users/me", headers=friend.headers)
    assert r.status_code == 204, r.text
    assert await FeedItem.find({"actor_id": oid(friend)}).count() == 0
    assert (await page(client, me))["items"] == []


async def test_rebuild_recreates_missing_rows_and_removes_orphans(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, friend = await api.user(city="Paris"), await api.user(city="Paris")
    await befriend(me, friend)
    for h in range(3):
        await run(api, friend, h)
    feed_before = await whole_feed(client, me)
    collection = FeedItem.get_motor_collection()
    await collection.delete_many({"type": "run"})
    await collection.update_many({"type": "badge"}, {"$set": {"visibility": "public"}})
    await collection.insert_one(
        {
            "_id": PydanticObjectId(),
            "actor_id": oid(me),
            "type": "run",
            "object_id": PydanticObjectId(),
            "at": BASE,
            "visibility": "public",
            "summary": {},
        }
    )
    drift = await feed_rebuild.rebuild(repair=False)
    assert (drift.missing, drift.stale, drift.orphans) == (3, 1, 1)
    drift = await feed_rebuild.rebuild(repair=True)
    assert (drift.missing, drift.stale, drift.orphans) == (3, 1, 1)
    assert await whole_feed(client, me) == feed_before
    drift = await feed_rebuild.rebuild(repair=False)
    assert (drift.missing, drift.stale, drift.orphans) == (0, 0, 0)
    assert await User.find().count() == 2


async def test_demo_social_data_fills_the_hubs_feed_and_is_safe_to_rerun(
    client: httpx.AsyncClient, api: Api
) -> None:
    from service.demo.social import load_social
    from service.demo.users import DemoUser

    hub, *friends = [await api.user(city="Paris") for _ in range(4)]
    for friend in friends:
        await befriend(hub, friend)
        await run(api, friend, len(friend.name))
    users = [DemoUser(oid(a), a.name, a.email) for a in (hub, *friends)]
    first = await load_social(seed=7, users=users)
    assert first["posts"] > 0
    assert await load_social(seed=7, users=users) == first
    assert await Post.find().count() == first["posts"]
    await feed_rebuild.rebuild(repair=True)

    items = await whole_feed(client, hub)
    posts = [i for i in items if i["type"] == "post"]
    assert len(posts) == first["posts"]
    assert {i["type"] for i in items} >= {"post", "run", "badge"}
    # every count shown is the rows' count
    for item in items:
        if item["likes"] is None:
            continue
        kind, subject = item["type"], PydanticObjectId(item["object"]["id"])
        query = {"subject_kind": kind, "subject_id": subject}
        assert item["likes"] == await Like.find(query).count()
        mine = await Like.find({**query, "user_id": oid(hub)}).count()
        assert item["liked_by_me"] is bool(mine)
    assert sum(i["likes"] for i in posts) > 0
    assert sum(i["comments"] for i in items if i["comments"]) > 0


async def test_the_feed_reads_only_the_most_recent_follows_beyond_its_cap() -> None:
    async with serve(make_settings(feed_max_follows=1)) as http:
        api = Api(http)
        fan, older, newer = [await api.user(city="Paris") for _ in range(3)]
        for athlete in (older, newer):
            await api.athlete(athlete)
            await api.follow(fan, athlete)
            await run(api, athlete, 1)
        shown = {i["actor"]["id"] for i in await whole_feed(http, fan)}
        assert shown == {newer.id}

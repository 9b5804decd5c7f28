"""Notifications (issue 10 §5): created by the social and gamification hooks, never for your own
actions nor between blocked users, listed newest first with an unread count, marked read,
kept 90 days (TTL), exact under concurrent likes, removed with the accounts involved."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import time_machine
from beanie import PydanticObjectId
from bson import ObjectId

from documents import Block, Comment, FriendRequest, Like, Notification, Post
from documents.clock import utcnow
from documents.post import like_id
from documents.social import Friendship, block_id, pair_key
from service import events
from service.notifications import service as notifications
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

URL = "/users/me/notifications"


async def listed(client: httpx.AsyncClient, who: Account, **params: Any) -> dict[str, Any]:
    r = await client.get(URL, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def stored_post(author: Account, visibility: str = "public") -> Post:
    return await Post(
        user_id=PydanticObjectId(author.id), text="hi", visibility=visibility
    ).insert()


async def like(post: Post, who: Account) -> Like:
    """A like stored and announced as service.likes does."""
    liker = PydanticObjectId(who.id)
    row = Like(
        id=like_id("post", post.id, liker),  # type: ignore[arg-type]
        subject_kind="post",
        subject_id=post.id,  # type: ignore[arg-type]
        subject_owner_id=post.user_id,
        user_id=liker,
    )
    await events.like_added.emit(like=row)
    return row


async def comment(post: Post, who: Account, text: str = "Nice run!") -> Comment:
    row = await Comment(
        subject_kind="post",
        subject_id=post.id,  # type: ignore[arg-type]
        subject_owner_id=post.user_id,
        user_id=PydanticObjectId(who.id),
        text=text,
    ).insert()
    await events.comment_added.emit(comment=row)
    return row


async def block(blocker: Account, blocked: Account) -> None:
    a, b = PydanticObjectId(blocker.id), PydanticObjectId(blocked.id)
    await Block(id=block_id(a, b), blocker_id=a, blocked_id=b).insert()
    await events.user_blocked.emit(blocker_id=a, blocked_id=b, at=utcnow())


async def test_a_team_invitation_notifies_the_invitee(api: Api, client: httpx.AsyncClient) -> None:
    owner, invitee = await api.user("Olga Owner"), await api.user()
    team = await api.team(owner, "Night Owls")
    invitation = await api.invite(owner, team["id"], invitee)

    page = await listed(client, invitee)
    assert page["unread_count"] == 1
    assert page["unread_count_capped"] is False
    assert page["total"] == 1
    (item,) = page["items"]
    assert item["kind"] == "team_invitation"
    assert item["actor"] == {"id": owner.id, "name": "Olga Owner"}
    assert item["subject"] == {"kind": "team", "id": team["id"]}
    assert item["data"] == {"invitation_id": invitation["id"], "team_name": "Night Owls"}
    assert item["read"] is False
    assert (await listed(client, owner))["items"] == []  # the sender hears nothing


async def test_likes_and_comments_notify_the_owner_but_not_for_their_own(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner, fan = await api.user(), await api.user("Fan")
    post = await stored_post(owner)
    await like(post, fan)
    await like(post, owner)  # their own: nothing
    said = await comment(post, fan, "x" * 500)
    await comment(post, owner)  # their own: nothing

    items = (await listed(client, owner))["items"]
    assert [i["kind"] for i in items] == ["comment", "like"]  # newest first
    assert all(i["actor"] == {"id": fan.id, "name": "Fan"} for i in items)
    assert all(i["subject"] == {"kind": "post", "id": str(post.id)} for i in items)
    assert items[0]["data"]["comment_id"] == str(said.id)
    assert len(items[0]["data"]["excerpt"]) == notifications.EXCERPT_CHARS
    assert (await listed(client, fan))["items"] == []

    # deleting the comment removes its notification
    await events.comment_deleted.emit(comment=said)
    assert [i["kind"] for i in (await listed(client, owner))["items"]] == ["like"]


async def test_a_like_notifies_once_per_like_even_after_unlike_and_relike(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner, fan = await api.user(), await api.user()
    post = await stored_post(owner)
    row = await like(post, fan)
    await events.like_removed.emit(like=row)
    await like(post, fan)
    page = await listed(client, owner)
    assert [i["kind"] for i in page["items"]] == ["like"]
    assert page["unread_count"] == 1


async def test_friend_requests_and_acceptances_notify(api: Api, client: httpx.AsyncClient) -> None:
    asker, asked = await api.user("Asker"), await api.user("Asked")
    a, b = PydanticObjectId(asker.id), PydanticObjectId(asked.id)
    request = await FriendRequest(from_id=a, to_id=b, pair=pair_key(a, b)).insert()
    await events.friend_request_sent.emit(request=request)
    await FriendRequest.get_motor_collection().delete_one({"_id": request.id})
    friendship = await Friendship(id=pair_key(a, b), users=[a, b]).insert()
    await events.friendship_started.emit(
        friendship=friendship, requester_id=a, accepter_id=b, at=friendship.since
    )
    (received,) = (await listed(client, asked))["items"]
    assert received["kind"] == "friend_request"
    assert received["actor"]["id"] == asker.id
    assert received["subject"] == {"kind": "friend_request", "id": str(request.id)}
    (accepted,) = (await listed(client, asker))["items"]
    assert accepted["kind"] == "friend_accepted"
    assert accepted["actor"] == {"id": asked.id, "name": "Asked"}


async def test_nothing_from_blocked_users_either_way_and_a_block_clears_the_pair(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner, fan, other = await api.user(), await api.user(), await api.user()
    post = await stored_post(owner)
    await like(post, fan)
    await like(post, other)
    await block(owner, fan)  # removes what fan caused owner
    assert [i["actor"]["id"] for i in (await listed(client, owner))["items"]] == [other.id]

    await comment(post, fan)  # blocked by the owner: nothing
    await like(await stored_post(fan), owner)  # to the one they blocked: nothing either
    assert (await listed(client, fan))["unread_count"] == 0
    await block(other, owner)  # the other way round: removes other's like for owner
    await comment(post, other)  # and other's comments now notify nobody
    page = await listed(client, owner)
    assert page["items"] == []
    assert page["unread_count"] == 0


async def test_list_filters_pages_and_marks_read(api: Api, client: httpx.AsyncClient) -> None:
    owner, stranger = await api.user(), await api.user()
    post = await stored_post(owner)
    fans = [await api.user() for _ in range(5)]
    for fan in fans:
        await like(post, fan)

    first = await listed(client, owner, limit=2)
    assert [i["actor"]["id"] for i in first["items"]] == [fans[4].id, fans[3].id]
    assert first["total"] == 5
    rest = await listed(client, owner, limit=10, after=first["next"])
    assert [i["actor"]["id"] for i in rest["items"]] == [f.id for f in reversed(fans[:3])]
    assert rest["next"] is None

    ids = [i["id"] for i in first["items"]]
    r = await client.post(f"{URL}/read", json={"ids": ids}, headers=stranger.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"marked": 0, "unread_count": 0, "unread_count_capped": False}
    r = await client.post(f"{URL}/read", json={"ids": [*ids, ids[0]]}, headers=owner.headers)
    assert r.json() == {"marked": 2, "unread_count": 3, "unread_count_capped": False}
    r = await client.post(f"{URL}/read", json={"ids": ids}, headers=owner.headers)
    assert r.json()["marked"] == 0  # already read

    unread = await listed(client, owner, unread="true")
    assert [i["actor"]["id"] for i in unread["items"]] == [f.id for f in reversed(fans[:3])]
    assert unread["total"] == unread["unread_count"] == 3
    read = await listed(client, owner, unread="false")
    assert [i["id"] for i in read["items"]] == ids
    assert all(i["read"] for i in read["items"])

    r = await client.post(f"{URL}/read", json={"all": True}, headers=owner.headers)
    assert r.json() == {"marked": 3, "unread_count": 0, "unread_count_capped": False}
    assert (await listed(client, owner, unread="true"))["items"] == []


async def test_requires_login_and_valid_input(api: Api, client: httpx.AsyncClient) -> None:
    owner, fan = await api.user(), await api.user()
    await like(await stored_post(owner), fan)
    assert_problem(await client.get(URL), 401)
    assert_problem(await client.post(f"{URL}/read", json={"all": True}), 401)
    for params in ({"unread": "maybe"}, {"limit": 0}, {"limit": 101}, {"after": "garbage"}):
        assert_problem(await client.get(URL, params=params, headers=owner.headers), 422)
    for body in (
        {},
        {"all": False},
        {"all": True, "ids": [str(ObjectId())]},
        {"ids": []},
        {"ids": ["not-an-id"]},
        {"ids": [str(ObjectId()) for _ in range(101)]},
        {"all": True, "extra": 1},
    ):
        r = await client.post(f"{URL}/read", json=body, headers=owner.headers)
        assert_problem(r, 422)
    assert (await listed(client, owner))["unread_count"] == 1  # nothing changed


async def test_unread_count_is_capped(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    me = PydanticObjectId(owner.id)
    cap = notifications.UNREAD_COUNT_CAP
    rows = [
        {"user_id": me, "kind": "like", "data": {}, "created_at": utcnow(), "read": False}
        for _ in range(cap + 1)
    ]
    await Notification.get_motor_collection().insert_many(rows)
    page = await listed(client, owner, limit=1)
    assert page["unread_count"] == cap
    assert page["unread_count_capped"] is True
    await Notification.get_motor_collection().delete_one({"user_id": me})
    page = await listed(client, owner, limit=1)
    assert (page["unread_count"], page["unread_count_capped"]) == (cap, False)


async def test_kept_90_days_by_a_ttl_index(client: httpx.AsyncClient) -> None:
    indexes = await Notification.get_motor_collection().index_information()
    ttl = indexes["created_ttl"]
    assert ttl["key"] == [("created_at", 1)]
    assert ttl["expireAfterSeconds"] == 90 * 86400


@pytest.mark.usefixtures("yielding_database")
async def test_30_concurrent_likes_make_30_notifications(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    post = await stored_post(owner)
    fans = [await api.user() for _ in range(30)]
    await asyncio.gather(*(like(post, fan) for fan in fans))
    await asyncio.gather(*(like(post, fan) for fan in fans[:10]))  # again: no more
    page = await listed(client, owner, limit=100)
    assert page["unread_count"] == page["total"] == 30
    assert {i["actor"]["id"] for i in page["items"]} == {f.id for f in fans}


async def test_badges_challenges_and_goals_notify_the_user(
    api: Api, client: httpx.AsyncClient, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(datetime(2025, 6, 11, 12, 0, tzinfo=UTC), tick=False)  # a Wednesday
    runner = await api.user(city="Paris")
    r = await client.put("/users/me/goals/runs", json={"target": 1}, headers=runner.headers)
    assert r.status_code == 200, r.text
    challenge = {
        "title": "June 5",
        "metric": "distance_km",
        "goal": 5,
        "starts_at": "2025-06-09T00:00:00Z",
        "ends_at": "2025-06-20T00:00:00Z",
        "scope": "public",
        "mode": "individual",
        "xp_reward": 10,
    }
    r = await client.post("/challenges", json=challenge, headers=runner.headers)
    assert r.status_code == 201, r.text
    challenge_id = r.json()["id"]
    r = await client.post(f"/challenges/{challenge_id}/participants", headers=runner.headers)
    assert r.status_code == 201, r.text
    await api.run(runner, started_at="2025-06-10T07:00:00Z")
    items = (await listed(client, runner, limit=100))["items"]
    kinds = {i["kind"] for i in items}
    assert kinds == {"badge_earned", "goal_met", "challenge_completed"}
    done = next(i for i in items if i["kind"] == "challenge_completed")
    assert done["subject"] == {"kind": "challenge", "id": challenge_id}
    assert done["data"] == {"title": "June 5"}
    assert all(i["actor"] is None for i in items)
    goal = next(i for i in items if i["kind"] == "goal_met")
    assert goal["data"] == {"metric": "runs", "week": "2025-06-09", "target": 1.0, "value": 1.0}
    badge = next(i for i in items if i["data"].get("key") == "first-run")
    assert badge["subject"]["kind"] == "badge"
    assert badge["data"]["title"] == "First run"


async def test_deleting_an_account_removes_what_it_received_and_caused(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner, fan, other = await api.user(), await api.user(), await api.user()
    await like(await stored_post(owner), fan)
    await like(await stored_post(owner), other)
    await like(await stored_post(fan), owner)
    r = await client.delete("/users/me", headers=fan.headers)
    assert r.status_code == 204, r.text
    items = (await listed(client, owner))["items"]
    assert [i["actor"]["id"] for i in items] == [other.id]
    left = await Notification.get_motor_collection().count_documents({})
    assert left == 1

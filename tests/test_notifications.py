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

from documents import Block, Comment, Like, Notification
from documents.clock import utcnow
from documents.post import like_id
from documents.social import block_id
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


def kinds(page: dict[str, Any]) -> list[str]:
    return [i["kind"] for i in page["items"]]


class Social:
    """Posts, likes, comments, friends and blocks through their endpoints."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(self, author: Account, visibility: str = "public") -> str:
        r = await self.client.post(
            "/posts", json={"text": "hi", "visibility": visibility}, headers=author.headers
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def like(self, post_id: str, who: Account, status: int = 204) -> None:
        r = await self.client.put(f"/posts/{post_id}/likes", headers=who.headers)
        assert r.status_code == status, r.text

    async def unlike(self, post_id: str, who: Account) -> None:
        r = await self.client.delete(f"/posts/{post_id}/likes", headers=who.headers)
        assert r.status_code == 204, r.text

    async def comment(self, post_id: str, who: Account, text: str = "Nice run!") -> str:
        r = await self.client.post(
            f"/posts/{post_id}/comments", json={"text": text}, headers=who.headers
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def block(self, blocker: Account, blocked: Account) -> None:
        r = await self.client.put(f"/users/me/blocks/{blocked.id}", headers=blocker.headers)
        assert r.status_code == 204, r.text

    async def ask(self, asker: Account, asked: Account) -> str:
        r = await self.client.post(
            "/friends/requests", json={"user_id": asked.id}, headers=asker.headers
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture
def social(client: httpx.AsyncClient) -> Social:
    return Social(client)


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
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, fan = await api.user(), await api.user("Fan")
    post_id = await social.post(owner)
    await social.like(post_id, fan)
    await social.like(post_id, owner)  # their own: nothing
    said = await social.comment(post_id, fan, "x" * 500)
    await social.comment(post_id, owner)  # their own: nothing

    items = (await listed(client, owner))["items"]
    assert [i["kind"] for i in items] == ["comment", "like"]  # newest first
    assert all(i["actor"] == {"id": fan.id, "name": "Fan"} for i in items)
    assert all(i["subject"] == {"kind": "post", "id": post_id} for i in items)
    assert items[0]["data"]["comment_id"] == said
    assert len(items[0]["data"]["excerpt"]) == notifications.EXCERPT_CHARS
    assert (await listed(client, fan))["items"] == []

    # deleting the comment removes its notification
    r = await client.delete(f"/comments/{said}", headers=fan.headers)
    assert r.status_code == 204, r.text
    assert kinds(await listed(client, owner)) == ["like"]


async def test_likes_on_runs_notify_too(api: Api, client: httpx.AsyncClient) -> None:
    runner, fan = await api.user(city="Paris"), await api.user()
    run = await api.run(runner)
    r = await client.put(f"/runs/{run['id']}/likes", headers=fan.headers)
    assert r.status_code == 204, r.text
    items = [i for i in (await listed(client, runner))["items"] if i["kind"] == "like"]
    assert [i["subject"] for i in items] == [{"kind": "run", "id": run["id"]}]


async def test_deleting_a_post_or_run_removes_the_notifications_about_it(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, fan = await api.user(city="Paris"), await api.user()
    post_id, kept = await social.post(owner), await social.post(owner)
    run = await api.run(owner)
    await social.like(post_id, fan)
    await social.comment(post_id, fan)
    await social.like(kept, fan)
    r = await client.put(f"/runs/{run['id']}/likes", headers=fan.headers)
    assert r.status_code == 204, r.text

    assert (await client.delete(f"/posts/{post_id}", headers=owner.headers)).status_code == 204
    assert (await client.delete(f"/runs/{run['id']}", headers=owner.headers)).status_code == 204
    items = [i for i in (await listed(client, owner))["items"] if i["actor"] is not None]
    assert [(i["kind"], i["subject"]["id"]) for i in items] == [("like", kept)]


async def test_a_like_notifies_once_even_after_unlike_and_relike(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, fan = await api.user(), await api.user()
    post_id = await social.post(owner)
    await social.like(post_id, fan)
    await social.unlike(post_id, fan)
    await social.like(post_id, fan)
    page = await listed(client, owner)
    assert kinds(page) == ["like"]
    assert page["unread_count"] == 1


async def test_friend_requests_and_acceptances_notify(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    asker, asked = await api.user("Asker"), await api.user("Asked")
    request_id = await social.ask(asker, asked)
    (received,) = (await listed(client, asked))["items"]
    assert received["kind"] == "friend_request"
    assert received["actor"] == {"id": asker.id, "name": "Asker"}
    assert received["subject"] == {"kind": "friend_request", "id": request_id}
    assert (await listed(client, asker))["items"] == []

    r = await client.post(f"/friends/requests/{request_id}/accept", headers=asked.headers)
    assert r.status_code in (200, 201), r.text
    (accepted,) = (await listed(client, asker))["items"]
    assert accepted["kind"] == "friend_accepted"
    assert accepted["actor"] == {"id": asked.id, "name": "Asked"}
    assert accepted["subject"] == {"kind": "user", "id": asked.id}
    assert kinds(await listed(client, asked)) == ["friend_request"]  # nothing for accepting


async def test_a_block_clears_the_pairs_notifications_both_ways(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, fan, other = await api.user(), await api.user(), await api.user()
    post_id = await social.post(owner)
    fans_post = await social.post(fan)
    await social.like(post_id, fan)
    await social.like(post_id, other)
    await social.like(fans_post, owner)
    await social.block(fan, owner)  # the blocked one's notifications from the blocker go too
    assert [i["actor"]["id"] for i in (await listed(client, owner))["items"]] == [other.id]
    assert (await listed(client, fan))["items"] == []
    await social.like(post_id, fan, status=403)  # and no new ones: refused
    assert (await listed(client, owner))["unread_count"] == 1


async def test_nothing_is_created_between_blocked_users_whoever_announces_it(
    api: Api, client: httpx.AsyncClient
) -> None:
    """The check at creation: an event announced between a blocked pair (a like stored just
    before the block, announced just after) notifies nobody, in either direction."""
    owner, fan = await api.user(), await api.user()
    a, b = PydanticObjectId(owner.id), PydanticObjectId(fan.id)
    await Block(id=block_id(b, a), blocker_id=b, blocked_id=a).insert()  # fan blocked owner
    subject = PydanticObjectId()
    await events.like_added.emit(
        like=Like(
            id=like_id("post", subject, b),
            subject_kind="post",
            subject_id=subject,
            subject_owner_id=a,
            user_id=b,
        )
    )
    comment = Comment(
        id=PydanticObjectId(),
        subject_kind="post",
        subject_id=subject,
        subject_owner_id=b,
        user_id=a,
        text="hi",
    )
    await events.comment_added.emit(comment=comment)
    assert await Notification.get_motor_collection().count_documents({}) == 0


async def test_list_filters_pages_and_marks_read(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, stranger = await api.user(), await api.user()
    post_id = await social.post(owner)
    fans = [await api.user() for _ in range(5)]
    for fan in fans:
        await social.like(post_id, fan)

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


async def test_requires_login_and_valid_input(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, fan = await api.user(), await api.user()
    await social.like(await social.post(owner), fan)
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
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner = await api.user()
    post_id = await social.post(owner)
    fans = [await api.user() for _ in range(30)]
    await asyncio.gather(*(social.like(post_id, fan) for fan in fans))
    await asyncio.gather(*(social.like(post_id, fan) for fan in fans[:10]))  # again: no more
    page = await listed(client, owner, limit=100)
    assert page["unread_count"] == page["total"] == 30
    assert {i["actor"]["id"] for i in page["items"]} == {f.id for f in fans}
    post = (await client.get(f"/posts/{post_id}", headers=owner.headers)).json()
    assert post["likes"] == 30


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
    assert {i["kind"] for i in items} == {"badge_earned", "goal_met", "challenge_completed"}
    assert all(i["actor"] is None for i in items)
    done = next(i for i in items if i["kind"] == "challenge_completed")
    assert done["subject"] == {"kind": "challenge", "id": challenge_id}
    assert done["data"] == {"title": "June 5"}
    goal = next(i for i in items if i["kind"] == "goal_met")
    assert goal["data"] == {"metric": "runs", "week": "2025-06-09", "target": 1.0, "value": 1.0}
    badge = next(i for i in items if i["data"].get("key") == "first-run")
    assert badge["subject"]["kind"] == "badge"
    assert badge["data"]["title"] == "First run"


async def test_deleting_an_account_removes_what_it_received_and_caused(
    api: Api, client: httpx.AsyncClient, social: Social
) -> None:
    owner, fan, other = await api.user(), await api.user(), await api.user()
    await social.like(await social.post(owner), fan)
    await social.like(await social.post(owner), other)
    await social.like(await social.post(fan), owner)
    r = await client.delete("/users/me", headers=fan.headers)
    assert r.status_code == 204, r.text
    items = (await listed(client, owner))["items"]
    assert [i["actor"]["id"] for i in items] == [other.id]
    assert await Notification.get_motor_collection().count_documents({}) == 1


async def test_the_demo_gives_the_hub_its_recent_notifications_once(
    client: httpx.AsyncClient, api: Api
) -> None:
    """The demo writes likes, comments and requests without the hooks: runner001 still finds
    them in their notifications (older half read), as the listeners would have made them."""
    from documents import FriendRequest, Friendship
    from documents.social import pair_key
    from service.demo.notifications import load_notifications
    from service.demo.social import load_social
    from service.demo.users import DemoUser

    hub, *friends = [await api.user(city="Paris") for _ in range(4)]
    stranger = await api.user(city="Paris")
    ids = [PydanticObjectId(a.id) for a in (hub, *friends)]
    for friend in ids[1:]:
        await Friendship(id=pair_key(ids[0], friend), users=[ids[0], friend]).insert()
    users = [DemoUser(PydanticObjectId(a.id), a.name, a.email) for a in (hub, *friends)]
    await load_social(seed=7, users=users)
    await FriendRequest(
        from_id=PydanticObjectId(stranger.id),
        to_id=ids[0],
        pair=pair_key(PydanticObjectId(stranger.id), ids[0]),
    ).insert()

    made = await load_notifications(users=users)
    likes = await Like.find({"subject_owner_id": ids[0], "user_id": {"$ne": ids[0]}}).count()
    comments = await Comment.find({"subject_owner_id": ids[0], "user_id": {"$ne": ids[0]}}).count()
    assert likes > 0
    assert made["notifications"] == likes + comments + 1
    assert await load_notifications(users=users) == made  # upserted by event key
    assert await Notification.find().count() == made["notifications"]

    page = await listed(client, hub, limit=100)
    assert sorted(kinds(page)) == sorted(
        ["like"] * likes + ["comment"] * comments + ["friend_request"]
    )
    assert page["unread_count"] == made["notifications"] - made["notifications"] // 2
    request = next(i for i in page["items"] if i["kind"] == "friend_request")
    assert request["actor"]["id"] == stranger.id
    for friend in friends:  # nobody else got any
        assert (await listed(client, friend))["items"] == []

"""Social endpoints probed like a hostile or clumsy client (issue 10): malformed ids, control
characters, texts over the limits, unknown fields, wrong types, garbage cursors and limits,
bad privacy zones... Every bad input is a 4xx problem+json and changes nothing stored."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import User
from documents.feed import FeedItem
from documents.notification import Notification
from documents.post import Comment, Like, Post
from documents.report import Report
from documents.social import Block, FriendRequest, Friendship
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.posts_world import befriend, block, post, workout

COLLECTIONS = (
    Post,
    Comment,
    Like,
    Friendship,
    FriendRequest,
    Block,
    Notification,
    Report,
    FeedItem,
)


async def snapshot() -> dict[str, Any]:
    """Every social collection's rows and every user's social fields: what a probe must not move."""
    state: dict[str, Any] = {}
    for doc in COLLECTIONS:
        rows = await doc.get_motor_collection().find({}).to_list(None)
        state[doc.__name__] = sorted(repr(sorted(r.items(), key=lambda kv: kv[0])) for r in rows)
    users = await User.get_motor_collection().find({}).to_list(None)
    state["users"] = sorted(
        repr(
            (
                u["_id"],
                u.get("privacy_zones"),
                u.get("friends_count"),
                u.get("default_visibility"),
            )
        )
        for u in users
    )
    return state


class World:
    owner: Account
    fan: Account
    stranger: Account
    blocked: Account
    admin: Account
    post: dict[str, Any]
    run: dict[str, Any]
    workout: dict[str, Any]
    comment: dict[str, Any]
    private_run: dict[str, Any]


async def world(client: httpx.AsyncClient, api: Api) -> World:
    w = World()
    w.owner = await api.user("Owner", city="Paris")
    w.fan = await api.user("Fan")
    w.stranger = await api.user("Stranger")
    w.blocked = await api.user("Blocked")
    w.admin = await api.admin()
    await befriend(w.owner, w.fan)
    await block(w.owner, w.blocked)
    w.post = await post(client, w.owner, "Hello")
    w.run = await api.run(w.owner)
    w.private_run = await api.run(w.owner, visibility="private", started_at="2024-01-02T07:00:00Z")
    w.workout = await workout(client, w.owner)
    r = await client.post(
        f"/posts/{w.post['id']}/comments", json={"text": "nice"}, headers=w.fan.headers
    )
    assert r.status_code == 201, r.text
    w.comment = r.json()
    r = await client.put(f"/posts/{w.post['id']}/likes", headers=w.fan.headers)
    assert r.status_code == 204
    return w


BAD_IDS = ["abc", "0" * 25, "%00", "6" * 23 + "g"]
NUL_TEXTS = ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb"]
OVER_LIMIT_POST = "x" * 5001
OVER_LIMIT_COMMENT = "x" * 2001


def _tamper(cursor: str) -> str:
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw["v"] = ["nonsense", {"$gt": 1}]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


async def test_malformed_ids_are_404_or_422_and_store_nothing(
    client: httpx.AsyncClient, api: Api
) -> None:
    w = await world(client, api)
    before = await snapshot()
    h = w.fan.headers
    for bad in BAD_IDS:
        probes: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", f"/posts/{bad}", None),
            ("PATCH", f"/posts/{bad}", {"text": "x"}),
            ("DELETE", f"/posts/{bad}", None),
            ("GET", f"/users/{bad}/posts", None),
            ("GET", f"/users/{bad}/friends", None),
            ("PATCH", f"/comments/{bad}", {"text": "x"}),
            ("DELETE", f"/comments/{bad}", None),
            ("POST", "/friends/requests", {"user_id": bad}),
            ("POST", f"/friends/requests/{bad}/accept", None),
            ("POST", f"/friends/requests/{bad}/decline", None),
            ("DELETE", f"/friends/requests/{bad}", None),
            ("DELETE", f"/users/me/friends/{bad}", None),
            ("PUT", f"/users/me/blocks/{bad}", None),
            ("DELETE", f"/users/me/blocks/{bad}", None),
            ("POST", "/reports", {"subject": {"kind": "post", "id": bad}, "reason": "spam"}),
            ("POST", "/posts", {"text": "x", "run_id": bad}),
            ("POST", "/posts", {"text": "x", "workout_id": bad}),
            ("POST", "/users/me/notifications/read", {"ids": [bad]}),
        ]
        for kind in ("posts", "runs", "workouts"):
            probes += [
                ("GET", f"/{kind}/{bad}/comments", None),
                ("POST", f"/{kind}/{bad}/comments", {"text": "x"}),
                ("GET", f"/{kind}/{bad}/likes", None),
                ("PUT", f"/{kind}/{bad}/likes", None),
                ("DELETE", f"/{kind}/{bad}/likes", None),
            ]
        for method, path, body in probes:
            r = await client.request(method, path, json=body, headers=h)
            assert r.status_code in (404, 422), (method, path, r.status_code, r.text)
            assert_problem(r, r.status_code)
    # unknown (well-formed) ids are 404s
    unknown = str(PydanticObjectId())
    for method, path in [
        ("GET", f"/posts/{unknown}"),
        ("POST", f"/friends/requests/{unknown}/accept"),
        ("PUT", f"/runs/{unknown}/likes"),
        ("GET", f"/workouts/{unknown}/comments"),
        ("PUT", f"/users/me/blocks/{unknown}"),
    ]:
        assert_problem(await client.request(method, path, headers=h), 404)
    assert await snapshot() == before


async def test_bad_texts_and_bodies_are_422_and_store_nothing(
    client: httpx.AsyncClient, api: Api
) -> None:
    w = await world(client, api)
    before = await snapshot()
    h = w.fan.headers
    oh = w.owner.headers
    bodies: list[tuple[str, str, dict[str, str], Any]] = []
    for text in [*NUL_TEXTS, "", "   ", OVER_LIMIT_POST]:
        bodies.append(("POST", "/posts", h, {"text": text}))
        bodies.append(("PATCH", f"/posts/{w.post['id']}", oh, {"text": text}))
    for text in [*NUL_TEXTS, "", " \n ", OVER_LIMIT_COMMENT]:
        for kind, sid in (("posts", w.post), ("runs", w.run), ("workouts", w.workout)):
            bodies.append(("POST", f"/{kind}/{sid['id']}/comments", h, {"text": text}))
        bodies.append(("PATCH", f"/comments/{w.comment['id']}", h, {"text": text}))
    bodies += [
        ("POST", "/posts", h, {"text": "x", "visibility": "Public"}),
        ("POST", "/posts", h, {"text": "x", "extra": 1}),
        ("POST", "/posts", h, {"text": 5}),
        ("POST", "/posts", h, {"text": ["x"]}),
        ("POST", "/posts", h, ["x"]),
        ("POST", "/posts", h, "x"),
        ("POST", "/posts", h, {"text": "x", "run_id": w.run["id"], "workout_id": w.workout["id"]}),
        ("PATCH", f"/posts/{w.post['id']}", oh, {"visibility": "Public"}),
        ("PATCH", f"/posts/{w.post['id']}", oh, {"author": "me"}),
        ("PATCH", f"/comments/{w.comment['id']}", h, {"text": "x", "subject_id": "y"}),
        ("PATCH", f"/runs/{w.run['id']}", oh, {"visibility": "Public"}),
        ("PATCH", f"/runs/{w.run['id']}", oh, {"visibility": None}),
        ("PATCH", f"/runs/{w.run['id']}", oh, {"hide_route": "maybe"}),
        ("PATCH", "/users/me", oh, {"default_visibility": "everyone"}),
        ("POST", "/friends/requests", h, {}),
        ("POST", "/friends/requests", h, {"user_id": w.stranger.id, "extra": True}),
        ("POST", "/friends/requests", h, {"user_id": 5}),
        ("POST", "/reports", h, {"subject": {"kind": "run", "id": w.run["id"]}, "reason": "x"}),
        ("POST", "/reports", h, {"subject": {"kind": "post", "id": w.post["id"]}, "reason": ""}),
        (
            "POST",
            "/reports",
            h,
            {"subject": {"kind": "post", "id": w.post["id"]}, "reason": "a\x00"},
        ),
        ("POST", "/reports", h, {"subject": {"kind": "post", "id": w.post["id"]}}),
        ("POST", "/users/me/notifications/read", oh, {}),
        ("POST", "/users/me/notifications/read", oh, {"ids": [], "all": False}),
        ("POST", "/users/me/notifications/read", oh, {"ids": []}),
        ("POST", "/users/me/notifications/read", oh, {"all": False}),
        ("POST", "/users/me/notifications/read", oh, {"all": "yes"}),
        ("POST", "/users/me/notifications/read", oh, {"ids": [str(PydanticObjectId())] * 101}),
        (
            "POST",
            "/users/me/notifications/read",
            oh,
            {"ids": [str(PydanticObjectId())], "all": True},
        ),
    ]
    zone = {"center": [2.35, 48.85], "radius_m": 500}
    for zones in [
        [zone] * 6,
        [{**zone, "radius_m": 99}],
        [{**zone, "radius_m": 2001}],
        [{**zone, "radius_m": 500.5}],
        [{**zone, "center": [181, 0]}],
        [{**zone, "center": [0, -91]}],
        [{**zone, "center": [0]}],
        [{**zone, "center": [0, 0, 0]}],
        [{**zone, "center": ["a", "b"]}],
        [{**zone, "extra": 1}],
        [{"radius_m": 500}],
        {"center": [0, 0], "radius_m": 500},
        None,
    ]:
        bodies.append(("PUT", "/users/me/privacy-zones", oh, zones))
    wrong = []
    for method, path, headers, body in bodies:
        r = await client.request(method, path, json=body, headers=headers)
        if r.status_code != 422:
            wrong.append((method, path, str(body)[:80], r.status_code, r.text[:200]))
        else:
            assert_problem(r, 422)
    assert wrong == []
    # JSON that is not JSON: NaN, Infinity (1e999) and a lone surrogate escape
    for raw in (
        b'[{"center": [NaN, 0], "radius_m": 500}]',
        b'[{"center": [1e999, 0], "radius_m": 500}]',
        b'[{"center": [0, Infinity], "radius_m": 500}]',
        b'[{"center": [0, 0], "radius_m": 1e999}]',
    ):
        r = await client.put(
            "/users/me/privacy-zones",
            content=raw,
            headers={**oh, "Content-Type": "application/json"},
        )
        assert_problem(r, 422)
    for raw in (b'{"text": "\\ud800"}', b'{"text": "a\\u0000b"}', b'{"text": '):
        r = await client.post(
            "/posts", content=raw, headers={**h, "Content-Type": "application/json"}
        )
        assert_problem(r, 422)
    assert await snapshot() == before


async def test_texts_at_the_limits_are_stored(client: httpx.AsyncClient, api: Api) -> None:
    w = await world(client, api)
    r = await client.post("/posts", json={"text": "x" * 5000}, headers=w.fan.headers)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/posts/{w.post['id']}/comments", json={"text": "é" * 2000}, headers=w.fan.headers
    )
    assert r.status_code == 201, r.text
    # the limits count the characters stored (no normalization that could grow a text past them)
    r = await client.post(
        f"/posts/{w.post['id']}/comments", json={"text": "\ufb01" * 2000}, headers=w.fan.headers
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["text"]) == 2000
    before = await snapshot()
    r = await client.post(
        f"/posts/{w.post['id']}/comments", json={"text": "e\u0301" * 1001}, headers=w.fan.headers
    )
    assert_problem(r, 422)
    assert await snapshot() == before


async def test_paging_probes(client: httpx.AsyncClient, api: Api) -> None:
    w = await world(client, api)
    for _ in range(3):
        await post(client, w.owner, "more")
    before = await snapshot()
    h = w.owner.headers
    lists = [
        ("/feed", "cursor", "next_cursor"),
        (f"/users/{w.owner.id}/posts", "after", "next"),
        (f"/posts/{w.post['id']}/comments", "after", "next"),
        (f"/posts/{w.post['id']}/likes", "after", "next"),
        ("/users/me/notifications", "after", "next"),
        (f"/users/{w.owner.id}/friends", "after", "next"),
        ("/users/me/blocks", "after", "next"),
        ("/users/me/friends/requests", "after", "next"),
    ]
    real_cursors: dict[str, str] = {}
    for path, _, next_key in lists:
        r = await client.get(path, params={"limit": 1}, headers=h)
        assert r.status_code == 200, (path, r.text)
        nxt = r.json().get(next_key)
        if nxt:
            real_cursors[path] = nxt
    assert "/feed" in real_cursors
    assert f"/users/{w.owner.id}/posts" in real_cursors
    for path, cursor_name, _ in lists:
        for params in (
            {"limit": 0},
            {"limit": -1},
            {"limit": 1000},
            {"limit": "ten"},
            {cursor_name: "garbage"},
            {cursor_name: "%00"},
            {cursor_name: "x" * 5000},
            {cursor_name: base64.urlsafe_b64encode(b'{"k": 1}').decode()},
            {cursor_name: base64.urlsafe_b64encode(b"[]").decode()},
        ):
            r = await client.get(path, params=params, headers=h)
            assert r.status_code == 422, (path, params, r.status_code, r.text)
            assert_problem(r, 422)
        for other, cursor in real_cursors.items():
            if other == path:
                continue
            r = await client.get(path, params={cursor_name: cursor}, headers=h)
            # another list's cursor is refused, or (same sort keys) reads as a position
            assert r.status_code in (200, 422), (path, other, r.text)
        if path in real_cursors:
            r = await client.get(path, params={cursor_name: _tamper(real_cursors[path])}, headers=h)
            assert r.status_code == 422, (path, r.status_code, r.text)
    for params in ({"unread": "maybe"}, {"unread": ""}, {"unread": "2"}):
        r = await client.get("/users/me/notifications", params=params, headers=h)
        assert_problem(r, 422)
    r = await client.get("/users/me/friends/requests", params={"direction": "sideways"}, headers=h)
    assert_problem(r, 422)
    assert await snapshot() == before


async def test_deleted_subjects(client: httpx.AsyncClient, api: Api) -> None:
    w = await world(client, api)
    # a report on a deleted post or comment: 404, nothing stored
    r = await client.delete(f"/comments/{w.comment['id']}", headers=w.fan.headers)
    assert r.status_code == 204
    r = await client.delete(f"/posts/{w.post['id']}", headers=w.owner.headers)
    assert r.status_code == 204
    r = await client.delete(f"/runs/{w.run['id']}", headers=w.owner.headers)
    assert r.status_code == 204, r.text
    before = await snapshot()
    gone = ({"kind": "post", "id": w.post["id"]}, {"kind": "comment", "id": w.comment["id"]})
    for subject in gone:
        r = await client.post(
            "/reports", json={"subject": subject, "reason": "spam"}, headers=w.stranger.headers
        )
        assert_problem(r, 404)
    # liking / commenting a deleted run or post: 404
    for kind, sid in (("runs", w.run["id"]), ("posts", w.post["id"])):
        assert_problem(await client.put(f"/{kind}/{sid}/likes", headers=w.fan.headers), 404)
        r = await client.post(f"/{kind}/{sid}/comments", json={"text": "x"}, headers=w.fan.headers)
        assert_problem(r, 404)
        assert_problem(await client.get(f"/{kind}/{sid}/likes", headers=w.fan.headers), 404)
        assert_problem(await client.get(f"/{kind}/{sid}/comments", headers=w.fan.headers), 404)
    r = await client.patch(
        f"/comments/{w.comment['id']}", json={"text": "x"}, headers=w.fan.headers
    )
    assert_problem(r, 404)
    assert await snapshot() == before


async def test_cannot_see_is_404_blocked_is_403(client: httpx.AsyncClient, api: Api) -> None:
    w = await world(client, api)
    before = await snapshot()
    pr = w.private_run["id"]
    # a run the viewer may not see: 404 for comments and likes alike
    for who in (w.stranger, w.fan, w.blocked):
        r = await client.post(f"/runs/{pr}/comments", json={"text": "x"}, headers=who.headers)
        assert_problem(r, 404)
        assert_problem(await client.put(f"/runs/{pr}/likes", headers=who.headers), 404)
        assert_problem(await client.get(f"/runs/{pr}/likes", headers=who.headers), 404)
    # a public run the blocked user sees (blocked users still see public things) but may not touch
    r = await client.post(
        f"/runs/{w.run['id']}/comments", json={"text": "x"}, headers=w.blocked.headers
    )
    assert_problem(r, 403)
    assert_problem(await client.put(f"/runs/{w.run['id']}/likes", headers=w.blocked.headers), 403)
    assert_problem(await client.put(f"/posts/{w.post['id']}/likes", headers=w.blocked.headers), 403)
    # someone else's comment: 403 when the viewer sees it, 404 when not
    path = f"/comments/{w.comment['id']}"
    assert_problem(await client.patch(path, json={"text": "x"}, headers=w.stranger.headers), 403)
    assert_problem(await client.delete(path, headers=w.stranger.headers), 403)
    r = await client.patch(f"/posts/{w.post['id']}", json={"text": "x"}, headers=w.fan.headers)
    assert_problem(r, 403)
    # a comment on a friends-only post: strangers get 404 (they may not see it)
    fpost = await post(client, w.owner, "friends only", visibility="friends")
    r = await client.post(
        f"/posts/{fpost['id']}/comments", json={"text": "x"}, headers=w.fan.headers
    )
    assert r.status_code == 201
    before = await snapshot()
    fpath = f"/comments/{r.json()['id']}"
    assert_problem(await client.patch(fpath, json={"text": "y"}, headers=w.stranger.headers), 404)
    assert_problem(await client.delete(fpath, headers=w.stranger.headers), 404)
    assert_problem(await client.delete(fpath, headers=w.blocked.headers), 404)
    r = await client.post(
        "/reports",
        json={"subject": {"kind": "comment", "id": r.json()["id"]}, "reason": "x"},
        headers=w.stranger.headers,
    )
    assert_problem(r, 404)
    assert await snapshot() == before
    _ = before


@pytest.mark.parametrize("unauth", [None, {"Authorization": "Bearer garbage"}])
async def test_unauthenticated_writes_are_401(
    client: httpx.AsyncClient, api: Api, unauth: dict[str, str] | None
) -> None:
    w = await world(client, api)
    before = await snapshot()
    for method, path, body in [
        ("POST", "/posts", {"text": "x"}),
        ("PATCH", f"/posts/{w.post['id']}", {"text": "x"}),
        ("DELETE", f"/posts/{w.post['id']}", None),
        ("POST", f"/posts/{w.post['id']}/comments", {"text": "x"}),
        ("PUT", f"/posts/{w.post['id']}/likes", None),
        ("DELETE", f"/posts/{w.post['id']}/likes", None),
        ("PATCH", f"/comments/{w.comment['id']}", {"text": "x"}),
        ("POST", "/friends/requests", {"user_id": w.owner.id}),
        ("PUT", f"/users/me/blocks/{w.owner.id}", None),
        ("PUT", "/users/me/privacy-zones", []),
        ("GET", "/feed", None),
        ("GET", "/users/me/notifications", None),
        ("POST", "/users/me/notifications/read", {"all": True}),
        ("POST", "/reports", {"subject": {"kind": "post", "id": w.post["id"]}, "reason": "x"}),
    ]:
        r = await client.request(method, path, json=body, headers=unauth)
        assert r.status_code == 401, (method, path, r.text)
        assert_problem(r, 401)
    assert await snapshot() == before

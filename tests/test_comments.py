"""Comments on posts, runs and workouts (issue 10 §3): oldest first, visible with their subject,
edited by their author, deleted by their author, the subject's owner or an admin; counts exact."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents.post import Comment
from service import events
from tests.conftest import assert_problem
from tests.factories import Api
from tests.posts_world import befriend, block, post
from tests.test_likes import stored_count, subject
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)


async def comments_count(kind: str, subject_id: str) -> int:
    from tests.test_likes import DOCUMENTS

    raw = (
        await DOCUMENTS[kind].get_motor_collection().find_one({"_id": PydanticObjectId(subject_id)})
    )
    assert raw is not None
    return int(raw.get("comments_count", 0))


@pytest.mark.parametrize("kind", ["posts", "runs", "workouts"])
async def test_comment_list_edit_delete(client: httpx.AsyncClient, api: Api, kind: str) -> None:
    owner = await api.user("Owner", city="Paris")
    fan = await api.user("Fan")
    sid = await subject(client, api, kind, owner)
    path = f"/{kind}/{sid}/comments"
    first = await client.post(path, json={"text": " Great!\nWell done "}, headers=fan.headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["text"] == "Great!\nWell done"
    assert body["author"] == {"id": fan.id, "name": "Fan"}
    assert body["subject"] == {"kind": kind.rstrip("s"), "id": sid}
    second = await client.post(path, json={"text": "Thanks"}, headers=owner.headers)
    assert second.status_code == 201
    listed = await client.get(path)
    assert [c["text"] for c in listed.json()["items"]] == ["Great!\nWell done", "Thanks"]
    assert await comments_count(kind, sid) == 2
    assert await stored_count(kind, sid) == 0
    r = await client.patch(
        f"/comments/{body['id']}", json={"text": "Great run"}, headers=fan.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "Great run"
    # the subject's owner deletes a comment on their thing; its author deletes their own
    r = await client.delete(f"/comments/{body['id']}", headers=owner.headers)
    assert r.status_code == 204
    r = await client.delete(f"/comments/{second.json()['id']}", headers=owner.headers)
    assert r.status_code == 204
    assert await comments_count(kind, sid) == 0
    assert (await client.get(path)).json()["items"] == []


async def test_who_may_edit_and_delete(client: httpx.AsyncClient, api: Api) -> None:
    owner, fan, other = [await api.user() for _ in range(3)]
    admin = await api.admin()
    p = await post(client, owner)
    c = (
        await client.post(f"/posts/{p['id']}/comments", json={"text": "hi"}, headers=fan.headers)
    ).json()
    path = f"/comments/{c['id']}"
    assert_problem(await client.patch(path, json={"text": "x"}, headers=owner.headers), 403)
    assert_problem(await client.patch(path, json={"text": "x"}, headers=admin.headers), 403)
    assert_problem(await client.delete(path, headers=other.headers), 403)
    assert_problem(await client.patch(path, json={"text": "x"}), 401)
    assert_problem(await client.delete(path), 401)
    for bad in ({"text": ""}, {"text": "x" * 2001}, {"text": None}, {}, {"text": "a\x00"}):
        assert_problem(await client.patch(path, json=bad, headers=fan.headers), 422)
    assert_problem(
        await client.patch("/comments/nope", json={"text": "x"}, headers=fan.headers), 404
    )
    assert_problem(await client.delete(f"/comments/{'0' * 24}", headers=fan.headers), 404)
    assert (await client.delete(path, headers=admin.headers)).status_code == 204
    assert_problem(await client.delete(path, headers=admin.headers), 404)


async def test_who_may_comment_and_read_comments(client: httpx.AsyncClient, api: Api) -> None:
    owner, friend, stranger, blocked = [await api.user() for _ in range(4)]
    await befriend(owner, friend)
    await block(owner, blocked)
    friends_only = await post(client, owner, visibility="friends")
    public = await post(client, owner)
    path = f"/posts/{friends_only['id']}/comments"
    r = await client.post(path, json={"text": "seen"}, headers=friend.headers)
    assert r.status_code == 201
    comment_path = f"/comments/{r.json()['id']}"
    # a comment is visible exactly when its subject is
    assert_problem(await client.post(path, json={"text": "x"}, headers=stranger.headers), 404)
    assert_problem(await client.get(path, headers=stranger.headers), 404)
    assert_problem(await client.get(path), 404)
    assert_problem(await client.delete(comment_path, headers=stranger.headers), 404)
    assert_problem(
        await client.patch(comment_path, json={"text": "x"}, headers=stranger.headers), 404
    )
    r = await client.post(
        f"/posts/{public['id']}/comments", json={"text": "x"}, headers=blocked.headers
    )
    assert_problem(r, 403)
    assert (
        await client.get(f"/posts/{public['id']}/comments", headers=blocked.headers)
    ).status_code == 200
    assert_problem(await client.post(path, json={"text": "x"}), 401)
    for bad in ({"text": ""}, {"text": "  "}, {"text": "x" * 2001}, {"txt": "x"}, {"text": 5}):
        assert_problem(await client.post(path, json=bad, headers=friend.headers), 422)
    assert_problem(
        await client.post(
            f"/posts/{'0' * 24}/comments", json={"text": "x"}, headers=friend.headers
        ),
        404,
    )
    assert await Comment.get_motor_collection().count_documents({}) == 1
    assert (await client.get(f"/posts/{friends_only['id']}", headers=owner.headers)).json()[
        "comments"
    ] == 1


async def test_comments_page_oldest_first(client: httpx.AsyncClient, api: Api) -> None:
    owner = await api.user()
    p = await post(client, owner)
    for i in range(5):
        await client.post(
            f"/posts/{p['id']}/comments", json={"text": f"c{i}"}, headers=owner.headers
        )
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
        r = await client.get(f"/posts/{p['id']}/comments", params=params)
        assert r.status_code == 200, r.text
        seen += [c["text"] for c in r.json()["items"]]
        after = r.json()["next"]
        if after is None:
            break
    assert seen == [f"c{i}" for i in range(5)]


async def test_comment_hooks(client: httpx.AsyncClient, api: Api) -> None:
    heard: list[tuple[str, str]] = []

    async def added(*, comment: Comment) -> None:
        heard.append(("added", comment.text))

    async def deleted(*, comment: Comment) -> None:
        heard.append(("deleted", comment.text))

    events.comment_added.connect(added)
    events.comment_deleted.connect(deleted)
    try:
        owner = await api.user()
        p = await post(client, owner)
        r = await client.post(
            f"/posts/{p['id']}/comments", json={"text": "yo"}, headers=owner.headers
        )
        await client.delete(f"/comments/{r.json()['id']}", headers=owner.headers)
    finally:
        events.comment_added.handlers.remove(added)
        events.comment_deleted.handlers.remove(deleted)
    assert heard == [("added", "yo"), ("deleted", "yo")]


@pytest.mark.usefixtures("yielding_database")
async def test_30_concurrent_comments_and_deletions_keep_the_count_exact(
    client: httpx.AsyncClient, api: Api
) -> None:
    owner = await api.user()
    p = await post(client, owner)
    fans = [await api.user() for _ in range(5)]
    path = f"/posts/{p['id']}/comments"
    made = await asyncio.gather(
        *(client.post(path, json={"text": f"c{i}"}, headers=fans[i % 5].headers) for i in range(30))
    )
    assert [r.status_code for r in made] == [201] * 30
    assert (await client.get(f"/posts/{p['id']}", headers=owner.headers)).json()["comments"] == 30
    # every comment deleted twice at once (by its author and by the post's owner)
    deletions = []
    for r in made:
        cid = r.json()["id"]
        author = next(f for f in fans if f.id == r.json()["author"]["id"])
        deletions += [
            client.delete(f"/comments/{cid}", headers=author.headers),
            client.delete(f"/comments/{cid}", headers=owner.headers),
        ]
    statuses = sorted(r.status_code for r in await asyncio.gather(*deletions))
    assert statuses == [204] * 30 + [404] * 30
    assert (await client.get(f"/posts/{p['id']}", headers=owner.headers)).json()["comments"] == 0

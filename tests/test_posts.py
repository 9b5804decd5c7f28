"""Posts (issue 10 §3): publish, read as whoever may see them, edit, delete, a user's list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import User
from documents.post import Comment, Like, Post
from service import events
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.posts_world import befriend, block, post, workout


async def count_posts() -> int:
    return await Post.get_motor_collection().count_documents({})


async def test_publish_a_post_with_defaults(client: httpx.AsyncClient, api: Api) -> None:
    author = await api.user("Ada", city="Paris")
    r = await client.post(
        "/posts", json={"text": "  First 10k!\nFelt great  "}, headers=author.headers
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["author"] == {"id": author.id, "name": "Ada"}
    assert body["text"] == "First 10k!\nFelt great"
    assert body["visibility"] == "public"
    assert (body["run"], body["workout"]) == (None, None)
    assert (body["likes"], body["comments"], body["liked_by_me"]) == (0, 0, False)
    again = await client.get(f"/posts/{body['id']}", headers=author.headers)
    assert again.json() == body


async def test_visibility_defaults_to_the_authors_default(
    client: httpx.AsyncClient, api: Api
) -> None:
    author = await api.user(city="Paris")
    await User.get_motor_collection().update_one(
        {"_id": PydanticObjectId(author.id)}, {"$set": {"default_visibility": "friends"}}
    )
    assert (await post(client, author))["visibility"] == "friends"
    assert (await post(client, author, visibility="public"))["visibility"] == "public"


async def test_attach_your_own_run_or_workout(client: httpx.AsyncClient, api: Api) -> None:
    author = await api.user(city="Paris")
    run = await api.run(author, distance_km=10.0, duration_s=3000)
    body = await post(client, author, "10k", run_id=run["id"])
    assert body["run"]["id"] == run["id"]
    assert body["run"]["distance_km"] == 10.0
    assert body["workout"] is None
    w = await workout(client, author)
    body = await post(client, author, "Strength", workout_id=w["id"])
    assert body["workout"]["id"] == w["id"]
    assert body["workout"]["sets_count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "   "},
        {"text": "x" * 5001},
        {"text": "bell\x07"},
        {"text": "hi", "visibility": "everyone"},
        {"text": "hi", "run_id": "nope"},
        {"text": "hi", "run_id": "0" * 24},
        {"text": "hi", "workout_id": "0" * 24},
        {"text": "hi", "extra": 1},
        {"text": "hi", "visibility": None, "run_id": None, "workout_id": None, "x": 1},
    ],
)
async def test_bad_posts_are_422_and_store_nothing(
    client: httpx.AsyncClient, api: Api, body: dict[str, Any]
) -> None:
    author = await api.user(city="Paris")
    assert_problem(await client.post("/posts", json=body, headers=author.headers), 422)
    assert await count_posts() == 0


async def test_someone_elses_activity_or_both_cannot_be_attached(
    client: httpx.AsyncClient, api: Api
) -> None:
    author, other = await api.user(city="Paris"), await api.user(city="Paris")
    theirs = await api.run(other)
    r = await client.post(
        "/posts", json={"text": "mine?", "run_id": theirs["id"]}, headers=author.headers
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "run_id"]  # type: ignore[index]
    mine = await api.run(author)
    w = await workout(client, author)
    r = await client.post(
        "/posts",
        json={"text": "both", "run_id": mine["id"], "workout_id": w["id"]},
        headers=author.headers,
    )
    assert_problem(r, 422)
    assert await count_posts() == 0


async def test_writing_needs_a_token(client: httpx.AsyncClient, api: Api) -> None:
    author = await api.user(city="Paris")
    p = await post(client, author)
    assert_problem(await client.post("/posts", json={"text": "x"}), 401)
    assert_problem(await client.patch(f"/posts/{p['id']}", json={"text": "y"}), 401)
    assert_problem(await client.delete(f"/posts/{p['id']}"), 401)
    bad = {"Authorization": "Bearer nope"}
    assert_problem(await client.get(f"/posts/{p['id']}", headers=bad), 401)
    assert await count_posts() == 1


async def _status(client: httpx.AsyncClient, path: str, viewer: Account | None) -> int:
    return (await client.get(path, headers=viewer.headers if viewer else {})).status_code


async def test_who_sees_a_post(client: httpx.AsyncClient, api: Api) -> None:
    author, friend, stranger, blocked = [await api.user() for _ in range(4)]
    admin = await api.admin()
    await befriend(author, friend)
    await befriend(author, blocked)
    await block(author, blocked)
    expected = {
        "public": {"author", "friend", "stranger", "blocked", "anonymous", "admin"},
        "friends": {"author", "friend", "admin"},
        "private": {"author", "admin"},
    }
    viewers: dict[str, Account | None] = {
        "author": author,
        "friend": friend,
        "stranger": stranger,
        "blocked": blocked,
        "anonymous": None,
        "admin": admin,
    }
    for visibility, who in expected.items():
        p = await post(client, author, visibility, visibility=visibility)
        for name, viewer in viewers.items():
            got = await _status(client, f"/posts/{p['id']}", viewer)
            assert got == (200 if name in who else 404), (visibility, name)
            page = await client.get(
                f"/users/{author.id}/posts", headers=viewer.headers if viewer else {}
            )
            ids = [item["id"] for item in page.json()["items"]]
            assert (p["id"] in ids) == (name in who), (visibility, name)


async def test_an_attached_activity_the_viewer_may_not_see_is_null(
    client: httpx.AsyncClient, api: Api
) -> None:
    author, stranger = await api.user(city="Paris"), await api.user(city="Paris")
    run = await api.run(author)
    await _set_visibility("runs", run["id"], "private")
    p = await post(client, author, "run", run_id=run["id"])
    assert p["run"]["id"] == run["id"]  # the author sees it
    r = await client.get(f"/posts/{p['id']}", headers=stranger.headers)
    assert r.status_code == 200
    assert r.json()["run"] is None


async def _set_visibility(collection: str, oid: str, visibility: str) -> None:
    from documents import Run, Workout

    document = {"runs": Run, "workouts": Workout}[collection]
    await document.get_motor_collection().update_one(
        {"_id": PydanticObjectId(oid)}, {"$set": {"visibility": visibility}}
    )


async def test_only_the_author_edits(client: httpx.AsyncClient, api: Api) -> None:
    author, other = await api.user(city="Paris"), await api.user(city="Paris")
    admin = await api.admin()
    p = await post(client, author, "draft")
    r = await client.patch(
        f"/posts/{p['id']}", json={"text": "final", "visibility": "friends"}, headers=author.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["text"], r.json()["visibility"]) == ("final", "friends")
    assert r.json()["updated_at"] >= p["updated_at"]
    # someone who can no longer see it: 404; someone who can (an admin): 403
    assert_problem(
        await client.patch(f"/posts/{p['id']}", json={"text": "x"}, headers=other.headers), 404
    )
    assert_problem(
        await client.patch(f"/posts/{p['id']}", json={"text": "x"}, headers=admin.headers), 403
    )
    public = await post(client, author, "public")
    assert_problem(
        await client.patch(f"/posts/{public['id']}", json={"text": "x"}, headers=other.headers),
        403,
    )
    for bad in ({"text": ""}, {"text": None}, {"visibility": "all"}, {"author": "me"}):
        assert_problem(
            await client.patch(f"/posts/{p['id']}", json=bad, headers=author.headers), 422
        )
    stored = await client.get(f"/posts/{p['id']}", headers=author.headers)
    assert stored.json()["text"] == "final"
    assert_problem(
        await client.patch(f"/posts/{'0' * 24}", json={"text": "x"}, headers=author.headers), 404
    )
    assert_problem(
        await client.patch("/posts/nope", json={"text": "x"}, headers=author.headers), 404
    )


async def test_delete_a_post_with_its_comments_and_likes(
    client: httpx.AsyncClient, api: Api
) -> None:
    author, fan, other = [await api.user() for _ in range(3)]
    admin = await api.admin()
    p = await post(client, author)
    r = await client.post(f"/posts/{p['id']}/comments", json={"text": "nice"}, headers=fan.headers)
    assert r.status_code == 201, r.text
    assert (await client.put(f"/posts/{p['id']}/likes", headers=fan.headers)).status_code == 204
    assert_problem(await client.delete(f"/posts/{p['id']}", headers=fan.headers), 403)
    private = await post(client, author, visibility="private")
    assert_problem(await client.delete(f"/posts/{private['id']}", headers=other.headers), 404)
    assert (await client.delete(f"/posts/{p['id']}", headers=author.headers)).status_code == 204
    assert_problem(await client.get(f"/posts/{p['id']}", headers=author.headers), 404)
    assert_problem(await client.delete(f"/posts/{p['id']}", headers=author.headers), 404)
    assert await Comment.get_motor_collection().count_documents({}) == 0
    assert await Like.get_motor_collection().count_documents({}) == 0
    # an admin deletes any post
    r = await client.delete(f"/posts/{private['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert await count_posts() == 0


async def test_a_users_posts_newest_first_by_pages(client: httpx.AsyncClient, api: Api) -> None:
    author, viewer = await api.user(city="Paris"), await api.user(city="Paris")
    made = [await post(client, author, f"post {i}") for i in range(5)]
    await post(client, author, "secret", visibility="private")
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if after:
            params["after"] = after
        r = await client.get(f"/users/{author.id}/posts", params=params, headers=viewer.headers)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 5
        seen += [item["text"] for item in r.json()["items"]]
        after = r.json()["next"]
        if after is None:
            break
    assert seen == [p["text"] for p in reversed(made)]
    mine = await client.get(f"/users/{author.id}/posts", headers=author.headers)
    assert mine.json()["total"] == 6
    assert_problem(await client.get(f"/users/{'0' * 24}/posts"), 404)
    assert_problem(await client.get(f"/users/{author.id}/posts", params={"limit": 0}), 422)


async def test_post_hooks_are_announced(client: httpx.AsyncClient, api: Api) -> None:
    heard: list[tuple[str, Any]] = []

    async def created(*, post: Post) -> None:
        heard.append(("created", post.text))

    async def changed(*, before: Post, after: Post) -> None:
        heard.append(("changed", (before.text, after.text)))

    async def deleted(*, post: Post) -> None:
        heard.append(("deleted", post.text))

    hooks = (
        (events.post_created, created),
        (events.post_changed, changed),
        (events.post_deleted, deleted),
    )
    for hook, handler in hooks:
        hook.connect(handler)
    try:
        author = await api.user(city="Paris")
        p = await post(client, author, "a")
        await client.patch(f"/posts/{p['id']}", json={"text": "b"}, headers=author.headers)
        await client.delete(f"/posts/{p['id']}", headers=author.headers)
    finally:
        for hook, handler in hooks:
            hook.handlers.remove(handler)
    assert heard == [("created", "a"), ("changed", ("a", "b")), ("deleted", "b")]


async def test_deleting_a_run_or_workout_removes_its_comments_and_likes(
    client: httpx.AsyncClient, api: Api
) -> None:
    from tests.posts_world import workout as make_workout

    owner, fan = await api.user(city="Paris"), await api.user()
    run = await api.run(owner)
    w = await make_workout(client, owner)
    for kind, sid in (("runs", run["id"]), ("workouts", w["id"])):
        await client.post(f"/{kind}/{sid}/comments", json={"text": "hi"}, headers=fan.headers)
        await client.put(f"/{kind}/{sid}/likes", headers=fan.headers)
        assert (await client.delete(f"/{kind}/{sid}", headers=owner.headers)).status_code == 204
    assert await Comment.get_motor_collection().count_documents({}) == 0
    assert await Like.get_motor_collection().count_documents({}) == 0


async def test_deleting_a_user_removes_their_posts_comments_and_likes(
    client: httpx.AsyncClient, api: Api
) -> None:
    leaving, staying, third = await api.user(city="Paris"), await api.user(), await api.user()
    their_post = await post(client, leaving)
    kept = await post(client, staying)
    run = await api.run(leaving)
    for path in (f"/posts/{their_post['id']}", f"/runs/{run['id']}"):
        await client.post(f"{path}/comments", json={"text": "x"}, headers=staying.headers)
        await client.put(f"{path}/likes", headers=third.headers)
    # what the leaving user wrote and liked elsewhere
    for _ in range(3):
        await client.post(
            f"/posts/{kept['id']}/comments", json={"text": "y"}, headers=leaving.headers
        )
    await client.post(f"/posts/{kept['id']}/comments", json={"text": "z"}, headers=third.headers)
    await client.put(f"/posts/{kept['id']}/likes", headers=leaving.headers)
    await client.put(f"/posts/{kept['id']}/likes", headers=third.headers)

    assert (await client.delete("/users/me", headers=leaving.headers)).status_code == 204

    assert await Post.get_motor_collection().count_documents({}) == 1
    after = (await client.get(f"/posts/{kept['id']}", headers=staying.headers)).json()
    assert (after["likes"], after["comments"]) == (1, 1)
    listed = (await client.get(f"/posts/{kept['id']}/comments")).json()["items"]
    assert [c["text"] for c in listed] == ["z"]
    assert await Comment.get_motor_collection().count_documents({}) == 1
    assert await Like.get_motor_collection().count_documents({}) == 1


async def test_the_export_has_my_posts_and_comments(client: httpx.AsyncClient, api: Api) -> None:
    import io
    import json
    import zipfile

    me, other = await api.user(), await api.user()
    mine = [await post(client, me, f"p{i}") for i in range(3)]
    theirs = await post(client, other, "theirs")
    await client.post(f"/posts/{theirs['id']}/comments", json={"text": "c1"}, headers=me.headers)
    await client.post(f"/posts/{theirs['id']}/comments", json={"text": "c2"}, headers=other.headers)
    r = await client.get("/users/me/export", headers=me.headers)
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    exported = json.loads(archive.read("posts.json"))
    assert [p["id"] for p in exported] == [p["id"] for p in mine]
    assert [p["text"] for p in exported] == ["p0", "p1", "p2"]
    comments = json.loads(archive.read("comments.json"))
    assert [c["text"] for c in comments] == ["c1"]
    assert comments[0]["subject_id"] == theirs["id"]

"""Reports (issue 10 §6): users report posts, comments and users they can see; admins list them
by status and resolve them (dismiss, or remove the content); one open report per reporter and
subject, exact under concurrent submissions and resolutions; accounts take their reports along."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId
from bson import ObjectId

from documents import Report, User
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)


async def post_of(client: httpx.AsyncClient, author: Account, visibility: str = "public") -> str:
    r = await client.post(
        "/posts", json={"text": "Look at my run", "visibility": visibility}, headers=author.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def comment_on(client: httpx.AsyncClient, post_id: str, author: Account) -> str:
    r = await client.post(
        f"/posts/{post_id}/comments", json={"text": "spam spam"}, headers=author.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def report_body(kind: str, subject_id: str, reason: str = "Spam") -> dict[str, Any]:
    return {"subject": {"kind": kind, "id": subject_id}, "reason": reason}


async def report(
    client: httpx.AsyncClient, who: Account, kind: str, subject_id: str, reason: str = "Spam"
) -> httpx.Response:
    return await client.post(
        "/reports", json=report_body(kind, subject_id, reason), headers=who.headers
    )


async def queue(client: httpx.AsyncClient, admin: Account, status: str = "open") -> list[dict]:
    r = await client.get("/reports", params={"status": status, "limit": 100}, headers=admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict] = r.json()["items"]
    return items


async def stored() -> int:
    return int(await Report.get_motor_collection().count_documents({}))


async def test_report_a_post_a_comment_and_a_user(api: Api, client: httpx.AsyncClient) -> None:
    author, reporter, admin = (
        await api.user("Author"),
        await api.user("Reporter"),
        await api.admin(),
    )
    post_id = await post_of(client, author)
    comment_id = await comment_on(client, post_id, author)

    r = await report(client, reporter, "post", post_id, "  Spam, again  ")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reporter"] == {"id": reporter.id, "name": "Reporter"}
    assert body["subject"] == {"kind": "post", "id": post_id}
    assert body["subject_owner"] == {"id": author.id, "name": "Author"}
    assert body["reason"] == "Spam, again"
    assert (body["status"], body["action"], body["resolved_by"]) == ("open", None, None)
    assert (await report(client, reporter, "comment", comment_id)).status_code == 201
    assert (await report(client, reporter, "user", author.id)).status_code == 201

    items = await queue(client, admin)
    assert [i["subject"]["kind"] for i in items] == ["user", "comment", "post"]  # newest first
    assert await queue(client, admin, "resolved") == []


async def test_one_open_report_per_subject_and_again_once_resolved(
    api: Api, client: httpx.AsyncClient
) -> None:
    author, reporter, other, admin = (
        await api.user(),
        await api.user(),
        await api.user(),
        await api.admin(),
    )
    post_id = await post_of(client, author)
    first = await report(client, reporter, "post", post_id)
    assert first.status_code == 201
    assert_problem(await report(client, reporter, "post", post_id, "Really"), 409)
    assert (await report(client, other, "post", post_id)).status_code == 201  # someone else
    r = await client.post(
        f"/reports/{first.json()['id']}/resolve", json={"action": "dismiss"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["action"]) == ("resolved", "dismiss")
    assert r.json()["resolved_by"]["id"] == admin.id
    assert (await report(client, reporter, "post", post_id)).status_code == 201
    assert await stored() == 3
    r = await client.get(f"/posts/{post_id}", headers=reporter.headers)
    assert r.status_code == 200  # dismissed: the post stays


async def test_what_you_cannot_see_or_that_is_yours_cannot_be_reported(
    api: Api, client: httpx.AsyncClient
) -> None:
    author, reporter = await api.user(), await api.user()
    private = await post_of(client, author, "private")
    comment_id = await comment_on(client, private, author)
    for kind, subject_id in (
        ("post", private),
        ("comment", comment_id),
        ("post", str(ObjectId())),
        ("comment", str(ObjectId())),
        ("user", str(ObjectId())),
    ):
        assert_problem(await report(client, reporter, kind, subject_id), 404)
    assert_problem(await report(client, author, "post", private), 422)
    assert_problem(await report(client, author, "comment", comment_id), 422)
    assert_problem(await report(client, author, "user", author.id), 422)
    assert await stored() == 0


async def test_requires_login_and_valid_input(api: Api, client: httpx.AsyncClient) -> None:
    author, reporter = await api.user(), await api.user()
    post_id = await post_of(client, author)
    assert_problem(await client.post("/reports", json=report_body("post", post_id)), 401)
    for body in (
        {},
        report_body("run", post_id),
        report_body("post", "not-an-id"),
        report_body("post", post_id, ""),
        report_body("post", post_id, "   "),
        report_body("post", post_id, "x" * 1001),
        report_body("post", post_id, "bad\x00char"),
        {**report_body("post", post_id), "extra": 1},
    ):
        r = await client.post("/reports", json=body, headers=reporter.headers)
        assert_problem(r, 422)
    assert (await report(client, reporter, "post", post_id, "x" * 1000)).status_code == 201
    assert await stored() == 1


async def test_only_admins_list_and_resolve(api: Api, client: httpx.AsyncClient) -> None:
    author, reporter, admin = await api.user(), await api.user(), await api.admin()
    post_id = await post_of(client, author)
    report_id = (await report(client, reporter, "post", post_id)).json()["id"]
    resolve = f"/reports/{report_id}/resolve"
    assert_problem(await client.get("/reports"), 401)
    assert_problem(await client.get("/reports", headers=reporter.headers), 403)
    assert_problem(await client.post(resolve, json={"action": "remove"}), 401)
    for who in (reporter, author):
        r = await client.post(resolve, json={"action": "remove"}, headers=who.headers)
        assert_problem(r, 403)
    for missing in (str(ObjectId()), "nope"):
        r = await client.post(
            f"/reports/{missing}/resolve", json={"action": "dismiss"}, headers=admin.headers
        )
        assert_problem(r, 404)
    for body in ({}, {"action": "ban"}, {"action": "dismiss", "extra": 1}):
        assert_problem(await client.post(resolve, json=body, headers=admin.headers), 422)
    r = await client.get("/reports", params={"status": "closed"}, headers=admin.headers)
    assert_problem(r, 422)
    (item,) = await queue(client, admin)
    assert item["status"] == "open"  # nothing changed
    assert (await client.get(f"/posts/{post_id}", headers=reporter.headers)).status_code == 200


async def test_remove_deletes_the_content_and_resolves_its_other_reports(
    api: Api, client: httpx.AsyncClient
) -> None:
    author, a, b, admin = await api.user(), await api.user(), await api.user(), await api.admin()
    post_id = await post_of(client, author)
    comment_id = await comment_on(client, post_id, b)
    first = (await report(client, a, "post", post_id)).json()["id"]
    await report(client, b, "post", post_id)
    on_comment = (await report(client, a, "comment", comment_id)).json()["id"]

    r = await client.post(
        f"/reports/{on_comment}/resolve", json={"action": "remove"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    post = (await client.get(f"/posts/{post_id}", headers=a.headers)).json()
    assert post["comments"] == 0
    r = await client.get(f"/posts/{post_id}/comments", headers=a.headers)
    assert r.json()["items"] == []

    r = await client.post(
        f"/reports/{first}/resolve", json={"action": "remove"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "remove"
    assert_problem(await client.get(f"/posts/{post_id}", headers=a.headers), 404)
    assert await queue(client, admin) == []
    resolved = await queue(client, admin, "resolved")
    assert len(resolved) == 3
    assert all(i["action"] == "remove" and i["resolved_by"]["id"] == admin.id for i in resolved)
    r = await client.post(
        f"/reports/{first}/resolve", json={"action": "dismiss"}, headers=admin.headers
    )
    assert_problem(r, 409)


async def test_content_deleted_by_its_author_resolves_its_reports(
    api: Api, client: httpx.AsyncClient
) -> None:
    author, reporter, admin = await api.user(), await api.user(), await api.admin()
    post_id = await post_of(client, author)
    await report(client, reporter, "post", post_id)
    r = await client.delete(f"/posts/{post_id}", headers=author.headers)
    assert r.status_code == 204, r.text
    assert await queue(client, admin) == []
    (item,) = await queue(client, admin, "resolved")
    assert (item["action"], item["resolved_by"]) == ("remove", None)


async def test_comments_deleted_with_their_run_or_post_resolve_their_reports(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner, troll, reporter, admin = (
        await api.user(city="Paris"),
        await api.user(),
        await api.user(),
        await api.admin(),
    )
    run = await api.run(runner)
    r = await client.post(
        f"/runs/{run['id']}/comments", json={"text": "spam"}, headers=troll.headers
    )
    assert r.status_code == 201, r.text
    on_run = r.json()["id"]
    post_id = await post_of(client, runner)
    on_post = await comment_on(client, post_id, troll)
    for comment_id in (on_run, on_post):
        assert (await report(client, reporter, "comment", comment_id)).status_code == 201
    contexts = {i["subject"]["id"]: i["context"] for i in await queue(client, admin)}
    assert contexts == {
        on_run: {"kind": "run", "id": run["id"]},
        on_post: {"kind": "post", "id": post_id},
    }
    assert (await client.delete(f"/runs/{run['id']}", headers=runner.headers)).status_code == 204
    assert [i["subject"]["id"] for i in await queue(client, admin)] == [on_post]
    assert (await client.delete(f"/posts/{post_id}", headers=runner.headers)).status_code == 204
    assert await queue(client, admin) == []
    resolved = await queue(client, admin, "resolved")
    assert {(i["action"], i["resolved_by"]) for i in resolved} == {("remove", None)}


async def test_an_account_deleted_with_its_runs_resolves_reports_of_comments_on_them(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner, troll, reporter, admin = (
        await api.user(city="Paris"),
        await api.user(),
        await api.user(),
        await api.admin(),
    )
    runs = [await api.run(runner, started_at=f"2025-05-0{d}T07:00:00Z") for d in (1, 2)]
    for run in runs:
        r = await client.post(
            f"/runs/{run['id']}/comments", json={"text": "spam"}, headers=troll.headers
        )
        assert r.status_code == 201, r.text
        assert (await report(client, reporter, "comment", r.json()["id"])).status_code == 201
    assert (await client.delete("/users/me", headers=runner.headers)).status_code == 204
    assert await queue(client, admin) == []
    assert len(await queue(client, admin, "resolved")) == 2


async def test_removing_a_user_deletes_the_account_and_reports_about_it(
    api: Api, client: httpx.AsyncClient
) -> None:
    troll, reporter, admin = await api.user(), await api.user(), await api.admin()
    post_id = await post_of(client, troll)
    report_id = (await report(client, reporter, "user", troll.id)).json()["id"]
    await report(client, reporter, "post", post_id)
    by_troll = await report(client, troll, "user", reporter.id)
    assert by_troll.status_code == 201
    r = await client.post(
        f"/reports/{report_id}/resolve", json={"action": "remove"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["action"]) == ("resolved", "remove")
    assert await User.get(PydanticObjectId(troll.id)) is None
    assert await stored() == 0  # about them, about their post, and by them


async def test_the_last_admin_cannot_be_removed_and_the_report_stays_open(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin, reporter = await api.admin(), await api.user()
    report_id = (await report(client, reporter, "user", admin.id)).json()["id"]
    r = await client.post(
        f"/reports/{report_id}/resolve", json={"action": "remove"}, headers=admin.headers
    )
    assert_problem(r, 409)
    (item,) = await queue(client, admin)
    assert item["id"] == report_id
    assert_problem(await report(client, reporter, "user", admin.id), 409)  # still the open one


async def test_a_daily_cap_on_reports() -> None:
    capped = make_settings(max_reports_per_day=2)
    async with serve(capped) as http:
        local = Api(http)
        reporter = await local.user()
        targets = [await local.user() for _ in range(3)]
        for target in targets[:2]:
            assert (await report(http, reporter, "user", target.id)).status_code == 201
        r = await report(http, reporter, "user", targets[2].id)
        assert_problem(r, 429)
        assert "Retry-After" in r.headers


async def test_deleting_a_reporter_removes_their_reports(
    api: Api, client: httpx.AsyncClient
) -> None:
    author, reporter = await api.user(), await api.user()
    await report(client, reporter, "post", await post_of(client, author))
    assert (await client.delete("/users/me", headers=reporter.headers)).status_code == 204
    assert await stored() == 0


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_reports_and_resolutions_are_exact(
    api: Api, client: httpx.AsyncClient
) -> None:
    author, reporter = await api.user(), await api.user()
    admins = [await api.admin() for _ in range(3)]
    post_id = await post_of(client, author)
    responses = await asyncio.gather(
        *(report(client, reporter, "post", post_id) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert await stored() == 1
    report_id = next(r for r in responses if r.status_code == 201).json()["id"]
    resolutions = await asyncio.gather(
        *(
            client.post(
                f"/reports/{report_id}/resolve",
                json={"action": action},
                headers=admin.headers,
            )
            for admin, action in zip(admins, ("remove", "dismiss", "remove"), strict=True)
        )
    )
    assert sorted(r.status_code for r in resolutions) == [200, 409, 409]
    (winner,) = [r.json() for r in resolutions if r.status_code == 200]
    (item,) = await queue(client, admins[0], "resolved")
    assert item["action"] == winner["action"]
    gone = (await client.get(f"/posts/{post_id}", headers=reporter.headers)).status_code == 404
    assert gone == (winner["action"] == "remove")

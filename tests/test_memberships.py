"""Membership: joining, leaving, removing, listing, and what account deletion does to teams."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import assert_problem
from tests.factories import Api

UNKNOWN_ID = "0123456789abcdef01234567"


async def roles(client: httpx.AsyncClient, team_id: str) -> dict[str, str]:
    r = await client.get(f"/teams/{team_id}/members")
    assert r.status_code == 200, r.text
    return {m["user"]["id"]: m["role"] for m in r.json()["items"]}


# --- join ---------------------------------------------------------------------------------


async def test_join_an_open_team(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    runner = await api.user(city="Paris")
    team = await api.team(owner)

    r = await client.post(f"/teams/{team['id']}/members", headers=runner.headers)

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"] == {"id": runner.id, "name": runner.name, "city_id": runner.body["city_id"]}
    assert body["role"] == "member"
    assert await api.members(team["id"]) == [owner.id, runner.id]
    assert (await client.get(f"/teams/{team['id']}")).json()["members"] == 2


async def test_joining_twice_changes_nothing(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    runner = await api.user()
    team = await api.team(owner)
    first = await client.post(f"/teams/{team['id']}/members", headers=runner.headers)

    again = await client.post(f"/teams/{team['id']}/members", headers=runner.headers)

    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert await api.members(team["id"]) == [owner.id, runner.id]
    # the owner "joining" their own team keeps their role
    r = await client.post(f"/teams/{team['id']}/members", headers=owner.headers)
    assert (r.status_code, r.json()["role"]) == (200, "owner")


async def test_invite_only_team_cannot_be_joined(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    runner = await api.user()
    team = await api.team(owner, visibility="invite")

    assert_problem(await client.post(f"/teams/{team['id']}/members", headers=runner.headers), 403)

    assert await api.members(team["id"]) == [owner.id]
    assert (await client.get(f"/users/{runner.id}/teams")).json()["total"] == 0


async def test_join_needs_a_token_and_a_team(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    team = await api.team(owner)

    assert_problem(await client.post(f"/teams/{team['id']}/members"), 401)
    assert_problem(await client.post(f"/teams/{UNKNOWN_ID}/members", headers=owner.headers), 404)
    assert_problem(await client.post("/teams/nope/members", headers=owner.headers), 404)
    assert await api.members(team["id"]) == [owner.id]


async def test_concurrent_joins_count_every_member_once(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    team = await api.team(owner, "Crowd")
    runners = [await api.user() for _ in range(30)]

    responses = await asyncio.gather(
        *(client.post(f"/teams/{team['id']}/members", headers=r.headers) for r in runners)
    )

    assert [r.status_code for r in responses] == [201] * 30
    ids = await api.members(team["id"])
    assert len(ids) == 31
    assert len(set(ids)) == 31
    assert set(ids) == {owner.id, *(r.id for r in runners)}


async def test_concurrent_double_join_is_created_once(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    runner = await api.user()
    team = await api.team(owner)

    responses = await asyncio.gather(
        *(client.post(f"/teams/{team['id']}/members", headers=runner.headers) for _ in range(5))
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201]
    assert await api.members(team["id"]) == [owner.id, runner.id]


# --- leave and remove ---------------------------------------------------------------------


async def test_member_leaves(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    runner = await api.user()
    team = await api.team(owner)
    await api.join(runner, team["id"])

    r = await client.delete(f"/teams/{team['id']}/members/{runner.id}", headers=runner.headers)

    assert r.status_code == 204
    assert r.content == b""
    assert await api.members(team["id"]) == [owner.id]
    assert (await client.get(f"/users/{runner.id}/teams")).json()["total"] == 0
    # and may come back
    await api.join(runner, team["id"])
    assert await api.members(team["id"]) == [owner.id, runner.id]


async def test_owner_and_admin_remove_members(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    first = await api.user()
    second = await api.user()
    admin = await api.admin()
    team = await api.team(owner)
    await api.join(first, team["id"])
    await api.join(second, team["id"])
    url = f"/teams/{team['id']}/members"

    assert (await client.delete(f"{url}/{first.id}", headers=owner.headers)).status_code == 204
    assert (await client.delete(f"{url}/{second.id}", headers=admin.headers)).status_code == 204

    assert await api.members(team["id"]) == [owner.id]


async def test_plain_member_cannot_remove_another(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    first = await api.user()
    second = await api.user()
    team = await api.team(owner)
    await api.join(first, team["id"])
    await api.join(second, team["id"])
    url = f"/teams/{team['id']}/members"

    assert_problem(await client.delete(f"{url}/{second.id}", headers=first.headers), 403)
    assert_problem(await client.delete(f"{url}/{owner.id}", headers=first.headers), 403)
    assert_problem(await client.delete(f"{url}/{second.id}"), 401)

    assert await api.members(team["id"]) == [owner.id, first.id, second.id]


async def test_owner_cannot_leave_while_others_remain(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    runner = await api.user()
    admin = await api.admin()
    team = await api.team(owner)
    await api.join(runner, team["id"])
    url = f"/teams/{team['id']}/members/{owner.id}"

    assert_problem(await client.delete(url, headers=owner.headers), 409)
    assert_problem(await client.delete(url, headers=admin.headers), 409)

    assert await api.members(team["id"]) == [owner.id, runner.id]
    assert (await client.get(f"/teams/{team['id']}")).json()["owner_id"] == owner.id


async def test_owner_cannot_leave_as_last_member(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    team = await api.team(owner)

    r = await client.delete(f"/teams/{team['id']}/members/{owner.id}", headers=owner.headers)

    assert_problem(r, 409)
    assert await api.members(team["id"]) == [owner.id]


async def test_removing_a_non_member_is_404(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    outsider = await api.user()
    team = await api.team(owner)
    url = f"/teams/{team['id']}/members"

    assert_problem(await client.delete(f"{url}/{outsider.id}", headers=outsider.headers), 404)
    assert_problem(await client.delete(f"{url}/{outsider.id}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{url}/{UNKNOWN_ID}", headers=owner.headers), 404)
    assert_problem(await client.delete(f"{url}/not-an-id", headers=owner.headers), 404)
    assert_problem(
        await client.delete(f"/teams/{UNKNOWN_ID}/members/{owner.id}", headers=owner.headers), 404
    )
    assert await api.members(team["id"]) == [owner.id]


# --- lists --------------------------------------------------------------------------------


async def test_members_are_listed_in_joined_order_publicly(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    team = await api.team(owner)
    runners = [await api.user() for _ in range(5)]
    for runner in reversed(runners):
        await api.join(runner, team["id"])
    joined = [owner.id, *(r.id for r in reversed(runners))]

    assert await api.members(team["id"]) == joined
    page = (
        await client.get(f"/teams/{team['id']}/members", params={"limit": 2, "offset": 2})
    ).json()
    assert (page["total"], page["limit"], page["offset"]) == (6, 2, 2)
    assert [m["user"]["id"] for m in page["items"]] == joined[2:4]
    assert [m["role"] for m in page["items"]] == ["member", "member"]
    stamps = [
        m["joined_at"] for m in (await client.get(f"/teams/{team['id']}/members")).json()["items"]
    ]
    assert stamps == sorted(stamps)


async def test_a_users_teams_with_their_role(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="Paris")
    friend = await api.user()
    owned = await api.team(runner, "Night Owls")
    joined = await api.team(friend, "Early Birds")
    await api.join(runner, joined["id"])

    r = await client.get(f"/users/{runner.id}/teams")  # public

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3
    assert [(t["name"], t["kind"], t["role"]) for t in body["items"]] == [
        ("Paris", "city", "member"),
        ("Night Owls", "custom", "owner"),
        ("Early Birds", "custom", "member"),
    ]
    assert body["items"][1]["id"] == owned["id"]
    assert body["items"][2]["members"] == 2
    page = (await client.get(f"/users/{runner.id}/teams", params={"limit": 1, "offset": 2})).json()
    assert [t["name"] for t in page["items"]] == ["Early Birds"]
    assert_problem(await client.get(f"/users/{UNKNOWN_ID}/teams"), 404)
    assert_problem(await client.get("/users/nobody/teams"), 404)


# --- account deletion ---------------------------------------------------------------------


async def delete_account(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.delete("/users/me", headers=headers)
    assert r.status_code == 204, r.text


async def test_deleted_account_leaves_its_teams(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    leaving = await api.user(city="Paris")
    staying = await api.user(city="Paris")
    team = await api.team(owner)
    await api.join(leaving, team["id"])
    await api.join(staying, team["id"])

    await delete_account(client, leaving.headers)

    assert await api.members(team["id"]) == [owner.id, staying.id]
    paris = (await client.get("/cities/paris")).json()
    assert paris["members"] == 1
    assert await api.members(paris["team_id"]) == [staying.id]


async def test_owned_team_passes_to_the_longest_standing_member(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    elder = await api.user()
    younger = await api.user()
    team = await api.team(owner, "Night Owls")
    await api.join(elder, team["id"])
    await api.join(younger, team["id"])

    await delete_account(client, owner.headers)

    stored = (await client.get(f"/teams/{team['id']}")).json()
    assert (stored["owner_id"], stored["members"]) == (elder.id, 2)
    assert await roles(client, team["id"]) == {elder.id: "owner", younger.id: "member"}
    elder_teams = (await client.get(f"/users/{elder.id}/teams")).json()["items"]
    assert [t["role"] for t in elder_teams] == ["owner"]
    # the new owner has the owner's powers
    r = await client.patch(f"/teams/{team['id']}", json={"name": "Elders"}, headers=elder.headers)
    assert r.status_code == 200, r.text


async def test_owned_team_of_a_lone_owner_is_deleted(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    other = await api.user()
    lonely = await api.team(owner, "Lonely")
    shared = await api.team(other, "Shared")
    await api.join(owner, shared["id"])

    await delete_account(client, owner.headers)

    assert_problem(await client.get(f"/teams/{lonely['id']}"), 404)
    assert await api.members(shared["id"]) == [other.id]
    assert [t["name"] for t in (await client.get("/teams")).json()["items"]] == ["Shared"]

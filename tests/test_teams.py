"""Custom teams: create, list, read, update (with owner transfer) and delete."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from documents import Team
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Api
from tests.test_races import overtaken_by_delete
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

UNKNOWN_ID = "0123456789abcdef01234567"


async def custom_teams(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/teams", params={"kind": "custom"})
    assert r.status_code == 200, r.text
    return r.json()


# --- create -------------------------------------------------------------------------------


async def test_creator_is_owner_and_first_member(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user(city="Paris")

    r = await client.post(
        "/teams",
        json={"name": "  Night   Owls ", "description": "Runs after dark"},
        headers=owner.headers,
    )

    assert r.status_code == 201, r.text
    team = r.json()
    assert team["name"] == "Night Owls"
    assert team["description"] == "Runs after dark"
    assert (team["kind"], team["visibility"], team["city_id"]) == ("custom", "open", None)
    assert team["owner_id"] == owner.id
    assert team["members"] == 1
    assert (await client.get(f"/teams/{team['id']}")).json() == team
    members = (await client.get(f"/teams/{team['id']}/members")).json()["items"]
    assert [(m["user"]["id"], m["role"]) for m in members] == [(owner.id, "owner")]
    mine = (await client.get(f"/users/{owner.id}/teams")).json()["items"]
    assert {(t["name"], t["role"]) for t in mine} == {("Paris", "member"), ("Night Owls", "owner")}


async def test_team_in_a_city_and_invite_only(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user(city="Paris")
    paris = owner.body["city_id"]

    team = await api.team(owner, "Paris Pacers", city_id=paris, visibility="invite")

    assert (team["city_id"], team["visibility"]) == (paris, "invite")


async def test_team_names_are_unique_ignoring_case_and_spacing(
    api: Api, client: httpx.AsyncClient
) -> None:
    first = await api.user()
    second = await api.user()
    await api.team(first, "Road Runners")

    for name in ("road runners", "ROAD  RUNNERS", " Road Runners "):
        r = await client.post("/teams", json={"name": name}, headers=second.headers)
        assert_problem(r, 409)

    listing = await custom_teams(client)
    assert [t["name"] for t in listing["items"]] == ["Road Runners"]
    teams_of_second = (await client.get(f"/users/{second.id}/teams")).json()
    assert teams_of_second["total"] == 0


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": "A"},
        {"name": "   a   "},
        {"name": "x" * 61},
        {"name": "Night Owls", "colour": "blue"},
        {"name": "Night Owls", "visibility": "secret"},
        {"name": "Night Owls", "city_id": UNKNOWN_ID},
        {"name": "Night Owls", "city_id": "paris"},
        {"name": "Night Owls", "owner_id": UNKNOWN_ID},
        {"name": "Night Owls", "description": "x" * 501},
    ],
)
async def test_create_rejects_bad_input_and_stores_nothing(
    api: Api, client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    owner = await api.user()

    assert_problem(await client.post("/teams", json=payload, headers=owner.headers), 422)

    assert (await custom_teams(client))["total"] == 0
    assert (await client.get(f"/users/{owner.id}/teams")).json()["total"] == 0


async def test_create_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/teams", json={"name": "Night Owls"}), 401)
    assert_problem(
        await client.post(
            "/teams", json={"name": "Night Owls"}, headers={"Authorization": "Bearer nope"}
        ),
        401,
    )
    assert (await custom_teams(client))["total"] == 0


# --- reads --------------------------------------------------------------------------------


async def test_list_filters_by_city_kind_and_search(api: Api, client: httpx.AsyncClient) -> None:
    parisian = await api.user(city="Paris")
    await api.user(city="Lyon")
    paris = parisian.body["city_id"]
    await api.team(parisian, "Paris Pacers", city_id=paris)
    await api.team(parisian, "Night Owls")

    async def names(**params: str) -> list[str]:
        r = await client.get("/teams", params=params)  # no token: public
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return [t["name"] for t in body["items"]]

    assert await names() == ["Lyon", "Night Owls", "Paris", "Paris Pacers"]
    assert await names(kind="city") == ["Lyon", "Paris"]
    assert await names(kind="custom") == ["Night Owls", "Paris Pacers"]
    assert await names(city_id=paris) == ["Paris", "Paris Pacers"]
    assert await names(city_id=paris, kind="custom") == ["Paris Pacers"]
    assert await names(search="OWL") == ["Night Owls"]
    assert await names(search="paris") == ["Paris", "Paris Pacers"]
    assert await names(search="p.*") == []
    assert await names(city_id=UNKNOWN_ID) == []


async def test_list_pages(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        await api.team(owner, name)

    page = (await client.get("/teams", params={"limit": 2, "offset": 1})).json()

    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [t["name"] for t in page["items"]] == ["Bravo", "Charlie"]


@pytest.mark.parametrize(
    "params", [{"kind": "club"}, {"city_id": "paris"}, {"limit": 101}, {"offset": -1}]
)
async def test_list_rejects_bad_filters(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert_problem(await client.get("/teams", params=params), 422)


@pytest.mark.parametrize("team_id", [UNKNOWN_ID, "not-an-id", "0123"])
async def test_unknown_or_malformed_team_is_404(client: httpx.AsyncClient, team_id: str) -> None:
    assert_problem(await client.get(f"/teams/{team_id}"), 404)
    assert_problem(await client.get(f"/teams/{team_id}/members"), 404)


# --- update -------------------------------------------------------------------------------


async def test_owner_updates_the_team(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    team = await api.team(owner, "Night Owls", description="old")

    r = await client.patch(
        f"/teams/{team['id']}",
        json={"name": "Early Birds", "visibility": "invite", "description": None},
        headers=owner.headers,
    )

    assert r.status_code == 200, r.text
    stored = (await client.get(f"/teams/{team['id']}")).json()
    assert stored == r.json()
    assert (stored["name"], stored["visibility"], stored["description"]) == (
        "Early Birds",
        "invite",
        None,
    )
    # the old name is free again, the new one is taken
    assert (
        await client.post("/teams", json={"name": "night owls"}, headers=owner.headers)
    ).is_success
    assert_problem(
        await client.post("/teams", json={"name": "EARLY BIRDS"}, headers=owner.headers), 409
    )


async def test_renaming_only_the_case_of_its_own_name_is_allowed(
    api: Api, client: httpx.AsyncClient
) -> None:
    owner = await api.user()
    team = await api.team(owner, "night owls")

    r = await client.patch(
        f"/teams/{team['id']}", json={"name": "Night Owls"}, headers=owner.headers
    )

    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Night Owls"


async def test_rename_onto_another_team_conflicts(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    team = await api.team(owner, "Night Owls")
    await api.team(owner, "Early Birds")

    r = await client.patch(
        f"/teams/{team['id']}", json={"name": "early birds"}, headers=owner.headers
    )

    assert_problem(r, 409)
    assert (await client.get(f"/teams/{team['id']}")).json()["name"] == "Night Owls"


async def test_update_permissions(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    member = await api.user()
    stranger = await api.user()
    admin = await api.admin()
    team = await api.team(owner, "Night Owls")
    await api.join(member, team["id"])
    url = f"/teams/{team['id']}"

    assert_problem(await client.patch(url, json={"name": "Ours"}, headers=member.headers), 403)
    assert_problem(await client.patch(url, json={"name": "Ours"}, headers=stranger.headers), 403)
    assert_problem(await client.patch(url, json={"name": "Ours"}), 401)
    assert (await client.get(url)).json()["name"] == "Night Owls"

    r = await client.patch(url, json={"visibility": "invite"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == "invite"
    assert r.json()["owner_id"] == owner.id
    assert_problem(
        await client.patch(f"/teams/{UNKNOWN_ID}", json={"name": "X1"}, headers=admin.headers), 404
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "A"},
        {"visibility": "hidden"},
        {"kind": "city"},
        {"members": 1000},
        {"owner_id": "someone"},
        {"name": "City:Paris"},
    ],
)
async def test_update_rejects_bad_input(
    api: Api, client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    owner = await api.user()
    team = await api.team(owner, "Night Owls")

    assert_problem(
        await client.patch(f"/teams/{team['id']}", json=payload, headers=owner.headers), 422
    )

    assert (await client.get(f"/teams/{team['id']}")).json() == team


async def test_owner_transfers_ownership_to_a_member(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    heir = await api.user()
    team = await api.team(owner, "Night Owls")
    await api.join(heir, team["id"])
    url = f"/teams/{team['id']}"

    r = await client.patch(url, json={"owner_id": heir.id}, headers=owner.headers)

    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == heir.id
    assert r.json()["members"] == 2
    roles = {
        m["user"]["id"]: m["role"] for m in (await client.get(f"{url}/members")).json()["items"]
    }
    assert roles == {owner.id: "member", heir.id: "owner"}
    heir_teams = (await client.get(f"/users/{heir.id}/teams")).json()["items"]
    assert [t["role"] for t in heir_teams] == ["owner"]
    # the powers moved with the role
    assert_problem(await client.patch(url, json={"name": "Mine"}, headers=owner.headers), 403)
    assert (
        await client.patch(url, json={"name": "Heirs"}, headers=heir.headers)
    ).status_code == 200
    leave = await client.delete(f"{url}/members/{owner.id}", headers=owner.headers)
    assert leave.status_code == 204
    assert await api.members(team["id"]) == [heir.id]


async def test_ownership_goes_only_to_a_member(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    outsider = await api.user()
    team = await api.team(owner, "Night Owls")
    url = f"/teams/{team['id']}"

    for candidate in (outsider.id, UNKNOWN_ID):
        assert_problem(
            await client.patch(url, json={"owner_id": candidate}, headers=owner.headers), 422
        )

    assert (await client.get(url)).json()["owner_id"] == owner.id
    roles = [m["role"] for m in (await client.get(f"{url}/members")).json()["items"]]
    assert roles == ["owner"]


async def test_admin_transfers_ownership(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    heir = await api.user()
    admin = await api.admin()
    team = await api.team(owner, "Night Owls")
    await api.join(heir, team["id"])

    r = await client.patch(
        f"/teams/{team['id']}", json={"owner_id": heir.id}, headers=admin.headers
    )

    assert r.status_code == 200, r.text
    roles = {
        m["user"]["id"]: m["role"]
        for m in (await client.get(f"/teams/{team['id']}/members")).json()["items"]
    }
    assert roles == {owner.id: "member", heir.id: "owner"}


# --- delete -------------------------------------------------------------------------------


async def test_owner_deletes_the_team(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user(city="Paris")
    member = await api.user()
    invitee = await api.user()
    team = await api.team(owner, "Night Owls", visibility="invite")
    other = await api.team(owner, "Early Birds")
    accepted = await api.invite(owner, team["id"], member)
    r = await client.post(f"/invitations/{accepted['id']}/accept", headers=member.headers)
    assert r.status_code == 200, r.text
    await api.invite(owner, team["id"], invitee)

    r = await client.delete(f"/teams/{team['id']}", headers=owner.headers)

    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await client.get(f"/teams/{team['id']}"), 404)
    assert_problem(await client.get(f"/teams/{team['id']}/members"), 404)
    for account in (owner, member):
        names = [
            t["name"] for t in (await client.get(f"/users/{account.id}/teams")).json()["items"]
        ]
        assert "Night Owls" not in names
    assert [t["name"] for t in (await client.get(f"/users/{owner.id}/teams")).json()["items"]] == [
        "Paris",
        "Early Birds",
    ]
    assert (await client.get("/users/me/invitations", headers=invitee.headers)).json()["total"] == 0
    assert [t["name"] for t in (await custom_teams(client))["items"]] == [other["name"]]
    # the name is free again
    assert (await api.team(member, "night owls"))["members"] == 1


async def test_delete_permissions(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    member = await api.user()
    admin = await api.admin()
    team = await api.team(owner, "Night Owls")
    await api.join(member, team["id"])
    url = f"/teams/{team['id']}"

    assert_problem(await client.delete(url, headers=member.headers), 403)
    assert_problem(await client.delete(url), 401)
    assert await api.members(team["id"]) == [owner.id, member.id]

    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    assert_problem(await client.get(url), 404)
    assert_problem(await client.delete(url, headers=admin.headers), 404)
    assert (await client.get(f"/users/{member.id}/teams")).json()["total"] == 0


# --- anti-spam cap: teams owned ---------------------------------------------------------------


async def test_a_user_owns_at_most_max_teams_owned() -> None:
    async with serve(make_settings(max_teams_owned=2)) as client:
        api = Api(client)
        owner = await api.user()
        kept = await api.team(owner, "First")
        await api.team(owner, "Second")
        r = await client.post("/teams", json={"name": "Third"}, headers=owner.headers)
        assert "MAX_TEAMS_OWNED" in str(assert_problem(r, 409)["detail"])
        assert [t["name"] for t in (await custom_teams(client))["items"]] == ["First", "Second"]
        # deleting one makes room again
        await client.delete(f"/teams/{kept['id']}", headers=owner.headers)
        assert (await api.team(owner, "Third"))["owner_id"] == owner.id
        # others are not affected, and admins are exempt
        assert (await api.team(await api.user(), "Fourth"))["members"] == 1
        admin = await api.admin()
        for name in ("Admin 1", "Admin 2", "Admin 3"):
            await api.team(admin, name)


async def test_ownership_goes_only_to_a_member_below_the_cap() -> None:
    async with serve(make_settings(max_teams_owned=1)) as client:
        api = Api(client)
        owner, heir = await api.user(), await api.user()
        team = await api.team(owner, "Handed Over")
        await api.team(heir, "Heir's Own")
        await api.join(heir, team["id"])
        url = f"/teams/{team['id']}"
        r = await client.patch(url, json={"owner_id": heir.id}, headers=owner.headers)
        assert "MAX_TEAMS_OWNED" in str(assert_problem(r, 409)["detail"])
        assert (await client.get(url)).json()["owner_id"] == owner.id
        roles = {
            m["user"]["id"]: m["role"] for m in (await client.get(f"{url}/members")).json()["items"]
        }
        assert roles == {owner.id: "owner", heir.id: "member"}


async def test_parallel_creations_never_pass_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every creation passes the cap check before any is stored (held at the insert until all
    arrive): the cap still holds once they are."""
    async with serve(make_settings(max_teams_owned=3)) as client:
        api = Api(client)
        owner = await api.user()
        await api.team(owner, "Already Mine")
        collection = type(Team.get_motor_collection())
        original = collection.insert_one
        arrived, everyone = 0, asyncio.Event()

        async def insert_one(self: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal arrived
            if self.name == "teams":
                arrived += 1
                if arrived == 8:
                    everyone.set()
                await everyone.wait()
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(collection, "insert_one", insert_one)
        responses = await asyncio.gather(
            *(
                client.post("/teams", json={"name": f"Burst {i}"}, headers=owner.headers)
                for i in range(8)
            )
        )
        monkeypatch.setattr(collection, "insert_one", original)
        assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
        created = [r.json()["id"] for r in responses if r.status_code == 201]
        owned = [t for t in (await custom_teams(client))["items"] if t["owner_id"] == owner.id]
        assert 1 + len(created) == len(owned) <= 3
        for team in owned:
            assert await api.members(team["id"]) == [owner.id]


# --- races on membership and ownership ----------------------------------------------------------


@pytest.mark.usefixtures("yielding_database")
async def test_parallel_transfers_leave_one_owner(api: Api, client: httpx.AsyncClient) -> None:
    owner = await api.user()
    heirs = [await api.user() for _ in range(4)]
    team = await api.team(owner, "Contested")
    for heir in heirs:
        await api.join(heir, team["id"])
    url = f"/teams/{team['id']}"
    responses = await asyncio.gather(
        *(client.patch(url, json={"owner_id": h.id}, headers=owner.headers) for h in heirs)
    )
    # 403: that request was authorised after the owner had already handed the team over
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, [r.text for r in responses]
    assert set(statuses) <= {200, 403, 409}, [r.text for r in responses]
    [winner] = [h for h, r in zip(heirs, responses, strict=True) if r.status_code == 200]
    assert (await client.get(url)).json()["owner_id"] == winner.id
    roles = {
        m["user"]["id"]: m["role"] for m in (await client.get(f"{url}/members")).json()["items"]
    }
    assert [i for i, role in roles.items() if role == "owner"] == [winner.id]


async def test_a_join_overtaken_by_the_team_deletion_leaves_no_membership(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, joiner = await api.user(), await api.user()
    url = f"/teams/{(await api.team(owner))['id']}"
    answer = await overtaken_by_delete(
        monkeypatch,
        lambda: client.post(f"{url}/members", headers=joiner.headers),
        lambda: client.delete(url, headers=owner.headers),
    )
    assert_problem(answer, 404)
    assert (await client.get(f"/users/{joiner.id}/teams")).json()["total"] == 0


async def test_a_member_cannot_leave_a_team_just_handed_to_them(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leave read the team before the transfer and removes after it: refused (409), so the
    team is never owned by someone who is not a member."""
    owner, heir = await api.user(), await api.user()
    team = await api.team(owner)
    await api.join(heir, team["id"])
    url = f"/teams/{team['id']}"
    collection = type(Team.get_motor_collection())
    original = collection.delete_one
    reached, release = asyncio.Event(), asyncio.Event()

    async def delete_one(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not reached.is_set():
            reached.set()
            await release.wait()
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(collection, "delete_one", delete_one)
    leave = asyncio.create_task(client.delete(f"{url}/members/{heir.id}", headers=heir.headers))
    await reached.wait()
    r = await client.patch(url, json={"owner_id": heir.id}, headers=owner.headers)
    assert r.status_code == 200, r.text
    release.set()
    assert_problem(await leave, 409)

    assert (await client.get(url)).json()["owner_id"] == heir.id
    roles = {
        m["user"]["id"]: m["role"] for m in (await client.get(f"{url}/members")).json()["items"]
    }
    assert roles == {owner.id: "member", heir.id: "owner"}

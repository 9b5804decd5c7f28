"""Cities: slugs, the city-wide team, the home city, search and the admin endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import assert_problem
from tests.factories import Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401 (a fixture)


async def city(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    r = await client.get(f"/cities/{key}")
    assert r.status_code == 200, r.text
    return r.json()


async def city_teams(client: httpx.AsyncClient, user_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/users/{user_id}/teams")
    assert r.status_code == 200, r.text
    return [t for t in r.json()["items"] if t["kind"] == "city"]


# --- slugs and on-the-fly cities ----------------------------------------------------------


async def test_spellings_of_one_city_are_one_city(api: Api, client: httpx.AsyncClient) -> None:
    users = [await api.user(city=c) for c in ("São Paulo", "sao  paulo", "SAO-PAULO")]

    assert len({u.body["city_id"] for u in users}) == 1
    assert {u.body["city"] for u in users} == {"São Paulo"}
    body = await city(client, "sao-paulo")
    assert body["name"] == "São Paulo"
    assert body["slug"] == "sao-paulo"
    assert body["members"] == 3
    listing = (await client.get("/cities")).json()
    assert listing["total"] == 1
    assert sorted(await api.members(body["team_id"])) == sorted(u.id for u in users)


async def test_unknown_city_is_created_with_its_city_team(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Lyon")

    lyon = await city(client, "lyon")
    assert lyon["id"] == runner.body["city_id"]
    assert lyon["members"] == 1
    team = (await client.get(f"/teams/{lyon['team_id']}")).json()
    assert team["kind"] == "city"
    assert team["name"] == "Lyon"
    assert team["city_id"] == lyon["id"]
    assert team["owner_id"] is None
    assert team["members"] == 1
    [membership] = await city_teams(client, runner.id)
    assert membership["id"] == lyon["team_id"]
    assert membership["role"] == "member"


async def test_concurrent_registrations_in_a_new_city_make_one_city(
    api: Api, client: httpx.AsyncClient
) -> None:
    users = await asyncio.gather(*(api.user(city="Porto") for _ in range(10)))

    assert len({u.body["city_id"] for u in users}) == 1
    porto = await city(client, "porto")
    assert porto["members"] == 10
    teams = (await client.get("/teams", params={"kind": "city"})).json()
    assert teams["total"] == 1


# --- reads --------------------------------------------------------------------------------


async def test_search_ignores_accents_and_case(api: Api, client: httpx.AsyncClient) -> None:
    await api.user(city="São Paulo")
    await api.user(city="São Paulo")
    await api.user(city="Paris")
    await api.user(city="Porto")

    r = await client.get("/cities", params={"search": "SÃO"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"items", "total", "limit", "offset", "next"}
    assert body["total"] == 1
    assert [(c["name"], c["members"]) for c in body["items"]] == [("São Paulo", 2)]
    assert [c["name"] for c in (await client.get("/cities?search=sao")).json()["items"]] == [
        "São Paulo"
    ]
    assert [c["name"] for c in (await client.get("/cities?search=P")).json()["items"]] == [
        "Paris",
        "Porto",
        "São Paulo",
    ]
    assert (await client.get("/cities?search=madrid")).json()["total"] == 0


async def test_list_pages_through_cities_by_slug(api: Api, client: httpx.AsyncClient) -> None:
    for name in ("Zürich", "Athens", "Madrid"):
        await api.user(city=name)

    page = (await client.get("/cities", params={"limit": 2, "offset": 1})).json()

    assert page["total"] == 3
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [c["slug"] for c in page["items"]] == ["madrid", "zurich"]
    assert all(c["members"] == 1 for c in page["items"])
    assert_problem(await client.get("/cities", params={"limit": 0}), 422)


async def test_get_city_by_id_slug_or_name(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="São Paulo")
    city_id = runner.body["city_id"]

    for key in (city_id, "sao-paulo", "São Paulo", "SAO PAULO"):
        assert (await city(client, key))["id"] == city_id

    assert_problem(await client.get("/cities/atlantis"), 404)
    assert_problem(await client.get("/cities/0123456789abcdef01234567"), 404)


# --- admin writes -------------------------------------------------------------------------


async def test_admin_creates_a_city_with_its_team(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()

    r = await client.post(
        "/cities", json={"name": " Nice ", "country": "fr"}, headers=admin.headers
    )

    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["slug"], body["country"], body["members"]) == (
        "Nice",
        "nice",
        "FR",
        0,
    )
    assert await city(client, body["id"]) == body
    team = (await client.get(f"/teams/{body['team_id']}")).json()
    assert (team["kind"], team["name"], team["city_id"]) == ("city", "Nice", body["id"])
    # a runner who later names the city joins that very city
    runner = await api.user(city="NICE")
    assert runner.body["city_id"] == body["id"]
    assert (await city(client, "nice"))["members"] == 1


async def test_create_city_with_an_existing_slug_conflicts(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    await api.user(city="São Paulo")

    r = await client.post("/cities", json={"name": "SAO-PAULO"}, headers=admin.headers)

    assert_problem(r, 409)
    assert (await client.get("/cities")).json()["total"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "Nice", "country": "FRA"},
        {"name": "Nice", "country": "F1"},
        {"name": ""},
        {"name": "!!!"},
        {"name": "Nice", "population": 340_000},
        {},
    ],
)
async def test_create_city_rejects_bad_input(
    api: Api, client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    admin = await api.admin()

    assert_problem(await client.post("/cities", json=payload, headers=admin.headers), 422)

    assert (await client.get("/cities")).json()["total"] == 0
    assert (await client.get("/teams")).json()["total"] == 0


async def test_only_admins_create_cities(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user()

    assert_problem(await client.post("/cities", json={"name": "Nice"}, headers=runner.headers), 403)
    assert_problem(await client.post("/cities", json={"name": "Nice"}), 401)
    assert (await client.get("/cities")).json()["total"] == 0


async def test_admin_renames_a_city_and_its_team(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    runner = await api.user(city="Sao Paolo")
    city_id = runner.body["city_id"]

    r = await client.patch(
        f"/cities/{city_id}", json={"name": "São Paulo", "country": "br"}, headers=admin.headers
    )

    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["slug"], body["country"], body["members"]) == (
        "São Paulo",
        "sao-paulo",
        "BR",
        1,
    )
    assert (await city(client, "sao-paulo"))["id"] == city_id
    assert_problem(await client.get("/cities/sao-paolo"), 404)
    team = (await client.get(f"/teams/{body['team_id']}")).json()
    assert team["name"] == "São Paulo"
    me = (await client.get("/users/me", headers=runner.headers)).json()
    assert me["city"] == "São Paulo"
    # a newcomer spelling the new name lands in the renamed city
    newcomer = await api.user(city="sao paulo")
    assert newcomer.body["city_id"] == city_id


async def test_renaming_a_city_onto_another_conflicts(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    paris = (await api.user(city="Paris")).body["city_id"]
    await api.user(city="Lyon")

    r = await client.patch(f"/cities/{paris}", json={"name": "LYON"}, headers=admin.headers)

    assert_problem(r, 409)
    assert (await city(client, paris))["name"] == "Paris"
    # changing only the spelling of its own name is no clash
    r = await client.patch(f"/cities/{paris}", json={"name": "PARIS"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["slug"] == "paris"


async def test_update_city_permissions_and_errors(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    runner = await api.user(city="Paris")
    paris = runner.body["city_id"]

    assert_problem(
        await client.patch(f"/cities/{paris}", json={"name": "Lutece"}, headers=runner.headers),
        403,
    )
    assert_problem(await client.patch(f"/cities/{paris}", json={"name": "Lutece"}), 401)
    assert_problem(
        await client.patch("/cities/atlantis", json={"name": "X"}, headers=admin.headers), 404
    )
    assert_problem(
        await client.patch(f"/cities/{paris}", json={"country": "FRA"}, headers=admin.headers),
        422,
    )
    assert (await city(client, paris))["name"] == "Paris"
    assert (await city(client, paris))["country"] == "FR"  # the gazetteer's, unchanged


# --- home city ----------------------------------------------------------------------------


async def test_changing_home_city_moves_the_city_membership(
    api: Api, client: httpx.AsyncClient
) -> None:
    mover = await api.user(city="Paris")
    await api.user(city="Paris")
    await api.user(city="Lyon")

    r = await client.patch("/users/me", json={"city": "lyon"}, headers=mover.headers)

    assert r.status_code == 200, r.text
    assert r.json()["city"] == "Lyon"
    assert (await city(client, "paris"))["members"] == 1
    lyon = await city(client, "lyon")
    assert lyon["members"] == 2
    assert [t["id"] for t in await city_teams(client, mover.id)] == [lyon["team_id"]]
    assert mover.id in await api.members(lyon["team_id"])
    assert mover.id not in await api.members((await city(client, "paris"))["team_id"])


async def test_restating_the_home_city_changes_nothing(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="São Paulo")

    r = await client.patch("/users/me", json={"city": "SAO PAULO"}, headers=runner.headers)

    assert r.status_code == 200, r.text
    assert (await city(client, "sao-paulo"))["members"] == 1
    assert len(await city_teams(client, runner.id)) == 1


async def test_first_home_city_set_after_registration(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user()
    assert runner.body["city_id"] is None
    assert await city_teams(client, runner.id) == []

    r = await client.patch("/users/me", json={"city": "Berlin"}, headers=runner.headers)

    assert r.status_code == 200, r.text
    berlin = await city(client, "berlin")
    assert r.json()["city_id"] == berlin["id"]
    assert berlin["members"] == 1
    assert [t["name"] for t in await city_teams(client, runner.id)] == ["Berlin"]


async def test_deleting_an_account_leaves_its_city(api: Api, client: httpx.AsyncClient) -> None:
    leaving = await api.user(city="Paris")
    await api.user(city="Paris")

    assert (await client.delete("/users/me", headers=leaving.headers)).status_code == 204

    paris = await city(client, "paris")
    assert paris["members"] == 1
    assert leaving.id not in await api.members(paris["team_id"])


# --- city teams are managed by the home city ------------------------------------------------


async def test_city_teams_cannot_be_joined_left_deleted_or_invited_to(
    api: Api, client: httpx.AsyncClient
) -> None:
    parisian = await api.user(city="Paris")
    other = await api.user(city="Lyon")
    admin = await api.admin()
    team_id = (await city(client, "paris"))["team_id"]

    assert_problem(await client.post(f"/teams/{team_id}/members", headers=other.headers), 403)
    assert_problem(
        await client.delete(f"/teams/{team_id}/members/{parisian.id}", headers=parisian.headers),
        403,
    )
    assert_problem(
        await client.delete(f"/teams/{team_id}/members/{parisian.id}", headers=admin.headers), 403
    )
    assert_problem(await client.delete(f"/teams/{team_id}", headers=admin.headers), 409)
    assert_problem(await client.delete(f"/teams/{team_id}", headers=parisian.headers), 409)
    assert_problem(
        await client.post(
            f"/teams/{team_id}/invitations", json={"user_id": other.id}, headers=admin.headers
        ),
        403,
    )

    assert await api.members(team_id) == [parisian.id]
    assert (await client.get("/users/me/invitations", headers=other.headers)).json()["total"] == 0


async def test_city_team_takes_only_a_description_from_an_admin(
    api: Api, client: httpx.AsyncClient
) -> None:
    parisian = await api.user(city="Paris")
    admin = await api.admin()
    team_id = (await city(client, "paris"))["team_id"]
    url = f"/teams/{team_id}"

    r = await client.patch(url, json={"description": "Run the Seine"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "Run the Seine"

    for change in ({"name": "Lutece"}, {"visibility": "invite"}, {"owner_id": parisian.id}):
        assert_problem(await client.patch(url, json=change, headers=admin.headers), 403)
    assert_problem(
        await client.patch(url, json={"description": "mine"}, headers=parisian.headers), 403
    )
    assert_problem(await client.patch(url, json={"description": "anon"}), 401)

    team = (await client.get(url)).json()
    assert (team["name"], team["visibility"], team["owner_id"], team["description"]) == (
        "Paris",
        "open",
        None,
        "Run the Seine",
    )


async def test_a_custom_team_cannot_take_over_a_city_team(
    api: Api, client: httpx.AsyncClient
) -> None:
    squatter = await api.user()

    r = await client.post("/teams", json={"name": "city:lyon"}, headers=squatter.headers)
    assert_problem(r, 422)

    runner = await api.user(city="Lyon")
    lyon = await city(client, "lyon")
    team = (await client.get(f"/teams/{lyon['team_id']}")).json()
    assert (team["kind"], team["owner_id"], team["name"]) == ("city", None, "Lyon")
    assert await api.members(lyon["team_id"]) == [runner.id]


# --- races (a yielding store interleaves concurrent requests at every database call) --------


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_renames_onto_one_name_one_wins_the_rest_conflict(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    ids = []
    for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"):
        r = await client.post("/cities", json={"name": name}, headers=admin.headers)
        ids.append(r.json()["id"])

    responses = await asyncio.gather(
        *(client.patch(f"/cities/{i}", json={"name": "Unity"}, headers=admin.headers) for i in ids)
    )

    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409)
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert (await city(client, "unity"))["id"] == winner["id"]
    names = sorted(c["name"] for c in (await client.get("/cities")).json()["items"])
    assert names.count("Unity") == 1
    team = (await client.get(f"/teams/{winner['team_id']}")).json()
    assert team["name"] == "Unity"


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_home_city_changes_leave_one_city_membership(
    api: Api, client: httpx.AsyncClient
) -> None:
    mover = await api.user(city="Paris")
    await api.user(city="Lyon")  # Lyon exists; the others are created by the race
    choices = ["Lyon", "Berlin", "Rome", "Oslo", "Madrid", "Lyon"]

    for round_ in range(4):  # each round interleaves differently
        order = choices[round_:] + choices[:round_]
        responses = await asyncio.gather(
            *(client.patch("/users/me", json={"city": c}, headers=mover.headers) for c in order)
        )
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]

        me = (await client.get("/users/me", headers=mover.headers)).json()
        home = await city(client, me["city_id"])
        assert [t["id"] for t in await city_teams(client, mover.id)] == [home["team_id"]]
        # every city team's member count equals its members (checked by api.members)
        for c in (await client.get("/cities")).json()["items"]:
            members = await api.members(c["team_id"])
            assert (mover.id in members) == (c["id"] == home["id"])

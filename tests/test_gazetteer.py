"""Cities from the gazetteer: lookup, resolving names, city_id, suggestions, legacy slugs."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from documents import City, Team, User
from service.cities import gazetteer
from service.cities.slug import slugify
from service.settings import Settings
from tests.conftest import assert_problem, make_settings
from tests.factories import Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401 (a fixture)

SAO_PAULO = 3448439
PORTLAND_OR, PORTLAND_ME = 5746545, 4975802


@pytest.fixture
def settings() -> Settings:
    # room for a dozen registrations hashing at once (the default queue is 4 per CPU)
    return make_settings(hash_queue=64)


@pytest.fixture(scope="module")
def gz() -> gazetteer.Gazetteer:
    return gazetteer._load_sync()


async def register(client: httpx.AsyncClient, n: int, **city: Any) -> httpx.Response:
    payload = {"name": f"Local {n}", "email": f"local{n}@example.com", "password": "password123"}
    return await client.post("/auth/register", json={**payload, **city})


async def cities_total(client: httpx.AsyncClient) -> int:
    return int((await client.get("/cities")).json()["total"])


# --- the index ----------------------------------------------------------------------------


def test_names_fold_exactly_like_city_slugs(gz: gazetteer.Gazetteer) -> None:
    names = sorted({p.name for p in gz.places.values()})
    sample = random.Random(5).sample(names, 3000)
    sample += ["São Paulo", "Łódź", "Москва", "Zürich", "Sankt Pölten", "L'Aquila", "A&B, 1,000"]
    assert [gazetteer.fold(n) for n in sample] == [slugify(n) for n in sample]


def test_lookup_is_a_folded_prefix_most_populous_first(gz: gazetteer.Gazetteer) -> None:
    for query in ("sao pa", "SÃO PA", "São-Pa", "  sao   pa "):
        assert gz.lookup(query, limit=3)[0].geonameid == SAO_PAULO
    found = gz.lookup("port", limit=20)
    assert len(found) == 20
    primary = [p for p in found if p.key.startswith("port")]
    assert primary[0].name != "Port"  # no city is called just "Port": the most populous first
    populations = [p.population or 0 for p in primary]
    assert populations == sorted(populations, reverse=True)
    # the exact name comes before bigger cities that merely start with it
    assert [p.name for p in gz.lookup("Porto", limit=2)] == ["Porto", "Porto Alegre"]


def test_lookup_is_bounded(gz: gazetteer.Gazetteer) -> None:
    assert len(gz.lookup("a", limit=1000)) == gazetteer.MAX_LOOKUP
    assert len(gz.lookup("a", limit=0)) == 1
    assert gz.lookup("!!!") == []
    assert gz.lookup("qqqqqqqq") == []


def test_a_name_resolves_to_its_most_populous_city(gz: gazetteer.Gazetteer) -> None:
    def resolved(text: str) -> int | None:
        place = gz.resolve(text)
        return place.geonameid if place else None

    assert resolved("Portland") == PORTLAND_OR
    assert resolved("portland, us") == PORTLAND_OR
    assert resolved("Portland, Oregon") == PORTLAND_OR
    assert resolved("Portland, Maine") == PORTLAND_ME
    assert resolved("PORTLAND, ME, US") == PORTLAND_ME
    assert resolved("Portland, United States") == PORTLAND_OR
    assert resolved("Portland, FR") is None
    # alternate names count after primary names: "New York" is New York City
    new_york = gz.resolve("New York")
    assert new_york is not None
    assert (new_york.name, new_york.country, new_york.region) == ("New York City", "US", "New York")
    assert resolved("Atlantis-on-Sea") is None
    assert [p.geonameid for p in gz.suggestions("Sao Paolx")][:1] == [SAO_PAULO]


# --- GET /cities/lookup -------------------------------------------------------------------


async def test_lookup_lists_gazetteer_cities_with_country_and_region(
    api: Api, client: httpx.AsyncClient
) -> None:
    r = await client.get("/cities/lookup", params={"q": "portland"})

    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["name"], i["country"], i["region"]) for i in items[:2]] == [
        ("Portland", "US", "Oregon"),
        ("Portland", "US", "Maine"),
    ]
    oregon = items[0]
    assert oregon["geonameid"] == PORTLAND_OR
    assert oregon["country_name"] == "United States"
    assert oregon["region_code"] == "OR"
    assert oregon["population"] > 500_000
    assert (round(oregon["latitude"]), round(oregon["longitude"])) == (46, -123)
    assert oregon["city_id"] is None  # nobody lives there yet: nothing stored by a lookup
    assert await cities_total(client) == 0

    sao = (await client.get("/cities/lookup", params={"q": "sao pa", "limit": 1})).json()
    assert [(i["name"], i["country"]) for i in sao["items"]] == [("São Paulo", "BR")]
    runner = await api.user(city="São Paulo")
    again = (await client.get("/cities/lookup", params={"q": "SÃO PAULO", "limit": 1})).json()
    assert again["items"][0]["city_id"] == runner.body["city_id"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "!!!"},
        {"q": "par\x00is"},
        {"q": "x" * 81},
        {"q": "par", "limit": 21},
        {"q": "par", "limit": 0},
    ],
)
async def test_lookup_rejects_bad_queries(client: httpx.AsyncClient, params: dict) -> None:
    assert_problem(await client.get("/cities/lookup", params=params), 422)


# --- city and city_id at registration and in PATCH /users/me -------------------------------


async def test_city_id_of_a_gazetteer_city_creates_it_with_its_team_once(
    api: Api, client: httpx.AsyncClient
) -> None:
    first = await register(client, 1, city_id=SAO_PAULO)
    second = await register(client, 2, city_id=str(SAO_PAULO))

    assert (first.status_code, second.status_code) == (201, 201)
    city_id = first.json()["city_id"]
    assert second.json()["city_id"] == city_id
    assert first.json()["city"] == "São Paulo"
    body = (await client.get(f"/cities/{city_id}")).json()
    assert (body["geonameid"], body["slug"], body["country"], body["members"]) == (
        SAO_PAULO,
        "sao-paulo",
        "BR",
        2,
    )
    assert body["population"] > 10_000_000
    assert (round(body["latitude"]), round(body["longitude"])) == (-24, -47)
    teams = (await client.get("/teams", params={"kind": "city"})).json()
    assert [t["name"] for t in teams["items"]] == ["São Paulo"]
    # the name and the lookup land in the same city
    assert (await api.user(city="sao paulo")).body["city_id"] == city_id


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_first_uses_of_a_gazetteer_city_make_one_city(
    client: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(register(client, n, city_id=PORTLAND_ME) for n in range(8)),
        *(register(client, n, city="Portland, Maine") for n in range(8, 12)),
    )

    assert [r.status_code for r in responses] == [201] * 12
    assert len({r.json()["city_id"] for r in responses}) == 1
    assert await City.find({"geonameid": PORTLAND_ME}).count() == 1
    assert await Team.find(Team.kind == "city").count() == 1
    body = (await client.get(f"/cities/{responses[0].json()['city_id']}")).json()
    assert body["members"] == 12
    # Portland, Oregon keeps the bare slug: "portland" is what the bare name resolves to
    assert body["slug"] == "portland-us-me"


async def test_same_named_cities_are_told_apart(api: Api, client: httpx.AsyncClient) -> None:
    maine = await api.user(city="Portland, ME")
    oregon = await api.user(city="Portland")
    also_oregon = await api.user(city="portland, us")

    assert maine.body["city_id"] != oregon.body["city_id"]
    assert also_oregon.body["city_id"] == oregon.body["city_id"]
    assert (await client.get("/cities/portland")).json()["id"] == oregon.body["city_id"]
    assert (await client.get("/cities/portland-us-me")).json()["region"] == "Maine"


async def test_unknown_city_is_422_with_suggestions_and_stores_nothing(
    api: Api, client: httpx.AsyncClient
) -> None:
    r = await register(client, 1, city="Sao Paolx")

    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "city"]  # type: ignore[index]
    suggestions: Any = body["suggestions"]
    assert suggestions[0]["name"] == "São Paulo"
    assert suggestions[0]["geonameid"] == SAO_PAULO
    assert "São Paulo" in str(body["detail"])
    assert await cities_total(client) == 0
    assert await User.find_all().count() == 0
    assert (await register(client, 1, city_id=suggestions[0]["geonameid"])).status_code == 201

    runner = await api.user(city="Lyon")
    r = await client.patch("/users/me", json={"city": "Lyonx Qq"}, headers=runner.headers)
    assert_problem(r, 422)
    me = (await client.get("/users/me", headers=runner.headers)).json()
    assert me["city"] == "Lyon"
    assert await cities_total(client) == 2


@pytest.mark.parametrize(
    "city",
    [
        {"city_id": 999_999_999},
        {"city_id": 0},
        {"city_id": "atlantis"},
        {"city_id": ""},
        {"city_id": None, "city": "!!!"},
        {"city": "Paris", "city_id": 2988507},
        {"city_id": [2988507]},
    ],
)
async def test_bad_city_choices_are_422(
    api: Api, client: httpx.AsyncClient, city: dict[str, Any]
) -> None:
    assert_problem(await register(client, 1, **city), 422)
    runner = await api.user()
    assert_problem(await client.patch("/users/me", json=city, headers=runner.headers), 422)
    assert await cities_total(client) == 0
    assert await User.find_all().count() == 1


async def test_patch_city_id_moves_the_home_city(api: Api, client: httpx.AsyncClient) -> None:
    runner = await api.user(city="Paris")

    r = await client.patch("/users/me", json={"city_id": PORTLAND_OR}, headers=runner.headers)

    assert r.status_code == 200, r.text
    assert r.json()["city"] == "Portland"
    portland = (await client.get("/cities/portland")).json()
    assert portland["members"] == 1
    assert (await client.get("/cities/paris")).json()["members"] == 0
    # our own id (or slug) of a stored city works too
    r = await client.patch("/users/me", json={"city_id": "paris"}, headers=runner.headers)
    assert r.json()["city"] == "Paris"


# --- custom cities and cities stored before the gazetteer ----------------------------------


async def test_custom_cities_are_reachable_by_name_and_id(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    r = await client.post("/cities", json={"name": "Atlantis"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    atlantis = r.json()
    assert (atlantis["geonameid"], atlantis["population"]) == (None, None)

    by_name = await api.user(city="ATLANTIS")
    by_id = await register(client, 1, city_id=atlantis["id"])

    assert by_name.body["city_id"] == atlantis["id"]
    assert by_id.json()["city_id"] == atlantis["id"]
    assert (await client.get(f"/cities/{atlantis['id']}")).json()["members"] == 2


async def test_a_city_stored_before_the_gazetteer_keeps_its_slug_and_members(
    api: Api, client: httpx.AsyncClient
) -> None:
    # as an existing database holds it: free text, no gazetteer fields
    legacy = await City(name="Lisbon", slug="lisbon").insert()

    runner = await api.user(city="Lisbon")

    assert runner.body["city_id"] == str(legacy.id)
    body = (await client.get("/cities/lisbon")).json()
    assert (body["id"], body["country"], body["members"]) == (str(legacy.id), "PT", 1)
    assert body["geonameid"] is not None
    assert body["population"] > 100_000
    assert await cities_total(client) == 1

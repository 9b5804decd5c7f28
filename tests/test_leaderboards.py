"""The public leaderboards through the API: shape, ranking, pagination, periods and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from documents import Team
from service.cities import service as cities
from service.cities.schemas import CityCreate
from service.leaderboards import service as leaderboards
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.leaderboard_world import World

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock

DAY = datetime(2026, 1, 14, 9, tzinfo=UTC)  # a Wednesday


async def _setup(world: World) -> dict[str, Any]:
    """Two cities, four runners, teams with equal scores so that ranks tie."""
    lisbon, oslo = await world.city("Lisbon"), await world.city("Oslo")
    ana = await world.user("Ana", lisbon)
    bob = await world.user("bob", lisbon)
    cid = await world.user("Cid", oslo)
    dan = await world.user("Dan", oslo)
    zeta = await world.team("Zeta", ana, lisbon)
    alpha = await world.team("alpha", bob)
    beta = await world.team("Beta", cid)
    await world.join(dan, beta)
    await world.run(ana, team_id=zeta.id, started_at=DAY, score=300, distance_km=10.25)
    await world.run(bob, team_id=alpha.id, started_at=DAY, score=300)
    await world.run(cid, team_id=beta.id, started_at=DAY, score=100)
    await world.run(dan, team_id=beta.id, started_at=DAY, score=200)
    await world.run(dan, team_id=oslo.team_id, started_at=DAY, score=50)
    return {"lisbon": lisbon, "oslo": oslo, "zeta": zeta, "alpha": alpha, "beta": beta}


async def test_team_board_ranks_ties_by_name_and_echoes_the_period(
    client: httpx.AsyncClient,
) -> None:
    world = World()
    things = await _setup(world)
    r = await client.get("/leaderboards/teams", params={"at": "2026-01-14"})
    assert r.status_code == 200
    body = r.json()
    assert body["period"] == {
        "kind": "week",
        "from": "2026-01-12T00:00:00Z",
        "to": "2026-01-19T00:00:00Z",
    }
    assert (body["total"], body["limit"], body["offset"]) == (4, 20, 0)
    # three teams tie on 300: competition ranks 1, 1, 1, 4; ties by name, case-insensitively
    assert [(i["rank"], i["team"]["name"], i["score"]) for i in body["items"]] == [
        (1, "alpha", 300),
        (1, "Beta", 300),
        (1, "Zeta", 300),
        (4, "Oslo", 50),
    ]
    zeta = body["items"][2]
    assert zeta == {
        "rank": 1,
        "team": {
            "id": str(things["zeta"].id),
            "name": "Zeta",
            "kind": "custom",
            "city_id": str(things["lisbon"].id),
        },
        "score": 300,
        "distance_km": 10.25,
        "runs": 1,
        "members": 1,
        "score_per_member": 300.0,
    }
    assert body["items"][1]["members"] == 2
    assert body["items"][1]["score_per_member"] == 150.0


async def test_team_board_filters_by_kind_and_city(client: httpx.AsyncClient) -> None:
    world = World()
    things = await _setup(world)
    params = {"period": "all"}
    custom = (await client.get("/leaderboards/teams", params={**params, "kind": "custom"})).json()
    assert [i["team"]["name"] for i in custom["items"]] == ["alpha", "Beta", "Zeta"]
    city = (await client.get("/leaderboards/teams", params={**params, "kind": "city"})).json()
    assert [i["team"]["name"] for i in city["items"]] == ["Oslo"]
    lisbon = str(things["lisbon"].id)
    in_lisbon = await client.get("/leaderboards/teams", params={**params, "city_id": lisbon})
    assert [i["team"]["name"] for i in in_lisbon.json()["items"]] == ["Zeta"]


async def test_city_board_by_score_and_per_member(client: httpx.AsyncClient) -> None:
    world = World()
    await _setup(world)
    r = await client.get("/leaderboards/cities", params={"period": "day", "at": "2026-01-14"})
    rows = [(i["rank"], i["city"]["slug"], i["score"], i["members"]) for i in r.json()["items"]]
    assert rows == [(1, "lisbon", 600, 2), (2, "oslo", 350, 2)]
    # a small city beats a big one per head
    await world.user("Eve", world.cities[0])
    r = await client.get(
        "/leaderboards/cities",
        params={"period": "day", "at": "2026-01-14", "order": "score_per_member"},
    )
    rows = [(i["rank"], i["city"]["slug"], i["score_per_member"]) for i in r.json()["items"]]
    assert rows == [(1, "lisbon", 200.0), (2, "oslo", 175.0)]  # 600 / 3 members, 350 / 2


async def test_small_city_beats_big_city_per_member(client: httpx.AsyncClient) -> None:
    world = World()
    big, small = await world.city("Tokyo"), await world.city("Vaduz")
    runners = [await world.user(f"Runner {i}", big) for i in range(4)]
    local = await world.user("Local", small)
    for runner in runners:
        await world.run(runner, team_id=big.team_id, started_at=DAY, score=100)
    await world.run(local, team_id=small.team_id, started_at=DAY, score=250)
    params = {"period": "month", "at": "2026-01-01"}
    by_score = (await client.get("/leaderboards/cities", params=params)).json()["items"]
    assert [i["city"]["name"] for i in by_score] == ["Tokyo", "Vaduz"]
    per_member = await client.get(
        "/leaderboards/cities", params={**params, "order": "score_per_member"}
    )
    items = per_member.json()["items"]
    assert [(i["rank"], i["city"]["name"], i["score_per_member"]) for i in items] == [
        (1, "Vaduz", 250.0),
        (2, "Tokyo", 100.0),
    ]


async def test_small_town_beats_a_capital_per_capita(client: httpx.AsyncClient) -> None:
    world = World()
    tokyo, vaduz = await world.city("Tokyo"), await world.city("Vaduz")
    # a custom city (admin-made, not in the gazetteer) has no population
    atlantis = await cities.store(await cities.create(data=CityCreate(name="Atlantis")))
    assert (tokyo.population or 0) > 9_000_000
    assert vaduz.population == 5197
    runners = [await world.user(f"Runner {i}", tokyo) for i in range(4)]
    local = await world.user("Local", vaduz)
    diver = await world.user("Diver", atlantis)
    for runner in runners:
        await world.run(runner, team_id=tokyo.team_id, started_at=DAY, score=1000)
    await world.run(local, team_id=vaduz.team_id, started_at=DAY, score=250)
    await world.run(diver, team_id=atlantis.team_id, started_at=DAY, score=9000)
    params = {"period": "month", "at": "2026-01-01", "order": "score_per_capita"}

    r = await client.get("/leaderboards/cities", params=params)

    assert r.status_code == 200, r.text
    rows = [
        (i["rank"], i["city"]["name"], i["population"], i["score_per_capita"])
        for i in r.json()["items"]
    ]
    assert rows == [
        (1, "Vaduz", 5197, round(250 * 100_000 / 5197, 2)),
        (2, "Tokyo", tokyo.population, round(4000 * 100_000 / tokyo.population, 2)),
        (3, "Atlantis", None, None),  # without a population: after every city that has one
    ]
    by_score = await client.get("/leaderboards/cities", params={**params, "order": "score"})
    assert [i["city"]["name"] for i in by_score.json()["items"]] == ["Atlantis", "Tokyo", "Vaduz"]
    assert_problem(
        await client.get("/leaderboards/cities", params={**params, "order": "per_capita"}), 422
    )


def test_per_capita_order_puts_cities_without_population_last_by_score() -> None:
    def row(name: str, score: int, population: int | None) -> dict[str, Any]:
        per_capita = leaderboards.score_per_capita(score, population)
        return {
            "_id": name,
            "sort_name": name.lower(),
            "score": score,
            "score_per_capita": per_capita,
        }

    rows = [
        row("a", 10, None),
        row("b", 50, None),
        row("c", 1, 100_000),
        row("d", 2, 200_000),
        row("e", 3, 100_000),
        row("f", 0, 0),  # a population of 0 is no population
    ]
    ordered = leaderboards.per_capita_order(rows)
    assert [r["_id"] for r in ordered] == ["e", "c", "d", "b", "a", "f"]
    keys = [r["per_capita_rank_key"] for r in ordered]
    assert leaderboards.competition_ranks(keys) == [1, 2, 2, 4, 5, 6]


async def test_user_board_counts_runs_where_they_were_credited(client: httpx.AsyncClient) -> None:
    world = World()
    things = await _setup(world)
    dan = world.users[3]
    await world.move(dan, things["lisbon"])  # Dan moves; his Oslo runs stay Oslo's
    lisbon, oslo = str(things["lisbon"].id), str(things["oslo"].id)
    r = await client.get("/leaderboards/users", params={"period": "all", "city_id": oslo})
    rows = [
        (i["rank"], i["user"]["name"], i["score"], i["user"]["city_id"]) for i in r.json()["items"]
    ]
    assert rows == [(1, "Dan", 250, lisbon), (2, "Cid", 100, oslo)]
    r = await client.get("/leaderboards/users", params={"period": "all"})
    assert [(i["rank"], i["user"]["name"]) for i in r.json()["items"]] == [
        (1, "Ana"),
        (1, "bob"),
        (3, "Dan"),
        (4, "Cid"),
    ]


async def test_ranks_hold_on_every_page(client: httpx.AsyncClient) -> None:
    world = World()
    city = await world.city("Lima")
    scores = [90, 80, 80, 80, 70, 60, 60]
    for i, score in enumerate(scores):
        runner = await world.user(f"R{i}", city)
        await world.run(runner, team_id=city.team_id, started_at=DAY, score=score)
    ranks = []
    for offset in range(0, 7, 2):
        r = await client.get(
            "/leaderboards/users", params={"period": "all", "limit": 2, "offset": offset}
        )
        assert r.json()["total"] == 7
        ranks += [i["rank"] for i in r.json()["items"]]
    assert ranks == [1, 2, 2, 2, 5, 6, 6]
    past_the_end = await client.get("/leaderboards/users", params={"period": "all", "offset": 50})
    assert past_the_end.json()["items"] == []
    assert past_the_end.json()["total"] == 7


async def test_entities_without_runs_in_the_period_are_left_out(client: httpx.AsyncClient) -> None:
    world = World()
    await _setup(world)
    empty = await client.get("/leaderboards/teams", params={"period": "week", "at": "2026-01-21"})
    assert empty.json()["items"] == []
    assert empty.json()["total"] == 0
    everything = await client.get(
        "/leaderboards/users", params={"period": "year", "at": "2026-06-01"}
    )
    assert everything.json()["total"] == 4


async def test_the_default_period_is_this_week(client: httpx.AsyncClient, api: Api) -> None:
    runner: Account = await api.user("Walker", city="Bergen")
    now = datetime.now(UTC).replace(microsecond=0)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0)
    await api.run(runner, started_at=monday.isoformat(), distance_km=10, duration_s=3000)
    # one second before the week (another runner: one runner's runs cannot overlap)
    sleeper: Account = await api.user("Sleeper", city="Bergen")
    await api.run(sleeper, started_at=(monday - timedelta(seconds=1)).isoformat())
    r = await client.get("/leaderboards/users")
    body = r.json()
    assert body["period"]["kind"] == "week"
    assert body["period"]["from"] == monday.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [(i["user"]["name"], i["runs"], i["score"]) for i in body["items"]] == [
        ("Walker", 1, 956)
    ]


async def test_runs_recorded_edited_and_deleted_through_the_api_move_the_boards(
    client: httpx.AsyncClient, api: Api
) -> None:
    ana = await api.user("Ana", city="Lisbon")
    crew = await api.team(ana, "Crew")
    first = await api.run(ana, started_at="2026-01-14T07:00:00Z", distance_km=10, duration_s=3000)
    again = await api.run(
        ana, started_at="2026-01-15T07:00:00Z", team_id=crew["id"], idempotency_key="k1"
    )
    retry = await client.post(
        "/runs",
        json={
            "started_at": "2026-01-15T07:00:00Z",
            "distance_km": 5.0,
            "duration_s": 1800,
            "team_id": crew["id"],
        },
        headers={**ana.headers, "Idempotency-Key": "k1"},
    )
    assert retry.status_code == 200
    assert retry.json()["id"] == again["id"]
    params = {"period": "custom", "from": "2026-01-01", "to": "2026-02-01"}

    async def board() -> list[tuple[str, int, int]]:
        r = await client.get("/leaderboards/teams", params=params)
        return [(i["team"]["name"], i["score"], i["runs"]) for i in r.json()["items"]]

    assert await board() == [("Lisbon", 956, 1), ("Crew", again["score"], 1)]
    r = await client.patch(
        f"/runs/{first['id']}", json={"team_id": crew["id"]}, headers=ana.headers
    )
    assert r.status_code == 200, r.text
    assert await board() == [("Crew", 956 + again["score"], 2)]
    r = await client.delete(f"/runs/{again['id']}", headers=ana.headers)
    assert r.status_code == 204
    assert await board() == [("Crew", 956, 1)]
    members = await client.get(f"/teams/{crew['id']}/leaderboard", params=params)
    assert [(i["user"]["name"], i["score"]) for i in members.json()["items"]] == [("Ana", 956)]


async def test_team_member_board_and_deleted_teams(client: httpx.AsyncClient) -> None:
    world = World()
    things = await _setup(world)
    beta = things["beta"]
    r = await client.get(f"/teams/{beta.id}/leaderboard", params={"period": "all"})
    assert [(i["rank"], i["user"]["name"], i["score"]) for i in r.json()["items"]] == [
        (1, "Dan", 200),
        (2, "Cid", 100),
    ]
    await world.delete_team(beta)
    r = await client.get("/leaderboards/teams", params={"period": "all"})
    assert "Beta" not in [i["team"]["name"] for i in r.json()["items"]]
    assert r.json()["total"] == 3
    # its runs still count for their runners and cities
    cities = (await client.get("/leaderboards/cities", params={"period": "all"})).json()
    assert [(c["city"]["name"], c["score"]) for c in cities["items"]] == [
        ("Lisbon", 600),
        ("Oslo", 350),
    ]
    assert_problem(await client.get(f"/teams/{beta.id}/leaderboard"), 404)


@pytest.mark.parametrize(
    "path", ["/teams/000000000000000000000000/leaderboard", "/teams/not-an-id/leaderboard"]
)
async def test_unknown_team_is_404(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"period": "fortnight"},
        {"period": "custom", "from": "2026-02-02", "to": "2026-02-02"},
        {"period": "custom", "from": "2026-02-03", "to": "2026-02-02"},
        {"period": "custom", "from": "2026-02-03"},
        {"period": "week", "from": "2026-02-03", "to": "2026-02-10"},
        {"at": "2026-13-01"},
        {"period": "year", "at": "9999-06-01"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"city_id": "lisbon"},
        {"kind": "club"},
    ],
)
async def test_bad_parameters_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    body = assert_problem(await client.get("/leaderboards/teams", params=params), 422)
    assert body["detail"]


async def test_bad_order_and_bad_period_on_every_board_are_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/leaderboards/cities", params={"order": "members"}), 422)
    for path in ("/leaderboards/cities", "/leaderboards/users"):
        assert_problem(await client.get(path, params={"period": "decade"}), 422)
    team = await Team(name="T", name_key="t").insert()
    assert_problem(
        await client.get(f"/teams/{team.id}/leaderboard", params={"period": "custom"}), 422
    )

"""Board totals: boards stay equal to the runs after renames; `around=me` on every board."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from documents import BoardTotal, Membership, Team, User
from service.leaderboards import rebuild
from service.security import create_access_token
from service.settings import Settings
from tests.conftest import assert_problem
from tests.factories import Api
from tests.leaderboard_world import START, World, fetch, normalized, oracle, random_world
from tests.test_pipelines import assert_boards_match

pytestmark = pytest.mark.clock  # boards for this day/week/month/year

AT = (START.date().replace(day=15)).isoformat()  # inside the world's runs


def _headers(settings: Settings, user: User) -> dict[str, str]:
    token, _ = create_access_token(settings, user)
    return {"Authorization": f"Bearer {token}"}


async def test_boards_follow_renames_of_runners_teams_and_cities(
    client: httpx.AsyncClient, api: Api, settings: Settings
) -> None:
    world = await random_world(random.Random(21), runs=60)
    # names that move rows across ties: the first runner, team and city go last in name order
    runner = world.users[1]
    r = await client.patch(
        "/users/me", json={"name": "Zz Renamed"}, headers=_headers(settings, runner)
    )
    assert r.status_code == 200, r.text
    team = world.teams[0]
    owner = await User.get(team.owner_id)
    assert owner is not None
    r = await client.patch(
        f"/teams/{team.id}", json={"name": "zzz crew"}, headers=_headers(settings, owner)
    )
    assert r.status_code == 200, r.text
    admin = await api.admin()
    city = world.cities[0]
    r = await client.patch(f"/cities/{city.id}", json={"name": "Aaa Town"}, headers=admin.headers)
    assert r.status_code == 200, r.text

    rows = BoardTotal.get_motor_collection()
    assert await rows.count_documents({"entity_id": runner.id, "sort_name": "zz renamed"}) > 0
    assert (
        await rows.count_documents({"entity_id": runner.id, "sort_name": {"$ne": "zz renamed"}})
        == 0
    )
    assert await rows.count_documents({"entity_id": city.team_id, "sort_name": "aaa town"}) > 0
    assert await assert_boards_match(client, world) > 300
    assert (await rebuild.verify()).clean


async def test_a_deleted_team_leaves_the_boards_and_edits_of_its_runs_do_not_bring_it_back(
    client: httpx.AsyncClient,
) -> None:
    rng = random.Random(4)
    world = await random_world(rng, runs=60)
    gone = world.teams[2]
    await world.delete_team(gone)
    assert (
        await BoardTotal.get_motor_collection().count_documents(
            {"kind": "team", "entity_id": gone.id}
        )
        == 0
    )
    for run in [r for r in world.runs if r.team_id == gone.id][:3]:
        await world.edit(run, score=run.score + 7)
    board = await fetch(client, "/leaderboards/teams", period="all")
    assert str(gone.id) not in {item["team"]["id"] for item in board["items"]}
    assert normalized(board["items"]) == normalized(await oracle(world, "teams", None, None))
    assert (await rebuild.verify()).clean


# --- around=me ------------------------------------------------------------------------------


def _expected_window(items: list[dict[str, Any]], mine: set[str], key: str) -> dict[str, Any]:
    at = next((i for i, item in enumerate(items) if item[key]["id"] in mine), None)
    if at is None:
        return {"items": [], "offset": 0}
    start = max(0, at - 2)
    return {"items": items[start : at + 3], "offset": start}


async def _boards_of(world: World, user: User) -> list[tuple[str, dict[str, str], str, set[str]]]:
    """(path, query, entity key, the caller's entity ids) of every board."""
    teams = {str(m.team_id) for m in await Membership.find(Membership.user_id == user.id).to_list()}
    me = {str(user.id)}
    home = {str(user.city_id)} if user.city_id else set()
    boards = [
        ("/leaderboards/users", {}, "user", me),
        ("/leaderboards/teams", {}, "team", teams),
        ("/leaderboards/teams", {"kind": "custom"}, "team", teams),
        ("/leaderboards/cities", {}, "city", home),
        ("/leaderboards/cities", {"order": "score_per_member"}, "city", home),
        ("/leaderboards/cities", {"order": "score_per_capita"}, "city", home),
    ]
    if user.city_id is not None:
        boards.append(("/leaderboards/users", {"city_id": str(user.city_id)}, "user", me))
    for team_id in sorted(teams)[:2]:
        boards.append((f"/teams/{team_id}/leaderboard", {}, "user", me))
    return boards


@pytest.mark.parametrize(
    "period",
    [
        {"period": "all"},
        {"period": "month", "at": AT},
        {"period": "week", "at": AT},
        {"period": "custom", "from": "2025-12-10", "to": "2026-02-20"},
    ],
)
async def test_around_me_is_the_callers_row_and_its_neighbours_on_every_board(
    client: httpx.AsyncClient, settings: Settings, period: dict[str, str]
) -> None:
    world = await random_world(random.Random(6), runs=120)
    compared = 0
    for user in world.users[::3]:
        fresh = await User.get(user.id)
        assert fresh is not None
        headers = _headers(settings, fresh)
        for path, query, key, mine in await _boards_of(world, fresh):
            full = await fetch(client, path, **period, **query)
            r = await client.get(path, params={**period, **query, "around": "me"}, headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            expected = _expected_window(full["items"], mine, key)
            assert body["items"] == expected["items"], (path, query, fresh.name)
            assert body["offset"] == expected["offset"]
            assert body["total"] == full["total"]
            compared += bool(expected["items"])
    assert compared > 10


async def test_around_me_needs_a_token_and_is_empty_without_a_row(
    client: httpx.AsyncClient, api: Api
) -> None:
    world = await random_world(random.Random(2), runs=20)
    team = world.teams[0]
    for path in (
        "/leaderboards/users",
        "/leaderboards/teams",
        "/leaderboards/cities",
        f"/teams/{team.id}/leaderboard",
    ):
        assert_problem(await client.get(path, params={"around": "me"}), 401)
        bad = {"Authorization": "Bearer not-a-token"}
        assert_problem(await client.get(path, params={"around": "me"}, headers=bad), 401)
        assert_problem(await client.get(path, params={"around": "you"}), 422)
        # the boards stay public: a stale token without around changes nothing
        assert (await client.get(path, headers=bad)).status_code == 200
        newcomer = await api.user()  # no runs, no team, no city
        r = await client.get(
            path, params={"period": "all", "around": "me"}, headers=newcomer.headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["items"] == []
        assert r.json()["total"] == (await fetch(client, path, period="all"))["total"] > 0


async def test_around_me_on_a_deleted_teams_board_is_404(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    world = await random_world(random.Random(2), runs=20)
    team = world.teams[1]
    owner = await User.get(team.owner_id)
    assert owner is not None
    await world.delete_team(team)
    assert await Team.get(team.id) is None
    r = await client.get(
        f"/teams/{team.id}/leaderboard", params={"around": "me"}, headers=_headers(settings, owner)
    )
    assert_problem(r, 404)


def test_custom_period_pages_sort_and_cut_before_any_lookup() -> None:
    from datetime import UTC, datetime

    from service.leaderboards import pipelines
    from service.leaderboards.periods import Period

    period = Period("custom", datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC))
    cut = pipelines.runner_scores(period, skip=40, limit=20)
    stages = [next(iter(stage)) for stage in cut]
    assert stages[-3:] == ["$sort", "$skip", "$limit"]
    assert "$lookup" not in stages
    assert cut[-2:] == [{"$skip": 40}, {"$limit": 20}]
    band = pipelines.runner_band(period, low=5, high=9)
    stages = [next(iter(stage)) for stage in band]
    # the names are looked up only for the runners of the band, after it is selected
    assert stages.index("$lookup") > stages.index("$match", 1)
    assert band[stages.index("$match", 1)] == {"$match": {"score": {"$gte": 5, "$lte": 9}}}
    assert "$lookup" not in {next(iter(s)) for s in pipelines.runner_count(period, above=3)}

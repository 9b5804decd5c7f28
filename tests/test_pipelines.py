"""Every leaderboard pipeline against the plain-Python oracle, on randomized data.

For each period kind (all, day, week, month, year, custom) every board — teams (all, by kind,
by city), cities (by score, per member and per capita), users (all, by city) and each team's
runners — must equal what the runs say; again after edits and deletes; and the rebuild pipeline must
find nothing to repair.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from beanie import PydanticObjectId

from service.leaderboards import periods, pipelines, rebuild
from tests.leaderboard_world import (
    START,
    World,
    fetch,
    normalized,
    oracle,
    period_cases,
    random_world,
)


def _bounds(params: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    from datetime import date

    def day(name: str) -> date | None:
        return date.fromisoformat(params[name]) if name in params else None

    period = periods.resolve(
        params["period"],  # type: ignore[arg-type]
        at=day("at"),
        from_=day("from"),
        to=day("to"),
    )
    return period.start, period.end


async def assert_boards_match(client: httpx.AsyncClient, world: World) -> int:
    """Check every board for every period case; returns how many boards were compared."""
    compared = 0
    today = datetime.now(UTC).date()
    for params in period_cases(today):
        start, end = _bounds(params)
        boards: list[tuple[str, str, dict[str, str], dict[str, object]]] = [
            ("/leaderboards/teams", "teams", {}, {}),
            ("/leaderboards/teams", "teams", {"kind": "custom"}, {"kind": "custom"}),
            ("/leaderboards/teams", "teams", {"kind": "city"}, {"kind": "city"}),
            ("/leaderboards/cities", "cities", {}, {}),
            (
                "/leaderboards/cities",
                "cities",
                {"order": "score_per_member"},
                {"order": "score_per_member"},
            ),
            (
                "/leaderboards/cities",
                "cities",
                {"order": "score_per_capita"},
                {"order": "score_per_capita"},
            ),
            ("/leaderboards/users", "users", {}, {}),
        ]
        for city in world.cities[:2]:
            boards.append(
                (
                    "/leaderboards/users",
                    "users",
                    {"city_id": str(city.id)},
                    {"city_id": str(city.id)},
                )
            )
            boards.append(
                (
                    "/leaderboards/teams",
                    "teams",
                    {"city_id": str(city.id)},
                    {"city_id": str(city.id)},
                )
            )
        for team in [*world.teams, *[await _city_team(c) for c in world.cities]]:
            if team.id in world.deleted_teams:
                continue
            boards.append((f"/teams/{team.id}/leaderboard", "members", {}, {"team_id": team.id}))
        for path, board, query, oracle_params in boards:
            body = await fetch(client, path, **params, **query)
            expected = await oracle(world, board, start, end, **oracle_params)
            assert normalized(body["items"]) == normalized(expected), (path, params, query)
            assert body["period"]["kind"] == params["period"]
            compared += 1
    return compared


async def _city_team(city):  # type: ignore[no-untyped-def]
    from documents import Team

    team = await Team.get(city.team_id)
    assert team is not None
    return team


@pytest.mark.slow  # minutes through the wire server: started first
@pytest.mark.clock  # boards for this day/week/month/year
async def test_every_board_equals_the_runs_for_every_period(client: httpx.AsyncClient) -> None:
    world = await random_world(random.Random(3))
    assert await assert_boards_match(client, world) > 300
    assert (await rebuild.verify()).clean


@pytest.mark.slow  # minutes through the wire server: started first
@pytest.mark.clock  # boards for this day/week/month/year
async def test_boards_follow_edits_deletes_and_team_deletion(client: httpx.AsyncClient) -> None:
    rng = random.Random(11)
    world = await random_world(rng, runs=120)
    for run in rng.sample(world.runs, 30):
        await world.edit(
            run,
            score=rng.randrange(1, 900),
            distance_km=rng.uniform(1, 20),
            started_at=START + timedelta(minutes=rng.randrange(100 * 24 * 60)),
            team_id=rng.choice(world.teams).id,
        )
    for run in rng.sample(world.runs, 25):
        await world.delete(run)
    await world.delete_team(world.teams[1])
    await assert_boards_match(client, world)
    assert (await rebuild.verify()).clean


async def test_removing_every_run_leaves_no_bucket_and_empty_boards(
    client: httpx.AsyncClient,
) -> None:
    world = await random_world(random.Random(5), runs=30)
    for run in list(world.runs):
        await world.delete(run)
    from documents import ScoreBucket

    assert await ScoreBucket.count() == 0
    for path in ("/leaderboards/teams", "/leaderboards/cities", "/leaderboards/users"):
        r = await client.get(path, params={"period": "all"})
        assert r.json()["items"] == []
        assert r.json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "reads"),
    [
        ({"period": "week", "at": "2026-02-04"}, [("team", "2026-02-02", "2026-02-09")]),
        ({"period": "month", "at": "2026-02-04"}, [("team_month", "2026-02-01", "2026-03-01")]),
        ({"period": "year", "at": "2026-02-04"}, [("team_month", "2026-01-01", "2027-01-01")]),
        (
            {"period": "custom", "from": "2025-12-20", "to": "2026-02-03"},
            [
                ("team_month", "2026-01-01", "2026-02-01"),
                ("team", "2025-12-20", "2026-01-01"),
                ("team", "2026-02-01", "2026-02-03"),
            ],
        ),
    ],
)
def test_bucket_match_reads_whole_months_from_rollups(
    params: dict[str, str], reads: list[tuple[str, str, str]]
) -> None:
    start, end = _bounds(params)
    period = periods.Period(params["period"], start, end)  # type: ignore[arg-type]
    match = pipelines.bucket_match("team", period)
    branches = match.get("$or", [match])
    got = [
        (b["kind"], b["day"]["$gte"].date().isoformat(), b["day"]["$lt"].date().isoformat())
        for b in branches
    ]
    assert got == reads


def test_all_reads_every_month_rollup_and_pipelines_end_sorted() -> None:
    everything = periods.Period("all", None, None)
    assert pipelines.bucket_match("user", everything, city_id=None) == {
        "kind": "user_month",
        "city_id": None,
    }
    for pipeline in (
        pipelines.team_totals(everything),
        pipelines.city_totals(everything),
        pipelines.user_totals(everything),
        pipelines.member_totals(PydanticObjectId(), everything),
    ):
        assert "$sort" in pipeline[-1]

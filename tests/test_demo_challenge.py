"""The Challenge Run demo data: right shape, consistent counts, deterministic and re-runnable."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from documents import City, Membership, Run, ScoreBucket, Team, User
from service.demo.challenge import CUSTOM_TEAMS, DAYS, load_challenge
from service.demo.progress import NullProgress
from service.demo.users import load_users
from service.leaderboards import rebuild
from service.settings import Settings

RUNS = 800


async def _load(settings: Settings, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    users = await load_users(settings=settings, rng=rng, size="embedded", progress=NullProgress())
    return await load_challenge(
        rng=rng, size="embedded", users=users, progress=NullProgress(), runs=RUNS
    )


@pytest.mark.clock  # runs dated relative to now; this week's board
async def test_demo_has_cities_teams_members_and_runs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    summary = await _load(settings, seed=1)
    assert summary["cities"] == 12
    assert summary["teams"] == CUSTOM_TEAMS
    assert summary["runs"] == RUNS
    cities = await City.find_all().to_list()
    assert len(cities) == 12
    assert all(c.country and len(c.country) == 2 and c.country.isupper() for c in cities)
    city_teams = {c.team_id for c in cities}

    users = await User.find_all().to_list()
    memberships = await Membership.find_all().to_list()
    assert len({(m.team_id, m.user_id) for m in memberships}) == len(memberships)
    home_team = {c.id: c.team_id for c in cities}
    for user in users:
        mine = [m.team_id for m in memberships if m.user_id == user.id]
        assert [t for t in mine if t in city_teams] == [home_team[user.city_id]]
    counts = Counter(m.team_id for m in memberships)
    teams = await Team.find_all().to_list()
    assert len([t for t in teams if t.kind == "custom"]) == CUSTOM_TEAMS
    assert all(t.members_count == counts[t.id] for t in teams)
    owners = {(m.team_id, m.user_id) for m in memberships if m.role == "owner"}
    assert {(t.id, t.owner_id) for t in teams if t.kind == "custom"} == owners

    now = datetime.now(UTC)
    runs = await Run.find_all().to_list()
    member_of = {(m.team_id, m.user_id) for m in memberships}
    for run in runs:
        assert now - timedelta(days=DAYS + 1) <= run.started_at <= now
        assert 240 <= run.pace_s_per_km <= 450.5
        assert 3 <= run.distance_km <= 50
        assert (run.team_id, run.user_id) in member_of
        assert run.city_id == next(u.city_id for u in users if u.id == run.user_id)
    weekdays = Counter(r.started_at.weekday() for r in runs)
    assert weekdays[6] > weekdays[1]  # more runs on Sundays than on Tuesdays

    assert (await rebuild.verify()).clean
    # the week and month of the newest demo run (this week is still empty early on a Monday)
    latest = max(run.started_at for run in runs).date().isoformat()
    for path, params in [
        ("/leaderboards/teams", {"period": "week", "at": latest}),
        ("/leaderboards/cities", {"period": "month", "at": latest}),
        ("/leaderboards/users", {"period": "all"}),
    ]:
        r = await client.get(path, params=params)
        assert r.json()["total"] > 0, (path, r.text)


@pytest.mark.usefixtures("app")  # a fresh, empty database
async def test_demo_is_deterministic_and_rerunnable(settings: Settings) -> None:
    await _load(settings, seed=2)
    first = {r.id: (r.user_id, r.team_id, r.score) for r in await Run.find_all().to_list()}
    buckets = await ScoreBucket.count()
    memberships = await Membership.count()
    await _load(settings, seed=2)
    again = {r.id: (r.user_id, r.team_id, r.score) for r in await Run.find_all().to_list()}
    assert again == first
    assert await ScoreBucket.count() == buckets
    assert await Membership.count() == memberships
    assert await Team.count() == 12 + CUSTOM_TEAMS
    assert (await rebuild.verify()).clean

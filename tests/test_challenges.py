"""Challenges (issue 9 §3): creation rules and permissions, join/leave, progress moved by the
activity hooks (late joiners get the whole window), completion and its XP exactly once,
withdrawal, frozen results, the teams/cities/collective modes, the leaderboard, recurrence."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from beanie import PydanticObjectId

from documents import Challenge, ChallengeParticipant, Run, User, XpEntry
from documents.clock import utcnow
from service.challenges import rebuild as challenges_rebuild
from service.challenges import recurrence
from service.demo.challenge import load_challenge
from service.demo.challenges import load_challenges
from service.demo.progress import NullProgress
from service.demo.users import load_users
from service.settings import Settings
from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_badges import post_workout
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)

# a Wednesday noon: windows are around it, runs before it
NOW = datetime(2030, 6, 12, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def clock_at(time_machine: time_machine.TimeMachineFixture) -> time_machine.TimeMachineFixture:
    """The clock stopped at NOW (tests move it on with `move_to`)."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


def body(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "June 50",
        "metric": "distance_km",
        "goal": 50,
        "starts_at": iso(NOW - timedelta(days=5)),
        "ends_at": iso(NOW + timedelta(days=5)),
        "scope": "public",
        "mode": "individual",
        "xp_reward": 100,
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


async def create(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    r = await client.post("/challenges", json=body(**fields), headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def join(client: httpx.AsyncClient, account: Account, challenge: dict[str, Any]) -> None:
    r = await client.post(f"/challenges/{challenge['id']}/participants", headers=account.headers)
    assert r.status_code == 201, r.text


async def run(
    client: httpx.AsyncClient, account: Account, days_ago: float, km: float = 5.0, **fields: Any
) -> dict[str, Any]:
    payload = {
        "started_at": iso(NOW - timedelta(days=days_ago)),
        "distance_km": km,
        "duration_s": int(km * 330),
        **fields,
    }
    r = await client.post("/runs", json=payload, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def mine(
    client: httpx.AsyncClient, account: Account, challenge: dict[str, Any]
) -> dict[str, Any] | None:
    r = await client.get(f"/challenges/{challenge['id']}", headers=account.headers)
    assert r.status_code == 200, r.text
    me: dict[str, Any] | None = r.json()["me"]
    return me


async def state(
    client: httpx.AsyncClient, account: Account, challenge: dict[str, Any]
) -> tuple[float, bool] | None:
    """The caller's (progress, completed) in the challenge; None when not taking part."""
    me = await mine(client, account, challenge)
    return None if me is None else (me["progress"], me["completed_at"] is not None)


async def challenge_xp(account: Account) -> int:
    entries = await XpEntry.find(
        {"user_id": PydanticObjectId(account.id), "kind": "challenge"}
    ).to_list()
    user = await User.get(PydanticObjectId(account.id))
    assert user is not None
    everything = await XpEntry.find({"user_id": user.id}).to_list()
    assert sum(e.amount for e in everything) == user.xp  # the ledger is the XP
    return sum(e.amount for e in entries)


# --- creating ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("clock_at")
async def test_create_get_and_list_by_status(client: httpx.AsyncClient, api: Api) -> None:
    alice = await api.user()
    active = await create(client, alice, title="Active")
    upcoming = await create(
        client,
        alice,
        title="Upcoming",
        starts_at=iso(NOW + timedelta(days=1)),
        ends_at=iso(NOW + timedelta(days=8)),
    )
    assert (active["status"], upcoming["status"]) == ("active", "upcoming")
    assert (active["creator_id"], active["me"]) == (alice.id, None)
    r = await client.get(f"/challenges/{active['id']}", headers=alice.headers)
    assert r.status_code == 200
    assert r.json()["title"] == "Active"

    async def titles(**params: Any) -> list[str]:
        r = await client.get("/challenges", params=params, headers=alice.headers)
        assert r.status_code == 200, r.text
        return [c["title"] for c in r.json()["items"]]

    assert await titles(status="active") == ["Active"]
    assert await titles(status="upcoming") == ["Upcoming"]
    assert await titles(status="ended") == []
    assert await titles(scope="global") == []
    assert sorted(await titles()) == ["Active", "Upcoming"]
    assert await titles(mine="true") == []
    await join(client, alice, active)
    assert await titles(mine="true") == ["Active"]
    r = await client.get("/users/me/challenges", headers=alice.headers)
    assert [p["challenge"]["title"] for p in r.json()["items"]] == ["Active"]


@pytest.mark.usefixtures("clock_at")
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": iso(NOW - timedelta(days=6))}, "ends_at"),
        ({"ends_at": iso(NOW + timedelta(days=400))}, "ends_at"),
        ({"goal": None}, "goal"),
        ({"mode": "teams", "scope": "team", "team_id": "0" * 24}, "mode"),
        ({"mode": "cities", "goal": None, "xp_reward": 0, "metric": "workouts"}, "metric"),
        ({"mode": "teams", "xp_reward": 0}, "goal"),
        ({"scope": "team"}, "team_id"),
        ({"city_id": "0" * 24}, "city_id"),
        ({"metric": "steps"}, "metric"),
        ({"xp_reward": 501}, "xp_reward"),
        ({"recurrence": "weekly", "ends_at": iso(NOW + timedelta(days=30))}, "recurrence"),
        ({"extra": 1}, "extra"),
        ({"starts_at": "2030-06-01T00:00:00"}, "starts_at"),  # no zone
    ],
)
async def test_incoherent_challenges_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, api: Api, fields: dict[str, Any], field: str
) -> None:
    alice = await api.user()
    r = await client.post("/challenges", json=body(**fields), headers=alice.headers)
    assert_problem(r, 422)
    assert field in r.text
    assert await Challenge.count() == 0


@pytest.mark.usefixtures("clock_at")
async def test_who_may_create_each_scope(client: httpx.AsyncClient, api: Api) -> None:
    r = await client.post("/challenges", json=body())
    assert_problem(r, 401)
    owner, other, admin = await api.user(), await api.user(city="Paris"), await api.admin()
    team = await api.team(owner)
    r = await client.post("/challenges", json=body(scope="global"), headers=owner.headers)
    assert_problem(r, 403)
    r = await client.post(
        "/challenges", json=body(scope="team", team_id=team["id"]), headers=other.headers
    )
    assert_problem(r, 403)
    await create(client, owner, scope="team", team_id=team["id"])
    await create(client, admin, scope="team", team_id=team["id"])
    await create(client, admin, scope="global", xp_reward=1000)
    city_id = other.body["city_id"]
    r = await client.post(
        "/challenges", json=body(scope="city", city_id=city_id), headers=owner.headers
    )
    assert_problem(r, 403)  # not a resident
    await create(client, other, scope="city", city_id=city_id)
    assert await Challenge.count() == 4


@pytest.mark.usefixtures("clock_at")
async def test_missing_challenges_are_404(client: httpx.AsyncClient, api: Api) -> None:
    alice = await api.user()
    for path in ("", "/leaderboard"):
        for cid in ("0" * 24, "nope"):
            assert_problem(await client.get(f"/challenges/{cid}{path}", headers=alice.headers), 404)
    r = await client.post(f"/challenges/{'0' * 24}/participants", headers=alice.headers)
    assert_problem(r, 404)
    assert_problem(await client.get(f"/challenges/{'0' * 24}"), 401)


# --- joining, progress, completion ------------------------------------------------------------


@pytest.mark.usefixtures("clock_at")
async def test_late_joiners_get_the_whole_window_and_edits_move_progress(
    client: httpx.AsyncClient, api: Api
) -> None:
    alice = await api.user(city="Paris")
    challenge = await create(client, alice, goal=20)
    await run(client, alice, days_ago=6, km=30)  # before the window: never counts
    early = await run(client, alice, days_ago=4, km=8)
    await join(client, alice, challenge)
    me = await mine(client, alice, challenge)
    assert me is not None
    assert (me["progress"], me["rank"], me["completed_at"]) == (8, 1, None)
    second = await run(client, alice, days_ago=2, km=10)
    assert (await mine(client, alice, challenge))["progress"] == 18  # type: ignore[index]
    r = await client.patch(f"/runs/{early['id']}", json={"distance_km": 12}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert await state(client, alice, challenge) == (22, True)
    assert await challenge_xp(alice) == 100
    r = await client.delete(f"/runs/{second['id']}", headers=alice.headers)
    assert r.status_code == 204
    assert await state(client, alice, challenge) == (12, False)
    assert await challenge_xp(alice) == 0  # withdrawn
    await run(client, alice, days_ago=1, km=9)
    assert await state(client, alice, challenge) == (21, True)
    assert await challenge_xp(alice) == 100  # credited again, once


@pytest.mark.usefixtures("clock_at")
async def test_join_rules(client: httpx.AsyncClient, api: Api) -> None:
    owner, outsider = await api.user(), await api.user()
    team = await api.team(owner)
    challenge = await create(client, owner, scope="team", team_id=team["id"])
    path = f"/challenges/{challenge['id']}/participants"
    assert_problem(await client.post(path), 401)
    assert_problem(await client.post(path, headers=outsider.headers), 403)
    await join(client, owner, challenge)
    assert_problem(await client.post(path, headers=owner.headers), 409)
    await api.join(outsider, team["id"])
    await join(client, outsider, challenge)
    r = await client.get(f"/challenges/{challenge['id']}", headers=owner.headers)
    assert r.json()["participants_count"] == 2
    assert_problem(await client.delete(f"{path}/me"), 401)
    r = await client.delete(f"{path}/me", headers=outsider.headers)
    assert r.status_code == 204
    assert_problem(await client.delete(f"{path}/me", headers=outsider.headers), 404)
    r = await client.get(f"/challenges/{challenge['id']}", headers=owner.headers)
    assert r.json()["participants_count"] == 1


@pytest.mark.usefixtures("clock_at")
async def test_leaving_withdraws_progress_and_xp(client: httpx.AsyncClient, api: Api) -> None:
    alice = await api.user(city="Paris")
    challenge = await create(client, alice, goal=5)
    await join(client, alice, challenge)
    await run(client, alice, days_ago=1, km=6)
    assert await challenge_xp(alice) == 100
    r = await client.delete(f"/challenges/{challenge['id']}/participants/me", headers=alice.headers)
    assert r.status_code == 204
    assert await challenge_xp(alice) == 0
    assert await mine(client, alice, challenge) is None
    await join(client, alice, challenge)  # the window counts afresh
    assert await state(client, alice, challenge) == (6, True)
    assert await challenge_xp(alice) == 100


async def test_results_are_frozen_after_the_end(
    client: httpx.AsyncClient, api: Api, clock_at: time_machine.TimeMachineFixture
) -> None:
    alice = await api.user(city="Paris")
    challenge = await create(client, alice, goal=10)
    await join(client, alice, challenge)
    done = await run(client, alice, days_ago=1, km=11)
    clock_at.move_to(NOW + timedelta(days=6), tick=False)
    alice.token = await api.login(alice.email, alice.password)  # an hour-long token
    r = await client.delete(f"/runs/{done['id']}", headers=alice.headers)
    assert r.status_code == 204
    assert await state(client, alice, challenge) == (11, True)
    assert await challenge_xp(alice) == 100
    path = f"/challenges/{challenge['id']}/participants"
    assert_problem(await client.delete(f"{path}/me", headers=alice.headers), 409)
    bob = await api.user(city="Paris")
    assert_problem(await client.post(path, headers=bob.headers), 409)
    r = await client.get("/challenges", params={"status": "ended"}, headers=alice.headers)
    assert [c["id"] for c in r.json()["items"]] == [challenge["id"]]


@pytest.mark.usefixtures("clock_at")
@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("distance_km", 12.5),
        ("runs", 2),
        ("duration_min", (5 * 330 + int(7.5 * 330)) / 60 + 30),
        ("elevation_m", 40),
        ("workouts", 1),
        ("activities", 3),
    ],
)
async def test_every_metric_counts_its_activities(
    client: httpx.AsyncClient, api: Api, metric: str, expected: float
) -> None:
    alice = await api.user(city="Paris")
    challenge = await create(client, alice, metric=metric, goal=1000)
    await run(client, alice, days_ago=3, km=5, elevation_gain_m=40)
    await join(client, alice, challenge)
    await run(client, alice, days_ago=1, km=7.5)
    await post_workout_at(client, alice, days_ago=2)
    me = await mine(client, alice, challenge)
    assert me is not None
    assert me["progress"] == pytest.approx(expected, abs=1e-3)


async def post_workout_at(client: httpx.AsyncClient, account: Account, days_ago: float) -> None:
    r = await client.get("/exercises", params={"search": "Back squat"})
    squat = next(e for e in r.json()["items"] if e["name"] == "Back squat")["id"]
    payload = {
        "started_at": iso(NOW - timedelta(days=days_ago, hours=-3)),
        "duration_s": 1800,
        "sets": [{"exercise_id": squat, "reps": 5, "weight_kg": 60}],
    }
    r = await client.post("/workouts", json=payload, headers=account.headers)
    assert r.status_code == 201, r.text


_ = post_workout  # the badges' helper posts at fixed 2024 dates; ours around NOW


# --- modes and the leaderboard ----------------------------------------------------------------


@pytest.mark.usefixtures("clock_at")
async def test_the_leaderboard_ranks_participants_competition_style(
    client: httpx.AsyncClient, api: Api
) -> None:
    runners = [await api.user(city="Paris") for _ in range(4)]
    challenge = await create(client, runners[0], goal=100)
    for account, km in zip(runners, (10, 20, 10, 5), strict=True):
        await run(client, account, days_ago=1, km=km)
        await join(client, account, challenge)
    path = f"/challenges/{challenge['id']}/leaderboard"
    assert_problem(await client.get(path), 401)
    r = await client.get(path, headers=runners[0].headers)
    assert r.status_code == 200, r.text
    board = r.json()
    assert (board["kind"], board["total"]) == ("participants", 4)
    assert [(row["rank"], row["progress"]) for row in board["items"]] == [
        (1, 20),
        (2, 10),
        (2, 10),
        (4, 5),
    ]
    r = await client.get(path, params={"offset": 2, "limit": 2}, headers=runners[0].headers)
    assert [(row["rank"], row["progress"]) for row in r.json()["items"]] == [(2, 10), (4, 5)]
    me = await mine(client, runners[2], challenge)
    assert me is not None
    assert me["rank"] == 2
    assert_problem(await client.get(path, params={"limit": 0}, headers=runners[0].headers), 422)


@pytest.mark.usefixtures("clock_at")
async def test_collective_completion_credits_every_participant(
    client: httpx.AsyncClient, api: Api
) -> None:
    alice, bob, carol = [await api.user(city="Paris") for _ in range(3)]
    challenge = await create(client, alice, mode="collective", goal=20, xp_reward=50)
    await join(client, alice, challenge)
    await join(client, bob, challenge)
    await run(client, alice, days_ago=2, km=12)
    assert await challenge_xp(alice) == 0
    bob_run = await run(client, bob, days_ago=1, km=9)
    r = await client.get(f"/challenges/{challenge['id']}", headers=alice.headers)
    assert (r.json()["total"], r.json()["completed_at"] is not None) == (21, True)
    assert (await challenge_xp(alice), await challenge_xp(bob)) == (50, 50)
    await join(client, carol, challenge)  # joins a completed collective: credited too
    assert await challenge_xp(carol) == 50
    await client.delete(f"/runs/{bob_run['id']}", headers=bob.headers)
    r = await client.get(f"/challenges/{challenge['id']}", headers=alice.headers)
    assert (r.json()["total"], r.json()["completed_at"]) == (12, None)
    assert [await challenge_xp(a) for a in (alice, bob, carol)] == [0, 0, 0]


@pytest.mark.usefixtures("clock_at")
async def test_teams_and_cities_modes_rank_groups(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    paris = [await api.user(city="Paris") for _ in range(2)]
    lyon = await api.user(city="Lyon")
    cities = await create(
        client, admin, scope="global", mode="cities", goal=None, xp_reward=0, title="Cities"
    )
    owner = paris[0]
    team = await api.team(owner)
    await api.join(lyon, team["id"])
    teams = await create(client, owner, mode="teams", goal=None, xp_reward=0, title="Teams")
    for account in (*paris, lyon):
        await join(client, account, teams)
    await run(client, paris[0], days_ago=1, km=10, team_id=team["id"])
    await run(client, paris[1], days_ago=1, km=4)
    await run(client, lyon, days_ago=1, km=7, team_id=team["id"])
    r = await client.get(f"/challenges/{cities['id']}/leaderboard", headers=admin.headers)
    board = r.json()
    assert board["kind"] == "cities"
    assert [(row["name"], row["progress"]) for row in board["items"]] == [
        ("Paris", 14),
        ("Lyon", 7),
    ]
    r = await client.get(f"/challenges/{teams['id']}/leaderboard", headers=admin.headers)
    rows = [(row["id"], row["progress"], row["rank"]) for row in r.json()["items"]]
    assert rows[0] == (team["id"], 17, 1)
    assert [p for _, p, _ in rows[1:]] == [4]  # paris[1]'s city team


@pytest.mark.usefixtures("clock_at")
async def test_city_challenges_enrol_runners_credited_to_the_city(
    client: httpx.AsyncClient, api: Api
) -> None:
    alice, bob = await api.user(city="Paris"), await api.user(city="Lyon")
    early = await run(client, alice, days_ago=3, km=3)  # before the challenge existed
    challenge = await create(client, alice, scope="city", city_id=alice.body["city_id"], goal=10)
    assert await mine(client, alice, challenge) is None
    await run(client, alice, days_ago=1, km=4)  # enrols her, with the whole window
    assert await state(client, alice, challenge) == (7, False)
    await run(client, bob, days_ago=1, km=4)
    assert await mine(client, bob, challenge) is None
    path = f"/challenges/{challenge['id']}/participants"
    assert_problem(await client.post(path, headers=bob.headers), 403)
    await client.delete(f"/runs/{early['id']}", headers=alice.headers)
    assert await state(client, alice, challenge) == (4, False)


# --- recurrence -------------------------------------------------------------------------------


async def test_the_next_instance_exists_once_after_the_end(
    client: httpx.AsyncClient, api: Api, clock_at: time_machine.TimeMachineFixture
) -> None:
    alice = await api.user(city="Paris")
    first = await create(
        client,
        alice,
        recurrence="weekly",
        starts_at=iso(NOW - timedelta(days=2)),
        ends_at=iso(NOW + timedelta(days=5)),
    )
    await join(client, alice, first)
    assert await recurrence.tick() == 0  # nothing ended yet
    clock_at.move_to(NOW + timedelta(days=5, seconds=1), tick=False)
    created = await asyncio.gather(*(recurrence.tick() for _ in range(5)))
    assert sum(created) == 1
    series = await Challenge.find({"series_id": PydanticObjectId(first["series_id"])}).to_list()
    assert len(series) == 2
    second = next(c for c in series if str(c.id) != first["id"])
    assert second.starts_at == NOW + timedelta(days=5)
    assert second.ends_at == NOW + timedelta(days=12)
    assert (second.participants_count, second.title) == (0, first["title"])
    assert await recurrence.tick() == 0
    # a long outage: the next instance is the window holding now, not a past one
    clock_at.move_to(NOW + timedelta(days=40), tick=False)
    assert await recurrence.tick() == 1
    latest = (
        await Challenge.find({"series_id": PydanticObjectId(first["series_id"])})
        .sort("-starts_at")
        .first_or_none()
    )
    assert latest is not None
    assert latest.starts_at <= NOW + timedelta(days=40) < latest.ends_at


def test_monthly_windows_keep_the_day_of_month() -> None:
    from service.challenges.service import next_window

    start = datetime(2030, 1, 31, tzinfo=UTC)
    assert next_window("monthly", start, start + timedelta(days=1)) == (
        datetime(2030, 2, 28, tzinfo=UTC),
        datetime(2030, 3, 1, tzinfo=UTC),
    )


# --- exact under concurrency --------------------------------------------------------------------


@pytest.mark.usefixtures("clock_at", "yielding_database")
async def test_fifty_concurrent_runs_complete_once(client: httpx.AsyncClient, api: Api) -> None:
    runners = [await api.user(city="Paris") for _ in range(5)]
    challenge = await create(client, runners[0], goal=20, xp_reward=100)
    collective = await create(client, runners[0], mode="collective", goal=120, xp_reward=30)
    for account in runners:
        await join(client, account, challenge)
        await join(client, account, collective)

    async def post(i: int) -> None:
        account = runners[i % 5]
        await run(client, account, days_ago=4 - (i // 5) * 0.35, km=2.5)

    await asyncio.gather(*(post(i) for i in range(50)))
    for account in runners:
        assert await state(client, account, challenge) == (25, True)
        assert await challenge_xp(account) == 130
    r = await client.get(f"/challenges/{collective['id']}", headers=runners[0].headers)
    assert r.json()["total"] == 125
    assert r.json()["completed_at"] is not None


# --- the oracle over random activity streams ---------------------------------------------------


@pytest.mark.usefixtures("clock_at")
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_progress_follows_a_plain_python_oracle(
    client: httpx.AsyncClient, api: Api, seed: int
) -> None:
    """Random runs and workouts (some before the window), edits that move them in and out,
    deletes, and late joins: every participant's progress, completion and XP, the collective
    total and the rebuild agree with sums in plain Python."""
    rng = random.Random(seed)
    owner = await api.admin()
    runners = [await api.user(city="Paris") for _ in range(4)]
    start, end = NOW - timedelta(days=5), NOW + timedelta(days=5)
    individual = await create(client, owner, goal=15, xp_reward=40)
    collective = await create(
        client, owner, mode="collective", metric="activities", goal=12, xp_reward=20
    )
    duration = await create(client, owner, metric="duration_min", goal=120, xp_reward=10)
    board = [individual, collective, duration]
    slots = list(range(1, 24 * 8))  # hour slots before NOW: runs never overlap
    rng.shuffle(slots)
    runs: dict[str, dict[str, Any]] = {}  # id -> {user, at, km, duration_s}
    workouts: dict[str, dict[str, Any]] = {}
    joined: dict[tuple[str, str], bool] = {}
    for _ in range(45):
        account = rng.choice(runners)
        op = rng.random()
        mine_runs = [i for i, r in runs.items() if r["user"] == account.id]
        if op < 0.4 or not mine_runs:
            at = NOW - timedelta(hours=slots.pop())
            km = rng.choice([2.0, 3.5, 5.0, 8.0])
            r = await client.post(
                "/runs",
                json={"started_at": iso(at), "distance_km": km, "duration_s": int(km * 300)},
                headers=account.headers,
            )
            assert r.status_code == 201, r.text
            runs[r.json()["id"]] = {"user": account.id, "at": at, "km": km, "s": int(km * 300)}
        elif op < 0.55:
            run_id = rng.choice(mine_runs)
            change: dict[str, Any] = {}
            if rng.random() < 0.5:
                change["distance_km"] = rng.choice([1.0, 4.0, 6.5])
                change["duration_s"] = int(change["distance_km"] * 300)
            else:
                change["started_at"] = iso(NOW - timedelta(hours=slots.pop()))
            r = await client.patch(f"/runs/{run_id}", json=change, headers=account.headers)
            assert r.status_code == 200, r.text
            if "distance_km" in change:
                runs[run_id]["km"], runs[run_id]["s"] = change["distance_km"], change["duration_s"]
            else:
                runs[run_id]["at"] = datetime.fromisoformat(change["started_at"])
        elif op < 0.65:
            run_id = rng.choice(mine_runs)
            r = await client.delete(f"/runs/{run_id}", headers=account.headers)
            assert r.status_code == 204
            del runs[run_id]
        elif op < 0.75:
            at = NOW - timedelta(hours=slots.pop(), minutes=-10)
            r = await client.get("/exercises", params={"search": "Back squat"})
            squat = next(e for e in r.json()["items"] if e["name"] == "Back squat")["id"]
            r = await client.post(
                "/workouts",
                json={
                    "started_at": iso(at),
                    "duration_s": 1200,
                    "sets": [{"exercise_id": squat, "reps": 5, "weight_kg": 50}],
                },
                headers=account.headers,
            )
            assert r.status_code == 201, r.text
            workouts[r.json()["id"]] = {"user": account.id, "at": at, "s": 1200}
        else:
            challenge = rng.choice(board)
            if (challenge["id"], account.id) not in joined:
                await join(client, account, challenge)
                joined[challenge["id"], account.id] = True

    def inside(at: datetime) -> bool:
        return start <= at < end

    def oracle(challenge: dict[str, Any], user: str) -> float:
        mine_runs = [r for r in runs.values() if r["user"] == user and inside(r["at"])]
        mine_workouts = [w for w in workouts.values() if w["user"] == user and inside(w["at"])]
        if challenge["metric"] == "distance_km":
            return sum(r["km"] for r in mine_runs)
        if challenge["metric"] == "activities":
            return len(mine_runs) + len(mine_workouts)
        return sum(r["s"] for r in mine_runs) / 60 + sum(w["s"] for w in mine_workouts) / 60

    collective_total = sum(
        oracle(collective, a.id) for a in runners if (collective["id"], a.id) in joined
    )
    for account in runners:
        xp = 0
        for challenge in board:
            got = await state(client, account, challenge)
            if (challenge["id"], account.id) not in joined:
                assert got is None
                continue
            value = oracle(challenge, account.id)
            assert got is not None
            assert got[0] == pytest.approx(value, abs=1e-3)
            if challenge["mode"] == "collective":
                done = collective_total >= challenge["goal"]
            else:
                done = value >= challenge["goal"]
            assert got[1] == done, (challenge["title"], value)
            xp += challenge["xp_reward"] * done
        assert await challenge_xp(account) == xp
    r = await client.get(f"/challenges/{collective['id']}", headers=owner.headers)
    assert r.json()["total"] == pytest.approx(collective_total, abs=1e-3)
    drift = await challenges_rebuild.rebuild(repair=False)
    assert drift.clean, drift.examples
    assert drift.xp == 0, drift.examples


@pytest.mark.usefixtures("clock_at")
async def test_the_rebuild_repairs_drift(client: httpx.AsyncClient, api: Api) -> None:
    alice = await api.user(city="Paris")
    challenge = await create(client, alice, goal=10)
    city = await create(client, alice, scope="city", city_id=alice.body["city_id"], goal=100)
    await join(client, alice, challenge)
    await run(client, alice, days_ago=1, km=12)
    assert await state(client, alice, city) == (12, False)
    await ChallengeParticipant.get_motor_collection().update_many(
        {}, {"$set": {"progress": 3.0, "completed_at": None}}
    )
    await ChallengeParticipant.get_motor_collection().delete_one(
        {"challenge_id": PydanticObjectId(city["id"])}
    )
    drift = await challenges_rebuild.rebuild(repair=False)
    assert not drift.clean
    assert (drift.enrolled, drift.completions) == (1, 2)  # + challenges_completed count
    await challenges_rebuild.rebuild(repair=True)
    assert (await challenges_rebuild.rebuild(repair=False)).clean
    assert await state(client, alice, challenge) == (12, True)
    assert await state(client, alice, city) == (12, False)
    assert await challenge_xp(alice) == 100


@pytest.mark.usefixtures("clock_at", "yielding_database")
async def test_a_join_racing_runs_counts_each_run_once(client: httpx.AsyncClient, api: Api) -> None:
    runners = [await api.user(city="Paris") for _ in range(4)]
    challenge = await create(client, runners[0], goal=1000)

    async def runs_of(account: Account) -> None:
        for i in range(5):
            await run(client, account, days_ago=4 - i * 0.5, km=1 + i)

    await asyncio.gather(
        *(runs_of(a) for a in runners), *(join(client, a, challenge) for a in runners)
    )
    for account in runners:
        assert await state(client, account, challenge) == (15, False)
    assert (await challenges_rebuild.rebuild(repair=False)).clean


# --- demo -----------------------------------------------------------------------------------------


async def test_demo_challenges_are_derived_by_the_rebuild(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    rng = random.Random(5)
    users = await load_users(settings=settings, rng=rng, size="embedded", progress=NullProgress())
    await load_challenge(rng=rng, size="embedded", users=users, progress=NullProgress(), runs=400)
    counts = await load_challenges(rng=rng, users=users)
    await challenges_rebuild.rebuild(repair=True, include_ended=True)
    assert (await challenges_rebuild.rebuild(repair=False, include_ended=True)).clean
    again = await load_challenges(rng=rng, users=users)  # a second load adds nothing
    assert again["challenges"] == counts["challenges"]
    assert await Challenge.count() == counts["challenges"]
    rows = await Challenge.find_all().to_list()
    now = utcnow()
    assert any(c.starts_at <= now < c.ends_at and c.scope == "public" for c in rows)
    assert any(c.ends_at <= now for c in rows)
    assert any(c.mode == "cities" and c.recurrence == "weekly" for c in rows)
    city_rows = [c for c in rows if c.scope == "city"]
    assert city_rows
    per_city = await ChallengeParticipant.find(
        {"challenge_id": {"$in": [c.id for c in city_rows]}}
    ).count()
    assert per_city > 0  # residents enrolled by their runs
    versus = next(c for c in rows if c.mode == "cities")
    board = await client.get(
        f"/challenges/{versus.id}/leaderboard", headers=(await Api(client).user()).headers
    )
    assert board.status_code == 200
    assert board.json()["kind"] == "cities"
    cities_running = await Run.get_motor_collection().distinct(
        "city_id", {"started_at": {"$gte": versus.starts_at, "$lt": versus.ends_at}}
    )
    # (on a Monday morning the week may hold no run yet)
    assert len(board.json()["items"]) == len([c for c in cities_running if c is not None])


@pytest.mark.usefixtures("clock_at")
async def test_an_xp_challenge_counts_xp_earned_in_the_window(
    client: httpx.AsyncClient, api: Api
) -> None:
    """Run XP and badge XP earned in the window count (the ledger is the oracle); the
    challenge's own reward does not."""
    alice = await api.user(city="Paris")
    challenge = await create(client, alice, metric="xp", goal=400, xp_reward=25)

    async def window_xp() -> float:
        entries = await XpEntry.find({"user_id": PydanticObjectId(alice.id)}).to_list()
        start, end = NOW - timedelta(days=5), NOW + timedelta(days=5)
        return sum(e.amount for e in entries if e.kind != "challenge" and start <= e.at < end)

    await run(client, alice, days_ago=2, km=5)  # 1,650 s: floor(5 x 1650 / 60) = 137 XP
    await join(client, alice, challenge)
    first = await window_xp()
    assert 137 <= first < 400
    assert await state(client, alice, challenge) == (first, False)
    second = await run(client, alice, days_ago=1, km=9)  # 2,970 s: 247 XP
    assert await state(client, alice, challenge) == (await window_xp(), True)
    assert await challenge_xp(alice) == 25
    await client.delete(f"/runs/{second['id']}", headers=alice.headers)
    assert await state(client, alice, challenge) == (await window_xp(), False)
    assert await challenge_xp(alice) == 0


@pytest.mark.usefixtures("clock_at")
async def test_an_admin_deletes_a_challenge_and_its_xp(client: httpx.AsyncClient, api: Api) -> None:
    alice, admin = await api.user(city="Paris"), await api.admin()
    challenge = await create(client, alice, goal=5)
    await join(client, alice, challenge)
    await run(client, alice, days_ago=1, km=6)
    assert await challenge_xp(alice) == 100
    path = f"/challenges/{challenge['id']}"
    assert_problem(await client.delete(path), 401)
    assert_problem(await client.delete(path, headers=alice.headers), 403)
    assert (await client.delete(path, headers=admin.headers)).status_code == 204
    assert_problem(await client.delete(path, headers=admin.headers), 404)
    assert await challenge_xp(alice) == 0
    assert await ChallengeParticipant.count() == 0
    assert_problem(await client.get("/users/me/challenges"), 401)
    r = await client.get("/users/me/challenges", headers=alice.headers)
    assert r.json()["items"] == []

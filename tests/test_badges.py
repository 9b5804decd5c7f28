"""Badges (issue 9 §2): the seeded catalogue, admin CRUD, every rule awarded at its threshold
and not before, exactly once under concurrency with its XP credited once, earned badges kept
after deletes, a later badge awarded by its job, progress for the user themself only."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import ActivityTotals, Badge, User, UserBadge, XpEntry
from service.badges import jobs
from service.badges import service as badges
from service.badges.catalogue import SEEDED_BADGES
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Account, Api
from tests.test_exercises import shared_store  # noqa: F401  (fixture)
from tests.test_records import paced_route
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (fixture)

DAY0 = datetime(2024, 5, 6, 7, 0)  # a Monday


def at(days: float = 0, hour: int = 7) -> str:
    moment = DAY0 + timedelta(days=days, hours=hour - 7)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def post_run(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"started_at": at(0), "distance_km": 5.0, "duration_s": 1800}
    body.update(fields)
    r = await client.post("/runs", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def squat_id(client: httpx.AsyncClient) -> str:
    r = await client.get("/exercises", params={"search": "Back squat"})
    return str(next(e for e in r.json()["items"] if e["name"] == "Back squat")["id"])


async def post_workout(
    client: httpx.AsyncClient, account: Account, *, day: float = 0, duration_s: int = 1800
) -> dict[str, Any]:
    body = {
        "started_at": at(day, hour=18),
        "duration_s": duration_s,
        "sets": [{"exercise_id": await squat_id(client), "reps": 5, "weight_kg": 60}],
    }
    r = await client.post("/workouts", json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def new_badge(client: httpx.AsyncClient, admin: Account, **fields: Any) -> dict[str, Any]:
    body = {
        "key": f"test-{fields.get('rule', 'count').replace('_', '-')}",
        "title": "Test badge",
        "type": "milestone",
        "activity": "run",
        "rule": "count",
        "threshold": 2,
        "xp_reward": 40,
        **fields,
    }
    r = await client.post("/badges", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    await jobs.wait_idle()
    return r.json()


async def earned(client: httpx.AsyncClient, account: Account) -> dict[str, dict[str, Any]]:
    r = await client.get(f"/users/{account.id}/badges", headers=account.headers)
    assert r.status_code == 200, r.text
    return {e["badge"]["key"]: e for e in r.json()["earned"]}


async def assert_xp_is_the_ledger(account: Account) -> int:
    user = await User.get(PydanticObjectId(account.id))
    assert user is not None
    entries = await XpEntry.find({"user_id": user.id}).to_list()
    assert sum(e.amount for e in entries) == user.xp
    return user.xp


async def badge_xp(account: Account) -> dict[str, int]:
    entries = await XpEntry.find(
        {"user_id": PydanticObjectId(account.id), "kind": "badge"}
    ).to_list()
    return {e.source_id: e.amount for e in entries}


# --- catalogue ----------------------------------------------------------------------------------


async def everything(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        r = await client.get("/badges", params=params)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if not r.json()["next"]:
            return items
        params = {"limit": 100, "after": r.json()["next"]}


async def test_the_catalogue_is_seeded_with_the_issues_badges(client: httpx.AsyncClient) -> None:
    items = await everything(client)
    keys = [b["key"] for b in items]
    assert len(items) == len(SEEDED_BADGES) >= 25
    assert keys == sorted(keys)
    assert {
        "first-run",
        "runs-500",
        "km-5000",
        "first-10k",
        "half-marathon",
        "marathon",
        "streak-7-days",
        "streak-30-days",
        "streak-4-weeks",
        "streak-12-weeks",
        "level-5",
        "level-25",
        "first-workout",
        "workouts-50",
        "sub-25-5k",
        "first-challenge",
    } <= set(keys)
    sub25 = next(b for b in items if b["key"] == "sub-25-5k")
    assert (sub25["rule"], sub25["threshold"], sub25["min_distance_km"]) == (
        "best_effort_s",
        1500,
        5.0,
    )
    assert await badges.seed_catalogue() == 0
    await asyncio.gather(badges.seed_catalogue(), badges.seed_catalogue())
    assert len(await everything(client)) == len(SEEDED_BADGES)


@pytest.mark.usefixtures("shared_store")
async def test_a_restart_seeds_no_badge_twice_and_keeps_an_admins_edit() -> None:
    settings = make_settings()
    async with serve(settings, keep_database=True) as client:
        api = Api(client)
        admin = await api.admin()
        first = await everything(client)
        badge = next(b for b in first if b["key"] == "first-run")
        r = await client.patch(
            f"/badges/{badge['id']}", json={"title": "Off we go"}, headers=admin.headers
        )
        assert r.status_code == 200, r.text
    async with serve(settings) as client:
        again = await everything(client)
    assert len(again) == len(first)
    assert next(b for b in again if b["key"] == "first-run")["title"] == "Off we go"


# --- admin CRUD ---------------------------------------------------------------------------------


async def test_admin_creates_edits_and_deletes_a_badge(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    badge = await new_badge(client, admin, key="night-owl", rule="count", threshold=3)
    assert (badge["key"], badge["threshold"], badge["xp_reward"]) == ("night-owl", 3, 40)
    r = await client.patch(
        f"/badges/{badge['id']}",
        json={"title": "Night owl", "threshold": 4},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["threshold"]) == ("Night owl", 4)
    r = await client.delete(f"/badges/{badge['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert await Badge.find_one({"key": "night-owl"}) is None
    assert_problem(await client.delete(f"/badges/{badge['id']}", headers=admin.headers), 404)


async def test_badge_writes_need_an_admin(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user(city="Paris")
    body = {"key": "x-1", "title": "X", "type": "milestone", "activity": "run", "rule": "count",
            "threshold": 1}  # fmt: skip
    assert_problem(await client.post("/badges", json=body), 401)
    assert_problem(await client.post("/badges", json=body, headers=user.headers), 403)
    badge = (await everything(client))[0]
    path = f"/badges/{badge['id']}"
    assert_problem(await client.patch(path, json={"title": "Y"}), 401)
    assert_problem(await client.patch(path, json={"title": "Y"}, headers=user.headers), 403)
    assert_problem(await client.delete(path), 401)
    assert_problem(await client.delete(path, headers=user.headers), 403)
    assert await Badge.find_one({"key": "x-1"}) is None
    assert (await Badge.get(PydanticObjectId(badge["id"]))).title == badge["title"]  # type: ignore[union-attr]


async def test_unknown_badges_are_404(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    for path in ("/badges/665f00000000000000000000", "/badges/nope"):
        assert_problem(await client.patch(path, json={"title": "Y"}, headers=admin.headers), 404)
        assert_problem(await client.delete(path, headers=admin.headers), 404)
    assert_problem(
        await client.get("/users/665f00000000000000000000/badges", headers=admin.headers), 404
    )
    assert_problem(await client.get(f"/users/{admin.id}/badges"), 401)


@pytest.mark.parametrize(
    "fields",
    [
        {"rule": "best_effort_s", "activity": "workout", "min_distance_km": 5, "threshold": 1500},
        {"rule": "best_effort_s", "activity": "run", "threshold": 1500},  # which distance?
        {"rule": "best_effort_s", "activity": "run", "min_distance_km": 7, "threshold": 1500},
        {"rule": "count", "activity": "run", "min_distance_km": 5},
        {"rule": "single_run_km", "activity": "workout"},
        {"rule": "level", "activity": "run"},
        {"rule": "count", "threshold": 2.5},
        {"rule": "count", "threshold": 0},
        {"rule": "count", "xp_reward": -1},
        {"rule": "teleport"},
        {"key": "Not A Slug"},
        {"colour": "red"},
    ],
)
async def test_badges_that_make_no_sense_are_422_and_nothing_is_stored(
    api: Api, client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    admin = await api.admin()
    body = {"key": "odd", "title": "Odd", "type": "milestone", "activity": "run",
            "rule": "count", "threshold": 1, **fields}  # fmt: skip
    assert_problem(await client.post("/badges", json=body, headers=admin.headers), 422)
    assert await Badge.count() == len(SEEDED_BADGES)


async def test_a_duplicate_key_is_409(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    body = {"key": "first-run", "title": "Again", "type": "milestone", "activity": "run",
            "rule": "count", "threshold": 1}  # fmt: skip
    assert_problem(await client.post("/badges", json=body, headers=admin.headers), 409)
    assert await Badge.count() == len(SEEDED_BADGES)


async def test_an_earned_badge_keeps_its_rule_and_cannot_be_deleted(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    runner = await api.user(city="Paris")
    await post_run(client, runner)
    first_run = next(b for b in await everything(client) if b["key"] == "first-run")
    path = f"/badges/{first_run['id']}"
    assert_problem(await client.patch(path, json={"threshold": 2}, headers=admin.headers), 409)
    assert_problem(await client.patch(path, json={"xp_reward": 0}, headers=admin.headers), 409)
    assert_problem(await client.delete(path, headers=admin.headers), 409)
    r = await client.patch(path, json={"description": "Welcome"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert_problem(
        await client.patch(path, json={"rule": "level", "activity": "run"}, headers=admin.headers),
        422,
    )
    assert "first-run" in await earned(client, runner)


# --- rules --------------------------------------------------------------------------------------


async def test_run_count_and_distance_rules_award_at_their_threshold_and_not_before(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    await new_badge(client, admin, key="two-runs", rule="count", threshold=2)
    await new_badge(client, admin, key="twelve-km", rule="distance_total_km", threshold=12)
    await new_badge(client, admin, key="long-one", rule="single_run_km", threshold=8)
    runner = await api.user(city="Paris")
    await post_run(client, runner, started_at=at(0))
    got = await earned(client, runner)
    assert "first-run" in got
    assert not {"two-runs", "twelve-km", "long-one"} & set(got)
    second = await post_run(client, runner, started_at=at(1))
    got = await earned(client, runner)
    assert got["two-runs"]["source"] == {"kind": "run", "id": second["id"]}
    assert not {"twelve-km", "long-one"} & set(got)
    third = await post_run(client, runner, started_at=at(2), distance_km=9.0, duration_s=3240)
    got = await earned(client, runner)
    assert (
        got["twelve-km"]["source"]
        == got["long-one"]["source"]
        == {
            "kind": "run",
            "id": third["id"],
        }
    )
    xp = await badge_xp(runner)
    assert sorted(xp.values()) == [25, 40, 40, 40]
    await assert_xp_is_the_ledger(runner)


async def test_an_edit_that_lengthens_a_run_earns_a_badge(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    await new_badge(client, admin, key="long-one", rule="single_run_km", threshold=8)
    runner = await api.user(city="Paris")
    run = await post_run(client, runner)
    assert "long-one" not in await earned(client, runner)
    r = await client.patch(
        f"/runs/{run['id']}", json={"distance_km": 8.5, "duration_s": 3000}, headers=runner.headers
    )
    assert r.status_code == 200, r.text
    assert (await earned(client, runner))["long-one"]["source"]["id"] == run["id"]


async def test_workout_and_all_activity_rules(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    await new_badge(client, admin, key="two-workouts", activity="workout", threshold=2)
    await new_badge(client, admin, key="two-activities", activity="all", threshold=2)
    await new_badge(
        client, admin, key="one-hour", activity="all", rule="duration_total_h", threshold=1
    )
    athlete = await api.user(city="Paris")
    workout = await post_workout(client, athlete, day=0)
    got = await earned(client, athlete)
    assert got["first-workout"]["source"] == {"kind": "workout", "id": workout["id"]}
    assert not {"two-workouts", "two-activities", "one-hour"} & set(got)
    run = await post_run(client, athlete, started_at=at(1))
    got = await earned(client, athlete)
    assert (
        got["two-activities"]["source"]
        == got["one-hour"]["source"]
        == {
            "kind": "run",
            "id": run["id"],
        }
    )
    assert "two-workouts" not in got
    second = await post_workout(client, athlete, day=2, duration_s=600)
    assert (await earned(client, athlete))["two-workouts"]["source"]["id"] == second["id"]


async def test_score_total_rule(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    runner = await api.user(city="Paris")
    first = await post_run(client, runner, started_at=at(0))
    await new_badge(client, admin, key="points", rule="score_total", threshold=2 * first["score"])
    assert "points" not in await earned(client, runner)
    second = await post_run(client, runner, started_at=at(1))
    assert (await earned(client, runner))["points"]["source"]["id"] == second["id"]


async def test_streak_rules_count_consecutive_days_and_iso_weeks(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    await new_badge(
        client, admin, key="three-days", activity="all", rule="streak_days", threshold=3
    )
    await new_badge(
        client, admin, key="two-weeks", activity="run", rule="streak_weeks", threshold=2
    )
    runner = await api.user(city="Paris")
    await post_run(client, runner, started_at=at(0))  # Monday, week A
    await post_workout(client, runner, day=1)  # Tuesday (workouts count for "all")
    await post_run(client, runner, started_at=at(3))  # Thursday: no three days in a row
    await post_run(client, runner, started_at=at(14))  # week C: no two weeks in a row
    assert not {"three-days", "two-weeks"} & set(await earned(client, runner))
    wednesday = await post_run(client, runner, started_at=at(2))
    assert (await earned(client, runner))["three-days"]["source"]["id"] == wednesday["id"]
    week_b = await post_run(client, runner, started_at=at(9))
    assert (await earned(client, runner))["two-weeks"]["source"]["id"] == week_b["id"]


async def test_level_rule_is_awarded_when_xp_reaches_the_level(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    await new_badge(client, admin, key="level-two", activity="all", rule="level", threshold=2)
    runner = await api.user(city="Paris")
    # 150 XP a run (30 minutes), plus first-run's 25
    for day in range(6):
        await post_run(client, runner, started_at=at(day))
    assert await assert_xp_is_the_ledger(runner) == 925
    assert "level-two" not in await earned(client, runner)
    await post_run(client, runner, started_at=at(7))  # no 7-day streak
    got = await earned(client, runner)
    assert got["level-two"]["source"] is None
    assert await assert_xp_is_the_ledger(runner) == 1075 + 40


async def test_best_effort_rule_reads_the_runs_best_efforts(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    start = DAY0
    slow = paced_route([(5000, 360.0)], start=start)  # 30:00
    await post_run(client, runner, started_at=at(0), route=slow, duration_s=1800)
    assert "sub-25-5k" not in await earned(client, runner)
    fast = paced_route([(5000, 288.0)], start=start + timedelta(days=1))  # 24:00
    run = await post_run(client, runner, started_at=at(1), route=fast, duration_s=1440)
    assert (await earned(client, runner))["sub-25-5k"]["source"]["id"] == run["id"]


async def test_challenges_completed_rule_counts_completions(api: Api) -> None:
    runner = await api.user(city="Paris")
    user_id = PydanticObjectId(runner.id)
    await badges.on_challenge_completed(user_id=user_id, challenge_id="c1")
    found = await UserBadge.get_motor_collection().find({"user_id": user_id}).to_list(None)
    first = next(b for b in await badges.catalogue() if b["key"] == "first-challenge")
    assert [(d["badge_id"], d["source"]) for d in found] == [
        (first["_id"], {"kind": "challenge", "id": "c1"})
    ]
    await badges.on_challenge_withdrawn(user_id=user_id, challenge_id="c1")
    totals = await ActivityTotals.get(user_id)
    assert totals is not None
    assert totals.challenges_completed == 0
    assert await UserBadge.get_motor_collection().count_documents({"user_id": user_id}) == 1


# --- exactly once, kept, later badges, progress -------------------------------------------------


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_runs_award_each_badge_once_and_credit_it_once(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    await new_badge(client, admin, key="runs-5", threshold=5, xp_reward=10)
    await new_badge(client, admin, key="runs-20", threshold=20, xp_reward=20)
    await new_badge(client, admin, key="km-60", rule="distance_total_km", threshold=60)
    runner = await api.user(city="Paris")
    bodies = [
        {"started_at": at(i // 4, hour=6 * (i % 4) + 1), "distance_km": 5.0, "duration_s": 1800}
        for i in range(20)
    ]
    responses = await asyncio.gather(
        *(client.post("/runs", json=b, headers=runner.headers) for b in bodies)
    )
    assert [r.status_code for r in responses] == [201] * 20
    got = await earned(client, runner)
    assert {"first-run", "runs-5", "runs-20", "km-60"} <= set(got)
    awards = await UserBadge.get_motor_collection().count_documents(
        {"user_id": PydanticObjectId(runner.id)}
    )
    assert awards == len(got)
    xp = await badge_xp(runner)
    assert len(xp) == len(got)
    assert sum(xp.values()) == sum(e["badge"]["xp_reward"] for e in got.values())
    totals = await ActivityTotals.get(PydanticObjectId(runner.id))
    assert totals is not None
    assert (totals.runs, round(totals.run_distance_km, 6)) == (20, 100.0)
    assert await assert_xp_is_the_ledger(runner) == 20 * 150 + sum(xp.values())


async def test_earned_badges_stay_earned_when_the_activities_go(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    run = await post_run(client, runner)
    workout = await post_workout(client, runner)
    before = await earned(client, runner)
    assert {"first-run", "first-workout"} <= set(before)
    assert (await client.delete(f"/runs/{run['id']}", headers=runner.headers)).status_code == 204
    r = await client.delete(f"/workouts/{workout['id']}", headers=runner.headers)
    assert r.status_code == 204
    assert await earned(client, runner) == before
    assert await assert_xp_is_the_ledger(runner) == 50  # the two badges' rewards
    totals = await ActivityTotals.get(PydanticObjectId(runner.id))
    assert totals is not None
    assert (totals.runs, totals.workouts) == (0, 0)
    # earning "again" adds nothing
    await post_run(client, runner, started_at=at(1))
    assert await earned(client, runner) == before


async def test_a_badge_created_later_is_awarded_by_its_job_to_those_who_meet_it(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "AWARD_BATCH", 2)  # several batches
    admin = await api.admin()
    veterans = [await api.user(city="Paris") for _ in range(3)]
    for runner in veterans:
        for day in range(3):
            await post_run(client, runner, started_at=at(day))
    newcomer = await api.user(city="Paris")
    await post_run(client, newcomer)
    r = await client.post(
        "/badges",
        json={
            "key": "three-runs",
            "title": "Three",
            "type": "milestone",
            "activity": "run",
            "rule": "count",
            "threshold": 3,
            "xp_reward": 30,
        },
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    await jobs.wait_idle()
    for runner in veterans:
        got = await earned(client, runner)
        assert got["three-runs"]["source"] is None
        assert (await badge_xp(runner))[r.json()["id"]] == 30
        await assert_xp_is_the_ledger(runner)
    assert "three-runs" not in await earned(client, newcomer)
    # re-running the job (an operator after a crash) awards nothing twice
    assert (
        await jobs.award_to_all(
            await Badge.get_motor_collection().find_one({"_id": PydanticObjectId(r.json()["id"])})
        )
        == 0
    )
    # the newcomer's third run earns it through the hook
    await post_run(client, newcomer, started_at=at(1))
    third = await post_run(client, newcomer, started_at=at(2))
    assert (await earned(client, newcomer))["three-runs"]["source"]["id"] == third["id"]


async def test_progress_is_shown_to_the_user_themself_only(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    other = await api.user(city="Paris")
    await post_run(client, runner, distance_km=7.5, duration_s=2700)
    r = await client.get(f"/users/{runner.id}/badges", headers=runner.headers)
    body = r.json()
    assert [e["badge"]["key"] for e in body["earned"]] == ["first-run"]
    progress = {p["badge"]["key"]: p for p in body["progress"]}
    assert "first-run" not in progress
    assert (progress["runs-10"]["value"], progress["runs-10"]["threshold"]) == (1, 10)
    assert progress["km-100"]["value"] == 7.5
    assert progress["first-10k"]["value"] == 7.5
    assert progress["sub-25-5k"]["value"] is None
    assert progress["level-5"]["value"] == 1
    assert progress["hours-10"]["value"] == 0.75
    r = await client.get(f"/users/{runner.id}/badges", headers=other.headers)
    assert r.status_code == 200
    assert r.json()["progress"] is None
    assert [e["badge"]["key"] for e in r.json()["earned"]] == ["first-run"]


async def test_account_deletion_takes_its_badges_and_totals(
    api: Api, client: httpx.AsyncClient
) -> None:
    runner = await api.user(city="Paris")
    await post_run(client, runner)
    await post_workout(client, runner)
    r = await client.delete("/users/me", headers=runner.headers)
    assert r.status_code == 204, r.text
    user_id = PydanticObjectId(runner.id)
    assert await UserBadge.get_motor_collection().count_documents({"user_id": user_id}) == 0
    assert await ActivityTotals.get(user_id) is None


async def test_the_rebuild_reports_and_repairs_totals_awards_and_their_xp(
    api: Api, client: httpx.AsyncClient
) -> None:
    from service.badges import rebuild

    runner = await api.user(city="Paris")
    await post_run(client, runner, started_at=at(0))
    await post_workout(client, runner, day=1)
    assert (await rebuild.rebuild(repair=False)).clean
    xp = await assert_xp_is_the_ledger(runner)
    user_id = PydanticObjectId(runner.id)
    # tampered: totals wrong, an award lost, an entry changed, an orphan entry
    await ActivityTotals.get_motor_collection().update_one({"_id": user_id}, {"$inc": {"runs": 5}})
    first_workout = next(b for b in await badges.catalogue() if b["key"] == "first-workout")
    await UserBadge.get_motor_collection().delete_one(
        {"_id": badges.award_id(user_id, first_workout["_id"])}
    )
    await XpEntry.get_motor_collection().delete_one(
        {"_id": f"badge:{user_id}:{first_workout['_id']}"}
    )
    first_run = next(b for b in await badges.catalogue() if b["key"] == "first-run")
    await XpEntry.get_motor_collection().update_one(
        {"_id": f"badge:{user_id}:{first_run['_id']}"}, {"$set": {"amount": 1}}
    )
    await XpEntry.get_motor_collection().insert_one(
        {
            "_id": f"badge:{user_id}:665f00000000000000000000",
            "user_id": user_id,
            "kind": "badge",
            "source_id": "665f00000000000000000000",
            "amount": 0,
            "at": DAY0,
        }
    )
    drift = await rebuild.rebuild(repair=False)
    assert drift.counts() == {"totals": 1, "awards": 1, "entries": 1, "orphans": 1}
    await rebuild.rebuild(repair=True)
    assert (await rebuild.rebuild(repair=False)).clean
    assert {"first-run", "first-workout"} <= set(await earned(client, runner))
    totals = await ActivityTotals.get(user_id)
    assert totals is not None
    assert (totals.runs, totals.workouts) == (1, 1)
    # users.xp follows the ledger: first-run's entry was tampered without moving users.xp
    user = await User.get(user_id)
    assert user is not None
    assert sum(e.amount for e in await XpEntry.find({"user_id": user_id}).to_list()) == xp

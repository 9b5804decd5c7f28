"""The exercise catalogue: seeded standard exercises, search and filters, private exercises,
admin management, unique names per owner, and no deletion while a workout uses one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from documents import Exercise
from service import db
from service.exercises import service as exercises
from service.exercises.catalogue import STANDARD_EXERCISES
from tests.conftest import TEST_MONGODB_URI, assert_problem, make_settings, serve
from tests.factories import Account, Api


def exercise(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "Zercher squat",
        "category": "strength",
        "primary_muscles": ["quadriceps", "core"],
        "equipment": "barbell",
        "measures": ["reps", "weight_kg"],
    }
    payload.update(overrides)
    return payload


async def everything(client: httpx.AsyncClient, account: Account | None = None, **params: Any):
    """Every exercise the caller sees, walking the pages."""
    headers = account.headers if account else {}
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 100, **params}
    while True:
        r = await client.get("/exercises", params=query, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if r.json()["next"] is None:
            return items
        query = {**query, "after": r.json()["next"]}


async def by_name(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    (found,) = [e for e in await everything(client, search=name) if e["name"] == name]
    return found


# --- the seeded catalogue ---------------------------------------------------------------------


async def test_the_catalogue_is_seeded_once(client: httpx.AsyncClient) -> None:
    items = await everything(client)
    assert len(items) == len(STANDARD_EXERCISES) >= 60
    assert {e["category"] for e in items} == {"strength", "cardio", "mobility", "plyometrics"}
    assert all(not e["private"] and e["owner_id"] is None for e in items)
    assert all(e["measures"] and e["primary_muscles"] for e in items)
    # sorted by name, case-insensitively
    keys = [e["name"].casefold() for e in items]
    assert keys == sorted(keys)

    # a restart (or two processes starting together) adds nothing
    assert await exercises.seed_catalogue() == 0
    await asyncio.gather(exercises.seed_catalogue(), exercises.seed_catalogue())
    assert len(await everything(client)) == len(STANDARD_EXERCISES)


@pytest.fixture
def shared_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps started one after another see the same data, like restarts of one deployment."""
    if TEST_MONGODB_URI:
        return  # a real server keeps the data between apps with the same settings
    from mongomock_motor import AsyncMongoMockClient

    client = AsyncMongoMockClient(tz_aware=True)
    monkeypatch.setattr(db, "make_client", lambda settings: client)


@pytest.mark.usefixtures("shared_store")
async def test_a_restart_of_the_service_seeds_nothing_twice() -> None:
    settings = make_settings()
    async with serve(settings, keep_database=True) as client:
        first = await everything(client)
    async with serve(settings) as client:
        again = await everything(client)
    assert len(again) == len(STANDARD_EXERCISES)
    assert again == first


async def test_a_restart_keeps_an_admins_edit_and_adds_back_nothing_else(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    squat = await by_name(client, "Back squat")
    r = await client.patch(
        f"/exercises/{squat['id']}", json={"equipment": "machine"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    await exercises.seed_catalogue()
    assert (await by_name(client, "Back squat"))["equipment"] == "machine"


async def test_search_and_filters(client: httpx.AsyncClient) -> None:
    names = {e["name"] for e in await everything(client, search="PRESS")}
    assert {"Bench press", "Overhead press", "Leg press", "Dumbbell shoulder press"} <= names
    assert all("press" in n.casefold() for n in names)
    names = {e["name"] for e in await everything(client, search="  bench ")}
    assert "Bench press" in names

    cardio = await everything(client, category="cardio")
    assert cardio
    assert all(e["category"] == "cardio" for e in cardio)
    glutes = await everything(client, muscle="glutes")
    assert glutes
    assert all("glutes" in e["primary_muscles"] for e in glutes)
    both = await everything(client, muscle="glutes", equipment="barbell", category="strength")
    assert {e["name"] for e in both} >= {"Back squat", "Hip thrust"}
    assert all(e["equipment"] == "barbell" for e in both)
    assert await everything(client, search="no such exercise") == []


@pytest.mark.parametrize(
    "params",
    [
        {"search": "bad\u0000"},
        {"search": "x" * 81},
        {"category": "yoga"},
        {"muscle": "heart"},
        {"equipment": "spaceship"},
        {"limit": 0},
        {"after": "nonsense"},
    ],
)
async def test_bad_list_queries_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert_problem(await client.get("/exercises", params=params), 422)


async def test_pages_cover_the_catalogue_exactly_once(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        r = await client.get("/exercises", params=params)
        body = r.json()
        assert body["total"] == len(STANDARD_EXERCISES)
        seen += [e["id"] for e in body["items"]]
        if body["next"] is None:
            break
        params = {"limit": 7, "after": body["next"]}
    assert len(seen) == len(set(seen)) == len(STANDARD_EXERCISES)
    r = await client.get("/exercises", params={"limit": 5, "offset": 5})
    assert [e["id"] for e in r.json()["items"]] == seen[5:10]


async def test_get_an_exercise(client: httpx.AsyncClient) -> None:
    squat = await by_name(client, "Back squat")
    r = await client.get(f"/exercises/{squat['id']}")
    assert r.status_code == 200
    assert r.json() == squat
    assert squat["measures"] == ["reps", "weight_kg"]
    for missing in ("0" * 24, "nope"):
        assert_problem(await client.get(f"/exercises/{missing}"), 404)
    assert_problem(
        await client.get("/exercises", headers={"Authorization": "Bearer not-a-token"}), 401
    )


# --- private exercises ------------------------------------------------------------------------


async def test_a_users_exercise_is_private(client: httpx.AsyncClient, api: Api) -> None:
    me, other = await api.user(), await api.user()
    r = await client.post("/exercises", json=exercise(), headers=me.headers)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["private"] is True
    assert mine["owner_id"] == me.id
    assert mine["name"] == "Zercher squat"

    # listed for me, merged by name with the catalogue
    listed = await everything(client, me)
    assert mine in listed
    keys = [e["name"].casefold() for e in listed]
    assert keys == sorted(keys)
    assert len(listed) == len(STANDARD_EXERCISES) + 1
    assert mine in await everything(client, me, search="zercher", equipment="barbell")
    r = await client.get(f"/exercises/{mine['id']}", headers=me.headers)
    assert r.json() == mine

    # invisible to anyone else
    assert mine not in await everything(client, other)
    assert mine not in await everything(client)
    assert_problem(await client.get(f"/exercises/{mine['id']}", headers=other.headers), 404)
    assert_problem(await client.get(f"/exercises/{mine['id']}"), 404)
    assert_problem(
        await client.patch(
            f"/exercises/{mine['id']}", json={"name": "Mine now"}, headers=other.headers
        ),
        404,
    )
    assert_problem(await client.delete(f"/exercises/{mine['id']}", headers=other.headers), 404)

    # another user may use the same name for their own
    r = await client.post("/exercises", json=exercise(), headers=other.headers)
    assert r.status_code == 201, r.text


async def test_names_are_unique_per_owner_case_insensitively(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, admin = await api.user(), await api.admin()
    r = await client.post("/exercises", json=exercise(), headers=me.headers)
    assert r.status_code == 201
    for name in ("zercher SQUAT", "Ｚｅｒｃｈｅｒ  squat"):
        assert_problem(
            await client.post("/exercises", json=exercise(name=name), headers=me.headers), 409
        )
    # a private name may repeat a public one; a public one may not
    r = await client.post("/exercises", json=exercise(name="back squat"), headers=me.headers)
    assert r.status_code == 201, r.text
    assert_problem(
        await client.post("/exercises", json=exercise(name="BACK SQUAT"), headers=admin.headers),
        409,
    )
    assert await Exercise.find({"name_key": "zercher squat"}).count() == 1


async def test_only_admins_add_to_the_public_catalogue(client: httpx.AsyncClient, api: Api) -> None:
    me, admin = await api.user(), await api.admin()
    assert_problem(await client.post("/exercises", json=exercise()), 401)
    assert_problem(
        await client.post("/exercises", json=exercise(private=False), headers=me.headers), 403
    )
    assert await Exercise.find({"name": "Zercher squat"}).count() == 0

    r = await client.post("/exercises", json=exercise(), headers=admin.headers)
    assert r.status_code == 201, r.text
    public = r.json()
    assert public["private"] is False
    assert public["owner_id"] is None
    assert public in await everything(client)
    r = await client.post(
        "/exercises", json=exercise(name="Admin's own", private=True), headers=admin.headers
    )
    assert r.json()["private"] is True

    url = f"/exercises/{public['id']}"
    assert_problem(await client.patch(url, json={"name": "Mine"}, headers=me.headers), 403)
    assert_problem(await client.delete(url, headers=me.headers), 403)
    r = await client.patch(url, json={"name": "Zercher Squat (barbell)"}, headers=admin.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "Zercher Squat (barbell)"
    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    assert_problem(await client.get(url), 404)


@pytest.mark.parametrize(
    "change",
    [
        {"name": "x"},
        {"name": "a\u200bb"},
        {"category": "yoga"},
        {"primary_muscles": []},
        {"primary_muscles": ["glutes", "glutes"]},
        {"primary_muscles": ["heart"]},
        {"measures": []},
        {"measures": ["reps", "reps"]},
        {"measures": ["calories"]},
        {"equipment": "spaceship"},
        {"score": 1},
    ],
)
async def test_invalid_exercises_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, api: Api, change: dict[str, Any]
) -> None:
    me = await api.user()
    assert_problem(
        await client.post("/exercises", json=exercise(**change), headers=me.headers), 422
    )
    assert await Exercise.find({"owner_id": {"$ne": None}}).count() == 0


async def test_edit_my_exercise(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    mine = (await client.post("/exercises", json=exercise(), headers=me.headers)).json()
    other = (
        await client.post("/exercises", json=exercise(name="Jefferson curl"), headers=me.headers)
    ).json()
    url = f"/exercises/{mine['id']}"
    r = await client.patch(
        url, json={"name": "Zercher lunge", "measures": ["reps"]}, headers=me.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Zercher lunge"
    assert r.json()["measures"] == ["reps"]
    assert (await client.get(url, headers=me.headers)).json() == r.json()
    # renaming onto another of my names
    assert_problem(
        await client.patch(url, json={"name": "JEFFERSON curl"}, headers=me.headers), 409
    )
    for bad in ({"name": None}, {"measures": None}, {"measures": ["kg"]}):
        assert_problem(await client.patch(url, json=bad, headers=me.headers), 422)
    assert (await client.get(url, headers=me.headers)).json() == r.json()
    assert (await client.get(f"/exercises/{other['id']}", headers=me.headers)).json() == other
    assert_problem(await client.patch(url, json={"name": "No token"}), 401)


# --- in use -----------------------------------------------------------------------------------


async def test_an_exercise_in_use_cannot_be_deleted_nor_change_measures(
    client: httpx.AsyncClient, api: Api
) -> None:
    me = await api.user()
    mine = (await client.post("/exercises", json=exercise(), headers=me.headers)).json()
    started = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    r = await client.post(
        "/workouts",
        json={
            "started_at": started,
            "duration_s": 600,
            "sets": [{"exercise_id": mine["id"], "reps": 5, "weight_kg": 60}],
        },
        headers=me.headers,
    )
    assert r.status_code == 201, r.text
    workout = r.json()
    url = f"/exercises/{mine['id']}"
    assert_problem(await client.delete(url, headers=me.headers), 409)
    assert_problem(await client.patch(url, json={"measures": ["reps"]}, headers=me.headers), 409)
    # a rename is fine, and workouts show the new name
    r = await client.patch(url, json={"name": "Zercher squat (pause)"}, headers=me.headers)
    assert r.status_code == 200
    r = await client.get(f"/workouts/{workout['id']}", headers=me.headers)
    assert r.json()["sets"][0]["exercise_name"] == "Zercher squat (pause)"

    # once no workout uses it, it can go
    assert (
        await client.delete(f"/workouts/{workout['id']}", headers=me.headers)
    ).status_code == 204
    assert (await client.delete(url, headers=me.headers)).status_code == 204
    assert_problem(await client.get(url, headers=me.headers), 404)
    assert_problem(await client.delete(url, headers=me.headers), 404)


async def test_private_exercises_are_capped(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exercises, "MAX_PRIVATE_EXERCISES", 2)
    me = await api.user()
    for name in ("One drill", "Two drill"):
        r = await client.post("/exercises", json=exercise(name=name), headers=me.headers)
        assert r.status_code == 201
    body = assert_problem(
        await client.post("/exercises", json=exercise(name="Three drill"), headers=me.headers),
        409,
    )
    assert "At most 2" in str(body["detail"])


async def test_a_workout_recorded_while_its_exercise_is_deleted_keeps_it(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workout lands between the delete's in-use check and its delete: 409, both stay."""
    me = await api.user()
    mine = (await client.post("/exercises", json=exercise(), headers=me.headers)).json()
    started = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    workout = {
        "started_at": started,
        "duration_s": 600,
        "sets": [{"exercise_id": mine["id"], "reps": 5, "weight_kg": 60}],
    }
    check = exercises.in_use
    recorded: list[httpx.Response] = []

    async def in_use_then_recorded(exercise_id: Any) -> bool:
        answer = await check(exercise_id)
        if not recorded:
            recorded.append(await client.post("/workouts", json=workout, headers=me.headers))
        return answer

    monkeypatch.setattr(exercises, "in_use", in_use_then_recorded)
    assert_problem(await client.delete(f"/exercises/{mine['id']}", headers=me.headers), 409)
    assert recorded[0].status_code == 201, recorded[0].text
    r = await client.get(f"/exercises/{mine['id']}", headers=me.headers)
    assert r.status_code == 200
    assert r.json() == mine


async def test_an_exercise_deleted_while_a_workout_is_recorded_refuses_the_workout(
    client: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delete lands between the workout's check of its sets and its insert: 422."""
    from documents import Workout

    me = await api.user()
    mine = (await client.post("/exercises", json=exercise(), headers=me.headers)).json()
    started = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    workout = {
        "started_at": started,
        "duration_s": 600,
        "sets": [{"exercise_id": mine["id"], "reps": 5, "weight_kg": 60}],
    }
    usable = exercises.usable

    async def usable_then_deleted(ids: Any, user: Any) -> Any:
        found = await usable(ids, user)
        r = await client.delete(f"/exercises/{mine['id']}", headers=me.headers)
        assert r.status_code == 204, r.text
        return found

    monkeypatch.setattr(exercises, "usable", usable_then_deleted)
    body = assert_problem(await client.post("/workouts", json=workout, headers=me.headers), 422)
    assert body["errors"][0]["loc"] == ["body", "sets", 0, "exercise_id"]
    assert await Workout.find_all().count() == 0

"""Workouts: sets of catalogue exercises with their measures, derived totals, hooks, lists."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId

from documents import Workout
from service import events
from tests.conftest import assert_problem
from tests.factories import Account, Api

NOW = datetime.now(UTC)


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).replace(microsecond=0).isoformat()


async def exercise_id(client: httpx.AsyncClient, name: str, account: Account | None = None) -> str:
    headers = account.headers if account else {}
    r = await client.get("/exercises", params={"search": name, "limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    matches = [e for e in r.json()["items"] if e["name"] == name]
    assert matches, r.text
    return matches[0]["id"]


async def workout_payload(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    squat = await exercise_id(client, "Back squat")
    pushup = await exercise_id(client, "Push-up")
    plank = await exercise_id(client, "Plank")
    payload: dict[str, Any] = {
        "started_at": ago(hours=3),
        "duration_s": 3600,
        "name": "Leg day",
        "sets": [
            {"exercise_id": squat, "reps": 5, "weight_kg": 100, "rpe": 8},
            {"exercise_id": squat, "reps": 5, "weight_kg": 102.5},
            {"exercise_id": pushup, "reps": 20},
            {"exercise_id": plank, "duration_s": 60},
        ],
    }
    payload.update(overrides)
    return payload


async def record(client: httpx.AsyncClient, account: Account, **overrides: Any) -> dict[str, Any]:
    payload = await workout_payload(client, **overrides)
    r = await client.post("/workouts", json=payload, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def hooks() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Every workout hook's payloads, recorded while the test runs."""
    seen: dict[str, list[dict[str, Any]]] = {}
    connected = []
    for hook in (
        events.workout_recorded,
        events.workout_changed,
        events.workout_deleted,
        events.workouts_deleted,
    ):
        calls: list[dict[str, Any]] = []
        seen[hook.name] = calls

        async def handler(_calls: list[dict[str, Any]] = calls, **payload: Any) -> None:
            _calls.append(payload)

        hook.connect(handler)
        connected.append((hook, handler))
    yield seen
    for hook, handler in connected:
        hook.handlers.remove(handler)


async def stored_count() -> int:
    return await Workout.find_all().count()


# --- recording --------------------------------------------------------------------------------


async def test_record_a_workout_with_derived_totals_and_exercise_names(
    client: httpx.AsyncClient, api: Api, hooks: dict[str, list[dict[str, Any]]]
) -> None:
    me = await api.user()
    workout = await record(client, me, notes="felt strong")
    assert workout["user_id"] == me.id
    assert workout["name"] == "Leg day"
    assert workout["notes"] == "felt strong"
    assert workout["duration_s"] == 3600
    assert workout["sets_count"] == 4
    assert workout["exercises_count"] == 3
    assert workout["volume_kg"] == pytest.approx(5 * 100 + 5 * 102.5)
    assert [s["exercise_name"] for s in workout["sets"]] == [
        "Back squat",
        "Back squat",
        "Push-up",
        "Plank",
    ]
    assert workout["sets"][0]["rpe"] == 8
    assert workout["sets"][3]["duration_s"] == 60
    assert workout["sets"][3]["reps"] is None

    r = await client.get(f"/workouts/{workout['id']}", headers=me.headers)
    assert r.status_code == 200
    assert r.json() == workout

    (call,) = hooks["workout.recorded"]
    assert str(call["workout"].id) == workout["id"]
    assert call["workout"].volume_kg == pytest.approx(1012.5)
    assert call["workout"].day == datetime.fromisoformat(workout["started_at"]).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


async def test_workouts_earn_no_score(client: httpx.AsyncClient, api: Api) -> None:
    from documents import ScoreBucket

    me = await api.user()
    await record(client, me)
    assert await ScoreBucket.find_all().count() == 0


async def test_recording_needs_a_token(client: httpx.AsyncClient, api: Api) -> None:
    payload = await workout_payload(client)
    assert_problem(await client.post("/workouts", json=payload), 401)
    assert await stored_count() == 0


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"sets": []}, "sets"),
        ({"duration_s": 0}, "duration_s"),
        ({"duration_s": 86_401}, "duration_s"),
        ({"started_at": "1999-12-31T10:00:00Z"}, "started_at"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"score": 10}, "score"),
        ({"name": "bad\u0000name"}, "name"),
    ],
)
async def test_invalid_workouts_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, api: Api, change: dict[str, Any], where: str
) -> None:
    me = await api.user()
    payload = await workout_payload(client, **change)
    body = assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)
    assert any(where in e["loc"] for e in body["errors"]), body
    assert await stored_count() == 0


async def test_a_start_in_the_future_is_refused(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    payload = await workout_payload(client, started_at=later)
    body = assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)
    assert "future" in str(body["detail"])
    assert await stored_count() == 0
    # a few minutes of clock skew are allowed
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    await record(client, me, started_at=soon)


async def test_too_many_sets_are_refused(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    pushup = await exercise_id(client, "Push-up")
    sets = [{"exercise_id": pushup, "reps": 10}] * 201
    payload = await workout_payload(client, sets=sets)
    assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)
    payload["sets"] = sets[:200]
    r = await client.post("/workouts", json=payload, headers=me.headers)
    assert r.status_code == 201, r.text
    assert r.json()["sets_count"] == 200
    assert r.json()["exercises_count"] == 1
    assert r.json()["volume_kg"] == 0


@pytest.mark.parametrize(
    ("exercise", "given", "field"),
    [
        ("Back squat", {"reps": 5}, "weight_kg"),  # a required measure missing
        ("Back squat", {"weight_kg": 100}, "reps"),
        ("Push-up", {"reps": 10, "weight_kg": 20}, "weight_kg"),  # a measure it does not take
        ("Plank", {"duration_s": 60, "distance_m": 5}, "distance_m"),
        ("Plank", {"reps": 1}, "reps"),
        ("Treadmill run", {"duration_s": 600}, "distance_m"),
    ],
)
async def test_each_set_gives_exactly_the_measures_of_its_exercise(
    client: httpx.AsyncClient, api: Api, exercise: str, given: dict[str, Any], field: str
) -> None:
    me = await api.user()
    pushup = await exercise_id(client, "Push-up")
    wrong = {"exercise_id": await exercise_id(client, exercise), **given}
    sets = [{"exercise_id": pushup, "reps": 10}] * 3 + [wrong]
    payload = await workout_payload(client, sets=sets)
    body = assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)
    assert body["errors"][0]["loc"] == ["body", "sets", 3, field]
    assert f"sets.3.{field}" in str(body["detail"])
    assert await stored_count() == 0


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"reps": 0, "weight_kg": 10}, "reps"),
        ({"reps": 1001, "weight_kg": 10}, "reps"),
        ({"reps": 5, "weight_kg": -1}, "weight_kg"),
        ({"reps": 5, "weight_kg": 1000.5}, "weight_kg"),
        ({"reps": 5, "weight_kg": 10, "rpe": 0}, "rpe"),
        ({"reps": 5, "weight_kg": 10, "rpe": 11}, "rpe"),
        ({"reps": 5, "weight_kg": 10, "extra": 1}, "extra"),
    ],
)
async def test_set_bounds(
    client: httpx.AsyncClient, api: Api, given: dict[str, Any], field: str
) -> None:
    me = await api.user()
    squat = await exercise_id(client, "Back squat")
    payload = await workout_payload(client, sets=[{"exercise_id": squat, **given}])
    body = assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)
    assert body["errors"][0]["loc"][:4] == ["body", "sets", 0, field]
    assert await stored_count() == 0


async def test_set_duration_and_weight_edges(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    squat = await exercise_id(client, "Back squat")
    plank = await exercise_id(client, "Plank")
    sets = [
        {"exercise_id": squat, "reps": 1000, "weight_kg": 0},
        {"exercise_id": squat, "reps": 1, "weight_kg": 1000},
        {"exercise_id": plank, "duration_s": 86_400},
    ]
    workout = await record(client, me, sets=sets)
    assert workout["volume_kg"] == 1000
    payload = await workout_payload(client, sets=[{"exercise_id": plank, "duration_s": 86_401}])
    assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)


async def test_unknown_or_someone_elses_private_exercise_is_refused(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, other = await api.user(), await api.user()
    r = await client.post(
        "/exercises",
        json={
            "name": "Secret lift",
            "category": "strength",
            "primary_muscles": ["back"],
            "measures": ["reps"],
        },
        headers=other.headers,
    )
    assert r.status_code == 201, r.text
    secret = r.json()["id"]
    for exercise in (secret, "0" * 24):
        payload = await workout_payload(client, sets=[{"exercise_id": exercise, "reps": 3}])
        body = assert_problem(await client.post("/workouts", json=payload, headers=me.headers), 422)
        assert body["errors"][0]["loc"] == ["body", "sets", 0, "exercise_id"]
    assert await stored_count() == 0
    # its owner may log it
    payload = await workout_payload(client, sets=[{"exercise_id": secret, "reps": 3}])
    r = await client.post("/workouts", json=payload, headers=other.headers)
    assert r.status_code == 201, r.text
    assert r.json()["sets"][0]["exercise_name"] == "Secret lift"


# --- reading ----------------------------------------------------------------------------------


async def test_get_a_workout_401_and_404(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    workout = await record(client, me)
    assert_problem(await client.get(f"/workouts/{workout['id']}"), 401)
    for missing in ("0" * 24, "nope"):
        assert_problem(await client.get(f"/workouts/{missing}", headers=me.headers), 404)
    other = await api.user()
    r = await client.get(f"/workouts/{workout['id']}", headers=other.headers)
    assert r.status_code == 200


async def test_lists_newest_first_with_filters_and_pages(
    client: httpx.AsyncClient, api: Api
) -> None:
    me, other = await api.user(), await api.user()
    mine = [await record(client, me, started_at=ago(days=d, hours=1)) for d in range(5)]
    theirs = await record(client, other, started_at=ago(days=2, hours=2))

    r = await client.get("/workouts", params={"limit": 100}, headers=me.headers)
    assert r.status_code == 200
    ids = [w["id"] for w in r.json()["items"]]
    expected = [mine[0], mine[1], mine[2], theirs, mine[3], mine[4]]
    assert ids == [w["id"] for w in expected]
    assert r.json()["total"] == 6

    r = await client.get("/workouts", params={"user_id": me.id}, headers=me.headers)
    assert [w["id"] for w in r.json()["items"]] == [w["id"] for w in mine]
    r = await client.get(f"/users/{me.id}/workouts", headers=other.headers)
    assert [w["id"] for w in r.json()["items"]] == [w["id"] for w in mine]

    # [from, to)
    params = {"from": mine[3]["started_at"], "to": mine[1]["started_at"]}
    r = await client.get(f"/users/{me.id}/workouts", params=params, headers=me.headers)
    assert [w["id"] for w in r.json()["items"]] == [mine[2]["id"], mine[3]["id"]]

    # pages by cursor
    seen: list[str] = []
    params = {"limit": 2}
    while True:
        r = await client.get(f"/users/{me.id}/workouts", params=params, headers=me.headers)
        assert r.status_code == 200, r.text
        seen += [w["id"] for w in r.json()["items"]]
        if r.json()["next"] is None:
            break
        params = {"limit": 2, "after": r.json()["next"]}
    assert seen == [w["id"] for w in mine]


async def test_list_errors(client: httpx.AsyncClient, api: Api) -> None:
    me = await api.user()
    assert_problem(await client.get("/workouts"), 401)
    assert_problem(await client.get(f"/users/{me.id}/workouts"), 401)
    assert_problem(await client.get(f"/users/{'0' * 24}/workouts", headers=me.headers), 404)
    for params in (
        {"user_id": "x"},
        {"from": "soon"},
        {"from": "2026-02-01", "to": "2026-01-01"},
        {"after": "garbage"},
    ):
        assert_problem(await client.get("/workouts", params=params, headers=me.headers), 422)


# --- editing and deleting ---------------------------------------------------------------------


async def test_owner_edits_a_workout_and_totals_follow(
    client: httpx.AsyncClient, api: Api, hooks: dict[str, list[dict[str, Any]]]
) -> None:
    me = await api.user()
    workout = await record(client, me)
    squat = workout["sets"][0]["exercise_id"]
    changes = {
        "name": None,
        "notes": "moved",
        "duration_s": 1800,
        "sets": [{"exercise_id": squat, "reps": 3, "weight_kg": 120}],
    }
    r = await client.patch(f"/workouts/{workout['id']}", json=changes, headers=me.headers)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["name"] is None
    assert after["notes"] == "moved"
    assert after["duration_s"] == 1800
    assert (after["sets_count"], after["exercises_count"], after["volume_kg"]) == (1, 1, 360)
    assert after["revision"] == workout["revision"] + 1
    r = await client.get(f"/workouts/{workout['id']}", headers=me.headers)
    assert r.json() == after

    (call,) = hooks["workout.changed"]
    assert call["before"].volume_kg == pytest.approx(1012.5)
    assert call["after"].volume_kg == 360
    assert str(call["after"].id) == workout["id"]

    # nothing changed: nothing announced
    r = await client.patch(
        f"/workouts/{workout['id']}", json={"notes": "moved"}, headers=me.headers
    )
    assert r.status_code == 200
    assert len(hooks["workout.changed"]) == 1


async def test_edit_errors_change_nothing(client: httpx.AsyncClient, api: Api) -> None:
    me, other = await api.user(), await api.user()
    workout = await record(client, me)
    url = f"/workouts/{workout['id']}"
    assert_problem(await client.patch(url, json={"duration_s": 60}), 401)
    assert_problem(await client.patch(url, json={"duration_s": 60}, headers=other.headers), 403)
    assert_problem(
        await client.patch(f"/workouts/{'0' * 24}", json={"duration_s": 60}, headers=me.headers),
        404,
    )
    pushup = await exercise_id(client, "Push-up")
    for bad in (
        {"duration_s": None},
        {"sets": None},
        {"sets": []},
        {"sets": [{"exercise_id": pushup, "weight_kg": 10}]},
        {"started_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    ):
        assert_problem(await client.patch(url, json=bad, headers=me.headers), 422)
    r = await client.get(url, headers=me.headers)
    assert r.json() == workout


async def test_concurrent_edits_announce_from_distinct_befores(
    client: httpx.AsyncClient, api: Api, hooks: dict[str, list[dict[str, Any]]]
) -> None:
    me = await api.user()
    workout = await record(client, me)
    url = f"/workouts/{workout['id']}"
    replies = await asyncio.gather(
        *(client.patch(url, json={"duration_s": 100 + i}, headers=me.headers) for i in range(6))
    )
    assert all(r.status_code in (200, 409) for r in replies), [r.text for r in replies]
    changed = hooks["workout.changed"]
    revisions = [c["before"].revision for c in changed]
    assert len(set(revisions)) == len(revisions)
    final = (await client.get(url, headers=me.headers)).json()
    assert final["revision"] == len(changed)


async def test_delete_by_owner_or_admin(
    client: httpx.AsyncClient, api: Api, hooks: dict[str, list[dict[str, Any]]]
) -> None:
    me, other, admin = await api.user(), await api.user(), await api.admin()
    first, second = await record(client, me), await record(client, me, started_at=ago(days=1))
    assert_problem(await client.delete(f"/workouts/{first['id']}"), 401)
    assert_problem(await client.delete(f"/workouts/{first['id']}", headers=other.headers), 403)
    r = await client.delete(f"/workouts/{first['id']}", headers=me.headers)
    assert r.status_code == 204
    assert_problem(await client.get(f"/workouts/{first['id']}", headers=me.headers), 404)
    assert_problem(await client.delete(f"/workouts/{first['id']}", headers=me.headers), 404)
    r = await client.delete(f"/workouts/{second['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert [str(c["workout"].id) for c in hooks["workout.deleted"]] == [
        first["id"],
        second["id"],
    ]
    assert await stored_count() == 0


async def test_deleting_a_user_deletes_their_workouts_and_private_exercises(
    client: httpx.AsyncClient, api: Api, hooks: dict[str, list[dict[str, Any]]]
) -> None:
    me, other = await api.user(), await api.user()
    r = await client.post(
        "/exercises",
        json={
            "name": "My drill",
            "category": "mobility",
            "primary_muscles": ["calves"],
            "measures": ["duration_s"],
        },
        headers=me.headers,
    )
    assert r.status_code == 201, r.text
    drill = r.json()["id"]
    mine = [await record(client, me, started_at=ago(days=d, hours=1)) for d in range(3)]
    mine.append(await record(client, me, sets=[{"exercise_id": drill, "duration_s": 30}]))
    theirs = await record(client, other)

    r = await client.delete("/users/me", headers=me.headers)
    assert r.status_code == 204, r.text

    r = await client.get("/workouts", headers=other.headers)
    assert [w["id"] for w in r.json()["items"]] == [theirs["id"]]
    deleted = {str(c["workout"].id) for c in hooks["workout.deleted"]}
    assert deleted == {w["id"] for w in mine}
    (batch,) = hooks["workouts.deleted"]
    assert batch["user"].id is not None
    assert str(batch["user"].id) == me.id
    assert {str(w.id) for w in batch["workouts"]} == deleted
    from documents import Exercise

    assert await Exercise.find({"name": "My drill"}).count() == 0


async def test_an_edit_whose_new_exercise_is_deleted_meanwhile_changes_nothing(
    client: httpx.AsyncClient,
    api: Api,
    hooks: dict[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.exercises import service as exercises

    me = await api.user()
    workout = await record(client, me)
    r = await client.post(
        "/exercises",
        json={
            "name": "Soon gone",
            "category": "strength",
            "primary_muscles": ["back"],
            "measures": ["reps"],
        },
        headers=me.headers,
    )
    gone = r.json()["id"]
    usable = exercises.usable

    async def usable_then_deleted(ids: Any, user: Any) -> Any:
        found = await usable(ids, user)
        r = await client.delete(f"/exercises/{gone}", headers=me.headers)
        assert r.status_code == 204, r.text
        return found

    monkeypatch.setattr(exercises, "usable", usable_then_deleted)
    changes = {"name": "Back day", "sets": [{"exercise_id": gone, "reps": 5}]}
    url = f"/workouts/{workout['id']}"
    body = assert_problem(await client.patch(url, json=changes, headers=me.headers), 422)
    assert body["errors"][0]["loc"] == ["body", "sets", 0, "exercise_id"]
    monkeypatch.undo()
    after = (await client.get(url, headers=me.headers)).json()
    same = ("name", "sets", "sets_count", "exercises_count", "volume_kg", "duration_s")
    assert {k: after[k] for k in same} == {k: workout[k] for k in same}
    assert hooks["workout.changed"] == []


async def test_rebuild_finds_and_repairs_drifted_totals(
    client: httpx.AsyncClient, api: Api
) -> None:
    from service.workouts import rebuild

    me = await api.user()
    kept = await record(client, me)
    drifted = await record(client, me, started_at=ago(days=1))
    assert (await rebuild.verify()).clean

    collection = Workout.get_motor_collection()
    await collection.update_one(
        {"_id": ObjectId(drifted["id"])},
        {"$set": {"volume_kg": 1.0, "sets_count": 99, "day": datetime(2001, 1, 1, tzinfo=UTC)}},
    )
    drift = await rebuild.verify()
    assert drift.checked == 2
    assert [str(i) for i in drift.changed] == [drifted["id"]]
    r = await client.get(f"/workouts/{drifted['id']}", headers=me.headers)
    assert r.json()["volume_kg"] == 1.0  # verify wrote nothing

    assert [str(i) for i in (await rebuild.repair()).changed] == [drifted["id"]]
    assert (await rebuild.verify()).clean
    r = await client.get(f"/workouts/{drifted['id']}", headers=me.headers)
    assert r.json() == drifted
    r = await client.get(f"/workouts/{kept['id']}", headers=me.headers)
    assert r.json() == kept

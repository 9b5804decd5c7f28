"""GET /users/me/export: a zip of everything the user made, streamed, another user's never in it."""

from __future__ import annotations

import asyncio
import io
import json
import math
import random
import string
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import gpxpy
import httpx
import pytest
from beanie import PydanticObjectId

from documents import Exercise, User, Workout
from documents.clock import utcnow
from documents.workout import WorkoutSet
from service.export import ExportContext, ExportFile, json_file, register, zipstream
from service.export import registry as export_registry
from service.export import service as export
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Account, Api

BUILT_IN = {"account.json", "runs.json", "workouts.json", "records.json"}


def day(n: int, hour: int = 7) -> str:
    """n days ago at `hour`:00 UTC, as the API takes it."""
    moment = (utcnow() - timedelta(days=n)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def timed_route(start: str, points: int = 30) -> dict[str, Any]:
    """A timed, 3-D track near Oslo, a point every 5 s."""
    t0 = datetime.fromisoformat(start)
    return {
        "type": "LineString",
        "coordinates": [[10.75 + i * 1e-4, 59.91 + i * 5e-5, 20.0 + i % 7] for i in range(points)],
        "timestamps": [
            (t0 + timedelta(seconds=5 * i)).isoformat().replace("+00:00", "Z")
            for i in range(points)
        ],
    }


async def download(client: httpx.AsyncClient, account: Account) -> zipfile.ZipFile:
    r = await client.get("/users/me/export", headers=account.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    today = utcnow().date().isoformat()
    assert r.headers["content-disposition"] == (
        f'attachment; filename="challenge-run-export-{today}.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None  # every member's CRC checks out
    return archive


def read_json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


async def workout_of(account: Account, *, days_ago: int, reps: int, weight: float) -> Workout:
    """A workout stored as the workouts service stores one (the shared document contract)."""
    user_id = PydanticObjectId(account.id)
    exercise = await Exercise.find_one(Exercise.owner_id == user_id)
    if exercise is None:
        exercise = Exercise(
            owner_id=user_id,
            name=f"Sled push {account.id[-6:]}",
            name_key=f"sled push {account.id[-6:]}",
            category="strength",
            measures=["reps", "weight_kg"],
        )
        await exercise.insert()
    started = datetime.fromisoformat(day(days_ago, hour=18))
    workout = Workout(
        user_id=user_id,
        started_at=started,
        day=started.replace(hour=0),
        duration_s=2400,
        name="Leg day",
        sets=[WorkoutSet(exercise_id=exercise.id, reps=reps, weight_kg=weight)] * 3,  # type: ignore[arg-type]
        sets_count=3,
        exercises_count=1,
        volume_kg=3 * reps * weight,
    )
    await workout.insert()
    return workout


async def test_the_archive_holds_what_the_user_made_and_nothing_of_others(
    api: Api, client: httpx.AsyncClient
) -> None:
    me = await api.user(city="Oslo")
    other = await api.user(city="Oslo")
    plain = await api.run(me, started_at=day(3), distance_km=5.0, duration_s=1500, notes="easy")
    mapped = await api.run(
        me,
        started_at=day(2),
        distance_km=0.5,
        duration_s=145,
        route=timed_route(day(2)),
    )
    theirs = await api.run(other, started_at=day(2), route=timed_route(day(2)))
    mine = [await workout_of(me, days_ago=5, reps=8, weight=60.0)]
    mine.append(await workout_of(me, days_ago=1, reps=5, weight=80.0))
    their_workout = await workout_of(other, days_ago=1, reps=3, weight=100.0)

    archive = await download(client, me)
    names = set(archive.namelist())
    assert names >= BUILT_IN | {f"routes/{mapped['id']}.gpx"}
    assert f"routes/{plain['id']}.gpx" not in names  # no route, no file
    assert not any(theirs["id"] in n for n in names)

    account = read_json(archive, "account.json")
    profile = (await client.get("/users/me", headers=me.headers)).json()
    assert account == profile
    assert account["email"] == me.email
    raw = archive.read("account.json").decode()
    assert "password" not in raw
    assert "token_version" not in raw

    runs = read_json(archive, "runs.json")
    assert [r["id"] for r in runs] == [plain["id"], mapped["id"]]  # oldest first
    for exported, made in zip(runs, [plain, mapped], strict=True):
        for field in ("started_at", "distance_km", "duration_s", "score", "team_id", "notes"):
            assert exported[field] == made[field], field
        assert exported["user_id"] == me.id
        assert "revision" not in exported
    assert runs[0]["route_file"] is None
    assert runs[1]["route_file"] == f"routes/{mapped['id']}.gpx"

    workouts = read_json(archive, "workouts.json")
    assert [w["id"] for w in workouts] == [str(w.id) for w in mine]
    assert workouts[1]["volume_kg"] == 3 * 5 * 80.0
    assert workouts[1]["sets"][0]["reps"] == 5
    assert workouts[1]["sets"][0]["weight_kg"] == 80.0
    assert workouts[1]["sets"][0]["exercise_name"] == f"Sled push {me.id[-6:]}"
    assert str(their_workout.id) not in archive.read("workouts.json").decode()

    gpx = gpxpy.parse(archive.read(f"routes/{mapped['id']}.gpx").decode())
    points = [p for t in gpx.tracks for s in t.segments for p in s.points]
    sent = timed_route(day(2))
    assert len(points) == len(sent["coordinates"])
    for point, position, moment in zip(
        points, sent["coordinates"], sent["timestamps"], strict=True
    ):
        assert (point.longitude, point.latitude) == pytest.approx(position[:2], abs=1e-7)
        assert point.elevation == pytest.approx(position[2], abs=0.01)
        assert point.time == datetime.fromisoformat(moment)

    # the other user's export holds their own run and workout only
    archive = await download(client, other)
    assert [r["id"] for r in read_json(archive, "runs.json")] == [theirs["id"]]
    assert [w["id"] for w in read_json(archive, "workouts.json")] == [str(their_workout.id)]
    assert {n for n in archive.namelist() if n.startswith("routes/")} == {
        f"routes/{theirs['id']}.gpx"
    }


async def test_a_new_user_gets_empty_arrays(api: Api, client: httpx.AsyncClient) -> None:
    me = await api.user(city="Oslo")
    archive = await download(client, me)
    assert read_json(archive, "runs.json") == []
    assert read_json(archive, "workouts.json") == []
    assert not [n for n in archive.namelist() if n.startswith("routes/")]


async def test_export_needs_a_login(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/users/me/export"), 401)
    bad = {"Authorization": "Bearer not-a-token"}
    assert_problem(await client.get("/users/me/export", headers=bad), 401)


async def test_export_is_rate_limited_per_user() -> None:
    async with serve(make_settings(rate_limit_export="2/hour")) as client:
        api = Api(client)
        me, other = await api.user(city="Oslo"), await api.user(city="Oslo")
        for _ in range(2):
            r = await client.get("/users/me/export", headers=me.headers)
            assert r.status_code == 200
        assert r.headers["RateLimit-Limit"] == "2"
        r = await client.get("/users/me/export", headers=me.headers)
        assert_problem(r, 429)
        assert int(r.headers["Retry-After"]) > 0
        # another user's allowance is their own
        assert (await client.get("/users/me/export", headers=other.headers)).status_code == 200


async def test_runs_are_read_in_bounded_batches_while_the_archive_streams() -> None:
    """Memory stays flat: no read returns more than EXPORT_BATCH_SIZE documents, and zip bytes
    leave before the last batch is read (the archive is never built whole first)."""
    async with serve(make_settings(export_batch_size=4)) as client:
        api = Api(client)
        me = await api.user(city="Oslo")
        count = 39
        rng = random.Random(8)
        for n in range(count):
            # long notes that compress badly: runs.json outgrows zlib's buffers many times over
            notes = "".join(rng.choices(string.ascii_letters + string.digits, k=1000))
            await api.run(me, started_at=day(n + 1), notes=notes)
        user = await User.get(PydanticObjectId(me.id))
        assert user is not None

        context = export.export_context(user=user, settings=make_settings(export_batch_size=4))
        reads_at_chunk: list[int] = []
        data = bytearray()
        async for chunk in export.archive(context, chunk_size=1024):
            assert len(chunk) <= 1024
            reads_at_chunk.append(len(context.reads))
            data.extend(chunk)

        assert max(context.reads) <= 4
        run_reads = math.ceil(count / 4)
        # runs.json: full batches, the last one short (so no extra read); nothing else to read
        assert context.reads[:run_reads] == [4] * (run_reads - 1) + [count % 4]
        assert sum(context.reads) == count
        # bytes went out while the runs were still being read
        assert any(0 < n < run_reads for n in reads_at_chunk), (reads_at_chunk, len(data))
        runs = json.loads(zipfile.ZipFile(io.BytesIO(bytes(data))).read("runs.json"))
        assert len(runs) == count


async def test_features_add_files_through_the_registry(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def badges(context: ExportContext) -> AsyncIterator[ExportFile]:
        yield json_file("badges.json", {"user": context.user.id, "badges": ["early bird"]})

    monkeypatch.setattr(export_registry, "_contributors", export_registry.contributors())
    register(badges)
    me = await api.user(city="Oslo")
    archive = await download(client, me)
    assert read_json(archive, "badges.json") == {"user": me.id, "badges": ["early bird"]}
    assert set(archive.namelist()) >= BUILT_IN


async def test_a_run_deleted_or_edited_shows_as_it_is_now(
    api: Api, client: httpx.AsyncClient
) -> None:
    me = await api.user(city="Oslo")
    kept = await api.run(me, started_at=day(4))
    gone = await api.run(me, started_at=day(3), route=timed_route(day(3)))
    r = await client.patch(f"/runs/{kept['id']}", json={"notes": "windy"}, headers=me.headers)
    assert r.status_code == 200, r.text
    r = await client.delete(f"/runs/{gone['id']}", headers=me.headers)
    assert r.status_code == 204, r.text
    archive = await download(client, me)
    runs = read_json(archive, "runs.json")
    assert [(r["id"], r["notes"]) for r in runs] == [(kept["id"], "windy")]
    assert f"routes/{gone['id']}.gpx" not in archive.namelist()
    assert datetime.fromisoformat(runs[0]["started_at"]).tzinfo == UTC


async def test_a_stalled_source_ends_the_archive_instead_of_hanging_a_thread(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer thread waits a bounded time for each item: a source that stalls fails the
    export (the download is cut) rather than holding a thread, and the process's exit, forever."""

    async def stalled(context: ExportContext) -> AsyncIterator[ExportFile]:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"{"
            await asyncio.sleep(5)
            yield b"}"

        yield ExportFile("stalled.json", chunks())

    monkeypatch.setattr(zipstream, "PULL_TIMEOUT_S", 0.2)
    monkeypatch.setattr(export_registry, "_contributors", [stalled])
    me = await api.user()
    user = await User.get(PydanticObjectId(me.id))
    assert user is not None
    context = export.export_context(user=user, settings=make_settings())
    with pytest.raises(TimeoutError):
        async for _ in export.archive(context):
            pass

"""POST /runs/import, GET /runs/{id}/route.gpx and splits, through the HTTP API.

The parsers have their own tests (tests/test_imports_parsing.py). Here the import service is
checked twice: with a stand-in parser handing it exactly the ParsedFile a test needs (the rules
of recording: all or nothing, overlap, duplicates, caps), and with real small files built in
the test (gpxpy writes GPX; TCX is an XML string; fit-tool writes FIT).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import gpxpy
import httpx
import pytest
from beanie import PydanticObjectId

from documents import ActivityImport, RunRoute, User
from documents.clock import utcnow
from service import events
from service.imports import service as imports_service
from service.imports.model import ParsedActivity, ParsedFile, TrackPoint
from service.runs import splits
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Account, Api
from tests.test_imports_parsing import (
    STEP_M,
    T0,
    _laps,
    fit_file,
    gpx_file,
    gpx_points,
    tcx_file,
    tcx_lap,
    tcx_trackpoint,
)
from tests.test_runs import RUN, all_runs, assert_totals_match_runs, snapshot
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

R = 6_371_008.8
START = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
# a step north along the Paris meridian of exactly `metres` (the haversine of a pure
# latitude step is R * dlat)
PARIS = (2.35, 48.85)


def north(metres: float) -> float:
    return math.degrees(metres / R)


def track(
    seconds: list[float],
    *,
    step_m: float = 250.0,
    elevations: list[float] | None = None,
    heart_rates: list[int | None] | None = None,
    start: datetime = START,
) -> list[TrackPoint]:
    """Points every `step_m` metres due north from Paris, at these seconds after `start`."""
    return [
        TrackPoint(
            time=start + timedelta(seconds=s),
            lon=PARIS[0],
            lat=PARIS[1] + north(i * step_m),
            elevation_m=elevations[i] if elevations else None,
            heart_rate=heart_rates[i] if heart_rates else None,
            distance_m=i * step_m,
        )
        for i, s in enumerate(seconds)
    ]


def activity(points: list[TrackPoint], **fields: Any) -> ParsedActivity:
    times = [p.time for p in points if p.time is not None]
    distance_m = max((p.distance_m or 0.0) for p in points) if points else 0.0
    values: dict[str, Any] = {
        "started_at": times[0] if times else None,
        "elapsed_s": int((times[-1] - times[0]).total_seconds()) if times else None,
        "duration_s": int((times[-1] - times[0]).total_seconds()) if times else None,
        "distance_km": distance_m / 1000,
        "elevation_gain_m": None,
        "avg_hr": None,
        "max_hr": None,
        "points": points,
        **fields,
    }
    return ParsedActivity(**values)


class FakeParser:
    """Stands in for service.imports.parsing.parse: content bytes -> the ParsedFile registered."""

    def __init__(self) -> None:
        self.files: dict[bytes, ParsedFile] = {}
        self.calls: list[tuple[bytes, int]] = []

    def add(
        self,
        content: bytes,
        *activities: ParsedActivity,
        file_format: str = "gpx",
        warnings: list[str] | None = None,
    ) -> bytes:
        self.files[content] = ParsedFile(
            format=file_format,  # type: ignore[arg-type]
            sha256=hashlib.sha256(content).hexdigest(),
            activities=list(activities),
            warnings=list(warnings or []),
        )
        return content

    def __call__(
        self, content: bytes, *, max_decompressed_bytes: int, now: datetime | None = None
    ) -> ParsedFile:
        self.calls.append((content, max_decompressed_bytes))
        return self.files[content]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeParser:
    parser = FakeParser()
    monkeypatch.setattr(imports_service, "_parser", lambda: parser)
    return parser


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


async def upload(
    client: httpx.AsyncClient,
    account: Account | None,
    content: bytes,
    filename: str = "activity.gpx",
    **form: Any,
) -> httpx.Response:
    headers = account.headers if account else {}
    data = {k: str(v) for k, v in form.items()}
    return await client.post(
        "/runs/import",
        files={"file": (filename, content, "application/octet-stream")},
        data=data,
        headers=headers,
    )


async def everything(client: httpx.AsyncClient, viewer: Account) -> tuple[Any, ...]:
    """What a refused import must leave untouched: runs, buckets, routes, keys and claims."""
    return (*await snapshot(client, viewer), await ActivityImport.count())


# --- recording: the rules of POST /runs -------------------------------------------------------


async def test_an_activity_becomes_a_scored_run_with_its_route(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    seconds = [0, 70, 140, 215, 290, 360, 430, 505, 580, 650, 720]  # 2.5 km
    points = track(seconds, elevations=[35.0] * 11, heart_rates=[120 + i for i in range(11)])
    content = fake.add(
        b"one",
        activity(points, avg_hr=125, max_hr=130, elevation_gain_m=12.5, duration_s=700),
        warnings=["2 points without a position dropped"],
    )
    r = await upload(client, runner, content, notes="Morning loop")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["warnings"] == ["2 points without a position dropped"]
    [run] = body["runs"]
    assert run["user_id"] == runner.id
    assert run["started_at"] == "2024-05-01T07:00:00Z"
    assert run["distance_km"] == 2.5
    assert run["duration_s"] == 700  # the moving time, not the elapsed 720 s
    assert run["elapsed_s"] == 720
    assert (run["avg_hr"], run["max_hr"], run["elevation_gain_m"]) == (125, 130, 12.5)
    assert run["source"] == "gpx"
    assert run["notes"] == "Morning loop"
    assert run["has_route"] is True
    # scored from duration_s exactly like a typed-in run of the same distance and time
    typed = await client.post(
        "/runs",
        json={"started_at": "2024-05-02T07:00:00Z", "distance_km": 2.5, "duration_s": 700},
        headers=runner.headers,
    )
    assert run["score"] == typed.json()["score"]
    assert run["pace_s_per_km"] == typed.json()["pace_s_per_km"] == 280.0
    route = run["route"]
    assert route["coordinates"][0] == [PARIS[0], PARIS[1], 35.0]
    assert route["heart_rates"] == [120 + i for i in range(11)]
    assert route["timestamps"][-1] == "2024-05-01T07:12:00Z"
    assert [s["km"] for s in run["splits"]] == [1, 2, 3]
    # what was answered is what is stored
    r = await client.get(f"/runs/{run['id']}", headers=runner.headers)
    assert r.json() == run
    assert await assert_totals_match_runs(client, runner)


async def test_every_activity_of_a_file_becomes_a_run_in_file_order(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    later = START + timedelta(days=60)
    content = fake.add(
        b"two",
        activity(track([0, 300, 600, 900, 1200])),
        activity(track([0, 400, 800], start=later)),
        file_format="tcx",
    )
    r = await upload(client, runner, content, filename="export.tcx")
    assert r.status_code == 201, r.text
    runs = r.json()["runs"]
    assert [run["started_at"] for run in runs] == ["2024-05-01T07:00:00Z", "2024-06-30T07:00:00Z"]
    assert [run["distance_km"] for run in runs] == [1.0, 0.5]
    assert {run["source"] for run in runs} == {"tcx"}
    assert len(await assert_totals_match_runs(client, runner)) == 2


async def test_a_treadmill_activity_is_a_run_without_a_route(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    points = [
        TrackPoint(time=START + timedelta(seconds=s), lon=None, lat=None, heart_rate=140)
        for s in range(0, 1800, 10)
    ]
    content = fake.add(
        b"treadmill",
        activity(points, distance_km=5.2, duration_s=1790, avg_hr=140),
        file_format="tcx",
    )
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert (run["distance_km"], run["duration_s"], run["avg_hr"]) == (5.2, 1790, 140)
    assert run["has_route"] is False
    assert run["route"] is None
    assert run["splits"] is None
    assert await RunRoute.count() == 0


async def test_the_run_counts_on_the_leaderboards(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    content = fake.add(b"board", activity(track([0, 600, 1200, 1800], start=today)))
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text
    score = r.json()["runs"][0]["score"]
    board = await client.get("/leaderboards/users", params={"period": "day"})
    assert board.status_code == 200, board.text
    rows = board.json()["items"]
    assert [(row["user"]["id"], row["score"]) for row in rows] == [(runner.id, score)]


async def test_a_file_without_times_needs_started_at_and_duration_s(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    points = [replace(p, time=None) for p in track([0] * 9)]
    content = fake.add(b"no times", activity(points))
    before = await everything(client, runner)
    r = await upload(client, runner, content)
    body = assert_problem(r, 422)
    assert "GPX has no track with times" in str(body["detail"])
    assert "started_at and duration_s" in str(body["detail"])
    r = await upload(client, runner, content, duration_s=900)
    assert_problem(r, 422)
    assert await everything(client, runner) == before

    r = await upload(client, runner, content, duration_s=900, started_at="2024-05-03T18:00:00Z")
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert (run["started_at"], run["duration_s"], run["distance_km"]) == (
        "2024-05-03T18:00:00Z",
        900,
        2.0,
    )
    assert run["elapsed_s"] is None
    assert run["route"]["timestamps"] is None
    assert run["splits"] is None


async def test_duration_s_is_ignored_for_a_file_with_times(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(b"timed", activity(track([0, 300, 600])))
    r = await upload(client, runner, content, duration_s=5000)
    assert r.status_code == 201, r.text
    assert r.json()["runs"][0]["duration_s"] == 600
    assert any("duration_s was ignored" in w for w in r.json()["warnings"])


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"distance_km": 20.0}, "25 km/h"),  # 20 km in 10 min
        ({"duration_s": 30, "elapsed_s": 30}, "duration_s must be between 60"),
        ({"distance_km": 0.0}, "distance_km must be more than 0"),
        ({"started_at": datetime(1999, 12, 31, tzinfo=UTC)}, "before 2000-01-01"),
        ({"started_at": datetime(2100, 1, 1, tzinfo=UTC)}, "in the future"),
    ],
)
async def test_an_implausible_activity_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    runner: Account,
    fake: FakeParser,
    fields: dict[str, Any],
    mentions: str,
) -> None:
    good = activity(track([0, 300, 600]), started_at=START + timedelta(days=3))
    content = fake.add(b"bad", good, activity(track([0, 300, 600]), **fields))
    before = await everything(client, runner)
    body = assert_problem(await upload(client, runner, content), 422)
    assert mentions in str(body["detail"])
    assert "activity 2 of 2" in str(body["detail"]).lower()
    assert body["errors"][0]["loc"] == ["body", "file"]  # type: ignore[index]
    assert await everything(client, runner) == before


async def test_activities_overlapping_each_other_are_refused(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    first = activity(track([0, 600, 1200]))
    second = activity(track([0, 600, 1200], start=START + timedelta(minutes=15)))
    content = fake.add(b"twins", first, second)
    before = await everything(client, runner)
    body = assert_problem(await upload(client, runner, content), 422)
    assert "activity 1 of 2 and activity 2 of 2 overlap" in str(body["detail"])
    assert await everything(client, runner) == before


async def test_an_activity_overlapping_a_stored_run_is_a_409_and_stores_nothing(
    client: httpx.AsyncClient, api: Api, runner: Account, fake: FakeParser
) -> None:
    stored = await api.run(runner, started_at="2024-06-01T07:10:00Z", duration_s=1800)
    content = fake.add(
        b"overlap",
        activity(track([0, 600, 1200])),  # 2024-05-01: free
        activity(track([0, 600, 1200], start=datetime(2024, 6, 1, 7, 0, tzinfo=UTC))),
    )
    before = await everything(client, runner)
    body = assert_problem(await upload(client, runner, content), 409)
    assert body["conflicting_run_id"] == stored["id"]
    assert await everything(client, runner) == before
    # the claim went with the refusal: once the stored run is gone, the file imports
    r = await client.delete(f"/runs/{stored['id']}", headers=runner.headers)
    assert r.status_code == 204
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text


async def test_the_team_rules_are_those_of_post_runs(
    client: httpx.AsyncClient, api: Api, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(b"team", activity(track([0, 300, 600])))
    other = await api.user(city="Lyon")
    their_team = await api.team(other)
    before = await everything(client, runner)
    assert_problem(await upload(client, runner, content, team_id=their_team["id"]), 403)
    assert_problem(await upload(client, runner, content, team_id="0" * 24), 404)
    assert_problem(await upload(client, runner, content, team_id="x" * 65), 422)
    assert await everything(client, runner) == before
    assert fake.calls == []  # refused before the file was even parsed

    mine = await api.team(runner)
    r = await upload(client, runner, content, team_id=mine["id"])
    assert r.status_code == 201, r.text
    assert r.json()["runs"][0]["team_id"] == mine["id"]


async def test_without_a_token_401(client: httpx.AsyncClient, fake: FakeParser) -> None:
    content = fake.add(b"anon", activity(track([0, 300, 600])))
    assert_problem(await upload(client, None, content), 401)
    assert await ActivityImport.count() == 0


async def test_bad_form_fields_and_a_missing_or_empty_file_are_422(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(b"form", activity(track([0, 300, 600])))
    before = await everything(client, runner)
    for form in ({"duration_s": "soon"}, {"duration_s": 10}, {"started_at": "yesterday"}):
        assert_problem(await upload(client, runner, content, **form), 422)
    assert_problem(await upload(client, runner, b""), 422)
    r = await client.post("/runs/import", data={"notes": "x"}, headers=runner.headers)
    assert_problem(r, 422)
    assert await everything(client, runner) == before


async def test_the_runs_take_the_visibility_and_hide_route_form_fields(
    client: httpx.AsyncClient, api: Api, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(b"social", activity(track([0, 300, 600])))
    before = await everything(client, runner)
    for form in ({"visibility": "everyone"}, {"hide_route": "maybe"}):
        assert_problem(await upload(client, runner, content, **form), 422)
    assert await everything(client, runner) == before

    r = await upload(client, runner, content, visibility="friends", hide_route="true")
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert (run["visibility"], run["hide_route"]) == ("friends", True)
    stranger = await api.user()
    assert_problem(await client.get(f"/runs/{run['id']}", headers=stranger.headers), 404)

    # without the field: the runner's default_visibility
    await User.get_motor_collection().update_one(
        {"_id": PydanticObjectId(runner.id)}, {"$set": {"default_visibility": "private"}}
    )
    other = fake.add(b"social 2", activity(track([0, 300, 600], start=START + timedelta(days=1))))
    r = await upload(client, runner, other)
    assert r.status_code == 201, r.text
    assert [(x["visibility"], x["hide_route"]) for x in r.json()["runs"]] == [("private", False)]


# --- the same file twice ----------------------------------------------------------------------


async def test_the_same_file_again_is_a_409_naming_its_runs(
    client: httpx.AsyncClient, api: Api, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(
        b"twice",
        activity(track([0, 300, 600])),
        activity(track([0, 300, 600], start=START + timedelta(days=1))),
    )
    first = await upload(client, runner, content)
    assert first.status_code == 201, first.text
    run_ids = [run["id"] for run in first.json()["runs"]]
    before = await everything(client, runner)
    body = assert_problem(await upload(client, runner, content, filename="renamed.gpx"), 409)
    assert body["run_ids"] == run_ids
    assert "already imported" in str(body["detail"])
    assert await everything(client, runner) == before

    # another runner may import the same file (their own watch export, say)
    other = await api.user(city="Paris")
    r = await upload(client, other, content)
    assert r.status_code == 201, r.text

    # with one of its runs deleted it still names the other; with both gone it imports again
    await client.delete(f"/runs/{run_ids[0]}", headers=runner.headers)
    body = assert_problem(await upload(client, runner, content), 409)
    assert body["run_ids"] == run_ids[1:]
    await client.delete(f"/runs/{run_ids[1]}", headers=runner.headers)
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text
    assert len(await assert_totals_match_runs(client, runner)) == 4


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_identical_uploads_store_the_file_once(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    for round_ in range(3):
        start = START + timedelta(days=round_)
        content = fake.add(f"race {round_}".encode(), activity(track([0, 300, 600], start=start)))
        responses = await asyncio.gather(*(upload(client, runner, content) for _ in range(6)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 5, [r.text for r in responses]
        created = next(r for r in responses if r.status_code == 201).json()["runs"][0]["id"]
        for r in responses:
            if r.status_code == 409:
                assert r.json().get("run_ids") in ([created], None), r.text
    assert len(await assert_totals_match_runs(client, runner)) == 3
    assert await ActivityImport.count() == 3


async def test_a_claim_left_by_a_stopped_upload_frees_the_file_later(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    from beanie import PydanticObjectId

    content = fake.add(b"stopped", activity(track([0, 300, 600])))
    key = f"{runner.id}:{hashlib.sha256(content).hexdigest()}"
    claim = ActivityImport(
        id=key, user_id=PydanticObjectId(runner.id), run_ids=[PydanticObjectId()]
    )
    await claim.insert()
    body = assert_problem(await upload(client, runner, content), 409)
    assert "being imported" in str(body["detail"])
    await ActivityImport.get_motor_collection().update_one(
        {"_id": key}, {"$set": {"created_at": utcnow() - timedelta(hours=1)}}
    )
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text


async def test_a_failure_while_storing_removes_what_the_upload_stored(
    client: httpx.AsyncClient,
    runner: Account,
    fake: FakeParser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.runs import routes

    content = fake.add(
        b"half",
        activity(track([0, 300, 600])),
        activity(track([0, 300, 600], start=START + timedelta(days=1))),
    )
    original = routes.insert_document
    inserted: list[Any] = []

    async def second_fails(document: dict[str, Any]) -> None:
        if inserted:
            raise RuntimeError("the database went away")
        inserted.append(document["_id"])
        await original(document)

    monkeypatch.setattr(routes, "insert_document", second_fails)
    before = await everything(client, runner)
    with pytest.raises(RuntimeError):
        await upload(client, runner, content)
    assert inserted  # the first run and route were stored, then removed
    assert await everything(client, runner) == before
    monkeypatch.setattr(routes, "insert_document", original)
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text


async def test_a_route_the_database_cannot_index_is_422_and_stores_nothing(
    client: httpx.AsyncClient,
    runner: Account,
    fake: FakeParser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real MongoDB refuses some lines (code 16755); the second activity's route here."""
    from pymongo.errors import WriteError

    from service.runs import routes

    content = fake.add(
        b"geo",
        activity(track([0, 300, 600])),
        activity(track([0, 300, 600], start=START + timedelta(days=1))),
    )
    original = routes.insert_document
    calls: list[Any] = []

    async def second_refused(document: dict[str, Any]) -> None:
        calls.append(document["_id"])
        if len(calls) == 2:
            raise WriteError("Can't extract geo keys", code=16755, details={"errmsg": "no"})
        await original(document)

    monkeypatch.setattr(routes, "insert_document", second_refused)
    before = await everything(client, runner)
    body = assert_problem(await upload(client, runner, content), 422)
    assert "The route of activity 2 of 2 cannot be stored" in str(body["detail"])
    assert await everything(client, runner) == before
    r = await upload(client, runner, content)
    assert r.status_code == 201, r.text


async def test_a_failure_after_the_runs_are_stored_keeps_the_claim(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(b"hook", activity(track([0, 300, 600])))

    async def failing(**_: Any) -> None:
        raise RuntimeError("a listener failed")

    events.run_recorded.connect(failing)
    try:
        with pytest.raises(RuntimeError):
            await upload(client, runner, content)
    finally:
        events.run_recorded.handlers.remove(failing)
    [stored] = await all_runs(client, runner)
    body = assert_problem(await upload(client, runner, content), 409)
    assert "being imported" in str(body["detail"])
    # long after, the claim never marked stored still names the runs that exist
    await ActivityImport.get_motor_collection().update_many(
        {}, {"$set": {"created_at": utcnow() - timedelta(hours=1)}}
    )
    body = assert_problem(await upload(client, runner, content), 409)
    assert body["run_ids"] == [stored["id"]]
    assert "already imported" in str(body["detail"])


async def test_deleting_the_account_forgets_its_imports(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    content = fake.add(b"mine", activity(track([0, 300, 600])))
    assert (await upload(client, runner, content)).status_code == 201
    r = await client.request(
        "DELETE", "/users/me", json={"password": runner.password}, headers=runner.headers
    )
    assert r.status_code == 204, r.text
    assert await ActivityImport.count() == 0


# --- caps ---------------------------------------------------------------------------------------


async def test_a_file_over_max_upload_bytes_is_413_and_other_routes_keep_their_cap(
    fake: FakeParser,
) -> None:
    settings = make_settings(max_upload_bytes=4096, max_body_bytes=2048)
    async with serve(settings) as client:
        account = await Api(client).user(city="Paris")
        content = fake.add(b"x" * 4000, activity(track([0, 300, 600])))
        r = await upload(client, account, content)
        assert r.status_code == 201, r.text  # over MAX_BODY_BYTES, under MAX_UPLOAD_BYTES
        assert fake.calls[-1][1] == settings.max_decompressed_bytes

        big = fake.add(b"y" * 4097, activity(track([0, 300, 600], start=START + timedelta(1))))
        body = assert_problem(await upload(client, account, big), 413)
        assert "4096" in str(body["detail"])
        # far over: refused by the body cap before the file is read
        assert_problem(await upload(client, account, b"z" * 200_000), 413)
        # POST /runs keeps MAX_BODY_BYTES
        r = await client.post(
            "/runs", json={**RUN, "notes": "n" * 1900, "pad": "p" * 3000}, headers=account.headers
        )
        assert_problem(r, 413)
        assert len(await all_runs(client, account)) == 1
        assert await ActivityImport.count() == 1


# --- splits -------------------------------------------------------------------------------------


def test_splits_of_a_2_5_km_route_by_hand() -> None:
    # 250 m steps: km 1 = steps 1-4, km 2 = steps 5-8, the last 500 m = steps 9-10
    step_seconds = [70, 70, 75, 75, 70, 70, 75, 75, 70, 70]
    seconds = [0.0]
    for s in step_seconds:
        seconds.append(seconds[-1] + s)
    elevations = [100.0, 102.0, 101.0, 105.0, 104.0, 104.0, 103.0, 106.0, 106.5, 106.0, 110.0]
    distances = [250.0 * i for i in range(11)]
    got = splits.compute(distances, seconds, elevations)
    assert [s.km for s in got] == [1, 2, 3]
    assert [s.distance_km for s in got] == [1.0, 1.0, 0.5]
    assert [s.duration_s for s in got] == [290.0, 290.0, 140.0]
    assert [s.pace_s_per_km for s in got] == [290.0, 290.0, 280.0]
    # rises: km 1 (100 102 101 105 104): +2 +4 = 6; km 2 (104 104 103 106 106.5): +3 +0.5;
    # the last 500 m (106.5 106 110): +4
    assert [s.elevation_gain_m for s in got] == [6.0, 3.5, 4.0]


def test_splits_interpolate_at_the_kilometre_boundary() -> None:
    # 600 m steps at 3 min each: 1 km falls 2/3 into the second step
    got = splits.compute([0.0, 600.0, 1200.0], [0.0, 180.0, 360.0], [10.0, 16.0, 10.0])
    assert [(s.km, s.distance_km, s.duration_s) for s in got] == [(1, 1.0, 300.0), (2, 0.2, 60.0)]
    assert got[0].elevation_gain_m == 6.0  # up 6, then down to 12 at the boundary
    assert got[1].elevation_gain_m == 0.0
    # a remainder under 10 m is no split; without elevations the gain is null
    got = splits.compute([0.0, 1005.0], [0.0, 300.0])
    assert [(s.km, s.elevation_gain_m) for s in got] == [(1, None)]


async def test_a_typed_in_route_with_times_gets_splits_measured_along_it(
    client: httpx.AsyncClient, runner: Account
) -> None:
    coordinates = [[PARIS[0], PARIS[1] + north(500 * i)] for i in range(6)]  # 2.5 km
    timestamps = [(START + timedelta(seconds=150 * i)).isoformat() for i in range(6)]
    route = {"type": "LineString", "coordinates": coordinates, "timestamps": timestamps}
    body = {"started_at": START.isoformat(), "distance_km": 2.5, "duration_s": 750, "route": route}
    r = await client.post("/runs", json=body, headers=runner.headers)
    assert r.status_code == 201, r.text
    got = [(s["km"], s["distance_km"], s["duration_s"]) for s in r.json()["splits"]]
    assert got == [(1, 1.0, 300.0), (2, 1.0, 300.0), (3, 0.5, 150.0)]
    # without times, no splits
    del route["timestamps"]
    r = await client.post(
        "/runs", json={**body, "started_at": "2024-05-02T07:00:00Z"}, headers=runner.headers
    )
    assert r.json()["splits"] is None


# --- route.gpx ----------------------------------------------------------------------------------


async def test_route_gpx_round_trips_points_times_elevations_and_heart_rate(
    client: httpx.AsyncClient, runner: Account, fake: FakeParser
) -> None:
    seconds = [0, 61.5, 130, 200, 270]
    points = track(seconds, elevations=[35.0, 36.5, 34.0, 33.25, 40.0])
    points[1].heart_rate, points[3].heart_rate = 141, 150
    content = fake.add(b"gpx out", activity(points))
    run = (await upload(client, runner, content)).json()["runs"][0]
    r = await client.get(f"/runs/{run['id']}/route.gpx", headers=runner.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/gpx+xml")
    assert r.headers["content-disposition"] == f'attachment; filename="run-{run["id"]}.gpx"'
    gpx = gpxpy.parse(r.text)
    assert gpx.version == "1.1"
    got = [p for t in gpx.tracks for s in t.segments for p in s.points]
    assert len(got) == 5
    assert [(p.longitude, p.latitude) for p in got] == [(p.lon, p.lat) for p in points]
    assert [p.elevation for p in got] == [35.0, 36.5, 34.0, 33.25, 40.0]
    assert [p.time for p in got] == [p.time for p in points]
    heart_rates = [
        int(child.text)
        if (ext := p.extensions) and (child := next(iter(ext[0]), None)) is not None
        else None
        for p in got
    ]
    assert heart_rates == [None, 141, None, 150, None]


async def test_route_gpx_of_a_typed_in_route_and_who_may_fetch_it(
    client: httpx.AsyncClient, api: Api, runner: Account
) -> None:
    coordinates = [[2.35, 48.85], [2.351, 48.851], [2.352, 48.853]]
    run = await api.run(runner, **RUN, route={"type": "LineString", "coordinates": coordinates})
    r = await client.get(f"/runs/{run['id']}/route.gpx", headers=runner.headers)
    assert r.status_code == 200, r.text
    got = [p for t in gpxpy.parse(r.text).tracks for s in t.segments for p in s.points]
    assert [[p.longitude, p.latitude] for p in got] == coordinates
    assert all(p.time is None and p.elevation is None for p in got)

    # issue 10 §2: whoever may see a public run gets its route (a hidden one: a 404)
    other = await api.user(city="Paris")
    theirs = await client.get(f"/runs/{run['id']}/route.gpx", headers=other.headers)
    assert theirs.status_code == 200, theirs.text
    assert theirs.content == r.content
    hidden = await client.patch(
        f"/runs/{run['id']}", json={"hide_route": True}, headers=runner.headers
    )
    assert hidden.status_code == 200, hidden.text
    assert_problem(await client.get(f"/runs/{run['id']}/route.gpx", headers=other.headers), 404)
    assert_problem(await client.get(f"/runs/{run['id']}/route.gpx"), 401)
    bare = await api.run(runner, started_at="2024-05-03T07:00:00Z")
    assert_problem(await client.get(f"/runs/{bare['id']}/route.gpx", headers=runner.headers), 404)
    assert_problem(await client.get(f"/runs/{'0' * 24}/route.gpx", headers=runner.headers), 404)


# --- real files: the parser and the service together ------------------------------------------


def gpx_run(n: int = 61, *, start: datetime = T0, hr: int | None = 140) -> bytes:
    """A GPX 1.1 run: n points 30 s and ~100 m apart (two segments), heart rate in gpxtpx."""
    points = gpx_points(n, start=start, hr=hr, every_s=30)
    return gpx_file(points[: n // 2], points[n // 2 :])


async def test_a_gpx_file_becomes_a_run_and_its_route_gpx_gives_it_back(
    client: httpx.AsyncClient, runner: Account
) -> None:
    content = gpx_run()
    r = await upload(client, runner, content, filename="watch.gpx")
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert run["source"] == "gpx"
    assert run["started_at"] == T0.isoformat().replace("+00:00", "Z")
    assert run["elapsed_s"] == 1800
    # the gap between the two segments (30 s, ~100 m) is a pause and adds no distance
    assert run["distance_km"] == round(59 * STEP_M / 1000, 3)
    assert run["max_hr"] == 140 + 60
    route = run["route"]
    assert len(route["coordinates"]) == 61
    assert route["heart_rates"] == [140 + i for i in range(61)]
    assert [s["km"] for s in run["splits"]] == [1, 2, 3, 4, 5, 6]
    assert run["splits"][-1]["distance_km"] == round((59 * STEP_M - 5000) / 1000, 3)

    r = await client.get(f"/runs/{run['id']}/route.gpx", headers=runner.headers)
    assert r.status_code == 200, r.text
    back = [p for t in gpxpy.parse(r.text).tracks for s in t.segments for p in s.points]
    sent = [p for t in gpxpy.parse(content.decode()).tracks for s in t.segments for p in s.points]
    assert [(p.latitude, p.longitude, p.elevation, p.time) for p in back] == [
        (p.latitude, p.longitude, p.elevation, p.time) for p in sent
    ]
    # and the exported file imports again as the same run (409: it overlaps itself)
    body = assert_problem(await upload(client, runner, r.content), 409)
    assert body["conflicting_run_id"] == run["id"]


async def test_a_tcx_file_with_two_activities_months_apart_makes_two_runs(
    client: httpx.AsyncClient, runner: Account
) -> None:
    later = T0 + timedelta(days=120)
    r = await upload(client, runner, tcx_file(_laps(T0), _laps(later)), filename="x.tcx")
    assert r.status_code == 201, r.text
    runs = r.json()["runs"]
    assert [run["started_at"][:10] for run in runs] == ["2025-05-01", "2025-08-29"]
    # the device's lap totals: timer time and distance
    assert [(run["duration_s"], run["distance_km"], run["max_hr"]) for run in runs] == [
        (400, 1.25, 175),
        (400, 1.25, 175),
    ]
    assert {run["source"] for run in runs} == {"tcx"}
    assert len(await assert_totals_match_runs(client, runner)) == 2


async def test_a_treadmill_tcx_makes_a_run_without_a_route(
    client: httpx.AsyncClient, runner: Account
) -> None:
    points = [
        tcx_trackpoint(T0 + timedelta(seconds=10 * i), distance=25.0 * i, hr=130) for i in range(61)
    ]
    laps = [tcx_lap(T0, seconds=600, metres=1500.0, avg=131, top=139, points=points)]
    r = await upload(client, runner, tcx_file(laps))
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert (run["distance_km"], run["duration_s"], run["avg_hr"]) == (1.5, 600, 131)
    assert (run["has_route"], run["route"], run["splits"]) == (False, None, None)


async def test_a_fit_file_takes_the_session_totals(
    client: httpx.AsyncClient, runner: Account
) -> None:
    session = {"total_timer_time": 1234.4, "total_distance": 4321.0, "total_ascent": 42}
    r = await upload(client, runner, fit_file(200, session=session), filename="a.fit")
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert (run["source"], run["duration_s"], run["distance_km"]) == ("fit", 1234, 4.321)
    assert (run["elapsed_s"], run["elevation_gain_m"]) == (1990, 42.0)
    assert len(run["route"]["coordinates"]) == 200
    # splits follow the device's distance records (100 m per point)
    assert [s["km"] for s in run["splits"]][-1] == 20
    assert run["splits"][0]["duration_s"] == 100.0


async def test_gzip_is_read_and_is_the_same_file_as_its_content(
    client: httpx.AsyncClient, runner: Account
) -> None:
    content = gpx_run()
    r = await upload(client, runner, gzip.compress(content), filename="run.gpx.gz")
    assert r.status_code == 201, r.text
    run_id = r.json()["runs"][0]["id"]
    body = assert_problem(await upload(client, runner, content), 409)
    assert body["run_ids"] == [run_id]


async def test_a_gzip_bomb_is_413_and_stores_nothing(
    client: httpx.AsyncClient, runner: Account
) -> None:
    settings = make_settings(max_decompressed_bytes=1024 * 1024)
    async with serve(settings) as small:
        account = await Api(small).user(city="Paris")
        before = await everything(small, account)
        body = assert_problem(await upload(small, account, gzip.compress(bytes(8 << 20))), 413)
        assert "MiB" in str(body["detail"])
        assert await everything(small, account) == before


def _truncated_fit() -> bytes:
    content = fit_file(50)
    return content[: len(content) // 2]


def _bad_crc_fit() -> bytes:
    content = bytearray(fit_file(50))
    content[-1] ^= 0xFF
    return bytes(content)


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (_truncated_fit, "truncated FIT file"),
        (_bad_crc_fit, "FIT file fails its CRC check"),
        (lambda: gpx_run()[:900], "malformed XML at line"),
        (lambda: b"hello, world", "not a GPX, TCX or FIT file"),
        (
            lambda: (
                b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                b'<rte><rtept lat="48" lon="2"/><rtept lat="48.1" lon="2"/></rte></gpx>'
            ),
            "GPX has only a route (rte) or waypoints: no activity",
        ),
        (
            lambda: b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY e "e">]><gpx version="1.1"/>',
            "DOCTYPE or ENTITY",
        ),
        (lambda: gzip.compress(gpx_run())[:300], "truncated gzip file"),
    ],
    ids=["truncated-fit", "fit-crc", "truncated-gpx", "not-activity", "rte-only", "dtd", "gzip"],
)
async def test_a_bad_file_is_422_saying_what_is_wrong_and_stores_nothing(
    client: httpx.AsyncClient, runner: Account, make: Callable[[], bytes], detail: str
) -> None:
    before = await everything(client, runner)
    body = assert_problem(await upload(client, runner, make()), 422)
    assert detail in str(body["detail"])
    assert body["errors"][0]["loc"] == ["body", "file"]  # type: ignore[index]
    assert await everything(client, runner) == before


async def test_a_gpx_without_times_needs_the_form_fields(
    client: httpx.AsyncClient, runner: Account
) -> None:
    points = gpx_points(11)
    for p in points:
        p.time = None
    content = gpx_file(points)
    body = assert_problem(await upload(client, runner, content), 422)
    assert str(body["detail"]).startswith("GPX has no track with times")
    r = await upload(client, runner, content, started_at="2025-05-02T06:00:00Z", duration_s=400)
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert (run["duration_s"], run["distance_km"]) == (400, round(10 * STEP_M / 1000, 3))


async def test_a_clock_jump_is_dropped_with_a_warning_never_a_days_long_run(
    client: httpx.AsyncClient, runner: Account
) -> None:
    points = gpx_points(40, every_s=30)
    for p in points[10:13]:
        assert p.time is not None
        p.time += timedelta(days=20)
    r = await upload(client, runner, gpx_file(points))
    assert r.status_code == 201, r.text
    [run] = r.json()["runs"]
    assert run["elapsed_s"] == 1170  # never a 20-day run
    assert len(run["route"]["coordinates"]) == 37
    assert any("clock jumps by 20 d" in w for w in r.json()["warnings"])

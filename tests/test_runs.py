"""Runs: recording, validation, permissions, listing, editing, deleting, and their totals.

Totals are checked against the `score_buckets` collection: after every change its documents
must equal the per-day sums computed here in plain Python from the runs the API lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import IdempotencyKey, Run, RunRoute, ScoreBucket
from service import events
from tests.conftest import assert_problem
from tests.factories import Account, Api

RUN = {"started_at": "2024-05-01T07:00:00Z", "distance_km": 10.0, "duration_s": 3000}
MISSING = object()
DAY_KINDS = {"team", "city", "user", "member"}

BucketKey = tuple[str, str, str | None, str]


# --- helpers (also used by the other test_runs_* modules) -----------------------------------


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def all_runs(client: httpx.AsyncClient, viewer: Account, **params: Any) -> list[dict]:
    """Every run GET /runs lists, following the pages."""
    runs: list[dict] = []
    while True:
        r = await client.get(
            "/runs", params={**params, "limit": 100, "offset": len(runs)}, headers=viewer.headers
        )
        assert r.status_code == 200, r.text
        page = r.json()
        runs.extend(page["items"])
        if len(runs) >= page["total"] or not page["items"]:
            assert len(runs) == page["total"]
            return runs


def expected_buckets(runs: list[dict]) -> dict[BucketKey, tuple[int, int, int]]:
    """Per UTC day: (score, metres, runs) for each run's team, its city, its runner (scoped by
    the city the run was credited to) and its runner within its team (scoped by the team)."""
    totals: dict[BucketKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    for run in runs:
        day = utc(run["started_at"]).astimezone(UTC).date().isoformat()
        keys: list[tuple[str, str, str | None]] = [
            ("team", run["team_id"], None),
            ("user", run["user_id"], run["city_id"]),
            ("member", run["user_id"], run["team_id"]),
        ]
        if run["city_id"]:
            keys.append(("city", run["city_id"], None))
        for kind, entity, city in keys:
            total = totals[(kind, entity, city, day)]
            total[0] += run["score"]
            total[1] += round(run["distance_km"] * 1000)
            total[2] += 1
    return {key: (s, m, n) for key, (s, m, n) in totals.items()}


def monthly(days: dict[BucketKey, tuple[int, int, int]]) -> dict[BucketKey, tuple[int, int, int]]:
    """The month rollups (`team_month`, ...; day = the 1st) the bucket design also keeps."""
    totals: dict[BucketKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (kind, entity, city, day), values in days.items():
        total = totals[(f"{kind}_month", entity, city, day[:8] + "01")]
        for i, value in enumerate(values):
            total[i] += value
    return {key: (s, m, n) for key, (s, m, n) in totals.items()}


async def all_buckets() -> dict[BucketKey, tuple[int, int, int]]:
    """Every document of `score_buckets` (day buckets and rollups alike)."""
    docs = await ScoreBucket.get_motor_collection().find({}).to_list(None)
    stored: dict[BucketKey, tuple[int, int, int]] = {}
    for d in docs:
        scope = d.get("team_id") if d["kind"].startswith("member") else d.get("city_id")
        key = (
            d["kind"],
            str(d["entity_id"]),
            str(scope) if scope else None,
            d["day"].date().isoformat(),
        )
        assert key not in stored, f"two buckets for {key}"
        stored[key] = (d["score"], d["distance_m"], d["runs"])
    return stored


async def stored_buckets() -> dict[BucketKey, tuple[int, int, int]]:
    """The day buckets (kinds team, city, user, member)."""
    return {k: v for k, v in (await all_buckets()).items() if k[0] in DAY_KINDS}


async def assert_totals_match_runs(client: httpx.AsyncClient, viewer: Account) -> list[dict]:
    """Every bucket document equals the plain-Python sums of the runs GET /runs lists."""
    runs = await all_runs(client, viewer)
    days = expected_buckets(runs)
    assert await all_buckets() == {**days, **monthly(days)}
    return runs


async def snapshot(client: httpx.AsyncClient, viewer: Account) -> tuple[Any, ...]:
    """Everything a refused request must leave untouched."""
    return (
        await all_runs(client, viewer),
        await all_buckets(),
        await RunRoute.count(),
        await IdempotencyKey.count(),
    )


async def city_team_id(client: httpx.AsyncClient, account: Account) -> str:
    r = await client.get(f"/cities/{account.body['city_id']}")
    assert r.status_code == 200, r.text
    team_id: str = r.json()["team_id"]
    return team_id


def future(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


@dataclass(frozen=True)
class FromNow:
    """A parameter for `future(minutes)` taken when the request is made: computed when the
    tests are collected, "10 minutes ahead" is in the past once the run has lasted 10 minutes."""

    minutes: float


def at_request_time(body: dict[str, Any]) -> dict[str, Any]:
    return {k: future(v.minutes) if isinstance(v, FromNow) else v for k, v in body.items()}


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Paris")


# --- recording --------------------------------------------------------------------------------


async def test_record_a_run_scores_it_and_credits_team_and_city(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    r = await client.post("/runs", json=RUN, headers=runner.headers)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["user_id"] == runner.id
    assert run["city_id"] == runner.body["city_id"]
    assert run["team_id"] == await city_team_id(client, runner)
    assert run["started_at"] == "2024-05-01T07:00:00Z"
    assert run["distance_km"] == 10.0
    assert run["duration_s"] == 3000
    assert run["pace_s_per_km"] == 300.0
    assert run["score"] == 956
    assert run["score_version"] == 1
    assert run["has_route"] is False
    assert run["route"] is None
    assert run["created_at"] == run["updated_at"]

    got = await client.get(f"/runs/{run['id']}", headers=runner.headers)
    assert got.status_code == 200
    assert got.json() == run
    await assert_totals_match_runs(client, runner)


async def test_optional_fields_are_kept(client: httpx.AsyncClient, runner: Account) -> None:
    body = {**RUN, "elevation_gain_m": 120.5, "notes": "  Canal loop  "}
    run = (await client.post("/runs", json=body, headers=runner.headers)).json()
    assert run["elevation_gain_m"] == 120.5
    assert run["notes"] == "Canal loop"


@pytest.mark.parametrize(
    ("started_at", "stored", "day"),
    [
        ("2024-05-01", "2024-05-01T00:00:00Z", "2024-05-01"),  # a date alone: 00:00 UTC
        ("2024-05-01T07:00:00", "2024-05-01T07:00:00Z", "2024-05-01"),  # no offset: UTC
        ("2024-05-01T23:30:00-02:00", "2024-05-02T01:30:00Z", "2024-05-02"),
        ("2024-05-01T01:30:00+05:00", "2024-04-30T20:30:00Z", "2024-04-30"),
        ("2024-05-01T07:00:00.123456Z", "2024-05-01T07:00:00.123000Z", "2024-05-01"),
    ],
)
async def test_started_at_is_stored_in_utc_and_counts_on_its_utc_day(
    client: httpx.AsyncClient, runner: Account, started_at: str, stored: str, day: str
) -> None:
    run = (
        await client.post("/runs", json={**RUN, "started_at": started_at}, headers=runner.headers)
    ).json()
    assert run["started_at"] == stored
    days = {key[3] for key in await stored_buckets()}
    assert days == {day}


@pytest.mark.parametrize(
    ("sent", "stored"), [(5.0004, 5.0), (5.0005, 5.001), (5.0006, 5.001), (42.195, 42.195)]
)
async def test_distance_is_rounded_to_whole_metres(
    client: httpx.AsyncClient, runner: Account, sent: float, stored: float
) -> None:
    run = (
        await client.post(
            "/runs", json={**RUN, "distance_km": sent, "duration_s": 7200}, headers=runner.headers
        )
    ).json()
    assert run["distance_km"] == stored
    assert await stored_buckets() == expected_buckets([run])
    await assert_totals_match_runs(client, runner)


@pytest.mark.parametrize(
    "body",
    [
        {"distance_km": 25, "duration_s": 3600},  # exactly 25 km/h
        {"distance_km": 350, "duration_s": 50_400},  # the longest run, at 25 km/h
        {"distance_km": 0.001, "duration_s": 60},  # one metre, the shortest duration
        {"distance_km": 10, "duration_s": 172_800},  # 48 h
        {"started_at": "2000-01-01T00:00:00Z"},
        {"started_at": "2000-01-01"},
    ],
)
async def test_limits_are_inclusive(client: httpx.AsyncClient, runner: Account, body: dict) -> None:
    r = await client.post("/runs", json={**RUN, **body}, headers=runner.headers)
    assert r.status_code == 201, r.text


@pytest.mark.clock  # 'ahead' crosses midnight and a new year at the awkward moments
async def test_a_start_up_to_5_minutes_ahead_is_clock_skew(
    client: httpx.AsyncClient, runner: Account
) -> None:
    r = await client.post("/runs", json={**RUN, "started_at": future(4)}, headers=runner.headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("change", "mentions"),
    [
        ({"distance_km": 0}, "distance_km"),
        ({"distance_km": -5}, "distance_km"),
        ({"distance_km": 350.001, "duration_s": 86_400}, "distance_km"),
        ({"distance_km": 0.0004}, "distance_km"),  # rounds to 0 m
        ({"distance_km": "NaN"}, "distance_km"),
        ({"distance_km": "ten"}, "distance_km"),
        ({"distance_km": MISSING}, "distance_km"),
        ({"duration_s": 59}, "duration_s"),
        ({"duration_s": 172_801}, "duration_s"),
        ({"duration_s": 1800.5}, "duration_s"),
        ({"duration_s": MISSING}, "duration_s"),
        ({"distance_km": 25.001, "duration_s": 3600}, "25 km/h"),
        ({"distance_km": 42.195, "duration_s": 5400}, "25 km/h"),  # 28 km/h: a bike ride
        ({"started_at": "1999-12-31T23:59:59Z"}, "2000-01-01"),
        ({"started_at": FromNow(10)}, "future"),
        ({"started_at": "2999-01-01"}, "future"),
        ({"started_at": 1714550400}, "ISO 8601"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"started_at": None}, "started_at"),
        ({"started_at": MISSING}, "started_at"),
        ({"elevation_gain_m": -1}, "elevation_gain_m"),
        ({"elevation_gain_m": 30_001}, "elevation_gain_m"),
        ({"notes": "x" * 2001}, "notes"),
        ({"score": 5000}, "score"),
        ({"score_version": 2}, "score_version"),
        ({"pace_s_per_km": 1}, "pace_s_per_km"),
        ({"user_id": "0" * 24}, "user_id"),
        ({"city_id": "0" * 24}, "city_id"),
    ],
)
async def test_bad_input_is_422_and_stores_nothing(
    client: httpx.AsyncClient, runner: Account, change: dict, mentions: str
) -> None:
    await client.post("/runs", json=RUN, headers=runner.headers)  # a run that must stay alone
    before = await snapshot(client, runner)
    body = {**RUN, **change}
    body = at_request_time({k: v for k, v in body.items() if v is not MISSING})
    r = await client.post("/runs", json=body, headers=runner.headers)
    problem = assert_problem(r, 422)
    assert mentions in str(problem["detail"])
    assert await snapshot(client, runner) == before


async def test_a_json_nan_distance_is_refused(client: httpx.AsyncClient, runner: Account) -> None:
    body = '{"started_at": "2024-05-01", "distance_km": NaN, "duration_s": 3000}'
    r = await client.post(
        "/runs", content=body, headers={**runner.headers, "Content-Type": "application/json"}
    )
    assert_problem(r, 422)
    assert await all_runs(client, runner) == []


async def test_plausibility_errors_explain_themselves(
    client: httpx.AsyncClient, runner: Account
) -> None:
    r = await client.post(
        "/runs", json={**RUN, "distance_km": 30, "duration_s": 3600}, headers=runner.headers
    )
    assert assert_problem(r, 422)["detail"] == (
        "Average speed 30.0 km/h is above the 25 km/h limit for a run (30.0 km in 3600 s)"
    )
    r = await client.post("/runs", json={**RUN, "started_at": "1999-06-01"}, headers=runner.headers)
    assert "before 2000-01-01" in str(assert_problem(r, 422)["detail"])


async def test_a_runner_without_home_city_must_name_a_team(
    api: Api, client: httpx.AsyncClient
) -> None:
    nomad = await api.user()
    r = await client.post("/runs", json=RUN, headers=nomad.headers)
    assert "team_id is required" in str(assert_problem(r, 422)["detail"])
    assert await all_runs(client, nomad) == []

    team = await api.team(nomad)
    r = await client.post("/runs", json={**RUN, "team_id": team["id"]}, headers=nomad.headers)
    assert r.status_code == 201, r.text
    assert r.json()["team_id"] == team["id"]
    assert r.json()["city_id"] is None
    await assert_totals_match_runs(client, nomad)


async def test_a_run_counts_for_any_team_of_the_runner(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    owner = await api.user(city="Lyon")
    team = await api.team(owner)
    await api.join(runner, team["id"])
    run = await api.run(runner, team_id=team["id"])
    assert run["team_id"] == team["id"]
    assert run["city_id"] == runner.body["city_id"]  # the runner's city, not the owner's
    await assert_totals_match_runs(client, runner)


async def test_a_team_you_are_not_in_is_403_and_unknown_teams_404(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    other = await api.user(city="Lyon")
    their_team = await api.team(other)
    lyon_team = await city_team_id(client, other)
    before = await snapshot(client, runner)
    for team_id in (their_team["id"], lyon_team):
        r = await client.post("/runs", json={**RUN, "team_id": team_id}, headers=runner.headers)
        assert "not a member" in str(assert_problem(r, 403)["detail"])
    for team_id in ("0" * 24, "not-an-id"):
        r = await client.post("/runs", json={**RUN, "team_id": team_id}, headers=runner.headers)
        assert_problem(r, 404)
    assert await snapshot(client, runner) == before


async def test_city_id_is_the_home_city_when_the_run_was_logged(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    paris_run = await api.run(runner)
    r = await client.patch("/users/me", json={"city": "Berlin"}, headers=runner.headers)
    assert r.status_code == 200, r.text
    berlin_id = r.json()["city_id"]
    berlin_run = await api.run(runner, started_at="2024-05-02T07:00:00Z")  # a free slot
    assert berlin_run["city_id"] == berlin_id != paris_run["city_id"]
    got = await client.get(f"/runs/{paris_run['id']}", headers=runner.headers)
    assert got.json()["city_id"] == runner.body["city_id"]  # history is not rewritten
    await assert_totals_match_runs(client, runner)


# --- access -----------------------------------------------------------------------------------


async def test_every_runs_endpoint_needs_a_token(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    run = await api.run(runner)
    calls = [
        ("POST", "/runs", RUN),
        ("GET", "/runs", None),
        ("GET", f"/runs/{run['id']}", None),
        ("GET", "/runs/0123456789abcdef01234567", None),
        ("GET", f"/users/{runner.id}/runs", None),
        ("GET", "/users/0123456789abcdef01234567/runs", None),
        ("PATCH", f"/runs/{run['id']}", {"notes": "x"}),
        ("DELETE", f"/runs/{run['id']}", None),
    ]
    for method, url, body in calls:
        r = await client.request(method, url, json=body)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"] == "Bearer"
    r = await client.get("/runs", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(r, 401)
    assert len(await all_runs(client, runner)) == 1


@pytest.mark.parametrize("run_id", ["0123456789abcdef01234567", "nope", "0" * 25])
async def test_unknown_or_malformed_run_ids_are_404(
    client: httpx.AsyncClient, runner: Account, run_id: str
) -> None:
    for method, body in (("GET", None), ("PATCH", {"notes": "x"}), ("DELETE", None)):
        r = await client.request(method, f"/runs/{run_id}", json=body, headers=runner.headers)
        assert_problem(r, 404)


async def test_others_see_a_run_but_only_its_runner_edits_it(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    run = await api.run(runner, notes="mine")
    other = await api.user(city="Paris")
    admin = await api.admin()
    seen = await client.get(f"/runs/{run['id']}", headers=other.headers)
    assert seen.status_code == 200
    assert seen.json()["notes"] == "mine"
    before = await snapshot(client, runner)
    for who in (other, admin):
        r = await client.patch(
            f"/runs/{run['id']}", json={"distance_km": 20, "duration_s": 6000}, headers=who.headers
        )
        assert_problem(r, 403)
    r = await client.delete(f"/runs/{run['id']}", headers=other.headers)
    assert_problem(r, 403)
    assert await snapshot(client, runner) == before


# --- listing ----------------------------------------------------------------------------------


async def test_lists_are_newest_first_and_filter(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    other = await api.user(city="Lyon")
    team = await api.team(runner)
    a = await api.run(runner, started_at="2024-05-01T07:00:00Z")
    b = await api.run(runner, started_at="2024-05-03T07:00:00Z", team_id=team["id"])
    c = await api.run(other, started_at="2024-05-02T07:00:00Z")
    # same start (another Lyon runner: one runner's runs never overlap): newest id first
    d = await api.run(await api.user(city="Lyon"), started_at="2024-05-02T07:00:00Z")

    def ids(runs: list[dict]) -> list[str]:
        return [r["id"] for r in runs]

    assert ids(await all_runs(client, other)) == [b["id"], d["id"], c["id"], a["id"]]
    assert ids(await all_runs(client, other, user_id=runner.id)) == [b["id"], a["id"]]
    assert ids(await all_runs(client, other, team_id=team["id"])) == [b["id"]]
    assert ids(await all_runs(client, runner, city_id=other.body["city_id"])) == [
        d["id"],
        c["id"],
    ]
    # [from, to): from inclusive, to exclusive; dates alone are 00:00 UTC
    in_range = await all_runs(client, runner, **{"from": "2024-05-02", "to": "2024-05-03"})
    assert ids(in_range) == [d["id"], c["id"]]
    since = await all_runs(client, runner, **{"from": "2024-05-01T07:00:00Z"})
    assert len(since) == 4
    before = await all_runs(client, runner, to="2024-05-01T07:00:00Z")
    assert before == []
    # listed runs never carry routes
    assert all("route" not in r for r in await all_runs(client, runner))

    page = await client.get("/runs", params={"limit": 2, "offset": 1}, headers=runner.headers)
    assert page.json()["total"] == 4
    assert ids(page.json()["items"]) == [d["id"], c["id"]]
    assert (page.json()["limit"], page.json()["offset"]) == (2, 1)


async def test_a_users_runs(api: Api, client: httpx.AsyncClient, runner: Account) -> None:
    other = await api.user(city="Lyon")
    mine = [await api.run(runner, started_at=f"2024-05-0{d}") for d in (1, 2, 3)]
    await api.run(other)
    r = await client.get(f"/users/{runner.id}/runs", headers=other.headers)
    assert r.status_code == 200
    assert r.json()["total"] == 3
    assert [x["id"] for x in r.json()["items"]] == [m["id"] for m in reversed(mine)]
    r = await client.get(
        f"/users/{runner.id}/runs", params={"from": "2024-05-02"}, headers=other.headers
    )
    assert r.json()["total"] == 2
    for user_id in ("0" * 24, "bad"):
        assert_problem(await client.get(f"/users/{user_id}/runs", headers=runner.headers), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"user_id": "bad"},
        {"team_id": "123"},
        {"city_id": "zz" * 12},
        {"from": "not a date"},
        {"from": "2024-05-02", "to": "2024-05-02"},
        {"from": "2024-05-03", "to": "2024-05-02"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
    ],
)
async def test_bad_list_filters_are_422(
    client: httpx.AsyncClient, runner: Account, params: dict
) -> None:
    assert_problem(await client.get("/runs", params=params, headers=runner.headers), 422)


# --- editing ----------------------------------------------------------------------------------


async def test_edit_rescores_and_moves_the_totals(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    run = await api.run(runner, **RUN)
    await api.run(runner, started_at="2024-05-01T18:00:00Z")  # shares the day's buckets
    r = await client.patch(
        f"/runs/{run['id']}",
        json={"distance_km": 12.0, "duration_s": 3600, "notes": "longer"},
        headers=runner.headers,
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["distance_km"] == 12.0
    assert edited["duration_s"] == 3600
    assert edited["pace_s_per_km"] == 300.0
    assert edited["score"] == 1147  # 12 km at 8:03/mile
    assert edited["notes"] == "longer"
    assert edited["updated_at"] > edited["created_at"] == run["created_at"]
    got = await client.get(f"/runs/{run['id']}", headers=runner.headers)
    assert got.json() == edited
    await assert_totals_match_runs(client, runner)


async def test_edit_moves_the_run_to_another_team_and_day(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    team = await api.team(runner)
    run = await api.run(runner, **RUN)
    r = await client.patch(
        f"/runs/{run['id']}",
        json={"team_id": team["id"], "started_at": "2024-05-09T06:00:00+02:00"},
        headers=runner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["team_id"] == team["id"]
    assert r.json()["started_at"] == "2024-05-09T04:00:00Z"
    assert r.json()["score"] == run["score"]
    runs = await assert_totals_match_runs(client, runner)
    keys = set(expected_buckets(runs))
    assert keys == {
        ("team", team["id"], None, "2024-05-09"),
        ("user", runner.id, runner.body["city_id"], "2024-05-09"),
        ("city", runner.body["city_id"], None, "2024-05-09"),
        ("member", runner.id, team["id"], "2024-05-09"),
    }


async def test_edit_clears_optional_fields_and_empty_edit_changes_nothing(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    run = await api.run(runner, notes="hello", elevation_gain_m=50)
    r = await client.patch(f"/runs/{run['id']}", json={}, headers=runner.headers)
    assert r.json() == run
    r = await client.patch(
        f"/runs/{run['id']}", json={"notes": "", "elevation_gain_m": None}, headers=runner.headers
    )
    assert (r.json()["notes"], r.json()["elevation_gain_m"]) == (None, None)


@pytest.mark.parametrize(
    ("change", "status", "mentions"),
    [
        ({"duration_s": 1000}, 422, "25 km/h"),  # 10 km in 16:40 with the stored distance
        ({"distance_km": 100}, 422, "25 km/h"),
        ({"distance_km": 0}, 422, "distance_km"),
        ({"started_at": "1999-01-01"}, 422, "2000-01-01"),
        ({"started_at": FromNow(60)}, 422, "future"),
        ({"distance_km": None}, 422, "distance_km"),
        ({"team_id": None}, 422, "team_id"),
        ({"score": 10_000}, 422, "score"),
        ({"route": None}, 422, "route"),
        ({"user_id": "0" * 24}, 422, "user_id"),
        ({"team_id": "0" * 24}, 404, "not found"),
    ],
)
async def test_bad_edits_are_refused_and_change_nothing(
    api: Api,
    client: httpx.AsyncClient,
    runner: Account,
    change: dict,
    status: int,
    mentions: str,
) -> None:
    run = await api.run(runner, **RUN)
    before = await snapshot(client, runner)
    r = await client.patch(
        f"/runs/{run['id']}", json=at_request_time(change), headers=runner.headers
    )
    assert mentions in str(assert_problem(r, status)["detail"])
    assert await snapshot(client, runner) == before


async def test_moving_a_run_to_a_team_you_are_not_in_is_403(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    other = await api.user(city="Lyon")
    their_team = await api.team(other)
    run = await api.run(runner)
    before = await snapshot(client, runner)
    r = await client.patch(
        f"/runs/{run['id']}", json={"team_id": their_team["id"]}, headers=runner.headers
    )
    assert_problem(r, 403)
    assert await snapshot(client, runner) == before


# --- deleting ---------------------------------------------------------------------------------


async def test_delete_withdraws_the_run_from_every_total(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    kept = await api.run(runner, started_at="2024-05-01T06:00:00Z")
    gone = await api.run(runner, started_at="2024-05-01T19:00:00Z", distance_km=7.5)
    r = await client.delete(f"/runs/{gone['id']}", headers=runner.headers)
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await client.get(f"/runs/{gone['id']}", headers=runner.headers), 404)
    assert_problem(await client.delete(f"/runs/{gone['id']}", headers=runner.headers), 404)
    runs = await assert_totals_match_runs(client, runner)
    assert [r["id"] for r in runs] == [kept["id"]]

    r = await client.delete(f"/runs/{kept['id']}", headers=runner.headers)
    assert r.status_code == 204
    assert await all_buckets() == {}  # empty buckets do not linger


async def test_an_admin_may_delete_any_run(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    run = await api.run(runner)
    admin = await api.admin()
    r = await client.delete(f"/runs/{run['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert await all_runs(client, runner) == []
    assert await all_buckets() == {}


# --- hooks ------------------------------------------------------------------------------------


@pytest.fixture
async def heard() -> AsyncIterator[list[tuple[str, dict]]]:
    """Handlers on the three run hooks, disconnected afterwards; yields what they received."""
    received: list[tuple[str, dict]] = []

    def listener(name: str):  # type: ignore[no-untyped-def]
        async def handler(**payload: Any) -> None:
            # the change is stored before the hook runs
            run = payload.get("after") or payload["run"]
            stored = await Run.get(run.id)
            received.append((name, {**payload, "stored": stored}))

        return handler

    hooks = [
        (events.run_recorded, listener("recorded")),
        (events.run_changed, listener("changed")),
        (events.run_deleted, listener("deleted")),
    ]
    for hook, handler in hooks:
        hook.connect(handler)
    try:
        yield received
    finally:
        for hook, handler in hooks:
            hook.handlers.remove(handler)


async def test_hooks_announce_recorded_changed_and_deleted_runs(
    api: Api, client: httpx.AsyncClient, runner: Account, heard: list[tuple[str, dict]]
) -> None:
    run = await api.run(runner, idempotency_key="k1", **RUN)
    assert [name for name, _ in heard] == ["recorded"]
    recorded = heard[0][1]["run"]
    assert str(recorded.id) == run["id"]
    assert recorded.score == 956
    assert heard[0][1]["stored"] is not None

    # a replay records nothing, so it announces nothing
    r = await client.post("/runs", json=RUN, headers={**runner.headers, "Idempotency-Key": "k1"})
    assert r.status_code == 200
    assert len(heard) == 1

    await client.patch(f"/runs/{run['id']}", json={"duration_s": 3600}, headers=runner.headers)
    name, payload = heard[1]
    assert name == "changed"
    assert (payload["before"].duration_s, payload["after"].duration_s) == (3000, 3600)
    assert (payload["before"].score, payload["after"].score) == (956, 593)
    assert payload["stored"].duration_s == 3600

    await client.patch(f"/runs/{run['id']}", json={"duration_s": 3600}, headers=runner.headers)
    assert len(heard) == 2  # no change, no announcement

    await client.delete(f"/runs/{run['id']}", headers=runner.headers)
    name, payload = heard[2]
    assert name == "deleted"
    assert str(payload["run"].id) == run["id"]
    assert payload["run"].duration_s == 3600  # the state that was deleted
    assert payload["stored"] is None


# --- deleting the runner ----------------------------------------------------------------------


async def test_deleting_a_user_removes_their_runs_and_their_points(
    api: Api, client: httpx.AsyncClient, runner: Account, heard: list[tuple[str, dict]]
) -> None:
    neighbour = await api.user(city="Paris")
    team = await api.team(neighbour)
    await api.join(runner, team["id"])
    route = {"type": "LineString", "coordinates": [[2.35, 48.85], [2.36, 48.86]]}
    mine = [
        await api.run(runner, started_at="2024-05-01", route=route),
        await api.run(runner, started_at="2024-05-02", team_id=team["id"]),
        await api.run(runner, started_at="2024-05-02T12:00:00Z", idempotency_key="x"),
    ]
    theirs = [
        await api.run(neighbour, started_at="2024-05-01"),
        await api.run(neighbour, started_at="2024-05-02", team_id=team["id"]),
    ]
    heard.clear()

    r = await client.delete("/users/me", headers=runner.headers)
    assert r.status_code == 204
    runs = await assert_totals_match_runs(client, neighbour)
    assert {r["id"] for r in runs} == {r["id"] for r in theirs}
    assert await RunRoute.count() == 0
    assert await IdempotencyKey.count() == 0
    assert sorted(str(p["run"].id) for _, p in heard) == sorted(r["id"] for r in mine)
    assert all(name == "deleted" for name, _ in heard)


async def test_deleting_a_user_with_many_runs_works_in_batches(
    api: Api, client: httpx.AsyncClient, runner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.runs import service as runs_service

    monkeypatch.setattr(runs_service, "USER_DELETION_BATCH", 3)
    for day in range(1, 11):
        await api.run(runner, started_at=f"2024-05-{day:02d}")
    admin = await api.admin()
    admins_team = await api.team(admin)
    await api.run(admin, started_at="2024-05-01", team_id=admins_team["id"])
    r = await client.delete(f"/users/{runner.id}", headers=admin.headers)
    assert r.status_code == 204
    runs = await assert_totals_match_runs(client, admin)
    assert [r["user_id"] for r in runs] == [admin.id]


async def test_a_run_stored_without_a_revision_can_be_edited(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    """Runs written by bulk loaders or before edits were versioned carry no `revision`."""
    run = await api.run(runner)
    await Run.get_motor_collection().update_one(
        {"_id": PydanticObjectId(run["id"])}, {"$unset": {"revision": ""}}
    )
    r = await client.patch(f"/runs/{run['id']}", json={"duration_s": 2400}, headers=runner.headers)
    assert r.status_code == 200, r.text
    r = await client.patch(f"/runs/{run['id']}", json={"duration_s": 2500}, headers=runner.headers)
    assert r.status_code == 200, r.text
    await assert_totals_match_runs(client, runner)

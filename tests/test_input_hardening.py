"""Inputs that used to reach the database unchecked (issue 7 §2).

Dates are ISO 8601 strings in 2000-2100, free-text query parameters hold no control characters,
malformed JSON is a 422, names are NFKC-normalised and unique in their casefolded form.
Each refusal is a 422 problem+json naming the parameter, and changes nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId
from typer.testing import CliRunner

from tests.conftest import assert_problem
from tests.factories import Account, Api
from tests.test_rebuild import script_environment  # noqa: F401  (a fixture)

BOARDS = ["/leaderboards/teams", "/leaderboards/cities", "/leaderboards/users"]


def locs(body: dict[str, Any]) -> set[tuple[str | int, ...]]:
    return {tuple(e["loc"]) for e in body["errors"]}


async def board_paths(api: Api) -> list[str]:
    """The three public boards and one team's member board."""
    team = await api.team(await api.user())
    return [*BOARDS, f"/teams/{team['id']}/leaderboard"]


# --- dates: bounded to 2000-2100, no overflow ------------------------------------------------


async def test_a_custom_period_in_year_9999_is_422_on_every_board(
    api: Api, client: httpx.AsyncClient
) -> None:
    for path in await board_paths(api):
        params = {"period": "custom", "from": "9999-12-02", "to": "9999-12-03"}
        body = assert_problem(await client.get(path, params=params), 422)
        assert locs(body) == {("query", "from"), ("query", "to")}, path
        assert all("2100-12-31" in e["msg"] for e in body["errors"])  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "params",
    [
        {"period": "year", "at": "2100-06-01"},
        {"period": "month", "at": "2100-12-31"},
        {"period": "week", "at": "2100-12-31"},  # the week ends in 2101
        {"period": "day", "at": "2100-12-31"},
        {"period": "week", "at": "2000-01-01"},  # the week starts in 1999
        {"period": "custom", "from": "2000-01-01", "to": "2100-12-31"},
    ],
)
async def test_periods_at_the_edges_of_the_range_answer(
    api: Api, client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    for path in await board_paths(api):
        r = await client.get(path, params=params)
        assert r.status_code == 200, (path, r.text)
        assert r.json()["items"] == []


@pytest.mark.parametrize("value", ["1999-12-31", "2101-01-01", "9999-12-31", "0001-01-01"])
@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"period": "day"}, "at"),
        ({"period": "year"}, "at"),
        ({"period": "custom", "to": "2050-01-01"}, "from"),
        ({"period": "custom", "from": "2050-01-01"}, "to"),
    ],
)
async def test_board_dates_outside_2000_2100_are_422(
    api: Api, client: httpx.AsyncClient, params: dict[str, str], bad: str, value: str
) -> None:
    for path in await board_paths(api):
        body = assert_problem(await client.get(path, params={**params, bad: value}), 422)
        assert ("query", bad) in locs(body), path


@pytest.fixture
async def runner(api: Api) -> Account:
    return await api.user(city="Oslo")  # runs go to the Oslo city team


@pytest.fixture
async def admin(api: Api) -> Account:
    return await api.admin()


@pytest.mark.parametrize("value", ["1999-12-31", "2101-01-01", "0.5", "0", "1700000000"])
@pytest.mark.parametrize("name", ["from", "to"])
async def test_list_filters_take_iso_dates_in_2000_2100_only(
    api: Api, client: httpx.AsyncClient, runner: Account, admin: Account, name: str, value: str
) -> None:
    athlete = await api.athlete()
    requests = [
        ("/runs", runner.headers),
        (f"/users/{runner.id}/runs", runner.headers),
        ("/competitions", {}),
        (f"/athletes/{athlete.id}/calendar", {}),
    ]
    for path, headers in requests:
        r = await client.get(path, params={name: value}, headers=headers)
        assert ("query", name) in locs(assert_problem(r, 422)), path
    for path, headers in requests:  # the edges themselves are fine
        for edge in ("2000-01-01", "2100-12-31"):
            r = await client.get(path, params={name: edge}, headers=headers)
            assert r.status_code == 200, (path, r.text)


RUN = {"started_at": "2024-05-01T07:00:00Z", "distance_km": 5.0, "duration_s": 1800}


@pytest.mark.parametrize(
    "started_at",
    [
        "1700000000",  # a Unix time as a string
        1700000000,  # ... as a JSON number
        1700000000.5,
        "0.5",
        "20240501",  # ISO 8601 basic format: not what README promises
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "2000-01-01T00:30:00+01:00",  # 1999-12-31 in UTC
        "2024-05-01T07:00:00Z\u0000",
    ],
)
async def test_started_at_is_an_iso_8601_string_in_range(
    client: httpx.AsyncClient, runner: Account, started_at: object
) -> None:
    body = {**RUN, "started_at": started_at}
    r = await client.post("/runs", json=body, headers=runner.headers)
    assert ("body", "started_at") in locs(assert_problem(r, 422))

    run = (await client.post("/runs", json=RUN, headers=runner.headers)).json()
    r = await client.patch(
        f"/runs/{run['id']}", json={"started_at": started_at}, headers=runner.headers
    )
    assert ("body", "started_at") in locs(assert_problem(r, 422))
    r = await client.get(f"/runs/{run['id']}", headers=runner.headers)
    assert r.json()["started_at"] == "2024-05-01T07:00:00Z"
    await client.delete(f"/runs/{run['id']}", headers=runner.headers)
    assert (await client.get("/runs", headers=runner.headers)).json()["total"] == 0


async def test_route_timestamps_are_iso_strings_too(
    client: httpx.AsyncClient, runner: Account
) -> None:
    route = {
        "type": "LineString",
        "coordinates": [[10.0, 59.9], [10.01, 59.91]],
        "timestamps": [1714546800, 1714547400],
    }
    r = await client.post("/runs", json={**RUN, "route": route}, headers=runner.headers)
    assert_problem(r, 422)
    assert (await client.get("/runs", headers=runner.headers)).json()["total"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("starts_on", "1999-12-31"),
        ("ends_on", "2101-01-01"),
        ("starts_on", 1700000000),
        ("ends_on", "1700000000"),
        ("starts_on", "2030-06-01T00:00:00"),
    ],
)
async def test_competition_dates_are_iso_days_in_range(
    api: Api, client: httpx.AsyncClient, admin: Account, field: str, value: object
) -> None:
    payload = {
        "name": "Bislett Games",
        "sport": "athletics",
        "city": "Oslo",
        "country": "NO",
        "starts_on": "2030-06-01",
        "ends_on": "2030-06-02",
        field: value,
    }
    r = await client.post("/competitions", json=payload, headers=admin.headers)
    assert ("body", field) in locs(assert_problem(r, 422))
    competition = await api.competition(admin)
    r = await client.patch(
        f"/competitions/{competition['id']}", json={field: value}, headers=admin.headers
    )
    assert ("body", field) in locs(assert_problem(r, 422))
    assert (await client.get("/competitions")).json()["total"] == 1


@pytest.mark.parametrize("starts_at", ["1999-12-31T18:00:00Z", "2101-01-01", 1700000000, "0.5"])
async def test_event_times_are_iso_strings_in_range(
    api: Api, client: httpx.AsyncClient, admin: Account, starts_at: object
) -> None:
    competition = await api.competition(admin)
    path = f"/competitions/{competition['id']}/events"
    payload = {"name": "100m final", "discipline": "100m", "starts_at": starts_at}
    r = await client.post(path, json=payload, headers=admin.headers)
    assert ("body", "starts_at") in locs(assert_problem(r, 422))
    event = await api.event(admin, competition)
    r = await client.patch(
        f"/events/{event['id']}", json={"starts_at": starts_at}, headers=admin.headers
    )
    assert ("body", "starts_at") in locs(assert_problem(r, 422))
    assert (await client.get(path)).json()["total"] == 1


# --- period rules name their parameters -------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"period": "custom", "to": "2026-02-01"}, {("query", "from")}),
        ({"period": "custom", "from": "2026-02-01"}, {("query", "to")}),
        ({"period": "custom"}, {("query", "from"), ("query", "to")}),
        (
            {"period": "custom", "from": "2026-02-02", "to": "2026-02-01"},
            {("query", "from"), ("query", "to")},
        ),
        (
            {"period": "custom", "at": "2026-02-01", "from": "2026-01-01", "to": "2026-02-01"},
            {("query", "at")},
        ),
        ({"period": "week", "from": "2026-02-01"}, {("query", "from")}),
    ],
)
async def test_period_rule_violations_name_the_parameters(
    client: httpx.AsyncClient, params: dict[str, str], named: set[tuple[str, str]]
) -> None:
    body = assert_problem(await client.get("/leaderboards/users", params=params), 422)
    assert locs(body) == named


# --- free-text query parameters ---------------------------------------------------------------

SEARCHES = [
    ("/users", "search"),
    ("/teams", "search"),
    ("/athletes", "search"),
    ("/competitions", "search"),
    ("/competitions", "city"),
    ("/cities", "search"),
]


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\t", "\n"])
@pytest.mark.parametrize(("path", "name"), SEARCHES)
async def test_control_characters_in_search_parameters_are_422(
    client: httpx.AsyncClient, path: str, name: str, char: str
) -> None:
    r = await client.get(path, params={name: f"a{char}b"})
    assert locs(assert_problem(r, 422)) == {("query", name)}


@pytest.mark.parametrize(("path", "name"), SEARCHES)
async def test_search_parameters_still_take_any_printable_text(
    client: httpx.AsyncClient, path: str, name: str
) -> None:
    for text in ("Zürich", "São Paulo", "(.*", "北京"):
        r = await client.get(path, params={name: text})
        assert r.status_code == 200, (path, text, r.text)


# --- malformed JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"name": "Ann",', b"{'name': 'Ann'}", b"not json", b'{"name": "\xff\xfe"}', b"\xef\xbb"],
)
async def test_malformed_json_is_a_422_problem_naming_the_body(
    client: httpx.AsyncClient, runner: Account, content: bytes
) -> None:
    requests = [
        ("POST", "/auth/register", {}),
        ("POST", "/runs", runner.headers),
        ("PATCH", "/users/me", runner.headers),
    ]
    for method, path, headers in requests:
        r = await client.request(
            method, path, content=content, headers={**headers, "Content-Type": "application/json"}
        )
        body = assert_problem(r, 422)
        assert body["errors"] == [
            {"loc": ["body"], "msg": body["errors"][0]["msg"], "type": "json_invalid"}  # type: ignore[index]
        ]
        assert str(body["detail"]).startswith("Malformed JSON body")
    assert (await client.get("/users")).json()["total"] == 1


async def test_openapi_documents_the_422_problem_not_a_400(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/runs"]["post"]
    assert "422" in operation["responses"]
    assert "400" not in operation["responses"]


async def test_unpaired_surrogates_are_422_not_500(
    client: httpx.AsyncClient, runner: Account
) -> None:
    # valid JSON (a \\u escape), but not valid Unicode: MongoDB cannot store it
    bodies = [
        ("/auth/register", b'{"name": "Ann\\ud800", "email": "a@example.com", "password": "x"}'),
        ("/auth/login", b'{"email": "Ann", "password": "password\\udfff"}'),
    ]
    for path, content in bodies:
        r = await client.post(path, content=content, headers={"Content-Type": "application/json"})
        assert "surrogate" in str(assert_problem(r, 422)["detail"])
    r = await client.patch(
        "/users/me",
        content=b'{"bio": "hi \\udc00"}',
        headers={**runner.headers, "Content-Type": "application/json"},
    )
    assert_problem(r, 422)
    # a surrogate *pair* is a real character (an emoji) and stays fine
    r = await client.patch(
        "/users/me",
        content=b'{"bio": "hi \\ud83c\\udfc3"}',
        headers={**runner.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["bio"] == "hi \N{RUNNER}"


# --- names ------------------------------------------------------------------------------------

BAD_NAMES = [
    "Ann\u200bie",  # zero-width space
    "Ann\u200die",  # zero-width joiner
    "\u202eeinnA",  # right-to-left override
    "Ann\u2066ie\u2069",  # bidi isolate
    "\ufeffAnnie",  # byte order mark
    "Ann\u00adie",  # soft hyphen
    "Ann\x00ie",
    "Ann\x1bie",
    "Ann\u0085ie",  # C1 control (NEL)
    "\u0301\u0301\u0301",  # only combining marks
    " \u0301 \u0308 ",  # spaces and marks
    "\u3000\u3000\u3000",  # ideographic spaces only
    "\ue000\ue001",  # private use
]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_invisible_or_control_characters_in_user_names_are_422(
    client: httpx.AsyncClient, runner: Account, name: str
) -> None:
    payload = {"name": name, "email": "new@example.com", "password": "password123"}
    r = await client.post("/auth/register", json=payload)
    assert locs(assert_problem(r, 422)) == {("body", "name")}
    r = await client.patch("/users/me", json={"name": name}, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == {("body", "name")}
    users = (await client.get("/users")).json()
    assert [u["name"] for u in users["items"]] == [runner.name]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_invisible_or_control_characters_in_team_names_are_422(
    api: Api, client: httpx.AsyncClient, runner: Account, name: str
) -> None:
    r = await client.post("/teams", json={"name": name}, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == {("body", "name")}
    team = await api.team(runner, "Night Owls")
    r = await client.patch(f"/teams/{team['id']}", json={"name": name}, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == {("body", "name")}
    custom = (await client.get("/teams", params={"kind": "custom"})).json()["items"]
    assert [t["name"] for t in custom] == ["Night Owls"]


async def test_user_names_are_nfkc_normalised_and_unique_casefolded(
    api: Api, client: httpx.AsyncClient
) -> None:
    wide = await api.user("\uff46\uff55\uff4c\uff4cwidth  Runner")  # "ｆｕｌｌwidth  Runner"
    assert wide.body["name"] == "fullwidth Runner"
    for clash in ("fullwidth runner", "FULLWIDTH RUNNER", "\uff26\uff55\uff4c\uff4cwidth runner"):
        payload = {"name": clash, "email": "other@example.com", "password": "password123"}
        assert_problem(await client.post("/auth/register", json=payload), 409)
    other = await api.user("Someone Else")
    r = await client.patch(
        "/users/me", json={"name": "Fullwidth\u00a0Runner"}, headers=other.headers
    )
    assert_problem(r, 409)
    # the name is found in any of its forms
    r = await client.get("/users/by-name/\uff26ULLWIDTH runner")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == wide.id
    await api.login("FULLWIDTH RUNNER", wide.password)
    # the ligature "ﬁ" is "fi"; the Kelvin sign is K; a precomposed é equals e + combining acute
    assert (await api.user("\ufb01nn K\u212a")).body["name"] == "finn KK"
    payload = {"name": "finn kk", "email": "finn2@example.com", "password": "password123"}
    assert_problem(await client.post("/auth/register", json=payload), 409)
    assert (await api.user("Ren\u00e9e")).body["name"] == "Ren\u00e9e"
    payload = {"name": "Rene\u0301e", "email": "renee2@example.com", "password": "password123"}
    assert_problem(await client.post("/auth/register", json=payload), 409)


async def test_a_fullwidth_slash_or_at_is_refused_like_the_ascii_ones(
    client: httpx.AsyncClient,
) -> None:
    for name in ("Ann\uff0fBo", "Ann\uff20Bo"):
        payload = {"name": name, "email": "ann@example.com", "password": "password123"}
        assert locs(assert_problem(await client.post("/auth/register", json=payload), 422)) == {
            ("body", "name")
        }


async def test_team_names_are_nfkc_normalised_and_unique_casefolded(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    team = await api.team(runner, "\uff2e\uff49\uff47\uff48\uff54   Owls")  # "Ｎｉｇｈｔ   Owls"
    assert team["name"] == "Night Owls"
    r = await client.post("/teams", json={"name": "night owls"}, headers=runner.headers)
    assert_problem(r, 409)
    other = await api.team(runner, "Early Birds")
    r = await client.patch(
        f"/teams/{other['id']}", json={"name": "NIGHT\u3000OWLS"}, headers=runner.headers
    )
    assert_problem(r, 409)
    assert (await client.get("/teams", params={"search": "\uff4f\uff57\uff4c"})).json()[
        "total"
    ] == 1


# --- other free text ------------------------------------------------------------------------


async def test_multiline_text_keeps_newlines_but_refuses_other_controls(
    api: Api, client: httpx.AsyncClient, runner: Account
) -> None:
    r = await client.patch(
        "/users/me", json={"bio": "Line one\r\nLine two\tand a tab"}, headers=runner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["bio"] == "Line one\nLine two\tand a tab"
    for bad in ("bell\x07", "nul\x00here", "esc\x1b[31m", "c1\x9bcontrol"):
        r = await client.patch("/users/me", json={"bio": bad}, headers=runner.headers)
        assert locs(assert_problem(r, 422)) == {("body", "bio")}
        r = await client.post("/runs", json={**RUN, "notes": bad}, headers=runner.headers)
        assert locs(assert_problem(r, 422)) == {("body", "notes")}
        r = await client.post(
            "/teams", json={"name": "Owls", "description": bad}, headers=runner.headers
        )
        assert locs(assert_problem(r, 422)) == {("body", "description")}
        r = await client.post(
            "/athletes/me", json={"disciplines": ["100m"], "bio": bad}, headers=runner.headers
        )
        assert locs(assert_problem(r, 422)) == {("body", "bio")}
    me = (await client.get("/users/me", headers=runner.headers)).json()
    assert me["bio"] == "Line one\nLine two\tand a tab"
    assert (await client.get("/runs", headers=runner.headers)).json()["total"] == 0
    assert (await client.get("/teams", params={"kind": "custom"})).json()["total"] == 0


async def test_names_keyed_before_nfkc_are_rekeyed_by_the_script_function(
    api: Api, client: httpx.AsyncClient
) -> None:
    from documents import Athlete, Team, User
    from service import names

    wide = await api.athlete(await api.user("Wide Runner"))
    clash_a = await api.user("Clash One")
    clash_b = await api.user("Clash Two")
    team = await api.team(wide, "Quiet Owls")
    users = User.get_motor_collection()
    # as a database written before NFKC keys would hold them
    legacy = {"name": "\uff37ide Runner", "name_key": "\uff57ide runner"}
    await users.update_one({"_id": PydanticObjectId(wide.id)}, {"$set": legacy})
    await Athlete.get_motor_collection().update_one(
        {"_id": PydanticObjectId(wide.id)}, {"$set": legacy}
    )
    await users.update_one(
        {"_id": PydanticObjectId(clash_a.id)}, {"$set": {"name": "Ｃlash", "name_key": "ｃlash"}}
    )
    await users.update_one(
        {"_id": PydanticObjectId(clash_b.id)}, {"$set": {"name": "clash", "name_key": "clash"}}
    )
    await Team.get_motor_collection().update_one(
        {"_id": PydanticObjectId(team["id"])},
        {"$set": {"name": "\uff31uiet Owls", "name_key": "\uff51uiet owls"}},
    )
    r = await client.get("/users/by-name/Wide Runner")
    assert_problem(r, 404)  # the legacy key is not found by the normalised name

    counted = {r.collection: (r.stale, r.fixed) for r in await names.rekey(repair=False)}
    assert counted == {"users": (2, 0), "teams": (1, 0), "athletes": (1, 0)}
    reports = await names.rekey(repair=True)
    assert {r.collection: (r.stale, r.fixed) for r in reports} == {
        "users": (2, 1),
        "teams": (1, 1),
        "athletes": (1, 1),
    }
    assert [r.clashes for r in reports] == [["Ｃlash"], [], []]

    assert (await client.get("/users/by-name/wide runner")).json()["id"] == wide.id
    await api.login("WIDE RUNNER", wide.password)
    r = await client.post("/teams", json={"name": "quiet owls"}, headers=wide.headers)
    assert_problem(r, 409)
    found = (await client.get("/athletes", params={"search": "wide"})).json()["items"]
    assert [a["id"] for a in found] == [wide.id]
    assert {r.collection: r.stale for r in await names.rekey(repair=False)} == {
        "users": 1,  # the clash stays until an admin renames one of them
        "teams": 0,
        "athletes": 0,
    }


@pytest.mark.usefixtures("script_environment")
def test_the_rekey_script_verifies_an_empty_store_and_exits_zero() -> None:
    from scripts.rekey_names import app

    result = CliRunner().invoke(app, ["--verify"])
    assert result.exit_code == 0, result.output
    assert "users: 0 stale" in result.output


async def test_domain_rule_422s_name_the_fields_involved(
    api: Api, client: httpx.AsyncClient, runner: Account, admin: Account
) -> None:
    athlete = await api.athlete()
    competition = await api.competition(admin)
    backwards = {"from": "2030-01-02", "to": "2030-01-01"}
    both = {("query", "from"), ("query", "to")}
    r = await client.get("/runs", params=backwards, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == both
    assert locs(assert_problem(await client.get("/competitions", params=backwards), 422)) == both
    r = await client.get(f"/athletes/{athlete.id}/calendar", params=backwards)
    assert locs(assert_problem(r, 422)) == both

    r = await client.patch(
        f"/competitions/{competition['id']}",
        json={"ends_on": "2000-01-01"},
        headers=admin.headers,
    )
    assert locs(assert_problem(r, 422)) == {("body", "starts_on"), ("body", "ends_on")}
    r = await client.post(
        f"/competitions/{competition['id']}/events",
        json={"name": "Heat", "discipline": "100m", "starts_at": "2099-01-01T10:00:00Z"},
        headers=admin.headers,
    )
    assert locs(assert_problem(r, 422)) == {("body", "starts_at")}

    too_fast = {**RUN, "distance_km": 30, "duration_s": 3600}
    r = await client.post("/runs", json=too_fast, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == {("body", "distance_km"), ("body", "duration_s")}
    r = await client.post("/runs", json={**RUN, "started_at": "2099-01-01"}, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == {("body", "started_at")}
    nomad = await api.user()
    r = await client.post("/runs", json=RUN, headers=nomad.headers)
    assert locs(assert_problem(r, 422)) == {("body", "team_id")}
    r = await client.post("/teams", json={"name": "city:paris"}, headers=runner.headers)
    assert locs(assert_problem(r, 422)) == {("body", "name")}

"""Athlete profiles: an extension of a user, searchable, with followers and upcoming entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import CalendarEntry, Competition, Event
from tests.conftest import assert_problem
from tests.factories import Api

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def test_a_user_becomes_an_athlete(client: httpx.AsyncClient, api: Api) -> None:
    user = await api.user("Mondo Duplantis")
    payload = {
        "disciplines": ["Pole Vault", "pole  vault", "60m"],
        "bio": "Flies high.",
        "nationality": "se",
        "club": "Upsala IF",
        "birth_year": 1999,
    }
    r = await client.post("/athletes/me", json=payload, headers=user.headers)
    assert r.status_code == 201, r.text
    athlete = r.json()
    assert athlete["id"] == user.id  # the athlete's id is the user's id
    assert athlete["name"] == "Mondo Duplantis"
    assert athlete["disciplines"] == ["pole vault", "60m"]
    assert athlete["nationality"] == "SE"
    assert athlete["followers"] == 0
    assert athlete["upcoming"] == []
    assert (await client.get(f"/athletes/{user.id}")).json() == athlete  # public
    assert (await client.get("/athletes/me", headers=user.headers)).json() == athlete


async def test_becoming_an_athlete_twice_is_409(client: httpx.AsyncClient, api: Api) -> None:
    runner = await api.athlete(disciplines=["800m"])
    r = await client.post("/athletes/me", json={"disciplines": ["1500m"]}, headers=runner.headers)
    assert_problem(r, 409)
    assert (await client.get(f"/athletes/{runner.id}")).json()["disciplines"] == ["800m"]


async def test_athlete_routes_need_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/athletes/me", json={"disciplines": ["100m"]}), 401)
    assert_problem(await client.get("/athletes/me"), 401)
    assert_problem(await client.patch("/athletes/me", json={"bio": "x"}), 401)
    assert_problem(await client.delete("/athletes/me"), 401)


async def test_invalid_profiles_are_rejected_and_not_stored(
    client: httpx.AsyncClient, api: Api
) -> None:
    user = await api.user()
    for payload in [
        {},
        {"disciplines": []},
        {"disciplines": [""]},
        {"disciplines": "100m"},
        {"disciplines": [f"d{i}" for i in range(21)]},
        {"disciplines": ["100m"], "nationality": "XX"},
        {"disciplines": ["100m"], "birth_year": datetime.now(UTC).year + 1},
        {"disciplines": ["100m"], "birth_year": 1850},
        {"disciplines": ["100m"], "bio": "x" * 1001},
        {"disciplines": ["100m"], "followers_count": 1000},
    ]:
        r = await client.post("/athletes/me", json=payload, headers=user.headers)
        assert r.status_code == 422, (payload, r.text)
        assert_problem(r, 422)
        assert_problem(await client.get("/athletes/me", headers=user.headers), 404)
        assert (await client.get("/athletes")).json()["total"] == 0


async def test_a_user_without_a_profile_gets_404_on_me_routes(
    client: httpx.AsyncClient, api: Api
) -> None:
    user = await api.user()
    problem = assert_problem(await client.get("/athletes/me", headers=user.headers), 404)
    assert "POST /athletes/me" in str(problem["detail"])
    assert_problem(await client.patch("/athletes/me", json={}, headers=user.headers), 404)
    assert_problem(await client.delete("/athletes/me", headers=user.headers), 404)
    assert_problem(await client.get(f"/athletes/{user.id}"), 404)  # a user, not an athlete
    assert_problem(await client.get("/athletes/nope"), 404)


async def test_an_athlete_updates_their_profile(client: httpx.AsyncClient, api: Api) -> None:
    runner = await api.athlete(club="Old Club", birth_year=1990, nationality="NO")
    changes = {"club": None, "disciplines": ["5000M", "10000m"], "bio": "Distance runner"}
    r = await client.patch("/athletes/me", json=changes, headers=runner.headers)
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["club"] is None
    assert updated["disciplines"] == ["5000m", "10000m"]
    assert updated["bio"] == "Distance runner"
    assert updated["birth_year"] == 1990  # untouched
    assert updated["nationality"] == "NO"
    assert (await client.get(f"/athletes/{runner.id}")).json() == updated


async def test_invalid_profile_updates_change_nothing(client: httpx.AsyncClient, api: Api) -> None:
    runner = await api.athlete()
    before = (await client.get(f"/athletes/{runner.id}")).json()
    for changes in [
        {"disciplines": None},
        {"disciplines": []},
        {"nationality": "ABC"},
        {"name": "New name"},  # the name is the user's: PATCH /users/me
    ]:
        r = await client.patch("/athletes/me", json=changes, headers=runner.headers)
        assert r.status_code == 422, (changes, r.text)
        assert_problem(r, 422)
        assert (await client.get(f"/athletes/{runner.id}")).json() == before


async def test_search_by_name_discipline_and_nationality(
    client: httpx.AsyncClient, api: Api
) -> None:
    await api.athlete(await api.user("Karsten Warholm"), disciplines=["400mH"], nationality="NO")
    await api.athlete(
        await api.user("Jakob Ingebrigtsen"), disciplines=["1500m", "5000m"], nationality="no"
    )
    await api.athlete(await api.user("Femke Bol"), disciplines=["400mh", "400m"], nationality="NL")
    await api.athlete(await api.user("Faith Kipyegon"), disciplines=["1500m"], nationality="KE")
    await api.user("Not An Athlete")

    async def names(**params: Any) -> list[str]:
        r = await client.get("/athletes", params=params)
        assert r.status_code == 200, r.text
        return [a["name"] for a in r.json()["items"]]

    assert await names() == [  # by name
        "Faith Kipyegon",
        "Femke Bol",
        "Jakob Ingebrigtsen",
        "Karsten Warholm",
    ]
    assert await names(search="KIP") == ["Faith Kipyegon"]
    assert await names(search="f") == ["Faith Kipyegon", "Femke Bol"]
    assert await names(discipline="400MH") == ["Femke Bol", "Karsten Warholm"]
    assert await names(nationality="no") == ["Jakob Ingebrigtsen", "Karsten Warholm"]
    assert await names(discipline="1500m", nationality="KE") == ["Faith Kipyegon"]
    assert await names(search=".*") == []
    r = await client.get("/athletes", params={"limit": 2, "offset": 1})
    assert [a["name"] for a in r.json()["items"]] == ["Femke Bol", "Jakob Ingebrigtsen"]
    assert r.json()["total"] == 4
    assert_problem(await client.get("/athletes", params={"nationality": "NOR"}), 422)


async def test_profile_shows_followers_and_the_next_five_entries(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    runner = await api.athlete()
    open_meet = await api.competition(admin, starts_on=day(2), ends_on=day(20))
    cancelled = await api.competition(admin, starts_on=day(1), ends_on=day(1))
    hours = list(range(8))
    events = [
        await api.event(admin, open_meet, name=f"E{h}", starts_at=f"{day(2 + h)}T10:00:00Z")
        for h in hours
    ]
    early_cancelled = await api.event(
        admin, cancelled, name="Cancelled", starts_at=f"{day(1)}T10:00:00Z"
    )
    for event in reversed(events):
        await api.enter(runner, event, status="confirmed" if event["name"] == "E3" else "planned")
    await api.enter(runner, early_cancelled)
    r = await client.patch(
        f"/competitions/{cancelled['id']}", json={"status": "cancelled"}, headers=admin.headers
    )
    assert r.status_code == 200
    # E0 withdrawn; and one entry of an event that already happened (stored directly: the API
    # refuses past events)
    calendar = (await client.get(f"/athletes/{runner.id}/calendar")).json()["items"]
    e0 = next(e for e in calendar if e["event"]["name"] == "E0")
    r = await client.patch(
        f"/athletes/me/calendar/{e0['id']}", json={"status": "withdrawn"}, headers=runner.headers
    )
    assert r.status_code == 200
    past = Competition(
        name="Past",
        name_key="past",
        sport="athletics",
        city="Oslo",
        city_key="oslo",
        country="NO",
        starts_on=datetime.now(UTC) - timedelta(days=3),
        ends_on=datetime.now(UTC) - timedelta(days=3),
    )
    await past.insert()
    past_event = Event(
        competition_id=past.id, name="Past race", discipline="100m", starts_at=past.starts_on
    )
    await past_event.insert()
    await CalendarEntry(
        athlete_id=PydanticObjectId(runner.id),
        event_id=past_event.id,
        competition_id=past.id,
        event_starts_at=past_event.starts_at,
    ).insert()
    for _ in range(3):
        await api.follow(await api.user(), runner)

    profile = (await client.get(f"/athletes/{runner.id}")).json()
    assert profile["followers"] == 3
    upcoming = profile["upcoming"]
    assert [e["event"]["name"] for e in upcoming] == ["E1", "E2", "E3", "E4", "E5"]
    assert upcoming[2]["status"] == "confirmed"
    assert upcoming[0]["competition"]["id"] == open_meet["id"]
    assert upcoming[0]["competition"]["starts_on"] == day(2)
    assert upcoming[0]["event"]["id"] == events[1]["id"]


async def test_renaming_the_user_renames_the_athlete(client: httpx.AsyncClient, api: Api) -> None:
    runner = await api.athlete(await api.user("Old Name"))
    r = await client.patch("/users/me", json={"name": "Brand New Name"}, headers=runner.headers)
    assert r.status_code == 200, r.text
    assert (await client.get(f"/athletes/{runner.id}")).json()["name"] == "Brand New Name"
    r = await client.get("/athletes", params={"search": "brand new"})
    assert [a["id"] for a in r.json()["items"]] == [runner.id]
    assert (await client.get("/athletes", params={"search": "old"})).json()["items"] == []


async def test_deleting_the_profile_removes_calendar_and_followers(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)
    event = await api.event(admin, competition)
    runner = await api.athlete()
    other = await api.athlete()
    fan = await api.user()
    await api.enter(runner, event)
    await api.enter(other, event)
    await api.follow(fan, runner)
    await api.follow(fan, other)
    await api.follow(runner, other)  # the runner also follows someone, as a user

    r = await client.delete("/athletes/me", headers=runner.headers)
    assert r.status_code == 204
    assert_problem(await client.get(f"/athletes/{runner.id}"), 404)
    assert_problem(await client.get(f"/athletes/{runner.id}/calendar"), 404)
    assert (
        await CalendarEntry.find(CalendarEntry.athlete_id == PydanticObjectId(runner.id)).count()
        == 0
    )
    following = (await client.get("/users/me/following", headers=fan.headers)).json()
    assert [a["id"] for a in following["items"]] == [other.id]
    assert following["total"] == 1
    # the account stays, and so does what the user follows
    assert (await client.get(f"/users/{runner.id}")).status_code == 200
    mine = (await client.get("/users/me/following", headers=runner.headers)).json()
    assert [a["id"] for a in mine["items"]] == [other.id]
    assert (await client.get(f"/athletes/{other.id}")).json()["followers"] == 2
    # and they may become an athlete again, starting from scratch
    again = await api.athlete(runner)
    assert again.body["athlete"]["followers"] == 0


async def test_deleting_the_user_removes_profile_calendar_and_follows(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)
    event = await api.event(admin, competition)
    leaving = await api.athlete()
    star = await api.athlete()
    fan = await api.user()
    await api.enter(leaving, event)
    await api.enter(star, event)
    await api.follow(fan, leaving)
    await api.follow(leaving, star)
    await api.follow(fan, star)
    assert (await client.get(f"/athletes/{star.id}")).json()["followers"] == 2

    r = await client.delete("/users/me", headers=leaving.headers)
    assert r.status_code == 204
    assert_problem(await client.get(f"/athletes/{leaving.id}"), 404)
    assert (
        await CalendarEntry.find(CalendarEntry.athlete_id == PydanticObjectId(leaving.id)).count()
        == 0
    )
    star_profile = (await client.get(f"/athletes/{star.id}")).json()
    assert star_profile["followers"] == 1
    followers = (await client.get(f"/athletes/{star.id}/followers")).json()
    assert [u["id"] for u in followers["items"]] == [fan.id]
    fan_follows = (await client.get("/users/me/following", headers=fan.headers)).json()
    assert [a["id"] for a in fan_follows["items"]] == [star.id]
    calendar = (await client.get(f"/athletes/{star.id}/calendar")).json()
    assert calendar["total"] == 1  # other athletes' entries for the same event stay

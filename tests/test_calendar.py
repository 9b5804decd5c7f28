"""An athlete's calendar: future events of live competitions, once each; public to read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import assert_problem
from tests.factories import Account, Api

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def calendar_of(client: httpx.AsyncClient, athlete: Account, **params: Any) -> dict:
    r = await client.get(f"/athletes/{athlete.id}/calendar", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_an_athlete_adds_an_event_to_their_calendar(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, name="Bislett Games", city="Oslo", country="NO")
    event = await api.event(admin, competition, name="400m hurdles", discipline="400mH")
    runner = await api.athlete()
    body = {"event_id": event["id"], "status": "confirmed", "notes": "  Season opener "}
    r = await client.post("/athletes/me/calendar", json=body, headers=runner.headers)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["athlete_id"] == runner.id
    assert entry["status"] == "confirmed"
    assert entry["notes"] == "Season opener"
    assert entry["event"] == {
        "id": event["id"],
        "name": "400m hurdles",
        "discipline": "400mh",
        "starts_at": event["starts_at"],
        "round": None,
    }
    assert entry["competition"] == {
        "id": competition["id"],
        "name": "Bislett Games",
        "city": "Oslo",
        "country": "NO",
        "starts_on": competition["starts_on"],
        "ends_on": competition["ends_on"],
        "status": "scheduled",
    }
    assert (await calendar_of(client, runner))["items"] == [entry]


async def test_the_same_event_twice_is_409(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    event = await api.event(admin, await api.competition(admin))
    runner = await api.athlete()
    first = await api.enter(runner, event)
    await client.patch(
        f"/athletes/me/calendar/{first['id']}", json={"status": "withdrawn"}, headers=runner.headers
    )
    for status in ("planned", "confirmed"):
        body = {"event_id": event["id"], "status": status}
        r = await client.post("/athletes/me/calendar", json=body, headers=runner.headers)
        assert_problem(r, 409)
    assert (await calendar_of(client, runner, include_withdrawn=True))["total"] == 1
    # another athlete may enter the same event
    await api.enter(await api.athlete(), event)


async def test_past_and_cancelled_events_cannot_be_added(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    past = await api.competition(admin, starts_on=day(-3), ends_on=day(-1))
    past_event = await api.event(admin, past)
    # starts earlier today, within a competition still under way
    today = await api.competition(admin, starts_on=day(0), ends_on=day(1))
    started = await api.event(admin, today, starts_at=datetime.now(UTC).isoformat())
    cancelled = await api.competition(admin, status="cancelled")
    cancelled_event = await api.event(admin, cancelled)
    runner = await api.athlete()
    for event in (past_event, started, cancelled_event):
        body = {"event_id": event["id"], "status": "planned"}
        r = await client.post("/athletes/me/calendar", json=body, headers=runner.headers)
        assert_problem(r, 422)
    assert (await calendar_of(client, runner, include_withdrawn=True))["total"] == 0


async def test_invalid_entries_are_rejected_and_not_stored(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    event_id = (await api.event(admin, await api.competition(admin)))["id"]
    runner = await api.athlete()
    for body in [
        {"event_id": "0123456789abcdef01234567", "status": "planned"},  # no such event
        {"event_id": "not-an-id", "status": "planned"},
        {"event_id": event_id, "status": "withdrawn"},  # cannot start out withdrawn
        {"event_id": event_id, "status": "maybe"},
        {"event_id": event_id},
        {"status": "planned"},
        {"event_id": event_id, "status": "planned", "notes": "x" * 501},
        {"event_id": event_id, "status": "planned", "athlete_id": "0123456789abcdef01234567"},
    ]:
        r = await client.post("/athletes/me/calendar", json=body, headers=runner.headers)
        assert r.status_code == 422, (body, r.text)
        assert_problem(r, 422)
        assert (await calendar_of(client, runner, include_withdrawn=True))["total"] == 0


async def test_calendar_writes_need_a_token_and_a_profile(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    event = await api.event(admin, await api.competition(admin))
    runner = await api.athlete()
    entry = await api.enter(runner, event)
    body = {"event_id": event["id"], "status": "planned"}
    assert_problem(await client.post("/athletes/me/calendar", json=body), 401)
    url = f"/athletes/me/calendar/{entry['id']}"
    assert_problem(await client.patch(url, json={"status": "confirmed"}), 401)
    assert_problem(await client.delete(url), 401)
    fan = await api.user()  # not an athlete
    r = await client.post("/athletes/me/calendar", json=body, headers=fan.headers)
    assert "POST /athletes/me" in str(assert_problem(r, 404)["detail"])
    assert (await calendar_of(client, runner))["items"] == [entry]


async def test_an_athlete_confirms_withdraws_and_removes_entries(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)
    event = await api.event(admin, competition)
    runner = await api.athlete()
    entry = await api.enter(runner, event, notes="maybe")
    url = f"/athletes/me/calendar/{entry['id']}"

    r = await client.patch(url, json={"status": "confirmed", "notes": None}, headers=runner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["notes"] is None
    assert r.json()["event"] == entry["event"]

    r = await client.patch(url, json={"status": "withdrawn"}, headers=runner.headers)
    assert r.json()["status"] == "withdrawn"
    assert (await calendar_of(client, runner))["items"] == []  # withdrawn are hidden by default
    shown = (await calendar_of(client, runner, include_withdrawn=True))["items"]
    assert [e["status"] for e in shown] == ["withdrawn"]

    r = await client.patch(url, json={"status": "planned"}, headers=runner.headers)
    assert r.json()["status"] == "planned"

    assert (await client.delete(url, headers=runner.headers)).status_code == 204
    assert (await calendar_of(client, runner, include_withdrawn=True))["total"] == 0
    assert_problem(await client.delete(url, headers=runner.headers), 404)
    assert_problem(await client.patch(url, json={"notes": "x"}, headers=runner.headers), 404)


async def test_invalid_entry_updates_change_nothing(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    runner = await api.athlete()
    entry = await api.enter(runner, await api.event(admin, await api.competition(admin)))
    url = f"/athletes/me/calendar/{entry['id']}"
    for changes in [{"status": None}, {"status": "maybe"}, {"event_id": "x"}, {"notes": "x" * 501}]:
        r = await client.patch(url, json=changes, headers=runner.headers)
        assert r.status_code == 422, (changes, r.text)
        assert_problem(r, 422)
        assert (await calendar_of(client, runner))["items"] == [entry]


async def test_another_athletes_entry_is_404(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    event = await api.event(admin, await api.competition(admin))
    owner = await api.athlete()
    intruder = await api.athlete()
    entry = await api.enter(owner, event)
    for entry_id in (entry["id"], "0123456789abcdef01234567", "bad-id"):
        url = f"/athletes/me/calendar/{entry_id}"
        r = await client.patch(url, json={"status": "withdrawn"}, headers=intruder.headers)
        assert_problem(r, 404)
        assert_problem(await client.delete(url, headers=intruder.headers), 404)
    assert (await calendar_of(client, owner))["items"] == [entry]


async def test_calendar_is_by_event_time_and_filtered_by_days(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    first = await api.competition(admin, starts_on=day(10), ends_on=day(12))
    second = await api.competition(admin, starts_on=day(5), ends_on=day(5))
    runner = await api.athlete()
    someone_else = await api.athlete()
    plan = [
        (first, f"{day(12)}T09:00:00Z", "D12"),
        (second, f"{day(5)}T23:59:00Z", "D5"),
        (first, f"{day(10)}T00:00:00Z", "D10"),
        (first, f"{day(11)}T18:00:00Z", "D11"),
    ]
    for competition, when, name in plan:
        event = await api.event(admin, competition, name=name, starts_at=when)
        await api.enter(runner, event)
        await api.enter(someone_else, event)

    async def names(**params: Any) -> list[str]:
        return [e["event"]["name"] for e in (await calendar_of(client, runner, **params))["items"]]

    assert await names() == ["D5", "D10", "D11", "D12"]
    assert await names(**{"from": day(10)}) == ["D10", "D11", "D12"]
    assert await names(to=day(10)) == ["D5", "D10"]
    assert await names(**{"from": day(11), "to": day(11)}) == ["D11"]
    assert await names(**{"from": day(6), "to": day(9)}) == []
    page = await calendar_of(client, runner, limit=2, offset=1)
    assert [e["event"]["name"] for e in page["items"]] == ["D10", "D11"]
    assert page["total"] == 4
    r = await client.get(f"/athletes/{runner.id}/calendar", params={"from": day(3), "to": day(2)})
    assert_problem(r, 422)
    assert_problem(await client.get("/athletes/0123456789abcdef01234567/calendar"), 404)

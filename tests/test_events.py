"""Events of a competition: admins write, anyone reads; they must fall on the competition's days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import assert_problem
from tests.factories import Api

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def events_of(client: httpx.AsyncClient, competition: dict[str, Any]) -> list[dict]:
    r = await client.get(f"/competitions/{competition['id']}/events", params={"limit": 100})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_admin_adds_an_event_anyone_can_read(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, starts_on=day(7), ends_on=day(8))
    payload = {
        "name": "Men's 100m Final",
        "discipline": "100M",
        "starts_at": f"{day(8)}T20:35:00Z",
        "round": "Final",
    }
    r = await client.post(
        f"/competitions/{competition['id']}/events", json=payload, headers=admin.headers
    )
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["competition_id"] == competition["id"]
    assert event["name"] == "Men's 100m Final"
    assert event["discipline"] == "100m"
    assert event["round"] == "Final"
    assert datetime.fromisoformat(event["starts_at"]) == datetime.fromisoformat(
        f"{day(8)}T20:35:00+00:00"
    )
    r = await client.get(f"/events/{event['id']}")  # no token needed
    assert r.status_code == 200
    assert r.json() == event


async def test_an_event_must_start_on_a_day_of_its_competition(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, starts_on=day(7), ends_on=day(9))
    first, last, before, after = day(7), day(9), day(6), day(10)
    cases = [
        (f"{first}T00:00:00Z", True),
        (f"{last}T23:59:59Z", True),
        (f"{first}T12:00:00", True),  # naive: taken as UTC
        (f"{last}T23:30:00-02:00", False),  # 01:30 UTC the day after the last day
        (f"{first}T01:00:00+02:00", False),  # 23:00 UTC the day before
        (f"{before}T23:59:59Z", False),
        (f"{after}T00:00:00Z", False),
    ]
    stored = 0
    for when, accepted in cases:
        payload = {"name": "Heat", "discipline": "100m", "starts_at": when}
        r = await client.post(
            f"/competitions/{competition['id']}/events", json=payload, headers=admin.headers
        )
        if accepted:
            assert r.status_code == 201, (when, r.text)
            stored += 1
        else:
            assert r.status_code == 422, (when, r.text)
            assert "starts_at" in str(assert_problem(r, 422)["detail"])
        assert len(await events_of(client, competition)) == stored


async def test_invalid_events_are_rejected_and_not_stored(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)
    at = f"{competition['starts_on']}T10:00:00Z"
    for body in [
        {"discipline": "100m", "starts_at": at},  # no name
        {"name": "Heat", "starts_at": at},  # no discipline
        {"name": "Heat", "discipline": "100m"},  # no start
        {"name": "Heat", "discipline": "100m", "starts_at": "soon"},
        {"name": "Heat", "discipline": "", "starts_at": at},
        {"name": "Heat", "discipline": "100m", "starts_at": at, "lane": 4},
    ]:
        r = await client.post(
            f"/competitions/{competition['id']}/events", json=body, headers=admin.headers
        )
        assert r.status_code == 422, (body, r.text)
        assert_problem(r, 422)
        assert await events_of(client, competition) == []


async def test_event_writes_need_a_token_and_the_admin_role(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    user = await api.user()
    competition = await api.competition(admin)
    event = await api.event(admin, competition)
    body = {"name": "Heat", "discipline": "100m", "starts_at": f"{competition['starts_on']}T09:00Z"}
    url = f"/competitions/{competition['id']}/events"
    assert_problem(await client.post(url, json=body), 401)
    assert_problem(await client.post(url, json=body, headers=user.headers), 403)
    assert_problem(await client.patch(f"/events/{event['id']}", json={"name": "X"}), 401)
    r = await client.patch(f"/events/{event['id']}", json={"name": "X"}, headers=user.headers)
    assert_problem(r, 403)
    assert_problem(await client.delete(f"/events/{event['id']}"), 401)
    assert_problem(await client.delete(f"/events/{event['id']}", headers=user.headers), 403)
    assert await events_of(client, competition) == [event]


async def test_unknown_competitions_and_events_are_404(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    unknown = "0123456789abcdef01234567"
    body = {"name": "Heat", "discipline": "100m", "starts_at": f"{day(7)}T09:00:00Z"}
    r = await client.post(f"/competitions/{unknown}/events", json=body, headers=admin.headers)
    assert_problem(r, 404)
    assert_problem(await client.get(f"/competitions/{unknown}/events"), 404)
    for event_id in (unknown, "zzz"):
        assert_problem(await client.get(f"/events/{event_id}"), 404)
        r = await client.patch(f"/events/{event_id}", json={"name": "X"}, headers=admin.headers)
        assert_problem(r, 404)
        assert_problem(await client.delete(f"/events/{event_id}", headers=admin.headers), 404)


async def test_events_are_listed_by_start_time_and_paginated(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, starts_on=day(7), ends_on=day(9))
    other = await api.competition(admin)
    await api.event(admin, other)
    times = [f"{day(9)}T10:00:00Z", f"{day(7)}T18:00:00Z", f"{day(8)}T09:00:00Z"]
    for i, when in enumerate(times):
        await api.event(admin, competition, name=f"E{i}", starts_at=when)
    r = await client.get(f"/competitions/{competition['id']}/events")
    assert r.status_code == 200
    assert [e["name"] for e in r.json()["items"]] == ["E1", "E2", "E0"]
    assert r.json()["total"] == 3
    r = await client.get(
        f"/competitions/{competition['id']}/events", params={"limit": 1, "offset": 1}
    )
    assert [e["name"] for e in r.json()["items"]] == ["E2"]
    assert r.json()["total"] == 3


async def test_moving_an_event_moves_it_in_calendars(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, starts_on=day(7), ends_on=day(9))
    early = await api.event(admin, competition, name="Early", starts_at=f"{day(7)}T10:00:00Z")
    late = await api.event(admin, competition, name="Late", starts_at=f"{day(8)}T10:00:00Z")
    runner = await api.athlete()
    await api.enter(runner, early)
    await api.enter(runner, late)

    r = await client.patch(
        f"/events/{early['id']}",
        json={"starts_at": f"{day(9)}T12:00:00Z", "round": "Final", "name": "Moved"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Moved"
    assert r.json()["round"] == "Final"
    assert (await client.get(f"/events/{early['id']}")).json() == r.json()

    calendar = (await client.get(f"/athletes/{runner.id}/calendar")).json()["items"]
    assert [e["event"]["name"] for e in calendar] == ["Late", "Moved"]
    assert datetime.fromisoformat(calendar[1]["event"]["starts_at"]) == datetime.fromisoformat(
        f"{day(9)}T12:00:00+00:00"
    )
    r = await client.get(f"/athletes/{runner.id}/calendar", params={"to": day(8)})
    assert [e["event"]["name"] for e in r.json()["items"]] == ["Late"]


async def test_invalid_event_updates_change_nothing(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, starts_on=day(7), ends_on=day(9))
    event = await api.event(admin, competition)
    for changes in [
        {"starts_at": f"{day(10)}T10:00:00Z"},  # after the competition
        {"name": None},
        {"starts_at": None},
        {"discipline": "   "},
        {"competition_id": "0123456789abcdef01234567"},
    ]:
        r = await client.patch(f"/events/{event['id']}", json=changes, headers=admin.headers)
        assert r.status_code == 422, (changes, r.text)
        assert_problem(r, 422)
        assert (await client.get(f"/events/{event['id']}")).json() == event


async def test_deleting_an_event_removes_its_calendar_entries(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)
    doomed = await api.event(admin, competition, name="Doomed")
    kept = await api.event(admin, competition, name="Kept")
    runners = [await api.athlete() for _ in range(2)]
    for runner in runners:
        await api.enter(runner, doomed)
        await api.enter(runner, kept)

    r = await client.delete(f"/events/{doomed['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert_problem(await client.get(f"/events/{doomed['id']}"), 404)
    assert [e["name"] for e in await events_of(client, competition)] == ["Kept"]
    for runner in runners:
        calendar = (await client.get(f"/athletes/{runner.id}/calendar")).json()
        assert [e["event"]["name"] for e in calendar["items"]] == ["Kept"]
        assert calendar["total"] == 1
        # the competition itself is untouched
    assert (await client.get(f"/competitions/{competition['id']}")).json() == competition

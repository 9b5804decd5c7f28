"""Competitions: admins write, anyone reads; filters, batch get and cascading deletes."""

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


async def total_competitions(client: httpx.AsyncClient) -> int:
    r = await client.get("/competitions")
    assert r.status_code == 200, r.text
    return r.json()["total"]


async def test_admin_creates_a_competition_anyone_can_read(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    payload = {
        "name": "  Weltklasse Zürich ",
        "description": "Diamond League final",
        "sport": "Athletics",
        "venue": "Letzigrund",
        "city": "Zürich",
        "country": "ch",
        "location": {"type": "Point", "coordinates": [8.5044, 47.3825]},
        "starts_on": day(30),
        "ends_on": day(31),
        "website": "https://weltklasse.example.com/2025",
    }
    r = await client.post("/competitions", json=payload, headers=admin.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "Weltklasse Zürich"
    assert created["sport"] == "athletics"
    assert created["country"] == "CH"
    assert created["status"] == "scheduled"
    assert created["starts_on"] == day(30)
    assert created["ends_on"] == day(31)
    assert created["location"] == {"type": "Point", "coordinates": [8.5044, 47.3825]}
    assert created["website"] == "https://weltklasse.example.com/2025"
    assert "_id" not in created
    assert "revision_id" not in created

    r = await client.get(f"/competitions/{created['id']}")  # no token needed to read
    assert r.status_code == 200
    assert r.json() == created


async def test_a_one_day_competition_and_a_cancelled_one_are_fine(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    one_day = await api.competition(admin, starts_on=day(3), ends_on=day(3))
    assert one_day["starts_on"] == one_day["ends_on"]
    cancelled = await api.competition(admin, status="cancelled")
    assert cancelled["status"] == "cancelled"


async def test_writes_need_a_token_and_the_admin_role(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    user = await api.user()
    competition = await api.competition(admin)
    body = {
        "name": "X",
        "sport": "athletics",
        "city": "Oslo",
        "country": "NO",
        "starts_on": day(1),
        "ends_on": day(1),
    }
    cid = competition["id"]
    assert_problem(await client.post("/competitions", json=body), 401)
    assert_problem(await client.post("/competitions", json=body, headers=user.headers), 403)
    assert_problem(await client.patch(f"/competitions/{cid}", json={"name": "Y"}), 401)
    assert_problem(
        await client.patch(f"/competitions/{cid}", json={"name": "Y"}, headers=user.headers), 403
    )
    assert_problem(await client.delete(f"/competitions/{cid}"), 401)
    assert_problem(await client.delete(f"/competitions/{cid}", headers=user.headers), 403)
    # nothing changed
    assert await total_competitions(client) == 1
    assert (await client.get(f"/competitions/{cid}")).json() == competition


INVALID_FIELDS: list[tuple[str, Any]] = [
    ("ends_on", day(-1)),  # before starts_on
    ("country", "XX"),
    ("country", "DEU"),
    ("country", ""),
    ("location", {"type": "Point", "coordinates": [181, 10]}),
    ("location", {"type": "Point", "coordinates": [10, -91]}),
    ("location", {"type": "Point", "coordinates": [10]}),
    ("location", {"type": "Polygon", "coordinates": [10, 10]}),
    ("location", {"coordinates": [10, 10]}),
    ("website", "not a url"),
    ("website", "ftp://example.com/file"),
    ("name", "   "),
    ("sport", ""),
    ("status", "postponed"),
    ("starts_on", "2025-02-30"),
    ("unknown_field", 1),
]


async def test_invalid_competitions_are_rejected_and_not_stored(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    valid = {
        "name": "Bislett Games",
        "sport": "athletics",
        "city": "Oslo",
        "country": "NO",
        "starts_on": day(0),
        "ends_on": day(1),
    }
    for field, value in INVALID_FIELDS:
        r = await client.post("/competitions", json={**valid, field: value}, headers=admin.headers)
        assert r.status_code == 422, (field, value, r.text)
        assert assert_problem(r, 422)["errors"]
        assert await total_competitions(client) == 0


async def test_a_competition_without_required_fields_is_rejected(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    r = await client.post("/competitions", json={"name": "Only a name"}, headers=admin.headers)
    problem = assert_problem(r, 422)
    missing = {e["loc"][-1] for e in problem["errors"]}  # type: ignore[union-attr]
    assert {"sport", "city", "country", "starts_on", "ends_on"} <= missing
    assert await total_competitions(client) == 0


async def test_unknown_competition_is_404(client: httpx.AsyncClient) -> None:
    for competition_id in ["0123456789abcdef01234567", "nope", "batch-get"]:
        assert_problem(await client.get(f"/competitions/{competition_id}"), 404)


async def test_list_is_by_start_date_and_paginated(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    offsets = [40, -10, 5, 20, 0]
    for offset in offsets:
        await api.competition(
            admin, name=f"Meet {offset}", starts_on=day(offset), ends_on=day(offset)
        )
    r = await client.get("/competitions")
    assert r.status_code == 200
    page = r.json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 20, 0)
    assert [c["starts_on"] for c in page["items"]] == [day(o) for o in sorted(offsets)]

    r = await client.get("/competitions", params={"limit": 2, "offset": 2})
    assert [c["starts_on"] for c in r.json()["items"]] == [day(5), day(20)]
    assert r.json()["total"] == 5
    assert_problem(await client.get("/competitions", params={"limit": 101}), 422)
    assert_problem(await client.get("/competitions", params={"offset": -1}), 422)


async def test_from_and_to_select_overlapping_competitions(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    spans = {"before": (0, 4), "touching start": (5, 10), "inside": (11, 12), "around": (0, 30)}
    spans |= {"touching end": (20, 25), "after": (21, 22)}
    for name, (first, last) in spans.items():
        await api.competition(admin, name=name, starts_on=day(first), ends_on=day(last))

    async def names(**params: str) -> set[str]:
        r = await client.get("/competitions", params=params)
        assert r.status_code == 200, r.text
        return {c["name"] for c in r.json()["items"]}

    window = {"from": day(10), "to": day(20)}
    assert await names(**window) == {"touching start", "inside", "around", "touching end"}
    assert await names(**{"from": day(23)}) == {"around", "touching end"}
    assert await names(**{"to": day(4)}) == {"before", "around"}
    assert_problem(await client.get("/competitions", params={"from": day(5), "to": day(4)}), 422)
    assert_problem(await client.get("/competitions", params={"from": "yesterday"}), 422)


async def test_filters_by_country_city_sport_search_and_status(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    await api.competition(admin, name="Bislett Games", city="Oslo", country="NO")
    await api.competition(
        admin, name="Oslo Marathon", city="OSLO", country="NO", sport="Road Running"
    )
    await api.competition(admin, name="Golden Gala", city="Rome", country="IT")
    await api.competition(
        admin, name="Rome Cancelled Games", city="Rome", country="IT", status="cancelled"
    )

    async def names(**params: str) -> list[str]:
        r = await client.get("/competitions", params=params)
        assert r.status_code == 200, r.text
        return sorted(c["name"] for c in r.json()["items"])

    assert await names(country="no") == ["Bislett Games", "Oslo Marathon"]
    assert await names(city="oslo") == ["Bislett Games", "Oslo Marathon"]
    assert await names(sport="road running") == ["Oslo Marathon"]
    assert await names(sport="ROAD  RUNNING") == ["Oslo Marathon"]
    assert await names(search="GAMES") == ["Bislett Games", "Rome Cancelled Games"]
    assert await names(search="games", status="scheduled") == ["Bislett Games"]
    assert await names(status="cancelled") == ["Rome Cancelled Games"]
    assert await names(search="(.*") == []  # a search is text, never a regex
    assert await names(country="IT", city="Oslo") == []
    assert_problem(await client.get("/competitions", params={"country": "ZZ"}), 422)
    assert_problem(await client.get("/competitions", params={"status": "done"}), 422)


async def test_admin_updates_and_cancels_a_competition(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, venue="Old venue", website="https://a.example.com/")
    cid = competition["id"]
    changes = {"name": "Renamed Meeting", "country": "se", "venue": None, "ends_on": day(12)}
    r = await client.patch(f"/competitions/{cid}", json=changes, headers=admin.headers)
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["name"] == "Renamed Meeting"
    assert updated["country"] == "SE"
    assert updated["venue"] is None
    assert updated["ends_on"] == day(12)
    assert updated["website"] == competition["website"]  # untouched
    assert (await client.get(f"/competitions/{cid}")).json() == updated
    r = await client.get("/competitions", params={"search": "renamed"})
    assert [c["id"] for c in r.json()["items"]] == [cid]

    r = await client.patch(
        f"/competitions/{cid}", json={"status": "cancelled"}, headers=admin.headers
    )
    assert r.json()["status"] == "cancelled"


async def test_invalid_updates_are_rejected_and_change_nothing(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)  # from today + 7 to today + 9
    url = f"/competitions/{competition['id']}"
    for changes in [
        {"ends_on": day(1)},  # before starts_on
        {"starts_on": day(10)},  # after ends_on
        {"name": None},
        {"country": None},
        {"country": "ZZ"},
        {"location": {"type": "Point", "coordinates": [0, 100]}},
        {"id": "0123456789abcdef01234567"},
    ]:
        r = await client.patch(url, json=changes, headers=admin.headers)
        assert r.status_code == 422, (changes, r.text)
        assert_problem(r, 422)
        assert (await client.get(url)).json() == competition


async def test_dates_cannot_move_away_from_existing_events(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    competition = await api.competition(admin, starts_on=day(7), ends_on=day(9))
    await api.event(admin, competition, starts_at=f"{day(9)}T10:00:00Z")
    cid = competition["id"]
    r = await client.patch(f"/competitions/{cid}", json={"ends_on": day(8)}, headers=admin.headers)
    assert "1 event" in str(assert_problem(r, 409)["detail"])
    assert (await client.get(f"/competitions/{cid}")).json() == competition
    # moving the start earlier keeps the event inside: fine
    r = await client.patch(
        f"/competitions/{cid}", json={"starts_on": day(6)}, headers=admin.headers
    )
    assert r.status_code == 200, r.text


async def test_updating_an_unknown_competition_is_404(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    r = await client.patch(
        "/competitions/0123456789abcdef01234567", json={"name": "X"}, headers=admin.headers
    )
    assert_problem(r, 404)
    assert_problem(
        await client.delete("/competitions/0123456789abcdef01234567", headers=admin.headers), 404
    )


async def test_delete_removes_its_events_and_calendar_entries(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    doomed = await api.competition(admin, name="Doomed")
    kept = await api.competition(admin, name="Kept")
    doomed_events = [await api.event(admin, doomed) for _ in range(2)]
    kept_event = await api.event(admin, kept)
    runner = await api.athlete()
    for event in [*doomed_events, kept_event]:
        await api.enter(runner, event)

    r = await client.delete(f"/competitions/{doomed['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert r.content == b""

    assert_problem(await client.get(f"/competitions/{doomed['id']}"), 404)
    for event in doomed_events:
        assert_problem(await client.get(f"/events/{event['id']}"), 404)
    assert (await client.get(f"/events/{kept_event['id']}")).status_code == 200
    calendar = (await client.get(f"/athletes/{runner.id}/calendar")).json()
    assert [e["event"]["id"] for e in calendar["items"]] == [kept_event["id"]]
    assert calendar["total"] == 1
    # the athlete may enter the kept event's competition again, not the deleted one
    assert_problem(
        await client.post(
            "/athletes/me/calendar",
            json={"event_id": doomed_events[0]["id"], "status": "planned"},
            headers=runner.headers,
        ),
        422,
    )


async def test_batch_get_keeps_order_drops_duplicates_and_lists_missing(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    a, b, c = [await api.competition(admin, name=n) for n in ("A", "B", "C")]
    unknown = "0123456789abcdef01234567"
    ids = [c["id"], "not-an-id", a["id"], unknown, c["id"], "", "not-an-id", b["id"]]
    r = await client.post("/competitions/batch-get", json={"ids": ids})  # no token needed
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["name"] for x in body["items"]] == ["C", "A", "B"]
    assert body["items"][0] == c
    assert body["missing"] == ["not-an-id", unknown, ""]


async def test_batch_get_takes_1_to_100_ids(client: httpx.AsyncClient, api: Api) -> None:
    admin = await api.admin()
    competition = await api.competition(admin)
    hundred = [competition["id"]] + [f"{i:024x}" for i in range(99)]
    r = await client.post("/competitions/batch-get", json={"ids": hundred})
    assert r.status_code == 200
    assert len(r.json()["items"]) == 1
    assert len(r.json()["missing"]) == 99
    assert_problem(await client.post("/competitions/batch-get", json={"ids": []}), 422)
    too_many = [*hundred, f"{100:024x}"]
    assert_problem(await client.post("/competitions/batch-get", json={"ids": too_many}), 422)
    assert_problem(await client.post("/competitions/batch-get", json={"ids": "a,b"}), 422)

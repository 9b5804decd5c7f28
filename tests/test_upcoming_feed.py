"""GET /users/me/following/upcoming: where the athletes I follow compete next.

Checked three ways: a readable scenario, the pipeline function on a bare mongomock database,
and the endpoint against a plain-Python oracle over randomized follows and calendars.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import mongomock
import pytest
import time_machine
from beanie import PydanticObjectId
from bson import ObjectId

from documents import CalendarEntry, Competition, Event
from service.athletes.pipelines import following_upcoming
from service.demo import DEMO_PASSWORD
from service.demo.progress import NullProgress
from service.demo.track import load_track
from service.demo.users import load_users
from service.settings import Settings
from tests.conftest import assert_problem
from tests.factories import Account, Api

# depends on the date or time of day: also run at awkward moments
pytestmark = pytest.mark.clock

TODAY = datetime.now(UTC).date()
FEED = "/users/me/following/upcoming"


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=UTC)


async def feed(client: httpx.AsyncClient, fan: Account, **params: int) -> dict[str, Any]:
    r = await client.get(FEED, headers=fan.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


# --- the endpoint, by example ------------------------------------------------------------


async def test_feed_groups_followed_athletes_by_competition(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    meet = await api.competition(admin, name="Meet", starts_on=day(7), ends_on=day(8))
    later = await api.competition(admin, name="Later", starts_on=day(20), ends_on=day(20))
    heats = await api.event(admin, meet, name="Heats", starts_at=f"{day(7)}T10:00:00Z")
    final = await api.event(admin, meet, name="Final", starts_at=f"{day(8)}T19:00:00Z")
    solo = await api.event(admin, later, name="Solo", starts_at=f"{day(20)}T12:00:00Z")
    bea = await api.athlete(await api.user("Bea"))
    ada = await api.athlete(await api.user("Ada"))
    unfollowed = await api.athlete(await api.user("Unfollowed"))
    fan = await api.user()
    await api.follow(fan, bea)
    await api.follow(fan, ada)
    await api.enter(bea, final, status="confirmed")
    await api.enter(bea, heats)
    await api.enter(ada, heats)
    await api.enter(ada, solo)
    await api.enter(unfollowed, solo)
    await api.enter(unfollowed, final)

    page = await feed(client, fan)
    assert page["total"] == 2
    first, second = page["items"]
    assert first["competition"] == meet
    assert first["athletes"] == [{"id": ada.id, "name": "Ada"}, {"id": bea.id, "name": "Bea"}]
    assert [(e["id"], e["name"], e["athlete_ids"]) for e in first["events"]] == [
        (heats["id"], "Heats", [ada.id, bea.id]),
        (final["id"], "Final", [bea.id]),
    ]
    assert first["events"][0]["starts_at"] == heats["starts_at"]
    assert first["events"][0]["discipline"] == "100m"
    assert second["competition"]["name"] == "Later"
    assert second["athletes"] == [{"id": ada.id, "name": "Ada"}]
    assert [e["athlete_ids"] for e in second["events"]] == [[ada.id]]

    # withdrawing, cancelling and unfollowing all take things out of the feed
    solo_entry = (await client.get(f"/athletes/{ada.id}/calendar")).json()["items"][-1]
    r = await client.patch(
        f"/athletes/me/calendar/{solo_entry['id']}",
        json={"status": "withdrawn"},
        headers=ada.headers,
    )
    assert r.status_code == 200
    assert [i["competition"]["name"] for i in (await feed(client, fan))["items"]] == ["Meet"]
    await client.delete(f"/users/me/following/{ada.id}", headers=fan.headers)
    assert (await feed(client, fan))["items"][0]["athletes"] == [{"id": bea.id, "name": "Bea"}]
    r = await client.patch(
        f"/competitions/{meet['id']}", json={"status": "cancelled"}, headers=admin.headers
    )
    assert r.status_code == 200
    assert await feed(client, fan) == {
        "items": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
        "next": None,
    }


async def test_feed_is_empty_without_follows_and_needs_a_token(
    client: httpx.AsyncClient, api: Api
) -> None:
    fan = await api.user()
    assert await feed(client, fan) == {
        "items": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
        "next": None,
    }
    assert_problem(await client.get(FEED), 401)
    assert_problem(await client.get(FEED, headers=fan.headers, params={"limit": 101}), 422)
    assert_problem(await client.get(FEED, headers=fan.headers, params={"limit": 0}), 422)


async def test_a_competition_under_way_still_shows_until_its_last_day(
    client: httpx.AsyncClient, api: Api
) -> None:
    admin = await api.admin()
    star = await api.athlete()
    fan = await api.user()
    await api.follow(fan, star)
    running = await api.competition(admin, name="Running", starts_on=day(0), ends_on=day(2))
    event = await api.event(admin, running, starts_at=f"{day(2)}T10:00:00Z")
    await api.enter(star, event)
    assert [i["competition"]["name"] for i in (await feed(client, fan))["items"]] == ["Running"]
    # the competition ended yesterday: gone, though the entry stays in the calendar
    await Competition.find_one(Competition.id == PydanticObjectId(running["id"])).update(
        {"$set": {"ends_on": midnight(TODAY - timedelta(days=1))}}
    )
    assert (await feed(client, fan))["total"] == 0
    assert (await client.get(f"/athletes/{star.id}/calendar")).json()["total"] == 1


async def test_a_competition_leaves_the_feed_at_midnight_utc(
    client: httpx.AsyncClient, api: Api, time_machine: time_machine.TimeMachineFixture
) -> None:
    # The service's clock decides what "today" is, not the day the tests were started.
    time_machine.move_to(datetime.combine(TODAY, time(23, 30), tzinfo=UTC), tick=False)
    admin = await api.admin()
    star = await api.athlete()
    fan = await api.user()
    await api.follow(fan, star)
    last_day = await api.competition(admin, name="Last day", starts_on=day(0), ends_on=day(0))
    await api.enter(star, await api.event(admin, last_day, starts_at=f"{day(0)}T23:45:00Z"))
    time_machine.move_to(datetime.combine(TODAY, time(23, 59, 59), tzinfo=UTC), tick=False)
    assert [i["competition"]["name"] for i in (await feed(client, fan))["items"]] == ["Last day"]
    time_machine.shift(timedelta(seconds=2))
    assert (await feed(client, fan))["total"] == 0


# --- the pipeline function ---------------------------------------------------------------


def test_pipeline_uses_only_portable_stages_in_the_documented_order() -> None:
    followed, under_way = [ObjectId(), ObjectId()], [ObjectId()]
    today = midnight(TODAY)
    pipeline = following_upcoming(followed, today=today, under_way=under_way, skip=40, limit=20)
    # history is never read: entries from today on, and those of competitions under way,
    # each clause served by an index (athlete_starts, competition)
    assert pipeline[0] == {
        "$match": {
            "$or": [
                {"athlete_id": {"$in": followed}, "event_starts_at": {"$gte": today}},
                {"competition_id": {"$in": under_way}, "athlete_id": {"$in": followed}},
            ],
            "status": {"$in": ["planned", "confirmed"]},
        }
    }
    indexes = {i.document["name"]: list(i.document["key"]) for i in CalendarEntry.Settings.indexes}
    assert indexes["athlete_starts"][:2] == ["athlete_id", "event_starts_at"]
    assert indexes["competition"] == ["competition_id", "athlete_id"]
    stages = [next(iter(stage)) for stage in pipeline]
    allowed = {"$match", "$lookup", "$unwind", "$group", "$sort", "$facet"}
    assert set(stages) <= allowed
    lookups = [stage["$lookup"] for stage in pipeline if "$lookup" in stage]
    # simple equality lookups only: mongomock has no `let`/`pipeline` sub-pipelines
    assert all(set(lookup) == {"from", "localField", "foreignField", "as"} for lookup in lookups)
    assert [lookup["from"] for lookup in lookups] == ["athletes", "events", "competitions"]
    assert stages.index("$sort") == len(stages) - 2  # sorted right before paging
    assert pipeline[-1]["$facet"]["items"] == [{"$skip": 40}, {"$limit": 20}]
    assert {
        "$match": {
            "competition.status": {"$ne": "cancelled"},
            "competition.ends_on": {"$gte": today},
        }
    } in pipeline


def test_pipeline_output_on_a_bare_mongomock_database() -> None:
    db = mongomock.MongoClient(tz_aware=True)["unit"]
    fan, other_fan = ObjectId(), ObjectId()
    ann, bob = ObjectId(), ObjectId()
    live, gone, off = ObjectId(), ObjectId(), ObjectId()
    today = midnight(TODAY)
    db.athletes.insert_many([{"_id": ann, "name": "Ann"}, {"_id": bob, "name": "Bob"}])
    db.follows.insert_many(
        [
            {"follower_id": fan, "athlete_id": ann},
            {"follower_id": fan, "athlete_id": bob},
            {"follower_id": other_fan, "athlete_id": ann},
        ]
    )
    db.competitions.insert_many(
        [
            {
                "_id": live,
                "name": "Live",
                "status": "scheduled",
                "starts_on": today,
                "ends_on": today,
            },
            {
                "_id": gone,
                "name": "Gone",
                "status": "scheduled",
                "starts_on": today - timedelta(days=2),
                "ends_on": today - timedelta(days=1),
            },
            {
                "_id": off,
                "name": "Off",
                "status": "cancelled",
                "starts_on": today,
                "ends_on": today,
            },
        ]
    )
    e_live, e_gone, e_off = ObjectId(), ObjectId(), ObjectId()
    at = today + timedelta(hours=18)
    db.events.insert_many(
        [
            {
                "_id": e_live,
                "competition_id": live,
                "name": "L",
                "discipline": "400m",
                "starts_at": at,
            },
            {
                "_id": e_gone,
                "competition_id": gone,
                "name": "G",
                "discipline": "400m",
                "starts_at": at,
            },
            {
                "_id": e_off,
                "competition_id": off,
                "name": "O",
                "discipline": "400m",
                "starts_at": at,
            },
        ]
    )
    entries = [
        (ann, e_live, live, "planned"),
        (bob, e_live, live, "withdrawn"),
        (bob, e_gone, gone, "confirmed"),
        (bob, e_off, off, "confirmed"),
    ]
    db.calendar_entries.insert_many(
        [
            {
                "athlete_id": athlete,
                "event_id": event,
                "competition_id": competition,
                "event_starts_at": at,
                "status": status,
            }
            for athlete, event, competition, status in entries
        ]
    )
    followed = [f["athlete_id"] for f in db.follows.find({"follower_id": fan})]

    def pipeline(skip: int) -> list[dict[str, Any]]:
        return following_upcoming(followed, today=today, under_way=[], skip=skip, limit=10)

    [result] = db.calendar_entries.aggregate(pipeline(0))
    assert result["total"] == [{"n": 1}]
    [item] = result["items"]
    assert item["_id"] == live
    assert item["competition"]["name"] == "Live"
    assert item["events"] == [
        {
            "id": e_live,
            "name": "L",
            "discipline": "400m",
            "starts_at": at,
            "athletes": [{"id": ann, "name": "Ann"}],
        }
    ]
    [skipped] = db.calendar_entries.aggregate(pipeline(1))
    assert skipped == {"items": [], "total": [{"n": 1}]}


# --- the endpoint against a plain-Python oracle -------------------------------------------


@dataclass
class World:
    competitions: dict[str, dict[str, Any]]  # id -> {starts_on, ends_on, status}
    events: dict[str, dict[str, Any]]  # id -> {competition_id, name, starts_at}
    entries: list[tuple[str, str, str]]  # (athlete id, event id, status)
    names: dict[str, str]  # athlete id -> name


def oracle(world: World, followed: set[str]) -> list[dict[str, Any]]:
    """The feed as plain Python: competitions not cancelled and not over, where a followed
    athlete has a planned or confirmed entry; athletes by name, events by time."""
    entered: dict[str, dict[str, set[str]]] = {}  # competition -> event -> athletes
    for athlete_id, event_id, status in world.entries:
        event = world.events[event_id]
        competition = world.competitions[event["competition_id"]]
        if (
            athlete_id in followed
            and status in ("planned", "confirmed")
            and competition["status"] != "cancelled"
            and competition["ends_on"] >= TODAY
        ):
            by_event = entered.setdefault(event["competition_id"], {})
            by_event.setdefault(event_id, set()).add(athlete_id)

    def by_name(athlete_id: str) -> tuple[str, str]:
        return (world.names[athlete_id].casefold(), athlete_id)

    items = []
    for competition_id in sorted(entered, key=lambda c: (world.competitions[c]["starts_on"], c)):
        events = entered[competition_id]
        athletes = sorted(set().union(*events.values()), key=by_name)
        items.append(
            {
                "competition": competition_id,
                "athletes": [{"id": a, "name": world.names[a]} for a in athletes],
                "events": [
                    {
                        "id": e,
                        "name": world.events[e]["name"],
                        "starts_at": world.events[e]["starts_at"],
                        "athlete_ids": sorted(events[e], key=by_name),
                    }
                    for e in sorted(events, key=lambda e: (world.events[e]["starts_at"], e))
                ],
            }
        )
    return items


def as_oracle_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "competition": item["competition"]["id"],
        "athletes": item["athletes"],
        "events": [
            {
                "id": e["id"],
                "name": e["name"],
                "starts_at": datetime.fromisoformat(e["starts_at"]),
                "athlete_ids": e["athlete_ids"],
            }
            for e in item["events"]
        ],
    }


async def build_world(rng: random.Random, athletes: list[Account]) -> World:
    """Competitions, events and calendar entries stored directly: past events and cancelled
    competitions are exactly what the API refuses to put in a calendar."""
    world = World({}, {}, [], {a.id: a.name for a in athletes})
    for i in range(14):
        kind = rng.choice(["past", "ended yesterday", "under way", "ends today", "future"])
        length = rng.randint(0, 3)
        if kind == "past":
            last = -rng.randint(2, 40)
        elif kind == "ended yesterday":
            last = -1
        elif kind == "under way":
            last = rng.randint(1, 3)
        elif kind == "ends today":
            last = 0
        else:
            last = rng.randint(1, 150) + length
        first = last - length if kind != "under way" else -rng.randint(0, 2)
        starts_on, ends_on = TODAY + timedelta(days=first), TODAY + timedelta(days=last)
        # a few share a start day, so the order falls back to the id
        if i % 5 == 4:
            starts_on, ends_on = TODAY + timedelta(days=30), TODAY + timedelta(days=31)
        competition = Competition(
            name=f"Competition {i}",
            name_key=f"competition {i}",
            sport="athletics",
            city="Lausanne",
            city_key="lausanne",
            country="CH",
            starts_on=midnight(starts_on),
            ends_on=midnight(ends_on),
            status="cancelled" if rng.random() < 0.2 else "scheduled",
        )
        await competition.insert()
        cid = str(competition.id)
        world.competitions[cid] = {
            "starts_on": starts_on,
            "ends_on": ends_on,
            "status": competition.status,
        }
        for j in range(rng.randint(1, 4)):
            when = midnight(starts_on + timedelta(days=rng.randint(0, (ends_on - starts_on).days)))
            when += timedelta(hours=rng.randint(8, 21), minutes=rng.choice([0, 30]))
            event = Event(
                competition_id=competition.id,  # type: ignore[arg-type]
                name=f"Event {i}.{j}",
                discipline="100m",
                starts_at=when,
            )
            await event.insert()
            world.events[str(event.id)] = {
                "competition_id": cid,
                "name": event.name,
                "starts_at": when,
            }
    entries = []
    for athlete in athletes:
        for event_id, event in world.events.items():
            if rng.random() < 0.3:
                status = rng.choice(["planned", "confirmed", "withdrawn"])
                world.entries.append((athlete.id, event_id, status))
                entries.append(
                    CalendarEntry(
                        athlete_id=PydanticObjectId(athlete.id),
                        event_id=PydanticObjectId(event_id),
                        competition_id=PydanticObjectId(event["competition_id"]),
                        event_starts_at=event["starts_at"],
                        status=status,
                    )
                )
    await CalendarEntry.insert_many(entries)
    return world


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_feed_matches_a_plain_python_oracle(
    client: httpx.AsyncClient, api: Api, seed: int
) -> None:
    rng = random.Random(seed)
    names = ["zoë Zed", "Ann Ash", "bob Bay", "Cleo Cox", "ann Ashe", "Dev Dorn"]
    athletes = [await api.athlete(await api.user(name)) for name in names[:-1]]
    athletes.append(await api.athlete(await api.user(f"Dev Dorn {seed}")))
    world = await build_world(rng, athletes)
    fans = [await api.user() for _ in range(3)] + [athletes[0]]  # an athlete is a fan too
    follows: dict[str, set[str]] = {}
    for fan in fans:
        chosen = {a.id for a in athletes if a.id != fan.id and rng.random() < 0.6}
        follows[fan.id] = chosen
        for athlete in athletes:
            if athlete.id in chosen:
                await api.follow(fan, athlete)
    # a follow that was undone must not count
    undone = next(a for a in athletes if a.id not in follows[fans[0].id])
    await api.follow(fans[0], undone)
    await client.delete(f"/users/me/following/{undone.id}", headers=fans[0].headers)

    for fan in fans:
        expected = oracle(world, follows[fan.id])
        got: list[dict[str, Any]] = []
        offset = 0
        while True:  # page through with a small page size
            page = await feed(client, fan, limit=3, offset=offset)
            assert page["total"] == len(expected)
            got.extend(page["items"])
            offset += 3
            if offset >= page["total"]:
                break
        assert [as_oracle_item(item) for item in got] == expected
        # the competition in each item is the competition itself
        if got:
            ids = [item["competition"]["id"] for item in got]
            r = await client.post("/competitions/batch-get", json={"ids": ids})
            assert [item["competition"] for item in got] == r.json()["items"]
    # the seeds give non-empty feeds, and followed entries left out for every reason
    assert all(oracle(world, follows[f.id]) for f in fans[:3])
    assert excluded_reasons(world, follows) == {"withdrawn", "cancelled", "over"}


def excluded_reasons(world: World, follows: dict[str, set[str]]) -> set[str]:
    reasons = set()
    for followed in follows.values():
        for athlete_id, event_id, status in world.entries:
            competition = world.competitions[world.events[event_id]["competition_id"]]
            if athlete_id not in followed:
                continue
            if status == "withdrawn":
                reasons.add("withdrawn")
            elif competition["status"] == "cancelled":
                reasons.add("cancelled")
            elif competition["ends_on"] < TODAY:
                reasons.add("over")
    return reasons


# --- the demo data ------------------------------------------------------------------------


async def test_demo_data_gives_the_first_demo_user_a_feed(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    rng = random.Random(42)
    users = await load_users(settings=settings, rng=rng, size="embedded", progress=NullProgress())
    state = rng.getstate()
    counts = await load_track(rng=rng, size="embedded", users=users, progress=NullProgress())
    assert counts["competitions"] == 30
    assert counts["events"] == 120
    assert counts["athletes"] == 60
    assert counts["follows"] > 60
    rng.setstate(state)  # a re-run stores the same documents again, duplicating nothing
    assert (
        await load_track(rng=rng, size="embedded", users=users, progress=NullProgress()) == counts
    )

    competitions = (await client.get("/competitions", params={"limit": 100})).json()
    assert competitions["total"] == 30
    starts = [date.fromisoformat(c["starts_on"]) for c in competitions["items"]]
    assert min(starts) >= TODAY - timedelta(days=62)
    assert max(starts) <= TODAY + timedelta(days=183)
    assert sum(s < TODAY for s in starts) >= 5
    assert 1 <= sum(c["status"] == "cancelled" for c in competitions["items"]) <= 5
    assert (await client.get("/athletes")).json()["total"] == 60

    token = await client.post(
        "/auth/login", json={"email": "runner001@demo.challenge.run", "password": DEMO_PASSWORD}
    )
    fan = {"Authorization": f"Bearer {token.json()['access_token']}"}
    following = (await client.get("/users/me/following", headers=fan)).json()
    assert following["total"] >= 5
    followed = {a["id"] for a in following["items"]}
    page = (await client.get(FEED, headers=fan)).json()
    assert page["total"] >= 3
    for item in page["items"]:
        assert item["competition"]["status"] == "scheduled"
        assert date.fromisoformat(item["competition"]["ends_on"]) >= TODAY
        assert {a["id"] for a in item["athletes"]} <= followed
    for athlete in following["items"]:
        followers = (await client.get(f"/athletes/{athlete['id']}/followers")).json()
        assert athlete["followers"] == followers["total"]
        calendar = (await client.get(f"/athletes/{athlete['id']}/calendar")).json()
        assert calendar["total"] >= 1

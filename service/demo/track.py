"""Demo competitions, events, athletes, calendars and follows (Track Tracker).

30 competitions from two months ago to six months ahead (a few cancelled), 4 events each,
60 athletes among the demo users with calendars, and fans following them. The first demo user
(runner001@demo.challenge.run) follows several athletes with upcoming entries, so their
`GET /users/me/following/upcoming` shows something at once.

Deterministic for a given rng state and day (dates are relative to today, UTC), and safe to
re-run: every document is upserted, keyed by an id drawn from the rng (competitions, events) or
by its natural key (athletes: the user id; calendar entries; follows). `size` does not matter:
both sizes get the same, small, set (mongomock does every write in Python).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from beanie import Document, PydanticObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from documents import Athlete, CalendarEntry, Competition, Event, Follow
from documents.clock import utcnow
from service.accounts.service import name_key
from service.athletes.service import recount_followers
from service.demo.progress import Progress
from service.demo.users import DemoUser

COMPETITIONS = 30
PAST_COMPETITIONS = 8  # within the last two months
CANCELLED = 3
EVENTS_PER_COMPETITION = 4
ATHLETES = 60
FANS = 40  # demo users (from the first) who follow athletes
FIRST_USER_FOLLOWS = 8

# (name, venue, city, country, longitude, latitude, sport)
MEETINGS = [
    ("Bislett Games", "Bislett Stadion", "Oslo", "NO", 10.7337, 59.9254, "athletics"),
    ("Golden Gala", "Stadio Olimpico", "Rome", "IT", 12.4547, 41.9339, "athletics"),
    ("Weltklasse", "Letzigrund", "Zürich", "CH", 8.5044, 47.3825, "athletics"),
    ("Meeting de Paris", "Stade Charléty", "Paris", "FR", 2.3466, 48.8188, "athletics"),
    ("London Athletics Meet", "London Stadium", "London", "GB", -0.0166, 51.5387, "athletics"),
    ("Prefontaine Classic", "Hayward Field", "Eugene", "US", -123.0707, 44.0424, "athletics"),
    ("Athletissima", "Stade de la Pontaise", "Lausanne", "CH", 6.6226, 46.5334, "athletics"),
    ("Memorial Van Damme", "King Baudouin Stadium", "Brussels", "BE", 4.3379, 50.8956, "athletics"),
    ("BAUHAUS-galan", "Olympiastadion", "Stockholm", "SE", 18.0786, 59.3452, "athletics"),
    (
        "Kamila Skolimowska Memorial",
        "Silesian Stadium",
        "Chorzów",
        "PL",
        18.9905,
        50.2822,
        "athletics",
    ),
    ("Golden Spike", "Městský stadion", "Ostrava", "CZ", 18.2513, 49.8153, "athletics"),
    ("ISTAF", "Olympiastadion", "Berlin", "DE", 13.2395, 52.5147, "athletics"),
    ("Hanžeković Memorial", "Sportski park Mladost", "Zagreb", "HR", 15.9645, 45.7941, "athletics"),
    ("Paavo Nurmi Games", "Paavo Nurmi Stadium", "Turku", "FI", 22.2666, 60.4441, "athletics"),
    ("FBK Games", "FBK Stadium", "Hengelo", "NL", 6.7773, 52.2616, "athletics"),
    ("Kip Keino Classic", "Nyayo National Stadium", "Nairobi", "KE", 36.8255, -1.3045, "athletics"),
    ("Golden Grand Prix", "National Stadium", "Tokyo", "JP", 139.7146, 35.6778, "athletics"),
    ("Doha Meeting", "Suhaim bin Hamad Stadium", "Doha", "QA", 51.4486, 25.2637, "athletics"),
    ("Millrose Games", "The Armory", "New York", "US", -73.9401, 40.8506, "athletics"),
    (
        "Meeting Hauts-de-France",
        "Arena Stade Couvert",
        "Liévin",
        "FR",
        2.7806,
        50.4228,
        "athletics",
    ),
    ("Valencia Marathon", None, "Valencia", "ES", -0.3763, 39.4699, "road running"),
    ("Copenhagen Half", None, "Copenhagen", "DK", 12.5683, 55.6761, "road running"),
    ("Lisbon Cross", None, "Lisbon", "PT", -9.1393, 38.7223, "cross country"),
]

DISCIPLINES = {
    "athletics": [
        "100m", "200m", "400m", "800m", "1500m", "5000m", "110mh", "400mh",
        "3000m steeplechase", "high jump", "pole vault", "long jump", "triple jump",
        "shot put", "discus", "javelin",
    ],
    "road running": ["marathon", "half marathon", "10km"],
    "cross country": ["cross country"],
}  # fmt: skip
ROUNDS = ["Heats", "Semi-final", "Final", None]
CLUBS = ["Stade Français", "Tigers AC", "Nike OTC", "SC Bern", "Team Turbo", None, None]
NATIONALITIES = ["NO", "SE", "KE", "ET", "US", "JM", "GB", "FR", "DE", "NL", "IT", "JP", "ES"]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _oid(rng: random.Random) -> PydanticObjectId:
    return PydanticObjectId(rng.randbytes(12))


def _competitions(rng: random.Random, today: date) -> list[dict[str, Any]]:
    specs = []
    for i in range(COMPETITIONS):
        name, venue, city, country, lon, lat, sport = MEETINGS[i % len(MEETINGS)]
        if i >= len(MEETINGS):
            name = f"{name} Indoor" if sport == "athletics" else f"{name} II"
        if i < PAST_COMPETITIONS:  # a spread over the last two months, the first ended
            start = today - timedelta(days=rng.randint(3, 60))
        else:  # the next six months
            start = today + timedelta(days=rng.randint(1, 180))
        if i == PAST_COMPETITIONS:  # one under way today
            start = today - timedelta(days=1)
        length = 0 if sport != "athletics" else rng.choice([0, 1, 1, 2])
        if i == PAST_COMPETITIONS:
            length = 2
        specs.append(
            {
                "_id": _oid(rng),
                "name": f"{name} {start.year}",
                "name_key": name_key(f"{name} {start.year}"),
                "description": f"{sport.capitalize()} in {city}.",
                "sport": sport,
                "venue": venue,
                "city": city,
                "city_key": name_key(city),
                "country": country,
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "starts_on": _midnight(start),
                "ends_on": _midnight(start + timedelta(days=length)),
                "website": None,
                "status": "scheduled",
            }
        )
    # a few upcoming ones are off (never the one under way)
    for spec in rng.sample(specs[PAST_COMPETITIONS + 1 :], CANCELLED):
        spec["status"] = "cancelled"
    return specs


def _events(rng: random.Random, competitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for competition in competitions:
        days = (competition["ends_on"] - competition["starts_on"]).days
        disciplines = DISCIPLINES[competition["sport"]]
        chosen = [rng.choice(disciplines) for _ in range(EVENTS_PER_COMPETITION)]
        for discipline in chosen:
            start = competition["starts_on"] + timedelta(
                days=rng.randint(0, days), hours=rng.randint(9, 20), minutes=rng.choice([0, 30])
            )
            round_ = rng.choice(ROUNDS) if competition["sport"] == "athletics" else None
            gender = rng.choice(["Men's", "Women's"])
            label = f"{gender} {discipline}" + (f" {round_.lower()}" if round_ else "")
            specs.append(
                {
                    "_id": _oid(rng),
                    "competition_id": competition["_id"],
                    "name": label,
                    "discipline": discipline,
                    "starts_at": start,
                    "round": round_,
                }
            )
    return specs


def _athletes(rng: random.Random, users: list[DemoUser]) -> list[dict[str, Any]]:
    # users[0] is the demo fan; the athletes are the next 60
    specs = []
    for user in users[1 : ATHLETES + 1]:
        sport = rng.choices(list(DISCIPLINES), weights=[8, 2, 1])[0]
        disciplines = rng.sample(DISCIPLINES[sport], k=min(len(DISCIPLINES[sport]), 2))
        specs.append(
            {
                "_id": user.id,
                "name": user.name,
                "name_key": name_key(user.name),
                "disciplines": disciplines[: rng.randint(1, 2)],
                "bio": rng.choice([None, f"Loves a fast {disciplines[0]}."]),
                "nationality": rng.choice(NATIONALITIES),
                "club": rng.choice(CLUBS),
                "birth_year": rng.randint(1990, 2007),
            }
        )
    return specs


def _entries(
    rng: random.Random,
    athletes: list[dict[str, Any]],
    events: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    by_discipline: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_discipline.setdefault(event["discipline"], []).append(event)
    specs = []
    for athlete in athletes:
        candidates = [e for d in athlete["disciplines"] for e in by_discipline.get(d, [])]
        for event in rng.sample(candidates, k=min(len(candidates), rng.randint(2, 4))):
            past = event["starts_at"] < now
            status = rng.choices(
                ["planned", "confirmed", "withdrawn"], weights=[0, 9, 1] if past else [5, 4, 1]
            )[0]
            specs.append(
                {
                    "_id": _oid(rng),
                    "athlete_id": athlete["_id"],
                    "event_id": event["_id"],
                    "competition_id": event["competition_id"],
                    "event_starts_at": event["starts_at"],
                    "status": status,
                    "notes": None,
                }
            )
    return specs


def _follows(
    rng: random.Random,
    users: list[DemoUser],
    athletes: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    competitions: list[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    live = {c["_id"] for c in competitions if c["status"] == "scheduled" and c["ends_on"] >= now}
    # athletes with a planned/confirmed entry at a competition that has not ended
    busy = sorted(
        {
            e["athlete_id"]
            for e in entries
            if e["status"] != "withdrawn" and e["competition_id"] in live
        }
    )
    pairs: list[tuple[PydanticObjectId, PydanticObjectId]] = [
        (users[0].id, a) for a in rng.sample(busy, k=min(len(busy), FIRST_USER_FOLLOWS))
    ]
    athlete_ids = [a["_id"] for a in athletes]
    for fan in users[1:FANS]:
        for athlete_id in rng.sample(athlete_ids, k=rng.randint(1, 5)):
            if athlete_id != fan.id:
                pairs.append((fan.id, athlete_id))
    return [
        {
            "_id": _oid(rng),
            "follower_id": follower,
            "athlete_id": athlete,
            "created_at": now - timedelta(minutes=rng.randint(1, 60 * 24 * 60)),
        }
        for follower, athlete in pairs
    ]


async def _upsert_many(
    document: type[Document],
    docs: list[dict[str, Any]],
    *,
    key: tuple[str, ...] = ("_id",),
    insert_only: tuple[str, ...] = ("_id", "created_at"),
) -> None:
    """Insert the documents whose `key` is new and update the others (an upsert per document).

    Not a bulk of `UpdateOne(upsert=True)`: the embedded store scans the collection for every
    one of those, and the first load (the usual case) is all inserts, which `insert_many` does
    in one pass. Fields in `insert_only` are never overwritten, and only ever written by us.
    """
    collection = document.get_motor_collection()
    first = key[0]
    existing = {
        tuple(doc[k] for k in key)
        for doc in await collection.find(
            {first: {"$in": list({d[first] for d in docs})}}, dict.fromkeys(key, 1)
        ).to_list(None)
    }
    new = [d for d in docs if tuple(d[k] for k in key) not in existing]
    if new:
        try:
            await collection.insert_many(new, ordered=False)
        except BulkWriteError as exc:  # created meanwhile (e.g. by hand): theirs stays
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
    updates = [
        UpdateOne(
            {k: d[k] for k in key},
            {"$set": {f: v for f, v in d.items() if f not in key and f not in insert_only}},
        )
        for d in docs
        if tuple(d[k] for k in key) in existing
    ]
    if updates:
        await collection.bulk_write(updates, ordered=False)


async def load_track(
    *, rng: random.Random, size: str, users: list[DemoUser], progress: Progress
) -> dict[str, int]:
    now = utcnow()
    today = now.date()
    competitions = _competitions(rng, today)
    events = _events(rng, competitions)
    athletes = _athletes(rng, users)
    entries = _entries(rng, athletes, events, now)
    follows = _follows(rng, users, athletes, entries, competitions, _midnight(today))
    progress.start("competitions, athletes, calendars, follows", 5)
    for doc in (*competitions, *events, *entries):
        doc["created_at"] = now
    for doc in athletes:
        # the count comes from the follows collection (recounted below), never from the rng
        doc.update(created_at=now, followers_count=0)
    await _upsert_many(Competition, competitions)
    await _upsert_many(Event, events)
    await _upsert_many(Athlete, athletes, insert_only=("_id", "created_at", "followers_count"))
    progress.advance(3)
    # calendar entries and follows are keyed by their natural (unique) keys, so a pair a user
    # made by hand is kept rather than duplicated
    await _upsert_many(
        CalendarEntry,
        entries,
        key=("athlete_id", "event_id"),
        insert_only=("_id", "created_at", "notes"),
    )
    await _upsert_many(
        Follow, follows, key=("follower_id", "athlete_id"), insert_only=("_id", "created_at")
    )
    await recount_followers([a["_id"] for a in athletes])
    progress.advance(2)
    return {
        "competitions": len(competitions),
        "events": len(events),
        "athletes": len(athletes),
        "calendar_entries": len(entries),
        "follows": len(follows),
    }

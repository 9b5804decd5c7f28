"""Demo cities, teams, memberships and runs (Challenge Run).

12 cities worldwide with their city teams, 40 custom teams, every demo user at home in a city
(member of its team) and in 0–3 custom teams, and runs over the last 120 days: 15,000 for the
seed script ("full"), 4,000 for the embedded startup demo. Paces 4:00–7:30 min/km by runner,
mostly 3–25 km with the odd long run, more runs at weekends. Each run is credited to the
runner's city and to their city team or one of their custom teams; its score comes from
`service.runs.scoring`. The score buckets are then rebuilt from the runs.

Deterministic for a given rng state and day (dates are relative to today, UTC), and safe to
re-run: teams are upserted by name key, memberships by (team, user), runs by an id drawn from
the rng; member counts are recounted from the memberships.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReplaceOne, UpdateOne

from documents import City, Membership, Run, Team, User
from documents.clock import as_stored, utcnow
from service.cities import service as cities
from service.demo.progress import Progress
from service.demo.users import DemoUser
from service.leaderboards import buckets, rebuild
from service.runs.scoring import score as run_score

# (name, ISO 3166-1 alpha-2, share of the runners)
CITIES = [
    ("New York", "US", 14),
    ("São Paulo", "BR", 12),
    ("Tokyo", "JP", 12),
    ("Berlin", "DE", 10),
    ("Mumbai", "IN", 9),
    ("Mexico City", "MX", 8),
    ("Toronto", "CA", 8),
    ("Melbourne", "AU", 7),
    ("Lisbon", "PT", 6),
    ("Nairobi", "KE", 6),
    ("Cape Town", "ZA", 5),
    ("Oslo", "NO", 3),
]
CUSTOM_TEAMS = 40
TEAM_WORDS = (
    ["Dawn", "Hill", "River", "Harbour", "Park", "Trail", "Night", "Sunday", "Tempo", "Lunch"],
    ["Striders", "Runners", "Pacers", "Harriers", "Milers", "Chasers", "Crew", "Collective"],
)
RUNS = {"full": 15_000, "embedded": 4_000}
DAYS = 120
# Monday..Sunday: the weekly rhythm (long runs at weekends)
WEEKDAY_WEIGHTS = [0.9, 1.0, 1.1, 1.0, 0.7, 1.7, 1.9]
BATCH = 1000
_PLACEMENT_ATTEMPTS = 1000


def _oid(rng: random.Random) -> PydanticObjectId:
    return PydanticObjectId(rng.randbytes(12))


def _team_names(rng: random.Random) -> list[str]:
    pairs = [f"{a} {b}" for a in TEAM_WORDS[0] for b in TEAM_WORDS[1]]
    return rng.sample(pairs, CUSTOM_TEAMS)


def _distance_km(rng: random.Random, typical: float, weekend: bool) -> float:
    if rng.random() < 0.03:  # the occasional long run: a half marathon up to an ultra
        return round(rng.uniform(21.1, 50.0), 3)
    km = rng.lognormvariate(math.log(typical * (1.35 if weekend else 1.0)), 0.35)
    return round(min(25.0, max(3.0, km)), 3)


def _pace_s_per_km(rng: random.Random, base: float, distance_km: float) -> float:
    # longer runs go a little slower; a day's form varies by a few percent
    pace = base * (1 + 0.004 * max(0.0, distance_km - 10)) * rng.uniform(0.94, 1.07)
    return min(450.0, max(240.0, pace))


async def _home_cities(
    rng: random.Random, users: list[DemoUser], progress: Progress
) -> tuple[list[City], dict[PydanticObjectId, City]]:
    progress.start("cities", len(CITIES))
    city_docs = []
    for name, country, _ in CITIES:
        # gazetteer cities, with population and coordinates (the per-capita board needs them)
        city_docs.append(await cities.city_for(f"{name}, {country}"))
        progress.advance()
    weights = [share for _, _, share in CITIES]
    home = {u.id: rng.choices(city_docs, weights)[0] for u in users}
    return city_docs, home


async def _memberships(
    rng: random.Random,
    users: list[DemoUser],
    city_docs: list[City],
    home: dict[PydanticObjectId, City],
    progress: Progress,
) -> tuple[list[Team], dict[PydanticObjectId, list[PydanticObjectId]]]:
    """Custom teams, home cities and every membership; returns teams and each user's teams."""
    progress.start("teams", CUSTOM_TEAMS)
    by_city: dict[PydanticObjectId, list[DemoUser]] = defaultdict(list)
    for user in users:
        by_city[home[user.id].id].append(user)  # type: ignore[index]
    team_ops, planned = [], []
    for name in _team_names(rng):
        owner = rng.choice(users)
        city = home[owner.id] if rng.random() < 0.75 else None
        neighbours = by_city[city.id] if city else users  # type: ignore[index]
        size = min(len(neighbours), rng.randint(3, 25))
        members = {owner.id, *(u.id for u in rng.sample(neighbours, size))}
        visibility = "invite" if rng.random() < 0.2 else "open"
        team = Team(
            name=name,
            name_key=name.casefold(),
            kind="custom",
            city_id=city.id if city else None,
            visibility=visibility,
            owner_id=owner.id,
            description=f"{name}: a demo running club",
        ).model_dump(exclude={"id", "revision_id"})
        team.pop("members_count")
        team_ops.append(
            UpdateOne(
                {"name_key": team["name_key"]},
                {"$setOnInsert": {"_id": _oid(rng), **team, "members_count": 0}},
                upsert=True,
            )
        )
        planned.append((team["name_key"], owner.id, members))
    teams_collection = Team.get_motor_collection()
    await teams_collection.bulk_write(team_ops, ordered=False)
    keys = [key for key, _, _ in planned]
    teams = await Team.find({"name_key": {"$in": keys}}).to_list()
    team_by_key = {t.name_key: t for t in teams}
    progress.advance(CUSTOM_TEAMS)

    user_ids = [u.id for u in users]
    city_team_ids = [c.team_id for c in city_docs]
    await User.get_motor_collection().bulk_write(
        [UpdateOne({"_id": u.id}, {"$set": {"city_id": home[u.id].id}}) for u in users],
        ordered=False,
    )
    wanted: dict[tuple[Any, Any], str] = {}
    for user in users:
        wanted[(home[user.id].team_id, user.id)] = "member"
    for key, owner_id, members in planned:
        team_id = team_by_key[key].id
        for user_id in members:
            wanted[(team_id, user_id)] = "owner" if user_id == owner_id else "member"
    progress.start("memberships", len(wanted))
    joined = utcnow().replace(microsecond=0) - timedelta(days=DAYS + 30)
    memberships = Membership.get_motor_collection()
    existing = {
        (m["team_id"], m["user_id"]): m
        async for m in memberships.find(
            {"user_id": {"$in": user_ids}}, {"team_id": 1, "user_id": 1, "role": 1}
        )
    }
    # a re-run with another seed may have moved people: drop the city teams they left
    left = [
        m["_id"] for pair, m in existing.items() if pair[0] in city_team_ids and pair not in wanted
    ]
    if left:
        await memberships.delete_many({"_id": {"$in": left}})
    roles = [
        UpdateOne({"_id": existing[pair]["_id"]}, {"$set": {"role": role}})
        for pair, role in wanted.items()
        if pair in existing and existing[pair].get("role") != role
    ]
    if roles:
        await memberships.bulk_write(roles, ordered=False)
    new = [
        {"team_id": team_id, "user_id": user_id, "role": role, "joined_at": joined}
        for (team_id, user_id), role in wanted.items()
        if (team_id, user_id) not in existing
    ]
    for i in range(0, len(new), BATCH):
        await memberships.insert_many(new[i : i + BATCH], ordered=False)
    progress.advance(len(wanted))
    all_team_ids = [*city_team_ids, *(t.id for t in teams)]
    await _recount_members(all_team_ids)

    teams_of: dict[PydanticObjectId, list[PydanticObjectId]] = defaultdict(list)
    for team_id, user_id in wanted:
        if team_id not in city_team_ids:
            teams_of[user_id].append(team_id)
    return teams, teams_of


async def _recount_members(team_ids: list[Any]) -> None:
    counts = {
        row["_id"]: row["n"]
        async for row in Membership.get_motor_collection().aggregate(
            [
                {"$match": {"team_id": {"$in": team_ids}}},
                {"$group": {"_id": "$team_id", "n": {"$sum": 1}}},
                {"$sort": {"_id": 1}},
            ]
        )
    }
    await Team.get_motor_collection().bulk_write(
        [UpdateOne({"_id": t}, {"$set": {"members_count": counts.get(t, 0)}}) for t in team_ids],
        ordered=False,
    )


def _claim_slot(busy: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    """Add [start, end) to a runner's sorted intervals unless it overlaps one of them."""
    i = bisect.bisect_left(busy, (start, end))
    if i and busy[i - 1][1] > start:
        return False
    if i < len(busy) and busy[i][0] < end:
        return False
    busy.insert(i, (start, end))
    return True


def _runs(
    rng: random.Random,
    count: int,
    users: list[DemoUser],
    home: dict[PydanticObjectId, City],
    teams_of: dict[PydanticObjectId, list[PydanticObjectId]],
    now: datetime,
) -> list[dict[str, Any]]:
    # each runner has a habit: how often, how fast, how far
    activity = [rng.lognormvariate(0, 0.8) for _ in users]
    base_pace = {u.id: rng.uniform(255, 420) for u in users}
    typical = {u.id: rng.uniform(5, 12) for u in users}
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=d) for d in range(DAYS)]
    day_weights = [WEEKDAY_WEIGHTS[d.weekday()] for d in days]
    docs = []
    # each runner's runs so far, as sorted [start, end) intervals: a runner's runs never overlap
    busy: dict[PydanticObjectId, list[tuple[datetime, datetime]]] = defaultdict(list)
    for _ in range(count):
        for _attempt in range(_PLACEMENT_ATTEMPTS):  # a draw that overlaps is drawn again
            user = rng.choices(users, activity)[0]
            day = rng.choices(days, day_weights)[0]
            weekend = day.weekday() >= 5
            hour = rng.choice([6, 7, 7, 8, 12, 17, 18, 19]) if not weekend else rng.randint(7, 11)
            minute, second = rng.randrange(60), rng.randrange(60)
            started = day + timedelta(hours=hour, minutes=minute, seconds=second)
            distance = _distance_km(rng, typical[user.id], weekend)
            pace = _pace_s_per_km(rng, base_pace[user.id], distance)
            duration = round(distance * pace)
            if started + timedelta(seconds=duration) > now:  # not in the future: yesterday
                started -= timedelta(days=1)
            if _claim_slot(busy[user.id], started, started + timedelta(seconds=duration)):
                break
        else:
            raise RuntimeError("no free slot for a demo run: too many runs for the demo period")
        city = home[user.id]
        own_teams = teams_of.get(user.id, [])
        team_id = rng.choice(own_teams) if own_teams and rng.random() < 0.4 else city.team_id
        finished = started + timedelta(seconds=duration)
        docs.append(
            {
                "_id": _oid(rng),
                "user_id": user.id,
                "team_id": team_id,
                "city_id": city.id,
                "started_at": started,
                "ends_at": finished,
                "day": buckets.day_of(started),
                "distance_km": distance,
                "duration_s": duration,
                "pace_s_per_km": round(duration / distance, 1),
                "score": run_score(distance, duration),
                "score_version": 1,
                "elevation_gain_m": round(rng.uniform(0, 12) * distance, 1),
                "notes": None,
                "has_route": False,
                "visibility": "public",
                "hide_route": False,
                "likes_count": 0,
                "comments_count": 0,
                "revision": 0,
                "created_at": finished,
                "updated_at": finished,
            }
        )
    return docs


async def _clear_of_stored_runs(
    collection: Any, docs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Drop generated runs that would overlap a stored run of their runner.

    Runs with the generated ids are replaced, so they do not count; other stored runs of the
    demo users (recorded through the API, or left by a load with another seed) keep their slot.
    """
    ids = [doc["_id"] for doc in docs]
    user_ids = list({doc["user_id"] for doc in docs})
    busy: dict[Any, list[tuple[datetime, datetime]]] = defaultdict(list)
    async for run in collection.find(
        {"user_id": {"$in": user_ids}, "_id": {"$nin": ids}},
        {"user_id": 1, "started_at": 1, "duration_s": 1},
    ):
        started = as_stored(run["started_at"])
        busy[run["user_id"]].append((started, started + timedelta(seconds=run["duration_s"])))
    if not busy:
        return docs
    return [
        doc
        for doc in docs
        if not any(
            start < doc["ends_at"] and doc["started_at"] < end
            for start, end in busy.get(doc["user_id"], ())
        )
    ]


async def load_challenge(
    *,
    rng: random.Random,
    size: str,
    users: list[DemoUser],
    progress: Progress,
    runs: int | None = None,
) -> dict[str, int]:
    """Upsert the Challenge Run demo; `runs` overrides the size's run count (the benchmark)."""
    # the users' actual ids: a re-run with another seed keeps the first run's documents
    emails = {u.email: u for u in users}
    stored = await User.find({"email": {"$in": list(emails)}}).to_list()
    users = [DemoUser(u.id, u.name, u.email) for u in stored if u.id is not None]  # type: ignore[arg-type]
    users.sort(key=lambda u: u.email)

    city_docs, home = await _home_cities(rng, users, progress)
    teams, teams_of = await _memberships(rng, users, city_docs, home, progress)

    count = runs if runs is not None else RUNS.get(size, RUNS["embedded"])
    progress.start("runs", count)
    now = utcnow().replace(microsecond=0)
    docs = _runs(rng, count, users, home, teams_of, now)
    collection = Run.get_motor_collection()
    docs = await _clear_of_stored_runs(collection, docs)
    ids = [doc["_id"] for doc in docs]
    existing = {doc["_id"] async for doc in collection.find({"_id": {"$in": ids}}, {"_id": 1})}
    for i in range(0, len(docs), BATCH * 10):
        batch = docs[i : i + BATCH * 10]
        fresh = [doc for doc in batch if doc["_id"] not in existing]
        again = [ReplaceOne({"_id": d["_id"]}, d) for d in batch if d["_id"] in existing]
        if fresh:
            await collection.insert_many(fresh, ordered=False)
        if again:
            await collection.bulk_write(again, ordered=False)
        progress.advance(len(batch))

    progress.start("score buckets", 1)
    drift = await rebuild.repair()
    progress.advance()
    return {
        "cities": len(city_docs),
        "teams": len(teams),
        "memberships": await Membership.count(),
        "runs": len(docs),
        "score_buckets": drift.expected,
    }

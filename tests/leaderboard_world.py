"""A randomized little world of cities, teams, runners and runs, and the plain-Python oracle.

Helpers for the leaderboard, pipeline and rebuild tests. Documents are written directly (runs
with `buckets.apply`, as the runs service does), so tests control every date and tie; the
oracle computes every board from the runs alone, with none of the service's code.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from beanie import PydanticObjectId

from documents import City, Membership, Run, Team, User
from service import events
from service.cities import service as cities
from service.leaderboards import buckets
from service.teams.membership import add_member

START = datetime(2025, 12, 1, tzinfo=UTC)  # runs span a year end, month ends and ISO weeks
DAYS = 100


@dataclass
class World:
    cities: list[City] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)  # custom teams
    users: list[User] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    deleted_teams: set[PydanticObjectId] = field(default_factory=set)

    async def city(self, name: str) -> City:
        city = await cities.city_for(name)
        self.cities.append(city)
        return city

    async def user(self, name: str, city: City | None = None) -> User:
        user = await User(
            name=name, name_key=name.casefold(), email=f"{name.lower()}@t.est", password_hash="x"
        ).insert()
        if city is not None:
            await self.move(user, city)
        self.users.append(user)
        return user

    async def move(self, user: User, city: City) -> None:
        await cities.set_home_city(user=user, city=city)

    async def team(self, name: str, owner: User, city: City | None = None) -> Team:
        team = await Team(
            name=name,
            name_key=name.casefold(),
            kind="custom",
            city_id=city.id if city else None,
            owner_id=owner.id,
        ).insert()
        assert team.id is not None
        assert owner.id is not None
        await add_member(team_id=team.id, user_id=owner.id, role="owner")
        self.teams.append(team)
        return team

    async def join(self, user: User, team: Team) -> None:
        assert team.id is not None
        assert user.id is not None
        await add_member(team_id=team.id, user_id=user.id)

    async def run(
        self,
        user: User,
        *,
        team_id: PydanticObjectId,
        started_at: datetime,
        score: int,
        distance_km: float = 5.0,
        duration_s: int = 1800,
    ) -> Run:
        """A run credited to the runner's home city of the moment, as POST /runs does."""
        fresh = await User.get(user.id)
        assert fresh is not None
        run = await Run(
            user_id=user.id,
            team_id=team_id,
            city_id=fresh.city_id,
            started_at=started_at,
            day=buckets.day_of(started_at),
            distance_km=distance_km,
            duration_s=duration_s,
            pace_s_per_km=duration_s / distance_km,
            score=score,
        ).insert()
        await buckets.apply(run, +1)
        self.runs.append(run)
        return run

    async def edit(self, run: Run, **changes: Any) -> None:
        await buckets.apply(run, -1)
        for name, value in changes.items():
            setattr(run, name, value)
        run.day = buckets.day_of(run.started_at)
        await run.save()
        await buckets.apply(run, +1)

    async def delete(self, run: Run) -> None:
        await buckets.apply(run, -1)
        await run.delete()
        self.runs.remove(run)

    async def delete_team(self, team: Team) -> None:
        assert team.id is not None
        await team.delete()
        await events.team_deleted.emit(team=team)  # as the teams service announces it
        self.deleted_teams.add(team.id)


async def random_world(rng: random.Random, *, runs: int = 160) -> World:
    """Cities, city teams and custom teams, runners who sometimes move city, and random runs."""
    world = World()
    for name in ("Lisbon", "Oslo", "Quito", "Perth"):
        await world.city(name)
    for i in range(14):
        # one runner without a city; names repeat in upper/lower case to exercise tie order
        city = None if i == 0 else world.cities[i % len(world.cities)]
        name = f"{'Ab' if i % 3 else 'ab'}{'cdefghijklmnop'[i]}"
        await world.user(f"{name} {i}", city)
    for i in range(5):
        city = world.cities[i % 4] if i % 2 else None
        team = await world.team(f"Crew {i}", world.users[i * 2], city)
        for user in rng.sample(world.users, 4):
            await world.join(user, team)
    for _ in range(runs):
        user = rng.choice(world.users)
        fresh = await User.get(user.id)
        assert fresh is not None
        assert user.id is not None
        own = [m.team_id for m in await Membership.find(Membership.user_id == user.id).to_list()]
        if rng.random() < 0.04 and world.cities:
            await world.move(fresh, rng.choice(world.cities))
        team_id = rng.choice(own) if own else world.teams[0].id
        assert team_id is not None
        started = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        # a few identical scores make ties; a few distances end in exactly half a metre
        score = rng.choice([100, 250, 250]) if rng.random() < 0.2 else rng.randrange(1, 1200)
        distance = rng.choice([5.0005, 2.0025]) if rng.random() < 0.1 else rng.uniform(1, 40)
        await world.run(
            fresh, team_id=team_id, started_at=started, score=score, distance_km=distance
        )
    return world


# --- the oracle ------------------------------------------------------------------------------


def in_period(run: Run, start: datetime | None, end: datetime | None) -> bool:
    day = buckets.day_of(run.started_at)
    return (start is None or day >= start) and (end is None or day < end)


def _metres(distance_km: float) -> int:
    return math.floor(distance_km * 1000 + 0.5)  # whole metres per run, half up


def _sum(runs: list[Run]) -> dict[str, Any]:
    metres = sum(_metres(r.distance_km) for r in runs)
    return {"score": sum(r.score for r in runs), "distance_km": metres / 1000, "runs": len(runs)}


def _ranked(rows: list[dict[str, Any]], order: str, name: Any) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: (-r[order], name(r).lower(), _eid(r)))
    previous: tuple[Any, int] | None = None
    for position, row in enumerate(rows, start=1):
        rank = previous[1] if previous and previous[0] == row[order] else position
        row["rank"] = rank
        previous = (row[order], rank)
    return rows


def _ranked_per_capita(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per capita, best first; cities without a population after them all, by score."""
    with_population = [r for r in rows if r["score_per_capita"] is not None]
    without = [r for r in rows if r["score_per_capita"] is None]
    ranked = _ranked(with_population, "score_per_capita", lambda r: r["city"]["name"])
    after = _ranked(without, "score", lambda r: r["city"]["name"])
    for row in after:
        row["rank"] += len(ranked)
    return ranked + after


def _eid(row: dict[str, Any]) -> str:
    for entity in ("team", "city", "user"):
        if entity in row:
            return str(row[entity]["id"])
    raise AssertionError(row)


async def _members(team_id: PydanticObjectId | None) -> int:
    if team_id is None:
        return 0
    return await Membership.find(Membership.team_id == team_id).count()


async def oracle(
    world: World,
    board: str,
    start: datetime | None,
    end: datetime | None,
    **params: Any,
) -> list[dict[str, Any]]:
    """The expected `items` of a board, from the runs and the documents alone."""
    runs = [r for r in world.runs if in_period(r, start, end)]
    grouped: dict[Any, list[Run]] = defaultdict(list)
    rows: list[dict[str, Any]] = []
    if board == "teams":
        for run in runs:
            grouped[run.team_id].append(run)
        for team_id, team_runs in grouped.items():
            team = await Team.get(team_id)
            if team is None:
                continue
            if params.get("kind") and team.kind != params["kind"]:
                continue
            if params.get("city_id") and str(team.city_id) != params["city_id"]:
                continue
            members = await _members(team.id)
            total = _sum(team_runs)
            team_ref = {
                "id": str(team.id),
                "name": team.name,
                "kind": team.kind,
                "city_id": str(team.city_id) if team.city_id else None,
            }
            rows.append(
                {
                    "team": team_ref,
                    **total,
                    "members": members,
                    "score_per_member": round(total["score"] / max(members, 1), 2),
                }
            )
        return _ranked(rows, "score", lambda r: r["team"]["name"])
    if board == "cities":
        for run in runs:
            if run.city_id is not None:
                grouped[run.city_id].append(run)
        for city_id, city_runs in grouped.items():
            city = await City.get(city_id)
            assert city is not None
            members = await _members(city.team_id)
            total = _sum(city_runs)
            rows.append(
                {
                    "city": {"id": str(city.id), "name": city.name, "slug": city.slug},
                    **total,
                    "members": members,
                    "score_per_member": round(total["score"] / max(members, 1), 2),
                    "population": city.population,
                    "score_per_capita": (
                        round(total["score"] * 100_000 / city.population, 2)
                        if city.population
                        else None
                    ),
                }
            )
        order = params.get("order", "score")
        if order == "score_per_capita":
            return _ranked_per_capita(rows)
        return _ranked(rows, order, lambda r: r["city"]["name"])
    if board in ("users", "members"):
        for run in runs:
            if board == "users" and params.get("city_id") and str(run.city_id) != params["city_id"]:
                continue
            if board == "members" and run.team_id != params["team_id"]:
                continue
            grouped[run.user_id].append(run)
        for user_id, user_runs in grouped.items():
            user = await User.get(user_id)
            assert user is not None
            user_ref = {
                "id": str(user.id),
                "name": user.name,
                "city_id": str(user.city_id) if user.city_id else None,
            }
            rows.append({"user": user_ref, **_sum(user_runs)})
        return _ranked(rows, "score", lambda r: r["user"]["name"])
    raise AssertionError(board)


def normalized(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """API items with floats compared to the micro-unit (JSON round-trips them exactly anyway)."""
    return [{k: round(v, 6) if isinstance(v, float) else v for k, v in i.items()} for i in items]


async def fetch(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    """Every item of a board, page by page (pages of 7 check that ranks hold across pages)."""
    items: list[dict[str, Any]] = []
    body: dict[str, Any] = {}
    offset = 0
    while True:
        r = await client.get(path, params={**params, "limit": 7, "offset": offset})
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        offset += 7
        if offset >= body["total"]:
            break
    assert body["total"] == len(items)
    return {**body, "items": items}


def period_cases(today: date) -> list[dict[str, str]]:
    """Query parameters for every period kind, around dates where the world has runs."""
    at = [START.date() + timedelta(days=d) for d in (3, 31, 45, 70)]
    cases: list[dict[str, str]] = [{"period": "all"}]
    for kind in ("day", "week", "month", "year"):
        cases += [{"period": kind, "at": a.isoformat()} for a in at]
    cases += [
        {"period": "custom", "from": "2025-12-20", "to": "2026-02-03"},
        {"period": "custom", "from": "2026-01-01", "to": "2026-03-01"},
        {"period": "custom", "from": "2026-02-11", "to": "2026-02-12"},
        {"period": "week", "at": today.isoformat()},  # nothing this week: an empty board
    ]
    return cases

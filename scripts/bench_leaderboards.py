"""Leaderboard latency at two data sizes, and POST /runs throughput; prints JSON.

    python -m scripts.bench_leaderboards                      # 10,000 then 200,000 runs
    python -m scripts.bench_leaderboards --small 2000 --large 20000 --requests 20

A benchmark, not a test. The service runs in-process (httpx over ASGI) on the embedded store,
or on MONGODB_URI when set (each size in a fresh `bench_*` database, dropped afterwards). Each
size loads the demo users, cities and teams with that many runs (bulk-inserted; buckets built by
the rebuild), then times the three boards (`--requests` each, after warm-up) and records runs
through POST /runs. The latency target: large/small p50 ≤ 1.5 for each board.

    python -m scripts.bench_leaderboards --axis population   # users 1,000→50,000, teams 50→5,000

The population axis keeps the runs fixed (`--population-runs`, 20,000) and grows the runners
and teams instead (`--users-small/--users-large`, `--teams-small/--teams-large`): every runner
in their home city's team and in one custom team, runs drawn over the last DAYS days; buckets
and board totals built by the rebuild. It times the first page of `users?period=all`,
`teams?period=week` (at a pinned day inside the data), the biggest custom team's member board
and `cities?order=score_per_member`, and prints the large/small p50 ratios.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import typer
from asgi_lifespan import LifespanManager

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from beanie import PydanticObjectId

from documents import ScoreBucket, User, clock
from service.demo.challenge import DAYS, load_challenge
from service.demo.progress import NullProgress
from service.demo.users import load_users
from service.leaderboards.buckets import Entity
from service.leaderboards.periods import PeriodKind, resolve
from service.leaderboards.pipelines import bucket_match
from service.main import create_app
from service.security import create_access_token
from service.settings import Settings

# A day well inside the demo data (its runs span the last DAYS days), so the week and month
# boards measure full periods whatever the weekday: this week's board is empty early on a Monday.
AT = clock.today() - timedelta(days=7)
ENDPOINTS = [
    f"/leaderboards/teams?period=week&at={AT.isoformat()}",
    f"/leaderboards/cities?period=month&at={AT.isoformat()}",
    "/leaderboards/users?period=all",
]
# what each board's $match selects: with MongoDB's kind_day index, the documents it examines
BUCKET_READS: list[tuple[Entity, PeriodKind]] = [
    ("team", "week"),
    ("city", "month"),
    ("user", "all"),
]
TARGET_RATIO = 1.5

app = typer.Typer(add_completion=False, help=__doc__)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _time_gets(client: httpx.AsyncClient, path: str, requests: int) -> dict[str, float]:
    for _ in range(3):  # warm-up
        assert (await client.get(path)).status_code == 200
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        r = await client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(_percentile(samples, 0.95), 1),
    }


async def _post_runs(
    client: httpx.AsyncClient, settings: Settings, posts: int, concurrency: int
) -> dict[str, float]:
    runners = await User.find({"email": {"$regex": "@demo"}}).limit(concurrency).to_list()
    headers = [{"Authorization": f"Bearer {create_access_token(settings, u)[0]}"} for u in runners]
    # a runner's runs never overlap: each posted run gets its runner's next free hour, before
    # the demo runs (the last DAYS days), and lasts under an hour
    before_demo = clock.utcnow() - timedelta(days=DAYS + 1)

    async def one(i: int) -> None:
        started = (before_demo - timedelta(hours=i // len(headers))).isoformat()
        body = {
            "started_at": started,
            "distance_km": 5 + i % 10,
            "duration_s": 1800 + 60 * (i % 30),
        }
        r = await client.post("/runs", json=body, headers=headers[i % len(headers)])
        assert r.status_code == 201, r.text

    started = time.perf_counter()
    for first in range(0, posts, concurrency):
        await asyncio.gather(*(one(i) for i in range(first, min(posts, first + concurrency))))
    elapsed = time.perf_counter() - started
    return {
        "runs": posts,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "runs_per_s": round(posts / elapsed, 1),
    }


async def _measure(
    runs: int, *, requests: int, posts: int, concurrency: int, seed: int
) -> dict[str, Any]:
    settings = Settings(
        mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
        demo_data=False,
        log_level="WARNING",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
        # a throughput measurement: RATE_LIMIT_WRITES (120/minute per user) would cap it
        rate_limit_writes="1000000/minute",
    )
    service = create_app(settings)
    async with LifespanManager(service, startup_timeout=60, shutdown_timeout=60):
        started = time.perf_counter()
        rng = random.Random(seed)
        users = await load_users(settings=settings, rng=rng, size="full", progress=NullProgress())
        await load_challenge(rng=rng, size="full", users=users, progress=NullProgress(), runs=runs)
        setup_s = time.perf_counter() - started
        # as the app does at the end of its startup: the loaded documents are long-lived, so
        # the garbage collector should not walk them on every collection
        gc.collect()
        gc.freeze()
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            boards = {path: await _time_gets(client, path, requests) for path in ENDPOINTS}
            posting = await _post_runs(client, settings, posts, concurrency)
        buckets = ScoreBucket.get_motor_collection()
        reads = {
            path: await buckets.count_documents(bucket_match(entity, resolve(kind, at=AT)))
            for path, (entity, kind) in zip(ENDPOINTS, BUCKET_READS, strict=True)
        }
        result = {
            "runs": runs,
            "score_buckets": await ScoreBucket.count(),
            "buckets_selected_per_board": reads,
            "setup_s": round(setup_s, 1),
            "boards": boards,
            "post_runs": posting,
        }
        if settings.mongodb_uri:
            await service.state.client.drop_database(settings.mongodb_db)
    return result


async def _bench(
    small: int, large: int, requests: int, posts: int, concurrency: int, seed: int
) -> dict[str, Any]:
    store = "mongodb" if Settings().mongodb_uri else "embedded (mongomock 4.3)"
    results = {}
    for name, runs in (("small", small), ("large", large)):
        print(f"loading {runs} runs ...", file=sys.stderr, flush=True)
        results[name] = await _measure(
            runs, requests=requests, posts=posts, concurrency=concurrency, seed=seed
        )
    ratios = {
        path: round(
            results["large"]["boards"][path]["p50_ms"] / results["small"]["boards"][path]["p50_ms"],
            2,
        )
        for path in ENDPOINTS
    }
    reads = {
        path: round(
            results["large"]["buckets_selected_per_board"][path]
            / max(1, results["small"]["buckets_selected_per_board"][path]),
            2,
        )
        for path in ENDPOINTS
    }
    return {
        "store": store,
        "requests_per_board": requests,
        **results,
        "ratio_large_small_p50": ratios,
        # mongomock has no indexes (the embedded store only partitions score_buckets by kind), so
        # a board still scans every bucket of its kinds; MongoDB reads only the selected ones:
        "ratio_large_small_buckets_selected": reads,
        "target_ratio": TARGET_RATIO,
        "within_target": all(r <= TARGET_RATIO for r in ratios.values()),
    }


# --- the population axis: runs fixed, users and teams grow -------------------------------------

POPULATION_ENDPOINTS = {
    "users_all": "/leaderboards/users?period=all",
    "teams_week": f"/leaderboards/teams?period=week&at={AT.isoformat()}",
    "member_board": "/teams/{team}/leaderboard?period=all",
    "cities_per_member": "/leaderboards/cities?period=all&order=score_per_member",
}


def _stage(done: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {done} loaded", file=sys.stderr, flush=True)


async def _load_population(
    settings: Settings, rng: random.Random, *, users: int, teams: int, runs: int
) -> dict[str, Any]:
    """`users` runners (one password hash), their home cities' teams, `teams` custom teams with
    every runner in one of them, `runs` runs over the last DAYS days; buckets and totals rebuilt.
    Returns the biggest custom team's id and the counts."""
    from pymongo import UpdateOne

    from documents import Membership, Run, Team
    from service.demo import DEMO_PASSWORD
    from service.demo.challenge import _distance_km, _home_cities, _pace_s_per_km
    from service.demo.users import demo_user_specs
    from service.leaderboards import buckets, rebuild
    from service.runs.scoring import score as run_score
    from service.security import hash_password

    specs = demo_user_specs(rng, count=users)
    # inserts only: an update on the embedded store checks each unique index against every
    # document (quadratic at 50,000 users), so home cities and member counts go in with them
    city_docs, home = await _home_cities(rng, specs, NullProgress())
    password_hash = await hash_password(settings, DEMO_PASSWORD)
    now = clock.utcnow().replace(microsecond=0)
    docs = [
        User(
            id=s.id, name=s.name, name_key=s.name.casefold(), email=s.email,
            password_hash=password_hash, created_at=now, city_id=home[s.id].id,
        ).model_dump(by_alias=True, exclude={"revision_id"})
        for s in specs
    ]  # fmt: skip
    for i in range(0, len(docs), 5000):
        await User.get_motor_collection().insert_many(docs[i : i + 5000], ordered=False)
    _stage("users")
    team_ids = [PydanticObjectId(rng.randbytes(12)) for _ in range(teams)]
    team_of = {s.id: team_ids[i % teams] for i, s in enumerate(specs)}
    joined = now - timedelta(days=DAYS + 30)
    memberships = [
        {"team_id": t, "user_id": u, "role": "member", "joined_at": joined}
        for u, t in [*((s.id, home[s.id].team_id) for s in specs), *team_of.items()]
    ]
    counts: dict[Any, int] = {}
    for m in memberships:
        counts[m["team_id"]] = counts.get(m["team_id"], 0) + 1
    team_docs = [
        Team(
            id=team_id, name=f"Bench Team {n:05d}", name_key=f"bench team {n:05d}",
            kind="custom", visibility="open", owner_id=specs[n % users].id,
            members_count=counts.get(team_id, 0),
        ).model_dump(by_alias=True, exclude={"revision_id"})
        for n, team_id in enumerate(team_ids)
    ]  # fmt: skip
    await Team.get_motor_collection().insert_many(team_docs, ordered=False)
    for i in range(0, len(memberships), 5000):
        await Membership.get_motor_collection().insert_many(
            memberships[i : i + 5000], ordered=False
        )
    # the city teams' member counts (a handful of updates)
    await Team.get_motor_collection().bulk_write(
        [
            UpdateOne({"_id": c.team_id}, {"$set": {"members_count": counts.get(c.team_id, 0)}})
            for c in city_docs
        ],
        ordered=False,
    )
    _stage("teams and memberships")
    # runs: runners drawn by a habit weight (cumulative weights once: 50,000 runners stay
    # cheap); a runner's runs take distinct (day, hour) slots and last under an hour
    activity = [rng.lognormvariate(0, 0.8) for _ in specs]
    total, cumulative = 0.0, []
    for weight in activity:
        total += weight
        cumulative.append(total)
    today = now.replace(hour=0, minute=0, second=0)
    taken: set[tuple[Any, int, int]] = set()
    run_docs = []
    for user in rng.choices(specs, cum_weights=cumulative, k=runs):
        for _attempt in range(1000):
            slot = (user.id, rng.randrange(1, DAYS), rng.randrange(6, 21))
            if slot not in taken:
                break
        taken.add(slot)
        started = today - timedelta(days=slot[1]) + timedelta(hours=slot[2])
        distance = min(_distance_km(rng, 8, started.weekday() >= 5), 12.0)
        duration = round(distance * _pace_s_per_km(rng, 300, distance))
        city = home[user.id]
        team_id = team_of[user.id] if rng.random() < 0.4 else city.team_id
        finished = started + timedelta(seconds=duration)
        run_docs.append(
            {
                "_id": PydanticObjectId(rng.randbytes(12)), "user_id": user.id,
                "team_id": team_id, "city_id": city.id, "started_at": started,
                "ends_at": finished, "day": buckets.day_of(started), "distance_km": distance,
                "duration_s": duration, "pace_s_per_km": round(duration / distance, 1),
                "score": run_score(distance, duration), "score_version": 1,
                "elevation_gain_m": 0.0, "notes": None, "has_route": False, "revision": 0,
                "created_at": finished, "updated_at": finished,
            }
        )  # fmt: skip
    for i in range(0, len(run_docs), 10_000):
        await Run.get_motor_collection().insert_many(run_docs[i : i + 10_000], ordered=False)
    _stage("runs")
    await rebuild.repair()
    _stage("buckets and board totals")
    biggest = max(team_docs, key=lambda t: counts.get(t["_id"], 0))
    return {
        "users": users,
        "teams": teams,
        "cities": len(city_docs),
        "memberships": len(memberships),
        "runs": runs,
        "member_board_team": str(biggest["_id"]),
        "member_board_members": counts.get(biggest["_id"], 0),
    }


async def _measure_population(
    users: int, teams: int, *, runs: int, requests: int, seed: int
) -> dict[str, Any]:
    settings = Settings(
        mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
        demo_data=False,
        log_level="WARNING",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
    )
    service = create_app(settings)
    async with LifespanManager(service, startup_timeout=60, shutdown_timeout=60):
        started = time.perf_counter()
        loaded = await _load_population(
            settings, random.Random(seed), users=users, teams=teams, runs=runs
        )
        setup_s = time.perf_counter() - started
        gc.collect()
        gc.freeze()
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            boards = {
                name: await _time_gets(
                    client, path.format(team=loaded["member_board_team"]), requests
                )
                for name, path in POPULATION_ENDPOINTS.items()
            }
        result = {**loaded, "setup_s": round(setup_s, 1), "boards": boards}
        if settings.mongodb_uri:
            await service.state.client.drop_database(settings.mongodb_db)
        gc.unfreeze()
    return result


async def _bench_population(
    sizes: list[tuple[int, int]], *, runs: int, requests: int, seed: int
) -> dict[str, Any]:
    store = "mongodb" if Settings().mongodb_uri else "embedded (mongomock 4.3)"
    results = []
    for users, teams in sizes:
        print(f"loading {users} users, {teams} teams, {runs} runs ...", file=sys.stderr, flush=True)
        results.append(
            await _measure_population(users, teams, runs=runs, requests=requests, seed=seed)
        )
    small, large = results[0], results[-1]
    ratios = {
        name: round(large["boards"][name]["p50_ms"] / small["boards"][name]["p50_ms"], 2)
        for name in POPULATION_ENDPOINTS
    }
    return {
        "store": store,
        "axis": "population (runs fixed)",
        "at": AT.isoformat(),
        "requests_per_board": requests,
        "sizes": results,
        "ratio_large_small_p50": ratios,
        "target_ratio": TARGET_RATIO,
        "within_target": all(r <= TARGET_RATIO for r in ratios.values()),
    }


@app.command()
def main(
    small: int = typer.Option(10_000, help="Runs in the small data set."),
    large: int = typer.Option(200_000, help="Runs in the large data set."),
    requests: int = typer.Option(50, help="Timed requests per board."),
    posts: int = typer.Option(200, help="Runs recorded through POST /runs per size."),
    concurrency: int = typer.Option(10, help="POST /runs requests in flight at once."),
    seed: int = typer.Option(42, help="Demo seed."),
    axis: str = typer.Option("runs", help="runs (runs grow) or population (users/teams grow)."),
    users_small: int = typer.Option(1_000, help="Population axis: runners, small."),
    users_large: int = typer.Option(50_000, help="Population axis: runners, large."),
    teams_small: int = typer.Option(50, help="Population axis: custom teams, small."),
    teams_large: int = typer.Option(5_000, help="Population axis: custom teams, large."),
    population_runs: int = typer.Option(20_000, help="Population axis: runs at every size."),
) -> None:
    """Benchmark the leaderboards and POST /runs; prints JSON on stdout."""
    if axis == "population":
        sizes = [(users_small, teams_small), (users_large, teams_large)]
        result = asyncio.run(
            _bench_population(sizes, runs=population_runs, requests=requests, seed=seed)
        )
    elif axis == "runs":
        result = asyncio.run(_bench(small, large, requests, posts, concurrency, seed))
    else:
        raise typer.BadParameter("axis must be 'runs' or 'population'")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app()

"""Leaderboard latency at two data sizes, and POST /runs throughput; prints JSON.

    python -m scripts.bench_leaderboards                      # 10,000 then 200,000 runs
    python -m scripts.bench_leaderboards --small 2000 --large 20000 --requests 20

A benchmark, not a test. The service runs in-process (httpx over ASGI) on the embedded store,
or on MONGODB_URI when set (each size in a fresh `bench_*` database, dropped afterwards). Each
size loads the demo users, cities and teams with that many runs (bulk-inserted; buckets built by
the rebuild), then times the three boards (`--requests` each, after warm-up) and records runs
through POST /runs. The latency target: large/small p50 ≤ 1.5 for each board.
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
        # as the app does after loading its demo data: the loaded documents are long-lived, so
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


@app.command()
def main(
    small: int = typer.Option(10_000, help="Runs in the small data set."),
    large: int = typer.Option(200_000, help="Runs in the large data set."),
    requests: int = typer.Option(50, help="Timed requests per board."),
    posts: int = typer.Option(200, help="Runs recorded through POST /runs per size."),
    concurrency: int = typer.Option(10, help="POST /runs requests in flight at once."),
    seed: int = typer.Option(42, help="Demo seed."),
) -> None:
    """Benchmark the leaderboards and POST /runs; prints JSON on stdout."""
    result = asyncio.run(_bench(small, large, requests, posts, concurrency, seed))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app()

"""GET /feed latency for a user with 10 and with 1,000 friends; prints JSON.

    python -m scripts.bench_feed                  # embedded store, 1,000 authors x 20 runs
    python -m scripts.bench_feed --runs 20 --repeat 50
    python -m scripts.bench_feed --mongodb-uri mongodb://localhost:27017

A benchmark, not a test. One world for both users, so the store holds the same data in both
measurements: 1,000 authors with `--runs` runs each (dates pinned in the world's own past,
one run a day per author, the authors' runs spread evenly over each day), their feed rows derived by
`service.feed.rebuild`; viewer "few" is friends with 10 of the authors, viewer "many" with all
1,000. For each, the p50 (and p95) over `--repeat` requests of the first page and of a deeper
page (the page after `--depth` pages, read by cursor), 20 items a page, in process
(httpx ASGITransport, no network). The target: p50(many) / p50(few) <= 2 for both pages.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import time_machine
import typer
from asgi_lifespan import LifespanManager
from bson import ObjectId

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import Friendship, Run, User
from documents.social import pair_key
from scripts.bench_logins import _percentile
from service.feed import rebuild as feed_rebuild
from service.main import create_app
from service.security import create_access_token
from service.settings import Settings

TARGET = 2.0
AUTHORS = 1000
PAGE = 20
# the world's own "now" (the service's clock is moved there): its runs are the days before it
BASE = datetime(2026, 1, 1, tzinfo=UTC)

app = typer.Typer(add_completion=False, help=__doc__)


def _user(i: int, name: str) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "name": name,
        "name_key": name.casefold(),
        "email": f"feed-bench-{i}@example.com",
        "password_hash": "x",
        "role": "user",
        "created_at": BASE,
    }


async def _world(runs_per_author: int) -> dict[str, User]:
    authors = [_user(i, f"Author {i:04d}") for i in range(AUTHORS)]
    few, many = _user(-1, "Viewer Few"), _user(-2, "Viewer Many")
    await User.get_motor_collection().insert_many([*authors, few, many])
    team = ObjectId()
    runs = []
    for k in range(runs_per_author):
        for j, author in enumerate(authors):
            # one run a day each, the authors' runs spread over the day (one every 1.44 min)
            started = BASE - timedelta(days=k, minutes=5 + j * 1.44)
            runs.append(
                {
                    "user_id": author["_id"],
                    "team_id": team,
                    "started_at": started,
                    "ends_at": started + timedelta(minutes=30),
                    "day": started.replace(hour=0, minute=0, second=0, microsecond=0),
                    "distance_km": 5.0,
                    "duration_s": 1800,
                    "pace_s_per_km": 360.0,
                    "score": 50,
                    "visibility": "public" if k % 3 else "friends",
                    "created_at": started,
                    "updated_at": started,
                }
            )
    await Run.get_motor_collection().insert_many(runs)
    # the authors' rows are spread evenly: "few" sees 10 authors, "many" all of them
    friendships = []
    for viewer, count in ((few, 10), (many, AUTHORS)):
        step = AUTHORS // count
        for author in authors[::step][:count]:
            a, b = viewer["_id"], author["_id"]
            friendships.append({"_id": pair_key(a, b), "users": [a, b], "since": BASE})
    await Friendship.get_motor_collection().insert_many(friendships)
    await feed_rebuild.rebuild(repair=True)
    viewers = {}
    for key, raw in (("few", few), ("many", many)):
        user = await User.get(raw["_id"])
        assert user is not None
        viewers[key] = user
    return viewers


async def _measure(
    client: httpx.AsyncClient, headers: dict[str, str], repeat: int, depth: int
) -> dict[str, Any]:
    cursor = None
    for _ in range(depth):
        r = await client.get(
            "/feed",
            params={"limit": PAGE, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        cursor = r.json()["next_cursor"]
    assert cursor is not None, "the feed is shorter than the deep page: use more --runs"
    out: dict[str, Any] = {}
    for label, params in (("first_page", {}), ("deep_page", {"cursor": cursor})):
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            r = await client.get("/feed", params={"limit": PAGE, **params}, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text
            assert len(r.json()["items"]) == PAGE
        out[label] = {
            "p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(_percentile(samples, 0.95), 2),
        }
    return out


async def _bench(runs: int, repeat: int, depth: int, mongodb_uri: str | None) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        mongodb_uri=mongodb_uri,
        mongodb_db=f"bench_feed_{uuid.uuid4().hex[:8]}",
        secret_key="bench-secret-key-with-enough-length-32b",
        demo_data=False,
        rate_limit_auth="100000/minute",
        rate_limit_writes="100000/minute",
        admin_email=None,
        admin_password=None,
    )
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=600):
        try:
            started = time.perf_counter()
            viewers = await _world(runs)
            built_s = time.perf_counter() - started
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                result: dict[str, Any] = {
                    "store": "mongodb" if mongodb_uri else "embedded",
                    "authors": AUTHORS,
                    "runs_per_author": runs,
                    "feed_rows": AUTHORS * runs,
                    "page_size": PAGE,
                    "deep_page_after": depth,
                    "world_built_s": round(built_s, 1),
                }
                for key, friends in (("few", 10), ("many", AUTHORS)):
                    token, _ = create_access_token(settings, viewers[key])
                    headers = {"Authorization": f"Bearer {token}"}
                    await client.get("/feed", headers=headers)  # warm-up
                    result[f"friends_{friends}"] = await _measure(client, headers, repeat, depth)
                for label in ("first_page", "deep_page"):
                    few = result["friends_10"][label]["p50_ms"]
                    many = result[f"friends_{AUTHORS}"][label]["p50_ms"]
                    result[f"ratio_{label}"] = round(many / few, 2)
                result["target_ratio"] = TARGET
                result["ok"] = all(
                    result[f"ratio_{p}"] <= TARGET for p in ("first_page", "deep_page")
                )
        finally:
            if mongodb_uri:
                await application.state.client.drop_database(settings.mongodb_db)
    return result


@app.command()
def main(
    runs: int = typer.Option(20, help="Runs per author"),
    repeat: int = typer.Option(30, help="Requests per measurement"),
    depth: int = typer.Option(3, help="The deep page is the one after this many pages"),
    mongodb_uri: str | None = typer.Option(None, help="A real MongoDB (default: embedded)"),
) -> None:
    # the service's clock stands at the world's "now" (its runs are the latest days' before it)
    with time_machine.travel(BASE, tick=True):
        result = asyncio.run(_bench(runs, repeat, depth, mongodb_uri))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app()

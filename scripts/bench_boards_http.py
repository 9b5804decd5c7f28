"""Board throughput against /health of the same real uvicorn process; prints JSON.

    python -m scripts.bench_boards_http                       # 8 clients, 6 s per endpoint
    python -m scripts.bench_boards_http --clients 8 --seconds 10

A benchmark, not a test. Starts one uvicorn worker on the embedded store with its startup demo
(400 users, 4,000 runs) on a free loopback port, then, for /health and the first page of each
board in turn, keeps `--clients` concurrent httpx clients busy for `--seconds` and reports
requests per second, p50 and p95, and the ratio to /health measured right before and after it
in the same process (target: every board ≥ 0.3 × /health). The week/month/day boards are read
at `at` = 7 days ago, inside the demo's runs. Also times `around=me` (a demo runner's token) on
the runner board, and a custom period (still aggregated from buckets).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import typer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import clock
from scripts.bench_logins import _free_port, _percentile

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.3
AT = (clock.today() - timedelta(days=7)).isoformat()
BOARDS = [
    "/leaderboards/users?period=all",
    "/leaderboards/users?period=year&at={at}",
    f"/leaderboards/users?period=day&at={AT}",
    f"/leaderboards/teams?period=month&at={AT}",
    f"/leaderboards/teams?period=week&at={AT}&kind=custom",
    f"/leaderboards/cities?period=week&at={AT}",
    "/leaderboards/cities?period=all&order=score_per_member",
    "/leaderboards/users?period=all&city_id={city}",
    "/teams/{team}/leaderboard?period=all",
    "/leaderboards/users?period=all&around=me",
    f"/leaderboards/users?period=custom&from={AT}&to={clock.today().isoformat()}",
]

app = typer.Typer(add_completion=False, help=__doc__)


def _start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-proxy-headers", "--log-level", "warning"]
    command += ["--workers", "1"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


async def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(1800):
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                ready = (await client.get("/ready")).status_code == 200
                if ready and (await client.get("/leaderboards/users?period=all")).json()["total"]:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not load its demo within 180 s")


async def _load(base: str, path: str, clients: int, seconds: float, headers: Any) -> dict[str, Any]:
    """`clients` clients, each sending one request after the other for `seconds`."""
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for _ in range(3):  # warm-up
            assert (await client.get(path)).status_code == 200
    deadline = time.perf_counter() + seconds

    async def one_client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            while not samples or time.perf_counter() < deadline:
                started = time.perf_counter()
                r = await client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.text

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "req_per_s": round(len(samples) / elapsed, 1),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(_percentile(samples, 0.95), 1),
        "requests": len(samples),
    }


async def _bench(clients: int, seconds: float) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(32)  # known here, so the script can sign a runner's token
    env = {"MONGODB_URI": "", "DEMO_DATA": "true", "LOG_LEVEL": "WARNING", "SECRET_KEY": secret}
    server = _start_server(port, env)
    try:
        await _wait_ready(base, server)
        async with httpx.AsyncClient(base_url=base) as client:
            users = (await client.get("/leaderboards/users?period=all&limit=100")).json()["items"]
            teams = (await client.get("/leaderboards/teams?period=all&kind=custom&limit=1")).json()
            cities = (await client.get("/leaderboards/cities?period=all&limit=1")).json()["items"]
        token = _token_of(users[len(users) // 2]["user"]["id"] if users else "", secret)
        fill = {"at": AT, "city": cities[0]["city"]["id"], "team": teams["items"][0]["team"]["id"]}
        paths = [path.format(**fill) for path in BOARDS]
        results: dict[str, Any] = {}
        # /health right before and after each board: the ratio holds even when the machine's
        # load changes during the run
        healths = [await _load(base, "/health", clients, seconds, None)]
        for path in paths:
            headers = {"Authorization": f"Bearer {token}"} if "around=me" in path else None
            results[path] = await _load(base, path, clients, seconds, headers)
            healths.append(await _load(base, "/health", clients, seconds, None))
            beside = (healths[-2]["req_per_s"] + healths[-1]["req_per_s"]) / 2
            results[path]["health_req_per_s"] = round(beside, 1)
            results[path]["ratio_to_health"] = round(results[path]["req_per_s"] / beside, 2)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a slow graceful shutdown must not lose the numbers
            server.kill()
            server.wait()
    return {
        "store": "embedded (mongomock 4.3), startup demo",
        "workers": 1,
        "clients": clients,
        "seconds_per_endpoint": seconds,
        "health_req_per_s": [h["req_per_s"] for h in healths],
        "boards": results,
        "target_ratio": TARGET,
        "within_target": all(r["ratio_to_health"] >= TARGET for r in results.values()),
    }


def _token_of(user_id: str, secret: str) -> str:
    """A token for a demo runner, signed with the server's SECRET_KEY, without its password
    (demo runners have token_version 0)."""
    from service.security import create_access_token
    from service.settings import Settings

    runner = SimpleNamespace(id=user_id, token_version=0)
    return create_access_token(Settings(mongodb_uri=None, secret_key=secret), runner)[0]  # type: ignore[arg-type]


@app.command()
def main(
    clients: int = typer.Option(8, help="Concurrent clients."),
    seconds: float = typer.Option(6.0, help="Seconds of load per endpoint."),
) -> None:
    """Measure /health and each board's first page side by side; prints JSON on stdout."""
    print(json.dumps(asyncio.run(_bench(clients, seconds)), indent=2))


if __name__ == "__main__":
    app()

"""Memory and /health latency while 32 clients log in at once; prints JSON.

    python -m scripts.bench_logins                          # HASH_CONCURRENCY = CPU count
    python -m scripts.bench_logins --hash-concurrency 64    # effectively unbounded (as before)

A benchmark, not a test. Starts a real uvicorn process (embedded store, no demo data, the
production argon2id parameters: t=3, m=64 MiB, p=4) on a free loopback port, registers the
users, then measures:

- the server's RSS (from /proc) when idle, its peak while the logins run, and after them;
- `/health` latency (sequential GETs from one client): idle, and during the burst of
  `--logins` concurrent logins (each its own httpx client; a 503 is retried after its
  Retry-After, so every login ends in a token).

RATE_LIMIT_AUTH is raised for the run: from one address the default 10/minute would answer most
of the burst with 429 before any hashing. The target: burst p95 ≤ 5 × idle p95 for /health, and
RSS bounded by HASH_CONCURRENCY × ARGON2_MEMORY_COST, not by the size of the burst. Linux only
(RSS from /proc).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import typer

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"

app = typer.Typer(add_completion=False, help=__doc__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc status")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(_percentile(samples, 0.95), 2),
        "max_ms": round(max(samples), 2),
        "samples": len(samples),
    }


def _start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-proxy-headers", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


async def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not answer /health within 30 s")


async def _health_samples(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    samples = []
    while not stop.is_set():
        started = time.perf_counter()
        r = await client.get("/health")
        samples.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200
        await asyncio.sleep(0.005)
    return samples


async def _login_until_ok(client: httpx.AsyncClient, email: str, statuses: Counter[int]) -> float:
    """One user's login, retried after Retry-After on 503; returns its wall time in seconds."""
    started = time.perf_counter()
    while True:
        r = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        statuses[r.status_code] += 1
        if r.status_code == 200:
            return time.perf_counter() - started
        if r.status_code != 503:
            raise RuntimeError(f"login answered {r.status_code}: {r.text}")
        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))


async def _sample_rss(pid: int, stop: asyncio.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], _rss_mb(pid))
        await asyncio.sleep(0.01)


async def _bench(logins: int, hash_concurrency: int | None, idle_requests: int) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "MONGODB_URI": "",
        "DEMO_DATA": "false",
        "LOG_LEVEL": "WARNING",
        # production argon2id (argon2-cffi's defaults), whatever the caller's environment says
        "ARGON2_TIME_COST": "3",
        "ARGON2_MEMORY_COST": "65536",
        "ARGON2_PARALLELISM": "4",
        "RATE_LIMIT_AUTH": "100000/minute",
    }
    if hash_concurrency is not None:
        env["HASH_CONCURRENCY"] = str(hash_concurrency)
    server = _start_server(port, env)
    try:
        await _wait_ready(base, server)
        emails = [f"bench{i}@example.com" for i in range(logins)]
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for i, email in enumerate(emails):
                body = {"name": f"Bench User {i}", "email": email, "password": PASSWORD}
                r = await client.post("/auth/register", json=body)
                assert r.status_code == 201, r.text
            # warm-up, then idle: one login (argon2 allocations made once), quiet /health
            r = await client.post("/auth/login", json={"email": emails[0], "password": PASSWORD})
            assert r.status_code == 200, r.text
            await asyncio.sleep(1)
            rss_before = _rss_mb(server.pid)
            idle = []
            for _ in range(idle_requests):
                started = time.perf_counter()
                assert (await client.get("/health")).status_code == 200
                idle.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.005)

            # one client per login, made (and connected) before the clock starts: creating an
            # httpx client costs milliseconds of this process's CPU, which would show up as
            # /health latency
            login_clients = [httpx.AsyncClient(base_url=base, timeout=120) for _ in emails]
            for c in login_clients:
                await c.get("/health")
            stop = asyncio.Event()
            peak = [rss_before]
            statuses: Counter[int] = Counter()
            sampler = asyncio.create_task(_sample_rss(server.pid, stop, peak))
            prober = asyncio.create_task(_health_samples(client, stop))
            started = time.perf_counter()
            pairs = zip(login_clients, emails, strict=True)
            waits = await asyncio.gather(*(_login_until_ok(c, e, statuses) for c, e in pairs))
            burst_s = time.perf_counter() - started
            stop.set()
            during = await prober
            await sampler
            for c in login_clients:
                await c.aclose()
        await asyncio.sleep(1)
        rss_after = _rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    idle_stats, burst_stats = _stats(idle), _stats(during)
    return {
        "cpu_count": os.cpu_count(),
        "hash_concurrency": hash_concurrency or os.cpu_count(),
        "argon2": {"time_cost": 3, "memory_cost_kib": 65536, "parallelism": 4},
        "logins": logins,
        "rss_mb": {"before": rss_before, "peak_during": peak[0], "after": rss_after},
        "health_idle": idle_stats,
        "health_during_logins": burst_stats,
        "p95_ratio": round(burst_stats["p95_ms"] / idle_stats["p95_ms"], 2),
        "burst": {
            "wall_s": round(burst_s, 2),
            "login_p50_s": round(statistics.median(waits), 2),
            "login_max_s": round(max(waits), 2),
            "responses": {str(k): v for k, v in sorted(statuses.items())},
        },
    }


@app.command()
def main(
    logins: int = typer.Option(32, help="Concurrent logins in the burst"),
    hash_concurrency: int | None = typer.Option(
        None, help="HASH_CONCURRENCY for the server (default: its CPU count)"
    ),
    idle_requests: int = typer.Option(200, help="/health requests for the idle baseline"),
) -> None:
    print(json.dumps(asyncio.run(_bench(logins, hash_concurrency, idle_requests)), indent=2))


if __name__ == "__main__":
    app()

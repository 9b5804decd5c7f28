"""Rate limits (the `limits` library, moving windows) and the client address they are keyed by.

- `POST /auth/*` (register, login): RATE_LIMIT_AUTH per client IP (`AuthRateLimit`, a router
  dependency), so neither password guessing nor probing which emails have an account is free.
- Writes (POST/PUT/PATCH/DELETE) by a signed-in user: RATE_LIMIT_WRITES per user, counted by
  `service.security.current_user`, which every such route depends on.
- `GET /users/me/export`: RATE_LIMIT_EXPORT per user (`limit_exports`).

Moving windows: a limit of N per period allows at most N requests in *any* period (a fixed
window would let 2N through around a window boundary). The counters live in MongoDB (the
`rate_limit_windows` collection, so every API process shares them) or, for the embedded store,
in this process's memory.

Every response to a limited request carries `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset` (seconds); over the limit it is a 429 with `Retry-After` too.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, cast

from fastapi import Depends, Request
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, MongoDBStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import TooManyRequests
from service.settings import Settings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER_NAMES = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Outcome:
    """Where one request left the tightest of its limits."""

    limit: int
    remaining: int
    reset_s: int  # seconds until a request is allowed again (a slot frees up)

    def headers(self) -> dict[str, str]:
        values = (self.limit, self.remaining, self.reset_s)
        return {name: str(value) for name, value in zip(HEADER_NAMES, values, strict=True)}


class RateLimiter:
    """The limits of one app, over one storage (created in the lifespan, on app.state)."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)
        self.auth = settings.auth_limits
        self.writes = settings.write_limits
        self.exports = settings.export_limits

    async def hit(self, items: list[RateLimitItem], *identity: str) -> Outcome:
        """Count one request against each item; TooManyRequests when one is used up."""
        tightest: Outcome | None = None
        for item in items:
            allowed = await self.strategy.hit(item, *identity)
            stats = await self.strategy.get_window_stats(item, *identity)
            if not allowed and stats.remaining > 0:
                # On MongoDB two first requests for a key race to insert its window and the
                # loser reads as refused although the window has room: count it again.
                allowed = await self.strategy.hit(item, *identity)
                stats = await self.strategy.get_window_stats(item, *identity)
            reset_s = max(0, math.ceil(stats.reset_time - time.time()))
            outcome = Outcome(item.amount, max(0, stats.remaining), reset_s)
            if not allowed:
                outcome = Outcome(item.amount, 0, max(1, reset_s))
                error = TooManyRequests(
                    f"Rate limit of {item} exceeded; try again later", retry_after=outcome.reset_s
                )
                assert error.headers is not None
                error.headers.update(outcome.headers())
                raise error
            if tightest is None or (outcome.remaining, -outcome.reset_s) < (
                tightest.remaining,
                -tightest.reset_s,
            ):
                tightest = outcome
        assert tightest is not None  # settings hold at least one limit
        return tightest

    async def close(self) -> None:
        if isinstance(self.storage, MongoDBStorage):
            self.storage.storage.close()


def create_limiter(settings: Settings) -> RateLimiter:
    """Memory for the embedded store; the same MongoDB database otherwise (shared by processes)."""
    storage: Storage
    if settings.embedded:
        storage = MemoryStorage()
    else:
        assert settings.mongodb_uri is not None
        # the scheme picks limits' motor-based storage: "async+mongodb://", "async+mongodb+srv://"
        storage = MongoDBStorage(
            f"async+{settings.mongodb_uri}",
            database_name=settings.mongodb_db,
            counter_collection_name="rate_limit_counters",
            window_collection_name="rate_limit_windows",
            serverSelectionTimeoutMS=settings.mongodb_server_selection_timeout_ms,
        )
    return RateLimiter(storage, settings)


def _limiter(request: Request) -> RateLimiter:
    return cast(RateLimiter, request.app.state.rate_limiter)


def _remember(request: Request, outcome: Outcome) -> None:
    """Keep the request's headers for RateLimitHeadersMiddleware (raw Responses drop others)."""
    request.state.rate_limit_headers = outcome.headers()


# --- the client address ---------------------------------------------------------------------


@lru_cache(maxsize=16)
def _networks(trusted_proxies: str) -> tuple[IPNetwork, ...]:
    parts = (p.strip() for p in trusted_proxies.split(","))
    return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)


def _trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _normalised(address: str) -> str:
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return address[:64]  # not an address (a misconfigured proxy): still one client's key


async def client_ip(request: Request) -> str:
    """The address the request came from, as rate limits and the login lockout see it.

    The connecting peer, unless it is one of TRUSTED_PROXIES: then the right-most address in
    X-Forwarded-For that is not a trusted proxy (the one the outermost trusted proxy saw;
    anything left of it was written by the client and may be forged). This is the only place
    that reads X-Forwarded-For: uvicorn runs with `--no-proxy-headers`.
    """
    peer = request.client.host if request.client else "unknown"
    settings: Settings = request.app.state.settings
    networks = _networks(settings.trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return _normalised(peer)
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return _normalised(hop)
        peer = hop
    return _normalised(peer)  # every hop is a trusted proxy: the left-most one is the client


ClientIp = Annotated[str, Depends(client_ip)]


# --- dependencies ---------------------------------------------------------------------------


async def auth_rate_limit(request: Request, ip: ClientIp) -> None:
    """RATE_LIMIT_AUTH per client IP, shared by every `POST /auth/*` route."""
    _remember(request, await _limiter(request).hit(_limiter(request).auth, "auth", ip))


async def limit_writes(request: Request, *, user_id: str) -> None:
    """RATE_LIMIT_WRITES per user (called by `current_user` for write methods)."""
    _remember(request, await _limiter(request).hit(_limiter(request).writes, "writes", user_id))


async def limit_exports(request: Request, *, user_id: str) -> None:
    """RATE_LIMIT_EXPORT per user: `GET /users/me/export` reads everything a user has."""
    _remember(request, await _limiter(request).hit(_limiter(request).exports, "export", user_id))


AuthRateLimit = Depends(auth_rate_limit)


class RateLimitHeadersMiddleware:
    """Add the RateLimit-* headers a dependency computed to whatever response the request gets
    (a model, a raw 204 Response, or an error raised after the limit was counted)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: dict[str, str] = scope.get("state", {}).get("rate_limit_headers") or {}
                if headers:
                    raw = list(message.get("headers", []))
                    present = {name.lower() for name, _ in raw}
                    for name, value in headers.items():
                        if name.lower().encode("latin-1") not in present:
                            raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                    message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)

"""Passwords (passlib + argon2id, off the event loop), JWTs and the auth dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, TypeVar

import jwt
from beanie import PydanticObjectId
from bson.errors import InvalidId
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from passlib.context import CryptContext

from documents import User
from documents.clock import utcnow
from service import ratelimit
from service.errors import Forbidden, ServiceUnavailable, Unauthorized
from service.settings import Settings

JWT_ALGORITHM = "HS256"


@lru_cache(maxsize=8)
def _context(time_cost: int, memory_cost: int, parallelism: int) -> CryptContext:
    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__time_cost=time_cost,
        argon2__memory_cost=memory_cost,
        argon2__parallelism=parallelism,
    )


def password_context(settings: Settings) -> CryptContext:
    return _context(
        settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
    )


T = TypeVar("T")

# argon2 threads run this much nicer than the event loop: under a burst of logins the CPU goes
# to /health and every other request first, and the hashing takes what is left
HASH_NICENESS = 10


def _lower_priority() -> None:
    """Executor-thread initializer (Linux: niceness is per thread, and the threads argon2 starts
    for its lanes inherit it). Elsewhere a no-op: setpriority there would renice the process."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            tid = threading.get_native_id()
            nice = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + HASH_NICENESS))


@functools.cache
def _executor(concurrency: int) -> ThreadPoolExecutor:
    # Its own threads, exactly `concurrency` of them: even a request cancelled mid-hash (whose
    # slot the gate frees at once) never makes more argon2 computations run at the same time.
    return ThreadPoolExecutor(
        max_workers=concurrency, thread_name_prefix="argon2", initializer=_lower_priority
    )


class HashGate:
    """At most `concurrency` argon2 computations at once, and at most `queue` more waiting.

    Each argon2id computation holds `ARGON2_MEMORY_COST` KiB (64 MiB by default) and a core for
    ~200 ms: unbounded, a burst of logins costs memory in proportion to its size and starves the
    event loop. Requests beyond the queue are refused at once (503 + Retry-After) instead of
    waiting longer than a client would.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._capacity = concurrency + queue
        self._admitted = 0
        self._hash_s = 0.2  # recent wall time of one computation (moving average)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._admitted >= self._capacity:
            # the queue ahead drains in about this many seconds
            wait = (self._admitted // self._concurrency + 1) * self._hash_s
            raise ServiceUnavailable(
                "Too many logins at once; try again shortly", retry_after=math.ceil(wait)
            )
        self._admitted += 1
        try:
            async with self._slots:
                loop = asyncio.get_running_loop()
                executor = _executor(self._concurrency)
                started = time.monotonic()
                result = await loop.run_in_executor(executor, functools.partial(fn, *args))
                self._hash_s = 0.8 * self._hash_s + 0.2 * (time.monotonic() - started)
                return result
        finally:
            self._admitted -= 1


# One gate per event loop (asyncio primitives belong to a loop; tests run many loops) and size.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, int], HashGate]] = (
    weakref.WeakKeyDictionary()
)


def hash_gate(settings: Settings) -> HashGate:
    size = (settings.hash_concurrency, settings.hash_queue_size)
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    if size not in gates:
        gates[size] = HashGate(*size)
    return gates[size]


async def hash_password(settings: Settings, password: str) -> str:
    """Hash in a worker thread: argon2 takes ~200 ms of CPU with production parameters."""
    return await hash_gate(settings).run(password_context(settings).hash, password)


async def verify_password(
    settings: Settings, password: str, hashed: str
) -> tuple[bool, str | None]:
    """Check a password; returns (ok, new_hash) where new_hash is set when parameters changed."""
    context = password_context(settings)
    return await hash_gate(settings).run(context.verify_and_update, password, hashed)


async def dummy_verify(settings: Settings) -> None:
    """One verify's worth of argon2 work for a login to an unknown account (no user probing).

    passlib hashes its dummy password once per context and reuses it, so only the first unknown
    login in a process costs an extra hash.
    """
    await hash_gate(settings).run(password_context(settings).dummy_verify)


def create_access_token(settings: Settings, user: User) -> tuple[str, int]:
    now = utcnow()
    expires_in = settings.access_token_minutes * 60
    claims = {
        "sub": str(user.id),
        "iat": now,
        "exp": now + timedelta(seconds=expires_in),
        "ver": user.token_version,
    }
    return jwt.encode(claims, settings.jwt_key, algorithm=JWT_ALGORITHM), expires_in


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def optional_user(
    settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User | None:
    if token is None:
        return None
    try:
        claims = jwt.decode(
            token, settings.jwt_key, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp"]}
        )
        user_id = PydanticObjectId(claims["sub"])
    except (jwt.PyJWTError, InvalidId, TypeError) as exc:
        raise Unauthorized("Invalid or expired token") from exc
    user = await User.get(user_id)
    if user is None or claims.get("ver", 0) != user.token_version:
        raise Unauthorized("Invalid or expired token")
    return user


async def current_user(
    request: Request, user: Annotated[User | None, Depends(optional_user)]
) -> User:
    """The signed-in user; a write (POST/PUT/PATCH/DELETE) also counts against RATE_LIMIT_WRITES.

    Every write that needs a user depends on this (directly or through AdminUser and the
    loaders), so the per-user write limit holds for every such route, present and future.
    """
    if user is None:
        raise Unauthorized()
    if request.method in ratelimit.WRITE_METHODS:
        await ratelimit.limit_writes(request, user_id=str(user.id))
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise Forbidden("Admin role required")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]

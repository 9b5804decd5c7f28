"""Passwords (passlib + argon2id, off the event loop), JWTs and the auth dependencies."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated

import jwt
from beanie import PydanticObjectId
from bson.errors import InvalidId
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from passlib.context import CryptContext
from starlette.concurrency import run_in_threadpool

from documents import User
from documents.clock import utcnow
from service.errors import Forbidden, Unauthorized
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


async def hash_password(settings: Settings, password: str) -> str:
    """Hash in a worker thread: argon2 takes ~200 ms of CPU with production parameters."""
    return await run_in_threadpool(password_context(settings).hash, password)


async def verify_password(
    settings: Settings, password: str, hashed: str
) -> tuple[bool, str | None]:
    """Check a password; returns (ok, new_hash) where new_hash is set when parameters changed."""
    return await run_in_threadpool(password_context(settings).verify_and_update, password, hashed)


async def dummy_verify(settings: Settings) -> None:
    """One verify's worth of argon2 work for a login to an unknown account (no user probing).

    passlib hashes its dummy password once per context and reuses it, so only the first unknown
    login in a process costs an extra hash.
    """
    await run_in_threadpool(password_context(settings).dummy_verify)


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


def get_settings_dep(request: Request) -> Settings:
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


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized()
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise Forbidden("Admin role required")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]

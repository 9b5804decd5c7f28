from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from service.accounts import service as accounts
from service.accounts.dependencies import UserDep
from service.accounts.schemas import (
    LoginIn,
    RegisterIn,
    RoleUpdate,
    TokenOut,
    UserMe,
    UserPublic,
    UserUpdate,
)
from service.errors import problem_responses
from service.pagination import Page, PageDep
from service.ratelimit import AuthRateLimit, ClientIp
from service.security import AdminUser, CurrentUser, SettingsDep
from service.validation import SearchText

# RATE_LIMIT_AUTH per client IP on every POST /auth/*: login guesses and "is this email
# registered?" probes cost the same
auth_router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[AuthRateLimit])
users_router = APIRouter(prefix="/users", tags=["users"])


@auth_router.post(
    "/register",
    summary="Create an account",
    status_code=status.HTTP_201_CREATED,
    response_model=UserMe,
    responses=problem_responses(409, 422, 429, 503),
)
async def register(data: RegisterIn, settings: SettingsDep) -> UserMe:
    """Register with name, email, password and optionally a home city."""
    user = await accounts.register(settings=settings, data=data)
    return await accounts.read_me(user)


@auth_router.post(
    "/token",
    summary="Log in (OAuth2 password form)",
    response_model=TokenOut,
    responses=problem_responses(401, 429, 503),
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep, ip: ClientIp
) -> TokenOut:
    """OAuth2 password flow; `username` is the email or the user name (Swagger's Authorize)."""
    user = await accounts.authenticate(
        settings=settings, identifier=form.username, password=form.password, ip=ip
    )
    return TokenOut.model_validate(accounts.issue_token(settings, user))


@auth_router.post(
    "/login",
    summary="Log in (JSON)",
    response_model=TokenOut,
    responses=problem_responses(401, 422, 429, 503),
)
async def login(data: LoginIn, settings: SettingsDep, ip: ClientIp) -> TokenOut:
    """Exchange email (or name) and password for a bearer token."""
    user = await accounts.authenticate(
        settings=settings, identifier=data.email, password=data.password, ip=ip
    )
    return TokenOut.model_validate(accounts.issue_token(settings, user))


@users_router.get(
    "/me", summary="My account", response_model=UserMe, responses=problem_responses(401)
)
async def read_me(user: CurrentUser) -> UserMe:
    """The caller's own account, with email and role."""
    return await accounts.read_me(user)


@users_router.patch(
    "/me",
    summary="Update my account",
    response_model=UserMe,
    responses=problem_responses(401, 403, 409, 422, 429),
)
async def update_me(
    changes: UserUpdate, user: CurrentUser, settings: SettingsDep, ip: ClientIp
) -> UserMe:
    """Change name, email, city or bio; a new password or email needs `current_password`."""
    user = await accounts.update(settings=settings, user=user, changes=changes, ip=ip)
    return await accounts.read_me(user)


@users_router.delete(
    "/me",
    summary="Delete my account",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 409),
)
async def delete_me(user: CurrentUser) -> Response:
    """Delete the caller's account and everything that belongs to it (the last admin: 409)."""
    await accounts.delete(user=user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.get("", summary="Search users", response_model=Page[UserPublic])
async def list_users(
    page: PageDep,
    search: Annotated[
        SearchText | None, Query(max_length=40, description="Part of the name")
    ] = None,
) -> Page[UserPublic]:
    """Public profiles whose name contains `search` (case-insensitive), by name."""
    return await accounts.search(query=search, page=page)


@users_router.get(
    "/by-name/{name}",
    summary="User by name",
    response_model=UserPublic,
    responses=problem_responses(404),
)
async def get_by_name(name: str) -> UserPublic:
    """A public profile by user name (case-insensitive)."""
    return await accounts.read_public(await accounts.get_by_name(name))


@users_router.get(
    "/by-email/{email}",
    summary="User by email",
    response_model=UserMe,
    responses=problem_responses(401, 403, 404),
)
async def get_by_email(email: str, user: CurrentUser) -> UserMe:
    """Admins look anyone up by email; others only themselves."""
    return await accounts.read_me(await accounts.get_by_email(email=email, actor=user))


@users_router.get(
    "/{user_id}", summary="User by id", response_model=UserPublic, responses=problem_responses(404)
)
async def get_user(target: UserDep) -> UserPublic:
    """A public profile (no email, no role)."""
    return await accounts.read_public(target)


# Admin endpoints: AdminUser comes first, so FastAPI checks the caller (401/403) before it
# loads the target (404) and callers without the right learn nothing about which ids exist.
@users_router.delete(
    "/{user_id}",
    summary="Delete a user (admin)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409),
)
async def delete_user(admin: AdminUser, target: UserDep) -> Response:
    """Delete any account and everything that belongs to it (the last admin: 409)."""
    await accounts.delete(user=target)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.patch(
    "/{user_id}/role",
    summary="Set a user's role (admin)",
    response_model=UserMe,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def set_role(admin: AdminUser, target: UserDep, data: RoleUpdate) -> UserMe:
    """Grant or remove the admin role; there is always at least one admin (409)."""
    user = await accounts.set_role(target=target, role=data.role, actor=admin)
    return await accounts.read_me(user)

"""Accounts: registration, login (with brute-force lockout), profiles, roles, deletion."""

from __future__ import annotations

import logging
import re
from datetime import UTC, timedelta

from beanie import PydanticObjectId, SortDirection
from pymongo.errors import DuplicateKeyError

from documents import LoginFailure, User
from documents.clock import utcnow
from service import events
from service.accounts.schemas import RegisterIn, UserMe, UserPublic, UserUpdate
from service.cities import service as cities
from service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from service.pagination import Page, PageParams, fetch_page
from service.security import create_access_token, dummy_verify, hash_password, verify_password
from service.settings import Settings
from service.updates import update_or_404

log = logging.getLogger("service.accounts")

BAD_CREDENTIALS = "Incorrect email/name or password"


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


async def _to_public(users: list[User]) -> list[dict]:
    names = await cities.names_by_id({u.city_id for u in users if u.city_id})
    return [
        {
            "id": str(u.id),
            "name": u.name,
            "city": names.get(u.city_id) if u.city_id else None,
            "city_id": str(u.city_id) if u.city_id else None,
            "bio": u.bio,
            "xp": u.xp,
            "level": u.level,
            "created_at": u.created_at,
            "email": u.email,
            "role": u.role,
        }
        for u in users
    ]


async def read_public(user: User) -> UserPublic:
    return UserPublic.model_validate((await _to_public([user]))[0])


async def read_me(user: User) -> UserMe:
    return UserMe.model_validate((await _to_public([user]))[0])


async def public_page(users: list[User], total: int, page: PageParams) -> Page[UserPublic]:
    items = [UserPublic.model_validate(u) for u in await _to_public(users)]
    return Page[UserPublic](items=items, total=total, limit=page.limit, offset=page.offset)


async def _ensure_unique(*, name: str | None, email: str | None, exclude: PydanticObjectId | None):
    if name is not None:
        other = await User.find_one(User.name_key == name_key(name))
        if other is not None and other.id != exclude:
            raise Conflict(f"The name {name!r} is already taken")
    if email is not None:
        other = await User.find_one(User.email == email.lower())
        if other is not None and other.id != exclude:
            raise Conflict("An account with this email already exists")


async def _home_city(*, city: str | None, city_id: int | str | None) -> cities.HomeCity | None:
    """The home city a request names (`city` or `city_id`), resolved without storing anything."""
    if city_id is not None:
        return await cities.resolve(city_id=city_id)
    if city:
        return await cities.resolve(name=city)
    return None


async def register(*, settings: Settings, data: RegisterIn, role: str = "user") -> User:
    email = str(data.email).lower()
    # resolved (a 422 for an unknown city) before anything is stored; stored after the user
    home = await _home_city(city=data.city, city_id=data.city_id)
    await _ensure_unique(name=data.name, email=email, exclude=None)
    user = User(
        name=data.name,
        name_key=name_key(data.name),
        email=email,
        password_hash=await hash_password(settings, data.password),
        role=role,  # type: ignore[arg-type]
    )
    try:
        await user.insert()
    except DuplicateKeyError as exc:  # lost a race with a concurrent registration
        raise Conflict("The name or email is already taken") from exc
    if home is not None:
        await cities.set_home_city(user=user, city=home)
    return user


def _window(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.login_window_minutes)


def _locked(retry: float) -> TooManyRequests:
    return TooManyRequests(
        "Too many failed logins for this account; try again later", retry_after=int(retry) + 1
    )


async def _check_lockout(settings: Settings, account: str) -> None:
    since = utcnow() - _window(settings)
    recent = (
        await LoginFailure.find(LoginFailure.account == account, LoginFailure.at >= since)
        .sort([("at", SortDirection.DESCENDING)])
        .limit(settings.login_max_failures)
        .to_list()
    )
    if len(recent) >= settings.login_max_failures:
        oldest = recent[-1].at
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        raise _locked((oldest + _window(settings) - utcnow()).total_seconds())


async def _claim_attempt(settings: Settings, account: str) -> None:
    """Store this attempt as a failure *before* the password is checked.

    Checking first and recording afterwards would let a burst of parallel guesses all pass the
    check; this way only the first `login_max_failures` attempts of a burst (by id) go on.
    A correct password removes the record again.
    """
    attempt = await LoginFailure(account=account).insert()
    earlier = await LoginFailure.find(
        LoginFailure.account == account,
        LoginFailure.at >= utcnow() - _window(settings),
        {"_id": {"$lt": attempt.id}},
    ).count()
    if earlier >= settings.login_max_failures:
        await attempt.delete()
        await _check_lockout(settings, account)
        raise _locked(_window(settings).total_seconds())


async def authenticate(*, settings: Settings, identifier: str, password: str) -> User:
    """Check credentials. Unknown account and wrong password answer the same 401."""
    ident = identifier.strip()
    if "@" in ident:
        user = await User.find_one(User.email == ident.lower())
    else:
        user = await User.find_one(User.name_key == name_key(ident))
    account = f"user:{user.id}" if user else f"unknown:{ident.lower()}"
    await _check_lockout(settings, account)  # while locked, refuse without storing anything
    await _claim_attempt(settings, account)
    if user is None:
        await dummy_verify(settings)
        ok, new_hash = False, None
    else:
        ok, new_hash = await verify_password(settings, password, user.password_hash)
    if not ok or user is None:
        raise Unauthorized(BAD_CREDENTIALS)  # the claimed attempt stays, as this failure
    await LoginFailure.find(LoginFailure.account == account).delete()
    if new_hash:
        await user.set({User.password_hash: new_hash})
    return user


def issue_token(settings: Settings, user: User) -> dict:
    token, expires_in = create_access_token(settings, user)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


async def _confirm_current_password(
    *, settings: Settings, user: User, current: str | None, purpose: str
) -> None:
    """`current_password` guards password and email changes: a stolen token alone takes over
    no account. Guesses count against the same lockout as failed logins."""
    if not current:
        raise Unprocessable(
            f"current_password is required to {purpose}", loc=("body", "current_password")
        )
    account = f"user:{user.id}"
    await _check_lockout(settings, account)
    await _claim_attempt(settings, account)
    ok, _ = await verify_password(settings, current, user.password_hash)
    if not ok:
        raise Forbidden("current_password is incorrect")
    await LoginFailure.find(LoginFailure.account == account).delete()


async def update(*, settings: Settings, user: User, changes: UserUpdate) -> User:
    data = changes.model_dump(exclude_unset=True)
    before = user.model_copy()
    if data.get("name") is None:
        data.pop("name", None)
    new_email = str(data["email"]).lower() if data.get("email") is not None else None
    if new_email == user.email:
        new_email = None  # the same address (in any case) changes nothing and needs no password
    home = await _home_city(city=data.get("city"), city_id=data.get("city_id"))
    new_password = data.get("password")
    if new_password is not None or new_email is not None:
        # checked before uniqueness, so a stolen token cannot probe which emails have accounts
        purpose = "set a new password" if new_password is not None else "change the email"
        await _confirm_current_password(
            settings=settings, user=user, current=data.get("current_password"), purpose=purpose
        )
    elif "current_password" in data:
        raise Unprocessable(
            "current_password is only used together with password or email",
            loc=("body", "current_password"),
        )
    await _ensure_unique(name=data.get("name"), email=new_email, exclude=user.id)
    sets: dict = {}
    if "name" in data:
        sets["name"] = data["name"]
        sets["name_key"] = name_key(data["name"])
    if new_email is not None:
        sets["email"] = new_email
    if "bio" in data:
        sets["bio"] = data["bio"] or None
    change: dict = {}
    if new_password is not None:
        sets["password_hash"] = await hash_password(settings, new_password)
        # $inc, not a value computed from this request's read: two concurrent changes must
        # both invalidate the tokens issued before them
        change["$inc"] = {"token_version": 1}
    if sets:
        change["$set"] = sets
    if change:
        # a concurrent rename to the same name loses here (409); a deleted account is a 404
        user = await update_or_404(
            user, change, what="User", conflict="The name or email is already taken"
        )
    if home is not None:
        await cities.set_home_city(user=user, city=home)
    await events.user_updated.emit(before=before, after=user)
    return user


async def _demote(user_id: PydanticObjectId | None, *, refusal: str) -> None:
    """Take the admin role away, unless that leaves no admin at all (409 `refusal`).

    Written first and checked afterwards, so two admins demoting each other at once cannot
    both pass a check made before either write: the demotion that finds no admin left undoes
    itself. Only demotions remove admins and each is followed by its own check, so the check
    after the last demotion sees every other one and keeps at least one admin.
    """
    users = User.get_motor_collection()
    demoted = await users.update_one({"_id": user_id, "role": "admin"}, {"$set": {"role": "user"}})
    if not demoted.modified_count:
        return  # not an admin (any more): nothing to guard
    if await users.count_documents({"role": "admin"}, limit=1) == 0:
        await users.update_one({"_id": user_id, "role": "user"}, {"$set": {"role": "admin"}})
        raise Conflict(refusal)


async def delete(*, user: User) -> None:
    """Delete an account; hooked domains remove what belongs to it first.

    The last admin is refused (409) before anything is removed.
    """
    await _demote(
        user.id, refusal="The last admin cannot be deleted; make someone else admin first"
    )
    await events.user_deleted.emit(user=user)
    await LoginFailure.find(LoginFailure.account == f"user:{user.id}").delete()
    await user.delete()


async def set_role(*, target: User, role: str, actor: User) -> User:
    if target.id == actor.id and role != "admin":
        raise Conflict("Admins cannot remove their own admin role")
    if role == "admin":
        return await update_or_404(target, {"$set": {"role": "admin"}}, what="User")
    await _demote(
        target.id, refusal="The last admin cannot be demoted; make someone else admin first"
    )
    assert target.id is not None
    return await get(target.id)  # 404 if the account was deleted meanwhile


async def get(user_id: PydanticObjectId) -> User:
    user = await User.get(user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found")
    return user


async def get_by_name(name: str) -> User:
    user = await User.find_one(User.name_key == name_key(name))
    if user is None:
        raise NotFound(f"User {name!r} not found")
    return user


async def get_by_email(*, email: str, actor: User) -> User:
    email = email.strip().lower()
    if actor.role != "admin" and actor.email != email:
        raise Forbidden("Only admins can look up other users by email")
    user = await User.find_one(User.email == email)
    if user is None:
        raise NotFound("No user with this email")
    return user


async def search(*, query: str | None, page: PageParams) -> Page[UserPublic]:
    criteria: dict = {}
    if query and query.strip():
        criteria["name_key"] = {"$regex": re.escape(name_key(query))}
    users, total = await fetch_page(User, criteria, [("name_key", 1)], page)
    return await public_page(users, total, page)


async def ensure_admin(settings: Settings) -> None:
    """Create the ADMIN_EMAIL account, or restore its admin role, at startup.

    Several API processes may start at once on one database: one creates the account, the
    others lose the race (on the email or the name) and find it on their next look.
    """
    if not settings.admin_email or not settings.admin_password:
        return
    email = settings.admin_email.lower()
    password = settings.admin_password.get_secret_value()
    for _ in range(3):
        existing = await User.find_one(User.email == email)
        if existing is not None:
            restored = await User.get_motor_collection().update_one(
                {"_id": existing.id, "role": {"$ne": "admin"}}, {"$set": {"role": "admin"}}
            )
            if restored.modified_count:
                log.info("Restored the admin role of %s", email)
            return
        name = email.split("@")[0][:40]
        if len(name) < 2 or await User.find_one(User.name_key == name_key(name)):
            name = f"admin-{str(PydanticObjectId())[-6:]}"
        data = RegisterIn(name=name, email=email, password=password)
        try:
            await register(settings=settings, data=data, role="admin")
        except Conflict:
            continue  # another process took the email or the name meanwhile: look again
        log.info("Created the admin account %s", email)
        return
    raise RuntimeError(f"Could not create the admin account {email}")

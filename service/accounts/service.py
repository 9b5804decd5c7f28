"""Accounts: registration, login (with brute-force lockout), profiles, roles, deletion."""

from __future__ import annotations

import hashlib
import logging
import math
import re
from datetime import timedelta

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from documents import LoginFailure, User
from documents.clock import as_stored, utcnow
from service import events, queries, validation
from service.accounts.schemas import RegisterIn, UserMe, UserPublic, UserUpdate
from service.cities import service as cities
from service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from service.pagination import Page, PageParams, fetch_page
from service.security import create_access_token, dummy_verify, hash_password, verify_password
from service.settings import Settings
from service.updates import update_or_404
from service.xp.formulas import xp_to_next_level

log = logging.getLogger("service.accounts")

BAD_CREDENTIALS = "Incorrect email/name or password"


def name_key(name: str) -> str:
    """Names are unique in this form: NFKC, whitespace collapsed, casefolded."""
    return validation.name_key(name)


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
            "xp_to_next_level": xp_to_next_level(u.xp),
            "friends_count": u.friends_count,
            "default_visibility": u.default_visibility,
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


async def public_reads(users: list[User]) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in await _to_public(users)]


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


def _locked(retry: float, *, from_ip: bool) -> TooManyRequests:
    where = " from your address" if from_ip else ""
    return TooManyRequests(
        f"Too many failed logins for this account{where}; try again later",
        retry_after=math.ceil(retry),
    )


async def _claim(settings: Settings, *, key: str, account: str, limit: int, attempt: dict) -> None:
    """Record `attempt` under `key` unless `limit` failures already lie within the window.

    One conditional update on the server: it matches only while the limit-th newest failure is
    missing or older than the window, so of any number of parallel attempts exactly as many as
    the limit get through. Raises 429 (storing nothing) when locked.
    """
    collection = LoginFailure.get_motor_collection()
    window = _window(settings)
    oldest_counted = f"failures.{limit - 1}.at"
    for _ in range(3):
        try:
            await collection.update_one(
                {
                    "_id": key,
                    "$or": [
                        {oldest_counted: {"$exists": False}},
                        {oldest_counted: {"$lt": attempt["at"] - window}},
                    ],
                },
                {
                    "$push": {"failures": {"$each": [attempt], "$position": 0, "$slice": limit}},
                    "$set": {"account": account, "expires_at": attempt["at"] + window},
                },
                upsert=True,
            )
            return
        except DuplicateKeyError:
            # The key exists but did not match (locked), or a parallel first attempt inserted
            # it a moment ago: read it to tell which.
            doc = await collection.find_one({"_id": key})
            times = [as_stored(failure["at"]) for failure in (doc or {}).get("failures", [])]
            if len(times) >= limit and times[limit - 1] >= attempt["at"] - window:
                retry = times[limit - 1] + window - attempt["at"]
                raise _locked(retry.total_seconds(), from_ip="|" in key) from None
    raise _locked(1, from_ip="|" in key)


def _login_keys(account: str, ip: str) -> tuple[str, str]:
    return f"{account}|ip:{ip}", account


async def _claim_attempt(settings: Settings, account: str, ip: str) -> ObjectId:
    """Count this attempt as a failure *before* the password is checked, per (account, IP) and
    per account; a correct password takes it back (`_forget_attempt`). Returns its id.

    LOGIN_MAX_FAILURES per (account, client IP) locks out that address only, so nobody can lock
    an owner out by guessing at a public name; LOGIN_ACCOUNT_MAX_FAILURES per account, across all
    addresses, stops guessing from many. The pair is claimed first, so attempts refused for a
    locked pair never count against the account.
    """
    pair, whole = _login_keys(account, ip)
    attempt_id = ObjectId()
    attempt = {"id": attempt_id, "at": utcnow()}
    await _claim(
        settings, key=pair, account=account, limit=settings.login_max_failures, attempt=attempt
    )
    limit = settings.login_account_max_failures
    try:
        await _claim(settings, key=whole, account=account, limit=limit, attempt=attempt)
    except TooManyRequests:
        await _release_attempt(account, ip, attempt_id)
        raise
    return attempt_id


async def _release_attempt(account: str, ip: str, attempt_id: ObjectId) -> None:
    """Take an attempt back (its password was never checked)."""
    collection = LoginFailure.get_motor_collection()
    for key in _login_keys(account, ip):
        await collection.update_one({"_id": key}, {"$pull": {"failures": {"id": attempt_id}}})


async def _forget_attempt(account: str, ip: str, attempt_id: ObjectId) -> None:
    """A correct password: this address starts afresh; the attempt no longer counts as a failure."""
    pair, whole = _login_keys(account, ip)
    collection = LoginFailure.get_motor_collection()
    await collection.delete_one({"_id": pair})
    await collection.update_one({"_id": whole}, {"$pull": {"failures": {"id": attempt_id}}})


async def _verify_claimed(
    settings: Settings,
    user: User | None,
    password: str,
    *,
    account: str,
    ip: str,
    attempt: ObjectId,
) -> tuple[bool, str | None]:
    """Check the password of a claimed attempt (argon2 work for an unknown account too).

    When the server is too busy to check it (503), the attempt is given back: it guessed nothing.
    """
    try:
        if user is None:
            await dummy_verify(settings)
            return False, None
        return await verify_password(settings, password, user.password_hash)
    except ServiceUnavailable:
        await _release_attempt(account, ip, attempt)
        raise


def _account_key(user: User | None, identifier: str) -> str:
    if user is not None:
        return f"user:{user.id}"
    # unknown names are throttled like real ones, stored hashed: people type passwords there
    digest = hashlib.sha256(identifier.lower().encode()).hexdigest()[:32]
    return f"unknown:{digest}"


async def authenticate(*, settings: Settings, identifier: str, password: str, ip: str) -> User:
    """Check credentials. Unknown account and wrong password answer the same 401."""
    ident = identifier.strip()
    if "@" in ident:
        user = await User.find_one(User.email == ident.lower())
    else:
        user = await User.find_one(User.name_key == name_key(ident))
    account = _account_key(user, ident)
    claimed = await _claim_attempt(settings, account, ip)  # 429 while locked
    ok, new_hash = await _verify_claimed(
        settings, user, password, account=account, ip=ip, attempt=claimed
    )
    if not ok or user is None:
        raise Unauthorized(BAD_CREDENTIALS)  # the claimed attempt stays, as this failure
    await _forget_attempt(account, ip, claimed)
    if new_hash:
        await user.set({User.password_hash: new_hash})
    return user


def issue_token(settings: Settings, user: User) -> dict:
    token, expires_in = create_access_token(settings, user)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}


async def _confirm_current_password(
    *, settings: Settings, user: User, current: str | None, purpose: str, ip: str
) -> None:
    """`current_password` guards password and email changes: a stolen token alone takes over
    no account. Guesses count against the same lockout as failed logins."""
    if not current:
        raise Unprocessable(
            f"current_password is required to {purpose}", loc=("body", "current_password")
        )
    account = f"user:{user.id}"
    claimed = await _claim_attempt(settings, account, ip)
    ok, _ = await _verify_claimed(settings, user, current, account=account, ip=ip, attempt=claimed)
    if not ok:
        raise Forbidden("current_password is incorrect")
    await _forget_attempt(account, ip, claimed)


async def update(*, settings: Settings, user: User, changes: UserUpdate, ip: str) -> User:
    """`ip`: the client address, for the lockout that guesses at current_password count against."""
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
            settings=settings,
            user=user,
            current=data.get("current_password"),
            purpose=purpose,
            ip=ip,
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
    if "default_visibility" in data:
        sets["default_visibility"] = data["default_visibility"]
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
    # the account's tokens stop working before its things are removed: a request arriving
    # during the clean-up is a 401, not a like or a run stored after its owner's were removed
    # (one already past authentication can still land: README § Deleting an account)
    await User.get_motor_collection().update_one({"_id": user.id}, {"$inc": {"token_version": 1}})
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
    found = await fetch_page(queries.USERS_BY_NAME, criteria, page)
    return found.page(await public_reads(found.rows))


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

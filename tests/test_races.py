"""Races a one-request-at-a-time test never sees: each reproduced with a yielding store or a held
write, and each answered as a client should hear it (one winner, 404 or 409, never a 500)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx
import pytest

from documents import User
from service.accounts import service as accounts
from tests.conftest import assert_problem, make_settings
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

Send = Callable[[], Coroutine[Any, Any, httpx.Response]]


async def overtaken_by_delete(
    monkeypatch: pytest.MonkeyPatch,
    patch: Send,
    delete: Send,
    held_calls: tuple[str, ...] = ("update_one", "find_one_and_update"),
) -> httpx.Response:
    """Send `patch` (any write request), hold its first document update (or other of
    `held_calls`) until `delete` has removed the document, then let it go on; returns the
    first request's answer."""
    collection = type(User.get_motor_collection())
    reached, release = asyncio.Event(), asyncio.Event()
    for name in held_calls:
        original: Callable[..., Awaitable[Any]] = getattr(collection, name)

        async def held(self: Any, *args: Any, __original=original, **kwargs: Any) -> Any:
            if not reached.is_set():
                reached.set()
                await release.wait()
            return await __original(self, *args, **kwargs)

        monkeypatch.setattr(collection, name, held)
    answer = asyncio.create_task(patch())
    await reached.wait()
    deleted = await delete()
    assert deleted.status_code == 204, deleted.text
    release.set()
    return await answer


async def two_admins(api: Api) -> tuple[Account, Account]:
    return await api.admin(), await api.admin()


# --- PATCH racing DELETE of the same document: 404 -------------------------------------------


async def _user(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    user = await api.user()
    return (
        lambda: client.patch("/users/me", json={"name": "Renamed"}, headers=user.headers),
        lambda: client.delete("/users/me", headers=user.headers),
    )


async def _role(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    admin, other = await two_admins(api)
    user = await api.user()
    url = f"/users/{user.id}"
    return (
        lambda: client.patch(f"{url}/role", json={"role": "admin"}, headers=admin.headers),
        lambda: client.delete(url, headers=other.headers),
    )


async def _team(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    owner = await api.user()
    url = f"/teams/{(await api.team(owner))['id']}"
    return (
        lambda: client.patch(url, json={"name": "Renamed"}, headers=owner.headers),
        lambda: client.delete(url, headers=owner.headers),
    )


async def _competition(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    admin = await api.admin()
    url = f"/competitions/{(await api.competition(admin))['id']}"
    return (
        lambda: client.patch(url, json={"name": "Renamed"}, headers=admin.headers),
        lambda: client.delete(url, headers=admin.headers),
    )


async def _event(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    admin = await api.admin()
    url = f"/events/{(await api.event(admin, await api.competition(admin)))['id']}"
    return (
        lambda: client.patch(url, json={"name": "Renamed"}, headers=admin.headers),
        lambda: client.delete(url, headers=admin.headers),
    )


async def _athlete(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    athlete = await api.athlete()
    return (
        lambda: client.patch("/athletes/me", json={"bio": "Fast"}, headers=athlete.headers),
        lambda: client.delete("/athletes/me", headers=athlete.headers),
    )


async def _calendar_entry(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    admin = await api.admin()
    athlete = await api.athlete()
    entry = await api.enter(athlete, await api.event(admin, await api.competition(admin)))
    url = f"/athletes/me/calendar/{entry['id']}"
    return (
        lambda: client.patch(url, json={"status": "confirmed"}, headers=athlete.headers),
        lambda: client.delete(url, headers=athlete.headers),
    )


async def _run(api: Api, client: httpx.AsyncClient) -> tuple[Send, Send]:
    runner = await api.user(city="Paris")
    url = f"/runs/{(await api.run(runner))['id']}"
    return (
        lambda: client.patch(url, json={"notes": "Windy"}, headers=runner.headers),
        lambda: client.delete(url, headers=runner.headers),
    )


@pytest.mark.parametrize(
    "make",
    [_user, _role, _team, _competition, _event, _athlete, _calendar_entry, _run],
    ids=["user", "role", "team", "competition", "event", "athlete", "calendar-entry", "run"],
)
async def test_a_patch_overtaken_by_a_delete_is_404(
    api: Api,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[Api, httpx.AsyncClient], Awaitable[tuple[Send, Send]]],
) -> None:
    patch, delete = await make(api, client)
    assert_problem(await overtaken_by_delete(monkeypatch, patch, delete), 404)
    again = await patch()  # and it stays deleted (a deleted account's own token is refused)
    assert_problem(again, 401 if make is _user else 404)


# --- renames: one wins, the others 409 ---------------------------------------------------------


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_renames_of_users_to_one_name(api: Api, client: httpx.AsyncClient) -> None:
    users = [await api.user() for _ in range(6)]
    for round_ in range(3):  # each round interleaves differently
        name = f"Popular Name {round_}"
        responses = await asyncio.gather(
            *(client.patch("/users/me", json={"name": name}, headers=u.headers) for u in users)
        )
        assert sorted(r.status_code for r in responses) == [200] + [409] * 5, [
            r.text for r in responses
        ]
        [winner] = [u for u, r in zip(users, responses, strict=True) if r.status_code == 200]
        assert (await client.get(f"/users/by-name/{name}")).json()["id"] == winner.id


@pytest.mark.usefixtures("yielding_database")
async def test_concurrent_renames_of_teams_to_one_name(api: Api, client: httpx.AsyncClient) -> None:
    owners = [await api.user() for _ in range(6)]
    teams = [await api.team(owner) for owner in owners]
    for round_ in range(3):
        name = f"Popular Team {round_}"
        responses = await asyncio.gather(
            *(
                client.patch(f"/teams/{t['id']}", json={"name": name}, headers=o.headers)
                for t, o in zip(teams, owners, strict=True)
            )
        )
        assert sorted(r.status_code for r in responses) == [200] + [409] * 5, [
            r.text for r in responses
        ]
        found = (await client.get("/teams", params={"search": name})).json()["items"]
        assert [t["name"] for t in found] == [name]


# --- token_version moves with $inc ------------------------------------------------------------


async def test_two_concurrent_password_changes_both_log_out_older_tokens(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B read the account, A changed the password, someone logged in with A's password, then B
    finished: B's change must end that session too (a version computed from B's stale read
    would have matched the newer token)."""
    user = await api.user(password="password-0")
    original = accounts.hash_password
    held, release = asyncio.Event(), asyncio.Event()

    async def hash_password(settings: Any, password: str) -> str:
        if password == "password-B":
            held.set()
            await release.wait()
        return await original(settings, password)

    monkeypatch.setattr(accounts, "hash_password", hash_password)
    change_b = {"password": "password-B", "current_password": "password-0"}
    b = asyncio.create_task(client.patch("/users/me", json=change_b, headers=user.headers))
    await held.wait()
    change_a = {"password": "password-A", "current_password": "password-0"}
    assert (await client.patch("/users/me", json=change_a, headers=user.headers)).status_code == 200
    session_a = {"Authorization": f"Bearer {await api.login(user.email, 'password-A')}"}
    assert (await client.get("/users/me", headers=session_a)).status_code == 200
    release.set()
    assert (await b).status_code == 200

    assert_problem(await client.get("/users/me", headers=session_a), 401)
    fresh = {"Authorization": f"Bearer {await api.login(user.email, 'password-B')}"}
    assert (await client.get("/users/me", headers=fresh)).status_code == 200


# --- several API processes starting at once ---------------------------------------------------


@pytest.mark.usefixtures("yielding_database")
async def test_processes_starting_at_once_ensure_one_admin(client: httpx.AsyncClient) -> None:
    settings = make_settings(admin_email="Boss@Example.com", admin_password="admin-password")
    await asyncio.gather(*(accounts.ensure_admin(settings) for _ in range(4)))
    assert (await client.get("/users")).json()["total"] == 1
    r = await client.post(
        "/auth/login", json={"email": "boss@example.com", "password": "admin-password"}
    )
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/users/me", headers=headers)).json()["role"] == "admin"


# --- a follow overtaken by the profile's deletion -----------------------------------------------


async def test_a_follow_overtaken_by_the_profile_deletion_leaves_no_follow(
    api: Api, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The follow is stored after the deletion removed the profile's follows: taken back, 404."""
    athlete, fan = await api.athlete(), await api.user()
    answer = await overtaken_by_delete(
        monkeypatch,
        lambda: client.put(f"/users/me/following/{athlete.id}", headers=fan.headers),
        lambda: client.delete("/athletes/me", headers=athlete.headers),
        held_calls=("insert_one",),
    )
    assert_problem(answer, 404)
    following = await client.get("/users/me/following", headers=fan.headers)
    assert following.json()["total"] == 0

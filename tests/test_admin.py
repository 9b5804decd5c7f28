"""Roles: the startup admin, admin-only endpoints, and no way to raise one's own xp/level/role."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from beanie import PydanticObjectId

from documents import User
from service import db
from tests.conftest import TEST_MONGODB_URI, assert_problem, make_settings, serve
from tests.factories import Account, Api
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

ADMIN = {"admin_email": "Boss@Example.com", "admin_password": "admin-password"}


@pytest.fixture
def shared_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps started one after another see the same data, like restarts of one deployment."""
    if TEST_MONGODB_URI:
        return  # a real server already keeps the data between apps with the same settings
    from mongomock_motor import AsyncMongoMockClient

    client = AsyncMongoMockClient(tz_aware=True)
    monkeypatch.setattr(db, "make_client", lambda settings: client)


async def login_as(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    r = await client.post("/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_admin_account_is_created_at_startup() -> None:
    async with serve(make_settings(**ADMIN)) as client:
        headers = await login_as(client, "boss@example.com", "admin-password")
        me = (await client.get("/users/me", headers=headers)).json()
        assert me["role"] == "admin"
        assert me["email"] == "boss@example.com"
        # and it can use admin endpoints
        user = await Api(client).user()
        assert (await client.delete(f"/users/{user.id}", headers=headers)).status_code == 204


async def test_no_admin_without_both_settings(client: httpx.AsyncClient) -> None:
    assert (await client.get("/users")).json()["total"] == 0


@pytest.mark.usefixtures("shared_store")
async def test_existing_account_gets_its_admin_role_back_at_startup() -> None:
    plain = make_settings()
    async with serve(plain, keep_database=True) as client:
        api = Api(client)
        boss = await api.user("The Boss", email="boss@example.com", password="boss-password")
        assert boss.body["role"] == "user"

    with_admin = make_settings(**ADMIN, mongodb_db=plain.mongodb_db)
    async with serve(with_admin, keep_database=True) as client:
        headers = await login_as(client, "boss@example.com", "boss-password")
        me = (await client.get("/users/me", headers=headers)).json()
        assert (me["id"], me["role"]) == (boss.id, "admin")
        # an admin demotes the boss (a second admin, promoted by the boss) ...
        deputy = await Api(client).user("Deputy")
        r = await client.patch(f"/users/{deputy.id}/role", json={"role": "admin"}, headers=headers)
        assert r.status_code == 200
        demote = {"role": "user"}
        r = await client.patch(f"/users/{boss.id}/role", json=demote, headers=deputy.headers)
        assert r.json()["role"] == "user"

    # ... and the next start restores it; the account is the same, not a new one
    async with serve(with_admin) as client:
        headers = await login_as(client, "boss@example.com", "boss-password")
        me = (await client.get("/users/me", headers=headers)).json()
        assert (me["id"], me["role"]) == (boss.id, "admin")
        assert (await client.get("/users")).json()["total"] == 2


# --- admin-only endpoints -------------------------------------------------------------------


async def test_admin_deletes_a_user(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    user = await api.user()
    r = await client.delete(f"/users/{user.id}", headers=admin.headers)
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await client.get(f"/users/{user.id}"), 404)
    assert_problem(await client.get("/users/me", headers=user.headers), 401)
    login = await client.post("/auth/login", json={"email": user.email, "password": user.password})
    assert_problem(login, 401)
    assert_problem(await client.delete(f"/users/{user.id}", headers=admin.headers), 404)


async def test_only_admins_delete_users(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user()
    victim = await api.user()
    assert_problem(await client.delete(f"/users/{victim.id}", headers=user.headers), 403)
    assert_problem(await client.delete(f"/users/{victim.id}"), 401)
    assert (await client.get(f"/users/{victim.id}")).status_code == 200


@pytest.mark.parametrize("target", ["0123456789abcdef01234567", "not-an-id"])
async def test_auth_is_checked_before_the_target(
    api: Api, client: httpx.AsyncClient, target: str
) -> None:
    """Callers without the right learn nothing about which ids exist."""
    user = await api.user()
    assert_problem(await client.delete(f"/users/{target}"), 401)
    assert_problem(await client.delete(f"/users/{target}", headers=user.headers), 403)
    role = {"role": "admin"}
    assert_problem(await client.patch(f"/users/{target}/role", json=role), 401)
    r = await client.patch(f"/users/{target}/role", json=role, headers=user.headers)
    assert_problem(r, 403)


async def test_admin_grants_and_removes_the_admin_role(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    user = await api.user()
    victim = await api.user()
    r = await client.patch(f"/users/{user.id}/role", json={"role": "admin"}, headers=admin.headers)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["role"]) == (user.id, "admin")
    # the new admin can act as one with the token they already had
    lookup = await client.get(f"/users/by-email/{victim.email}", headers=user.headers)
    assert lookup.status_code == 200

    r = await client.patch(f"/users/{user.id}/role", json={"role": "user"}, headers=admin.headers)
    assert r.json()["role"] == "user"
    assert_problem(await client.delete(f"/users/{victim.id}", headers=user.headers), 403)


async def test_only_admins_set_roles(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user()
    assert_problem(
        await client.patch(f"/users/{user.id}/role", json={"role": "admin"}, headers=user.headers),
        403,
    )
    assert_problem(await client.patch(f"/users/{user.id}/role", json={"role": "admin"}), 401)
    assert (await client.get("/users/me", headers=user.headers)).json()["role"] == "user"


@pytest.mark.parametrize(
    "body", [{"role": "root"}, {}, {"role": "admin", "xp": 10}, {"role": None}]
)
async def test_role_body_is_validated(
    api: Api, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    admin = await api.admin()
    user = await api.user()
    r = await client.patch(f"/users/{user.id}/role", json=body, headers=admin.headers)
    assert_problem(r, 422)
    assert (await client.get("/users/me", headers=user.headers)).json()["role"] == "user"


async def test_admin_cannot_demote_themself(api: Api, client: httpx.AsyncClient) -> None:
    admin = await api.admin()
    r = await client.patch(f"/users/{admin.id}/role", json={"role": "user"}, headers=admin.headers)
    assert_problem(r, 409)
    assert (await client.get("/users/me", headers=admin.headers)).json()["role"] == "admin"


async def test_the_last_admin_cannot_delete_their_account(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    body = assert_problem(await client.delete("/users/me", headers=admin.headers), 409)
    assert "last admin" in str(body["detail"])
    me = await client.get("/users/me", headers=admin.headers)
    assert (me.status_code, me.json()["role"]) == (200, "admin")


async def test_an_admin_leaves_while_another_admin_remains(
    api: Api, client: httpx.AsyncClient
) -> None:
    first, second = await api.admin(), await api.admin()
    assert (await client.delete("/users/me", headers=first.headers)).status_code == 204
    # the remaining admin is now the last one
    assert_problem(await client.delete("/users/me", headers=second.headers), 409)
    assert (await client.get("/users/me", headers=second.headers)).json()["role"] == "admin"


async def test_an_admin_deletes_another_admin(api: Api, client: httpx.AsyncClient) -> None:
    first, second = await api.admin(), await api.admin()
    assert (await client.delete(f"/users/{second.id}", headers=first.headers)).status_code == 204
    assert_problem(await client.get(f"/users/{second.id}"), 404)


@pytest.mark.usefixtures("yielding_database")
async def test_two_admins_demoting_each_other_at_once_leave_an_admin(
    api: Api, client: httpx.AsyncClient
) -> None:
    users = User.get_motor_collection()
    first, second = await api.user(), await api.user()
    pair = [PydanticObjectId(first.id), PydanticObjectId(second.id)]
    for _ in range(6):  # each round interleaves differently
        await users.update_many({"_id": {"$in": pair}}, {"$set": {"role": "admin"}})
        demote = {"role": "user"}
        responses = await asyncio.gather(
            client.patch(f"/users/{second.id}/role", json=demote, headers=first.headers),
            client.patch(f"/users/{first.id}/role", json=demote, headers=second.headers),
        )
        # 403: the other demotion was through before this request was authorised
        statuses = sorted(r.status_code for r in responses)
        assert statuses in ([200, 403], [200, 409], [409, 409]), [r.text for r in responses]
        roles = [
            (await client.get("/users/me", headers=a.headers)).json()["role"]
            for a in (first, second)
        ]
        assert "admin" in roles
        # an answered demotion took effect; a refused one changed nothing
        assert roles[1] == ("user" if responses[0].status_code == 200 else "admin")
        assert roles[0] == ("user" if responses[1].status_code == 200 else "admin")


@pytest.mark.usefixtures("yielding_database")
async def test_an_admin_deleted_while_demoting_the_other_leaves_an_admin(
    api: Api, client: httpx.AsyncClient
) -> None:
    first, second = await api.admin(), await api.admin()
    demote, delete = await asyncio.gather(
        client.patch(f"/users/{second.id}/role", json={"role": "user"}, headers=first.headers),
        client.delete(f"/users/{first.id}", headers=second.headers),
    )
    # 403: one side lost its admin role before its request was authorised
    assert {demote.status_code, delete.status_code} <= {200, 204, 403, 404, 409}
    remaining = [
        r.json()["role"]
        for r in [await client.get("/users/me", headers=a.headers) for a in (first, second)]
        if r.status_code == 200
    ]
    assert "admin" in remaining


async def test_admin_sees_email_and_role_in_the_role_answer(
    api: Api, client: httpx.AsyncClient
) -> None:
    admin = await api.admin()
    user: Account = await api.user()
    r = await client.patch(f"/users/{user.id}/role", json={"role": "user"}, headers=admin.headers)
    assert r.status_code == 200
    assert (r.json()["email"], r.json()["role"]) == (user.email, "user")


# --- xp, level and role are the server's ----------------------------------------------------


async def test_no_endpoint_accepts_xp_or_level_and_only_the_admin_one_accepts_role(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]

    def fields(schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return set() if name in seen else fields(schemas[name], seen | {name})
        found = set(schema.get("properties", {}))
        for sub in schema.get("properties", {}).values():
            found |= fields(sub, seen)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                found |= fields(sub, seen)
        if "items" in schema:
            found |= fields(schema["items"], seen)
        return found

    writable: dict[str, set[str]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for content in op.get("requestBody", {}).get("content", {}).values():
                writable[f"{method.upper()} {path}"] = fields(content.get("schema", {}))
            for param in op.get("parameters", []):
                writable.setdefault(f"{method.upper()} {path}", set()).add(param["name"])
    assert writable  # the scan saw the request bodies
    assert {op for op, names in writable.items() if {"xp", "level"} & names} == set()
    assert {op for op, names in writable.items() if "role" in names} == {
        "PATCH /users/{user_id}/role"
    }


async def test_self_service_cannot_raise_xp_level_or_role(
    api: Api, client: httpx.AsyncClient
) -> None:
    user = await api.user()
    for changes in ({"xp": 10_000}, {"level": 50}, {"role": "admin"}):
        assert_problem(await client.patch("/users/me", json=changes, headers=user.headers), 422)
    r = await client.patch(f"/users/{user.id}/role", json={"role": "admin"}, headers=user.headers)
    assert_problem(r, 403)
    me = (await client.get("/users/me", headers=user.headers)).json()
    assert (me["xp"], me["level"], me["role"]) == (0, 1, "user")

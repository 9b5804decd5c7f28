"""Registration, login (form and JSON), tokens and the brute-force lockout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import time_machine
from fastapi import FastAPI

from service.main import create_app
from service.settings import Settings
from tests.conftest import assert_problem, make_settings, serve
from tests.test_runs_idempotency import yielding_database  # noqa: F401  (a fixture)

PASSWORD = "password123"


def registration(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Alice Runner", "email": "alice@example.com"}
    data["password"] = PASSWORD
    return {**data, **changes}


async def register(client: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    return await client.post("/auth/register", json=registration(**changes))


async def user_total(client: httpx.AsyncClient) -> int:
    total: int = (await client.get("/users")).json()["total"]
    return total


# --- registration ---------------------------------------------------------------------------


async def test_register_returns_the_owner_view(client: httpx.AsyncClient) -> None:
    before = datetime.now(UTC)
    r = await register(client, email="Alice@Example.COM", city="Berlin")
    assert r.status_code == 201
    user = r.json()
    assert {"id", "name", "email", "city", "role", "xp", "level", "created_at"} <= user.keys()
    assert user["name"] == "Alice Runner"
    assert user["email"] == "alice@example.com"
    assert user["city"] == "Berlin"
    assert user["role"] == "user"
    assert user["xp"] == 0
    assert user["level"] == 1
    assert len(user["id"]) == 24
    created = datetime.fromisoformat(user["created_at"])
    assert created.tzinfo is not None
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)
    assert not {"password", "password_hash", "token_version"} & user.keys()
    assert PASSWORD not in r.text
    assert "argon2" not in r.text


async def test_register_without_city(client: httpx.AsyncClient) -> None:
    r = await register(client)
    assert r.status_code == 201
    assert r.json()["city"] is None


async def test_registered_user_is_visible_by_id(client: httpx.AsyncClient) -> None:
    created = (await register(client)).json()
    r = await client.get(f"/users/{created['id']}")
    assert r.status_code == 200
    assert r.json()["name"] == "Alice Runner"


@pytest.mark.parametrize("name", ["Al", "x" * 40, "Zoë Ω", "Mary-Jane O'Neil"])
async def test_name_lengths_and_characters_accepted(client: httpx.AsyncClient, name: str) -> None:
    r = await register(client, name=name)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name


@pytest.mark.parametrize(
    "name", ["A", "x" * 41, "   ", "  B  ", "a/b", "ann@home", "bell\x07ringer"]
)
async def test_bad_names_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, name: str
) -> None:
    body = assert_problem(await register(client, name=name), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "name"]]  # type: ignore[union-attr]
    assert await user_total(client) == 0


async def test_name_whitespace_is_normalised(client: httpx.AsyncClient) -> None:
    r = await register(client, name="  Alice    Runner ")
    assert r.status_code == 201
    assert r.json()["name"] == "Alice Runner"


@pytest.mark.parametrize("city", ["", "!!!", "x" * 81])
async def test_bad_city_is_422_and_nothing_is_stored(client: httpx.AsyncClient, city: str) -> None:
    body = assert_problem(await register(client, city=city), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "city"]]  # type: ignore[union-attr]
    assert await user_total(client) == 0
    # the name and email are still free
    assert (await register(client, city="Berlin")).status_code == 201


@pytest.mark.parametrize("other", ["alice runner", "ALICE RUNNER", " Alice  Runner "])
async def test_name_is_unique_case_insensitively(client: httpx.AsyncClient, other: str) -> None:
    assert (await register(client)).status_code == 201
    r = await register(client, name=other, email="other@example.com")
    assert "name" in str(assert_problem(r, 409)["detail"])
    assert await user_total(client) == 1


@pytest.mark.parametrize("other", ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@example.com"])
async def test_email_is_unique_case_insensitively(client: httpx.AsyncClient, other: str) -> None:
    assert (await register(client)).status_code == 201
    r = await register(client, name="Someone Else", email=other)
    assert "email" in str(assert_problem(r, 409)["detail"])
    assert await user_total(client) == 1


async def test_parallel_registrations_of_one_name_or_email_make_one_account(
    client: httpx.AsyncClient,
) -> None:
    """The unique indexes decide races the up-front check cannot see."""
    same_name = [register(client, name="Twin Peaks", email=f"t{i}@example.com") for i in range(4)]
    same_email = [register(client, name=f"Email Twin {i}", email="t@example.com") for i in range(4)]
    answers = await asyncio.gather(*same_name, *same_email)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201, 201] + [409] * 6
    for r in answers:
        if r.status_code == 409:
            assert_problem(r, 409)
    assert await user_total(client) == 2


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com", ""])
async def test_invalid_email_is_422(client: httpx.AsyncClient, email: str) -> None:
    body = assert_problem(await register(client, email=email), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "email"]]  # type: ignore[union-attr]
    assert await user_total(client) == 0


@pytest.mark.parametrize("password", ["x" * 8, "x" * 128])
async def test_password_lengths_accepted(client: httpx.AsyncClient, password: str) -> None:
    assert (await register(client, password=password)).status_code == 201
    r = await client.post("/auth/login", json={"email": "alice@example.com", "password": password})
    assert r.status_code == 200


@pytest.mark.parametrize("password", ["x" * 7, "x" * 129, ""])
async def test_bad_password_lengths_are_422(client: httpx.AsyncClient, password: str) -> None:
    body = assert_problem(await register(client, password=password), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "password"]]  # type: ignore[union-attr]
    assert await user_total(client) == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"role": "admin"},
        {"xp": 1_000_000},
        {"level": 99},
        {"id": "0123456789abcdef01234567"},
        {"password_hash": "$argon2id$v=19$whatever"},
        {"created_at": "2001-01-01T00:00:00Z"},
    ],
)
async def test_unknown_fields_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, extra: dict[str, Any]
) -> None:
    body = assert_problem(await register(client, **extra), 422)
    [field] = extra
    assert [e["loc"] for e in body["errors"]] == [["body", field]]  # type: ignore[union-attr]
    assert await user_total(client) == 0
    r = await client.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    assert_problem(r, 401)


# --- login ----------------------------------------------------------------------------------


def claims_of(token: str, settings: Settings) -> dict[str, Any]:
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    decoded: dict[str, Any] = jwt.decode(token, settings.jwt_key, algorithms=["HS256"])
    return decoded


@pytest.mark.parametrize("username", ["alice@example.com", "ALICE@example.com", "alice runner"])
async def test_token_endpoint_takes_email_or_name(
    client: httpx.AsyncClient, settings: Settings, username: str
) -> None:
    user_id = (await register(client)).json()["id"]
    r = await client.post("/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()
    assert token.keys() == {"access_token", "token_type", "expires_in"}
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 60 * 60
    assert claims_of(token["access_token"], settings)["sub"] == user_id


@pytest.mark.parametrize("identifier", ["alice@example.com", " Alice@Example.com ", "Alice Runner"])
async def test_json_login_takes_email_or_name(
    client: httpx.AsyncClient, settings: Settings, identifier: str
) -> None:
    user_id = (await register(client)).json()["id"]
    r = await client.post("/auth/login", json={"email": identifier, "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()
    assert token.keys() == {"access_token", "token_type", "expires_in"}
    assert token["token_type"] == "bearer"
    claims = claims_of(token["access_token"], settings)
    assert claims["sub"] == user_id
    assert claims["exp"] - claims["iat"] == token["expires_in"] == 3600
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user_id


async def test_token_lifetime_follows_access_token_minutes() -> None:
    settings = make_settings(access_token_minutes=5)
    async with serve(settings) as client:
        await register(client)
        r = await client.post(
            "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
        token = r.json()
        assert token["expires_in"] == 300
        claims = claims_of(token["access_token"], settings)
        assert claims["exp"] - claims["iat"] == 300
        assert abs(claims["exp"] - (datetime.now(UTC).timestamp() + 300)) < 5


async def test_unknown_user_and_wrong_password_get_the_same_401(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    wrong = await client.post(
        "/auth/login", json={"email": "alice@example.com", "password": "wrong-password"}
    )
    unknown = await client.post(
        "/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"}
    )
    assert_problem(wrong, 401)
    assert wrong.json() == unknown.json()
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"

    form_wrong = await client.post(
        "/auth/token", data={"username": "Alice Runner", "password": "wrong-password"}
    )
    form_unknown = await client.post(
        "/auth/token", data={"username": "Nobody", "password": "wrong-password"}
    )
    assert_problem(form_wrong, 401)
    assert form_wrong.json() == form_unknown.json() == wrong.json()


async def test_login_rejects_unknown_fields(client: httpx.AsyncClient) -> None:
    await register(client)
    r = await client.post(
        "/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD, "role": "admin"},
    )
    assert_problem(r, 422)


async def test_token_endpoint_requires_both_fields(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/auth/token", data={"username": "x"}), 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "password"]]  # type: ignore[union-attr]


# --- tokens ---------------------------------------------------------------------------------


def forged(settings: Settings, user_id: str, **claims: Any) -> str:
    now = datetime.now(UTC)
    payload = {"sub": user_id, "iat": now, "exp": now + timedelta(minutes=5), **claims}
    return jwt.encode(payload, settings.jwt_key, algorithm="HS256")


async def me_with(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})


async def test_valid_token_for_the_user_works(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user_id = (await register(client)).json()["id"]
    assert (await me_with(client, forged(settings, user_id))).status_code == 200


async def test_bad_tokens_are_401(client: httpx.AsyncClient, settings: Settings) -> None:
    user_id = (await register(client)).json()["id"]
    past = datetime.now(UTC) - timedelta(minutes=10)
    bad_tokens = [
        "not-a-jwt",
        forged(settings, user_id, exp=past),
        jwt.encode({"sub": user_id, "exp": datetime.now(UTC) + timedelta(minutes=5)}, "x" * 32),
        jwt.encode({"sub": user_id}, settings.jwt_key, algorithm="HS256"),  # no expiry
        forged(settings, "not-an-object-id"),
        forged(settings, "0123456789abcdef01234567"),  # nobody
        jwt.encode(
            {"sub": user_id, "exp": datetime.now(UTC) + timedelta(minutes=5)},
            None,
            algorithm="none",
        ),
    ]
    for token in bad_tokens:
        r = await me_with(client, token)
        assert_problem(r, 401)
        assert r.headers["WWW-Authenticate"] == "Bearer"


# --- brute-force lockout --------------------------------------------------------------------


async def fail(client: httpx.AsyncClient, identifier: str = "alice@example.com") -> httpx.Response:
    return await client.post(
        "/auth/login", json={"email": identifier, "password": "wrong-password"}
    )


async def login(client: httpx.AsyncClient, identifier: str = "alice@example.com") -> httpx.Response:
    return await client.post("/auth/login", json={"email": identifier, "password": PASSWORD})


# In the future, so a real server's TTL monitor never reaps a counter in the middle of a test.
START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests reach the app from `address` (the ASGI peer)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def stored_failures(app: FastAPI) -> list[int]:
    """How many failures each stored counter holds (one per (account, IP) and per account)."""
    docs = await app.state.database["login_failures"].find({}).to_list(None)
    return sorted(len(doc["failures"]) for doc in docs)


async def test_five_failures_lock_the_account_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    for _ in range(5):
        assert_problem(await fail(client), 401)
    locked = await fail(client)
    body = assert_problem(locked, 429)
    assert "Too many" in str(body["detail"])
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60 + 1

    # locked for the right password too, and whichever way the account is named
    assert_problem(await login(client), 429)
    assert_problem(await login(client, "ALICE RUNNER"), 429)
    form = await client.post("/auth/token", data={"username": "alice runner", "password": PASSWORD})
    assert_problem(form, 429)
    assert "Retry-After" in form.headers


@pytest.mark.usefixtures("yielding_database")
async def test_parallel_guesses_get_no_more_than_five_tries(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An attacker firing many guesses at once still gets only five before the lockout.

    Through a store that yields at every call, as a networked driver does: attempts are claimed
    by one conditional update on the server, not by comparing ids made by the client.
    """
    await register(client)
    answers = await asyncio.gather(*(fail(client) for _ in range(12)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [401] * 5 + [429] * 7
    assert await stored_failures(app) == [5, 5]
    assert_problem(await login(client), 429)


async def test_lockout_is_per_account(client: httpx.AsyncClient) -> None:
    await register(client)
    await register(client, name="Bob Runner", email="bob@example.com")
    for _ in range(5):
        await fail(client)
    assert_problem(await login(client), 429)
    assert (await login(client, "bob@example.com")).status_code == 200


async def test_unknown_accounts_are_throttled_like_real_ones(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert_problem(await fail(client, "ghost@example.com"), 401)
    assert_problem(await fail(client, "ghost@example.com"), 429)


async def test_the_counter_lives_in_mongodb(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register(client)
    for _ in range(5):
        await fail(client)
    failures = app.state.database["login_failures"]
    assert await stored_failures(app) == [5, 5]  # this address's counter and the account's
    assert_problem(await login(client), 429)
    # clearing the stored failures (as another process's success would) unlocks at once
    await failures.delete_many({})
    assert (await login(client)).status_code == 200


async def test_login_works_again_after_the_window(
    client: httpx.AsyncClient, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(START, tick=False)
    await register(client)
    for _ in range(5):
        await fail(client)
    assert_problem(await login(client), 429)

    time_machine.shift(timedelta(minutes=14))
    locked = await login(client)
    assert_problem(locked, 429)
    assert int(locked.headers["Retry-After"]) == 60

    time_machine.shift(timedelta(minutes=1, seconds=1))
    assert (await login(client)).status_code == 200


async def test_old_failures_do_not_count(
    client: httpx.AsyncClient, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(START, tick=False)
    await register(client)
    for _ in range(4):
        await fail(client)
    time_machine.shift(timedelta(minutes=16))
    for _ in range(4):
        assert_problem(await fail(client), 401)
    assert (await login(client)).status_code == 200


async def test_the_lockout_is_per_client_address(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Names are public: guesses from one address must not lock the owner out everywhere."""
    await register(client)
    async with from_address(app, "203.0.113.66") as attacker:
        for _ in range(5):
            assert_problem(await fail(attacker), 401)
        assert_problem(await fail(attacker), 429)
        assert_problem(await login(attacker), 429)  # even with the right password
        assert "from your address" in str((await login(attacker)).json()["detail"])
    async with from_address(app, "198.51.100.20") as owner:
        assert (await login(owner)).status_code == 200
        assert (await login(owner, "Alice Runner")).status_code == 200
        # the owner's own mistakes are counted apart from the attacker's
        for _ in range(4):
            assert_problem(await fail(owner), 401)
        assert (await login(owner)).status_code == 200


async def test_the_lockout_follows_the_address_a_trusted_proxy_forwards() -> None:
    async with serve(make_settings(trusted_proxies="127.0.0.1")) as client:
        await register(client)
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        for _ in range(5):
            await client.post(
                "/auth/login",
                json={"email": "alice@example.com", "password": "wrong"},
                headers=attacker,
            )
        right = {"email": "alice@example.com", "password": PASSWORD}
        assert_problem(await client.post("/auth/login", json=right, headers=attacker), 429)
        owner = {"X-Forwarded-For": "198.51.100.20"}
        assert (await client.post("/auth/login", json=right, headers=owner)).status_code == 200


async def test_the_account_ceiling_stops_guessing_from_many_addresses() -> None:
    settings = make_settings(login_account_max_failures=6)
    app = create_app(settings)
    async with serve(settings, app) as client:
        await register(client)
        for i in range(3):
            async with from_address(app, f"203.0.113.{i}") as bot:
                for _ in range(2):
                    assert_problem(await fail(bot), 401)
        async with from_address(app, "203.0.113.99") as bot:
            locked = await fail(bot)
        body = assert_problem(locked, 429)
        assert "from your address" not in str(body["detail"])
        assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
        async with from_address(app, "198.51.100.20") as owner:
            assert_problem(await login(owner), 429)


async def test_successful_logins_do_not_count_against_the_account_ceiling() -> None:
    async with serve(make_settings(login_account_max_failures=3)) as client:
        await register(client)
        for _ in range(6):
            assert (await login(client)).status_code == 200
        for _ in range(3):
            assert_problem(await fail(client), 401)
        assert_problem(await login(client), 429)


async def test_wrong_current_passwords_lock_that_address_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client)
    token = (await login(client)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    change = {"password": "new-password-1", "current_password": "wrong-guess"}
    async with from_address(app, "203.0.113.66") as thief:
        for _ in range(5):
            assert_problem(await thief.patch("/users/me", json=change, headers=headers), 403)
        right = {**change, "current_password": PASSWORD}
        assert_problem(await thief.patch("/users/me", json=right, headers=headers), 429)
        assert_problem(await login(thief), 429)
    assert (await login(client)).status_code == 200  # from the owner's own address


async def test_unknown_identifiers_are_not_stored_as_typed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """People type passwords into the name field: the counter keeps a digest, not the text."""
    await fail(client, "my-secret-password-typed-here")
    docs = await app.state.database["login_failures"].find({}).to_list(None)
    assert docs
    assert "my-secret-password" not in str(docs)


async def test_a_successful_login_resets_the_counter(client: httpx.AsyncClient) -> None:
    await register(client)
    for _ in range(4):
        await fail(client)
    assert (await login(client)).status_code == 200
    for _ in range(4):
        assert_problem(await fail(client), 401)
    assert (await login(client)).status_code == 200

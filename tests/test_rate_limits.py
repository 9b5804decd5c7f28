"""Rate limits: POST /auth/* per client IP, writes per user, RateLimit-* headers, client IPs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from pydantic import ValidationError

from service.main import create_app
from service.settings import Settings
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Api

RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def rate(response: httpx.Response) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response.headers[name]) for name in RATE_HEADERS)
    return limit, remaining, reset


async def bad_login(
    client: httpx.AsyncClient, email: str = "nobody@example.com", **kwargs: object
) -> httpx.Response:
    body = {"email": email, "password": "wrong-password"}
    return await client.post("/auth/login", json=body, **kwargs)  # type: ignore[arg-type]


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests reach the app from `address` (the ASGI peer)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


# --- POST /auth/* per client IP ---------------------------------------------------------------


async def test_logins_over_the_limit_get_429_with_rate_limit_headers() -> None:
    async with serve(make_settings(rate_limit_auth="3/minute")) as client:
        answers = [await bad_login(client) for _ in range(3)]
        for remaining, r in zip((2, 1, 0), answers, strict=True):
            assert_problem(r, 401)
            limit, left, reset = rate(r)
            assert (limit, left) == (3, remaining)
            assert 0 < reset <= 60

        over = await bad_login(client)
        body = assert_problem(over, 429)
        assert "Rate limit" in str(body["detail"])
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        limit, left, reset = rate(over)
        assert (limit, left) == (3, 0)
        assert reset == int(over.headers["Retry-After"])


async def test_register_and_login_share_the_limit_and_refused_registrations_store_nothing() -> None:
    async with serve(make_settings(rate_limit_auth="3/minute")) as client:
        await bad_login(client)
        await bad_login(client)
        first = {"name": "Ann Runner", "email": "ann@example.com", "password": "password123"}
        assert (await client.post("/auth/register", json=first)).status_code == 201
        second = {"name": "Bob Runner", "email": "bob@example.com", "password": "password123"}
        assert_problem(await client.post("/auth/register", json=second), 429)
        assert (await client.get("/users")).json()["total"] == 1
        form = await client.post("/auth/token", data={"username": "Ann Runner", "password": "x"})
        assert_problem(form, 429)


async def test_registering_an_existing_email_is_no_free_existence_oracle() -> None:
    async with serve(make_settings(rate_limit_auth="3/minute")) as client:
        taken = {"name": "Some One", "email": "ann@example.com", "password": "password123"}
        await client.post("/auth/register", json=taken)
        probes = [
            await client.post("/auth/register", json={**taken, "name": f"Probe {i}"})
            for i in range(3)
        ]
        assert [r.status_code for r in probes] == [409, 409, 429]
        assert_problem(probes[-1], 429)


async def test_the_auth_limit_is_per_client_address() -> None:
    settings = make_settings(rate_limit_auth="2/minute")
    app = create_app(settings)
    async with (
        serve(settings, app),
        client_from(app, "203.0.113.1") as first,
        client_from(app, "2001:db8::1") as v6,
    ):
        for _ in range(2):
            assert_problem(await bad_login(first), 401)
        assert_problem(await bad_login(first), 429)
        r = await bad_login(v6)
        assert_problem(r, 401)
        assert rate(r)[:2] == (2, 1)


async def test_parallel_first_requests_within_the_limit_all_pass() -> None:
    """On MongoDB the first requests for a new key race to insert its window: none of them may
    be refused while the window has room (the suite runs against a real driver too)."""
    async with serve(make_settings(rate_limit_auth="20/minute")) as client:
        # different names: five guesses at one name from one address would meet the lockout
        guesses = (bad_login(client, f"nobody{i}@example.com") for i in range(12))
        answers = await asyncio.gather(*guesses)
        assert sorted(r.status_code for r in answers) == [401] * 12
        assert sorted(rate(r)[1] for r in answers)[0] >= 20 - 12


async def test_the_window_moves(time_machine: time_machine.TimeMachineFixture) -> None:
    # in the future: a real server's TTL monitor must not reap the window mid-test
    time_machine.move_to("2030-03-04T10:00:00Z", tick=False)
    async with serve(make_settings(rate_limit_auth="2/minute")) as client:
        await bad_login(client)
        time_machine.shift(30)
        await bad_login(client)
        time_machine.shift(20)
        refused = await bad_login(client)
        assert_problem(refused, 429)
        # the first attempt leaves the window 60 s after it was made: 10 s from now
        assert int(refused.headers["Retry-After"]) == 10
        time_machine.shift(11)
        assert_problem(await bad_login(client), 401)  # room for one again
        assert_problem(await bad_login(client), 429)  # the one at +30 s is still inside


# --- X-Forwarded-For and TRUSTED_PROXIES ----------------------------------------------------


async def test_x_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    async with serve(make_settings(rate_limit_auth="2/minute")) as client:
        await bad_login(client, headers={"X-Forwarded-For": "198.51.100.1"})
        await bad_login(client, headers={"X-Forwarded-For": "198.51.100.2"})
        # a new forged address each time changes nothing: the peer is the client
        r = await bad_login(client, headers={"X-Forwarded-For": "198.51.100.3"})
        assert_problem(r, 429)


async def test_a_trusted_proxy_forwards_the_client_address() -> None:
    settings = make_settings(rate_limit_auth="2/minute", trusted_proxies="10.0.0.0/8, 127.0.0.1")
    async with serve(settings) as client:  # the ASGI peer is 127.0.0.1: a trusted proxy
        for _ in range(2):
            await bad_login(client, headers={"X-Forwarded-For": "198.51.100.7"})
        assert_problem(await bad_login(client, headers={"X-Forwarded-For": "198.51.100.7"}), 429)
        # another client behind the same proxy has its own budget
        other = await bad_login(client, headers={"X-Forwarded-For": "198.51.100.8"})
        assert_problem(other, 401)
        # the right-most untrusted address counts: what the client wrote to the left of it
        # (here a forged "1.2.3.4") and trusted hops to the right of it are skipped
        forged = await bad_login(
            client, headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 10.1.2.3"}
        )
        assert_problem(forged, 429)


async def test_an_untrusted_peer_cannot_pick_its_address() -> None:
    settings = make_settings(rate_limit_auth="1/minute", trusted_proxies="10.0.0.0/8")
    app = create_app(settings)
    async with serve(settings, app), client_from(app, "203.0.113.9") as client:
        assert_problem(await bad_login(client, headers={"X-Forwarded-For": "10.0.0.1"}), 401)
        assert_problem(await bad_login(client, headers={"X-Forwarded-For": "10.0.0.2"}), 429)


# --- writes per user ------------------------------------------------------------------------


async def test_writes_are_limited_per_user_and_reads_are_not() -> None:
    async with serve(make_settings(rate_limit_writes="3/minute")) as client:
        api = Api(client)
        ann, bob = await api.user(), await api.user()
        for remaining in (2, 1, 0):
            r = await client.patch("/users/me", json={"bio": f"{remaining}"}, headers=ann.headers)
            assert r.status_code == 200, r.text
            assert rate(r)[:2] == (3, remaining)

        refused = await client.patch("/users/me", json={"bio": "late"}, headers=ann.headers)
        assert_problem(refused, 429)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert rate(refused)[:2] == (3, 0)
        me = await client.get("/users/me", headers=ann.headers)
        assert me.status_code == 200
        assert me.json()["bio"] == "0"  # the refused write changed nothing
        assert "RateLimit-Limit" not in me.headers  # reads do not count

        r = await client.patch("/users/me", json={"bio": "mine"}, headers=bob.headers)
        assert r.status_code == 200
        assert rate(r)[:2] == (3, 2)


async def test_openapi_documents_the_write_limit_on_every_authenticated_write(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    writes = [
        (path, method, operation)
        for path, item in paths.items()
        for method, operation in item.items()
        if method in {"post", "put", "patch", "delete"} and operation.get("security")
    ]
    assert ("/runs", "post") in {(p, m) for p, m, _ in writes}
    for path, method, operation in writes:
        limited = operation["responses"].get("429")
        assert limited is not None, f"{method.upper()} {path} does not document its 429"
        assert set(RATE_HEADERS) | {"Retry-After"} <= limited["headers"].keys()
    # reads are not limited per user
    assert "429" not in paths["/runs"]["get"]["responses"]


async def test_a_no_content_answer_carries_the_headers_too() -> None:
    async with serve(make_settings(rate_limit_writes="5/minute")) as client:
        ann = await Api(client).user()
        r = await client.delete("/users/me", headers=ann.headers)
        assert r.status_code == 204
        assert rate(r)[:2] == (5, 4)


async def test_unauthenticated_writes_are_401_not_counted() -> None:
    async with serve(make_settings(rate_limit_writes="1/minute")) as client:
        for _ in range(3):
            r = await client.patch("/users/me", json={"bio": "x"})
            assert_problem(r, 401)
            assert "RateLimit-Limit" not in r.headers


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"rate_limit_auth": "ten per minute"},
        {"rate_limit_auth": "0/minute"},
        {"rate_limit_writes": ""},
        {"trusted_proxies": "10.0.0.0/8, proxy.example"},
    ],
)
def test_bad_limit_settings_are_refused_at_startup(overrides: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        make_settings(**overrides)


def test_limit_settings_take_the_limits_notation() -> None:
    settings = make_settings(rate_limit_auth="5/second;100/hour", trusted_proxies="")
    assert [(i.amount, i.get_expiry()) for i in settings.auth_limits] == [(5, 1), (100, 3600)]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.rate_limit_auth, defaults.rate_limit_writes) == ("10/minute", "120/minute")
    assert defaults.trusted_proxies == ""

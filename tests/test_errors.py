"""Every error is RFC 9457 problem+json: unknown routes, bad ids and bodies, crashes, big bodies."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from service.main import create_app
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Api


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/nope/nothing"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert "/nope/nothing" in str(body["detail"])


async def test_wrong_method_is_405_problem(client: httpx.AsyncClient) -> None:
    r = await client.put("/auth/register", json={})
    assert_problem(r, 405)
    assert r.headers["Allow"] == "POST"


async def test_missing_token_is_401_problem_with_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/users/me")
    body = assert_problem(r, 401)
    assert body["title"] == "Unauthorized"
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_validation_error_is_422_problem_naming_each_bad_field(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/auth/register", json={"name": "A", "email": "not-an-email", "password": "short"}
    )
    body = assert_problem(r, 422)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {tuple(e["loc"]) for e in errors} == {
        ("body", "name"),
        ("body", "email"),
        ("body", "password"),
    }
    for e in errors:
        assert e["msg"]
        assert e["type"]


async def test_missing_body_fields_are_named(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/auth/register", json={"name": "Ann"}), 422)
    missing = {tuple(e["loc"]) for e in body["errors"] if e["type"] == "missing"}  # type: ignore[union-attr]
    assert missing == {("body", "email"), ("body", "password")}


async def test_bad_query_parameters_are_named(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/users", params={"limit": 0, "offset": -1}), 422)
    assert {tuple(e["loc"]) for e in body["errors"]} == {  # type: ignore[union-attr]
        ("query", "limit"),
        ("query", "offset"),
    }


async def test_malformed_json_is_422_problem(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/auth/register", content=b'{"name": "Ann",', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(r, 422)
    assert body["errors"]


async def test_conflict_is_409_problem(api: Api, client: httpx.AsyncClient) -> None:
    await api.user("Taken", email="taken@example.com")
    r = await client.post(
        "/auth/register",
        json={"name": "Taken", "email": "other@example.com", "password": "password123"},
    )
    body = assert_problem(r, 409)
    assert body["title"] == "Conflict"


async def test_forbidden_is_403_problem(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.user()
    other = await api.user()
    r = await client.delete(f"/users/{other.id}", headers=user.headers)
    body = assert_problem(r, 403)
    assert body["title"] == "Forbidden"


@pytest.mark.parametrize(
    "bad_id",
    [
        "not-an-id",
        "123",
        "0" * 23,
        "0" * 25,
        "zzzzzzzzzzzzzzzzzzzzzzzz",
        "%C3%A9t%C3%A9",
        "64b7f1f1f1f1f1f1f1f1f1f1%00",
    ],
)
async def test_malformed_ids_in_paths_are_404_not_500(
    api: Api, client: httpx.AsyncClient, bad_id: str
) -> None:
    admin = await api.admin()
    assert_problem(await client.get(f"/users/{bad_id}"), 404)
    assert_problem(await client.delete(f"/users/{bad_id}", headers=admin.headers), 404)
    r = await client.patch(f"/users/{bad_id}/role", json={"role": "admin"}, headers=admin.headers)
    assert_problem(r, 404)


async def test_well_formed_id_of_nobody_is_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/users/0123456789abcdef01234567"), 404)
    assert "0123456789abcdef01234567" in str(body["detail"])


# --- 500 ------------------------------------------------------------------------------------


async def test_unhandled_error_is_500_problem_without_trace_and_logged_with_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    caplog.set_level(logging.ERROR)
    async with serve(settings, app, raise_app_exceptions=False) as client:
        r = await client.get("/boom", headers={"X-Request-ID": "crash-123"})
        body = assert_problem(r, 500)
        assert body["title"] == "Internal Server Error"
        assert "Traceback" not in r.text
        assert "hunter2" not in r.text
        assert "RuntimeError" not in r.text
        assert r.headers["X-Request-ID"] == "crash-123"
        assert "crash-123" in str(body["detail"])

        [record] = [rec for rec in caplog.records if rec.exc_info]
        assert "crash-123" in record.getMessage()
        assert record.exc_info is not None
        assert record.exc_info[0] is RuntimeError

        # Without a client id, the generated one links the response to the log line.
        caplog.clear()
        r = await client.get("/boom")
        assert_problem(r, 500)
        generated = r.headers["X-Request-ID"]
        assert any(generated in rec.getMessage() for rec in caplog.records if rec.exc_info)


# --- request body limit ---------------------------------------------------------------------

LIMIT = 2048


@pytest.fixture
async def small_client() -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_settings(max_body_bytes=LIMIT)) as client:
        yield client


def _registration(size: int) -> bytes:
    """A valid registration whose JSON encoding is exactly `size` bytes long."""
    base = {"name": "Big Body", "email": "big@example.com", "password": "password123", "city": ""}
    padding = size - len(json.dumps(base).encode())
    return json.dumps({**base, "city": "x" * padding}).encode()


async def _user_count(client: httpx.AsyncClient) -> int:
    r = await client.get("/users")
    assert r.status_code == 200
    total: int = r.json()["total"]
    return total


async def test_json_body_over_the_limit_is_413_and_nothing_is_stored(
    small_client: httpx.AsyncClient,
) -> None:
    r = await small_client.post(
        "/auth/register",
        content=_registration(LIMIT + 1),
        headers={"Content-Type": "application/json", "X-Request-ID": "too-big"},
    )
    body = assert_problem(r, 413)
    assert str(LIMIT) in str(body["detail"])
    assert r.headers["X-Request-ID"] == "too-big"
    assert await _user_count(small_client) == 0


async def test_streamed_body_over_the_limit_is_413_and_nothing_is_stored(
    small_client: httpx.AsyncClient,
) -> None:
    payload = _registration(LIMIT * 3)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 512):
            yield payload[start : start + 512]

    r = await small_client.post(
        "/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert_problem(r, 413)
    assert await _user_count(small_client) == 0


async def test_body_at_the_limit_is_accepted(small_client: httpx.AsyncClient) -> None:
    r = await small_client.post(
        "/auth/register",
        content=_registration(LIMIT),
        headers={"Content-Type": "application/json"},
    )
    # the city name is too long for a city, but the body itself got through to validation
    body = assert_problem(r, 422)
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "city")}  # type: ignore[union-attr]


async def test_form_body_over_the_limit_is_413(small_client: httpx.AsyncClient) -> None:
    r = await small_client.post(
        "/auth/token", data={"username": "someone", "password": "p" * (LIMIT + 10)}
    )
    assert_problem(r, 413)

"""The app as a whole: health, readiness, API docs, CORS, request ids, demo data."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import ServerSelectionTimeoutError

from service.demo import DEMO_PASSWORD
from tests.conftest import assert_problem, make_settings, serve
from tests.factories import Api

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# responses that are files, documented under their own media type (GET /runs/{id}/route.gpx, GET
# /users/me/export)
FILE_MEDIA_TYPES = ("application/gpx+xml", "application/zip")


async def test_health_answers_without_touching_the_database(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state, "database", _UnreachableDatabase())
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_ready_is_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    r = await client.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_what_startup_built_is_left_out_of_full_collections_until_shutdown() -> None:
    """After startup the app's long-lived objects sit in the collector's permanent generation
    (a full collection, which a large upload triggers, does not walk them again); shutdown puts
    them back, so an app stopped in a longer-lived process (tests, reloads) can be collected."""
    import gc

    assert gc.get_freeze_count() == 0
    async with serve(make_settings()) as client:
        assert gc.get_freeze_count() > 10_000
        assert (await client.get("/health")).status_code == 200
    assert gc.get_freeze_count() == 0


class _UnreachableDatabase:
    async def command(self, *args: Any, **kwargs: Any) -> Any:
        raise ServerSelectionTimeoutError("no servers reachable")


async def test_ready_is_503_problem_when_the_database_does_not_answer(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state, "database", _UnreachableDatabase())
    r = await client.get("/ready")
    assert_problem(r, 503)


# --- API documentation ----------------------------------------------------------------------


async def _openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


async def test_every_route_is_documented_with_tag_summary_and_responses(
    client: httpx.AsyncClient,
) -> None:
    spec = await _openapi(client)
    operations = [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]
    assert len(operations) >= 15
    problem_fields = set(spec["components"]["schemas"]["Problem"]["properties"])
    undocumented = []
    for method, path, op in operations:
        where = f"{method} {path}"
        if not op.get("tags"):
            undocumented.append(f"{where}: no tag")
        if not op.get("summary"):
            undocumented.append(f"{where}: no summary")
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not ok:
            undocumented.append(f"{where}: no success response")
        for code, response in ok.items():
            content = response.get("content", {})
            # a file download (GPX route, export zip) documents its file type instead of JSON
            files = [content[t] for t in FILE_MEDIA_TYPES if t in content]
            if files and all(f.get("schema") for f in files):
                continue
            if code != "204" and not content.get("application/json", {}).get("schema"):
                undocumented.append(f"{where}: {code} has no response model")
        for code, response in op["responses"].items():
            problem = (response.get("content") or {}).get("application/problem+json", {})
            # a Problem, or a Problem with extension members (409 `conflicting_run_id` on runs)
            ref = problem.get("schema", {}).get("$ref", "")
            schema = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
            is_problem = ref.startswith("#/components/schemas/") and problem_fields <= set(
                schema.get("properties", {})
            )
            # FastAPI's own 422 entry (HTTPValidationError) is added by the framework, not us.
            if code[0] in "45" and "HTTPValidationError" not in str(response) and not is_problem:
                undocumented.append(f"{where}: {code} is not documented as problem+json")
    assert undocumented == []


async def test_the_core_routes_are_in_the_spec(client: httpx.AsyncClient) -> None:
    spec = await _openapi(client)
    expected = {
        ("get", "/health"),
        ("get", "/ready"),
        ("post", "/auth/register"),
        ("post", "/auth/token"),
        ("post", "/auth/login"),
        ("get", "/users/me"),
        ("patch", "/users/me"),
        ("delete", "/users/me"),
        ("get", "/users"),
        ("get", "/users/{user_id}"),
        ("get", "/users/by-name/{name}"),
        ("get", "/users/by-email/{email}"),
        ("delete", "/users/{user_id}"),
        ("patch", "/users/{user_id}/role"),
    }
    present = {(m, p) for p, item in spec["paths"].items() for m in item}
    assert expected <= present


async def test_swagger_authorize_uses_the_oauth2_password_flow(client: httpx.AsyncClient) -> None:
    spec = await _openapi(client)
    schemes = spec["components"]["securitySchemes"]
    [(scheme_name, scheme)] = schemes.items()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"
    me = spec["paths"]["/users/me"]["get"]
    assert {scheme_name: []} in me["security"]
    form = spec["paths"]["/auth/token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in form

    # What the Authorize dialog does: post the form, then send the bearer token.
    await Api(client).user("Swagger Sam", email="sam@example.com", password="password123")
    r = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": "sam@example.com", "password": "password123"},
    )
    assert r.status_code == 200
    token = r.json()
    assert token["token_type"] == "bearer"
    me_r = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me_r.status_code == 200
    assert me_r.json()["name"] == "Swagger Sam"


async def test_swagger_ui_and_redoc_are_served(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in docs.text
    assert "/openapi.json" in docs.text
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200
    assert redoc.headers["content-type"].startswith("text/html")
    assert "redoc" in redoc.text.lower()
    assert "/openapi.json" in redoc.text


# --- request ids ----------------------------------------------------------------------------


async def test_request_id_is_echoed_when_given(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "client-req-42"})
    assert r.headers["X-Request-ID"] == "client-req-42"


async def test_request_id_is_generated_when_missing_and_unique(client: httpx.AsyncClient) -> None:
    first = (await client.get("/health")).headers["X-Request-ID"]
    second = (await client.get("/health")).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize("given", ["has spaces in it", "x" * 200, "<script>"])
async def test_unsafe_request_ids_are_replaced(client: httpx.AsyncClient, given: str) -> None:
    r = await client.get("/health", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])


async def test_error_responses_carry_the_request_id(client: httpx.AsyncClient) -> None:
    headers = {"X-Request-ID": "trace-404"}
    not_found = await client.get("/no/such/route", headers=headers)
    assert not_found.headers["X-Request-ID"] == "trace-404"
    invalid = await client.post("/auth/register", json={}, headers={"X-Request-ID": "trace-422"})
    assert invalid.headers["X-Request-ID"] == "trace-422"
    anonymous = await client.get("/users/me", headers={"X-Request-ID": "trace-401"})
    assert anonymous.headers["X-Request-ID"] == "trace-401"


# --- CORS -----------------------------------------------------------------------------------


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }


async def test_cors_allows_configured_origins_with_credentials() -> None:
    settings = make_settings(cors_origins="https://app.example, https://admin.example")
    async with serve(settings) as client:
        pre = await client.options("/auth/login", headers=_preflight("https://admin.example"))
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://admin.example"
        assert pre.headers["access-control-allow-credentials"] == "true"
        assert "POST" in pre.headers["access-control-allow-methods"]

        r = await client.get("/health", headers={"Origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert r.headers["access-control-allow-credentials"] == "true"
        exposed = r.headers["access-control-expose-headers"].lower()
        assert "x-request-id" in exposed
        assert "retry-after" in exposed


async def test_cors_ignores_other_origins() -> None:
    settings = make_settings(cors_origins="https://app.example")
    async with serve(settings) as client:
        pre = await client.options("/auth/login", headers=_preflight("https://evil.example"))
        assert pre.status_code == 400
        assert "access-control-allow-origin" not in pre.headers
        r = await client.get("/health", headers={"Origin": "https://evil.example"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("origins", ["*", "https://app.example,*"])
async def test_cors_wildcard_never_allows_credentials(origins: str) -> None:
    async with serve(make_settings(cors_origins=origins)) as client:
        pre = await client.options("/auth/login", headers=_preflight("https://any.example"))
        assert pre.status_code == 200
        assert "access-control-allow-credentials" not in pre.headers
        r = await client.get("/health", headers={"Origin": "https://any.example"})
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers


async def test_a_413_still_carries_cors_headers_so_browsers_can_read_it() -> None:
    settings = make_settings(cors_origins="https://app.example", max_body_bytes=2048)
    async with serve(settings) as client:
        r = await client.post(
            "/auth/register",
            content=b"{" + b" " * 4096 + b"}",
            headers={"Origin": "https://app.example", "Content-Type": "application/json"},
        )
        assert_problem(r, 413)
        assert r.headers["access-control-allow-origin"] == "https://app.example"


async def test_openapi_documents_every_error_as_problem_json(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"detail", "status", "title", "type", "errors"} <= set(schemas["Problem"]["properties"])
    errors = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    errors += 1
                    assert set(response["content"]) == {"application/problem+json"}, (
                        method,
                        path,
                        code,
                    )
    assert errors > 50


async def test_no_cors_headers_without_configured_origins(client: httpx.AsyncClient) -> None:
    r = await client.get("/health", headers={"Origin": "https://app.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


# --- demo data ------------------------------------------------------------------------------


@pytest.mark.slow  # minutes through the wire server: started first
async def test_demo_data_populates_the_api_at_startup() -> None:
    async with serve(make_settings(demo_data=True)) as client:
        r = await client.get("/users", params={"limit": 100})
        assert r.status_code == 200
        page = r.json()
        assert page["total"] == 400
        assert len(page["items"]) == 100
        some = page["items"][0]
        assert "email" not in some
        assert "role" not in some
        # a newcomer can log in as any demo runner (Swagger's Authorize takes the name)
        r = await client.post(
            "/auth/token", data={"username": some["name"], "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200
        me = await client.get(
            "/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        assert me.json()["id"] == some["id"]
        # runner001 (the demo's hub) finds a full feed and notifications
        r = await client.post(
            "/auth/token",
            data={"username": "runner001@demo.challenge.run", "password": DEMO_PASSWORD},
        )
        hub = {"Authorization": f"Bearer {r.json()['access_token']}"}
        feed = (await client.get("/feed", params={"limit": 50}, headers=hub)).json()
        assert len(feed["items"]) == 50
        assert feed["next_cursor"]
        r = await client.get("/users/me/notifications", params={"limit": 100}, headers=hub)
        note = r.json()
        assert {"like", "comment", "friend_request"} <= {n["kind"] for n in note["items"]}
        assert note["unread_count"] > 0
        r = await client.get("/users/me/notifications", params={"unread": "false"}, headers=hub)
        assert r.json()["items"]  # the older half is marked read


async def test_embedded_mode_says_so_once_at_startup(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with serve(make_settings(mongodb_uri=None)) as client:
        assert (await client.get("/ready")).status_code == 200
    lines = [r.getMessage() for r in caplog.records if "memory" in r.getMessage()]
    assert len(lines) == 1
    assert "MONGODB_URI" in lines[0]


async def test_tests_start_without_demo_data(client: httpx.AsyncClient) -> None:
    r = await client.get("/users")
    assert r.json() == {"items": [], "total": 0, "limit": 20, "offset": 0, "next": None}

"""One error hierarchy and the handlers that turn every error into RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("service.errors")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class AppError(Exception):
    """Base of every domain error; services raise these, never HTTPException."""

    status: ClassVar[int] = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(AppError):
    status = 400


class Unauthorized(AppError):
    status = 401

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail, headers=headers)
        # RFC 9457 extension members, e.g. {"conflicting_run_id": ...}
        self.extra = extra or {}


class PayloadTooLarge(AppError):
    status = 413


class Unprocessable(AppError):
    """A domain-level validation error; `loc` names the offending field, like pydantic's 422s."""

    status = 422

    def __init__(
        self,
        detail: str,
        *,
        loc: tuple[str | int, ...] | None = None,
        locs: Sequence[tuple[str | int, ...]] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        # RFC 9457 extension members, e.g. {"suggestions": [...]}
        self.extra = extra or {}
        # `locs`: a rule broken by several fields together (`from` and `to`) names each of them
        every = ([loc] if loc else []) + list(locs)
        self.errors = [{"loc": list(at), "msg": detail, "type": "value_error"} for at in every]


class TooManyRequests(AppError):
    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(AppError):
    status = 503

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


def problem_response(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    for name, value in (extra or {}).items():
        body.setdefault(name, value)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry documenting problem+json bodies for these statuses."""
    # `model` registers the Problem schema; the problem+json entry must name it too, or the docs
    # show an untyped problem+json body (FastAPI puts `model` under application/json only).
    schema = {"$ref": "#/components/schemas/Problem"}
    return {s: {"model": Problem, "content": {PROBLEM_JSON: {"schema": schema}}} for s in statuses}


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    # every 422 carries `errors`, as request validation errors do
    errors = exc.errors if isinstance(exc, Unprocessable) else None
    extra = exc.extra if isinstance(exc, Conflict | Unprocessable) else None
    return problem_response(exc.status, exc.detail, headers=exc.headers, errors=errors, extra=extra)


# FastAPI answers a body it cannot decode (not UTF-8) with this 400; malformed JSON is a 422
_BODY_PARSE_ERROR = "There was an error parsing the body"


def _malformed_body(msg: str) -> JSONResponse:
    errors = [{"loc": ["body"], "msg": msg, "type": "json_invalid"}]
    return problem_response(422, f"Malformed JSON body: {msg}", errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:
        return _malformed_body("the body is not valid UTF-8 JSON")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route for {request.method} {request.url.path}"
    return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    for e in exc.errors():
        if e.get("type") == "json_invalid":  # the body is not JSON at all: nothing else to say
            reason = (e.get("ctx") or {}).get("error") or "JSON decode error"
            position = e.get("loc", ())[-1]
            where = f" at character {position}" if isinstance(position, int) else ""
            return _malformed_body(f"{reason}{where}")
    errors = [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors) or "request"
    first = errors[0]["msg"] if errors else "invalid request"
    detail = f"Invalid {fields}: {first}" if len(errors) == 1 else f"Invalid fields: {fields}"
    return problem_response(422, detail, errors=errors)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "-")
    log.exception(
        "Unhandled error (request_id=%s) on %s %s", request_id, request.method, request.url.path
    )
    response = problem_response(500, f"Internal server error (request id {request_id})")
    response.headers["X-Request-ID"] = request_id
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled)


WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
WRITE_LIMITED_TEXT = (
    "Too many writes by this user (RATE_LIMIT_WRITES): see Retry-After and the "
    "RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset headers"
)
WRITE_LIMIT_HEADERS: dict[str, Any] = {
    name: {"schema": {"type": "integer"}}
    for name in ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
}


def install_problem_openapi(app: FastAPI) -> None:
    """Make the OpenAPI document tell the truth about error bodies.

    FastAPI documents its own `HTTPValidationError` for 422 and puts `model=` responses under
    application/json; our handlers answer every 4xx/5xx with problem+json, so rewrite them.
    """
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault(
            "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        components.setdefault("FieldError", FieldError.model_json_schema())
        components["Problem"].pop("$defs", None)
        for path in schema.get("paths", {}).values():
            for method, operation in path.items():
                if method in WRITE_METHODS and operation.get("security"):
                    # counted against RATE_LIMIT_WRITES in the auth dependency (service/ratelimit)
                    responses = operation.setdefault("responses", {})
                    limited = responses.setdefault("429", {"description": WRITE_LIMITED_TEXT})
                    limited.setdefault("headers", {}).update(WRITE_LIMIT_HEADERS)
                for code, response in operation.get("responses", {}).items():
                    if not str(code).startswith(("4", "5")):
                        continue
                    # a route may document a Problem with extension members (responses=)
                    own = response.get("content", {}).get(PROBLEM_JSON)
                    response["content"] = {PROBLEM_JSON: own or {"schema": problem_ref}}
                    if str(code) == "422":
                        response["description"] = "Invalid input (problem+json with `errors`)"
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

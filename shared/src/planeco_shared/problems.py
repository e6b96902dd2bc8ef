"""RFC 9457 problem details: the one error shape of every planeco endpoint.

Services raise `AppError` subclasses (never HTTPException); the handlers installed by
`install_problem_handlers` render them, FastAPI's validation errors, unknown routes and any
unexpected exception as `application/problem+json`. No stack trace or SQL text ever leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from planeco_shared.logging import get_logger
from planeco_shared.routing import allowed_methods

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://planeco.beta.gouv.fr/problems/"

logger = get_logger(__name__)


@dataclass(frozen=True)
class ProblemKind:
    """What every problem of one HTTP status says, in the gateway and in every service."""

    status: int
    code: str
    title: str

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_BASE + self.code


def _kinds(*kinds: ProblemKind) -> dict[int, ProblemKind]:
    return {kind.status: kind for kind in kinds}


# The one table: a status has one `type`, one `title` and one default `code` wherever it is answered
# (AppError subclasses, FastAPI's own errors, the gateway's auth, rate limit, proxy and upstream errors).
PROBLEM_KINDS: Mapping[int, ProblemKind] = _kinds(
    ProblemKind(400, "bad-request", "Bad request"),
    ProblemKind(401, "unauthorized", "Authentication required"),
    ProblemKind(403, "forbidden", "Forbidden"),
    ProblemKind(404, "not-found", "Not found"),
    ProblemKind(405, "method-not-allowed", "Method not allowed"),
    ProblemKind(406, "not-acceptable", "Not acceptable"),
    ProblemKind(408, "request-timeout", "Request timeout"),
    ProblemKind(409, "conflict", "Conflict"),
    ProblemKind(412, "precondition-failed", "Precondition failed"),
    ProblemKind(413, "payload-too-large", "Payload too large"),
    ProblemKind(415, "unsupported-media-type", "Unsupported media type"),
    ProblemKind(422, "validation-error", "Invalid input"),
    ProblemKind(428, "precondition-required", "Precondition required"),
    ProblemKind(429, "too-many-requests", "Too many requests"),
    ProblemKind(500, "internal-error", "Internal error"),
    ProblemKind(502, "bad-gateway", "Bad gateway"),
    ProblemKind(503, "service-unavailable", "Service unavailable"),
    ProblemKind(504, "gateway-timeout", "Gateway timeout"),
)


def problem_kind(status: int) -> ProblemKind:
    """The kind of `status`; a status outside the table gets one built from its reason phrase."""
    kind = PROBLEM_KINDS.get(status)
    if kind is not None:
        return kind
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return ProblemKind(status, phrase.lower().replace(" ", "-"), phrase.capitalize())


class FieldError(BaseModel):
    """One invalid field (or row/column of an import)."""

    loc: list[str | int] = Field(
        description="Path to the invalid value, e.g. ['body', 'name'] or ['row', 3, 'code']"
    )
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with `code` (stable machine key) and field-level `errors`."""

    type: str = Field(description="URI identifying the problem type; stable")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(
        description="Stable machine-readable code: the status's own (the last segment of `type`) or a "
        "more specific one (e.g. `idempotency-key-in-use` for a 409)"
    )
    request_id: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    """Base of every expected failure. A subclass fixes its `status_code`; its title and default code
    come from `PROBLEM_KINDS` (a raise may pass a more specific `code=`)."""

    status_code: ClassVar[int] = 500
    code: str = PROBLEM_KINDS[500].code
    title: ClassVar[str] = PROBLEM_KINDS[500].title

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = problem_kind(cls.status_code)
        cls.title = kind.title  # never one of its own: one title per status
        if "code" not in cls.__dict__ and "status_code" in cls.__dict__:
            cls.code = kind.code

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        if code is not None:
            self.code = code


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    status_code = 401

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="planeco", ApiKey realm="planeco"')


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class RequestTimeout(AppError):
    status_code = 408


class Conflict(AppError):
    status_code = 409


class PreconditionFailed(AppError):
    status_code = 412


class PreconditionRequired(AppError):
    status_code = 428


class PayloadTooLarge(AppError):
    status_code = 413


class UnsupportedMediaType(AppError):
    status_code = 415


class UnprocessableEntity(AppError):
    status_code = 422


class TooManyRequests(AppError):
    status_code = 429


class BadGateway(AppError):
    status_code = 502


class ServiceUnavailable(AppError):
    status_code = 503


class GatewayTimeout(AppError):
    status_code = 504


class DatabaseUnavailable(ServiceUnavailable):
    """Transient: the client may retry after `Retry-After` seconds (raised by `planeco_shared.database`)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


def problem_response(
    *,
    status: int,
    detail: str | None,
    instance: str | None,
    request_id: str | None,
    code: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The problem of `status`: `type` and `title` from `PROBLEM_KINDS`, `code` the kind's unless given."""
    kind = problem_kind(status)
    body: dict[str, Any] = {
        "type": kind.type,
        "title": kind.title,
        "status": status,
        "code": code or kind.code,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def validation_errors(raw: Sequence[Any]) -> list[FieldError]:
    """Pydantic/FastAPI error dicts → FieldError, dropping `input` and `ctx` (they may echo secrets)."""
    return [
        FieldError(
            loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            msg=str(e.get("msg", "")),
            type=str(e.get("type", "")),
        )
        for e in raw
    ]


def install_problem_handlers(app: FastAPI) -> None:
    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        return problem_response(
            status=exc.status_code,
            code=exc.code,
            detail=exc.detail,
            instance=request.url.path,
            request_id=_request_id(request),
            errors=exc.errors,
            headers=exc.headers,
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        if status == 404 and exc.detail == "Not Found":
            detail: str | None = f"No route matches {request.method} {request.url.path}"
        else:
            detail = str(exc.detail) if exc.detail else None
        headers = dict(exc.headers or {})
        if status == 405:
            allowed = allowed_methods(request.app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        return problem_response(
            status=status,
            detail=detail,
            instance=request.url.path,
            request_id=_request_id(request),
            headers=headers,
        )

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            status=422,
            detail="The request is not valid; see `errors`.",
            instance=request.url.path,
            request_id=_request_id(request),
            errors=validation_errors(exc.errors()),
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
        return problem_response(
            status=500,
            detail="An unexpected error occurred; it has been logged with the request id.",
            instance=request.url.path,
            request_id=_request_id(request),
        )

    async def stale_data(request: Request, exc: Exception) -> Response:
        # The row's version moved between our read and our write: someone else updated it.
        return await app_error(
            request, PreconditionFailed("The resource was changed concurrently; read it again")
        )

    async def integrity(request: Request, exc: Exception) -> Response:
        logger.warning("integrity_error", path=request.url.path)
        return await app_error(request, Conflict("The change conflicts with existing data"))

    app.add_exception_handler(StaleDataError, stale_data)
    app.add_exception_handler(IntegrityError, integrity)
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(Exception, unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem shape for the given statuses."""
    return {
        status: {
            "description": problem_kind(status).title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }

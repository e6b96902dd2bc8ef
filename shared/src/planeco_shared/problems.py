"""RFC 9457 problem details: the one error shape of every planeco endpoint.

Services raise `AppError` subclasses (never HTTPException); the handlers installed by
`install_problem_handlers` render them, FastAPI's validation errors, unknown routes and any
unexpected exception as `application/problem+json`. No stack trace or SQL text ever leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

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
    code: str = Field(description="Stable machine-readable code, the last segment of `type`")
    request_id: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    """Base of every expected failure. Subclasses fix status and code."""

    status_code: int = 500
    code: str = "internal-error"
    title: str = "Internal error"

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
    status_code, code, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status_code, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="planeco", ApiKey realm="planeco"')


class Forbidden(AppError):
    status_code, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status_code, code, title = 404, "not-found", "Not found"


class RequestTimeout(AppError):
    status_code, code, title = 408, "request-timeout", "Request timeout"


class Conflict(AppError):
    status_code, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status_code, code, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(AppError):
    status_code, code, title = 428, "precondition-required", "Precondition required"


class PayloadTooLarge(AppError):
    status_code, code, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    status_code, code, title = 415, "unsupported-media-type", "Unsupported media type"


class UnprocessableEntity(AppError):
    status_code, code, title = 422, "validation-error", "Invalid input"


class TooManyRequests(AppError):
    status_code, code, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(AppError):
    status_code, code, title = 503, "service-unavailable", "Service unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """Transient: the client may retry after `Retry-After` seconds (raised by `planeco_shared.database`)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None,
    instance: str | None,
    request_id: str | None,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
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


_STATUS_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
}


def _status_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


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
            title=exc.title,
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
            code=_STATUS_CODES.get(status, "http-error"),
            title=_status_title(status),
            detail=detail,
            instance=request.url.path,
            request_id=_request_id(request),
            headers=headers,
        )

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            status=422,
            code="validation-error",
            title="Invalid input",
            detail="The request is not valid; see `errors`.",
            instance=request.url.path,
            request_id=_request_id(request),
            errors=validation_errors(exc.errors()),
        )

    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
        return problem_response(
            status=500,
            code="internal-error",
            title="Internal error",
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
            "description": _status_title(status),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }

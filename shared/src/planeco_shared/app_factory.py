"""`create_service_app`: the one way a planeco service app is assembled.

Lifespan builds the service runtime (engine, session factory, service clients: `planeco_shared.runtime`)
and closes it at shutdown;
middlewares give request ids, metrics and conditional GETs (`planeco_shared.caching`); handlers render
every error as RFC 9457.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from planeco_shared import health
from planeco_shared.caching import ConditionalGetMiddleware, verify_public_caching
from planeco_shared.identity import AnyCaller, IdentityVerifier
from planeco_shared.logging import configure_logging
from planeco_shared.metrics import Metrics, MetricsMiddleware
from planeco_shared.problems import Problem, install_problem_handlers, problem_responses
from planeco_shared.request_id import RequestIdMiddleware
from planeco_shared.routing import HeadAsGet
from planeco_shared.runtime import ServiceRuntime, install_runtime
from planeco_shared.server import freeze_startup_objects
from planeco_shared.settings import ServiceSettings

API_PREFIX = "/api/v1"
# Below this a response goes out as it is: gzip would save little and cost a compression call.
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 6  # zlib's default: most of level 9's gain (the EPCI declination 798 → 40 KB) at far less CPU
SCHEMA_REF = "#/components/schemas/{model}"

StartupHook = Callable[[FastAPI], Awaitable[None]]


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    version: str = "0.1.0",
    on_startup: StartupHook | None = None,
    on_shutdown: StartupHook | None = None,
) -> FastAPI:
    configure_logging(level=settings.log_level, json=settings.log_json, service=name)
    metrics = Metrics(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(name, settings)
        install_runtime(app, runtime)
        if on_startup is not None:
            await on_startup(app)
        freeze_startup_objects()
        try:
            yield
        finally:
            if on_shutdown is not None:
                await on_shutdown(app)
            await runtime.aclose()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(HeadAsGet),  # outside gzip: a HEAD's headers are the GET's (Content-Encoding too)
            # Compressed here, not at the gateway, which forwards bytes: the gateway passes Accept-Encoding
            # and the compressed body through. Adds `Vary: Accept-Encoding`; the ETag stays the identity
            # body's, the ETag of one representation negotiated by that Vary (planeco_shared.caching).
            Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(ConditionalGetMiddleware),  # ETag/304 for routes with public_cache() only
        ],
        # The public contract and its docs are the gateway's; a service's own document is for the gateway
        # (which merges them) and needs the internal identity like any other call.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # `/x/` is a 404 problem, not a 307 to the service's own (internal) address.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.service_name = name
    app.state.identity_verifier = IdentityVerifier(settings.internal_secret.get_secret_value())
    install_problem_handlers(app)
    app.include_router(health.router)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document(_caller: AnyCaller) -> JSONResponse:
        return JSONResponse(app.openapi())

    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    verify_public_caching(app)
    document_problems(app)
    return app


def document_problems(app: FastAPI) -> None:
    """FastAPI documents validation failures as `HTTPValidationError` JSON; ours are problem details."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        _, definitions = models_json_schema(
            [(Problem, "validation")], ref_template="#/components/schemas/{model}"
        )
        for name, model_schema in definitions.get("$defs", {}).items():
            schemas.setdefault(name, model_schema)
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = problem_responses(422)[422]
                # A body that is not even text (invalid UTF-8) is a 400 problem; malformed JSON is a 422.
                if "application/json" in operation.get("requestBody", {}).get("content", {}):
                    responses.setdefault("400", problem_responses(400)[400])
        _document_decimal_strings(schemas)
        _document_decimal_strings(schema.get("paths", {}))  # query parameters too
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# What a Decimal input accepts as a string, in plain notation: pydantic documents `{"type": "string"}`
# alone, which would promise that any string is a number.
DECIMAL_STRING_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


def _document_decimal_strings(node: Any) -> None:
    """In every `anyOf` of a number and a bare string (pydantic's shape for a Decimal input), give the
    string its pattern."""
    if isinstance(node, dict):
        branches = node.get("anyOf")
        if isinstance(branches, list) and any(
            isinstance(b, dict) and b.get("type") == "number" for b in branches
        ):
            for branch in branches:
                if isinstance(branch, dict) and branch.get("type") == "string" and len(branch) == 1:
                    branch["pattern"] = DECIMAL_STRING_PATTERN
        for value in node.values():
            _document_decimal_strings(value)
    elif isinstance(node, list):
        for value in node:
            _document_decimal_strings(value)

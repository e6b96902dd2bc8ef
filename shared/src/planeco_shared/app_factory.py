"""`create_service_app`: the one way a planeco service app is assembled.

Lifespan builds the service runtime (engine, session factory, service clients: `planeco_shared.runtime`)
and closes it at shutdown;
middlewares give request ids, metrics, the read cache of public reads (`planeco_shared.caching`) and gzip;
handlers render
every error as RFC 9457.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from planeco_shared import contract, health
from planeco_shared.caching import (
    GZIP_LEVEL,
    GZIP_MINIMUM_BYTES,
    ReadCache,
    ReadCacheMiddleware,
    verify_public_caching,
)
from planeco_shared.decimals import exact_json
from planeco_shared.identity import AnyCaller, IdentityVerifier
from planeco_shared.jobs.registry import JobRegistry
from planeco_shared.jobs.router import jobs_router
from planeco_shared.logging import configure_logging
from planeco_shared.metrics import Metrics, MetricsMiddleware
from planeco_shared.problems import install_problem_handlers
from planeco_shared.query_params import RejectUnknownQueryParams
from planeco_shared.request_id import RequestIdMiddleware
from planeco_shared.routing import HeadAsGet
from planeco_shared.runtime import ServiceRuntime, install_runtime
from planeco_shared.server import freeze_startup_objects
from planeco_shared.settings import ServiceSettings

API_PREFIX = "/api/v1"
JOBS_TAG = "jobs"
JOBS_DESCRIPTION = (
    "The service's scheduled and long work (imports, syncs): its jobs, their schedules and their recorded "
    "runs (admins)."
)

StartupHook = Callable[[FastAPI], Awaitable[None]]


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    tags: dict[str, str] | None = None,
    version: str = "0.1.0",
    on_startup: StartupHook | None = None,
    on_shutdown: StartupHook | None = None,
    jobs: JobRegistry | None = None,
) -> FastAPI:
    """`jobs`: the service's job registry (its `jobs.py`): mounts /api/v1/jobs/<name>/…; a bad
    `job_schedules` setting fails here, at start-up, with every problem named."""
    routers = list(routers)
    if jobs is not None:
        routers.append(jobs_router(jobs, jobs.schedules(settings.job_schedules)))
    configure_logging(level=settings.log_level, json=settings.log_json, service=name)
    metrics = Metrics(name)
    read_cache = ReadCache(settings.read_cache_megabytes * 1024 * 1024)

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
            Middleware(HeadAsGet),  # outside everything else: a HEAD's headers are the GET's
            Middleware(MetricsMiddleware, metrics=metrics),  # outside the cache: its answers count too
            # Public reads: ETag from the data version, 304 and answers from memory, gzipped once
            # (planeco_shared.caching). Outside gzip, which it bypasses for what it serves.
            Middleware(ReadCacheMiddleware, cache=read_cache, tag=f"{name}/{version}"),
            # Everything else is compressed here, not at the gateway, which forwards bytes: the gateway
            # passes Accept-Encoding and the compressed body through. Adds `Vary: Accept-Encoding`.
            Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL),
        ],
        openapi_tags=[
            {"name": tag, "description": text}
            for tag, text in (
                (tags or {}) | ({JOBS_TAG: JOBS_DESCRIPTION} if jobs is not None else {})
            ).items()
        ],
        generate_unique_id_function=contract.operation_id,
        # The public contract and its docs are the gateway's; a service's own document is for the gateway
        # (which merges them) and needs the internal identity like any other call.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # `/x/` is a 404 problem, not a 307 to the service's own (internal) address.
        redirect_slashes=False,
        # A query parameter the operation does not declare is a 422 naming it (planeco_shared.query_params).
        dependencies=[RejectUnknownQueryParams],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.read_cache = read_cache
    app.state.service_name = name
    app.state.identity_verifier = IdentityVerifier(settings.internal_secret.get_secret_value())
    install_problem_handlers(app)
    app.include_router(health.router)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_document(_caller: AnyCaller) -> JSONResponse:
        return JSONResponse(app.openapi())

    for router in routers:
        exact_json(router)
        app.include_router(router, prefix=API_PREFIX)
    verify_public_caching(app)
    document_contract(app)
    return app


def document_contract(app: FastAPI) -> None:
    """The service's OpenAPI document, with the contract's conventions applied (`planeco_shared.contract`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = contract.finish(document, cached=contract.cached_operations(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The gateway app.

`/api/…` goes to the raw forwarder; health and the contract (with its docs) go to a small FastAPI app;
metrics are served on a separate listener (`metrics_port`), never on the public port."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import structlog
from aiohttp import web
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from planeco_gateway import docs, openapi
from planeco_gateway.auth.authenticator import Authenticator
from planeco_gateway.auth.oidc import JwksVerifier
from planeco_gateway.proxy import Forwarder
from planeco_gateway.ratelimit import RateLimits
from planeco_gateway.settings import GatewaySettings
from planeco_shared.database import create_engine, create_sessionmaker, database_ready
from planeco_shared.identity import IDENTITY_HEADER
from planeco_shared.logging import configure_logging, get_logger
from planeco_shared.metrics import Metrics, MetricsMiddleware
from planeco_shared.problems import AppError, install_problem_handlers, problem_response
from planeco_shared.query_params import RejectUnknownQueryParams
from planeco_shared.request_id import (
    REQUEST_ID_HEADER,
    RequestIdMiddleware,
    accept_or_generate,
    request_id_var,
)
from planeco_shared.routing import HeadAsGet
from planeco_shared.runtime import service_principal
from planeco_shared.server import freeze_startup_objects

logger = get_logger(__name__)
API_ROUTE = "unmatched"  # the metrics' route label of forwarded calls (no route template in the gateway)
OPENAPI_CACHE_SECONDS = 60.0
HEALTH_TIMEOUT_SECONDS = 2.0
# A service builds its OpenAPI document on its first request (seconds on a busy host); asked rarely.
DOCUMENT_TIMEOUT_SECONDS = 20.0
# On the gateway's own answers (problems, health, contract) as on forwarded ones (planeco_gateway.proxy).
OWN_RESPONSE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class Gateway:
    """Dispatches by path: the hot path never touches the routing framework.

    For `/api/…` it does itself what the middlewares do for the admin app (request id, metrics,
    problem rendering), without wrapping `send` three times over."""

    def __init__(self, forwarder: Forwarder, admin: ASGIApp, metrics: Metrics) -> None:
        self.forwarder = forwarder
        self.admin = admin
        self.metrics = metrics
        forwarder.on_first_byte = self._first_byte

    def _first_byte(self, method: str, seconds: float) -> None:
        self.metrics.observe_latency(method, API_ROUTE, seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.admin(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = accept_or_generate(next((v for k, v in scope["headers"] if k == b"x-request-id"), None))
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        method: str = scope["method"]
        status = 500
        try:
            status = await self.forwarder(scope, receive, send, started)
        except AppError as exc:
            status = exc.status_code
            response = problem_response(
                status=exc.status_code,
                code=exc.code,
                detail=exc.detail,
                instance=scope["path"],
                request_id=request_id,
                headers={**OWN_RESPONSE_HEADERS, **exc.headers, REQUEST_ID_HEADER: request_id},
            )
            self._first_byte(method, time.perf_counter() - started)
            await response(scope, receive, send)
        finally:
            self.metrics.count_request(method, API_ROUTE, status)
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    settings = settings or GatewaySettings()
    configure_logging(level=settings.log_level, json=settings.log_json, service="gateway")
    metrics = Metrics("gateway")
    forwarded = Counter(
        "planeco_gateway_forwarded_total",
        "Requests forwarded, by service and status",
        ["service", "status"],
        registry=metrics.registry,
    )
    http = httpx.AsyncClient(timeout=httpx.Timeout(HEALTH_TIMEOUT_SECONDS * 2))
    oidc = None
    if settings.oidc_jwks_url is not None and settings.oidc_issuer:
        oidc = JwksVerifier(
            http,
            jwks_url=str(settings.oidc_jwks_url),
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            cache_seconds=settings.jwks_cache_seconds,
        )
    authenticator = Authenticator(
        internal_secret=settings.internal_secret.get_secret_value(),
        cache_seconds=settings.auth_cache_seconds,
        oidc=oidc,
    )
    upstreams = settings.upstreams()
    rate_limits = RateLimits(settings)
    forwarder = Forwarder(
        upstreams=upstreams,
        authenticator=authenticator,
        rate_limits=rate_limits,
        max_body=settings.max_request_body_bytes,
        body_timeout=settings.request_body_timeout,
        requests_total=forwarded,
    )
    # The services serve their documents to planeco processes only (a signed identity).
    contract = ContractCache(upstreams, lambda: authenticator.identity_token(service_principal("gateway")))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size, application_name="planeco-gateway"
        )
        admin.state.engine = engine
        authenticator.sessionmaker = create_sessionmaker(engine)
        connector = aiohttp.TCPConnector(
            limit=settings.upstream_pool_size,
            limit_per_host=settings.upstream_pool_size,
            keepalive_timeout=30,
            ttl_dns_cache=300,
        )
        forwarder.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=settings.upstream_connect_timeout,
                sock_read=settings.upstream_timeout,
            ),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        contract.session = forwarder.session
        metrics_site = await serve_metrics(metrics, settings) if settings.metrics_port else None
        freeze_startup_objects()
        try:
            yield
        finally:
            if metrics_site is not None:
                await metrics_site.cleanup()
            await forwarder.session.close()
            await rate_limits.aclose()
            await http.aclose()
            await engine.dispose()

    admin = FastAPI(
        title="planeco gateway",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # `/docs/` is a 404, like the services' paths
        dependencies=[RejectUnknownQueryParams],  # `/healthz?x=1` is a 422, like the services' routes
    )
    admin.state.metrics = metrics
    admin.state.authenticator = authenticator
    install_problem_handlers(admin)

    @admin.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        """Gateway alive; each service 'ok' or 'down' (its /readyz). Degraded still answers 200."""
        services = await contract.service_health()
        return {
            "status": "ok" if all(v == "ok" for v in services.values()) else "degraded",
            "services": services,
        }

    @admin.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        ready = await database_ready(admin.state.engine)
        return JSONResponse({"status": "ok" if ready else "unavailable"}, status_code=200 if ready else 503)

    @admin.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> Response:
        return JSONResponse(await contract.document())

    docs.install(admin)

    own = RequestIdMiddleware(HeadAsGet(OwnResponseHeaders(MetricsMiddleware(admin, metrics))))
    # CORS always installed: a preflight is answered here, allowed or refused, never forwarded (a 405).
    return ProblemCORSMiddleware(
        Gateway(forwarder, own, metrics),
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "X-API-Key",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "X-Request-ID",
            "Idempotency-Key",
        ],
        # export file names; the rate-limit fields, for browser clients to back off
        expose_headers=[
            "ETag",
            "Location",
            "X-Request-ID",
            "Content-Disposition",
            "Retry-After",
            "RateLimit",
            "RateLimit-Policy",
        ],
        max_age=600,
    )


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight as a 403 problem instead of a 400 in plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        return problem_response(
            status=403,
            detail=f"CORS preflight refused: {bytes(response.body).decode()}",
            instance=None,
            request_id=None,
            headers={**OWN_RESPONSE_HEADERS, "Vary": "Origin"},
        )


class OwnResponseHeaders:
    """nosniff on every answer of the admin app; no-store unless the route set its own caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


async def serve_metrics(metrics: Metrics, settings: GatewaySettings) -> web.AppRunner:
    """Prometheus' text on `metrics_host:metrics_port`, a listener of its own: the public port has no
    /metrics. aiohttp's server (already a dependency) rather than a second uvicorn, which would take
    over the process's signal handlers."""

    async def render(_request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    application = web.Application()
    application.router.add_get("/metrics", render)
    runner = web.AppRunner(application, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
    return runner


class ContractCache:
    """The merged contract, rebuilt from the services' documents at most once a minute.
    A service that cannot be reached keeps its last known document."""

    def __init__(self, upstreams: dict[str, str], identity: Callable[[], str]) -> None:
        self.upstreams = upstreams
        self.identity = identity
        self.session: aiohttp.ClientSession | None = None
        self._documents: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None
        self._built_at = 0.0
        self._lock = asyncio.Lock()

    async def _get(
        self, url: str, *, signed: bool = False, seconds: float = HEALTH_TIMEOUT_SECONDS
    ) -> tuple[int, bytes] | None:
        assert self.session is not None
        headers = {IDENTITY_HEADER: self.identity()} if signed else None
        try:
            async with self.session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=seconds)
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def service_health(self) -> dict[str, str]:
        names = list(self.upstreams)
        responses = await asyncio.gather(*(self._get(self.upstreams[n] + "/readyz") for n in names))
        return {
            n: "ok" if r is not None and r[0] == 200 else "down"
            for n, r in zip(names, responses, strict=True)
        }

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            if self._merged is not None and time.monotonic() - self._built_at < OPENAPI_CACHE_SECONDS:
                return self._merged
            names = list(self.upstreams)
            responses = await asyncio.gather(
                *(
                    self._get(
                        self.upstreams[n] + "/openapi.json", signed=True, seconds=DOCUMENT_TIMEOUT_SECONDS
                    )
                    for n in names
                )
            )
            for name, response in zip(names, responses, strict=True):
                if response is not None and response[0] == 200:
                    self._documents[name] = json.loads(response[1])
            self._merged = openapi.merge(self._documents)
            self._built_at = time.monotonic() if len(self._documents) == len(names) else 0.0
            return self._merged

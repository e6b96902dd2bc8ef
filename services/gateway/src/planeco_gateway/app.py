"""The gateway app.

`/api/…` goes to the raw forwarder; health, metrics and the contract go to a small FastAPI app."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import Counter
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from planeco_gateway import openapi
from planeco_gateway.auth.authenticator import Authenticator
from planeco_gateway.auth.oidc import JwksVerifier
from planeco_gateway.proxy import Forwarder
from planeco_gateway.settings import GatewaySettings
from planeco_shared.database import create_engine, create_sessionmaker, database_ready
from planeco_shared.logging import configure_logging, get_logger
from planeco_shared.metrics import Metrics, MetricsMiddleware
from planeco_shared.problems import AppError, install_problem_handlers, problem_response
from planeco_shared.request_id import (
    REQUEST_ID_HEADER,
    RequestIdMiddleware,
    accept_or_generate,
    request_id_var,
)
from planeco_shared.server import freeze_startup_objects

logger = get_logger(__name__)
API_ROUTE = "unmatched"  # the metrics' route label of forwarded calls (no route template in the gateway)
OPENAPI_CACHE_SECONDS = 60.0
HEALTH_TIMEOUT_SECONDS = 2.0


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
                title=exc.title,
                detail=exc.detail,
                instance=scope["path"],
                request_id=request_id,
                headers={**exc.headers, REQUEST_ID_HEADER: request_id},
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
    forwarder = Forwarder(
        upstreams=upstreams,
        authenticator=authenticator,
        max_body=settings.max_request_body_bytes,
        requests_total=forwarded,
    )
    contract = ContractCache(upstreams)

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
        freeze_startup_objects()
        try:
            yield
        finally:
            await forwarder.session.close()
            await http.aclose()
            await engine.dispose()

    admin = FastAPI(
        title="planeco gateway", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None
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

    @admin.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return metrics.render()

    @admin.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> Response:
        return JSONResponse(await contract.document())

    @admin.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="planeco API")

    app: ASGIApp = Gateway(forwarder, RequestIdMiddleware(MetricsMiddleware(admin, metrics)), metrics)
    if settings.cors_origins:
        app = CORSMiddleware(
            app,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
                "Idempotency-Key",
            ],
            expose_headers=["ETag", "Location", "X-Request-ID", "Content-Disposition"],  # export file names
            max_age=600,
        )
    return app


class ContractCache:
    """The merged contract, rebuilt from the services' documents at most once a minute.
    A service that cannot be reached keeps its last known document."""

    def __init__(self, upstreams: dict[str, str]) -> None:
        self.upstreams = upstreams
        self.session: aiohttp.ClientSession | None = None
        self._documents: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None
        self._built_at = 0.0
        self._lock = asyncio.Lock()

    async def _get(self, url: str) -> tuple[int, bytes] | None:
        assert self.session is not None
        try:
            async with self.session.get(
                url, timeout=aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)
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
            responses = await asyncio.gather(*(self._get(self.upstreams[n] + "/openapi.json") for n in names))
            for name, response in zip(names, responses, strict=True):
                if response is not None and response[0] == 200:
                    self._documents[name] = json.loads(response[1])
            self._merged = openapi.merge(self._documents)
            self._built_at = time.monotonic() if len(self._documents) == len(names) else 0.0
            return self._merged

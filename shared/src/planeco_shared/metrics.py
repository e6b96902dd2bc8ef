"""Prometheus metrics: request count and latency per route template, served at /metrics."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """One registry per app, so several apps in one test process do not collide."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "planeco_http_requests_total",
            "HTTP requests handled",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "planeco_http_request_duration_seconds",
            "Time to the first byte of the response",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.service = service
        # labels() takes a lock and builds a key on every call: the children are kept here instead.
        self._latency: dict[tuple[str, str], Any] = {}
        self._requests: dict[tuple[str, str, int], Any] = {}

    def observe_latency(self, method: str, route: str, seconds: float) -> None:
        child = self._latency.get((method, route))
        if child is None:
            child = self._latency[(method, route)] = self.latency.labels(self.service, method, route)
        child.observe(seconds)

    def count_request(self, method: str, route: str, status: int) -> None:
        child = self._requests.get((method, route, status))
        if child is None:
            child = self._requests[(method, route, status)] = self.requests.labels(
                self.service, method, route, str(status)
            )
        child.inc()

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.metrics.observe_latency(
                    scope["method"], route_template(scope), time.perf_counter() - start
                )
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            self.metrics.count_request(scope["method"], route_template(scope), status)


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return metrics.render()

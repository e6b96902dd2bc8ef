"""Walking an app's routes with their full paths, whatever FastAPI version builds them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fastapi.routing
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def iter_routes(app: ASGIApp) -> Iterator[Any]:
    """Every route with its effective path, methods, dependencies and openapi_extra."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)  # FastAPI >= 0.16x: lazy includes
    routes = getattr(app, "routes", [])
    yield from iter_contexts(routes) if iter_contexts is not None else routes


def allowed_methods(app: ASGIApp, path: str) -> list[str]:
    """What `Allow` must list for a path (RFC 9110 §10.2.1): the methods of every route matching it,
    not only those of the first route whose path matched, as Starlette's 405 says."""
    methods: set[str] = set()
    for route in iter_routes(app):
        route_path, route_methods = getattr(route, "path", None), getattr(route, "methods", None)
        if isinstance(route_path, str) and route_methods and compile_path(route_path)[0].match(path):
            methods |= set(route_methods)
    if "GET" in methods:
        methods.add("HEAD")  # HeadAsGet serves it
    return sorted(methods)


class HeadAsGet:
    """HEAD served for every GET route (RFC 9110 §9.3.2): the GET runs, its headers go out, its body does
    not. FastAPI routes declare GET only, so HEAD was a 405. Pure ASGI; cost only on HEAD requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)

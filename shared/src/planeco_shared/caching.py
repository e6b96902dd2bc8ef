"""HTTP caching of deliberately public, rarely changing reads: strong ETag, Cache-Control, 304.

Opt-in per route, never by default: a route (or a whole router) adds `public_cache()` to its
`dependencies` and must also declare `openapi_extra=PUBLIC` — `create_service_app` refuses to start
otherwise, so an authenticated or private read can never be marked `public`.

    @router.get("/regions/{code}", openapi_extra=PUBLIC, dependencies=[public_cache()])

For such a GET/HEAD answered 200, `ConditionalGetMiddleware` (installed by `create_service_app`)
- sets a strong `ETag`: the endpoint's version token when it gave one (`PublicCacheDep`,
  `directive.use_version(token)`), else a hash of the body (the body is buffered: meant for small
  reads);
- sets `Cache-Control: public, max-age=<max_age>, must-revalidate`: any cache (browser, CDN) may keep
  it a short while — the default is 5 minutes, so a corrected import shows within minutes — and must
  then revalidate with `If-None-Match`, which costs the client a 304 without a body;
- answers `304 Not Modified` (no body) when `If-None-Match` matches: `*`, or a list of entity tags
  compared weakly (RFC 9110 §13.1.2: `W/"x"` matches `"x"`).
Errors (4xx/5xx) and responses setting a cookie pass through untouched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from planeco_shared.routing import iter_routes

DEFAULT_MAX_AGE = 300
STATE_KEY = "public_cache"
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
# What a 304 carries (RFC 9110 §15.4.5): the fields a 200 would have had that guide caches.
NOT_MODIFIED_HEADERS = frozenset(
    {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary"}
)
# One element of an If-None-Match list: an entity tag (RFC 9110 §8.8.3), or an empty element.
_LIST_ELEMENT = re.compile(rb'[ \t]*(?:(W/)?("[\x21\x23-\x7e\x80-\xff]*"))?[ \t]*(?:,|$)')


@dataclass(slots=True)
class CacheDirective:
    """What an opted-in route promises about its response. Endpoints may give a version token."""

    max_age: int
    etag: bytes | None = field(default=None)

    @property
    def cache_control(self) -> bytes:
        return f"public, max-age={self.max_age}, must-revalidate".encode()

    def use_version(self, token: object) -> str:
        """Derive the ETag from a cheap version token (e.g. a row version or a dataset checksum)
        instead of hashing the body. The token must change whenever the response would."""
        self.etag = strong_etag(repr(token).encode(), prefix=b"v")
        return self.etag.decode()


class PublicCache:
    """Route dependency marking the response as public and cacheable for `max_age` seconds."""

    def __init__(self, max_age: int = DEFAULT_MAX_AGE) -> None:
        if max_age < 0:
            raise ValueError("max_age must be >= 0")
        self.max_age = max_age

    async def __call__(self, request: Request) -> CacheDirective:  # async: no thread-pool hand-off
        directive = CacheDirective(max_age=self.max_age)
        request.scope.setdefault("state", {})[STATE_KEY] = directive
        return directive


def public_cache(max_age: int = DEFAULT_MAX_AGE) -> DependsParam:
    """`dependencies=[public_cache()]` on a PUBLIC GET route or router."""
    marker: DependsParam = Depends(PublicCache(max_age))
    return marker


# For an endpoint that wants to give a version token: `cache: PublicCacheDep` then `cache.use_version(…)`.
PublicCacheDep = Annotated[CacheDirective, Depends(PublicCache())]


def strong_etag(content: bytes, *, prefix: bytes = b"") -> bytes:
    return b'"' + prefix + hashlib.blake2b(content, digest_size=16).hexdigest().encode() + b'"'


def if_none_match_matches(header: bytes, etag: bytes) -> bool:
    """RFC 9110 §13.1.2 with weak comparison. A malformed header matches nothing (full response)."""
    value = header.strip(b" \t")
    if value == b"*":
        return True
    opaque = etag.removeprefix(b"W/")
    position, end = 0, len(value)
    while position < end:
        element = _LIST_ELEMENT.match(value, position)
        if element is None or element.end() == position:
            return False
        if element.group(2) == opaque:
            return True
        position = element.end()
    return False


class ConditionalGetMiddleware:
    """Pure ASGI. Acts only on GET/HEAD responses of routes that set the `public_cache` marker."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CACHEABLE_METHODS:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        start: Message | None = None  # held back while the body is hashed
        chunks: list[bytes] = []
        mode = "undecided"  # → "pass" | "buffer" | "drop" (the client's copy is current: 304 sent)

        async def conditional_send(message: Message) -> None:
            nonlocal start, mode
            if mode == "pass":
                await send(message)
            elif mode == "drop":
                return
            elif message["type"] == "http.response.start":
                directive = state.get(STATE_KEY)
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                if (
                    not isinstance(directive, CacheDirective)
                    or message["status"] not in (200, 304)
                    or any(k.lower() == b"set-cookie" for k, _ in headers)
                ):
                    mode = "pass"
                    await send(message)
                    return
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", directive.cache_control))
                etag = _header(headers, b"etag") or directive.etag
                if etag is not None and _header(headers, b"etag") is None:
                    headers.append((b"etag", etag))
                message = {**message, "headers": headers}
                if message["status"] == 304:  # the endpoint checked the version itself
                    mode = "pass"
                    await send(message)
                elif etag is None:
                    mode, start = "buffer", message
                elif _client_has(scope, etag):
                    mode = "drop"
                    await _send_not_modified(send, headers)
                else:
                    mode = "pass"
                    await send(message)
            else:  # buffering body chunks of a 200 without an ETag yet
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                assert start is not None
                body = b"".join(chunks)
                etag = strong_etag(body)
                headers = [*start["headers"], (b"etag", etag)]
                mode = "drop"
                if _client_has(scope, etag):
                    await _send_not_modified(send, headers)
                    return
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, conditional_send)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _client_has(scope: Scope, etag: bytes) -> bool:
    values = [v for k, v in scope["headers"] if k == b"if-none-match"]
    return bool(values) and if_none_match_matches(b",".join(values), etag)


async def _send_not_modified(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    kept = [(k, v) for k, v in headers if k.lower() in NOT_MODIFIED_HEADERS]
    await send({"type": "http.response.start", "status": 304, "headers": kept})
    await send({"type": "http.response.body", "body": b""})


def public_cache_routes(app: FastAPI) -> Iterator[Any]:
    for route in iter_routes(app):
        dependant = getattr(route, "dependant", None)
        pending = list(dependant.dependencies) if dependant is not None else []
        while pending:
            dependency = pending.pop()
            if isinstance(dependency.call, PublicCache):
                yield route
                break
            pending.extend(dependency.dependencies)


def verify_public_caching(app: FastAPI) -> None:
    """Refuse to build an app where `public_cache` sits on a non-public or non-GET route."""
    wrong = [
        f"{sorted(route.methods)} {route.path}"
        for route in public_cache_routes(app)
        if (route.openapi_extra or {}).get("security") != [] or not set(route.methods) <= CACHEABLE_METHODS
    ]
    if wrong:
        raise RuntimeError(
            "public_cache() is only for GET routes declared openapi_extra=PUBLIC; not: " + ", ".join(wrong)
        )

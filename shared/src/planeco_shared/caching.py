"""HTTP caching of deliberately public reads: an ETag from the data version, a 304 that reads no data,
and answers built once per data version.

Opt-in per route, never by default: a route (or a whole router) adds `public_cache()` to its
`dependencies` and must also declare `openapi_extra=PUBLIC` — `create_service_app` refuses to start
otherwise, so an authenticated or private read can never be marked `public`. Such a read promises that its
answer depends only on the URL and the service's data (never on who asks).

    @router.get("/regions/{code}", openapi_extra=PUBLIC, dependencies=[public_cache()])

For a GET/HEAD of such a route, `ReadCacheMiddleware` (installed by `create_service_app`, outside gzip):
1. reads the service's data version first (one autocommitted query, `planeco_shared.dataversion`);
2. derives the strong ETag from (service, app version, data version, path, query) and the content coding:
   `"<hash>"` for the identity body, `"<hash>-gzip"` for the gzipped one (two representations, two
   tags, negotiated by `Vary: Accept-Encoding`);
3. answers `304 Not Modified` when `If-None-Match` carries it (`*`, or a list compared weakly, RFC 9110
   §13.1.2), without running the endpoint: no data is read;
4. else sends the answer this process built for that URL at that data version, from memory (identity and
   gzip bytes, each made once); concurrent misses of one URL wait for the first to build it;
5. else runs the endpoint and keeps its 200 (`ReadCache`: one data version at a time, a new version
   empties it; bounded in bytes, least recently used out first).
It sets `Cache-Control: public, max-age=<max_age>, must-revalidate` (default 5 minutes: a browser or CDN
may keep the answer that long, then revalidates for the price of a 304). The forwarded identity is still
verified before an answer is served from memory (else the endpoint runs and answers 401). Errors (4xx/5xx)
and responses setting a cookie pass through, never kept. Across replicas nothing is shared but the data
version, which each reads before the data: a write committed anywhere changes every replica's next ETag.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cachetools import LRUCache
from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from planeco_shared.identity import IDENTITY_HEADER, IdentityVerifier
from planeco_shared.problems import AppError
from planeco_shared.routing import iter_routes

DEFAULT_MAX_AGE = 300
STATE_KEY = "public_cache"
CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
# Below this a response goes out as it is: gzip would save little and cost a compression call.
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 6  # zlib's default: most of level 9's gain (the EPCI declination 798 → 40 KB) at far less CPU
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
# Headers of the endpoint's answer that the cache sets itself, per representation.
_REPRESENTATION_HEADERS = frozenset({b"content-length", b"content-encoding", b"etag", b"vary"})
_VARY = (b"vary", b"Accept-Encoding")
# One element of an If-None-Match list: an entity tag (RFC 9110 §8.8.3), or an empty element.
_LIST_ELEMENT = re.compile(rb'[ \t]*(?:(W/)?("[\x21\x23-\x7e\x80-\xff]*"))?[ \t]*(?:,|$)')
_GZIP_CODING = re.compile(
    rb"(?:^|,)\s*(?:gzip|x-gzip|\*)\s*(?:;\s*q\s*=\s*(0(?:\.0*)?|[01](?:\.\d*)?))?\s*(?=,|$)"
)
_PATHS_KEPT = 50_000  # per-path decisions remembered (cacheable or not), cleared when full


@dataclass(slots=True)
class CacheDirective:
    """What an opted-in route promises about its response, read by `ReadCacheMiddleware`."""

    max_age: int
    # False when the endpoint's bytes differ between two builds of the same data (a file stamped with its
    # generation time): its ETags are then weak (RFC 9110 §8.8.1), as `not_reproducible` says.
    reproducible: bool = True

    @property
    def cache_control(self) -> bytes:
        return f"public, max-age={self.max_age}, must-revalidate".encode()


class PublicCache:
    """Route dependency marking the response as public and cacheable for `max_age` seconds."""

    def __init__(self, max_age: int = DEFAULT_MAX_AGE) -> None:
        if max_age < 0:
            raise ValueError("max_age must be >= 0")
        self.directive = CacheDirective(max_age=max_age)

    async def __call__(self, request: Request) -> CacheDirective:  # async: no thread-pool hand-off
        request.scope.setdefault("state", {})[STATE_KEY] = self.directive
        return self.directive


def not_reproducible(request: Request) -> None:
    """Say, from a `public_cache()` endpoint, that its answer is not byte-reproducible (weak ETags)."""
    state = request.scope.setdefault("state", {})
    directive = state.get(STATE_KEY)
    if isinstance(directive, CacheDirective):
        state[STATE_KEY] = replace(directive, reproducible=False)


def public_cache(max_age: int = DEFAULT_MAX_AGE) -> DependsParam:
    """`dependencies=[public_cache()]` on a PUBLIC GET route or router."""
    marker: DependsParam = Depends(PublicCache(max_age))
    return marker


def strong_etag(content: bytes, *, prefix: bytes = b"") -> bytes:
    return b'"' + prefix + hashlib.blake2b(content, digest_size=16).hexdigest().encode() + b'"'


IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"


def immutable_response(
    request: Request,
    content: bytes,
    *,
    media_type: str,
    etag: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The answer of a read whose bytes never change (a published snapshot, stored once): `etag` is its
    strong ETag (`strong_etag` of the bytes, kept with them), `Cache-Control: public, max-age=31536000,
    immutable`; a matching `If-None-Match` is a 304. Not for `public_cache()` routes (whose ETags follow
    the data version): this one holds across data versions. Gzipped here when the client accepts it (1 KiB
    or more; `mtime` 0, so the same bytes each time) with its own tag `"…-gzip"`, so that the app's gzip
    middleware, which leaves an encoded answer alone, never sends other bytes under the identity's tag."""
    identity = etag.encode()
    etags = (identity, identity[:-1] + b'-gzip"')
    sent = {"Cache-Control": IMMUTABLE_CACHE_CONTROL, "Vary": "Accept-Encoding", **(headers or {})}
    return _not_modified(request, etags, sent) or _coded(
        request, content, lambda: _gzipped(content), etags, media_type=media_type, headers=sent
    )


def _not_modified(request: Request, etags: tuple[bytes, bytes], headers: dict[str, str]) -> Response | None:
    """A 304 when `If-None-Match` names the identity's or the gzip coding's tag, else None."""
    wanted = request.headers.get("if-none-match")
    matched = _matching(wanted.encode("latin-1"), etags) if wanted is not None else None
    return (
        None if matched is None else Response(status_code=304, headers=headers | {"ETag": matched.decode()})
    )


def _coded(
    request: Request,
    identity: bytes,
    gzipped: Callable[[], bytes | None],
    etags: tuple[bytes, bytes],
    *,
    media_type: str,
    headers: dict[str, str],
) -> Response:
    """The gzip coding under its own tag when the client accepts it and there is one (`gzipped`, asked
    only then), else the identity under the identity's tag."""
    if accepts_gzip(request.headers.get("accept-encoding", "").encode()) and (body := gzipped()) is not None:
        return Response(
            body,
            media_type=media_type,
            headers=headers | {"ETag": etags[1].decode(), "Content-Encoding": "gzip"},
        )
    return Response(identity, media_type=media_type, headers=headers | {"ETag": etags[0].decode()})


def if_none_match_matches(header: bytes, etag: bytes) -> bool:
    """RFC 9110 §13.1.2 with weak comparison. A malformed header matches nothing (full response)."""
    return _matching(header, (etag,)) is not None


def _matching(header: bytes, etags: tuple[bytes, ...]) -> bytes | None:
    """Which of `etags` the If-None-Match list names (`*` names the first), or None."""
    value = header.strip(b" \t")
    if value == b"*":
        return etags[0]
    opaque = {etag.removeprefix(b"W/"): etag for etag in etags}
    position, end = 0, len(value)
    while position < end:
        element = _LIST_ELEMENT.match(value, position)
        if element is None or element.end() == position:
            return None
        if element.group(2) in opaque:
            return opaque[element.group(2)]
        position = element.end()
    return None


def accepts_gzip(header: bytes) -> bool:
    """Whether an Accept-Encoding value admits gzip (`gzip`, `x-gzip` or `*`, with a q above 0)."""
    for match in _GZIP_CODING.finditer(header.lower()):
        if match.group(1) is None or float(match.group(1)) > 0:
            return True
    return False


@dataclass(slots=True)
class CachedAnswer:
    """A 200 as the endpoint gave it, both codings made once. `headers`: without the representation's."""

    headers: list[tuple[bytes, bytes]]
    identity: bytes
    gzipped: bytes | None  # None: too small to compress
    weak: bool = False

    @property
    def size(self) -> int:
        return len(self.identity) + len(self.gzipped or b"") + 64 * len(self.headers)


@dataclass(slots=True)
class _Path:
    """What a path is, learned from its first answer: a cached route (with its Cache-Control) or not."""

    cache_control: bytes | None
    route: Any = None
    weak: bool = False  # its answers are not byte-reproducible (a file with its generation time)


class ReadCache:
    """This process's answers to cached reads, for one data version at a time."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.version: int | None = None
        self._answers: LRUCache[tuple[str, bytes], CachedAnswer] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda answer: answer.size
        )
        self._building: dict[tuple[str, bytes], asyncio.Event] = {}
        self.paths: dict[str, _Path] = {}
        self.hits = self.misses = self.not_modified = 0

    def at(self, version: int) -> None:
        """Everything kept belongs to one data version: a different one empties the cache."""
        if version != self.version:
            self._answers.clear()
            self.version = version

    def get(self, key: tuple[str, bytes]) -> CachedAnswer | None:
        return self._answers.get(key)

    def put(self, key: tuple[str, bytes], answer: CachedAnswer) -> None:
        if answer.size <= self.max_bytes // 8:  # one huge answer does not evict everything else
            self._answers[key] = answer

    def being_built(self, key: tuple[str, bytes]) -> asyncio.Event | None:
        """Set when the request building this answer is done; None when no request is building it."""
        return self._building.get(key)

    def start_building(self, key: tuple[str, bytes]) -> asyncio.Event | None:
        """Claim the building of this answer: the event to set when done, or None when another request
        already builds it (this one then builds its own answer without claiming)."""
        if key in self._building:
            return None
        building = self._building[key] = asyncio.Event()
        return building

    def done_building(self, key: tuple[str, bytes], building: asyncio.Event) -> None:
        self._building.pop(key, None)
        building.set()

    def learn(self, path: str, known: _Path) -> None:
        if len(self.paths) >= _PATHS_KEPT:
            self.paths.clear()
        self.paths[path] = known

    @property
    def size(self) -> int:
        return int(self._answers.currsize)


def _etags(seed: bytes, *, weak: bool = False) -> tuple[bytes, bytes]:
    """The identity and gzip tags. Weak when the endpoint said its bytes are not reproducible (a rebuilt
    file differs by its generation time: RFC 9110 §8.8.1), by giving a weak ETag itself."""
    digest = hashlib.blake2b(seed, digest_size=16).hexdigest().encode()
    prefix = b'W/"' if weak else b'"'
    return prefix + digest + b'"', prefix + digest + b'-gzip"'


class ReadCacheMiddleware:
    """Pure ASGI. Acts only on GET/HEAD of routes that declare `public_cache()`; see the module text."""

    def __init__(self, app: ASGIApp, cache: ReadCache, tag: str) -> None:
        self.app = app
        self.cache = cache
        self.tag = tag.encode()  # service and app version: a new release gets new ETags
        self._templates: list[re.Pattern[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CACHEABLE_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        known = self.cache.paths.get(path)
        if (known is None and not self._may_be_cached(scope["app"], path)) or (
            known is not None and known.cache_control is None
        ):
            await self.app(scope, receive, send)  # a route that is not cached
            return
        version = await self._data_version(scope)
        if version is None:  # no runtime or no database now: the endpoint answers (503) as it would
            await self.app(scope, receive, send)
            return
        self.cache.at(version)
        key = (path, scope["query_string"])
        headers = dict(scope["headers"])  # a repeated request header: its last value (none of these repeat)
        seed = b"|".join((self.tag, str(version).encode(), path.encode(), key[1]))
        etags = _etags(seed, weak=known is not None and known.weak)
        if known is not None and self._verified(scope, headers):
            scope["route"] = known.route  # for metrics and logs, as the router would have set it
            if await self._answer_from_memory(key, known, etags, headers, send):
                return
        await self._build(scope, receive, send, key, seed, headers)

    def _may_be_cached(self, app: FastAPI, path: str) -> bool:
        """Whether a route with `public_cache()` has this path's shape (its first answer then says if
        that route is the one that serves it)."""
        if self._templates is None:
            self._templates = [compile_path(route.path)[0] for route in public_cache_routes(app)]
        return any(template.match(path) for template in self._templates)

    async def _data_version(self, scope: Scope) -> int | None:
        from planeco_shared.runtime import runtime_of  # the runtime is built on the database module

        try:
            return await runtime_of(scope["app"]).data_version()
        except Exception:  # starting, stopping, database down: the endpoint reports it as a problem
            return None

    def _verified(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        token = headers.get(IDENTITY_HEADER.lower().encode())
        verifier = getattr(getattr(scope.get("app"), "state", None), "identity_verifier", None)
        if token is None or not isinstance(verifier, IdentityVerifier):
            return False
        try:
            verifier.verify(token.decode("latin-1"))
        except AppError:
            return False
        return True

    async def _answer_from_memory(
        self,
        key: tuple[str, bytes],
        known: _Path,
        etags: tuple[bytes, bytes],
        headers: dict[bytes, bytes],
        send: Send,
    ) -> bool:
        assert known.cache_control is not None
        answer = self.cache.get(key)
        # Another request is building this answer: wait for it, unless a named tag's 304 needs no answer.
        waits = _matching_tag(headers, etags) is None or _any_tag(headers)
        if answer is None and waits and (building := self.cache.being_built(key)) is not None:
            await building.wait()
            answer = self.cache.get(key)
        sent = await _reply(send, answer, etags, headers, known.cache_control)
        if sent == 304:
            self.cache.not_modified += 1
        elif sent == 200:
            self.cache.hits += 1
        return sent is not None

    async def _build(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, bytes],
        seed: bytes,
        headers: dict[bytes, bytes],
    ) -> None:
        """Run the endpoint (asked for identity: this middleware compresses); keep a cacheable 200."""
        state: dict[str, Any] = scope.setdefault("state", {})
        inner = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
        building = self.cache.start_building(key)
        start: Message | None = None
        chunks: list[bytes] = []
        mode = "undecided"  # → "pass" (not ours, or not a 200) | "keep" (buffering a 200 to cache)

        async def capture(message: Message) -> None:
            nonlocal start, mode
            if mode == "pass":
                await send(message)
                return
            if message["type"] == "http.response.start":
                directive = state.get(STATE_KEY)
                if not isinstance(directive, CacheDirective):
                    self.cache.learn(scope["path"], _Path(cache_control=None))
                    mode = "pass"
                    await send(message)
                    return
                response_headers = message.get("headers", [])
                weak = not directive.reproducible
                self.cache.learn(scope["path"], _Path(directive.cache_control, inner.get("route"), weak))
                if message["status"] != 200 or any(k.lower() == b"set-cookie" for k, _ in response_headers):
                    mode = "pass"
                    await send(message)
                    return
                mode, start = "keep", message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            directive = state[STATE_KEY]
            assert start is not None and isinstance(directive, CacheDirective)
            answer = _answer(start["headers"], b"".join(chunks), directive)
            etags = _etags(seed, weak=answer.weak)
            self.cache.put(key, answer)
            self.cache.misses += 1
            await _reply(send, answer, etags, headers, directive.cache_control)

        try:
            await self.app(inner, receive, capture)
        finally:
            if "route" in inner:
                scope["route"] = inner["route"]
            if building is not None:
                self.cache.done_building(key, building)


def _answer(headers: list[tuple[bytes, bytes]], body: bytes, directive: CacheDirective) -> CachedAnswer:
    kept = [(k, v) for k, v in headers if k.lower() not in _REPRESENTATION_HEADERS]
    if not any(k.lower() == b"cache-control" for k, _ in kept):
        kept.append((b"cache-control", directive.cache_control))
    return CachedAnswer(headers=kept, identity=body, gzipped=_gzipped(body), weak=not directive.reproducible)


def _gzipped(body: bytes) -> bytes | None:
    """The gzip coding of a body worth compressing (`mtime` 0: the same bytes each time), else None."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MINIMUM_BYTES else None


def _matching_tag(headers: dict[bytes, bytes], etags: tuple[bytes, bytes]) -> bytes | None:
    if_none_match = headers.get(b"if-none-match")
    return _matching(if_none_match, etags) if if_none_match is not None else None


def _any_tag(headers: dict[bytes, bytes]) -> bool:
    return headers.get(b"if-none-match", b"").strip(b" \t") == b"*"


async def _reply(
    send: Send,
    answer: CachedAnswer | None,
    etags: tuple[bytes, bytes],
    headers: dict[bytes, bytes],
    cache_control: bytes,
) -> int | None:
    """A 304 when `If-None-Match` names one of this URL's tags at this data version, else the kept answer;
    None (nothing sent) when there is no answer to send. A tag names an answer this URL had at this data
    version, so it still has it (the answer depends on nothing else); `*` names none: only a kept 200 says
    the resource exists."""
    matched = _matching_tag(headers, etags)
    if matched is not None and (answer is not None or not _any_tag(headers)):
        await _send_not_modified(send, [(b"cache-control", cache_control), (b"etag", matched), _VARY])
        return 304
    if answer is None:
        return None
    await _send_answer(send, answer, etags, gzip_ok=accepts_gzip(headers.get(b"accept-encoding", b"")))
    return 200


async def _send_answer(
    send: Send, answer: CachedAnswer, etags: tuple[bytes, bytes], *, gzip_ok: bool
) -> None:
    if gzip_ok and answer.gzipped is not None:
        body, coding = answer.gzipped, [(b"content-encoding", b"gzip")]
        etag = etags[1]
    else:
        body, coding, etag = answer.identity, [], etags[0]
    headers = [*answer.headers, *coding, (b"content-length", str(len(body)).encode()), (b"etag", etag), _VARY]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_not_modified(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": headers})
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


PRIVATE_CACHE_CONTROL = "private, no-cache"
PRIVATE_STATE_KEY = "private_answers"
DEFAULT_PRIVATE_BYTES = 32 * 1024 * 1024


class PrivateAnswers:
    """An authenticated read's answers, built once per data version in this process and revalidated
    with a 304, for reads too costly to rebuild on each call (a campaign's synthesis: tens of thousands
    of answers aggregated into megabytes of JSON).

    Unlike `public_cache()`, the endpoint runs: it checks who asks and decides what they may see, then
    calls `respond` with a key naming that view (the resource, its parameters and the caller's form of it,
    never the caller's identity when the view does not depend on it). The data version is read first, as
    the read cache does: data read after it can only be newer, so an answer is never kept under a version
    newer than its data. `Cache-Control: private, no-cache`: a browser keeps it and revalidates each time;
    no shared cache keeps it. One data version at a time (a new one empties it), bounded in bytes, least
    recently used out first; both codings made once."""

    def __init__(self, max_bytes: int = DEFAULT_PRIVATE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.version: int | None = None
        self._answers: LRUCache[bytes, CachedAnswer] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda answer: answer.size
        )

    async def respond(
        self,
        request: Request,
        key: tuple[object, ...],
        version: int,
        build: Callable[[], Awaitable[bytes]],
        *,
        media_type: str = "application/json",
    ) -> Response:
        if version != self.version:
            self._answers.clear()
            self.version = version
        seed = repr((request.url.path, *key)).encode() + b"|" + str(version).encode()
        etags = _etags(seed)
        sent = {"Cache-Control": PRIVATE_CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if (unchanged := _not_modified(request, etags, sent)) is not None:
            return unchanged
        answer = self._answers.get(seed)
        if answer is None:
            body = await build()
            answer = CachedAnswer(headers=[], identity=body, gzipped=_gzipped(body))
            if answer.size <= self.max_bytes // 4:
                self._answers[seed] = answer
        kept = answer
        return _coded(
            request, kept.identity, lambda: kept.gzipped, etags, media_type=media_type, headers=sent
        )


def private_answers(request: Request) -> PrivateAnswers:
    """This app's `PrivateAnswers` (made on first use)."""
    state = request.app.state
    answers = getattr(state, PRIVATE_STATE_KEY, None)
    if not isinstance(answers, PrivateAnswers):
        answers = PrivateAnswers()
        setattr(state, PRIVATE_STATE_KEY, answers)
    return answers

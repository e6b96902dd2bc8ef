"""The forwarding hot path: a raw ASGI app on a pooled aiohttp session.

No routing framework and no body parsing: the request body goes upstream as bytes (or streamed when
large), the response comes back as bytes (small ones in one piece, larger ones chunk by chunk). The
same minimal forwarder measured on 2 cores costs 105-190 µs of CPU per request on aiohttp and
870-4,100 µs on an httpx.AsyncClient, whose throughput collapses with concurrency (bench/README.md):
aiohttp here, httpx everywhere off the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send
from yarl import URL

from planeco_gateway.auth.authenticator import Authenticator
from planeco_gateway.ratelimit import RateLimits
from planeco_gateway.routes import AREAS, TOKEN_AREAS, area_of
from planeco_shared.identity import IDENTITY_HEADER, Principal
from planeco_shared.logging import get_logger
from planeco_shared.problems import (
    AppError,
    BadGateway,
    BadRequest,
    GatewayTimeout,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    Unauthorized,
)
from planeco_shared.request_id import REQUEST_ID_HEADER

logger = get_logger(__name__)

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Never forwarded upstream: credentials are replaced by the signed identity; a client's own identity
# header would be a forgery attempt.
STRIPPED_REQUEST = HOP_BY_HOP | {
    b"host",
    b"x-api-key",
    b"authorization",
    IDENTITY_HEADER.encode(),
    b"content-length",
}
STRIPPED_RESPONSE = HOP_BY_HOP | {b"server", b"date", REQUEST_ID_HEADER.encode()}
# The request id is the gateway's own (accepted from the caller or generated): replaced, not passed on.
_REPLACED_REQUEST = STRIPPED_REQUEST | {REQUEST_ID_HEADER.encode()}
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
# The contract has no public write (tests/test_contract.py checks it): an anonymous write is refused here,
# before its body is read, instead of by the service after the upload.
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# Added to every forwarded response (RFC 9111 §5.2.2.5, RFC 9110 §12.5.5): a response the service did not
# mark cacheable (public reads carry `public, max-age…` and their ETag) may depend on the credentials.
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
VARY_CREDENTIALS = (b"vary", b"Authorization, X-API-Key")
# A response sent before the request body was read whole ends the connection: what is left of the body
# must not be parsed as the next request.
CLOSE = {"Connection": "close"}
BUFFER_LIMIT = 1024 * 1024  # bodies up to 1 MiB go upstream in one piece; larger ones stream
ONE_PIECE = 64 * 1024  # responses up to 64 KiB are read whole and sent to the client in one message
NO_BODY_STATUSES = frozenset({204, 304})


def _origin_form(scope: Scope) -> bool:
    """The raw target is a plain absolute path. httptools guarantees it; uvicorn's h11 parser passes any
    visible characters ("%2Fapi…@host"), which must not reach URL building."""
    raw_path: bytes = scope.get("raw_path") or b"/"
    return raw_path.startswith(b"/") and not raw_path.startswith(b"//")


def upstream_target(base: URL, scope: Scope) -> URL:
    """The upstream URL: the service's origin, then the path and query exactly as the client wrote them,
    percent-escapes included (`URL.with_query` would encode them again: "caf%C3%A9" → "caf%25C3%25A9",
    and the service would read another value). `URL.build` keeps the host and port the origin's."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return URL.build(
        scheme=base.scheme,
        host=base.raw_host or "",
        port=base.explicit_port,
        path=raw_path.decode("latin-1"),
        query_string=scope.get("query_string", b"").decode("latin-1"),
        encoded=True,
    )


def _upstream_problem(service: str, exc: Exception) -> AppError:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return BadGateway(f"The {service} service closed the connection")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ServiceUnavailable(f"The {service} service is unavailable")
    if isinstance(exc, TimeoutError):
        return GatewayTimeout(f"The {service} service did not answer in time")
    return BadGateway(f"The {service} service gave an invalid response")


class Forwarder:
    """Forwards one /api/ request: authenticate (cached), sign the identity, stream through.

    The Gateway sets `scope["state"]["request_id"]` before calling it and records the metrics; errors
    before the response started are raised as `AppError` (the Gateway renders the problem)."""

    def __init__(
        self,
        *,
        upstreams: dict[str, str],
        authenticator: Authenticator,
        rate_limits: RateLimits,
        max_body: int,
        body_timeout: float,
        requests_total: Counter,
        on_first_byte: Callable[[str, float], None] | None = None,
    ) -> None:
        # Origins only: the request's raw path and query go to `URL.build` untouched.
        self.upstreams = {area: URL(upstreams[service]).origin() for area, service in AREAS.items()}
        self.services = dict(AREAS)
        self.authenticator = authenticator
        self.rate_limits = rate_limits
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.requests_total = requests_total
        self.on_first_byte = on_first_byte
        self.session: aiohttp.ClientSession | None = None  # set in the gateway's lifespan
        self._counters: dict[tuple[str, int], Any] = {}  # labels() takes a lock and builds a key per call

    def _count(self, service: str, status: int) -> None:
        counter = self._counters.get((service, status))
        if counter is None:
            counter = self._counters[(service, status)] = self.requests_total.labels(service, str(status))
        counter.inc()

    async def __call__(self, scope: Scope, receive: Receive, send: Send, started: float | None = None) -> int:
        """Returns the status sent to the client."""
        path: str = scope["path"]
        area = area_of(path)
        base = self.upstreams.get(area) if area is not None else None
        if base is None or not _origin_form(scope):
            raise NotFound(f"No route matches {scope['method']} {path}")
        service = self.services[area]  # type: ignore[index]

        api_key = authorization = content_length = None
        credentials = 0
        token_header = TOKEN_AREAS.get(area)  # type: ignore[arg-type]
        has_token = False
        forwarded: list[tuple[str, str]] = []
        for name, value in scope["headers"]:
            if name not in _REPLACED_REQUEST:
                forwarded.append((name.decode("latin-1"), value.decode("latin-1")))
                if token_header is not None and name == token_header.encode():
                    has_token = True
            elif name == b"x-api-key":
                api_key, credentials = value, credentials + 1
            elif name == b"authorization":
                authorization, credentials = value, credentials + 1
            elif name == b"content-length":
                content_length = value
        method: str = scope["method"]
        has_body = not (method in BODYLESS and content_length in (None, b"0"))
        if credentials > 1:  # which one would win is the parser's accident: refuse instead
            raise BadRequest(
                "Send one credential: an X-API-Key or an Authorization header, once",
                headers=CLOSE if has_body else None,
            )
        client = scope.get("client")
        client_ip: str = client[0] if client else "unknown"
        principal = await self._authenticate(api_key, authorization, client_ip, has_body)
        if principal.is_authenticated:
            await self.rate_limits.hit(self.rate_limits.authenticated, principal.subject)
        else:
            await self.rate_limits.hit(self.rate_limits.anonymous, client_ip)
            if has_token:  # checked by the service: a client that failed too many checks waits first
                await self.rate_limits.ensure_not_exhausted(self.rate_limits.failed_auth, client_ip)
            elif method not in SAFE:
                raise Unauthorized(
                    "Credentials are required: a bearer token or an X-API-Key",
                    headers=CLOSE if has_body else None,
                )
        forwarded.append((IDENTITY_HEADER, self.authenticator.identity_token(principal)))
        request_id: str | None = (scope.get("state") or {}).get("request_id")
        if request_id:
            forwarded.append((REQUEST_ID_HEADER, request_id))
        if client:
            forwarded.append(("x-forwarded-for", client_ip))
        forwarded.append(("x-forwarded-proto", scope.get("scheme", "http")))

        body_failure: list[AppError] = []
        body = await self._body(content_length, receive, body_failure) if has_body else None
        target = upstream_target(base, scope)
        sent = await self._exchange(
            service,
            method,
            target,
            forwarded,
            body,
            body_failure,
            send,
            request_id.encode() if request_id else None,
            time.perf_counter() if started is None else started,
        )
        if has_token and not principal.is_authenticated and sent == 404:  # an unknown or revoked token
            with contextlib.suppress(AppError):  # the answer is sent: the next request gets the 429
                await self.rate_limits.hit(self.rate_limits.failed_auth, client_ip)
        return sent

    async def _authenticate(
        self, api_key: bytes | None, authorization: bytes | None, client_ip: str, has_body: bool
    ) -> Principal:
        """Who calls; a client that failed too many credential checks gets 429 before another check."""
        if api_key is None and authorization is None:
            return await self.authenticator.authenticate(None, None)
        known = self.authenticator.cached(api_key, authorization)
        if known is not None:  # checked and valid a moment ago: no counter lookup on the hot path
            return known
        limits = self.rate_limits
        await limits.ensure_not_exhausted(limits.failed_auth, client_ip)
        try:
            return await self.authenticator.authenticate(api_key, authorization)
        except Unauthorized as exc:
            await limits.hit(limits.failed_auth, client_ip)
            if has_body:
                exc.headers.update(CLOSE)
            raise

    async def _body(
        self, content_length: bytes | None, receive: Receive, failure: list[AppError]
    ) -> bytes | AsyncIterator[bytes]:
        """The body, read up to BUFFER_LIMIT before any upstream connection is taken (a client trickling
        its body holds none of the pool); the rest, if any, streams. All of it within `body_timeout`."""
        declared = int(content_length) if content_length is not None and content_length.isdigit() else None
        if declared is not None and declared > self.max_body:
            raise PayloadTooLarge(f"The request body exceeds {self.max_body} bytes", headers=CLOSE)
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        chunks: list[bytes] = []
        size = 0
        more = True
        while more and size <= BUFFER_LIMIT:
            chunk, more = await self._receive(receive, deadline)
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLarge(f"The request body exceeds {self.max_body} bytes", headers=CLOSE)
            chunks.append(chunk)
        if not more:
            return b"".join(chunks)
        return self._stream_body(chunks, size, receive, deadline, failure)

    async def _receive(self, receive: Receive, deadline: float) -> tuple[bytes, bool]:
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"The request body did not arrive within {self.body_timeout:g} s", headers=CLOSE
            ) from None
        if message["type"] == "http.disconnect":
            raise BadRequest("The client closed the connection before the end of the body", headers=CLOSE)
        return message.get("body", b""), message.get("more_body", False)

    async def _stream_body(
        self, head: list[bytes], size: int, receive: Receive, deadline: float, failure: list[AppError]
    ) -> AsyncIterator[bytes]:
        for chunk in head:
            yield chunk
        more = True
        while more:
            try:
                chunk, more = await self._receive(receive, deadline)
                size += len(chunk)
                if size > self.max_body:
                    raise PayloadTooLarge(f"The request body exceeds {self.max_body} bytes", headers=CLOSE)
            except AppError as exc:
                failure.append(exc)  # aiohttp wraps what the body raises: the forwarder answers this
                raise
            if chunk:
                yield chunk

    async def _exchange(
        self,
        service: str,
        method: str,
        target: URL,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
        body_failure: list[AppError],
        send: Send,
        request_id: bytes | None,
        started: float,
    ) -> int:
        assert self.session is not None, "the gateway's lifespan did not run"
        # A pooled keep-alive connection may have been closed by the upstream just as we reuse it:
        # aiohttp (>= 3.9.2) then retries once, only for idempotent methods and bodies it can replay
        # (RFC 9112 §9.3.1.1), so a stale connection costs no error.
        status, streaming = 0, False
        try:
            async with self.session.request(
                method, target, headers=headers, data=body, allow_redirects=False
            ) as upstream:
                status = upstream.status
                response_headers = [NOSNIFF]
                cacheable = False
                for k, v in upstream.raw_headers:
                    name = k.lower()
                    if name not in STRIPPED_RESPONSE:
                        response_headers.append((k, v))
                        cacheable = cacheable or name == b"cache-control"
                if not cacheable:
                    response_headers += (NO_STORE, VARY_CREDENTIALS)
                if request_id is not None:
                    response_headers.append((b"x-request-id", request_id))
                length = upstream.content_length
                whole = (
                    method == "HEAD"
                    or status in NO_BODY_STATUSES
                    or (length is not None and length <= ONE_PIECE)
                )
                content = await upstream.read() if whole and method != "HEAD" else b""
                if self.on_first_byte is not None:
                    self.on_first_byte(method, time.perf_counter() - started)
                await send({"type": "http.response.start", "status": status, "headers": response_headers})
                self._count(service, status)
                if whole:
                    await send({"type": "http.response.body", "body": content})
                    return status
                streaming = True
                async for chunk in upstream.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return status
        except AppError:  # the request body failed (timeout, too large) and aiohttp passed it on as is
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            if body_failure:  # the same, wrapped by aiohttp: the client's fault, not the service's
                raise body_failure[0] from exc
            problem, cause = _upstream_problem(service, exc), exc
        self._count(service, problem.status_code)
        if streaming:  # the body failed half-way: all we can do is cut the connection
            logger.warning("upstream_failed_mid_response", path=target.path, error=problem.detail)
            return status
        raise problem from cause

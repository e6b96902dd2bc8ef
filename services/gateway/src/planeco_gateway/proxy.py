"""The forwarding hot path: a raw ASGI app on a pooled aiohttp session.

No routing framework and no body parsing: the request body goes upstream as bytes (or streamed when
large), the response comes back as bytes (small ones in one piece, larger ones chunk by chunk). The
same minimal forwarder measured on 2 cores costs 105-190 µs of CPU per request on aiohttp and
870-4,100 µs on an httpx.AsyncClient, whose throughput collapses with concurrency (bench/README.md):
aiohttp here, httpx everywhere off the hot path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send
from yarl import URL

from planeco_gateway.auth.authenticator import Authenticator
from planeco_gateway.routes import AREAS, area_of
from planeco_shared.identity import IDENTITY_HEADER
from planeco_shared.logging import get_logger
from planeco_shared.problems import AppError, NotFound, PayloadTooLarge
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


class UpstreamProblem(AppError):
    pass


class BadGateway(UpstreamProblem):
    status_code, code, title = 502, "bad-gateway", "Bad gateway"


class UpstreamUnavailable(UpstreamProblem):
    status_code, code, title = 503, "service-unavailable", "Service unavailable"


class UpstreamTimeout(UpstreamProblem):
    status_code, code, title = 504, "gateway-timeout", "Gateway timeout"


class Forwarder:
    """Forwards one /api/ request: authenticate (cached), sign the identity, stream through.

    The Gateway sets `scope["state"]["request_id"]` before calling it and records the metrics; errors
    before the response started are raised as `AppError` (the Gateway renders the problem)."""

    def __init__(
        self,
        *,
        upstreams: dict[str, str],
        authenticator: Authenticator,
        max_body: int,
        requests_total: Counter,
        on_first_byte: Callable[[str, float], None] | None = None,
    ) -> None:
        # Origins only: the request's raw path and query go to `URL.build` untouched.
        self.upstreams = {area: URL(upstreams[service]).origin() for area, service in AREAS.items()}
        self.services = dict(AREAS)
        self.authenticator = authenticator
        self.max_body = max_body
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
        forwarded: list[tuple[str, str]] = []
        for name, value in scope["headers"]:
            if name not in _REPLACED_REQUEST:
                forwarded.append((name.decode("latin-1"), value.decode("latin-1")))
            elif name == b"x-api-key":
                api_key = value
            elif name == b"authorization":
                authorization = value
            elif name == b"content-length":
                content_length = value
        principal = await self.authenticator.authenticate(api_key, authorization)
        forwarded.append((IDENTITY_HEADER, self.authenticator.identity_token(principal)))
        request_id: str | None = (scope.get("state") or {}).get("request_id")
        if request_id:
            forwarded.append((REQUEST_ID_HEADER, request_id))
        client = scope.get("client")
        if client:
            forwarded.append(("x-forwarded-for", client[0]))
        forwarded.append(("x-forwarded-proto", scope.get("scheme", "http")))

        method: str = scope["method"]
        body = await self._body(method, content_length, receive)
        target = upstream_target(base, scope)
        return await self._exchange(
            service,
            method,
            target,
            forwarded,
            body,
            send,
            request_id.encode() if request_id else None,
            time.perf_counter() if started is None else started,
        )

    async def _body(
        self, method: str, content_length: bytes | None, receive: Receive
    ) -> bytes | AsyncIterator[bytes] | None:
        if method in BODYLESS and content_length in (None, b"0"):
            return None
        declared = int(content_length) if content_length is not None and content_length.isdigit() else None
        if declared is not None and declared > self.max_body:
            raise PayloadTooLarge(f"The request body exceeds {self.max_body} bytes")
        if declared is not None and declared <= BUFFER_LIMIT:
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            return b"".join(chunks)
        return self._stream_body(receive)

    async def _stream_body(self, receive: Receive) -> AsyncIterator[bytes]:
        total = 0
        more = True
        while more:
            message = await receive()
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                raise PayloadTooLarge(f"The request body exceeds {self.max_body} bytes")
            if chunk:
                yield chunk
            more = message.get("more_body", False)

    async def _exchange(
        self,
        service: str,
        method: str,
        target: URL,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
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
                response_headers = [
                    (k, v) for k, v in upstream.raw_headers if k.lower() not in STRIPPED_RESPONSE
                ]
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
        except aiohttp.ServerDisconnectedError as exc:
            problem: AppError = BadGateway(f"The {service} service closed the connection")
            cause: Exception = exc
        except aiohttp.ClientConnectorError as exc:
            problem, cause = UpstreamUnavailable(f"The {service} service is unavailable"), exc
        except TimeoutError as exc:
            problem, cause = UpstreamTimeout(f"The {service} service did not answer in time"), exc
        except aiohttp.ClientError as exc:
            problem, cause = BadGateway(f"The {service} service gave an invalid response"), exc
        self._count(service, problem.status_code)
        if streaming:  # the body failed half-way: all we can do is cut the connection
            logger.warning("upstream_failed_mid_response", path=target.path, error=problem.detail)
            return status
        raise problem from cause

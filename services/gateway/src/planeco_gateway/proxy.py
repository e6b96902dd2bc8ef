"""The forwarding hot path: a raw ASGI app on a pooled aiohttp session.

No routing framework and no body parsing: the request body goes upstream as bytes (or streamed when
large), the response streams back chunk by chunk. Measured on 2 cores this keeps most of the direct
throughput where an httpx-based forwarder kept ~4 % (README, "Gateway performance").
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send
from yarl import URL

from planeco_gateway.auth.authenticator import Authenticator
from planeco_gateway.routes import AREAS, area_of
from planeco_shared.identity import IDENTITY_HEADER
from planeco_shared.problems import AppError

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
STRIPPED_RESPONSE = HOP_BY_HOP | {b"server", b"date"}
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BUFFER_LIMIT = 1024 * 1024  # bodies up to 1 MiB go upstream in one piece; larger ones stream


class UpstreamProblem(AppError):
    pass


class BadGateway(UpstreamProblem):
    status_code, code, title = 502, "bad-gateway", "Bad gateway"


class UpstreamUnavailable(UpstreamProblem):
    status_code, code, title = 503, "service-unavailable", "Service unavailable"


class UpstreamTimeout(UpstreamProblem):
    status_code, code, title = 504, "gateway-timeout", "Gateway timeout"


class PayloadTooLarge(AppError):
    status_code, code, title = 413, "payload-too-large", "Payload too large"


class RouteNotFound(AppError):
    status_code, code, title = 404, "not-found", "Not found"


class Forwarder:
    def __init__(
        self,
        *,
        upstreams: dict[str, str],
        authenticator: Authenticator,
        max_body: int,
        requests_total: Counter,
    ) -> None:
        self.upstreams = {area: URL(upstreams[service]) for area, service in AREAS.items()}
        self.services = dict(AREAS)
        self.authenticator = authenticator
        self.max_body = max_body
        self.requests_total = requests_total
        self.session: aiohttp.ClientSession | None = None  # set in the gateway's lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        area = area_of(path)
        base = self.upstreams.get(area) if area is not None else None
        if base is None:
            raise RouteNotFound(f"No route matches {scope['method']} {path}")
        service = self.services[area]  # type: ignore[index]

        api_key = authorization = content_length = None
        forwarded: list[tuple[str, str]] = []
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                api_key = value
            elif name == b"authorization":
                authorization = value
            elif name == b"content-length":
                content_length = value
            if name not in STRIPPED_REQUEST:
                forwarded.append((name.decode("latin-1"), value.decode("latin-1")))
        principal = await self.authenticator.authenticate(api_key, authorization)
        forwarded.append((IDENTITY_HEADER, self.authenticator.identity_token(principal)))
        state = scope.get("state") or {}
        request_id = state.get("request_id")
        if request_id:
            forwarded = [(k, v) for k, v in forwarded if k != "x-request-id"]
            forwarded.append(("x-request-id", request_id))
        client = scope.get("client")
        if client:
            forwarded.append(("x-forwarded-for", client[0]))
        forwarded.append(("x-forwarded-proto", scope.get("scheme", "http")))

        method: str = scope["method"]
        body = await self._body(method, content_length, receive)
        query = scope.get("query_string", b"")
        raw_path = scope.get("raw_path") or path.encode()
        target = base.with_path(raw_path.decode("latin-1"), encoded=True)
        if query:
            target = target.with_query(query.decode("latin-1"))
        await self._exchange(service, method, target, forwarded, body, send)

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
    ) -> None:
        assert self.session is not None, "the gateway's lifespan did not run"
        # A pooled keep-alive connection may have been closed by the upstream just as we reuse it:
        # retry once, and only when replaying is harmless.
        attempts = 2 if method in IDEMPOTENT and not isinstance(body, AsyncIterator) else 1
        for attempt in range(attempts):
            try:
                async with self.session.request(
                    method, target, headers=headers, data=body, allow_redirects=False
                ) as upstream:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": upstream.status,
                            "headers": [
                                (k, v) for k, v in upstream.raw_headers if k.lower() not in STRIPPED_RESPONSE
                            ],
                        }
                    )
                    self.requests_total.labels(service, str(upstream.status)).inc()
                    if method == "HEAD":
                        await send({"type": "http.response.body", "body": b""})
                        return
                    async for chunk in upstream.content.iter_any():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    await send({"type": "http.response.body", "body": b""})
                    return
            except aiohttp.ServerDisconnectedError as exc:
                if attempt + 1 < attempts:
                    continue
                self.requests_total.labels(service, "502").inc()
                raise BadGateway(f"The {service} service closed the connection") from exc
            except aiohttp.ClientConnectorError as exc:
                self.requests_total.labels(service, "503").inc()
                raise UpstreamUnavailable(f"The {service} service is unavailable") from exc
            except TimeoutError as exc:
                self.requests_total.labels(service, "504").inc()
                raise UpstreamTimeout(f"The {service} service did not answer in time") from exc
            except aiohttp.ClientError as exc:
                self.requests_total.labels(service, "502").inc()
                raise BadGateway(f"The {service} service gave an invalid response") from exc

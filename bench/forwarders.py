"""Side run: the same minimal raw ASGI forwarder on two HTTP clients, to choose the hot path's client.

`httpx_app` (httpx.AsyncClient, pooled keep-alive, streamed) and `aiohttp_app` (aiohttp.ClientSession,
as in planeco_gateway.proxy) both forward to BENCH_UPSTREAM and add a signed identity (no API-key
lookup, no metrics): the difference between them is the client.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import aiohttp
import httptools
import httpx

from planeco_shared.identity import AuthMethod, Principal, Role, encode_identity

UPSTREAM = os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:8001")
SECRET = os.environ.get("BENCH_SECRET", "")
PRINCIPAL = Principal(subject="apikey:bench", role=Role.admin, name="bench", method=AuthMethod.api_key)
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade"})
STRIPPED = HOP_BY_HOP | {b"host", b"x-api-key", b"content-length", b"x-planeco-identity"}
_identity: tuple[str, float] = ("", 0.0)


def identity() -> str:
    global _identity
    now = time.time()
    if _identity[1] < now:
        _identity = (encode_identity(PRINCIPAL, SECRET, now=now), now + 60)
    return _identity[0]


async def _lifespan(receive: Any, send: Any, start: Any, stop: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


class HttpxForwarder:
    client: httpx.AsyncClient

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":

            async def start() -> None:
                limits = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=30)
                self.client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(5.0))

            async def stop() -> None:
                await self.client.aclose()

            await _lifespan(receive, send, start, stop)
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in STRIPPED]
        headers.append((b"x-planeco-identity", identity().encode()))
        url = (
            UPSTREAM + scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        )
        request = self.client.build_request(scope["method"], url, headers=headers)
        response = await self.client.send(request, stream=True)
        try:
            raw = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


class AiohttpForwarder:
    session: aiohttp.ClientSession

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":

            async def start() -> None:
                self.session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=30),
                    auto_decompress=False,
                    skip_auto_headers=("User-Agent", "Accept-Encoding"),
                    cookie_jar=aiohttp.DummyCookieJar(),
                )

            async def stop() -> None:
                await self.session.close()

            await _lifespan(receive, send, start, stop)
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in STRIPPED
        ]
        headers.append(("x-planeco-identity", identity()))
        url = (
            UPSTREAM + scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        )
        async with self.session.request(
            scope["method"], url, headers=headers, allow_redirects=False
        ) as response:
            raw = [(k, v) for k, v in response.raw_headers if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status, "headers": raw})
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})


httpx_app = HttpxForwarder()
aiohttp_app = AiohttpForwarder()


class _Upstream(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection parsed with httptools (prototype: buffers the response)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.done: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("upstream closed"))

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.done is not None
        self.done.set_result(self.parser.get_status_code())


class RawForwarder:
    """asyncio Protocol + httptools, no client library: the floor of what a Python forwarder costs."""

    def __init__(self) -> None:
        self.idle: list[_Upstream] = []
        parts = UPSTREAM.removeprefix("http://").split(":")
        self.host, self.port = parts[0], int(parts[1])

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":

            async def noop() -> None:
                return None

            await _lifespan(receive, send, noop, noop)
            return
        lines = [
            scope["method"].encode(),
            b" ",
            scope["raw_path"],
            b" HTTP/1.1\r\nhost: ",
            self.host.encode(),
            b"\r\n",
        ]
        if scope["query_string"]:
            lines[2] = scope["raw_path"] + b"?" + scope["query_string"]
        for k, v in scope["headers"]:
            if k not in STRIPPED:
                lines += [k, b": ", v, b"\r\n"]
        lines += [b"x-planeco-identity: ", identity().encode(), b"\r\n\r\n"]
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                break
        else:
            loop = asyncio.get_running_loop()
            _, connection = await loop.create_connection(_Upstream, self.host, self.port)
        connection.headers, connection.body = [], []
        connection.done = asyncio.get_running_loop().create_future()
        assert connection.transport is not None
        connection.transport.write(b"".join(lines))
        status = await connection.done
        raw = [(k, v) for k, v in connection.headers if k.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b"".join(connection.body)})
        if connection.parser.should_keep_alive():
            self.idle.append(connection)
        elif connection.transport is not None:
            connection.transport.close()


raw_app = RawForwarder()

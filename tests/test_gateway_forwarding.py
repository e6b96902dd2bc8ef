"""The gateway's forwarder passes bodies and validators through untouched, whatever their size.

The upstream here is a small Starlette app standing in for the levers service, so each case
(streamed body, body dying half-way, 304 on If-None-Match) can be produced on purpose."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from yarl import URL

from planeco_gateway.app import create_app as create_gateway
from planeco_gateway.proxy import upstream_target
from planeco_gateway.settings import GatewaySettings
from planeco_shared.identity import IDENTITY_HEADER
from planeco_shared.testing import TEST_SECRET, running_server, unused_port

BASE = "/api/v1/territories"
CHUNK = bytes(range(256)) * 256  # 64 KiB
ETAG = '"v42"'


def _upstream() -> Starlette:
    async def streamed(_: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(16):
                yield CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def sized(_: Request) -> Response:
        return Response(CHUNK * 3, media_type="application/octet-stream")

    async def broken(_: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield CHUNK
            raise RuntimeError("the upstream dies half-way")

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def cached(request: Request) -> Response:
        headers = {"etag": ETAG, "cache-control": "public, max-age=300, must-revalidate"}
        if request.headers.get("if-none-match") == ETAG:
            return Response(status_code=304, headers=headers)
        return Response(b'{"code":"24"}', media_type="application/json", headers=headers)

    async def echo(request: Request) -> Response:
        body = await request.body()
        return Response(
            hashlib.sha256(body).hexdigest(),
            headers={"x-seen-identity": str(IDENTITY_HEADER in request.headers), "x-length": str(len(body))},
        )

    async def target(request: Request) -> JSONResponse:
        return JSONResponse(
            {"raw_path": request.scope["raw_path"].decode(), "query": request.scope["query_string"].decode()}
        )

    return Starlette(
        routes=[
            Route(f"{BASE}/target/{{rest:path}}", target),
            Route(f"{BASE}/streamed", streamed),
            Route(f"{BASE}/sized", sized),
            Route(f"{BASE}/broken", broken),
            Route(f"{BASE}/cached", cached, methods=["GET", "HEAD"]),
            Route(f"{BASE}/echo", echo, methods=["POST", "PUT"]),
        ]
    )


def anonymous_gateway_settings(database: Path | str, *, levers_url: str) -> GatewaySettings:
    """A gateway in front of one upstream (a database URL, or a SQLite file that anonymous calls only use)."""
    return GatewaySettings(
        database_url=database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}",
        internal_secret=TEST_SECRET,
        environment="test",
        log_json=False,
        levers_url=levers_url,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def forwarding_gateway(databases: dict[str, str]) -> AsyncIterator[str]:
    async with running_server(_upstream(), lifespan="off") as upstream:
        settings = anonymous_gateway_settings(databases["gateway"], levers_url=upstream)
        async with running_server(create_gateway(settings)) as url:
            yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def writer(make_key: Any) -> dict[str, str]:
    """Credentials for the writes: the gateway refuses an anonymous one before reading its body."""
    return {"X-API-Key": await make_key("admin")}


async def test_large_streamed_and_sized_bodies_pass_intact(forwarding_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=forwarding_gateway) as client:
        streamed = await client.get(f"{BASE}/streamed")
        sized = await client.get(f"{BASE}/sized")
    assert streamed.status_code == sized.status_code == 200
    assert streamed.content == CHUNK * 16
    assert sized.content == CHUNK * 3
    assert sized.headers["content-length"] == str(len(CHUNK) * 3)


async def test_an_upstream_dying_mid_body_cuts_only_that_response(forwarding_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=forwarding_gateway) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{BASE}/broken")
        assert (await client.get(f"{BASE}/sized")).status_code == 200


async def test_etag_and_304_pass_through_untouched(forwarding_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=forwarding_gateway) as client:
        first = await client.get(f"{BASE}/cached")
        again = await client.get(f"{BASE}/cached", headers={"if-none-match": ETAG})
        head = await client.head(f"{BASE}/cached")
    assert first.status_code == 200
    assert first.headers["etag"] == ETAG
    assert first.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == ETAG
    assert again.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert again.headers["x-request-id"]
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == ETAG


@pytest.mark.parametrize(
    "target",
    [
        "/target/x?q=caf%C3%A9&q=th%C3%A9",  # percent-escapes stay as they are, repeated keys in order
        "/target/a%2Fb?x=%00&y=%2B+z&empty=&flag",  # an escaped slash, NUL, plus and space, bare keys
        "/target/%C3%A9t%C3%A9",  # no query at all
    ],
)
async def test_path_and_query_reach_the_upstream_byte_for_byte(forwarding_gateway: str, target: str) -> None:
    async with httpx.AsyncClient(base_url=forwarding_gateway) as client:
        response = await client.get(httpx.URL(forwarding_gateway + BASE + target))
    assert response.status_code == 200, response.text
    path, _, query = (BASE + target).partition("?")
    assert response.json() == {"raw_path": path, "query": query}


async def test_a_request_target_cannot_move_the_upstream_host(tmp_path: Path) -> None:
    """Under uvicorn's h11 parser a target need not start with "/": it must not become the authority."""
    hits: list[bytes] = []

    async def attacker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(await reader.read(1024))
        writer.close()

    trap = await asyncio.start_server(attacker, "127.0.0.2", 0)
    port = trap.sockets[0].getsockname()[1]
    settings = anonymous_gateway_settings(
        tmp_path / "gateway.db", levers_url=f"http://127.0.0.1:{unused_port()}"
    )
    async with trap, running_server(create_gateway(settings), http="h11") as url:
        host, gateway_port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(gateway_port))
        target = f"%2Fapi%2Fv1%2Fterritories%2F@127.0.0.2:{port}/api/v1/territories/x"
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = (await reader.readline()).decode()
        writer.close()
    assert status_line.split()[1] == "404", status_line
    assert hits == []  # nothing left the gateway for the attacker's host


def test_the_upstream_url_keeps_the_origin_and_the_raw_target() -> None:
    origin = URL("http://127.0.0.1:8001/ignored/path").origin()
    scope = {"path": "/api/v1/x", "raw_path": b"/api/v1/a%2Fb@evil", "query_string": b"q=caf%C3%A9"}
    target = upstream_target(origin, scope)
    assert (target.host, target.port) == ("127.0.0.1", 8001)
    assert str(target) == "http://127.0.0.1:8001/api/v1/a%2Fb@evil?q=caf%C3%A9"


@pytest.mark.parametrize("size", [0, 10, 2 * 1024 * 1024])  # empty, small (one piece), large (streamed)
async def test_request_bodies_reach_the_upstream_intact(
    forwarding_gateway: str, writer: dict[str, str], size: int
) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    async with httpx.AsyncClient(base_url=forwarding_gateway, timeout=30, headers=writer) as client:
        response = await client.post(f"{BASE}/echo", content=body)
    assert response.status_code == 200
    assert response.text == hashlib.sha256(body).hexdigest()
    assert response.headers["x-length"] == str(size)
    assert response.headers["x-seen-identity"] == "True"


class DropsFirstRequest:
    """A raw upstream that closes the connection on the first request it reads (a pooled keep-alive
    connection the server has just dropped looks the same to the gateway), then answers normally."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                if self.requests == 1:
                    break
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def test_an_idempotent_request_is_retried_once_on_a_dropped_connection(
    databases: dict[str, str], writer: dict[str, str]
) -> None:
    upstream = DropsFirstRequest()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = anonymous_gateway_settings(databases["gateway"], levers_url=f"http://127.0.0.1:{port}")
    try:
        async with (
            running_server(create_gateway(settings)) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            response = await client.get(f"{BASE}/regions")
            assert response.status_code == 200
            assert response.text == "ok"
            assert upstream.requests == 2  # dropped once, retried once

            upstream.requests = 0
            write = await client.post(f"{BASE}/echo", content=b"{}", headers=writer)  # never replayed
            assert write.status_code == 502
            assert write.headers["content-type"] == "application/problem+json"
            assert upstream.requests == 1
    finally:
        server.close()
        await server.wait_closed()

"""Slow and idle clients against a real gateway (uvicorn on loopback, planeco's protocol) in front of the
real services: raw sockets, timeouts configured small. No assertion on how long anything took: only that
it was answered or closed, within generous bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from planeco_gateway.app import create_app as create_gateway
from planeco_shared.server import CoalescingHttpToolsProtocol
from planeco_shared.testing import running_server

GENEROUS = 20.0  # seconds: a bound for "eventually", far above every timeout configured here
BODY_TIMEOUT = 0.5
KEEP_ALIVE = 0.5
HEADER_TIMEOUT = 0.5


class QuickHeaders(CoalescingHttpToolsProtocol):
    header_timeout = HEADER_TIMEOUT


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def edge(make_gateway_settings: Any) -> AsyncIterator[str]:
    settings = make_gateway_settings(request_body_timeout=BODY_TIMEOUT, upstream_pool_size=2)
    async with running_server(
        create_gateway(settings), http=QuickHeaders, timeout_keep_alive=KEEP_ALIVE
    ) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def patient_edge(make_gateway_settings: Any) -> AsyncIterator[str]:
    """Body timeout far above the test's duration: slow uploads stay in progress while it reads. The pool
    has two connections: had the uploads taken them, the read would wait."""
    settings = make_gateway_settings(request_body_timeout=600, upstream_pool_size=2)
    async with running_server(create_gateway(settings), http=QuickHeaders, timeout_keep_alive=60) as url:
        yield url


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def response_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GENEROUS)
    status_line, *lines = raw.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


async def closed(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (EOF or reset), reading and discarding whatever came first."""
    try:
        while await asyncio.wait_for(reader.read(65536), GENEROUS):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return True


def post_head(path: str, length: int, key: str | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: planeco", "Content-Type: application/json"]
    lines += [f"Content-Length: {length}"] + ([f"X-API-Key: {key}"] if key else [])
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_an_anonymous_upload_is_refused_before_its_body(edge: str) -> None:
    reader, writer = await connect(edge)
    writer.write(post_head("/api/v1/actions", 49 * 1024 * 1024))  # 49 MiB announced, none sent
    await writer.drain()
    status, headers = await response_head(reader)
    assert status == 401
    assert headers["connection"] == "close"
    assert await closed(reader)
    writer.close()


async def test_a_trickling_body_gets_408_and_the_connection_is_closed(edge: str, make_key: Any) -> None:
    key = await make_key("admin")
    reader, writer = await connect(edge)
    writer.write(post_head("/api/v1/actions", 2 * 1024 * 1024, key) + b'{"title": "')
    await writer.drain()
    status, headers = await response_head(reader)  # no more bytes sent: the body timeout answers
    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    assert await closed(reader)
    writer.close()


async def test_slow_uploads_hold_no_upstream_connection(patient_edge: str, make_key: Any) -> None:
    """Four uploads trickle (more than the gateway's two upstream connections) while a read is served."""
    key = await make_key("admin")
    uploads = [await connect(patient_edge) for _ in range(4)]
    for _, writer in uploads:
        writer.write(post_head("/api/v1/actions", 2 * 1024 * 1024, key) + b"{")
        await writer.drain()
    try:
        async with httpx.AsyncClient(base_url=patient_edge, timeout=GENEROUS) as client:
            for _ in range(3):
                read = await client.get("/api/v1/actions", headers={"X-API-Key": key})
                assert read.status_code == 200
        for reader, _ in uploads:  # still in progress: the read did not wait for them
            assert not reader.at_eof()
    finally:
        for _, writer in uploads:
            writer.close()


async def test_idle_and_slow_header_connections_are_closed(edge: str) -> None:
    silent_reader, silent = await connect(edge)  # never sends a byte
    slow_reader, slow = await connect(edge)  # slowloris: headers that never end
    slow.write(b"GET /healthz HTTP/1.1\r\nHost: planeco\r\nX-A: ")
    await slow.drain()
    kept_reader, kept = await connect(edge)  # one request, then idle past the keep-alive timeout
    kept.write(b"GET /healthz HTTP/1.1\r\nHost: planeco\r\n\r\n")
    await kept.drain()
    status, headers = await response_head(kept_reader)
    assert status == 200
    await kept_reader.readexactly(int(headers["content-length"]))
    for reader in (silent_reader, slow_reader, kept_reader):
        assert await closed(reader)
    for writer in (silent, slow, kept):
        writer.close()


async def test_a_large_body_that_stalls_half_way_gets_408(edge: str, make_key: Any) -> None:
    """Past 1 MiB the body streams to the service; the body timeout still bounds it, and the client gets the
    408 (not a 502 for the upstream request the gateway had to abandon)."""
    key = await make_key("admin")
    reader, writer = await connect(edge)
    writer.write(post_head("/api/v1/actions", 3 * 1024 * 1024, key) + b" " * (1536 * 1024))
    await writer.drain()
    status, headers = await response_head(reader)
    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert await closed(reader)
    writer.close()

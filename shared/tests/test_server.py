"""CoalescingHttpToolsProtocol: the same HTTP as uvicorn's, a response leaving in one write."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from planeco_shared.server import HTTP_PROTOCOL

BIG_CHUNK = bytes(range(256)) * 4096  # 1 MiB


async def small(_: Request) -> Response:
    return JSONResponse({"code": "24", "name": "Centre-Val de Loire"})


async def big(_: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(12):  # never awaits: everything is written within one loop turn
            yield BIG_CHUNK

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def echo(request: Request) -> Response:
    return Response(hashlib.sha256(await request.body()).hexdigest())


APP = Starlette(routes=[Route("/small", small), Route("/big", big), Route("/echo", echo, methods=["POST"])])


@asynccontextmanager
async def serving() -> AsyncIterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(APP, http=HTTP_PROTOCOL, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise the start-up failure
            await asyncio.sleep(0.01)
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await task
        sock.close()


async def exchange(host: str, port: int, raw: bytes) -> list[bytes]:
    """Send raw bytes, return what each read() brought until the server closes."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(raw)
    reads = []
    while chunk := await reader.read(1 << 20):
        reads.append(chunk)
    writer.close()
    return reads


async def test_a_small_response_leaves_in_one_write() -> None:
    async with serving() as (host, port):
        reads = await exchange(host, port, b"GET /small HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    assert len(reads) == 1  # status line, headers and body together
    head, _, body = reads[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b'{"code":"24","name":"Centre-Val de Loire"}'
    assert f"content-length: {len(body)}".encode() in head


async def test_pipelined_requests_get_their_responses_in_order() -> None:
    requests = (
        b"GET /small HTTP/1.1\r\nhost: x\r\n\r\n"
        + b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    async with serving() as (host, port):
        data = b"".join(await exchange(host, port, requests))
    first, second = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK") and first.endswith(b'Loire"}')
    assert second.startswith(b"404 Not Found")


async def test_malformed_request_gets_400_and_the_connection_closes() -> None:
    async with serving() as (host, port):
        data = b"".join(await exchange(host, port, b"NOT HTTP AT ALL\r\n\r\n"))
    assert data.startswith(b"HTTP/1.1 400 Bad Request")


async def test_large_bodies_both_ways_and_keep_alive() -> None:
    payload = BIG_CHUNK * 3
    async with (
        serving() as (host, port),
        httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=30) as client,
    ):
        streamed = await client.get("/big")
        echoed = await client.post("/echo", content=payload)
        again = await client.get("/small")
    assert streamed.content == BIG_CHUNK * 12
    assert echoed.text == hashlib.sha256(payload).hexdigest()
    assert again.json()["code"] == "24"


FREEZE_PROBE = """
import asyncio, gc
from planeco_shared.app_factory import create_service_app
from planeco_shared.settings import ServiceSettings

async def start(name):
    settings = ServiceSettings(database_url="sqlite+aiosqlite://", log_json=False)
    app = create_service_app(name=name, title=name, description=name, settings=settings, routers=[])
    async with app.router.lifespan_context(app):
        return gc.get_freeze_count()

before = gc.get_freeze_count()
first = asyncio.run(start("one"))
second = asyncio.run(start("two"))
print(before, first, second)
"""


def test_start_up_objects_are_frozen_once_per_process() -> None:
    result = subprocess.run([sys.executable, "-c", FREEZE_PROBE], capture_output=True, text=True, check=True)
    before, first, second = (int(count) for count in result.stdout.split())
    assert before == 0
    assert first > 10_000  # modules, routes, schemas: out of every later full collection
    assert second <= first  # a second app in the same process (tests) pins nothing more

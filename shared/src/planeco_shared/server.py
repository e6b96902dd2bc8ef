"""uvicorn's httptools protocol, with the writes of one event-loop turn sent together.

uvicorn writes a response's status line and headers as soon as the app sends `http.response.start`,
then the body in a second `send()`. The client wakes up twice for one response, and between our own
processes (gateway → service) every hop pays it. On the 2-core machines this costs: bare ASGI 14-24k
→ 20-32k req/s, gateway → bare at 1 connection 270 → 200 µs p50 (bench/README.md).

`CoalescingHttpToolsProtocol` hands uvicorn a transport that keeps the writes made during one turn of
the event loop and sends them at the end of that turn (or at once past 64 KiB, so that flow control
still bounds memory). Nothing waits: a turn is microseconds. Use it with
`uvicorn --http planeco_shared.server:CoalescingHttpToolsProtocol` (`HTTP_PROTOCOL`), as
`planeco <service> serve` and `planeco dev up` do.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "planeco_shared.server:CoalescingHttpToolsProtocol"
FLUSH_AT = 64 * 1024


class CoalescingTransport:
    """Proxy of an asyncio transport: `write` gathers, everything else goes straight through."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()  # the real transport's buffer limits (pause_writing) apply from here

    def writelines(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        real = cast(asyncio.Transport, transport)  # asyncio's or uvloop's TCP transport
        super().connection_made(cast(asyncio.Transport, CoalescingTransport(real, self.loop)))


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, routes, schemas, the engine) out of later garbage collections.

    A full (generation 2) collection walks every tracked object: with FastAPI, pydantic and SQLAlchemy
    loaded that took up to 98 ms, six times in 20 s under load, and made the levers read's p99 at 4
    connections 67 ms for a 5 ms p50; frozen, the p99 was 9.6 ms (bench/README.md). Called at the end of
    each app's start-up; only the first call in a process acts, so test processes that start many apps
    do not pin each one's objects."""
    global _startup_frozen
    if _startup_frozen:
        return
    _startup_frozen = True
    gc.collect()
    gc.freeze()

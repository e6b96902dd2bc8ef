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

It also bounds how long a client may take to send a request's headers (`header_timeout`): uvicorn
has a keep-alive timeout between requests but none while headers trickle in, nor for a connection
that never sends a byte (slowloris). `uvicorn_options` is the rest of the server configuration.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from planeco_shared.settings import ServiceSettings

HTTP_PROTOCOL = "planeco_shared.server:CoalescingHttpToolsProtocol"
FLUSH_AT = 64 * 1024
# uvicorn builds the protocol itself, with its own config only: the header timeout reaches it (and
# every worker process) through the environment, set by `uvicorn_options`.
HEADER_TIMEOUT_ENV = "PLANECO_SERVER_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


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
    """Seconds from the connection's opening (or a request's first byte) to its complete headers."""

    header_timeout: float = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT))
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        real = cast(asyncio.Transport, transport)  # asyncio's or uvloop's TCP transport
        super().connection_made(cast(asyncio.Transport, CoalescingTransport(real, self.loop)))
        self._arm_header_timer()  # a connection that never sends a byte is closed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # the next request on a kept-alive connection
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: ServiceSettings) -> dict[str, Any]:
    """How every planeco process is served (`planeco <service> serve`, `planeco dev up`)."""
    os.environ[HEADER_TIMEOUT_ENV] = str(settings.server_header_timeout)
    CoalescingHttpToolsProtocol.header_timeout = settings.server_header_timeout
    return {
        "loop": "uvloop",
        "http": HTTP_PROTOCOL,  # httptools, a response's writes sent together, the header timeout
        "access_log": False,
        "log_level": "warning",
        "timeout_keep_alive": settings.server_keep_alive,
        "limit_concurrency": settings.server_limit_concurrency,  # past it: 503 at once, not a queue
        "server_header": False,  # no "Server: uvicorn": nothing to fingerprint
        "timeout_graceful_shutdown": 10,
    }


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

"""Rate limits at the gateway, with both counter storages: in memory (one process) and Redis (shared by
replicas; runs where Redis answers on 127.0.0.1:6379, as on CI, which starts it). Real gateways on
loopback in front of the real services."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from planeco_gateway.app import create_app as create_gateway
from planeco_shared.testing import running_server

REDIS_URL = os.environ.get("PLANECO_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    host, port = REDIS_URL.removeprefix("redis://").split("/")[0].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def storage_param(name: str) -> Any:
    if name == "memory":
        return pytest.param("memory://", id="memory")
    # CI starts Redis (.ci/run): there a missing one fails the tests instead of skipping them.
    runs = redis_reachable() or bool(os.environ.get("CI"))
    skip = pytest.mark.skipif(not runs, reason=f"Redis is not reachable at {REDIS_URL}")
    return pytest.param(REDIS_URL, id="redis", marks=[skip])


STORAGES = [storage_param("memory"), storage_param("redis")]


@asynccontextmanager
async def gateways(
    make_settings: Any, storage: str, count: int = 1, **limits: str
) -> AsyncIterator[list[str]]:
    """`count` gateway replicas sharing one storage (a fresh key prefix: no counts from other runs)."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings = make_settings(
        rate_limit_storage=storage,
        rate_limit_key_prefix=prefix,
        **({"rate_limit_anonymous": "1000/minute", "rate_limit_authenticated": "1000/minute"} | limits),
    )
    async with AsyncExitStack() as stack:
        if storage == "memory://" and count > 1:
            raise ValueError("in-memory counters are per process")
        urls = [
            await stack.enter_async_context(running_server(create_gateway(settings))) for _ in range(count)
        ]
        yield urls


def assert_limited(response: httpx.Response, policy: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "too-many-requests" and body["title"] == "Too many requests"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["ratelimit-policy"].startswith(f'"{policy}";q=')
    assert response.headers["ratelimit"].startswith(f'"{policy}";r=0;t=')


@pytest.mark.parametrize("storage", STORAGES)
async def test_anonymous_calls_are_limited_per_client_ip(make_gateway_settings: Any, storage: str) -> None:
    async with (
        gateways(make_gateway_settings, storage, rate_limit_anonymous="5/minute") as [url],
        httpx.AsyncClient(base_url=url) as client,
    ):
        answers = [await client.get("/api/v1/territories/regions") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert_limited(answers[-1], "anonymous")


@pytest.mark.parametrize("storage", STORAGES)
async def test_each_key_has_its_own_limit(make_gateway_settings: Any, make_key: Any, storage: str) -> None:
    first, second = await make_key("reader"), await make_key("reader")
    async with (
        gateways(make_gateway_settings, storage, rate_limit_authenticated="3/minute") as [url],
        httpx.AsyncClient(base_url=url) as client,
    ):
        used = [await client.get("/api/v1/actions", headers={"X-API-Key": first}) for _ in range(4)]
        other = await client.get("/api/v1/actions", headers={"X-API-Key": second})
    assert [a.status_code for a in used] == [200, 200, 200, 429]
    assert_limited(used[-1], "authenticated")
    assert other.status_code == 200


@pytest.mark.parametrize("storage", STORAGES)
async def test_guessing_keys_turns_from_401_to_429(
    make_gateway_settings: Any, make_key: Any, storage: str
) -> None:
    real = await make_key("reader")
    async with (
        gateways(make_gateway_settings, storage, rate_limit_failed_auth="10/minute") as [url],
        httpx.AsyncClient(base_url=url) as client,
    ):
        guesses = [
            await client.get(
                "/api/v1/actions",
                headers={"X-API-Key": f"planeco_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"},
            )
            for _ in range(30)
        ]
        blocked_real = await client.get("/api/v1/actions", headers={"X-API-Key": real})
        public = await client.get("/api/v1/territories/regions")
    statuses = [g.status_code for g in guesses]
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    assert_limited(guesses[-1], "failed-auth")
    assert blocked_real.status_code == 429  # credentials from that client are not checked for a while
    assert public.status_code == 200  # its anonymous public reads still work


@pytest.mark.parametrize("storage", [storage_param("redis")])
async def test_replicas_share_the_counters_in_redis(make_gateway_settings: Any, storage: str) -> None:
    async with (
        gateways(make_gateway_settings, storage, count=2, rate_limit_anonymous="6/minute") as urls,
        httpx.AsyncClient() as client,
    ):
        answers = [await client.get(urls[i % 2] + "/api/v1/territories/regions") for i in range(8)]
    assert [a.status_code for a in answers] == [200] * 6 + [429, 429]


async def test_an_unreachable_redis_lets_requests_through(make_gateway_settings: Any) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with (
        gateways(make_gateway_settings, f"redis://127.0.0.1:{port}/0", rate_limit_anonymous="1/minute") as [
            url
        ],
        httpx.AsyncClient(base_url=url) as client,
    ):
        answers = [await client.get("/api/v1/territories/regions") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]


@pytest.mark.parametrize("storage", STORAGES)
async def test_guessing_invitation_tokens_turns_from_404_to_429(
    make_gateway_settings: Any, storage: str
) -> None:
    async with (
        gateways(make_gateway_settings, storage, rate_limit_failed_auth="5/minute") as [url],
        httpx.AsyncClient(base_url=url) as client,
    ):
        # a write with the header goes through to the service, which checks the token
        write = await client.patch(
            "/api/v1/answer/response",
            json={"answers": {}},
            headers={"X-Invitation-Token": secrets.token_urlsafe(32), "If-Match": "*"},
        )
        guesses = [write] + [
            await client.get("/api/v1/answer", headers={"X-Invitation-Token": secrets.token_urlsafe(32)})
            for _ in range(7)
        ]
        # a write without the header is refused before its body is read; with it, the service decides
        refused = await client.patch("/api/v1/answer/response", json={"answers": {}})
        public = await client.get("/api/v1/territories/regions")
    statuses = [g.status_code for g in guesses]
    assert statuses[:5] == [404] * 5
    assert write.headers["content-type"] == "application/problem+json"
    assert set(statuses[5:]) == {429}
    assert_limited(guesses[-1], "failed-auth")
    assert refused.status_code == 401
    assert public.status_code == 200

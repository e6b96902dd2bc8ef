"""The service runtime and its clients against a real upstream app served on loopback: the service
principal, ETag revalidation, upstream failures mapped to the right problem."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request, Response

from planeco_shared.clients.base import (
    ReferenceCheck,
    ServiceClient,
    UpstreamFailed,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamTimeout,
)
from planeco_shared.identity import IDENTITY_HEADER, AuthMethod, Role, decode_identity
from planeco_shared.problems import ServiceUnavailable, UnprocessableEntity
from planeco_shared.runtime import ServiceRuntime, service_principal
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import TEST_SECRET, running_server, unused_port


class Upstream:
    """A small real service: counts what it is asked and answers like a planeco service."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []  # (path, If-None-Match)
        self.callers: list[str] = []
        self.version = 1
        self.app = FastAPI()

        @self.app.get("/api/v1/things/{name}")
        async def thing(name: str, request: Request) -> Response:
            self.calls.append((name, request.headers.get("if-none-match")))
            self.callers.append(decode_identity(request.headers[IDENTITY_HEADER], TEST_SECRET).subject)
            statuses = {"missing": 404, "bad": 422, "broken": 500, "down": 503, "secret": 403}
            if name in statuses:
                body = b'{"detail": "no such thing here"}'
                return Response(body, status_code=statuses[name], media_type="application/problem+json")
            etag = f'"{name}-v{self.version}"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"etag": etag})
            body = f'{{"name": "{name}", "version": {self.version}}}'.encode()
            return Response(body, media_type="application/json", headers={"etag": etag})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    server = Upstream()
    async with running_server(server.app, lifespan="off") as url:
        yield server, url


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings(
        database_url="sqlite+aiosqlite:///:memory:",
        internal_secret=TEST_SECRET,
        **values,  # type: ignore[arg-type]
    )


async def test_the_runtime_calls_as_its_service_principal_never_as_a_user(
    upstream: tuple[Upstream, str],
) -> None:
    server, url = upstream
    async with ServiceRuntime.open("actions", settings(levers_url=url)) as runtime:
        assert runtime.principal == service_principal("actions")
        assert runtime.principal.role is Role.reader
        assert runtime.principal.method is AuthMethod.service
        assert await runtime.levers.get_json("/api/v1/things/a") == {"name": "a", "version": 1}
    assert server.callers == ["service:actions"]


async def test_answers_with_an_etag_are_reused_then_revalidated(upstream: tuple[Upstream, str]) -> None:
    server, url = upstream
    async with ServiceRuntime.open("actions", settings(levers_url=url, service_cache_seconds=300)) as fresh:
        for _ in range(3):
            assert (await fresh.levers.get_json("/api/v1/things/a"))["version"] == 1
        assert server.calls == [("a", None)]  # fresh: asked once

    server.calls.clear()
    async with ServiceRuntime.open("actions", settings(levers_url=url, service_cache_seconds=0)) as runtime:
        assert (await runtime.levers.get_json("/api/v1/things/a"))["version"] == 1
        assert (await runtime.levers.get_json("/api/v1/things/a"))["version"] == 1  # 304: body kept
        server.version = 2
        assert (await runtime.levers.get_json("/api/v1/things/a"))["version"] == 2  # changed upstream
        assert (await runtime.levers.get_json("/api/v1/things/a"))["version"] == 2
    assert server.calls == [("a", None), ("a", '"a-v1"'), ("a", '"a-v1"'), ("a", '"a-v2"')]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing", UpstreamNotFound),
        ("bad", UpstreamRejected),
        ("broken", UpstreamFailed),
        ("secret", UpstreamFailed),
        ("down", ServiceUnavailable),
    ],
)
async def test_upstream_failures_become_the_right_problem(
    upstream: tuple[Upstream, str], name: str, error: type[Exception]
) -> None:
    _, url = upstream
    async with ServiceRuntime.open("actions", settings(levers_url=url)) as runtime:
        with pytest.raises(error):
            await runtime.levers.get_json(f"/api/v1/things/{name}")


async def test_an_unreachable_or_slow_upstream_is_a_503_or_504() -> None:
    async with ServiceRuntime.open(
        "actions", settings(levers_url=f"http://127.0.0.1:{unused_port()}")
    ) as runtime:
        with pytest.raises(ServiceUnavailable) as raised:
            await runtime.levers.get_json("/api/v1/things/a")
        assert raised.value.headers["Retry-After"] == "1"

    slow = FastAPI()

    @slow.get("/slow")
    async def wait() -> None:
        import asyncio

        await asyncio.sleep(1)

    async with (
        running_server(slow, lifespan="off") as url,
        ServiceRuntime.open("actions", settings(levers_url=url, service_timeout=0.2)) as runtime,
    ):
        client = ServiceClient(
            runtime.http, base_url=url, internal_secret=TEST_SECRET, principal=runtime.principal, attempts=1
        )
        with pytest.raises(UpstreamTimeout):
            await client.get_json("/slow")


async def test_a_reference_check_names_every_missing_field(upstream: tuple[Upstream, str]) -> None:
    _, url = upstream
    async with ServiceRuntime.open("actions", settings(levers_url=url)) as runtime:
        check = ReferenceCheck()
        found = await check.exists(runtime.levers.get_json("/api/v1/things/a"), loc=["body", "a"], what="a")
        assert found == {"name": "a", "version": 1}
        await check.exists(runtime.levers.get_json("/api/v1/things/missing"), loc=["body", "b"], what="b")
        await check.exists(runtime.levers.get_json("/api/v1/things/missing"), loc=["body", "c"], what="c")
        with pytest.raises(UnprocessableEntity) as raised:
            check.raise_if_any()
    assert [e.loc for e in raised.value.errors or []] == [["body", "b"], ["body", "c"]]

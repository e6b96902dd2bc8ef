"""One title, one `type` and one default code per HTTP status, wherever the problem comes from: the
services (behind the real gateway, and on their own when their upstream fails) and the gateway itself
(auth, rate limit, body limits, CORS, unknown routes, upstream 502/503/504). Every problem below is
provoked for real and compared with `planeco_shared.problems.PROBLEM_KINDS`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from planeco_actions.app import create_app as create_actions
from planeco_actions.settings import ActionsSettings
from planeco_gateway.app import create_app as create_gateway
from planeco_shared.problems import PROBLEM_JSON, PROBLEM_KINDS
from planeco_shared.testing import TEST_SECRET, identity_headers, running_server, unused_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

REQUIRED = {400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 428, 429, 502, 503, 504}
ACTION = {"title": "Plan haies bocagères", "territory": {"level": "region", "code": "24"}}
Seen = dict[tuple[str, int], dict[str, Any]]


def record(seen: Seen, origin: str, response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (origin, response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), (origin, response.headers)
    seen[(origin, status)] = response.json()


async def _service_side(seen: Seen, http: httpx.AsyncClient, gateway: str, make_key: Any) -> None:
    """Problems the services answer, forwarded as they are by the gateway."""
    admin = {"X-API-Key": await make_key("admin")}
    reader = {"X-API-Key": await make_key("reader")}
    api = f"{gateway}/api/v1"
    bad_utf8 = {**admin, "content-type": "application/json"}
    record(
        seen,
        "service",
        await http.post(f"{api}/actions", content=b'{"title": "\xff"}', headers=bad_utf8),
        400,
    )
    record(seen, "service", await http.post(f"{api}/actions", json=ACTION, headers=reader), 403)
    record(seen, "service", await http.get(f"{api}/actions/{uuid.uuid4()}", headers=admin), 404)
    record(seen, "service", await http.delete(f"{api}/territories/regions", headers=admin), 405)
    created = await http.post(f"{api}/actions", json=ACTION, headers=admin)
    assert created.status_code == 201, created.text
    action = f"{api}/actions/{created.json()['id']}"
    etag = created.headers["etag"]
    record(seen, "service", await http.post(f"{action}/restore", headers={**admin, "If-Match": etag}), 409)
    stale = {**admin, "If-Match": '"999"'}
    record(seen, "service", await http.patch(action, json={"title": "Autre"}, headers=stale), 412)
    record(seen, "service", await http.patch(action, json={"title": "Autre"}, headers=admin), 428)
    record(
        seen,
        "service",
        await http.post(
            f"{api}/actions", json={"territory": {"level": "region", "code": "24"}}, headers=admin
        ),
        422,
    )
    upload = {**admin, "content-type": "application/json"}
    crtes = f"{api}/territories/crtes/imports?region=24"
    record(seen, "service", await http.post(crtes, content=b"{}", headers=upload), 415)
    await http.delete(action, headers={**admin, "If-Match": etag})


async def _gateway_side(seen: Seen, http: httpx.AsyncClient, gateway: str, make_key: Any) -> None:
    """Problems the gateway answers itself."""
    key = await make_key("admin")
    two_keys = httpx.Headers([("X-API-Key", key), ("X-API-Key", key)])
    record(seen, "gateway", await http.get(f"{gateway}/api/v1/actions", headers=two_keys), 400)
    record(seen, "gateway", await http.post(f"{gateway}/api/v1/actions", json=ACTION), 401)
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
    record(seen, "gateway", await http.options(f"{gateway}/api/v1/actions", headers=preflight), 403)
    record(seen, "gateway", await http.get(f"{gateway}/api/v1/nothing-here", headers={"X-API-Key": key}), 404)
    record(seen, "gateway", await http.post(f"{gateway}/healthz"), 405)


def _failing_upstream() -> Starlette:
    async def broken(_: Request) -> Response:
        return JSONResponse({"oops": True}, status_code=500)

    async def slow(_: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/broken/{path:path}", broken, methods=["GET"]),
            Route("/slow/{path:path}", slow, methods=["GET"]),
        ]
    )


@asynccontextmanager
async def _closing_server() -> AsyncIterator[str]:
    """Accepts a connection, reads the request and closes without answering: a broken upstream."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def _actions_behind(levers_url: str, databases: dict[str, str]) -> Any:
    settings = ActionsSettings(
        database_url=databases["actions"],
        internal_secret=TEST_SECRET,
        environment="test",
        log_json=False,
        levers_url=levers_url,
        service_timeout=0.5,
    )
    return create_actions(settings)


async def test_one_title_and_type_per_status_in_the_services_and_the_gateway(
    gateway: str,
    degraded_gateway: str,
    databases: dict[str, str],
    make_key: Callable[..., Awaitable[str]],
    make_gateway_settings: Any,
) -> None:
    seen: Seen = {}
    async with httpx.AsyncClient(timeout=20) as http:
        await _service_side(seen, http, gateway, make_key)
        await _gateway_side(seen, http, gateway, make_key)

        key = {"X-API-Key": await make_key("admin")}
        # diagnostic down, actions too slow (degraded_gateway); a service that closes the connection.
        record(seen, "gateway", await http.get(f"{degraded_gateway}/api/v1/questionnaires", headers=key), 503)
        record(seen, "gateway", await http.get(f"{degraded_gateway}/api/v1/actions", headers=key), 504)
        async with _closing_server() as closing:
            settings = make_gateway_settings(actions_url=closing)
            async with running_server(create_gateway(settings)) as broken_gateway:
                response = await http.get(f"{broken_gateway}/api/v1/actions", headers=key)
                record(seen, "gateway", response, 502)
        limited = make_gateway_settings(
            rate_limit_anonymous="1/minute",
            rate_limit_key_prefix=uuid.uuid4().hex,
            max_request_body_bytes=4096,
        )
        async with running_server(create_gateway(limited)) as limited_gateway:
            too_large = {**key, "content-type": "application/json"}
            response = await http.post(
                f"{limited_gateway}/api/v1/actions", content=b"x" * 8192, headers=too_large
            )
            record(seen, "gateway", response, 413)
            await http.get(f"{limited_gateway}/api/v1/territories/regions")
            response = await http.get(f"{limited_gateway}/api/v1/territories/regions")
            record(seen, "gateway", response, 429)

        # A service whose own upstream (levers) fails: 502 broken, 503 unreachable, 504 too slow.
        admin = identity_headers("admin")
        async with running_server(_failing_upstream(), lifespan="off") as upstream:
            for levers_url, status in (
                (f"{upstream}/broken", 502),
                (f"http://127.0.0.1:{unused_port()}", 503),
                (f"{upstream}/slow", 504),
            ):
                async with running_server(_actions_behind(levers_url, databases)) as actions:
                    response = await http.post(f"{actions}/api/v1/actions", json=ACTION, headers=admin)
                    record(seen, "service", response, status)

    statuses = {status for _, status in seen}
    assert statuses >= REQUIRED, REQUIRED - statuses
    for (origin, status), problem in seen.items():
        kind = PROBLEM_KINDS[status]
        assert (problem["type"], problem["title"], problem["status"]) == (kind.type, kind.title, status), (
            origin,
            problem,
        )
        assert problem["code"] == kind.code or status in {409, 422}, (origin, problem)
    # Both sides answer some of the same statuses: the same words on each.
    both = {s for o, s in seen if o == "service"} & {s for o, s in seen if o == "gateway"}
    assert both >= {400, 403, 404, 405, 502, 503, 504}

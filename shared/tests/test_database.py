"""Database connections: closed pooled connections are replaced at checkout without a ping round trip;
the database's transient failures (unreachable, lost, too slow) are 503 problems with Retry-After, and
only those: a wrong query is still a 500."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import event, text

from planeco_shared.app_factory import create_service_app
from planeco_shared.database import LOST, UNREACHABLE, SessionDep, create_engine, is_transient_sqlstate
from planeco_shared.identity import Authenticated
from planeco_shared.problems import DatabaseUnavailable
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import (
    TEST_DATABASE_ENV,
    TEST_SECRET,
    identity_headers,
    running_server,
    unused_port,
    using_postgres,
)

postgres_only = pytest.mark.skipif(not using_postgres(), reason="asyncpg connections: PostgreSQL runs only")

router = APIRouter(prefix="/backend")


@router.get("/pid")
async def backend_pid(session: SessionDep, _: Authenticated) -> int:
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


@router.get("/suicide")
async def terminate_own_backend(session: SessionDep, _: Authenticated) -> None:
    await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))


@router.get("/broken")
async def broken_query(session: SessionDep, _: Authenticated) -> None:
    await session.execute(text("SELECT no_such_column FROM no_such_table"))


def build(database_url: str) -> FastAPI:
    settings = ServiceSettings(
        database_url=database_url, internal_secret=TEST_SECRET, environment="test", log_json=False
    )
    return create_service_app(
        name="demo", title="demo", description="demo", settings=settings, routers=[router]
    )


@asynccontextmanager
async def served(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        running_server(build(database_url)) as url,
        httpx.AsyncClient(base_url=url, headers=identity_headers("reader")) as client,
    ):
        yield client


@postgres_only
async def test_a_terminated_pooled_connection_is_replaced_at_checkout() -> None:
    server = os.environ[TEST_DATABASE_ENV]
    engine = create_engine(f"{server}/postgres", pool_size=1)
    admin = create_engine(f"{server}/postgres", pool_size=1)
    statements: list[str] = []
    pings: list[object] = []
    try:
        async with engine.connect() as conn:
            first_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            pooled = (await conn.get_raw_connection()).driver_connection
            assert pooled is not None
        async with admin.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        for _ in range(200):  # the event loop reads the server's goodbye and sees the socket closed
            if pooled.is_closed():
                break
            await asyncio.sleep(0.01)
        assert pooled.is_closed()

        event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        ping = engine.dialect.do_ping

        def counted_ping(connection: Any) -> bool:
            pings.append(connection)
            return ping(connection)

        engine.dialect.do_ping = counted_ping  # type: ignore[method-assign,assignment]
        async with engine.connect() as conn:
            second_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()
        await admin.dispose()
    assert second_pid != first_pid
    assert statements == ["SELECT pg_backend_pid()"]
    assert pings == []  # replaced without a round trip


@postgres_only
async def test_a_connection_lost_mid_request_is_a_503_and_the_next_request_works() -> None:
    async with served(f"{os.environ[TEST_DATABASE_ENV]}/postgres") as client:
        before = await client.get("/api/v1/backend/pid")
        lost = await client.get("/api/v1/backend/suicide")
        after = await client.get("/api/v1/backend/pid")
        assert lost.status_code == 503, lost.text
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.headers["retry-after"] == "1"
        assert lost.json()["detail"] == LOST
        assert before.status_code == after.status_code == 200
        assert after.json() != before.json()  # a fresh backend


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:{port}/nowhere",  # refused
        "postgresql+asyncpg://postgres@planeco-no-such-host.invalid/nowhere",  # unresolvable (RFC 6761)
    ],
)
async def test_an_unreachable_database_is_a_503_problem(url: str) -> None:
    async with served(url.format(port=unused_port())) as client:
        response = await client.get("/api/v1/backend/pid")
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["detail"] == UNREACHABLE


@postgres_only
async def test_a_statement_timeout_is_a_503_and_the_connection_is_discarded() -> None:
    engine = create_engine(f"{os.environ[TEST_DATABASE_ENV]}/postgres", pool_size=1, command_timeout=0.2)
    try:
        async with engine.connect() as conn:
            first_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        with pytest.raises(DatabaseUnavailable, match="did not answer in time"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(2)"))
        async with engine.connect() as conn:
            second_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()
    assert second_pid != first_pid


@postgres_only
async def test_a_wrong_query_is_still_a_500() -> None:
    async with served(f"{os.environ[TEST_DATABASE_ENV]}/postgres") as client:
        response = await client.get("/api/v1/backend/broken")
        assert response.status_code == 500, response.text
        assert response.json()["code"] == "internal-error"


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [("57P03", True), ("57P01", True), ("53300", True), ("08006", True), ("42703", False), ("23505", False)],
)
def test_which_sqlstates_say_not_now(sqlstate: str, transient: bool) -> None:
    assert is_transient_sqlstate(_DriverError(sqlstate)) is transient


def test_json_columns_read_the_values_json_loads_gives() -> None:
    import json

    from planeco_shared.database import read_json

    for cell in ('{"a": [1, 2.5, "x", null, true]}', '"\\u00e9t\\u00e9"', "[]", '"\\ud800"', "NaN"):
        value, expected = read_json(cell), json.loads(cell)
        assert value == expected or (value != value and expected != expected), cell  # NaN is not NaN
        assert type(value) is type(expected)

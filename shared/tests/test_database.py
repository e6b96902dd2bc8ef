"""Database connections: closed pooled connections are replaced at checkout without a ping round trip,
and a lost or unreachable database gives a 503 problem with Retry-After, never a 500."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import event, text

from planeco_shared.app_factory import create_service_app
from planeco_shared.database import SessionDep, create_engine
from planeco_shared.identity import Authenticated
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
    try:
        async with engine.connect() as conn:
            first_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            pooled = (await conn.get_raw_connection()).driver_connection
        async with admin.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        for _ in range(200):  # the event loop reads the server's goodbye and sees the socket closed
            if pooled.is_closed():
                break
            await asyncio.sleep(0.01)
        assert pooled.is_closed()

        event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        async with engine.connect() as conn:
            second_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    finally:
        await engine.dispose()
        await admin.dispose()
    assert second_pid != first_pid
    assert statements == ["SELECT pg_backend_pid()"]  # no ping: the request's own query is the only one


@postgres_only
async def test_a_connection_lost_mid_request_is_a_503_and_the_next_request_works() -> None:
    async with served(f"{os.environ[TEST_DATABASE_ENV]}/postgres") as client:
        before = await client.get("/api/v1/backend/pid")
        lost = await client.get("/api/v1/backend/suicide")
        after = await client.get("/api/v1/backend/pid")
        assert lost.status_code == 503, lost.text
        assert lost.headers["content-type"] == "application/problem+json"
        assert lost.headers["retry-after"] == "1"
        assert lost.json()["detail"] == "The database connection was lost; retry"
        assert before.status_code == after.status_code == 200
        assert after.json() != before.json()  # a fresh backend


async def test_an_unreachable_database_is_a_503_problem() -> None:
    async with served(f"postgresql+asyncpg://postgres@127.0.0.1:{unused_port()}/nowhere") as client:
        response = await client.get("/api/v1/backend/pid")
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["detail"] == "The database is unreachable; retry later"

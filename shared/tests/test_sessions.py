"""The session of a request: committed before the response is sent (a commit that fails is the
response), and on SQLite, writers that queue (one at a time, each reading what the previous committed)
instead of failing with "database is locked"; one that cannot get its turn in time is a 503."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_shared.app_factory import create_service_app
from planeco_shared.database import BUSY, SessionDep, create_engine, write_session
from planeco_shared.runtime import ServiceRuntime, install_runtime
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import (
    TEST_SECRET,
    all_at_once,
    fresh_database_url,
    running_server,
    using_postgres,
)

sqlite_only = pytest.mark.skipif(using_postgres(), reason="SQLite's single writer")

router = APIRouter()


@router.post("/children", status_code=status.HTTP_201_CREATED)
async def add_child(parent_id: int, session: SessionDep) -> None:
    # The foreign key is deferred: a missing parent is only detected at COMMIT.
    await session.execute(text("INSERT INTO child (parent_id) VALUES (:parent)"), {"parent": parent_id})


@router.post("/counter")
async def increment(session: SessionDep) -> int:
    # Read, then write what was read plus one: correct only if no other writer commits in between.
    value = int((await session.execute(text("SELECT value FROM counter"))).scalar_one())
    await asyncio.sleep(0)  # let the other requests run up to their own read
    await session.execute(text("UPDATE counter SET value = :value"), {"value": value + 1})
    return value + 1


@router.post("/counter/held")
async def increment_and_hold(request: Request, session: SessionDep) -> int:
    await session.execute(text("UPDATE counter SET value = value + 1"))
    request.app.state.holding.set()
    await request.app.state.release.wait()
    return 0


@router.get("/counter")
async def counter(session: SessionDep) -> int:
    return int((await session.execute(text("SELECT value FROM counter"))).scalar_one())


SCHEMA = [
    "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
    "CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO parent (id) VALUES (1)",
    "CREATE TABLE counter (value INTEGER NOT NULL)",
    "INSERT INTO counter (value) VALUES (0)",
    # What every service's migrations create (planeco_shared.dataversion): writes bump it.
    "CREATE TABLE data_version (id SMALLINT PRIMARY KEY, version BIGINT NOT NULL)",
    "INSERT INTO data_version (id, version) VALUES (1, 1)",
]


@pytest.fixture(name="database_url")
def database_url_fixture(tmp_path: Path) -> str:
    return fresh_database_url("shared_sessions", tmp_path)


@asynccontextmanager
async def served(
    database_url: str, **engine_options: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The demo app served on loopback, its sessions on an engine of its own (as its lifespan would
    make it, with `engine_options`), on a database with SCHEMA."""
    settings = ServiceSettings(
        database_url=database_url, internal_secret=TEST_SECRET, environment="test", log_json=False
    )
    app = create_service_app(
        name="demo", title="demo", description="demo", settings=settings, routers=[router]
    )
    engine = create_engine(database_url, **engine_options)
    try:
        async with engine.begin() as conn:
            for statement in SCHEMA:
                await conn.execute(text(statement))
        install_runtime(app, ServiceRuntime("demo", settings, engine=engine))
        app.state.holding, app.state.release = asyncio.Event(), asyncio.Event()
        async with running_server(app, lifespan="off") as url, httpx.AsyncClient(base_url=url) as client:
            yield app, client
    finally:
        await engine.dispose()


async def read_separately(database_url: str, query: str) -> list[int]:
    """On a connection of another engine: what any other client of the database sees."""
    other: AsyncEngine = create_engine(database_url)
    try:
        async with other.connect() as conn:
            return list((await conn.execute(text(query))).scalars())
    finally:
        await other.dispose()


async def test_a_commit_that_fails_is_the_response_not_a_201(database_url: str) -> None:
    async with served(database_url) as (_, client):
        refused = await client.post("/api/v1/children", params={"parent_id": 2})
        assert refused.status_code == 409, refused.text  # not the endpoint's 201: the COMMIT failed
        assert refused.json()["code"] == "conflict"
        created = await client.post("/api/v1/children", params={"parent_id": 1})
        assert created.status_code == 201, created.text
        # Committed before the client got its 201: another connection sees the row at once.
        assert await read_separately(database_url, "SELECT parent_id FROM child") == [1]


@sqlite_only
async def test_concurrent_writers_queue_and_each_reads_the_previous_commit(database_url: str) -> None:
    async with served(database_url) as (_, client):
        responses = await all_at_once(50, lambda: client.post("/api/v1/counter"))
        assert Counter(r.status_code for r in responses) == {200: 50}, {r.text for r in responses}
        assert sorted(r.json() for r in responses) == list(range(1, 51))  # no lost update
        assert (await client.get("/api/v1/counter")).json() == 50


@sqlite_only
async def test_a_writer_that_waits_too_long_for_its_turn_is_a_503_and_readers_do_not_wait(
    database_url: str,
) -> None:
    async with served(database_url, command_timeout=0.2) as (app, client):
        held = asyncio.create_task(client.post("/api/v1/counter/held"))
        await app.state.holding.wait()  # that request has its turn and has written, uncommitted
        read = await client.get("/api/v1/counter")
        assert read.status_code == 200 and read.json() == 0  # readers see the last commit, unqueued
        queued = await client.post("/api/v1/counter")
        assert queued.status_code == 503, queued.text
        assert queued.headers["retry-after"] == "1"
        assert queued.json()["detail"] == BUSY
        app.state.release.set()
        assert (await held).status_code == 200
        assert (await client.post("/api/v1/counter")).json() == 2


@sqlite_only
async def test_a_write_lock_held_by_another_process_is_waited_for_then_a_503(database_url: str) -> None:
    # pool_size=1: the connection whose BEGIN IMMEDIATE timed out is the one the next request reuses.
    async with served(database_url, command_timeout=0.2, pool_size=1) as (_, client):
        other_process = create_engine(database_url)  # its own writers' queue, as in another process
        try:
            async with write_session(other_process) as session:
                await session.execute(text("UPDATE counter SET value = 10"))
                locked_out = await client.post("/api/v1/counter")
                assert locked_out.status_code == 503, locked_out.text
                assert locked_out.headers["retry-after"] == "1"
                assert locked_out.json()["detail"] == BUSY
        finally:
            await other_process.dispose()
        assert (await client.post("/api/v1/counter")).json() == 11

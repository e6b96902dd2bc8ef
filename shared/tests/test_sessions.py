"""The session of a request: committed before the response is sent (a commit that fails is the
response)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, status
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_shared.app_factory import create_service_app
from planeco_shared.database import SessionDep, create_engine, create_sessionmaker
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import (
    TEST_SECRET,
    fresh_database_url,
    running_server,
)

router = APIRouter()


@router.post("/children", status_code=status.HTTP_201_CREATED)
async def add_child(parent_id: int, session: SessionDep) -> None:
    # The foreign key is deferred: a missing parent is only detected at COMMIT.
    await session.execute(text("INSERT INTO child (parent_id) VALUES (:parent)"), {"parent": parent_id})


SCHEMA = [
    "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
    "CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO parent (id) VALUES (1)",
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
        app.state.engine, app.state.sessionmaker = engine, create_sessionmaker(engine)
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

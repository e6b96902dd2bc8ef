"""Pooled connections the database closed are replaced at checkout, without a ping round trip."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import event, text

from planeco_shared.database import create_engine
from planeco_shared.testing import TEST_DATABASE_ENV, using_postgres

pytestmark = pytest.mark.skipif(not using_postgres(), reason="asyncpg connections: PostgreSQL runs only")


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

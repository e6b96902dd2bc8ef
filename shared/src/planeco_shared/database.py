"""Database engine and the one-transaction-per-request session lifecycle.

The engine is created in the app's lifespan and disposed at shutdown (never at import). Each request
gets one session; it is committed after the endpoint returns and before the response is sent
(`scope="function"`, FastAPI >= 0.121), rolled back on any exception. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from planeco_shared.problems import ServiceUnavailable


def _prepare_sqlite_path(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)


def enable_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 driver, emit BEGIN: SAVEPOINTs and transactional DDL then work
    as on PostgreSQL (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL")."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, application_name: str = "planeco"
) -> AsyncEngine:
    if url.startswith("sqlite"):
        _prepare_sqlite_path(url)
        # One file, several processes (CLI import while the service runs): no pooled connections kept.
        engine = create_async_engine(url, echo=echo, poolclass=NullPool)
        enable_sqlite_transactions(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Without a ping, this bounds how long a connection may sit behind a middlebox that drops idle
        # flows silently; reconnecting each pooled connection every 5 minutes costs nothing measurable.
        pool_recycle=300,
        connect_args={"server_settings": {"application_name": application_name}, "command_timeout": 30},
    )
    discard_closed_connections(engine)
    return engine


def discard_closed_connections(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling without a round trip: a pooled asyncpg connection whose socket
    the server closed (restart, idle kill, `pg_terminate_backend`) is seen as closed by the event loop,
    so it is discarded at checkout and the pool hands out a fresh one. `pool_pre_ping` would do the same
    with BEGIN, `;` and ROLLBACK on every checkout: three round trips before each request's own queries
    (bench/README.md). A connection lost silently (no FIN) still fails its first query, as with a ping
    racing the loss, and `command_timeout` bounds the wait; the request then gets a 503 problem
    (`planeco_shared.problems`) and the pool a fresh connection."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checkout(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        is_closed = getattr(record.driver_connection, "is_closed", None)  # asyncpg.Connection.is_closed
        if is_closed is not None and is_closed():
            raise DisconnectionError("the database closed this pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] | None = getattr(request.app.state, "sessionmaker", None)
    if sessionmaker is None:
        raise ServiceUnavailable("The database is not configured")
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# The only way endpoints get a session: committed before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def database_ready(engine: AsyncEngine) -> bool:
    from sqlalchemy import text

    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True

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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

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
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": application_name}, "command_timeout": 30},
    )


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

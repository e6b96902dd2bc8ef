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
from sqlalchemy.engine import Dialect, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from planeco_shared.problems import DatabaseUnavailable


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
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    application_name: str = "planeco",
    command_timeout: float = 30,
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
        connect_args={
            "server_settings": {"application_name": application_name},
            "command_timeout": command_timeout,
        },
    )
    discard_closed_connections(engine)
    report_unavailability(engine)
    return engine


def discard_closed_connections(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling without a round trip: a pooled asyncpg connection whose socket
    the server closed (restart, idle kill, `pg_terminate_backend`) is seen as closed by the event loop,
    so it is discarded at checkout and the pool hands out a fresh one. `pool_pre_ping` would do the same
    with BEGIN, `;` and ROLLBACK on every checkout: three round trips before each request's own queries
    (bench/README.md). A connection lost silently (no FIN) still fails its first query, as with a ping
    racing the loss, and `command_timeout` bounds the wait; the request then gets a 503 problem
    (`report_unavailability`) and the pool a fresh connection."""

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checkout(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        is_closed = getattr(record.driver_connection, "is_closed", None)  # asyncpg.Connection.is_closed
        if is_closed is not None and is_closed():
            raise DisconnectionError("the database closed this pooled connection")


# SQLSTATEs that say "not now" rather than "wrong": connection exceptions (class 08), the server shutting
# down or starting up (57P01-57P03), too many connections (53300).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
UNREACHABLE = "The database is unreachable or not accepting connections; retry later"
LOST = "The database connection was lost; nothing was saved, retry"
LOST_AT_COMMIT = (
    "The database connection was lost while committing: the change may have been saved; read it back "
    "before retrying"
)
TIMED_OUT = "The database did not answer in time; retry later"


def _sqlstate(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def is_transient_sqlstate(exc: BaseException) -> bool:
    code = _sqlstate(exc)
    return code is not None and (code.startswith("08") or code in UNAVAILABLE_SQLSTATES)


def report_unavailability(engine: AsyncEngine) -> None:
    """Turn the database's transient failures into `DatabaseUnavailable` (a 503 problem with Retry-After)
    where they happen, so that nothing else mistakes them for bugs (500) and no other error is mistaken
    for them: connecting (refused, unresolvable host, timeout, server starting, stopping or full), a
    connection lost during a statement (nothing was saved) or during COMMIT (the outcome is unknown),
    and a statement timeout (`command_timeout`; the connection is then discarded)."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except (OSError, TimeoutError) as exc:
            raise DatabaseUnavailable(UNREACHABLE) from exc
        except Exception as exc:
            if is_transient_sqlstate(exc):
                raise DatabaseUnavailable(UNREACHABLE) from exc
            raise

    @event.listens_for(engine.sync_engine, "handle_error")
    def _handle_error(context: ExceptionContext) -> BaseException | None:
        original = context.original_exception
        if isinstance(original, TimeoutError):
            context.is_disconnect = True  # the statement may still run: drop the connection
            return DatabaseUnavailable(TIMED_OUT)
        if context.is_disconnect or is_transient_sqlstate(original):
            context.is_disconnect = True
            return DatabaseUnavailable(LOST if context.statement is not None else LOST_AT_COMMIT)
        return None


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    from planeco_shared.runtime import runtime_of  # the runtime is built on this module

    async with runtime_of(request.app).sessionmaker() as session:
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

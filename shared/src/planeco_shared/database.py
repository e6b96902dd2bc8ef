"""Database engine and the one-transaction-per-request session lifecycle.

The engine is created in the app's lifespan and disposed at shutdown (never at import). Each request
gets one session; it is committed after the endpoint returns and before the response is sent
(`scope="function"`, FastAPI >= 0.121), rolled back on any exception. Services flush, never commit.

On SQLite (one writer at a time per file) a request that may write (any method but GET, HEAD, OPTIONS)
waits for its turn: in-process behind the requests that came before it, then for the file's write lock
(`BEGIN IMMEDIATE`, `busy_timeout` for other processes). Concurrent writes therefore queue; one that
cannot get its turn within the timeout is a 503 problem with Retry-After, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from planeco_shared.dataversion import NO_BEGIN, VERSIONED_SESSION
from planeco_shared.problems import DatabaseUnavailable


def _prepare_sqlite_path(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)


# Connection execution option read by the "begin" listener: this transaction will write.
WRITES = "planeco_writes"
SQLITE_BUSY = 5  # primary result code; SQLITE_BUSY_SNAPSHOT (517) shares it
BUSY = "The database is busy with other writes; nothing was saved, retry later"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def enable_sqlite_transactions(engine: AsyncEngine, *, busy_timeout: float = 30) -> None:
    """Let SQLAlchemy, not the sqlite3 driver, emit BEGIN: SAVEPOINTs and transactional DDL then work
    as on PostgreSQL (SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL").
    A transaction that will write begins IMMEDIATE; SQLITE_BUSY becomes `DatabaseUnavailable`."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(NO_BEGIN):
            return  # one autocommitted read (the data version): no transaction to open or close
        # A deferred BEGIN reads from a snapshot and asks for the write lock at its first write; if another
        # connection committed in between, that is SQLITE_BUSY_SNAPSHOT at once, which no busy_timeout can
        # wait out. IMMEDIATE takes the write lock (waiting up to busy_timeout) before the first read.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITES) else "BEGIN")

    @event.listens_for(engine.sync_engine, "handle_error")
    def _handle_error(context: ExceptionContext) -> BaseException | None:
        code = getattr(context.original_exception, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF == SQLITE_BUSY:
            return DatabaseUnavailable(BUSY)  # another writer kept the lock longer than busy_timeout
        return None


class SQLiteWriters:
    """This process's writers to one SQLite engine, one at a time in arrival order: they wait here (an
    asyncio lock, FIFO) rather than in the driver's busy handler, which polls, favours no one and holds a
    pooled connection while it waits."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise DatabaseUnavailable(BUSY) from None
        try:
            yield
        finally:
            self._lock.release()


_sqlite_writers: weakref.WeakKeyDictionary[Engine, SQLiteWriters] = weakref.WeakKeyDictionary()


def _is_memory(url: str) -> bool:
    return make_url(url).database in (None, "", ":memory:")


def read_json(text: str | bytes) -> Any:
    """A JSON column's value: orjson (several times faster than `json.loads`: a roadmap reads thousands of
    JSON cells), the same values (numbers as int or float, as `json.loads` gives them); `json.loads` for
    what orjson refuses and `json` accepts (a lone surrogate escape, a NaN)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


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
        # Pooled connections are reused: an idle one holds no lock, so another process may still write to
        # the file (a CLI import while the service runs; busy_timeout covers the wait). In-memory: one
        # shared connection (SQLAlchemy's StaticPool), which takes no pool size.
        sizes = {} if _is_memory(url) else {"pool_size": pool_size, "max_overflow": pool_size}
        engine = create_async_engine(url, echo=echo, json_deserializer=read_json, **sizes)
        enable_sqlite_transactions(engine, busy_timeout=command_timeout)
        _sqlite_writers[engine.sync_engine] = SQLiteWriters(command_timeout)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        json_deserializer=read_json,
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


def create_sessionmaker(engine: AsyncEngine | AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits bump the service's data version when they wrote (planeco_shared.dataversion);
    bound to a connection for a test's `isolated()` transaction."""
    return async_sessionmaker(
        bind=engine,
        expire_on_commit=False,
        autoflush=False,
        info={VERSIONED_SESSION: True},
        **({"join_transaction_mode": "create_savepoint"} if isinstance(engine, AsyncConnection) else {}),
    )


@asynccontextmanager
async def transaction(session: AsyncSession, *, writes: bool) -> AsyncIterator[AsyncSession]:
    """The session's one transaction: committed at the end, rolled back on any exception. When it
    `writes` on an SQLite engine from `create_engine`, it first waits for this process's turn to write,
    then begins IMMEDIATE; it keeps the turn until it has committed or rolled back, so the next writer
    reads what this one committed (a stale If-Match is then a 412 at the check, not a failed write)."""
    engine = _engine_of(session)
    writers = _sqlite_writers.get(engine) if writes and engine is not None else None
    async with writers.turn() if writers is not None else nullcontext():
        if writers is not None:
            await session.connection(execution_options={WRITES: True})
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def _engine_of(session: AsyncSession) -> Engine | None:
    bind = session.bind
    if isinstance(bind, AsyncEngine):
        return bind.sync_engine
    if isinstance(bind, AsyncConnection):  # a test's `isolated()` connection
        return bind.engine.sync_engine
    return None


@asynccontextmanager
async def write_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session that writes outside a request (CLI imports): one transaction, committed at the end;
    on SQLite it waits for its turn and holds the file's write lock from the start (BEGIN IMMEDIATE)."""
    async with create_sessionmaker(engine)() as session, transaction(session, writes=True):
        yield session


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    from planeco_shared.runtime import runtime_of  # the runtime is built on this module

    writes = request.method not in SAFE_METHODS
    async with runtime_of(request.app).sessionmaker() as session, transaction(session, writes=writes):
        yield session


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

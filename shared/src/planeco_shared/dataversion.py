"""One data version per service: a counter that every transaction which writes bumps before it commits.

Why: a public read depends only on the service's data, so (data version, URL) identifies its answer.
The read cache (`planeco_shared.caching`) derives the ETag from it, answers a matching conditional GET
with a 304 after reading one integer, and serves an answer it already built again from memory. Replicas
need no message: each reads the version from the database before the data, so a write committed
anywhere changes every replica's next ETag (and empties its cache). Reading it *before* the data is what
makes a race harmless: data read later can only be newer than its version, never older.

How every write is seen, without anyone calling anything:
- a listener on every engine marks the connection when it executes a statement that changed at least one
  row: an INSERT, UPDATE or DELETE compiled by SQLAlchemy (unless its table is marked
  `info={UNVERSIONED: True}`: the bookkeeping no cached read shows, job runs, idempotency keys, a sync's
  staging), or raw SQL that does not read;
- a listener on the ORM sessions made by `planeco_shared.database.create_sessionmaker` (requests, CLI
  commands, imports, jobs: `runtime.transaction()`, `write_session`) flushes and, when the connection was
  marked since the session's transaction began, bumps the counter in `before_commit`: same transaction,
  so the new version is visible exactly when the data is.
Writes through a bare `engine.begin()` connection are not seen: the services never write that way.

Each service maps the table on its own Base (`class DataVersion(DataVersionMixin, Base)`, in its db.py)
and creates it, with its one row, in a migration.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from typing import Any

from sqlalchemy import BigInteger, SmallInteger, TextClause, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

TABLE = "data_version"
UNVERSIONED = "planeco_unversioned"  # Table.info key: writes to this table leave the version alone
VERSIONED_SESSION = "planeco_versioned"  # Session.info key set by create_sessionmaker
_WROTE = "planeco_wrote"  # Connection.info: a write ran since the session's transaction began
_CONNECTIONS = "planeco_connections"  # Session.info: the connections its transaction began on
# Connection execution option: run without BEGIN (SQLite, whose transactions SQLAlchemy emits itself:
# planeco_shared.database); elsewhere the read uses the driver's autocommit.
NO_BEGIN = "planeco_no_begin"

# Constant SQL on the constant table name (no input): driver-level strings, nothing to compile per call.
_READ = "SELECT version FROM data_version WHERE id = 1"
_BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"
_FIRST = "INSERT INTO data_version (id, version) VALUES (1, 2)"  # a table created without its row
# Raw SQL that reads, or manages the transaction: anything else is taken as a write (a spare bump costs a
# cache refill; a missed one would serve stale data).
_NOT_A_WRITE = re.compile(
    r"\s*(SELECT|SHOW|PRAGMA|EXPLAIN|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|VALUES)\b", re.IGNORECASE
)


class DataVersionMixin:
    """The table of one row: `version` only grows. `id` is always 1 (a table, not a sequence: it is read
    and bumped in the reading or writing transaction like any row)."""

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


def create_data_version_table(op: Any) -> None:
    """For a service's migration: the table and its one row (`op` is alembic.op)."""
    import sqlalchemy as sa

    table = op.create_table(
        TABLE,
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1}])


def _writes(statement: str, context: Any) -> bool:
    if context is None:
        return _NOT_A_WRITE.match(statement) is None
    if context.isinsert or context.isupdate or context.isdelete:
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        info = getattr(table, "info", None)  # a lightweight `sa.table()` (data migrations) has none
        return not (info is not None and info.get(UNVERSIONED))
    compiled = context.compiled
    if compiled is not None and not isinstance(compiled.statement, TextClause):
        return False  # a compiled SELECT (or DDL, which no versioned session runs)
    return _NOT_A_WRITE.match(statement) is None


class _Counter:
    """Writing statements seen by this process: the test suites check that each request that ran one
    and succeeded left a new data version (`planeco_shared.testing.versioned_client`)."""

    writes = 0


WRITES_SEEN = _Counter()


@event.listens_for(Engine, "after_cursor_execute")
def _mark_writes(
    conn: Connection, cursor: Any, statement: str, _parameters: Any, context: Any, _executemany: bool
) -> None:
    # A statement that changed no row (an INSERT … SELECT of nothing, an UPDATE that matched none) wrote
    # nothing; -1 is "unknown" (some drivers' executemany): counted as a write.
    if getattr(cursor, "rowcount", -1) != 0 and _writes(statement, context):
        conn.info[_WROTE] = True
        WRITES_SEEN.writes += 1


@event.listens_for(Session, "after_begin")
def _track_connection(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    if session.info.get(VERSIONED_SESSION):
        connection.info[_WROTE] = False
        session.info.setdefault(_CONNECTIONS, []).append(connection)


@event.listens_for(Session, "before_commit")
def _bump_if_written(session: Session) -> None:
    if not session.info.get(VERSIONED_SESSION):
        return
    session.flush()  # what is still pending is written now, not after this check
    for connection in session.info.pop(_CONNECTIONS, []):
        if connection.info.pop(_WROTE, False) and connection.exec_driver_sql(_BUMP).rowcount == 0:
            connection.exec_driver_sql(_FIRST)


@event.listens_for(Session, "after_rollback")
def _forget_connections(session: Session) -> None:
    for connection in session.info.pop(_CONNECTIONS, []):
        connection.info.pop(_WROTE, None)


async def read_data_version(bind: AsyncEngine | AsyncConnection) -> int:
    """The current version, in its own autocommit read on an engine (no BEGIN/ROLLBACK round trips), or on
    the given connection (a test's `isolated()` transaction). 0 for a table without its row."""
    if isinstance(bind, AsyncConnection):
        value = (await bind.exec_driver_sql(_READ)).scalar()
    else:
        async with bind.connect() as connection:
            if bind.dialect.name == "sqlite":
                await connection.execution_options(**{NO_BEGIN: True})
            else:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            value = (await connection.exec_driver_sql(_READ)).scalar()
    return int(value or 0)


class DataVersionReader:
    """The process's reads of its data version, at the driver's cost rather than SQLAlchemy's.

    Measured here on PostgreSQL: a pooled SQLAlchemy connection, checked out and in around the query,
    costs ~660 µs of CPU per read; the same query on a raw asyncpg connection ~30 µs. So the reader keeps
    one connection of the engine's pool checked out for its own use (same settings as every other) and
    queries the driver directly. One read is in flight at a time; requests that arrive meanwhile share the
    *next* read, which starts after all of them arrived: each still sees every commit made before it
    came (read-your-writes across replicas holds), and under load one round trip serves many requests.
    SQLite: a plain read-only `sqlite3` connection, queried in the event loop (a one-row read of a local
    file, microseconds; WAL readers do not wait for writers). On any error the connection is dropped and
    the error raised to the waiting requests (the read cache then lets the endpoint answer: a 503 problem
    when the database is down); the next read reconnects."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._sqlite: sqlite3.Connection | None = None
        self._next: asyncio.Future[int] | None = None
        self._reading = False
        self.reads = 0  # queries sent (fewer than the calls under load)

    async def read(self) -> int:
        sqlite_path = self._sqlite_path()
        if sqlite_path is not None:
            return self._read_sqlite(sqlite_path)
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if not self._reading:
                self._reading = True
                asyncio.get_running_loop().create_task(self._read_batches())
        return await asyncio.shield(self._next)

    async def _read_batches(self) -> None:
        try:
            while self._next is not None:
                batch, self._next = self._next, None  # those who arrive from now on wait for the next read
                try:
                    batch.set_result(await self._query())
                except Exception as exc:  # every waiter gets it; the connection is renewed next time
                    await self._drop()
                    batch.set_exception(exc)
                    batch.exception()  # retrieved: a batch nobody awaits any more is not "never retrieved"
        finally:
            self._reading = False

    async def _query(self) -> int:
        if self._driver is None:
            connection = await self.engine.connect()
            try:
                raw = await connection.get_raw_connection()
                self._driver = raw.driver_connection
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
        self.reads += 1
        value = await self._driver.fetchval(_READ)
        return int(value or 0)

    def _sqlite_path(self) -> str | None:
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return url.database

    def _read_sqlite(self, path: str) -> int:
        if self._sqlite is None:
            self._sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            self._sqlite.execute("PRAGMA busy_timeout = 1000")
        self.reads += 1
        try:
            row = self._sqlite.execute(_READ).fetchone()
        except sqlite3.Error:
            self._sqlite.close()
            self._sqlite = None
            raise
        return int(row[0]) if row else 0

    async def _drop(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
                await connection.close()

    async def aclose(self) -> None:
        await self._drop()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

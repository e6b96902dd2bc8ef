"""One run of a job at a time, across every process and replica of its service.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a 64-bit key derived from the service
and job names, taken on a connection of its own held for the whole run, in autocommit (no transaction stays
open for hours) and released at the end. The server frees it if the process dies (the connection goes), so
nothing needs cleaning up after a crash.

SQLite (one machine by design): an in-process set of held locks, for runs in the same process, plus an
exclusive non-blocking `flock` on a file beside the database for other processes on the same file (a CLI run
while the service or its scheduler runs). The kernel releases a flock when its process dies, which a lock
row in the database would not do (it would need a lease and a clean-up); flock is POSIX, like the rest of
the stack's hosts.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_held_in_process: set[str] = set()


def lock_key(service: str, job: str) -> int:
    """A stable signed 64-bit key (PostgreSQL's bigint) for service+job: the same in every process and
    release, unlike Python's salted hash()."""
    digest = hashlib.blake2b(f"planeco-job:{service}:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class JobLock:
    """`await lock.acquire()` → True if this run holds it; `await lock.release()` once done (idempotent)."""

    def __init__(self, engine: AsyncEngine, service: str, job: str) -> None:
        self.engine = engine
        self.service = service
        self.job = job
        self.key = lock_key(service, job)
        self._connection: AsyncConnection | None = None
        self._file: int | None = None
        self._name: str | None = None
        self.held = False

    @property
    def _is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def acquire(self) -> bool:
        if self.held:
            raise RuntimeError("lock already held")
        if self._is_postgres:
            self.held = await self._acquire_advisory()
        else:
            self.held = self._acquire_local()
        return self.held

    async def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if self._is_postgres:
            await self._release_advisory()
        else:
            self._release_local()

    async def _acquire_advisory(self) -> bool:
        connection = await self.engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            acquired = bool(result.scalar_one())
        except BaseException:
            await connection.close()
            raise
        if not acquired:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def _release_advisory(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except BaseException:
            # Unknown state: never give the pool back a connection that may still hold the lock.
            await connection.invalidate()
            raise
        finally:
            await connection.close()

    def _lock_path(self) -> Path | None:
        database = make_url(str(self.engine.url)).database
        if not database or database == ":memory:":
            return None  # an in-memory database is private to this process: the in-process lock suffices
        path = Path(database).resolve()
        return path.with_name(f"{path.name}.job-{self.service}-{self.job}.lock")

    def _acquire_local(self) -> bool:
        path = self._lock_path()
        name = str(path) if path else f"memory:{id(self.engine)}:{self.service}:{self.job}"
        if name in _held_in_process:
            return False
        if path is not None:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                return False
            except BaseException:
                os.close(descriptor)
                raise
            self._file = descriptor
        _held_in_process.add(name)
        self._name = name
        return True

    def _release_local(self) -> None:
        if self._name is not None:
            _held_in_process.discard(self._name)
            self._name = None
        if self._file is not None:
            # The file stays (removing it would race with a process that just opened it); closing unlocks.
            os.close(self._file)
            self._file = None

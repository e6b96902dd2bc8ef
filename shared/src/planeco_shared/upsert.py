"""INSERT … ON CONFLICT DO UPDATE on both databases: the basis of idempotent imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def upsert(
    session: AsyncSession, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]], *, key: Sequence[str]
) -> None:
    """Insert `rows` (dicts with the same keys), updating the rows whose `key` already exists.

    One statement compiled once and executed with all the rows (executemany): the driver batches them.
    A multi-row VALUES statement built per batch costs far more to compile than to run (35,000 communes:
    about 12 s against 1 s)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model.__table__)  # type: ignore[arg-type]
    updates = {c: statement.excluded[c] for c in rows[0] if c not in key}
    if updates:
        statement = statement.on_conflict_do_update(index_elements=list(key), set_=updates)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    await session.execute(statement, list(rows))

"""INSERT … ON CONFLICT DO UPDATE on both databases, in batches: the basis of idempotent imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# SQLite allows 32,766 bound parameters per statement; stay well below for wide rows.
BATCH_ROWS = 1000


async def upsert(
    session: AsyncSession, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]], *, key: Sequence[str]
) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        statement = insert(table).values(list(batch))  # type: ignore[arg-type]
        updates = {c: statement.excluded[c] for c in batch[0] if c not in key}
        if updates:
            statement = statement.on_conflict_do_update(index_elements=list(key), set_=updates)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(key))
        await session.execute(statement)

"""The migration that gave questionnaires an owner territory keeps the existing rows."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from planeco_shared.migrations import service_root_of, upgrade
from planeco_shared.testing import fresh_database_url

ROOT = service_root_of(__file__.replace("/tests/", "/src/planeco_diagnostic/"))
BEFORE_OWNER = "2fec6cf5642f"


async def _execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = await connection.execute(text(statement))
                if result.returns_rows:
                    rows = [tuple(row) for row in result]
            return rows
    finally:
        await engine.dispose()


def test_existing_questionnaires_keep_their_owner(tmp_path: Path) -> None:
    url = fresh_database_url("diagnostic_migration", tmp_path)
    upgrade(ROOT, url, BEFORE_OWNER)
    regional, national = uuid.uuid4(), uuid.uuid4()
    insert = (
        "INSERT INTO questionnaires (id, title, description, region_code, respondent_types, status, "
        "created_by, version, created_at, updated_at) VALUES ('{id}', '{title}', '', {region}, '[]', "
        "'draft', 'test', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    asyncio.run(
        _execute(
            url,
            insert.format(id=regional.hex, title="Diagnostic 24", region="'24'"),
            insert.format(id=national.hex, title="Diagnostic national", region="NULL"),
        )
    )
    upgrade(ROOT, url)
    rows = asyncio.run(
        _execute(
            url,
            "SELECT title, owner_level, owner_code, owner_region, edition, lineage_id = id, locked_at "
            "FROM questionnaires ORDER BY title",
        )
    )
    assert [tuple(row) for row in rows] == [
        ("Diagnostic 24", "region", "24", "24", 1, True, None),
        ("Diagnostic national", "nation", None, None, 1, True, None),
    ]

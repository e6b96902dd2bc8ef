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


BEFORE_DENORMALISED_ANSWERS = "c74e4e367c40"


def test_answer_rows_get_their_respondent_status_and_lever_first(tmp_path: Path) -> None:
    """The rows in place take their invitee's type and département, their response's status, and one
    row per respondent and lever is flagged."""
    url = fresh_database_url("diagnostic_migration_answers", tmp_path)
    upgrade(ROOT, url, BEFORE_DENORMALISED_ANSWERS)
    questionnaire, campaign = uuid.uuid4(), uuid.uuid4()
    submitted, draft = uuid.uuid4(), uuid.uuid4()
    questionnaire_row = (
        "INSERT INTO questionnaires (id, title, description, respondent_types, status, created_by, "
        "version, created_at, updated_at, lineage_id, edition, owner_level, sections, content_hash) "
        "VALUES ('{id}', 'Q', '', '[]', 'published', 'test', 1, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP, '{id}', 1, 'nation', '[]', '')"
    )
    campaign_row = (
        "INSERT INTO campaigns (id, questionnaire_id, owner_level, owner_code, owner_region, title, "
        "opening_date, closing_date, panorama_version, selection, created_by, version, created_at, "
        "updated_at) VALUES ('{id}', '{questionnaire}', 'region', '24', '24', 'C', '2026-01-01', "
        "'2026-12-31', 'latest', '{{}}', 'test', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    invitee = (
        "INSERT INTO campaign_invitees (id, campaign_id, code, name, type, departement, population) "
        "VALUES ('{id}', '{campaign}', '{code}', '{code}', '{type}', {departement}, 0)"
    )
    response = (
        "INSERT INTO responses (invitee_id, campaign_id, status, answers, updated_by, version, created_at, "
        "updated_at) VALUES ('{id}', '{campaign}', '{status}', '{{}}', 'test', 1, CURRENT_TIMESTAMP, "
        "CURRENT_TIMESTAMP)"
    )
    row = (
        "INSERT INTO response_answers (invitee_id, item_key, lever_id, campaign_id, lever_rank, needs) "
        "VALUES ('{id}', '{item}', 'augm_buselec', '{campaign}', 0, 0)"
    )
    asyncio.run(
        _execute(
            url,
            questionnaire_row.format(id=questionnaire),
            campaign_row.format(id=campaign, questionnaire=questionnaire),
            invitee.format(id=submitted, campaign=campaign, code="45234", type="commune", departement="'45'"),
            invitee.format(id=draft, campaign=campaign, code="24", type="region", departement="NULL"),
            response.format(id=submitted, campaign=campaign, status="submitted"),
            response.format(id=draft, campaign=campaign, status="draft"),
            row.format(id=submitted, campaign=campaign, item="bus"),
            row.format(id=submitted, campaign=campaign, item="autocars"),  # the same lever again
            row.format(id=draft, campaign=campaign, item="bus"),
        )
    )
    upgrade(ROOT, url)
    rows = asyncio.run(
        _execute(
            url,
            "SELECT respondent_type, departement, submitted, item_key, lever_first FROM response_answers "
            "ORDER BY respondent_type, item_key",
        )
    )
    assert [tuple(row) for row in rows] == [
        ("commune", "45", True, "autocars", True),  # one row per respondent and lever counts it
        ("commune", "45", True, "bus", False),
        ("region", None, False, "bus", True),
    ]

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_levers.app import create_app
from planeco_levers.panoramas.schemas import ImportReport as PanoramaImportReport
from planeco_levers.panoramas.service import import_shipped_panoramas
from planeco_levers.settings import LeversSettings
from planeco_levers.territories.importer import ImportReport, import_territories
from planeco_shared.database import create_sessionmaker
from planeco_shared.identity import Principal, Role
from planeco_shared.migrations import service_root_of
from planeco_shared.testing import service_fixtures

database_url, engine, app, client = service_fixtures(
    "levers",
    create_app=create_app,
    settings_cls=LeversSettings,
    service_root=service_root_of(__file__.replace("/tests/", "/src/planeco_levers/")),
)


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def cog(engine: AsyncEngine) -> AsyncIterator[ImportReport]:
    """The INSEE COG 2026, loaded and committed once before any levers test: every test sees the real
    territories (autouse, so the data never depends on test order); each test's writes still roll back."""
    async with create_sessionmaker(engine).begin() as session:
        report = await import_territories(session)
    yield report


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def panoramas(engine: AsyncEngine) -> AsyncIterator[dict[str, PanoramaImportReport]]:
    """The three SGPE panorama versions shipped in data/sgpe-panorama/, imported and committed once."""
    async with create_sessionmaker(engine).begin() as session:
        reports = await import_shipped_panoramas(session, principal=Principal("tests:panoramas", Role.admin))
    yield {report.version: report for report in reports}

"""The diagnostic app on its own database, with the real levers service (its app, its own database
loaded with the real COG and SGPE panoramas) as the upstream its levers client calls."""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_diagnostic.app import create_app
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_levers.app import create_app as create_levers_app
from planeco_levers.panoramas.service import import_shipped_panoramas
from planeco_levers.settings import LeversSettings
from planeco_levers.territories.importer import import_territories
from planeco_shared.identity import Principal, Role
from planeco_shared.migrations import service_root_of
from planeco_shared.runtime import ServiceRuntime, install_runtime
from planeco_shared.testing import isolated, migrated_database, service_fixtures, settings_for_tests

database_url, engine, _app, client = service_fixtures(
    "diagnostic",
    create_app=create_app,
    settings_cls=DiagnosticSettings,
    service_root=service_root_of(__file__.replace("/tests/", "/src/planeco_diagnostic/")),
)

LEVERS_URL = "http://levers.test"


@pytest.fixture(scope="session")
def levers_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = service_root_of(create_levers_app.__code__.co_filename)
    return migrated_database("levers", root, tmp_path_factory.mktemp("db-levers"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def levers_app(levers_database_url: str) -> AsyncIterator[FastAPI]:
    """The levers service with its reference data, committed once for the session (read only here)."""
    settings = settings_for_tests(LeversSettings, levers_database_url)
    app = create_levers_app(settings)
    async with ServiceRuntime.open("levers", settings) as runtime:
        async with runtime.sessionmaker.begin() as session:
            await import_territories(session)
            await import_shipped_panoramas(session, principal=Principal("tests:panoramas", Role.admin))
        install_runtime(app, runtime)
        yield app


def diagnostic_settings(database_url: str, **overrides: object) -> DiagnosticSettings:
    settings: DiagnosticSettings = settings_for_tests(
        DiagnosticSettings, database_url, levers_url=LEVERS_URL, **overrides
    )
    return settings


@pytest_asyncio.fixture(name="app", loop_scope="session")
async def app_fixture(engine: AsyncEngine, database_url: str, levers_app: FastAPI) -> AsyncIterator[FastAPI]:
    app = create_app(diagnostic_settings(database_url))
    http = httpx.AsyncClient(mounts={LEVERS_URL: httpx.ASGITransport(app=levers_app)})
    async with http, isolated(app, engine, http=http):
        yield app

"""The actions app on its own database, with the real levers service (its app, its own database
loaded with the real COG and SGPE panoramas) as the upstream its levers client calls."""

import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_actions.aids.fake.process import running_fake
from planeco_actions.aids.fake.server import DEFAULT_API_KEY
from planeco_actions.app import create_app
from planeco_actions.settings import ActionsSettings
from planeco_levers.app import create_app as create_levers_app
from planeco_levers.panoramas.service import import_shipped_panoramas
from planeco_levers.settings import LeversSettings
from planeco_levers.territories.importer import import_territories
from planeco_shared.identity import Principal, Role
from planeco_shared.migrations import service_root_of
from planeco_shared.runtime import ServiceRuntime, install_runtime
from planeco_shared.testing import (
    isolated,
    migrated_database,
    running_server,
    service_fixtures,
    settings_for_tests,
    unused_port,
)

database_url, engine, _app, client = service_fixtures(
    "actions",
    create_app=create_app,
    settings_cls=ActionsSettings,
    service_root=service_root_of(__file__.replace("/tests/", "/src/planeco_actions/")),
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


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def levers_url(levers_app: FastAPI) -> AsyncIterator[str]:
    """The same levers service served on loopback, for tests that run the actions app for real."""
    async with running_server(levers_app, lifespan="off") as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def levers_http(levers_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on which `LEVERS_URL` is the levers app in process."""
    async with httpx.AsyncClient(mounts={LEVERS_URL: httpx.ASGITransport(app=levers_app)}) as http:
        yield http


@pytest_asyncio.fixture(name="app", loop_scope="session")
async def app_fixture(engine: AsyncEngine, database_url: str, levers_app: FastAPI) -> AsyncIterator[FastAPI]:
    app = create_app(settings_for_tests(ActionsSettings, database_url, levers_url=LEVERS_URL))
    http = httpx.AsyncClient(mounts={LEVERS_URL: httpx.ASGITransport(app=levers_app)})
    async with http, isolated(app, engine, http=http):
        yield app


FAKE_AIDS = 230  # three pages of 100: 100, 100, 30
FAKE_SEED = 3
FAKE_TODAY = "2026-06-15"


class FakeAidesTerritoires:
    """The fake Aides-territoires running as its own process (planeco_actions.aids.fake), and its
    test controls (`/_fake/…`)."""

    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.process = process
        self.api_key = DEFAULT_API_KEY

    async def _control(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url) as http:
            response = await (
                http.get(f"/_fake/{action}") if body is None else http.post(f"/_fake/{action}", json=body)
            )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def reset(self) -> dict[str, Any]:
        return await self._control("reset", {})

    async def stats(self) -> dict[str, Any]:
        return await self._control("stats")

    async def change(self, **body: Any) -> dict[str, Any]:
        return await self._control("changes", body)

    async def quirks(self, **values: Any) -> dict[str, Any]:
        return await self._control("quirks", values)


@pytest.fixture(scope="session")
def fake_process() -> Iterator[FakeAidesTerritoires]:
    """Started once per session on a free loopback port, stopped by its PID."""
    with running_fake(unused_port(), aids=FAKE_AIDS, seed=FAKE_SEED, today=FAKE_TODAY) as (url, process):
        yield FakeAidesTerritoires(url, process)


@pytest_asyncio.fixture(loop_scope="session")
async def fake(fake_process: FakeAidesTerritoires) -> AsyncIterator[FakeAidesTerritoires]:
    """The fake, back to its start-up catalogue and quirks for each test."""
    await fake_process.reset()
    yield fake_process


@pytest_asyncio.fixture(loop_scope="session")
async def fake_app(
    engine: AsyncEngine, database_url: str, fake: Any, levers_http: httpx.AsyncClient
) -> AsyncIterator[FastAPI]:
    """The actions app syncing from the fake Aides-territoires, with the real levers service."""
    settings = settings_for_tests(
        ActionsSettings,
        database_url,
        levers_url=LEVERS_URL,
        aides_territoires_url=fake.url,
        aides_territoires_api_key=SecretStr(fake.api_key),
        aides_territoires_pause=0,
        aides_territoires_attempts=3,
        aides_territoires_backoff=0.001,
    )
    app = create_app(settings)
    async with isolated(app, engine, http=levers_http):
        yield app

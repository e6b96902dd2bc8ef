"""Test harness shared by every service's tests: real databases, migrated by Alembic, one
rolled-back transaction per test, the app driven in-process through httpx's ASGITransport.

`PLANECO_TEST_DATABASE` selects the database: `sqlite` (default: a file per service under pytest's
tmp dir) or a PostgreSQL server URL such as `postgresql+asyncpg://postgres@127.0.0.1:5432`
(a fresh `planeco_test_<service>` database per run).
"""

from __future__ import annotations

import asyncio
import atexit
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from planeco_shared.database import SAFE_METHODS, create_engine, create_sessionmaker
from planeco_shared.dataversion import WRITES_SEEN
from planeco_shared.identity import (
    IDENTITY_HEADER,
    AuthMethod,
    Principal,
    Role,
    encode_identity,
)
from planeco_shared.migrations import upgrade
from planeco_shared.runtime import ServiceRuntime, install_runtime, runtime_of

TEST_DATABASE_ENV = "PLANECO_TEST_DATABASE"
TEST_SECRET = "test-internal-secret-0123456789abcdef"  # noqa: S105 (tests only)
TEST_IDENTITY_TTL_SECONDS = 4 * 3600


def using_postgres() -> bool:
    return os.environ.get(TEST_DATABASE_ENV, "sqlite").startswith("postgresql")


async def recreate_postgres_database(url: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await connection.close()


def _drop_at_exit(url: str) -> None:
    atexit.register(lambda: asyncio.run(drop_postgres_database(url)))


def fresh_database_url(name: str, tmp_dir: Path) -> str:
    """An empty database for `name` on the selected backend. PostgreSQL databases are named after the
    test process (two runs on one server do not clobber each other) and dropped when it exits."""
    target = os.environ.get(TEST_DATABASE_ENV, "sqlite")
    if target == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_dir / name}.db"
    database = f"planeco_test_{name}_{os.getpid()}"
    url = make_url(target).set(database=database).render_as_string(hide_password=False)
    asyncio.run(recreate_postgres_database(url))
    _drop_at_exit(url)
    return url


def migrated_database(service: str, service_root: Path, tmp_dir: Path) -> str:
    url = fresh_database_url(service, tmp_dir)
    upgrade(service_root, url)
    return url


@asynccontextmanager
async def isolated(
    app: FastAPI, engine: AsyncEngine, *, http: httpx.AsyncClient | None = None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Give the app a runtime whose sessions are bound to one connection whose outer transaction is
    rolled back at the end; the app's own commits become SAVEPOINT releases (SQLAlchemy's documented
    test recipe). `http`: the client its service clients use (e.g. routed to an in-process upstream)."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        sessionmaker = create_sessionmaker(connection)
        runtime = ServiceRuntime(
            app.state.service_name, app.state.settings, engine=engine, sessionmaker=sessionmaker, http=http
        )
        install_runtime(app, runtime)
        try:
            yield sessionmaker
        finally:
            await runtime.aclose()
            if transaction.is_active:
                await transaction.rollback()


DATA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS data_version (id SMALLINT PRIMARY KEY, version BIGINT NOT NULL)",
    "INSERT INTO data_version (id, version) VALUES (1, 1) ON CONFLICT DO NOTHING",
)


@asynccontextmanager
async def demo_runtime(app: FastAPI, database_url: str, *ddl: str) -> AsyncIterator[ServiceRuntime]:
    """For a demo app of the shared tests: the runtime its lifespan would install, on a database holding
    what every service's migrations create for the read cache (the data version, if not there) and `ddl`."""
    runtime = ServiceRuntime(app.state.service_name, app.state.settings)
    try:
        async with runtime.engine.begin() as connection:
            for statement in (*DATA_VERSION_DDL, *ddl):
                await connection.exec_driver_sql(statement)
        install_runtime(app, runtime)
        yield runtime
    finally:
        await runtime.aclose()


def identity_headers(
    role: Role | str = Role.admin, territory: str | None = None, subject: str | None = None
) -> dict[str, str]:
    """Headers as the gateway would forward them for such a caller."""
    role = Role(role)
    principal = Principal(
        subject=subject or f"test:{role.value}:{territory or 'all'}",
        role=role,
        territory=territory,
        method=AuthMethod.api_key if role is not Role.anonymous else AuthMethod.anonymous,
    )
    # Signed for TEST_IDENTITY_TTL_SECONDS, not a gateway's 120 s: test modules build these headers once, at
    # import, and a slow full run outlives a gateway's token.
    return {IDENTITY_HEADER: encode_identity(principal, TEST_SECRET, ttl_seconds=TEST_IDENTITY_TTL_SECONDS)}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def assert_restore(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    archive_status: int,
    *,
    admin: dict[str, str],
) -> httpx.Response:
    """The restore (`planeco_shared.archive`) of the resource at `url` by the caller `headers`, whose
    DELETE just answered `archive_status`: one who archived it (204) reads it as 404, finds it with
    `include_archived=true` and restores it (200); one who may not archive may not restore either (the
    resource archived by `admin`): the same status. The restore's response."""
    if archive_status == 204:
        assert (await client.get(url, headers=headers)).status_code == 404
        hidden = await client.get(url, params={"include_archived": "true"}, headers=headers)
        expected = 200
    else:
        current = await client.get(url, headers=admin)
        archived = await client.delete(url, headers=admin | {"if-match": current.headers["etag"]})
        assert archived.status_code == 204, archived.text
        hidden = await client.get(url, params={"include_archived": "true"}, headers=admin)
        expected = archive_status
    assert hidden.status_code == 200, hidden.text
    restored = await client.post(f"{url}/restore", headers=headers | {"if-match": hidden.headers["etag"]})
    assert restored.status_code == expected, restored.text
    return restored


def as_requested(url: str, params: dict[str, str]) -> dict[str, Any]:
    """`client.get(**as_requested(url, params))`: the read in the representation `params["format"]`
    names: `json` (or none) is the read itself, any other format its file export (`…/export`)."""
    params = dict(params)
    if params.get("format", "json") == "json":
        params.pop("format", None)
        return {"url": url, "params": params}
    return {"url": url + "/export", "params": params}


def asgi_client(app: Any, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers)


def versioned_client(app: FastAPI, **headers: str) -> httpx.AsyncClient:
    """`asgi_client` that checks the data version around every request (planeco_shared.dataversion):
    a read never changes it; a request that ran a writing statement and succeeded always does, so that
    the next ETag of every cached read changes. Every service's test client is one: each write path the
    suites exercise is checked. Requests must not overlap (one test connection)."""
    before: dict[int, tuple[int, int]] = {}

    async def snapshot(request: httpx.Request) -> None:
        before[id(request)] = (await runtime_of(app).data_version(), WRITES_SEEN.writes)

    async def check(response: httpx.Response) -> None:
        version, writes = before.pop(id(response.request))
        now = await runtime_of(app).data_version()
        method, path = response.request.method, response.request.url.path
        if method in SAFE_METHODS:
            assert now == version, f"{method} {path} changed the data version"
        elif response.status_code < 400 and WRITES_SEEN.writes > writes:
            assert now > version, f"{method} {path} wrote and succeeded but left the data version as it was"

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers=headers,
        event_hooks={"request": [snapshot], "response": [check]},
    )


def service_fixtures(
    service: str, *, create_app: Callable[..., FastAPI], settings_cls: type[Any], service_root: Path
) -> tuple[Any, Any, Any, Any]:
    """The four fixtures a service's conftest exposes: database_url, engine, app, client.

    In a conftest: `database_url, engine, app, client = service_fixtures("levers", ...)`.
    """

    @pytest.fixture(scope="session", name="database_url")
    def database_url_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        yield migrated_database(service, service_root, tmp_path_factory.mktemp(f"db-{service}"))

    @pytest_asyncio.fixture(scope="session", name="engine", loop_scope="session")
    async def engine_fixture(database_url: str) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(database_url)
        yield engine
        await engine.dispose()

    @pytest_asyncio.fixture(name="app", loop_scope="session")
    async def app_fixture(engine: AsyncEngine, database_url: str) -> AsyncIterator[FastAPI]:
        app = create_app(settings_for_tests(settings_cls, database_url))
        async with isolated(app, engine):
            yield app

    @pytest_asyncio.fixture(name="client", loop_scope="session")
    async def client_fixture(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        async with versioned_client(app) as client:
            yield client

    return database_url_fixture, engine_fixture, app_fixture, client_fixture


def settings_for_tests(settings_cls: type[Any], database_url: str, **overrides: Any) -> Any:
    values = {"internal_secret": TEST_SECRET, "environment": "test", "log_json": False} | overrides
    return settings_cls(database_url=database_url, **values)


@asynccontextmanager
async def committing_client(app: FastAPI, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as it runs in production, for tests of concurrent requests: served by uvicorn on loopback,
    its lifespan creating its own engine on its settings' database (no `isolated()`: every request has
    its own connection and session and commits for real). The test deletes what it committed."""
    async with running_server(app) as url, httpx.AsyncClient(base_url=url, headers=headers) as client:
        yield client


async def all_at_once(count: int, send: Callable[[], Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """`count` requests in flight together (httpx opens a connection for each; the server serves them
    concurrently in this event loop)."""
    return list(await asyncio.gather(*(send() for _ in range(count))))


@asynccontextmanager
async def running_server(
    app: Any, *, lifespan: Literal["on", "off"] = "on", http: str | type[Any] = "auto", **config: Any
) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on its own loopback port, in this event loop; yields its base URL.
    `http`: uvicorn's HTTP implementation ("auto": httptools when installed, "h11", or a protocol class);
    `config`: more `uvicorn.Config` options (`timeout_keep_alive`…)."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan=lifespan,
            log_config=None,
            access_log=False,
            http=http,
            **({"server_header": False} | config),
        )
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise the start-up failure
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def unused_port() -> int:
    """A loopback port with nothing listening (for 'service down' cases)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass(frozen=True, slots=True)
class ExportedTable:
    """A CSV or XLSX export read back as an integration would (planeco_shared.tabular writes them)."""

    metadata: dict[str, list[str]]  # name → values, in order (`note` repeats)
    headers: list[str]  # as written: `objective_ktco2e [ktCO2e]`
    rows: list[dict[str, Any]]  # by column name (the header without its unit); empty cells are None


def _column_name(header: str) -> str:
    return header.split(" [", 1)[0]


def read_csv_export(content: bytes) -> ExportedTable:
    """Skip the leading `#` lines (`# name: value` metadata; `"# …"` when quoted as one field), then read
    plain `;` CSV: values stay text."""
    import csv
    import io

    text = content.decode("utf-8")
    assert text.startswith("\ufeff"), "the CSV starts with a byte-order mark"
    lines = io.StringIO(text[1:], newline="")
    metadata: dict[str, list[str]] = {}
    position = 0
    while (line := lines.readline()).startswith(("#", '"#')):
        if line.startswith('"'):
            line = next(csv.reader([line], delimiter=";"))[0]
        name, _, value = line[1:].strip().partition(": ")
        metadata.setdefault(name, []).append(value)
        position = lines.tell()
    lines.seek(position)
    reader = csv.reader(lines, delimiter=";")
    headers = next(reader)
    names = [_column_name(header) for header in headers]
    rows = [{name: value or None for name, value in zip(names, row, strict=True)} for row in reader]
    return ExportedTable(metadata, headers, rows)


def read_xlsx_export(content: bytes) -> ExportedTable:
    """The `data` sheet (numbers come back as int or float) and the `metadata` sheet's name/value rows."""
    import io

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["data", "metadata"], workbook.sheetnames
    data = list(workbook["data"].iter_rows(values_only=True))
    headers = [str(header) for header in data[0]]
    names = [_column_name(header) for header in headers]
    rows = [dict(zip(names, row, strict=True)) for row in data[1:]]
    metadata: dict[str, list[str]] = {}
    for name, value in workbook["metadata"].iter_rows(min_row=2, max_col=2, values_only=True):
        if name is None:
            break
        metadata.setdefault(str(name), []).append(str(value))
    return ExportedTable(metadata, headers, rows)

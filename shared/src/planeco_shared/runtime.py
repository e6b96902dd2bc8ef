"""The service runtime: what one planeco process holds, built once from its settings and used the same
way by the app's lifespan, every CLI command and every job.

    async with ServiceRuntime.open("actions", ActionsSettings()) as runtime:
        async with runtime.transaction() as session: ...
        region = await runtime.levers.get_region("24")   # as the actions service itself

It owns the database engine and session maker, one pooled httpx client for service-to-service calls,
the typed clients of the other services on that client, the resolver of callers' territory scopes
(`planeco_shared.scopes`), and the service principal: the signed identity
this service uses when it calls another on its own behalf (a check it makes, a job it runs), never a
user's. Endpoints reach it through `RuntimeDep` (or `LeversDep`…), never through untyped `app.state`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Self, TypeVar

import httpx
from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from planeco_shared.clients.actions import ActionsClient
from planeco_shared.clients.base import ServiceClient
from planeco_shared.clients.diagnostic import DiagnosticClient
from planeco_shared.clients.levers import LeversClient
from planeco_shared.database import create_engine, create_sessionmaker, transaction
from planeco_shared.dataversion import DataVersionReader, read_data_version
from planeco_shared.identity import Authenticated, AuthMethod, Principal, Role
from planeco_shared.problems import ServiceUnavailable
from planeco_shared.scopes import ScopeResolver
from planeco_shared.settings import ServiceSettings

# Connections kept open per upstream service: enough for a burst of checks without a connect each.
HTTP_POOL_SIZE = 32

ClientT = TypeVar("ClientT", bound=ServiceClient)


def service_principal(service: str) -> Principal:
    """Who a service is when it calls another on its own behalf: a reader (it may read what any
    authenticated caller reads, and write nothing elsewhere), recognisable in logs and audit trails."""
    return Principal(
        subject=f"service:{service}", role=Role.reader, name=f"planeco-{service}", method=AuthMethod.service
    )


def create_http_client(settings: ServiceSettings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(settings.service_timeout, connect=min(2.0, settings.service_timeout))
    limits = httpx.Limits(max_connections=HTTP_POOL_SIZE * 3, max_keepalive_connections=HTTP_POOL_SIZE)
    return httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)


class ServiceRuntime:
    """One per process. `engine`, `sessionmaker` and `http` may be given (tests, a caller that already
    has them); what the runtime creates, it closes."""

    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        *,
        engine: AsyncEngine | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self._owns_engine = engine is None
        self.engine = engine or create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            echo=settings.database_echo,
            application_name=f"planeco-{service}",
        )
        self.sessionmaker = sessionmaker or create_sessionmaker(self.engine)
        self.versions = DataVersionReader(self.engine)
        self._owns_http = http is None
        self.http = http or create_http_client(settings)
        self.principal = service_principal(service)
        urls = settings.service_urls()

        def client(kind: type[ClientT], upstream: str) -> ClientT:
            return kind(
                self.http,
                base_url=urls[upstream],
                internal_secret=settings.internal_secret.get_secret_value(),
                principal=self.principal,
                cache_seconds=settings.service_cache_seconds,
            )

        self.levers = client(LeversClient, "levers")
        self.diagnostic = client(DiagnosticClient, "diagnostic")
        self.actions = client(ActionsClient, "actions")
        self.scopes = ScopeResolver(self.levers)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that writes, in one transaction committed on success (CLI commands and jobs;
        requests use `SessionDep`). On SQLite it waits for its turn to write (`database.transaction`)."""
        async with self.sessionmaker() as session, transaction(session, writes=True):
            yield session

    async def data_version(self) -> int:
        """The service's data version now (`planeco_shared.dataversion`): read on the connection of a
        test's `isolated()` transaction when the sessions are bound to one, else in its own autocommit."""
        bind = self.sessionmaker.kw.get("bind")
        if isinstance(bind, AsyncConnection):
            return await read_data_version(bind)
        return await self.versions.read()

    async def aclose(self) -> None:
        await self.versions.aclose()
        if self._owns_http:
            await self.http.aclose()
        if self._owns_engine:
            await self.engine.dispose()

    @classmethod
    @asynccontextmanager
    async def open(cls, service: str, settings: ServiceSettings, **given: object) -> AsyncIterator[Self]:
        """The runtime for a CLI command or a job: closed on the way out."""
        runtime = cls(service, settings, **given)  # type: ignore[arg-type]
        try:
            yield runtime
        finally:
            await runtime.aclose()


def install_runtime(app: FastAPI, runtime: ServiceRuntime) -> None:
    app.state.runtime = runtime


def runtime_of(app: FastAPI) -> ServiceRuntime:
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, ServiceRuntime):
        raise ServiceUnavailable("The service is starting or stopping")
    return runtime


# `async def`: a plain `def` dependency would be run in the thread pool (see planeco_shared.identity).
async def get_runtime(request: Request) -> ServiceRuntime:
    return runtime_of(request.app)


async def get_levers(request: Request) -> LeversClient:
    return runtime_of(request.app).levers


async def get_scopes(request: Request) -> ScopeResolver:
    return runtime_of(request.app).scopes


async def get_visible_regions(request: Request, principal: Authenticated) -> frozenset[str] | None:
    """The régions whose non-public data the caller may read (None: all): `planeco_shared.scopes`."""
    return await runtime_of(request.app).scopes.visible_regions(principal)


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
LeversDep = Annotated[LeversClient, Depends(get_levers)]
ScopesDep = Annotated[ScopeResolver, Depends(get_scopes)]
VisibleRegions = Annotated[frozenset[str] | None, Depends(get_visible_regions)]

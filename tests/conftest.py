"""Cross-service fixtures: the real service apps served on loopback ports, a real gateway in front of
them, and a local OpenID Connect key server (JWKS) with its own RSA key pair."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from planeco.devstack import load_reference_data
from planeco.mailserver import MailServer, running_mail_server
from planeco_actions.aids.fake.process import running_fake
from planeco_actions.aids.fake.server import DEFAULT_API_KEY
from planeco_actions.app import create_app as create_actions
from planeco_actions.settings import ActionsSettings
from planeco_diagnostic.app import create_app as create_diagnostic
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_gateway.apikeys.service import create_key
from planeco_gateway.app import create_app as create_gateway
from planeco_gateway.settings import GatewaySettings
from planeco_levers.app import create_app as create_levers
from planeco_levers.settings import LeversSettings
from planeco_shared.database import create_engine, create_sessionmaker
from planeco_shared.identity import Role
from planeco_shared.testing import TEST_SECRET, migrated_database, running_server, unused_port

REPO = Path(__file__).resolve().parents[1]
ISSUER = "https://proconnect.test/api/v2"
AUDIENCE = "planeco"
SLOW_SECONDS = 30.0


@dataclass
class IdentityProvider:
    """A local OIDC provider: serves its JWKS over HTTP and signs tokens with its private key."""

    key: rsa.RSAPrivateKey
    kid: str
    jwks_url: str = ""

    def token(self, *, key: rsa.RSAPrivateKey | None = None, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "agent-1",
            "iat": now,
            "exp": now + 300,
            "given_name": "Camille",
            "usual_name": "Martin",
            "email": "camille.martin@loiret.fr",
            "uid": "agent-1",
            "siret": "22450001300016",
        } | claims
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})


def _jwks_app(provider: IdentityProvider) -> Starlette:
    async def jwks(_: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key(), as_dict=True)
        return JSONResponse({"keys": [jwk | {"kid": provider.kid, "use": "sig", "alg": "RS256"}]})

    return Starlette(routes=[Route("/jwks.json", jwks)])


def _slow_app() -> Starlette:
    async def slow(_: Request) -> Response:
        await asyncio.sleep(SLOW_SECONDS)
        return JSONResponse({"late": True})

    return Starlette(routes=[Route("/{path:path}", slow, methods=["GET", "POST"])])


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_provider() -> AsyncIterator[IdentityProvider]:
    provider = IdentityProvider(
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048), kid="test-key-1"
    )
    async with running_server(_jwks_app(provider), lifespan="off") as url:
        provider.jwks_url = f"{url}/jwks.json"
        yield provider


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("gateway-suite")
    return {
        name: migrated_database(f"xs_{name}", REPO / "services" / name, tmp)
        for name in ("levers", "diagnostic", "actions", "gateway")
    }


def _settings(cls: Any, url: str, **extra: Any) -> Any:
    return cls(database_url=url, internal_secret=TEST_SECRET, environment="test", log_json=False, **extra)


@pytest.fixture(scope="session")
def fake_aides_territoires() -> Iterator[str]:
    """The fake Aides-territoires as its own process, with a generated catalogue of 120 aids."""
    with running_fake(unused_port(), aids=120, seed=5, today="2026-06-15") as (url, _process):
        yield url


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    """A real SMTP server on loopback, its own process: where the diagnostic's outbox delivers."""
    with running_mail_server(unused_port(), tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def upstreams(
    databases: dict[str, str], fake_aides_territoires: str, mail_server: MailServer
) -> AsyncIterator[dict[str, str]]:
    """The three services on loopback; the levers service with the real reference data, which actions
    checks what it stores against; actions syncing its aids from the fake Aides-territoires."""
    await load_reference_data(databases["levers"])
    async with running_server(create_levers(_settings(LeversSettings, databases["levers"]))) as levers:
        actions_settings = _settings(
            ActionsSettings,
            databases["actions"],
            levers_url=levers,
            aides_territoires_url=fake_aides_territoires,
            aides_territoires_api_key=SecretStr(DEFAULT_API_KEY),
            aides_territoires_pause=0,
            aides_territoires_attempts=3,
            aides_territoires_backoff=0.001,
        )
        async with (
            running_server(
                create_diagnostic(
                    _settings(
                        DiagnosticSettings,
                        databases["diagnostic"],
                        levers_url=levers,
                        smtp_port=mail_server.port,
                    )
                )
            ) as diagnostic,
            running_server(create_actions(actions_settings)) as actions,
        ):
            yield {"levers": levers, "diagnostic": diagnostic, "actions": actions}


def gateway_settings(
    databases: dict[str, str], provider: IdentityProvider, **overrides: Any
) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": databases["gateway"],
        "internal_secret": TEST_SECRET,
        "environment": "test",
        "log_json": False,
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": provider.jwks_url,
        "cors_origins": ["https://cop.example.fr"],
        # Timeouts are tested on `degraded_gateway`; elsewhere a loaded host must not make a slow read a 504.
        "upstream_timeout": 60.0,
        # The suite's calls all come from 127.0.0.1: limits far above them, except where a test sets its own.
        "rate_limit_anonymous": "100000/minute",
        "rate_limit_authenticated": "100000/minute",
        "rate_limit_failed_auth": "100000/minute",
    }
    return GatewaySettings(**(values | overrides))


@pytest.fixture(scope="session")
def gateway_metrics_url() -> str:
    """The gateway's internal metrics listener (`metrics_port`), apart from its public port."""
    return f"http://127.0.0.1:{unused_port()}/metrics"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway(
    databases: dict[str, str],
    upstreams: dict[str, str],
    identity_provider: IdentityProvider,
    gateway_metrics_url: str,
) -> AsyncIterator[str]:
    metrics_port = int(gateway_metrics_url.rsplit(":", 1)[1].split("/")[0])
    settings = gateway_settings(
        databases,
        identity_provider,
        metrics_host="127.0.0.1",
        metrics_port=metrics_port,
        **upstream_urls(upstreams),
    )
    async with running_server(create_gateway(settings)) as url:
        yield url


def upstream_urls(upstreams: dict[str, str]) -> dict[str, str]:
    """The gateway settings naming each running service: levers_url, diagnostic_url, actions_url."""
    return {f"{service}_url": url for service, url in upstreams.items()}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def degraded_gateway(
    databases: dict[str, str], upstreams: dict[str, str], identity_provider: IdentityProvider
) -> AsyncIterator[str]:
    """levers up, diagnostic down (nothing listens), actions too slow for the 0.5 s upstream timeout."""
    # Its requests still sleep when the suite ends: stop without waiting for them.
    async with running_server(_slow_app(), lifespan="off", timeout_graceful_shutdown=1) as slow:
        settings = gateway_settings(
            databases,
            identity_provider,
            levers_url=upstreams["levers"],
            diagnostic_url=f"http://127.0.0.1:{unused_port()}",
            actions_url=slow,
            upstream_timeout=0.5,
        )
        async with running_server(create_gateway(settings)) as url:
            yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway_without_database(
    databases: dict[str, str], upstreams: dict[str, str], identity_provider: IdentityProvider
) -> AsyncIterator[str]:
    """The services up, the gateway's own database unreachable (nothing listens on its port)."""
    unreachable = f"postgresql+asyncpg://postgres@127.0.0.1:{unused_port()}/gone"
    settings = gateway_settings(
        databases, identity_provider, database_url=unreachable, **upstream_urls(upstreams)
    )
    async with running_server(create_gateway(settings)) as url:
        yield url


KeyMaker = Callable[..., Awaitable[str]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def make_key(databases: dict[str, str]) -> AsyncIterator[KeyMaker]:
    """Issue an API key in the gateway's database, as `planeco auth create-key` does."""
    engine = create_engine(databases["gateway"])
    sessionmaker = create_sessionmaker(engine)

    async def make(role: str = "admin", territory: str | None = None) -> str:
        async with sessionmaker.begin() as session:
            issued = await create_key(
                session,
                role=Role(role),
                territory=territory,
                label=f"test-{uuid.uuid4().hex[:6]}",
                created_by="test",
            )
        return issued.key

    yield make
    await engine.dispose()


SettingsMaker = Callable[..., GatewaySettings]


@pytest.fixture(scope="session")
def make_gateway_settings(
    databases: dict[str, str], upstreams: dict[str, str], identity_provider: IdentityProvider
) -> SettingsMaker:
    """Settings of a gateway in front of the running services, with the test's own overrides."""

    def make(**overrides: Any) -> GatewaySettings:
        return gateway_settings(databases, identity_provider, **(upstream_urls(upstreams) | overrides))

    return make

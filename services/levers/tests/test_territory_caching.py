"""Territory reads are public and rarely change: ETag, Cache-Control and 304 (planeco_shared.caching)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_levers.territories.importer import import_territories
from planeco_shared.database import SessionDep, create_sessionmaker
from planeco_shared.identity import Authenticated
from planeco_shared.testing import identity_headers

ANONYMOUS = identity_headers("anonymous")
CENTRE = identity_headers("coordinator", "24")
REGION = "/api/v1/territories/regions/24"


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def territories(engine: AsyncEngine) -> AsyncIterator[None]:
    async with create_sessionmaker(engine).begin() as session:
        await import_territories(session)  # idempotent: other modules' fixtures may load it too
    yield


async def test_territory_read_carries_etag_and_public_cache_control(client: httpx.AsyncClient) -> None:
    response = await client.get(REGION, headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Centre-Val de Loire"
    assert response.headers["etag"].startswith('"')
    assert response.headers["cache-control"] == "public, max-age=300, must-revalidate"
    # the same representation whoever asks: an authenticated caller gets the same ETag
    assert (await client.get(REGION, headers=CENTRE)).headers["etag"] == response.headers["etag"]


async def test_if_none_match_gets_304_and_a_stale_etag_the_full_read(client: httpx.AsyncClient) -> None:
    etag = (await client.get(REGION, headers=ANONYMOUS)).headers["etag"]

    not_modified = await client.get(REGION, headers=ANONYMOUS | {"if-none-match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["cache-control"].startswith("public")

    other = await client.get(REGION, headers=ANONYMOUS | {"if-none-match": '"not-the-current-one"'})
    assert other.status_code == 200
    assert other.json()["code"] == "24"
    assert other.headers["etag"] == etag


async def test_lists_are_cached_per_representation(client: httpx.AsyncClient) -> None:
    centre = await client.get("/api/v1/territories/departements?region=24", headers=ANONYMOUS)
    bretagne = await client.get("/api/v1/territories/departements?region=53", headers=ANONYMOUS)
    assert centre.status_code == bretagne.status_code == 200
    assert centre.headers["etag"] != bretagne.headers["etag"]
    again = await client.get(
        "/api/v1/territories/departements?region=24",
        headers=ANONYMOUS | {"if-none-match": centre.headers["etag"]},
    )
    assert again.status_code == 304


async def test_unknown_territory_is_not_cached(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/territories/regions/99", headers=ANONYMOUS | {"if-none-match": "*"})
    assert response.status_code == 404
    assert "etag" not in response.headers
    assert "cache-control" not in response.headers


async def test_an_authenticated_read_gets_no_public_caching(app: FastAPI, client: httpx.AsyncClient) -> None:
    # Any levers route that does not opt in behaves like this one: no ETag, never `public`.
    probe = APIRouter()

    @probe.get("/api/v1/-probe/private")
    async def private_read(session: SessionDep, principal: Authenticated) -> dict[str, str]:
        return {"subject": principal.subject}

    app.include_router(probe)
    response = await client.get("/api/v1/-probe/private", headers=CENTRE | {"if-none-match": "*"})
    assert response.status_code == 200
    assert "public" not in response.headers.get("cache-control", "")
    assert "etag" not in response.headers

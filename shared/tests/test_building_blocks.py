"""Shared building blocks on a small app: problems for every failure, request ids, settings refusals."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ValidationError

from planeco_shared.app_factory import create_service_app
from planeco_shared.identity import (
    IDENTITY_TTL_SECONDS,
    Authenticated,
    IdentityVerifier,
    Principal,
    RequireRole,
    Role,
    decode_identity,
    encode_identity,
)
from planeco_shared.pagination import MAX_PAGE_SIZE, Page, PageDep
from planeco_shared.problems import Unauthorized
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import TEST_SECRET, asgi_client, identity_headers

router = APIRouter(prefix="/things")


class Thing(BaseModel):
    size: int


@router.post("")
async def create_thing(thing: Thing, _: Authenticated) -> Thing:
    return thing


@router.get("")
async def list_things(page: PageDep) -> Page[int]:
    return Page(items=[], total=0, page=page.page, page_size=page.page_size)


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("SELECT secret FROM users -- must never reach the client")


@router.delete("/{thing_id}")
async def delete_thing(thing_id: int, _: Principal = Depends(RequireRole(Role.coordinator))) -> None:
    return None


def make_app() -> object:
    settings = ServiceSettings(
        internal_secret=TEST_SECRET, environment="test", database_url="sqlite+aiosqlite://"
    )
    return create_service_app(
        name="demo", title="demo", description="demo", settings=settings, routers=[router]
    )


async def test_unknown_route_and_method_are_problems() -> None:
    async with asgi_client(make_app()) as client:
        missing = await client.get("/api/v1/nowhere")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "not-found"
        wrong_method = await client.put("/api/v1/things")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["code"] == "method-not-allowed"
        assert wrong_method.headers["allow"] == "GET, HEAD, POST"  # every route of the path, not the first
        assert (await client.patch("/api/v1/things/3")).headers["allow"] == "DELETE"


async def test_unexpected_errors_are_opaque_500_problems() -> None:
    # Starlette re-raises after sending the 500 (so the server logs it); the client only sees the response.
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/v1/things/boom", headers={"x-request-id": "abc-123"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal-error"
    assert body["request_id"] == "abc-123"
    assert "SELECT" not in response.text


async def test_validation_errors_do_not_echo_input() -> None:
    async with asgi_client(make_app()) as client:
        response = await client.post(
            "/api/v1/things", json={"size": "secret-value"}, headers=identity_headers()
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "size"]
    assert "secret-value" not in response.text


async def test_request_id_generated_when_absent_or_unsafe() -> None:
    async with asgi_client(make_app()) as client:
        generated = await client.get("/api/v1/things")
        unsafe = await client.get("/api/v1/things", headers={"x-request-id": "bad id\twith spaces"})
    assert len(generated.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


async def test_pagination_is_bounded() -> None:
    async with asgi_client(make_app()) as client:
        ok = await client.get("/api/v1/things", params={"page_size": MAX_PAGE_SIZE})
        too_big = await client.get("/api/v1/things", params={"page_size": MAX_PAGE_SIZE + 1})
    assert ok.json() == {"items": [], "total": 0, "page": 1, "page_size": MAX_PAGE_SIZE}
    assert too_big.status_code == 422


async def test_roles_are_enforced() -> None:
    async with asgi_client(make_app()) as client:
        assert (
            await client.delete("/api/v1/things/1", headers=identity_headers("reader"))
        ).status_code == 403
        assert (
            await client.delete("/api/v1/things/1", headers=identity_headers("coordinator", "24"))
        ).status_code == 200
        assert (await client.delete("/api/v1/things/1", headers=identity_headers("admin"))).status_code == 200
        assert (
            await client.delete("/api/v1/things/1", headers=identity_headers("anonymous"))
        ).status_code == 401


def test_identity_tokens_are_verified() -> None:
    principal = Principal(subject="s", role=Role.coordinator, territory="24")
    assert decode_identity(encode_identity(principal, TEST_SECRET), TEST_SECRET) == principal
    with pytest.raises(Unauthorized):
        decode_identity(encode_identity(principal, TEST_SECRET), "another-secret-of-sufficient-length!!")
    with pytest.raises(Unauthorized):
        decode_identity(encode_identity(principal, TEST_SECRET, now=0), TEST_SECRET)  # expired long ago


def test_verified_identities_are_reused_until_they_expire() -> None:
    principal = Principal(subject="s", role=Role.contributor, territory="200054781")
    verifier = IdentityVerifier(TEST_SECRET)
    issued = time.time()
    token = encode_identity(principal, TEST_SECRET, now=issued)
    assert verifier.verify(token) == principal
    assert verifier.verify(token, now=issued + IDENTITY_TTL_SECONDS) == principal  # cached, within leeway
    with pytest.raises(Unauthorized):
        verifier.verify(token, now=issued + IDENTITY_TTL_SECONDS + IdentityVerifier.LEEWAY_SECONDS + 1)
    late = IdentityVerifier(TEST_SECRET)  # a first sight after expiry is refused, as a later one
    with pytest.raises(Unauthorized):
        late.verify(token, now=issued + IDENTITY_TTL_SECONDS + IdentityVerifier.LEEWAY_SECONDS + 1)
    assert late.verify(token, now=issued + 1) == principal  # the refusal was not cached either
    forged = encode_identity(principal, "another-secret-of-sufficient-length!!", now=issued)
    for _ in range(2):  # a refused token is never cached
        with pytest.raises(Unauthorized):
            verifier.verify(forged)


@pytest.mark.parametrize("secret", ["dev-internal-secret-not-for-production", "changeme", "short"])
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="internal_secret"):
        ServiceSettings(environment="production", internal_secret=secret)
    ServiceSettings(environment="development", internal_secret=secret)


def test_production_accepts_a_real_secret() -> None:
    settings = ServiceSettings(environment="production", internal_secret="x" * 40)
    assert settings.environment == "production"

"""Conditional GETs of public reads (planeco_shared.caching) on a small app built like a service."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from planeco_shared.app_factory import create_service_app
from planeco_shared.caching import PublicCacheDep, if_none_match_matches, public_cache
from planeco_shared.identity import PUBLIC, AnyCaller, Authenticated
from planeco_shared.problems import NotFound
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import TEST_SECRET, asgi_client, identity_headers

ANONYMOUS = identity_headers("anonymous")
ADMIN = identity_headers("admin")
COLOURS = {"1": "vert", "2": "bleu"}


def build(*routers: APIRouter) -> FastAPI:
    settings = ServiceSettings(
        database_url="sqlite+aiosqlite:///:memory:", internal_secret=TEST_SECRET, log_json=False
    )
    return create_service_app(
        name="demo", title="demo", description="demo", settings=settings, routers=routers
    )


router = APIRouter(prefix="/colours")


@router.get("/{key}", openapi_extra=PUBLIC, dependencies=[public_cache(max_age=60)])
async def public_colour(key: str, _caller: AnyCaller) -> dict[str, str]:
    if key not in COLOURS:
        raise NotFound(f"No colour {key}")
    return {"key": key, "name": COLOURS[key]}


@router.get("/-/streamed", openapi_extra=PUBLIC, dependencies=[public_cache()])
async def streamed(_caller: AnyCaller) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"[", b'"vert",', b'"bleu"', b"]"):
            yield part

    return StreamingResponse(chunks(), media_type="application/json")


@router.get("/-/versioned", openapi_extra=PUBLIC)
async def versioned(cache: PublicCacheDep, _caller: AnyCaller) -> dict[str, int]:
    cache.use_version(7)
    return {"version": 7}


@router.get("/-/cookie", openapi_extra=PUBLIC, dependencies=[public_cache()])
async def with_cookie(_caller: AnyCaller) -> JSONResponse:
    response = JSONResponse({"ok": True})
    response.set_cookie("session", "x")
    return response


@router.get("/-/private")
async def private(_caller: Authenticated) -> dict[str, str]:
    return {"secret": "yes"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return build(router)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as client:
        yield client


async def test_public_read_has_a_strong_etag_and_public_cache_control(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/colours/1", headers=ANONYMOUS)
    assert first.status_code == 200
    assert first.json() == {"key": "1", "name": "vert"}
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=60, must-revalidate"
    again = await client.get("/api/v1/colours/1", headers=ADMIN)  # the caller does not change it
    assert again.headers["etag"] == etag
    other = await client.get("/api/v1/colours/2", headers=ANONYMOUS)
    assert other.headers["etag"] != etag


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "W/{etag}", '"other", {etag}', '  "a" ,, W/"b",{etag} ', "*"],
)
async def test_matching_if_none_match_gets_304_without_body(
    client: httpx.AsyncClient, if_none_match: str
) -> None:
    etag = (await client.get("/api/v1/colours/1", headers=ANONYMOUS)).headers["etag"]
    response = await client.get(
        "/api/v1/colours/1", headers=ANONYMOUS | {"if-none-match": if_none_match.format(etag=etag)}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=60, must-revalidate"
    assert "content-type" not in response.headers
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("if_none_match", ['"stale"', 'W/"stale", "older"', "not-an-etag", '""'])
async def test_other_etags_get_the_full_response(client: httpx.AsyncClient, if_none_match: str) -> None:
    response = await client.get("/api/v1/colours/2", headers=ANONYMOUS | {"if-none-match": if_none_match})
    assert response.status_code == 200
    assert response.json() == {"key": "2", "name": "bleu"}
    assert response.headers["etag"]


async def test_errors_of_a_public_read_are_not_cached(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/colours/9", headers=ANONYMOUS | {"if-none-match": "*"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "etag" not in response.headers
    assert "cache-control" not in response.headers


async def test_private_reads_get_no_public_caching(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/colours/-/private", headers=ADMIN | {"if-none-match": "*"})
    assert response.status_code == 200
    assert "public" not in response.headers.get("cache-control", "")
    assert "etag" not in response.headers


async def test_streamed_body_is_hashed_whole(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/colours/-/streamed", headers=ANONYMOUS)
    assert first.json() == ["vert", "bleu"]
    response = await client.get(
        "/api/v1/colours/-/streamed", headers=ANONYMOUS | {"if-none-match": first.headers["etag"]}
    )
    assert response.status_code == 304


async def test_version_token_gives_the_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/colours/-/versioned", headers=ANONYMOUS)
    assert first.json() == {"version": 7}
    assert first.headers["etag"].startswith('"v')
    assert first.headers["cache-control"] == "public, max-age=300, must-revalidate"
    response = await client.get(
        "/api/v1/colours/-/versioned", headers=ANONYMOUS | {"if-none-match": first.headers["etag"]}
    )
    assert response.status_code == 304


async def test_responses_setting_a_cookie_are_left_alone(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/colours/-/cookie", headers=ANONYMOUS | {"if-none-match": "*"})
    assert response.status_code == 200
    assert "cache-control" not in response.headers


async def test_public_reads_still_need_the_gateway(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/colours/1")
    assert response.status_code == 401
    assert "etag" not in response.headers


def test_public_cache_on_a_non_public_route_refuses_to_start() -> None:
    wrong = APIRouter()

    @wrong.get("/mine", dependencies=[public_cache()])
    async def mine(_caller: Authenticated) -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/api/v1/mine"):
        build(wrong)


def test_public_cache_on_a_write_refuses_to_start() -> None:
    wrong = APIRouter(dependencies=[public_cache()])

    @wrong.post("/things", openapi_extra=PUBLIC)
    async def create(_caller: AnyCaller) -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="POST"):
        build(wrong)


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (b'"abc"', True),
        (b'W/"abc"', True),
        (b'"x", "abc"', True),
        (b'"x","y"', False),
        (b"*", True),
        (b" * ", True),
        (b'"ab"c"', False),
        (b"abc", False),
        (b"", False),
        (b'"x", garbage, "abc"', False),  # malformed: the full response is the safe answer
    ],
)
def test_if_none_match_parsing(header: bytes, matches: bool) -> None:
    assert if_none_match_matches(header, b'"abc"') is matches

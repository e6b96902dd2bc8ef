"""Uploads sent as the request body: media type checked, size bounded, problems otherwise."""

from __future__ import annotations

from fastapi import APIRouter, Request

from planeco_shared.app_factory import create_service_app
from planeco_shared.settings import ServiceSettings
from planeco_shared.testing import TEST_SECRET, asgi_client
from planeco_shared.uploads import CSV_MEDIA_TYPES, JSON_MEDIA_TYPES, read_upload

router = APIRouter()


@router.post("/csv")
async def upload_csv(request: Request) -> dict[str, int]:
    content = await read_upload(request, media_types=CSV_MEDIA_TYPES, max_bytes=10, what="the CSV")
    return {"size": len(content)}


@router.post("/json")
async def upload_json(request: Request) -> dict[str, int]:
    content = await read_upload(request, media_types=JSON_MEDIA_TYPES, max_bytes=100, what="a file")
    return {"size": len(content)}


def make_app() -> object:
    settings = ServiceSettings(
        internal_secret=TEST_SECRET, environment="test", database_url="sqlite+aiosqlite://"
    )
    return create_service_app(name="up", title="up", description="up", settings=settings, routers=[router])


async def test_accepted_media_types_and_sizes() -> None:
    async with asgi_client(make_app()) as client:
        ok = await client.post(
            "/api/v1/csv", content=b"a;b\n1;2\n", headers={"content-type": "text/csv; charset=utf-8"}
        )
        assert ok.json() == {"size": 8}
        vendor_json = await client.post(
            "/api/v1/json", content=b"[]", headers={"content-type": "application/vnd.x+json"}
        )
        assert vendor_json.json() == {"size": 2}


async def test_wrong_media_type_is_415_and_too_large_is_413() -> None:
    async with asgi_client(make_app()) as client:
        wrong = await client.post("/api/v1/csv", content=b"{}", headers={"content-type": "application/json"})
        assert wrong.status_code == 415
        assert wrong.json()["code"] == "unsupported-media-type"
        big = await client.post("/api/v1/csv", content=b"x" * 11, headers={"content-type": "text/csv"})
        assert big.status_code == 413
        assert big.json()["code"] == "payload-too-large"
        assert "10 bytes" in big.json()["detail"]


async def test_size_is_enforced_without_a_content_length() -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield b"xxxx"

    async with asgi_client(make_app()) as client:
        streamed = await client.post("/api/v1/csv", content=chunks(), headers={"content-type": "text/csv"})
    assert streamed.status_code == 413

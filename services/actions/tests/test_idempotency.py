"""POST /actions with Idempotency-Key (planeco_shared.idempotency): a retry replays, never creates twice."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from planeco_shared import idempotency
from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
HEDGES = {
    "title": "Plan régional de plantation de haies",
    "territory": {"level": "region", "code": "24"},
    "lever_id": "augm_haies",
}


async def post(
    client: httpx.AsyncClient, key: str, headers: dict[str, str] = CENTRE, **overrides: object
) -> httpx.Response:
    return await client.post(
        "/api/v1/actions", json=HEDGES | overrides, headers=headers | {"idempotency-key": key}
    )


async def total(client: httpx.AsyncClient) -> int:
    count: int = (await client.get("/api/v1/actions", headers=ADMIN)).json()["total"]
    return count


async def test_a_retry_replays_the_first_response_and_creates_nothing(client: httpx.AsyncClient) -> None:
    first = await post(client, "retry-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await post(client, "retry-1")
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    for name in ("location", "etag", "content-type"):
        assert again.headers[name] == first.headers[name]
    assert again.content == first.content
    assert await total(client) == 1


async def test_the_same_key_with_another_body_is_a_422_and_creates_nothing(client: httpx.AsyncClient) -> None:
    assert (await post(client, "retry-2")).status_code == 201
    other = await post(client, "retry-2", title="Autre action")
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency-key-reused"
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await total(client) == 1


async def test_keys_are_the_callers_own(client: httpx.AsyncClient) -> None:
    mine = await post(client, "shared-key")
    theirs = await post(
        client, "shared-key", headers=identity_headers("coordinator", "24", subject="test:other")
    )
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert await total(client) == 2


async def test_a_failed_create_stores_nothing_so_a_corrected_retry_creates(client: httpx.AsyncClient) -> None:
    failed = await post(client, "fix-me", headers=ADMIN, region="99")  # no such région
    assert failed.status_code == 422
    assert failed.json()["errors"][0]["loc"] == ["body", "region"]
    fixed = await post(client, "fix-me", headers=ADMIN)
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert await total(client) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "a\tb"])
async def test_an_invalid_key_is_a_400_naming_the_header(client: httpx.AsyncClient, key: str) -> None:
    headers = {name.encode(): value.encode() for name, value in CENTRE.items()}
    response = await client.post(
        "/api/v1/actions", json=HEDGES, headers=headers | {b"idempotency-key": key.encode()}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "Idempotency-Key" in response.json()["detail"]
    assert await total(client) == 0


async def test_two_keys_headers_are_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/actions",
        json=HEDGES,
        headers=[*CENTRE.items(), ("idempotency-key", "a"), ("idempotency-key", "b")],
    )
    assert response.status_code == 400


async def test_without_a_key_each_post_creates(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.post("/api/v1/actions", json=HEDGES, headers=CENTRE)).status_code == 201
    assert await total(client) == 2


async def test_an_expired_key_is_forgotten(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await post(client, "old")
    later = dt.datetime.now(dt.UTC) + idempotency.LIFETIME + dt.timedelta(minutes=1)
    monkeypatch.setattr(idempotency, "utcnow", lambda: later)
    again = await post(client, "old", title="Une autre action, un jour plus tard")
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert (await post(client, "old", title="Une autre action, un jour plus tard")).headers[
        "idempotent-replayed"
    ] == "true"

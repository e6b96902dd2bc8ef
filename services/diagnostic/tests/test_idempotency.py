"""POST /questionnaires with Idempotency-Key (planeco_shared.idempotency)."""

from __future__ import annotations

import httpx

from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
URL = "/api/v1/questionnaires"


async def total(client: httpx.AsyncClient) -> int:
    count: int = (await client.get(URL, headers=ADMIN)).json()["total"]
    return count


async def test_a_retry_replays_and_another_body_is_a_422(client: httpx.AsyncClient) -> None:
    body = {"title": "Diagnostic 24", "owner": {"level": "region", "code": "24"}}
    headers = CENTRE | {"idempotency-key": "q-1"}
    first = await client.post(URL, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post(URL, json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.headers["location"], again.headers["etag"]) == (
        first.headers["location"],
        first.headers["etag"],
    )
    assert again.content == first.content
    reused = await client.post(URL, json=body | {"title": "Autre"}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency-key-reused"
    other = await client.post(
        URL,
        json=body,
        headers=identity_headers("coordinator", "24", subject="t:b") | {"idempotency-key": "q-1"},
    )
    assert other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert await total(client) == 2


async def test_a_refused_create_stores_nothing(client: httpx.AsyncClient) -> None:
    headers = CENTRE | {"idempotency-key": "q-2"}
    refused = await client.post(
        URL, json={"title": "Diagnostic", "owner": {"level": "region", "code": "76"}}, headers=headers
    )
    assert refused.status_code == 403
    fixed = await client.post(
        URL, json={"title": "Diagnostic", "owner": {"level": "region", "code": "24"}}, headers=headers
    )
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert await total(client) == 1


async def test_an_invalid_key_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        URL,
        json={"title": "Diagnostic", "owner": {"level": "region", "code": "24"}},
        headers=CENTRE | {"idempotency-key": ""},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await total(client) == 0

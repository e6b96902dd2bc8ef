"""Questionnaire templates' metadata: national ones for admins, a territory's own for its coordinators."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_diagnostic.db import AuditEntry
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
BRETAGNE = identity_headers("coordinator", "53")


async def test_only_admins_create_national_templates(client: httpx.AsyncClient) -> None:
    body = {"title": "Questionnaire national 2025", "respondent_types": ["epci", "commune"]}
    refused = await client.post("/api/v1/questionnaires", json=body, headers=CENTRE)
    assert refused.status_code == 403
    created = await client.post("/api/v1/questionnaires", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["owner"] is None
    assert created.json()["edition"] == 1 and created.json()["lineage_id"] == created.json()["id"]
    assert created.json()["status"] == "draft"
    assert created.json()["respondent_types"] == ["epci", "commune"]


async def test_coordinator_manages_their_region_template_only(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/questionnaires",
        json={"title": "Diagnostic Centre-Val de Loire", "owner": {"level": "region", "code": "24"}},
        headers=CENTRE,
    )
    assert created.status_code == 201
    template = created.json()
    assert template["respondent_types"] == ["region", "departement", "epci", "commune"]
    url = f"/api/v1/questionnaires/{template['id']}"

    foreign = await client.patch(
        url, json={"status": "archived"}, headers=BRETAGNE | {"if-match": created.headers["etag"]}
    )
    assert foreign.status_code == 403
    # The scope comes before the precondition: no If-Match, or a stale one, is still a 403.
    for extra in ({}, {"if-match": '"stale"'}):
        assert (await client.patch(url, json={"title": "Autre"}, headers=BRETAGNE | extra)).status_code == 403

    empty = await client.patch(
        url, json={"status": "published"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert empty.status_code == 422  # nothing to publish yet
    published = await client.patch(
        url, json={"title": "Diagnostic du Centre"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert published.status_code == 200
    assert published.json()["title"] == "Diagnostic du Centre"
    assert published.json()["revision"] == 2

    stale = await client.patch(
        url, json={"title": "Autre titre"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert stale.status_code == 412
    assert stale.headers["etag"] == published.headers["etag"]  # what to re-read
    weak = await client.patch(
        url, json={"title": "Autre titre"}, headers=CENTRE | {"if-match": "W/" + published.headers["etag"]}
    )
    assert weak.status_code == 412  # RFC 9110: If-Match compares strongly
    assert (await client.get(url, headers=BRETAGNE)).json()["title"] == "Diagnostic du Centre"


async def test_null_is_refused_for_every_field_of_a_template(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/questionnaires",
        json={"title": "Diagnostic", "owner": {"level": "region", "code": "24"}},
        headers=CENTRE,
    )
    url, etag = f"/api/v1/questionnaires/{created.json()['id']}", created.headers["etag"]
    for field in ("title", "description", "status"):
        refused = await client.patch(url, json={field: None}, headers=CENTRE | {"if-match": etag})
        assert refused.status_code == 422, refused.text
        assert [e["loc"] for e in refused.json()["errors"]] == [["body", field]]
    assert (await client.get(url, headers=CENTRE)).json() == created.json()


async def test_writes_are_audited(client: httpx.AsyncClient, app: object) -> None:
    created = await client.post(
        "/api/v1/questionnaires",
        json={"title": "Diagnostic 24", "owner": {"level": "region", "code": "24"}},
        headers=CENTRE,
    )
    await client.patch(
        f"/api/v1/questionnaires/{created.json()['id']}",
        json={"title": "Diagnostic partagé 24"},
        headers=CENTRE | {"if-match": created.headers["etag"], "x-request-id": "req-audit-1"},
    )
    sessionmaker = runtime_of(app).sessionmaker
    async with sessionmaker() as session:
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.occurred_at))).scalars().all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].actor == "test:coordinator:24"
    assert entries[1].changes == {"title": {"old": "Diagnostic 24", "new": "Diagnostic partagé 24"}}
    assert entries[1].request_id == "req-audit-1"


async def test_validation_and_filters(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    bad = await client.post(
        "/api/v1/questionnaires",
        json={"title": "x", "owner": {"level": "region", "code": "2A"}, "respondent_types": []},
        headers=ADMIN,
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {
        ("body", "title"),
        ("body", "owner"),
        ("body", "respondent_types"),
    }
    owners = [
        ("region", "24"),
        ("region", "24"),
        ("region", "53"),
        ("departement", "45"),
        ("departement", "24"),
    ]
    for level, code in owners:
        created = await client.post(
            "/api/v1/questionnaires",
            json={"title": f"Diagnostic {level} {code}", "owner": {"level": level, "code": code}},
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
    national = await client.post(
        "/api/v1/questionnaires", json={"title": "Diagnostic national"}, headers=ADMIN
    )

    async def listed(**params: str) -> list[dict[str, str] | None]:
        answer = await client.get("/api/v1/questionnaires", params=params, headers=CENTRE)
        assert answer.status_code == 200, answer.text
        return [q["owner"] for q in answer.json()["items"]]

    assert await listed(owner_level="region", owner_code="24") == [{"level": "region", "code": "24"}] * 2
    assert await listed(owner_code="24") == [
        {"level": "departement", "code": "24"},  # Dordogne: the département 24, not the région
        {"level": "region", "code": "24"},
        {"level": "region", "code": "24"},
    ]
    assert await listed(owner_level="departement") == [
        {"level": "departement", "code": "24"},
        {"level": "departement", "code": "45"},
    ]
    assert await listed(owner_level="nation") == [None]
    assert await listed(owner_level="departement", page="2", page_size="1") == [
        {"level": "departement", "code": "45"}
    ]
    twice = await client.post(
        "/api/v1/questionnaires",
        json={"title": "Diagnostic", "respondent_types": ["epci", "epci"]},
        headers=ADMIN,
    )
    assert [e["loc"] for e in twice.json()["errors"]] == [["body", "respondent_types", 1]]
    assert await listed(lineage_id=national.json()["lineage_id"]) == [None]
    assert (
        await client.get("/api/v1/questionnaires", params={"status": "bogus"}, headers=CENTRE)
    ).status_code == 422
    assert (await client.get("/api/v1/questionnaires", params={"page": 0}, headers=CENTRE)).status_code == 422


async def test_delete_archives_a_template_and_restore_brings_it_back(
    client: httpx.AsyncClient, app: object
) -> None:
    created = await client.post(
        "/api/v1/questionnaires",
        json={"title": "Diagnostic Centre-Val de Loire", "owner": {"level": "region", "code": "24"}},
        headers=CENTRE,
    )
    url = f"/api/v1/questionnaires/{created.json()['id']}"
    assert (await client.delete(url, headers=CENTRE)).status_code == 428
    assert (await client.delete(url, headers=BRETAGNE)).status_code == 403  # scope before precondition
    deleted = await client.delete(url, headers=CENTRE | {"if-match": created.headers["etag"]})
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(url, headers=BRETAGNE)).status_code == 404
    assert (await client.get("/api/v1/questionnaires", headers=CENTRE)).json()["total"] == 0
    seen = await client.get(url, params={"include_archived": "true"}, headers=CENTRE)
    assert seen.status_code == 200 and seen.json()["archived_at"] is not None
    restored = await client.post(url + "/restore", headers=CENTRE | {"if-match": seen.headers["etag"]})
    assert restored.status_code == 200, restored.text
    assert (await client.get(url, headers=BRETAGNE)).json()["archived_at"] is None
    async with runtime_of(app).sessionmaker() as session:  # type: ignore[arg-type]
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.occurred_at))).scalars()
        assert [e.action for e in entries] == ["create", "archive", "restore"]

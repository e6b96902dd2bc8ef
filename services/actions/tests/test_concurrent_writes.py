"""Fifty clients change one action at once, all from the same ETag: one wins, the others are told it
changed (412), on SQLite as on PostgreSQL; none is a 500 or a 503, none overwrites the winner."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_actions.actions.models import Action
from planeco_actions.app import create_app
from planeco_actions.db import AuditEntry, IdempotencyKey
from planeco_actions.settings import ActionsSettings
from planeco_shared.database import create_sessionmaker
from planeco_shared.testing import all_at_once, committing_client, identity_headers, settings_for_tests

CENTRE = identity_headers("coordinator", "24")
CLIENTS = 50


async def test_fifty_patches_from_one_etag_give_one_200_and_49_412(
    database_url: str, engine: AsyncEngine, levers_url: str
) -> None:
    app = create_app(settings_for_tests(ActionsSettings, database_url, levers_url=levers_url))
    action_id: str | None = None
    try:
        async with committing_client(app, **CENTRE) as client:
            created = await client.post(
                "/api/v1/actions",
                json={
                    "title": "Plan régional de plantation de haies",
                    "territory": {"level": "region", "code": "24"},
                    "lever_id": "augm_haies",
                },
            )
            assert created.status_code == 201, created.text
            action_id = created.json()["id"]
            url, first_etag = created.headers["location"], created.headers["etag"]
            titles = iter(f"Haies, proposition {n}" for n in range(CLIENTS))

            async def patch() -> httpx.Response:
                return await client.patch(url, json={"title": next(titles)}, headers={"if-match": first_etag})

            responses = await all_at_once(CLIENTS, patch)

            assert Counter(r.status_code for r in responses) == {200: 1, 412: CLIENTS - 1}, [
                r.text for r in responses if r.status_code not in (200, 412)
            ]
            assert {r.json()["code"] for r in responses if r.status_code == 412} == {"precondition-failed"}
            (winner,) = (r for r in responses if r.status_code == 200)
            read = await client.get(url)
            assert read.json()["revision"] == 2
            assert read.json()["title"] == winner.json()["title"]
            history = await client.get(f"{url}/history")
            assert [entry["action"] for entry in history.json()["items"]].count("update") == 1
    finally:
        if action_id is not None:
            async with create_sessionmaker(engine).begin() as session:
                await session.execute(delete(AuditEntry).where(AuditEntry.entity_id == action_id))
                await session.execute(delete(Action).where(Action.id == uuid.UUID(action_id)))


async def test_ten_creates_with_one_idempotency_key_create_one_action(
    database_url: str, engine: AsyncEngine, levers_url: str
) -> None:
    """SQLite queues the writers, so the nine others replay the first's response; on PostgreSQL those that
    ran alongside it fail on the key's unique constraint (409) and those after it replay. Never two."""
    app = create_app(settings_for_tests(ActionsSettings, database_url, levers_url=levers_url))
    key = str(uuid.uuid4())
    title = f"Haies, création unique {key}"
    body = {"title": title, "territory": {"level": "region", "code": "24"}, "lever_id": "augm_haies"}
    try:
        async with committing_client(app, **CENTRE) as client:

            async def create() -> httpx.Response:
                return await client.post("/api/v1/actions", json=body, headers={"idempotency-key": key})

            responses = await all_at_once(10, create)

        statuses = Counter(r.status_code for r in responses)
        assert set(statuses) <= {201, 409}, [r.text for r in responses]
        if database_url.startswith("sqlite"):
            assert statuses == {201: 10}
        assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"idempotency-key-in-use"}
        created = [r for r in responses if r.status_code == 201]
        assert [r.headers.get("idempotent-replayed") for r in created].count(None) == 1
        assert {r.content for r in created} == {created[0].content}
        async with create_sessionmaker(engine)() as session:
            assert await session.scalar(select(func.count()).where(Action.title == title)) == 1
    finally:
        async with create_sessionmaker(engine).begin() as session:
            ids = [
                str(i) for i in (await session.scalars(select(Action.id).where(Action.title == title))).all()
            ]
            await session.execute(delete(AuditEntry).where(AuditEntry.entity_id.in_(ids)))
            await session.execute(delete(Action).where(Action.title == title))
            await session.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key))

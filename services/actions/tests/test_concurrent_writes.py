"""Fifty clients change one action at once, all from the same ETag: one wins, the others are told it
changed (412), on SQLite as on PostgreSQL; none is a 500 or a 503, none overwrites the winner."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_actions.actions.models import Action
from planeco_actions.app import create_app
from planeco_actions.db import AuditEntry
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
                    "region": "24",
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

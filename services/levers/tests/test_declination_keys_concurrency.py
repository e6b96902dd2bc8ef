"""Fifty coordinators replace one declination key at once, all from the same ETag: one wins, the others
are told it changed (412), on SQLite as on PostgreSQL; none is a 500 or a 503, none overwrites the winner."""

from __future__ import annotations

from collections import Counter

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_levers.app import create_app
from planeco_levers.db import AuditEntry
from planeco_levers.declination.models import DeclinationKey, DeclinationKeyValue
from planeco_levers.settings import LeversSettings
from planeco_shared.database import create_sessionmaker
from planeco_shared.testing import all_at_once, committing_client, identity_headers, settings_for_tests

CENTRE = identity_headers("coordinator", "24")
KEY = "/api/v1/panoramas/regions/24/declination-keys/augm_haies"
PARAMS = {"level": "departement", "name": "SAU 2020"}
CLIENTS = 50


def sau(hedges_45: int) -> bytes:
    return f"code;value\n18;460000\n28;480000\n36;440000\n37;350000\n41;370000\n45;{hedges_45}\n".encode()


async def test_fifty_replacements_from_one_etag_give_one_200_and_49_412(
    database_url: str, engine: AsyncEngine
) -> None:
    app = create_app(settings_for_tests(LeversSettings, database_url))
    try:
        async with committing_client(app, **CENTRE | {"content-type": "text/csv"}) as client:
            created = await client.put(KEY, params=PARAMS, content=sau(390000))
            assert created.status_code == 201, created.text
            first_etag = created.headers["etag"]
            values = iter(range(400000, 400000 + CLIENTS))

            async def replace() -> httpx.Response:
                return await client.put(
                    KEY, params=PARAMS, content=sau(next(values)), headers={"if-match": first_etag}
                )

            responses = await all_at_once(CLIENTS, replace)

            assert Counter(r.status_code for r in responses) == {200: 1, 412: CLIENTS - 1}, [
                r.text for r in responses if r.status_code not in (200, 412)
            ]
            assert {r.json()["code"] for r in responses if r.status_code == 412} == {"precondition-failed"}
            (winner,) = (r for r in responses if r.status_code == 200)
            read = await client.get(KEY, params={"level": "departement"})
            assert read.json()["version"] == 2
            assert read.json()["values"] == winner.json()["values"]
    finally:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(
                delete(AuditEntry).where(
                    AuditEntry.entity_type == "declination_key",
                    AuditEntry.entity_id == "24/augm_haies/departement",
                )
            )
            for model in (DeclinationKeyValue, DeclinationKey):
                await session.execute(
                    delete(model).where(model.region_code == "24", model.lever_id == "augm_haies")
                )

"""Aids → levers: the shipped default mapping, its edition (admin, If-Match, checked against the real
levers service, audited), and the catalogue's `lever_ids` after a sync and after a change."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from planeco_actions.aids.levers import CompiledRules, default_rules
from planeco_actions.aids.models import Aid
from planeco_actions.jobs import JOBS
from planeco_shared.jobs import JobResult, JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem, identity_headers

ADMIN = identity_headers("admin", subject="apikey:ops")
READER = identity_headers("reader")
COORDINATOR = identity_headers("coordinator", "24")
AIDS = "/api/v1/aids"
MAPPING = f"{AIDS}/lever-mapping"


@pytest.fixture(name="app")
def app_on_the_fake(fake_app: FastAPI) -> FastAPI:
    return fake_app


async def sync(app: FastAPI) -> JobResult:
    return await run_job(runtime_of(app), JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="test")


async def live_aids(app: FastAPI) -> list[Aid]:
    async with runtime_of(app).transaction() as session:
        return list((await session.execute(select(Aid).where(Aid.is_live))).scalars())


async def ids(client: httpx.AsyncClient, **params: Any) -> set[int]:
    response = await client.get(AIDS, params={"page_size": 500, **params}, headers=READER)
    assert response.status_code == 200, response.text
    return {a["id"] for a in response.json()["items"]}


async def test_the_default_covers_every_mainland_lever_of_the_latest_panorama(app: FastAPI) -> None:
    levers = runtime_of(app).levers
    catalogue = await levers.get_json("/api/v1/levers", params={"zone": "metro", "page_size": "500"})
    mainland = {lever["id"] for lever in catalogue["items"]}
    assert len(mainland) == 30 and "augm_vélotc" in mainland
    mapped = {lever_id for rule in default_rules() for lever_id in rule["lever_ids"]}
    assert mapped == mainland


async def test_each_aid_says_which_levers_it_serves_and_why(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sync(app)
    aids = await live_aids(app)
    compiled = CompiledRules(default_rules())
    for aid in aids:
        assert aid.lever_rules == compiled.match(aid.categories, aid.search_text)
    hedges = {a.id for a in aids if "augm_haies" in a.lever_rules}
    assert hedges and await ids(client, lever_id="augm_haies") == hedges
    # Keywords narrow a category: « haies » in a biodiversity aid's text.
    one = next(a for a in aids if "augm_haies" in a.lever_rules)
    assert "haie" in one.search_text
    detail = (await client.get(f"{AIDS}/{one.id}", headers=READER)).json()
    assert "augm_haies" in detail["lever_ids"] and detail["lever_rules"]["augm_haies"]
    assert set(detail["lever_rules"]["augm_haies"]) <= {r["id"] for r in default_rules()}
    bikes = {a.id for a in aids if "augm_vélotc" in a.lever_rules}
    assert bikes and await ids(client, lever_id=["augm_haies", "augm_vélotc"]) == hedges | bikes
    listed = (await client.get(AIDS, params={"lever_id": "augm_haies"}, headers=READER)).json()["items"]
    assert all("augm_haies" in a["lever_ids"] for a in listed)
    assert await ids(client, lever_id="augm_%") == set()  # LIKE wildcards are plain characters
    assert_problem(await client.get(AIDS, params={"lever_id": "a|b"}, headers=READER), 422)


async def test_an_admin_replaces_the_mapping_and_the_catalogue_follows(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sync(app)
    read = await client.get(MAPPING, headers=READER)
    assert read.status_code == 200 and read.headers["etag"] == '"aid-lever-mapping-v0"'
    default = read.json()
    assert (default["source"], default["revision"], default["panorama_version"]) == (
        "default",
        0,
        "2024-07-24",
    )
    support = "Fonctions support / Appui méthodologique"
    rules = [
        {"id": "appui", "category": support, "lever_ids": ["reduc_artif"]},
        {"id": "velo", "category": "mobilité / transports / modes actifs : vélo, marche et aménagements "
         "associés", "keywords": ["pistes"], "lever_ids": ["augm_vélotc"]},
    ]  # fmt: skip
    body = {"rules": rules}
    # Admin only, If-Match required and current.
    assert_problem(await client.put(MAPPING, json=body, headers=COORDINATOR | {"if-match": "*"}), 403)
    stale = await client.put(MAPPING, json=body, headers=ADMIN | {"if-match": '"aid-lever-mapping-v3"'})
    assert_problem(stale, 412)
    assert stale.headers["etag"] == '"aid-lever-mapping-v0"'
    # Lever ids checked against the levers service; rule ids unique; no unknown field.
    unknown = {"rules": [*rules, {"id": "x", "category": support, "lever_ids": ["reduc_rien"]}]}
    refused = await client.put(MAPPING, json=unknown, headers=ADMIN | {"if-match": '"aid-lever-mapping-v0"'})
    assert_problem(refused, 422)
    assert refused.json()["errors"][0]["loc"] == ["body", "rules", 2, "lever_ids", 0]
    twice = {"rules": [rules[0], rules[0]]}
    assert_problem(await client.put(MAPPING, json=twice, headers=ADMIN | {"if-match": "*"}), 422)
    odd = {"rules": [rules[0] | {"why": "no"}]}
    assert_problem(await client.put(MAPPING, json=odd, headers=ADMIN | {"if-match": "*"}), 422)

    saved = await client.put(MAPPING, json=body, headers=ADMIN | {"if-match": '"aid-lever-mapping-v0"'})
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"aid-lever-mapping-v1"'
    assert (saved.json()["source"], saved.json()["revision"], saved.json()["updated_by"]) == (
        "edited",
        1,
        "apikey:ops",
    )
    assert_problem(await client.put(MAPPING, json=body, headers=ADMIN), 428)  # now that one is saved
    again = await client.put(MAPPING, json=body, headers=ADMIN | {"if-match": '"aid-lever-mapping-v0"'})
    assert_problem(again, 412)
    aids = await live_aids(app)
    supported = {a.id for a in aids if support in a.categories}
    assert supported and await ids(client, lever_id="reduc_artif") == supported
    assert all(a.lever_rules.get("reduc_artif") == ["appui"] for a in aids if a.id in supported)
    cycling = {a.id for a in aids if "augm_vélotc" in a.lever_rules}
    assert cycling and all("pistes" in a.search_text for a in aids if a.id in cycling)
    assert await ids(client, lever_id="augm_haies") == set()  # no rule gives it any more
    # A sync leaves the edited mapping's levers as they are: nothing to write.
    version = await runtime_of(app).data_version()
    await sync(app)
    assert await runtime_of(app).data_version() == version

    history = (await client.get(f"{MAPPING}/history", headers=READER)).json()
    [entry] = history["items"]
    assert (entry["actor"], entry["action"]) == ("apikey:ops", "update")
    [change] = entry["changes"]
    assert change["field"] == "rules" and change["new"][0]["id"] == "appui"
    assert len(change["old"]) == len(default["rules"])

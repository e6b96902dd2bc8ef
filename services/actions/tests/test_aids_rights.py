"""Who reads the aids catalogue and who changes it: every authenticated caller reads the catalogue, its sync
runs and the lever mapping with its history; admins alone start a sync and replace the mapping; an action's
funding is read by whoever reads the action (another région's coordinator: 404, as for its read)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from planeco_actions.jobs import JOBS
from planeco_shared.jobs import JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CALLERS = {
    "anonymous": identity_headers("anonymous"),
    "occitanie": identity_headers("coordinator", "76"),
    "orleans": identity_headers("contributor", "45234"),
    "reader": identity_headers("reader"),
    "loiret": identity_headers("coordinator", "departement:45"),
    "centre": identity_headers("coordinator", "24"),
    "admin": ADMIN,
}
AIDS = "/api/v1/aids"
MAPPING = f"{AIDS}/lever-mapping"
CARS = "augm_voitelec"


@pytest.fixture(name="app")
def app_on_the_fake(fake_app: FastAPI) -> FastAPI:
    return fake_app


async def admin_get(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@covers(
    "GET /aids",
    "GET /aids/{aid_id}",
    "GET /aids/sync-runs",
    "POST /aids/sync-runs",
    "GET /aids/sync-runs/{run_id}",
    "GET /aids/lever-mapping",
    "PUT /aids/lever-mapping",
    "GET /aids/lever-mapping/history",
    "GET /actions/{action_id}/funding",
)
async def test_who_reads_the_aids_and_who_syncs_and_maps_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await run_job(runtime_of(app), JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="test")
    aid = (await admin_get(client, AIDS))["items"][0]["id"]
    (run,) = (await admin_get(client, f"{AIDS}/sync-runs"))["items"]
    created = await client.post(
        "/api/v1/actions",
        json={"title": "Bornes", "territory": {"level": "departement", "code": "45"}, "lever_id": CARS},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    mapping = await admin_get(client, MAPPING)
    rules = {"rules": mapping["rules"]}
    # Per caller, refusals first (a refused write changes nothing): the reads (the list, one aid, the
    # runs, one run, the mapping and its history), an action's funding, then starting a sync, replacing
    # the mapping.
    matrix = {
        "anonymous": (401, 401, 401, 401),
        "occitanie": (200, 404, 403, 403),
        "orleans": (200, 200, 403, 403),
        "reader": (200, 200, 403, 403),
        "loiret": (200, 200, 403, 403),
        "centre": (200, 200, 403, 403),
        "admin": (200, 200, 202, 200),
    }
    reads = (
        AIDS,
        f"{AIDS}/{aid}",
        f"{AIDS}/sync-runs",
        f"{AIDS}/sync-runs/{run['id']}",
        MAPPING,
        f"{MAPPING}/history",
    )
    for name, (read_status, funding_status, sync_status, mapping_status) in matrix.items():
        headers = CALLERS[name]
        for url in reads:
            response = await client.get(url, headers=headers)
            assert response.status_code == read_status, (name, url, response.text)
        funding = await client.get(f"/api/v1/actions/{created.json()['id']}/funding", headers=headers)
        assert funding.status_code == funding_status, (name, funding.text)
        started = await client.post(f"{AIDS}/sync-runs", headers=headers)
        assert started.status_code == sync_status, (name, started.text)
        replaced = await client.put(MAPPING, json=rules, headers=headers)
        assert replaced.status_code == mapping_status, (name, replaced.text)
        runs = (await admin_get(client, f"{AIDS}/sync-runs"))["total"]
        revision = (await admin_get(client, MAPPING))["revision"]
        assert (runs, revision) == ((2, 1) if name == "admin" else (1, 0)), name

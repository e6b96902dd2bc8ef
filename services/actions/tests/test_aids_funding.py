"""The funding of an action: the aids that serve its lever, available to its région, for its carriers'
types, ranked (the synced catalogue from the fake Aides-territoires, the real levers service)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from planeco_actions.aids.models import Aid
from planeco_actions.aids.vocabulary import AidAudience, actor_audience, carrier_audience
from planeco_actions.jobs import JOBS
from planeco_shared.jobs import JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem, identity_headers

CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")
READER = identity_headers("reader")
# The perimeters of the generated catalogue in Centre-Val de Loire (24), covering it whole or in part.
WHOLE_24 = {"Europe", "France", "France métropolitaine", "Centre-Val de Loire"}
PART_24 = {"Loiret", "Cher", "Loir-et-Cher", "Orléans Métropole", "Orléans"}
CHAMBER = {"kind": "autre", "name": "Chambre d'agriculture"}
SARAN = {"kind": "collectivite", "territory": {"level": "commune", "code": "45302"}}


@pytest.fixture(name="app")
def app_on_the_fake(fake_app: FastAPI) -> FastAPI:
    return fake_app


async def action(client: httpx.AsyncClient, **fields: Any) -> str:
    body = {
        "title": "Plan de financement",
        "territory": {"level": "region", "code": "24"},
        "carriers": [CHAMBER],
    } | fields
    response = await client.post("/api/v1/actions", json=body, headers=CENTRE)
    assert response.status_code == 201, response.text
    identifier: str = response.json()["id"]
    return identifier


def test_a_carrier_s_name_says_its_type_when_it_can() -> None:
    assert carrier_audience("Commune de Saran") is AidAudience.commune
    assert carrier_audience("Communauté de communes des Loges") is AidAudience.epci
    assert carrier_audience("Conseil départemental du Loiret") is AidAudience.department
    assert carrier_audience("Région Centre-Val de Loire") is AidAudience.region
    assert carrier_audience("Chambre d'agriculture") is None
    assert carrier_audience("Communes forestières") is None


def test_a_stored_carrier_says_its_type_by_its_territory_or_its_kind() -> None:
    assert actor_audience({**SARAN, "name": "Saran"}) is AidAudience.commune
    assert (
        actor_audience({"kind": "collectivite", "territory": {"level": "departement"}})
        is AidAudience.department
    )
    assert actor_audience({"kind": "collectivite", "territory": {"level": "crte"}}) is None
    assert (
        actor_audience({"kind": "association", "name": "France Nature Environnement"})
        is AidAudience.association
    )
    assert actor_audience({"kind": "autre", "name": "Communauté de communes des Loges"}) is AidAudience.epci
    assert actor_audience(CHAMBER) is None


async def test_an_action_s_funding_fits_its_lever_territory_and_carriers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await run_job(runtime_of(app), JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="test")
    async with runtime_of(app).transaction() as session:
        aids = list((await session.execute(select(Aid).where(Aid.is_live))).scalars())
    in_24 = [a for a in aids if a.perimeter in WHOLE_24 | PART_24]
    lever, _ = Counter(lever for a in in_24 for lever in a.lever_rules).most_common(1)[0]
    action_id = await action(client, lever_id=lever)

    async def funding(identifier: str, **params: Any) -> dict[str, Any]:
        response = await client.get(
            f"/api/v1/actions/{identifier}/funding", params={"page_size": 500, **params}, headers=CENTRE
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    expected = [a for a in in_24 if lever in a.lever_rules]
    page = await funding(action_id)
    assert page["total"] == len(expected) > 1
    assert {i["id"] for i in page["items"]} == {a.id for a in expected}
    by_id = {a.id: a for a in aids}
    # Ranked: the aids covering the whole région first, then by deadline (permanent ones last), then id.
    ranks = [
        (
            by_id[i["id"]].perimeter not in WHOLE_24,
            i["submission_deadline"] is None,
            i["submission_deadline"] or "",
            i["id"],
        )
        for i in page["items"]
    ]
    assert ranks == sorted(ranks)
    for item in page["items"]:
        whole = by_id[item["id"]].perimeter in WHOLE_24
        assert item["coverage"] == ("whole" if whole else "any")
        assert item["matched_lever_ids"] == [lever] and lever in item["lever_ids"]
        assert item["matched_audiences"] == []
    first_two = await funding(action_id, page_size=2)
    assert (first_two["total"], [i["id"] for i in first_two["items"]]) == (
        page["total"],
        [i["id"] for i in page["items"][:2]],
    )

    # A commune among the carriers: the aids for communes, or for no one in particular.
    communal = await action(client, lever_id=lever, carriers=[SARAN, CHAMBER])
    for_communes = await funding(communal)
    assert {i["id"] for i in for_communes["items"]} == {
        a.id for a in expected if "|commune|" in a.audience_slugs or a.audience_slugs == ""
    }
    assert all(i["matched_audiences"] == ["commune"] for i in for_communes["items"])

    # No lever, no aid; another région's action is not the caller's to see.
    assert (await funding(await action(client)))["total"] == 0
    assert_problem(await client.get(f"/api/v1/actions/{action_id}/funding", headers=OCCITANIE), 404)
    assert (await client.get(f"/api/v1/actions/{action_id}/funding", headers=READER)).status_code == 200
    missing = "00000000-0000-0000-0000-000000000000"
    assert_problem(await client.get(f"/api/v1/actions/{missing}/funding", headers=CENTRE), 404)
    assert_problem(await client.get("/api/v1/actions/nope/funding", headers=CENTRE), 422)


async def test_a_budget_line_cites_an_aid_of_the_catalogue(app: FastAPI, client: httpx.AsyncClient) -> None:
    await run_job(runtime_of(app), JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="test")
    async with runtime_of(app).transaction() as session:
        aid_id = (await session.execute(select(Aid.id).limit(1))).scalar_one()
    line = {"year": 2026, "financer": "État – fonds vert", "amount_eur": "150000.00", "status": "acquis"}
    created = await client.post(
        "/api/v1/actions",
        json={
            "title": "Haies financées",
            "territory": {"level": "region", "code": "24"},
            "budget_lines": [line | {"aid_id": aid_id}, line | {"financer": "Région"}],
        },
        headers=CENTRE,
    )
    assert created.status_code == 201, created.text
    assert [b["aid_id"] for b in created.json()["budget_lines"]] == [aid_id, None]

    unknown = await client.post(
        "/api/v1/actions",
        json={
            "title": "Haies mal financées",
            "territory": {"level": "region", "code": "24"},
            "budget_lines": [line | {"aid_id": 2_000_000_000}],
        },
        headers=CENTRE,
    )
    problem = assert_problem(unknown, 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "budget_lines", 0, "aid_id"]]
    patched = await client.patch(
        f"/api/v1/actions/{created.json()['id']}",
        json={"budget_lines": [line | {"aid_id": 2_000_000_000}]},
        headers=CENTRE | {"If-Match": created.headers["etag"]},
    )
    assert_problem(patched, 422)

"""Aid perimeters resolved to territories (the fake Aides-territoires' /api/perimeters/ on the real COG,
the real levers service), and the aids available to a territory."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from planeco_actions.aids.client import AidesTerritoiresClient
from planeco_actions.aids.models import Aid, AidPerimeter, AidPerimeterTerritory
from planeco_actions.aids.perimeters import RESOLVED, UNRESOLVED, resolve
from planeco_actions.jobs import JOBS
from planeco_shared.jobs import JobResult, JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem, identity_headers

READER = identity_headers("reader")
AIDS = "/api/v1/aids"


@pytest.fixture(name="app")
def app_on_the_fake(fake_app: FastAPI) -> FastAPI:
    return fake_app


async def sync(app: FastAPI) -> JobResult:
    return await run_job(runtime_of(app), JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="test")


def client_of(fake: Any, http: httpx.AsyncClient) -> AidesTerritoiresClient:
    return AidesTerritoiresClient(http, base_url=fake.url, api_key=SecretStr(fake.api_key), pause=0)


async def test_the_fake_answers_perimeters_with_the_real_cog_names_and_codes(fake: Any) -> None:
    async with httpx.AsyncClient() as http:
        client = client_of(fake, http)
        [loiret] = await client.perimeters([("scale", "department"), ("q", "Loiret")])
        assert (loiret["name"], loiret["scale"], loiret["code"]) == ("Loiret", "Département", "45")
        [orleans] = await client.perimeters([("insees", "45234")])
        assert (orleans["name"], orleans["zipcodes"]) == ("Orléans", ["45000", "45100"])
        assert orleans["text"] == "Orléans (Commune - 45000, 45100)"
        [metropole] = await client.perimeters([("scale", "epci"), ("q", "Orléans Métropole")])
        assert metropole["code"] == "244500468"
        # Accents and case aside, as upstream's full-text search; a name several communes share.
        saints = await client.perimeters([("scale", "commune"), ("q", "saint denis")])
        assert {"93066", "97411"} <= {p["code"] for p in saints}
        regions = await client.perimeters([("scale", "region")])
        assert len(regions) == 18 and {"Centre-Val de Loire", "La Réunion"} <= {p["name"] for p in regions}
        detail = await client.get_json("/api/perimeters/70973-auvergne-rhone-alpes/")
        assert (detail["name"], detail["code"]) == ("Auvergne-Rhône-Alpes", "84")


async def test_a_sync_resolves_each_perimeter_once_and_reports_those_it_cannot(app: FastAPI) -> None:
    first = await sync(app)
    assert (first.counts["perimeters_resolved"], first.counts["perimeters_unresolved"]) == (14, 2)
    unresolved = [e for e in first.errors if e["type"] == "unresolved-perimeter"]
    assert sorted(e["item"] for e in unresolved) == [
        "perimeter Communes littorales (Ad-hoc)",
        "perimeter PAYS DES CHÂTEAUX (Ad-hoc)",
    ]
    assert all("is not a territory" in e["message"] and "live aid" in e["message"] for e in unresolved)
    async with runtime_of(app).transaction() as session:
        perimeters = {(p.name, p.scale): p for p in (await session.execute(select(AidPerimeter))).scalars()}
        orleans = perimeters["Orléans", "commune"]
        assert (orleans.status, orleans.level, orleans.code, orleans.upstream_id) == (
            RESOLVED,
            "commune",
            "45234",
            92504,
        )
        rows = await session.execute(
            select(AidPerimeterTerritory.level, AidPerimeterTerritory.code).where(
                AidPerimeterTerritory.perimeter_id == orleans.id
            )
        )
        assert set(rows.all()) == {
            ("commune", "45234"),
            ("epci", "244500468"),
            ("departement", "45"),
            ("region", "24"),
        }
        assert (perimeters["France", "Pays"].level, perimeters["Europe", "Continent"].level) == (
            "national",
            "national",
        )
        assert perimeters["France métropolitaine", "Métropole"].level == "mainland"
        assert perimeters["PAYS DES CHÂTEAUX", "Ad-hoc"].status == UNRESOLVED
        count = await session.scalar(select(func.count()).select_from(AidPerimeter))
    version = await runtime_of(app).data_version()
    second = await sync(app)
    assert (second.counts["perimeters_resolved"], second.counts["perimeter_requests"]) == (0, 0)
    assert second.counts["perimeters_unresolved"] == 2  # reported again, not asked again
    assert await runtime_of(app).data_version() == version  # nothing written
    async with runtime_of(app).transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AidPerimeter)) == count


async def test_ambiguous_and_unknown_names_are_unresolved_with_the_reason(app: FastAPI, fake: Any) -> None:
    levers = runtime_of(app).levers
    async with httpx.AsyncClient() as http:
        client = client_of(fake, http)
        saint_denis = await resolve("Saint-Denis", "commune", client, levers)
        assert saint_denis.status == UNRESOLVED and "perimeters of scale commune named" in str(
            saint_denis.message
        )
        nowhere = await resolve("Atlantide", "Département", client, levers)
        assert (nowhere.status, nowhere.message) == (
            UNRESOLVED,
            "no perimeter of scale department named 'Atlantide'",
        )
        epci = await resolve("ORLÉANS MÉTROPOLE", "epci", client, levers)
        assert (epci.status, epci.code) == (RESOLVED, "244500468")
        assert ("departement", "45") in epci.territories
        odd = await resolve("Loire", "Bassin hydrographique", client, levers)
        assert odd.status == UNRESOLVED


async def test_the_aids_available_to_a_territory(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sync(app)
    async with runtime_of(app).transaction() as session:
        aids = list((await session.execute(select(Aid).where(Aid.is_live))).scalars())

    def having(*names: str) -> set[int]:
        return {a.id for a in aids if a.perimeter in names}

    async def ids(**params: Any) -> set[int]:
        response = await client.get(AIDS, params={"page_size": 500, **params}, headers=READER)
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()["items"]}

    wide = ("Europe", "France", "France métropolitaine")
    centre = (*wide, "Centre-Val de Loire")
    # The Loiret: national, regional and departmental aids cover it whole; Orléans Métropole's and
    # Orléans' cover part of it.
    whole = having(*centre, "Loiret")
    part = having("Orléans Métropole", "Orléans")
    assert whole and part
    assert await ids(departement="45") == whole | part
    assert await ids(departement="45", coverage="whole") == whole
    # Orléans: every perimeter it lies in, none inside it.
    assert await ids(commune="45234") == whole | part
    assert await ids(epci="244500468", coverage="whole") == whole | having("Orléans Métropole")
    assert await ids(region="24") == having(*centre, "Loiret", "Cher", "Loir-et-Cher") | part
    assert await ids(region="84") == having(*wide, "Auvergne-Rhône-Alpes", "Puy-de-Dôme", "Clermont-Ferrand")
    # A département with no local aid: the wide and regional ones.
    assert await ids(departement="28") == having(*centre)
    assert await ids(departement="45", q="haies") == {
        a.id for a in aids if a.id in whole | part and "haies" in a.search_text
    }
    # Ad-hoc perimeters are in no territory's list.
    assert not having("PAYS DES CHÂTEAUX") & await ids(departement="41")

    unknown = await client.get(AIDS, params={"departement": "99"}, headers=READER)
    assert_problem(unknown, 422)
    assert unknown.json()["errors"][0]["loc"] == ["query", "departement"]
    assert_problem(await client.get(AIDS, params={"region": "24", "commune": "45234"}, headers=READER), 422)
    assert_problem(await client.get(AIDS, params={"epci": "12"}, headers=READER), 422)
    assert_problem(await client.get(AIDS, params={"coverage": "most"}, headers=READER), 422)

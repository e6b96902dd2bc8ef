"""The COG import is idempotent: a second run changes nothing, and rows absent from the files go."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from planeco_levers.territories.importer import ImportReport, import_territories
from planeco_levers.territories.models import Commune
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

ANONYMOUS = identity_headers("anonymous")
CENTRE = identity_headers("coordinator", "24")


async def test_first_import_report(cog: ImportReport) -> None:
    assert (cog.regions, cog.departements, cog.epcis, cog.epts, cog.communes) == (18, 101, 1255, 11, 34875)
    assert cog.population == 68_350_798


async def test_reimport_changes_nothing_but_removes_what_vanished(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/api/v1/territories/regions", headers=ANONYMOUS)).json()
    # A commune the COG does not know, in a CRTE: the import deletes both the commune and the membership.
    async with runtime_of(app).sessionmaker() as session:
        session.add(
            Commune(
                code="45999",
                name="Fictive",
                name_search="fictive",
                departement_code="45",
                region_code="24",
                population=1000,
                postal_codes=[],
            )
        )
        await session.commit()
    csv = "crte_id,crte_name,member\ncrte-45,CRTE Orléans,244500468\ncrte-45,CRTE Orléans,45999\n"
    uploaded = await client.post(
        "/api/v1/territories/crtes/imports", content=csv, headers=CENTRE | {"content-type": "text/csv"}
    )
    assert uploaded.status_code == 200, uploaded.text
    crte = (await client.get("/api/v1/territories/crtes/crte-45", headers=ANONYMOUS)).json()
    assert crte["population"] == 297350 + 1000

    async with runtime_of(app).sessionmaker() as session:
        report = await import_territories(session)
        await session.commit()
    assert (report.regions, report.departements, report.epcis, report.epts, report.communes) == (
        18,
        101,
        1255,
        11,
        34875,
    )
    assert (report.deleted, report.crte_members_dropped) == (1, 1)

    assert (await client.get("/api/v1/territories/regions", headers=ANONYMOUS)).json() == before
    assert (await client.get("/api/v1/territories/communes/45999", headers=ANONYMOUS)).status_code == 404
    crte = (await client.get("/api/v1/territories/crtes/crte-45", headers=ANONYMOUS)).json()
    assert (crte["population"], [m["code"] for m in crte["members"]]) == (297350, ["244500468"])

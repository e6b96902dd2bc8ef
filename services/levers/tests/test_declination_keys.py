"""Keys uploaded by a région: they change the split, are audited, guarded by If-Match, all-or-nothing."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_levers.db import AuditEntry
from planeco_levers.declination.models import DeclinationKeyValue
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

VERSION = "2024-07-24"
ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24", subject="oidc:marie.centre")
NORMANDIE = identity_headers("coordinator", "28")
ANONYMOUS = identity_headers("anonymous")
KEY = "/api/v1/declination-keys/regions/24/augm_haies"
DEPARTEMENTS = f"/api/v1/panoramas/{VERSION}/regions/24/departements"
# Utilised agricultural area (ha) by département of Centre-Val de Loire: a better key for hedges.
SAU_CSV = "code;value\n18;460000\n28;480000\n36;440000\n37;350000\n41;370000\n45;390000\n"
SAU = {"18": 460000, "28": 480000, "36": 440000, "37": 350000, "41": 370000, "45": 390000}


async def put(
    client: httpx.AsyncClient,
    csv: str,
    *,
    headers: dict[str, str] = CENTRE,
    url: str = KEY,
    level: str = "departement",
    **params: str,
) -> httpx.Response:
    return await client.put(
        url,
        params={"level": level, **params},
        content=csv.encode(),
        headers=headers | {"content-type": "text/csv"},
    )


async def haies(client: httpx.AsyncClient, precision: str = "0.1") -> dict[str, Any]:
    response = await client.get(
        DEPARTEMENTS, params={"lever_id": "augm_haies", "precision": precision}, headers=ANONYMOUS
    )
    assert response.status_code == 200, response.text
    lever: dict[str, Any] = response.json()["levers"][0]
    return lever


async def audit(app: FastAPI) -> list[AuditEntry]:
    async with runtime_of(app).sessionmaker() as session:
        statement = (
            select(AuditEntry)
            .where(AuditEntry.entity_type == "declination_key")
            .order_by(AuditEntry.occurred_at, AuditEntry.action)
        )
        return list((await session.execute(statement)).scalars())


def errors_of(response: httpx.Response) -> set[tuple[Any, ...]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {(*e["loc"], e["type"]) for e in response.json()["errors"]}


async def test_an_uploaded_key_changes_the_split_and_is_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await haies(client)
    assert before["key"]["kind"] == "default"

    created = await put(client, SAU_CSV, name="SAU 2020", source="Agreste, recensement agricole 2020")
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{KEY}?level=departement"
    etag = created.headers["etag"]
    body = created.json()
    assert body["revision"] == 1
    assert "uploaded_by" not in body  # public: who uploaded it is in the audit trail only (below)
    assert body["name"] == "SAU 2020" and body["source"] == "Agreste, recensement agricole 2020"
    assert {v["code"]: Decimal(v["value"]) for v in body["values"]} == SAU
    assert next(v["name"] for v in body["values"] if v["code"] == "45") == "Loiret"

    after = await haies(client)
    assert after["key"] | {"uploaded_at": None} == {
        "level": "departement",
        "kind": "custom",
        "name": "SAU 2020",
        "source": "Agreste, recensement agricole 2020",
        "uploaded_at": None,
        "etag": etag,
        "note": None,
    }
    assert after["key"]["uploaded_at"] is not None
    total = sum(SAU.values())
    objective = Fraction(after["region"]["objective_ktco2e"])
    for child in after["children"]:
        assert Decimal(child["weight"]) == SAU[child["code"]]
        assert abs(
            Fraction(child["objective_ktco2e"]) - objective * Fraction(SAU[child["code"]], total)
        ) < Fraction(1, 10)
    assert sum(Decimal(c["objective_ktco2e"]) for c in after["children"]) == Decimal(
        after["region"]["objective_ktco2e_rounded"]
    )
    assert sum(Decimal(c["physical_2030"]) for c in after["children"]) == Decimal(
        after["region"]["physical_2030_rounded"]
    )
    loiret = {c["code"]: c["objective_ktco2e"] for c in before["children"]}["45"]
    assert {c["code"]: c["objective_ktco2e"] for c in after["children"]}["45"] != loiret

    # other levers and other levels keep population
    response = await client.get(DEPARTEMENTS, params={"lever_id": "augm_voitelec"}, headers=ANONYMOUS)
    assert response.json()["levers"][0]["key"]["kind"] == "default"
    keys = (
        await client.get(f"/api/v1/panoramas/{VERSION}/regions/24/declination-keys", headers=ANONYMOUS)
    ).json()
    listed = next(lever for lever in keys["levers"] if lever["lever_id"] == "augm_haies")["keys"]
    assert [(k["level"], k["kind"]) for k in listed] == [
        ("departement", "custom"),
        ("epci", "default"),
        ("crte", "default"),
    ]

    [entry] = await audit(app)
    assert (entry.action, entry.entity_id, entry.actor) == (
        "create",
        "24/augm_haies/departement",
        "oidc:marie.centre",
    )
    assert entry.changes["values"]["new"]["45"] == "390000"
    assert entry.changes["name"] == {"old": None, "new": "SAU 2020"}

    read = await client.get(KEY, params={"level": "departement"}, headers=ANONYMOUS)
    assert read.status_code == 200 and read.headers["etag"] == etag
    assert read.json() == body


async def test_the_same_csv_twice_changes_nothing(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await put(client, SAU_CSV, name="SAU 2020")
    again = await put(
        client,
        SAU_CSV.replace(";", ","),
        name="SAU 2020",
        headers=CENTRE | {"if-match": first.headers["etag"]},
    )
    assert again.status_code == 200, again.text
    assert again.headers["etag"] == first.headers["etag"]
    assert again.json() == first.json()
    assert [e.action for e in await audit(app)] == ["create"]


async def test_replacing_needs_the_current_etag(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await put(client, SAU_CSV)
    missing = await put(client, SAU_CSV.replace("390000", "1"))
    assert missing.status_code == 428, missing.text
    assert missing.json()["code"] == "precondition-required"

    replaced = await put(
        client, SAU_CSV.replace("390000", "1"), headers=CENTRE | {"if-match": first.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["revision"] == 2
    assert replaced.headers["etag"] != first.headers["etag"]

    stale = await put(client, SAU_CSV, headers=CENTRE | {"if-match": first.headers["etag"]})
    assert stale.status_code == 412, stale.text
    assert stale.json()["code"] == "precondition-failed"
    assert {c["code"]: Decimal(c["weight"]) for c in (await haies(client))["children"]}["45"] == 1

    entries = await audit(app)
    assert [e.action for e in entries] == ["create", "replace"]
    assert entries[1].changes["values"] == {"45": {"old": "390000", "new": "1"}}

    assert stale.headers["etag"] == replaced.headers["etag"]
    # Another région's coordinator: 403 whatever the precondition (the scope is checked first)
    for extra in ({}, {"if-match": '"stale"'}):
        assert (await put(client, SAU_CSV, headers=NORMANDIE | extra)).status_code == 403
        foreign = await client.delete(KEY, params={"level": "departement"}, headers=NORMANDIE | extra)
        assert foreign.status_code == 403

    # If-Match on a key that does not exist yet cannot match
    epci = await put(client, "code,value\n", level="epci", headers=CENTRE | {"if-match": '"x"'})
    assert epci.status_code == 412, epci.text


async def test_delete_returns_to_population(app: FastAPI, client: httpx.AsyncClient) -> None:
    population = await haies(client)
    created = await put(client, SAU_CSV)
    assert (await client.delete(KEY, params={"level": "departement"}, headers=CENTRE)).status_code == 428
    deleted = await client.delete(
        KEY, params={"level": "departement"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert deleted.status_code == 204, deleted.text
    assert await haies(client) == population
    assert (await client.get(KEY, params={"level": "departement"}, headers=ANONYMOUS)).status_code == 404
    again = await client.delete(KEY, params={"level": "departement"}, headers=CENTRE | {"if-match": "*"})
    assert again.status_code == 404
    entries = await audit(app)
    assert [e.action for e in entries] == ["create", "delete"]
    assert entries[1].changes["values"]["old"]["18"] == "460000"


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        # a child missing, an unknown code, a foreign code
        (
            "code;value\n18;1\n28;1\n36;1\n37;1\n41;1\n99;1\n75;2\n",
            {
                ("body", "45", "missing_child"),
                ("row", 7, "code", "unknown_code"),
                ("row", 8, "code", "foreign_code"),
            },
        ),
        # negative, non-numeric, duplicate, empty
        (
            "code;value\n18;-1\n28;abc\n36;1\n37;1\n41;1\n45;1\n45;2\n;4\n",
            {
                ("row", 2, "value", "negative"),
                ("row", 3, "value", "decimal"),
                ("row", 8, "code", "duplicate"),
                ("row", 9, "code", "missing"),
            },
        ),
        # exponent, too many decimals, too large, empty value
        (
            "code,value\n18,1e3\n28,0.1234567\n36,1000000000\n37,\n41,1\n45,1\n",
            {
                ("row", 2, "value", "decimal"),
                ("row", 3, "value", "precision"),
                ("row", 4, "value", "too_large"),
                ("row", 5, "value", "decimal"),
            },
        ),
        ("code;value\n18;0\n28;0\n36;0\n37;0\n41;0\n45;0\n", {("body", "all_zero")}),
        (
            "departement;weight\n18;1\n",
            {("row", 1, "code", "missing_column"), ("row", 1, "value", "missing_column")},
        ),
        ("", {("row", 1, "code", "missing_column"), ("row", 1, "value", "missing_column")}),
    ],
)
async def test_a_malformed_key_is_refused_whole_with_row_errors(
    app: FastAPI, client: httpx.AsyncClient, csv: str, expected: set[tuple[Any, ...]]
) -> None:
    population = await haies(client)
    response = await put(client, csv)
    assert errors_of(response) == expected
    assert response.json()["code"] == "invalid-declination-key"
    assert "nothing was changed" in response.json()["detail"]
    assert await haies(client) == population
    assert (await client.get(KEY, params={"level": "departement"}, headers=ANONYMOUS)).status_code == 404
    assert await audit(app) == []


async def test_a_malformed_replacement_keeps_the_previous_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    created = await put(client, SAU_CSV)
    bad = await put(client, "code;value\n18;1\n", headers=CENTRE | {"if-match": created.headers["etag"]})
    assert bad.status_code == 422
    read = await client.get(KEY, params={"level": "departement"}, headers=ANONYMOUS)
    assert read.json() == created.json()
    assert [e.action for e in await audit(app)] == ["create"]


async def test_french_spreadsheet_exports_are_read(client: httpx.AsyncClient) -> None:
    csv = (
        "\ufeffCode;Nom;Value\n18;Cher;12,5\n28;Eure-et-Loir;1\n36;Indre;1\n37;Indre-et-Loire;1\n"
        "41;Loir-et-Cher;1\n45;Loiret;0\n"
    )
    response = await put(client, csv)
    assert response.status_code == 201, response.text
    assert {v["code"]: v["value"] for v in response.json()["values"]}["18"] == "12.5"
    assert {c["code"]: c["objective_ktco2e"] for c in (await haies(client))["children"]}["45"] == "0"


async def test_values_read_back_exactly_on_both_databases(client: httpx.AsyncClient) -> None:
    csv = "code;value\n18;123456789.123456\n28;0.000001\n36;999999999.999999\n37;1\n41;0\n45;7.5\n"
    response = await put(client, csv, headers=ADMIN)
    assert response.status_code == 201, response.text
    read = (await client.get(KEY, params={"level": "departement"}, headers=ANONYMOUS)).json()
    assert {v["code"]: v["value"] for v in read["values"]} == {
        "18": "123456789.123456",
        "28": "0.000001",
        "36": "999999999.999999",
        "37": "1",
        "41": "0",
        "45": "7.5",
    }


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (NORMANDIE, 403),
        (identity_headers("contributor", "244500468"), 403),
        (identity_headers("reader"), 403),
        (ANONYMOUS, 401),
    ],
)
async def test_only_the_regions_coordinators_and_admins_upload(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    response = await put(client, SAU_CSV, headers=headers)
    assert response.status_code == status, response.text
    assert (await client.get(KEY, params={"level": "departement"}, headers=ANONYMOUS)).status_code == 404
    created = await put(client, SAU_CSV, headers=ADMIN)
    assert created.status_code == 201
    refused = await client.delete(
        KEY, params={"level": "departement"}, headers=headers | {"if-match": created.headers["etag"]}
    )
    assert refused.status_code == status


@pytest.mark.parametrize(
    ("url", "params", "content_type", "status"),
    [
        ("/api/v1/declination-keys/regions/24/nope", {"level": "departement"}, "text/csv", 404),
        (
            "/api/v1/declination-keys/regions/24/co2_voitelec",
            {"level": "departement"},
            "text/csv",
            404,
        ),
        ("/api/v1/declination-keys/regions/24/augm_haies", {"level": "crte"}, "text/csv", 422),
        ("/api/v1/declination-keys/regions/24/augm_haies", {}, "text/csv", 422),
        (
            "/api/v1/declination-keys/regions/24/augm_haies",
            {"level": "departement"},
            "application/json",
            415,
        ),
    ],
)
async def test_unknown_lever_level_or_media_type(
    client: httpx.AsyncClient, url: str, params: dict[str, str], content_type: str, status: int
) -> None:
    response = await client.put(
        url, params=params, content=SAU_CSV.encode(), headers=ADMIN | {"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_epci_key_declines_the_epci(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    page = (
        await client.get(
            "/api/v1/territories/epcis", params={"region": "24", "page_size": 500}, headers=ANONYMOUS
        )
    ).json()
    sirens = [e["siren"] for e in page["items"]]
    csv = "code;value\n" + "".join(f"{siren};1\n" for siren in sirens)
    created = await put(client, csv, level="epci", name="uniform")
    assert created.status_code == 201, created.text
    response = await client.get(
        f"/api/v1/panoramas/{VERSION}/regions/24/epcis", params={"lever_id": "augm_haies"}, headers=ANONYMOUS
    )
    lever = response.json()["levers"][0]
    assert lever["key"]["name"] == "uniform" and lever["key"]["level"] == "epci"
    parts = [Decimal(c["objective_ktco2e"]) for c in lever["children"]]
    assert max(parts) - min(parts) <= Decimal("0.1")
    assert sum(parts) == Decimal(lever["region"]["objective_ktco2e_rounded"])
    # départements still use population
    assert (await haies(client))["key"]["kind"] == "default"

    # with custom keys, still a handful of queries for every lever: + the keys' values
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        everything = await client.get(f"/api/v1/panoramas/{VERSION}/regions/24/epcis", headers=ANONYMOUS)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert everything.json()["lever_count"] == 30
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "data_version" not in s]
    assert len(selects) <= 6, statements  # the read cache's data-version read comes on top

    # an EPCI of another région is a foreign code; a département code is unknown at the EPCI level
    foreign = await put(
        client,
        csv.replace(sirens[0], "200054781") + "45;1\n",
        level="epci",
        headers=CENTRE | {"if-match": created.headers["etag"]},
    )
    errors = errors_of(foreign)
    assert ("body", sirens[0], "missing_child") in errors
    assert any(e[-1] == "foreign_code" for e in errors)
    assert any(e[-1] == "unknown_code" for e in errors)


async def test_a_key_that_no_longer_matches_the_territories_is_not_used(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """After a COG change a stored key may miss a child: population applies and the key says why."""
    population = await haies(client)
    await put(client, SAU_CSV, name="SAU 2020")
    async with runtime_of(app).sessionmaker.begin() as session:
        await session.execute(delete(DeclinationKeyValue).where(DeclinationKeyValue.code == "45"))
    lever = await haies(client)
    assert lever["key"]["kind"] == "default"
    assert "SAU 2020" in lever["key"]["note"] and "population is used" in lever["key"]["note"]
    assert lever["children"] == population["children"]
    keys = (
        await client.get(f"/api/v1/panoramas/{VERSION}/regions/24/declination-keys", headers=ANONYMOUS)
    ).json()
    listed = next(lever for lever in keys["levers"] if lever["lever_id"] == "augm_haies")["keys"][0]
    assert listed["kind"] == "default" and "SAU 2020" in listed["note"]

"""Declined objectives on the real data: every lever of every région adds up exactly, at two precisions."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_levers.declination.schemas import PhysicalMethod
from planeco_levers.declination.service import physical_method
from planeco_shared.testing import identity_headers

DATA = Path(__file__).resolve().parents[1] / "data" / "sgpe-panorama"
VERSION = "2024-07-24"
ANONYMOUS = identity_headers("anonymous")
MAINLAND = ("11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94")
OVERSEAS = "04"
NAMES = {  # the files' région names → INSEE codes, written independently of the service
    "Auvergne-Rhône-Alpes": "84",
    "Bourgogne-Franche-Comté": "27",
    "Bretagne": "53",
    "Centre-Val de Loire": "24",
    "Corse": "94",
    "Grand Est": "44",
    "Hauts-de-France": "32",
    "Île-de-France": "11",
    "Normandie": "28",
    "Nouvelle-Aquitaine": "75",
    "Occitanie": "76",
    "Pays de la Loire": "52",
    "Provence-Alpes-Côte d'Azur": "93",
    "Région Sud": "93",
    "PACA": "93",
    "Guadeloupe": "01",
    "Martinique": "02",
    "Guyane": "03",
    "La Réunion": "04",
    "Mayotte": "06",
}
# Units that are intensities (per inhabitant, per car, per 100 km, per MWh), in every version.
INTENSIVE = {
    "reduc_consovp",
    "augm_depla",
    "augm_covoit",
    "augm_vélotc",
    "augm_valodma",
    "reduc_proddma",
    "reduc_chal",
}


def file_levers(version: str = VERSION) -> dict[str, dict[str, dict[str, Any]]]:
    rows = json.loads((DATA / f"panorama-{version}.json").read_bytes(), parse_float=Decimal)
    by_region: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        if row["regionName"] != "Région exemple":
            by_region[NAMES[row["regionName"]]][row["id"]] = row
    return by_region


FILE = file_levers()


async def get(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    return response.json()


async def populations(client: httpx.AsyncClient, kind: str, region: str) -> dict[str, int]:
    page = await get(client, f"/api/v1/territories/{kind}", region=region, page_size=500)
    assert page["total"] <= 500
    return {item.get("code") or item["siren"]: item["population"] for item in page["items"]}


def half_up(value: Decimal, quantum: Decimal) -> Decimal:
    return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def check_declination(body: dict[str, Any], region: str, precision: str, weights: dict[str, int]) -> None:
    """Every lever as the file gives it; children add up exactly; each part within a quantum of its quota."""
    quantum = Decimal(precision)
    expected = FILE[region]
    assert body["precision"] == precision
    assert [lever["lever_id"] for lever in body["levers"]] == list(expected)
    weight_sum = sum(weights.values())
    for lever in body["levers"]:
        row = expected[lever["lever_id"]]
        figures = lever["region"]
        objective = Decimal(str(row["objCO2"]))
        assert Decimal(figures["objective_ktco2e"]) == objective
        assert Decimal(figures["objective_ktco2e_rounded"]) == half_up(objective, quantum)
        children = lever["children"]
        assert {c["code"] for c in children} == set(weights)
        assert sum(Decimal(c["objective_ktco2e"]) for c in children) == half_up(objective, quantum), lever
        assert sum(Decimal(c["share"]) for c in children) == 1
        for child in children:
            assert Decimal(child["weight"]) == weights[child["code"]]
            part = Fraction(child["objective_ktco2e"])
            assert (part / Fraction(quantum)).denominator == 1
            quota = Fraction(objective) * weights[child["code"]] / weight_sum
            assert abs(part - quota) < Fraction(quantum), (lever["lever_id"], child)

        method = lever["physical_method"]
        if row["noTranslation"]:
            assert method == "none"
            assert figures["physical_2030"] is None
        elif lever["lever_id"] in INTENSIVE:
            assert method == "not_additive"
        else:
            assert method == "apportioned"
        if method != "apportioned":
            assert all(c["start_2019"] is None and c["physical_2030"] is None for c in children)
            continue
        start, ratio = Decimal(str(row["startPoint2019"])), Decimal(str(row["ratioCO2toPhys"]))
        physical = max(Decimal(0), start + objective * ratio)
        assert Decimal(figures["physical_2030"]) == physical
        assert Decimal(figures["start_2019_rounded"]) == half_up(start, quantum)
        assert Decimal(figures["physical_2030_rounded"]) == half_up(physical, quantum)
        assert sum(Decimal(c["start_2019"]) for c in children) == half_up(start, quantum)
        assert sum(Decimal(c["physical_2030"]) for c in children) == half_up(physical, quantum)
        for child in children:
            share = Fraction(weights[child["code"]], weight_sum)
            assert abs(Fraction(child["start_2019"]) - Fraction(start) * share) < Fraction(quantum)
            exact = Fraction(start) * share + Fraction(objective) * share * Fraction(ratio)
            assert abs(Fraction(child["physical_2030"]) - max(exact, Fraction(0))) < Fraction(quantum)

    totals = {t["code"]: Decimal(t["objective_ktco2e"]) for t in body["totals"]}
    for code in weights:
        assert totals[code] == sum(
            Decimal(c["objective_ktco2e"])
            for lever in body["levers"]
            for c in lever["children"]
            if c["code"] == code
        )
    rounded = sum(Decimal(lever["region"]["objective_ktco2e_rounded"]) for lever in body["levers"])
    assert sum(totals.values()) == rounded == Decimal(body["total_ktco2e_rounded"])
    assert Decimal(body["total_ktco2e"]) == sum(Decimal(str(row["objCO2"])) for row in expected.values())


@pytest.mark.parametrize("precision", ["0.1", "0.01"])
async def test_departements_add_up_exactly_for_every_lever_of_every_region(
    client: httpx.AsyncClient, precision: str
) -> None:
    for region in (*MAINLAND, OVERSEAS):
        url = f"/api/v1/panoramas/{VERSION}/regions/{region}/departements"
        body = await get(client, url, precision=precision)
        assert body["level"] == "departement" and body["region"] == region
        check_declination(body, region, precision, await populations(client, "departements", region))
        assert all(lever["key"]["kind"] == "default" for lever in body["levers"])
        assert {lever["key"]["name"] for lever in body["levers"]} == {"population"}


@pytest.mark.parametrize("region", ["24", "44", "93"])
async def test_epci_attached_to_the_region_add_up_exactly(client: httpx.AsyncClient, region: str) -> None:
    weights = await populations(client, "epcis", region)
    for precision in ("0.1", "0.001"):
        body = await get(client, f"/api/v1/panoramas/{VERSION}/regions/{region}/epcis", precision=precision)
        check_declination(body, region, precision, weights)


async def test_an_epci_spanning_two_regions_is_declined_in_its_attachment_region_only(
    client: httpx.AsyncClient,
) -> None:
    straddling: list[dict[str, Any]] = []
    for epci in (await get(client, "/api/v1/territories/epcis", region="24", page_size=500))["items"]:
        detail = await get(client, f"/api/v1/territories/epcis/{epci['siren']}")
        if len(detail["regions"]) > 1:
            straddling.append(detail)
    assert straddling  # EPCI of Centre-Val de Loire reaching into a neighbouring région
    declined: dict[str, set[str]] = {}
    for epci in straddling:
        for region in epci["regions"]:
            if region not in declined:
                url = f"/api/v1/panoramas/{VERSION}/regions/{region}/epcis"
                body = await get(client, url, lever_id="augm_voitelec")
                declined[region] = {c["code"] for c in body["levers"][0]["children"]}
            assert (epci["siren"] in declined[region]) is (region == epci["region"]), (epci["siren"], region)


async def test_loiret_share_is_its_population_share(client: httpx.AsyncClient) -> None:
    weights = await populations(client, "departements", "24")
    region = await get(client, "/api/v1/territories/regions/24")
    assert sum(weights.values()) == region["population"]
    share = Fraction(weights["45"], region["population"])
    body = await get(client, f"/api/v1/panoramas/{VERSION}/regions/24/departements", precision="0.01")
    for lever in body["levers"]:
        loiret = next(c for c in lever["children"] if c["code"] == "45")
        assert loiret["name"] == "Loiret"
        assert abs(Fraction(loiret["share"]) - share) < Fraction(1, 10**6)
        objective = Fraction(lever["region"]["objective_ktco2e"])
        assert abs(Fraction(loiret["objective_ktco2e"]) - objective * share) < Fraction(1, 100)


async def test_region_figures_at_a_tenth_equal_the_panorama_display(client: httpx.AsyncClient) -> None:
    """ROUND_HALF_UP at 0.1 is the simulator's rounding: the same figure as the panorama's for the région."""
    panorama = await get(client, f"/api/v1/panoramas/{VERSION}/regions/93")
    declined = await get(client, f"/api/v1/panoramas/{VERSION}/regions/93/departements")
    shown = {lever["lever_id"]: lever["physical_2030_rounded"] for lever in panorama["levers"]}
    for lever in declined["levers"]:
        assert lever["region"]["physical_2030_rounded"] == shown[lever["lever_id"]]


async def test_physical_units_are_classified_additive_or_intensive_in_every_version() -> None:
    for version in ("2023-11-14", "2024-04-08", "2024-07-24"):
        for rows in file_levers(version).values():
            for lever_id, row in rows.items():
                method = physical_method(not row["noTranslation"], row.get("unitPhys"))
                if row["noTranslation"]:
                    assert method is PhysicalMethod.none
                else:
                    expected = (
                        PhysicalMethod.not_additive if lever_id in INTENSIVE else PhysicalMethod.apportioned
                    )
                    assert method is expected, (version, lever_id, row["unitPhys"])


async def test_lever_filter_and_precision(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/panoramas/{VERSION}/regions/24/departements"
    body = await get(client, url, lever_id=["augm_haies", "augm_voitelec"], precision="0.001")
    assert [lever["lever_id"] for lever in body["levers"]] == ["augm_voitelec", "augm_haies"]
    assert body["lever_count"] == 2
    assert body["precision"] == "0.001"
    assert Decimal(body["total_ktco2e"]) == sum(
        Decimal(str(FILE["24"][lever]["objCO2"])) for lever in ("augm_voitelec", "augm_haies")
    )


@pytest.mark.parametrize(
    ("url", "params", "status", "code"),
    [
        ("/api/v1/panoramas/2020-01-01/regions/24/departements", {}, 404, "not-found"),
        ("/api/v1/panoramas/2024-07-24/regions/99/departements", {}, 404, "not-found"),
        ("/api/v1/panoramas/2024-07-24/regions/24/departements", {"lever_id": "nope"}, 404, "not-found"),
        ("/api/v1/panoramas/2024-07-24/regions/04/epcis", {"lever_id": "augm_haies"}, 404, "not-found"),
        (
            "/api/v1/panoramas/2024-07-24/regions/24/departements",
            {"precision": "0.5"},
            422,
            "validation-error",
        ),
        (
            "/api/v1/panoramas/2024-07-24/regions/24/departements",
            {"precision": "0.0001"},
            422,
            "validation-error",
        ),
        ("/api/v1/panoramas/2024-13-01/regions/24/departements", {}, 422, "validation-error"),
        ("/api/v1/panoramas/2024-07-24/regions/2A/departements", {}, 422, "validation-error"),
        ("/api/v1/panoramas/2020-01-01/regions/24/declination-keys", {}, 404, "not-found"),
        ("/api/v1/panoramas/2024-07-24/regions/99/declination-keys", {}, 404, "not-found"),
    ],
)
async def test_unknown_and_invalid_parameters_are_problems(
    client: httpx.AsyncClient, url: str, params: dict[str, str], status: int, code: str
) -> None:
    response = await client.get(url, params=params, headers=ANONYMOUS)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


CENTRE_CRTE = """crte_id,crte_name,member
crte-45-orleans,CRTE Orléans Métropole,244500468
crte-45-est,CRTE Montargois-Giennois,244500203
crte-45-est,CRTE Montargois-Giennois,244500211
crte-28-dreux,CRTE du Pays de Dreux,200040277
crte-41-blois,CRTE Blois,41018
"""


async def test_crte_are_declined_by_their_population_once_uploaded(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/panoramas/{VERSION}/regions/24/crtes"
    missing = await client.get(url, headers=ANONYMOUS)
    assert missing.status_code == 409, missing.text
    assert missing.json()["code"] == "no-crte"
    assert "/api/v1/territories/crtes/imports" in missing.json()["detail"]

    uploaded = await client.post(
        "/api/v1/territories/crtes/imports",
        content=CENTRE_CRTE.encode(),
        headers=identity_headers("coordinator", "24") | {"content-type": "text/csv"},
    )
    assert uploaded.status_code == 200, uploaded.text
    crtes = (await get(client, "/api/v1/territories/crtes", region="24"))["items"]
    weights = {crte["id"]: crte["population"] for crte in crtes}
    assert len(weights) == 4 and all(weights.values())
    for precision in ("0.1", "0.01"):
        body = await get(client, url, precision=precision)
        check_declination(body, "24", precision, weights)
        assert {lever["key"]["level"] for lever in body["levers"]} == {"crte"}


async def test_declination_keys_list_population_for_every_lever_and_level(client: httpx.AsyncClient) -> None:
    body = await get(client, f"/api/v1/panoramas/{VERSION}/regions/76/declination-keys")
    assert [lever["lever_id"] for lever in body["levers"]] == list(FILE["76"])
    for lever in body["levers"]:
        assert [key["level"] for key in lever["keys"]] == ["departement", "epci", "crte"]
        assert all(key["kind"] == "default" and key["name"] == "population" for key in lever["keys"])
        assert all("population municipale 2023" in key["source"] for key in lever["keys"])
        assert all(key["note"] for key in lever["keys"])
    haies = next(lever for lever in body["levers"] if lever["lever_id"] == "augm_haies")
    assert "weak proxy" in haies["keys"][0]["note"]


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_region_is_declined_in_a_handful_of_queries(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    with counting(engine) as statements:
        body = await get(client, f"/api/v1/panoramas/{VERSION}/regions/84/departements")
    assert body["lever_count"] == 30
    # The read cache's data-version read (planeco_shared.caching) comes on top, once per request.
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "data_version" not in s]
    assert len(selects) <= 5, selects  # version, région, objectives, départements, keys


async def test_the_regions_own_objective_is_declined_on_request(client: httpx.AsyncClient) -> None:
    adjusted = await client.put(
        f"/api/v1/panoramas/{VERSION}/regions/24/adjustments/augm_voitelec",
        json={"objective_physical": "300", "comment": "300 000 véhicules électriques en 2030"},
        headers=identity_headers("coordinator", "24"),
    )
    assert adjusted.status_code == 201, adjusted.text
    stated = adjusted.json()
    url = f"/api/v1/panoramas/{VERSION}/regions/24/departements"

    official = await get(client, url, lever_id=["augm_voitelec", "augm_haies"])
    assert official["basis"] == "official"
    assert {lever["region"]["basis"] for lever in official["levers"]} == {"official"}
    assert official["levers"][0]["region"]["objective_ktco2e"] == str(FILE["24"]["augm_voitelec"]["objCO2"])

    body = await get(
        client, url, lever_id=["augm_voitelec", "augm_haies"], basis="adjusted", precision="0.01"
    )
    voitelec, haies = body["levers"]
    assert body["basis"] == "adjusted"
    assert (haies["region"]["basis"], haies["region"]["anchored_version"]) == ("official", None)
    assert (voitelec["region"]["basis"], voitelec["region"]["anchored_version"]) == ("adjusted", VERSION)
    figures = voitelec["region"]
    assert Decimal(figures["objective_ktco2e"]) == Decimal(stated["objective_ktco2e"])
    assert Decimal(figures["physical_2030"]) == 300
    assert Decimal(figures["physical_2030_rounded"]) == Decimal("300.00")
    children = voitelec["children"]
    assert sum(Decimal(c["objective_ktco2e"]) for c in children) == Decimal(
        figures["objective_ktco2e_rounded"]
    )
    assert sum(Decimal(c["physical_2030"]) for c in children) == 300
    assert Decimal(body["total_ktco2e"]) == Decimal(figures["objective_ktco2e"]) + Decimal(
        haies["region"]["objective_ktco2e"]
    )
    assert sum(Decimal(t["objective_ktco2e"]) for t in body["totals"]) == Decimal(
        body["total_ktco2e_rounded"]
    )

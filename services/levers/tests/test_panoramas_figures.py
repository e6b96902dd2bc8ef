"""Every figure the API returns equals the SGPE files; national sums are exact sums of the régions."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from planeco_shared.testing import identity_headers

DATA = Path(__file__).resolve().parents[1] / "data" / "sgpe-panorama"
VERSIONS = ("2023-11-14", "2024-04-08", "2024-07-24")
ANONYMOUS = identity_headers("anonymous")

# Written independently of the service's table: the files' région names → INSEE codes.
CODES = {
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


def file_rows(version: str) -> list[dict[str, Any]]:
    rows = json.loads((DATA / f"panorama-{version}.json").read_bytes(), parse_float=Decimal)
    return [row for row in rows if row["regionName"] != "Région exemple"]


def rows_by_region(version: str) -> dict[str, dict[str, dict[str, Any]]]:
    by_region: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in file_rows(version):
        by_region[CODES[row["regionName"]]][row["id"]] = row
    return by_region


async def get(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    response = await client.get(url, params=params, headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_lever_of_every_region_equals_the_file(client: httpx.AsyncClient, version: str) -> None:
    expected = rows_by_region(version)
    regions = await get(client, f"/api/v1/panoramas/{version}/regions")
    assert sorted(r["code"] for r in regions) == sorted(expected)
    checked = 0
    for code, levers in expected.items():
        body = await get(client, f"/api/v1/panoramas/{version}/regions/{code}")
        assert body["region"] == code
        assert [item["lever_id"] for item in body["levers"]] == list(levers)  # the file's order
        for item in body["levers"]:
            row = levers[item["lever_id"]]
            assert item["objective_ktco2e"] == str(row["objCO2"])  # the file's own digits
            assert item["start_2019"] == str(row["startPoint2019"])
            assert item["ratio"] == str(row["ratioCO2toPhys"])
            assert item["name"] == row["leverName"]
            assert item["has_physical_unit"] is (not row["noTranslation"])
            assert item["editable"] is (not row["editionDisabled"])
            assert item["region_locked"] == row.get("regionLocked")
            assert item["region_hidden"] == row.get("regionHidden")
            assert item["region_limited"] == row.get("regionLimited")
            if row["noTranslation"]:
                assert item["physical_2030"] is None
                assert item["unit"] is None
            else:
                exact = max(Decimal(0), row["startPoint2019"] + row["objCO2"] * row["ratioCO2toPhys"])
                assert Decimal(item["physical_2030"]) == exact
                assert item["unit"] == " ".join(row["unitPhys"].split())
            checked += 1
        assert Decimal(body["total_ktco2e"]) == sum(Decimal(r["objCO2"]) for r in levers.values())
        sector_sum = sum(Decimal(s["objective_ktco2e"]) for s in body["sectors"])
        assert sector_sum == Decimal(body["total_ktco2e"])
    assert checked == len(file_rows(version))


@pytest.mark.parametrize("version", VERSIONS)
async def test_national_sums_are_exact_sums_of_the_regions(client: httpx.AsyncClient, version: str) -> None:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in file_rows(version):
        sums[row["id"]] += Decimal(row["objCO2"])
    body = await get(client, f"/api/v1/panoramas/{version}/national")
    assert {item["lever_id"]: Decimal(item["objective_ktco2e"]) for item in body["levers"]} == sums
    assert Decimal(body["total_ktco2e"]) == sum(sums.values())
    assert sum(Decimal(s["objective_ktco2e"]) for s in body["sectors"]) == sum(sums.values())
    assert body["region_count"] == 18
    # And the national value equals the sum of what the région reads return.
    region_sums: dict[str, Decimal] = defaultdict(Decimal)
    for region in await get(client, f"/api/v1/panoramas/{version}/regions"):
        for item in (await get(client, f"/api/v1/panoramas/{version}/regions/{region['code']}"))["levers"]:
            region_sums[item["lever_id"]] += Decimal(item["objective_ktco2e"])
    assert region_sums == sums


async def test_grand_est_electric_cars_and_the_provence_names(client: httpx.AsyncClient) -> None:
    body = await get(client, "/api/v1/panoramas/2024-07-24/regions/44")
    cars = next(item for item in body["levers"] if item["lever_id"] == "augm_voitelec")
    assert cars["objective_ktco2e"] == "966.1408"
    assert cars["physical_2030"] == "459.68505216"
    assert cars["physical_2030_rounded"] == "459.7"
    assert cars["unit"] == "milliers de véhicules électriques dans le parc régional (en 2030)"
    for version, source_name in (("2023-11-14", "Provence-Alpes-Côte d'Azur"), ("2024-04-08", "Région Sud")):
        paca = await get(client, f"/api/v1/panoramas/{version}/regions/93")
        assert paca["source_region_name"] == source_name
    paca = await get(client, "/api/v1/panoramas/2024-07-24/regions/93")
    assert paca["source_region_name"] == "PACA"
    assert (paca["region"], paca["region_name"]) == ("93", "Provence-Alpes-Côte d'Azur")


async def test_oil_heating_levers_have_a_negative_ratio_and_never_a_negative_physical_value(
    client: httpx.AsyncClient,
) -> None:
    seen = 0
    for code in ("11", "24", "44", "84"):
        body = await get(client, f"/api/v1/panoramas/2024-07-24/regions/{code}")
        for item in body["levers"]:
            if item["lever_id"] in ("reduc_rfioul", "reduc_tfioul"):
                assert Decimal(item["ratio"]) < 0
                assert Decimal(item["physical_2030"]) >= 0
                assert Decimal(item["physical_2030"]) < Decimal(item["start_2019"])
                seen += 1
    assert seen == 8


async def test_one_lever_of_one_region_keeps_the_official_text_and_raw_labels(
    client: httpx.AsyncClient,
) -> None:
    row = rows_by_region("2024-07-24")["44"]["augm_voitelec"]
    body = await get(client, "/api/v1/panoramas/2024-07-24/regions/44/levers/augm_voitelec")
    assert body["comment"] == row["comment"]
    assert body["unit_source"] == row["unitPhys"]
    assert "\n" in body["unit_source"]
    assert body["region_limited"] is False
    assert body["region_locked"] is None  # the 2024 schema has no regionLocked
    old = await get(client, "/api/v1/panoramas/2023-11-14/regions/94/levers/augm_voitelec")
    assert old["region_locked"] is True
    assert old["region_locked_comment"] == "*En cours de finalisation*"
    assert old["region_hidden"] is None
    # A lever with no physical unit and not editable by régions.
    enr = await get(client, "/api/v1/panoramas/2024-07-24/regions/44/levers/co2_enr")
    assert (enr["has_physical_unit"], enr["editable"], enr["physical_2030"]) == (False, False, None)
    assert enr["disabled_comment"] == "*En traitement dans le cadre des Comités Régionaux de l'Energie.*"


async def test_overseas_regions_have_their_own_lever_set(client: httpx.AsyncClient) -> None:
    guadeloupe = await get(client, "/api/v1/panoramas/2024-07-24/regions/01")
    ids = {item["lever_id"] for item in guadeloupe["levers"]}
    assert len(ids) == 13
    assert "co2_hfc" in ids
    assert "augm_voitelec" not in ids
    assert {s["sector"] for s in guadeloupe["sectors"]} >= {"transport", "batiment"}
    response = await client.get("/api/v1/panoramas/2024-07-24/regions/44/levers/co2_hfc", headers=ANONYMOUS)
    assert response.status_code == 404
    assert "overseas lever set" in response.json()["detail"]


async def test_the_demonstration_region_is_not_imported(
    client: httpx.AsyncClient, panoramas: dict[str, Any]
) -> None:
    for version in VERSIONS:
        report = panoramas[version]
        assert report.skipped_row_count == 30
        assert any("Région exemple" in warning for warning in report.warnings)
        info = await get(client, f"/api/v1/panoramas/{version}")
        assert info["region_count"] == 18
        assert info["warnings"] == report.warnings


async def test_unknown_or_malformed_references_are_problems(client: httpx.AsyncClient) -> None:
    cases = {
        "/api/v1/panoramas/2025-01-01/regions/44": 404,
        "/api/v1/panoramas/2024-07-24/regions/99": 404,
        "/api/v1/panoramas/2024-07-24/regions/44/levers/no_such_lever": 404,
        "/api/v1/panoramas/2024-13-01/regions/44": 422,
        "/api/v1/panoramas/2024-07-24/regions/PACA": 422,
        "/api/v1/panoramas/latest/national": 422,
        "/api/v1/panoramas/2024-07-24/compare?from=2019-01-01": 404,
        "/api/v1/panoramas/2024-07-24/compare": 422,
    }
    for url, status in cases.items():
        response = await client.get(url, headers=ANONYMOUS)
        assert response.status_code == status, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_versions_are_listed_latest_first(client: httpx.AsyncClient) -> None:
    body = await get(client, "/api/v1/panoramas")
    assert [item["version"] for item in body["items"]] == list(reversed(VERSIONS))
    assert [item["latest"] for item in body["items"]] == [True, False, False]
    oldest = body["items"][-1]
    assert "regionLocked" in oldest["source_fields"]
    assert "regionHidden" not in oldest["source_fields"]
    assert oldest["row_count"] == 570
    assert oldest["objective_count"] == 540


async def test_compare_gives_the_difference_per_lever(client: httpx.AsyncClient) -> None:
    old = rows_by_region("2024-04-08")["11"]
    new = rows_by_region("2024-07-24")["11"]
    body = await get(client, "/api/v1/panoramas/2024-07-24/compare", **{"from": "2024-04-08", "region": "11"})
    assert body["region"] == "11"
    by_lever = {item["lever_id"]: item for item in body["levers"]}
    assert set(by_lever) == set(old) | set(new)
    for lever_id, item in by_lever.items():
        before = Decimal(old[lever_id]["objCO2"]) if lever_id in old else None
        after = Decimal(new[lever_id]["objCO2"]) if lever_id in new else None
        assert (item["from_ktco2e"], item["to_ktco2e"]) == (
            str(before) if before is not None else None,
            str(after) if after is not None else None,
        )
        assert Decimal(item["difference_ktco2e"]) == (after or 0) - (before or 0)
    # Île-de-France lost co2_isdnd in July 2024.
    assert body["removed"] == sorted(set(old) - set(new)) == ["co2_isdnd"]
    assert body["added"] == []
    assert Decimal(body["difference_ktco2e"]) == sum(Decimal(i["difference_ktco2e"]) for i in body["levers"])


async def test_national_compare_lists_added_and_removed_levers(client: httpx.AsyncClient) -> None:
    body = await get(client, "/api/v1/panoramas/2024-04-08/compare", **{"from": "2023-11-14"})
    assert body["region"] is None
    assert "augm_artif" in body["removed"]
    assert "reduc_artif" in body["added"] and "co2_hfc" in body["added"]
    old_total = sum(Decimal(r["objCO2"]) for r in file_rows("2023-11-14"))
    new_total = sum(Decimal(r["objCO2"]) for r in file_rows("2024-04-08"))
    assert Decimal(body["from_total_ktco2e"]) == old_total
    assert Decimal(body["to_total_ktco2e"]) == new_total
    assert Decimal(body["difference_ktco2e"]) == new_total - old_total
